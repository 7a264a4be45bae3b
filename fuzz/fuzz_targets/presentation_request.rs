//! Presentation requests: JSON form, text form (`CLR1.`) and canonical bytes.
#![no_main]

use certledger_core::codec::Encode;
use certledger_core::request::PresentationRequest;
use certledger_fuzz::text;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = PresentationRequest::from_canonical_bytes(data) {
        assert_eq!(r.to_bytes(), data, "non-canonical request accepted");
        let again = PresentationRequest::from_text(&r.to_text());
        assert_eq!(again.ok(), Some(r.clone()), "text round trip");
        let again = PresentationRequest::from_json(&r.to_json());
        assert_eq!(again.ok(), Some(r), "JSON round trip");
    }
    let t = text(data);
    if let Ok(r) = PresentationRequest::from_json(&t) {
        let again = PresentationRequest::from_json(&r.to_json());
        assert_eq!(again.ok(), Some(r), "JSON round trip");
    }
    if let Ok(r) = PresentationRequest::from_text(&t) {
        let again = PresentationRequest::from_text(&r.to_text());
        assert_eq!(again.ok(), Some(r), "text round trip");
    }
});
