//! Verifiable presentation bundle: binary form (`Bundle::decode_bytes`) and text form (`CLB1.`).
#![no_main]

use certledger_core::bundle::Bundle;
use certledger_core::codec::Encode;
use certledger_fuzz::{canonical, text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(b) = Bundle::decode_bytes(data) {
        assert_eq!(b.to_bytes(), data, "non-canonical bundle accepted");
        assert_eq!(Bundle::from_text(&b.to_text()).ok(), Some(b.clone()), "text round trip");
    }
    canonical::<Bundle>(data);
    let t = text(data);
    if let Ok(b) = Bundle::from_text(&t) {
        let again = Bundle::from_text(&b.to_text());
        assert_eq!(again.ok(), Some(b), "text round trip");
    }
});
