//! Bundle with the identity extension (pseudonym proof, linked credentials).
#![no_main]

use certledger_core::bundle::{Bundle, LinkedBundle};
use certledger_core::codec::Encode;
use certledger_fuzz::text;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(b) = LinkedBundle::decode_bytes(data) {
        assert_eq!(b.to_bytes(), data, "non-canonical linked bundle accepted");
        assert_eq!(LinkedBundle::from_text(&b.to_text()).ok(), Some(b.clone()), "text round trip");
        // Without the extension, a linked bundle is exactly a plain bundle.
        if !b.has_extension() {
            assert_eq!(Bundle::decode_bytes(data).ok().map(LinkedBundle::from), Some(b));
        }
    }
    let t = text(data);
    if let Ok(b) = LinkedBundle::from_text(&t) {
        assert_eq!(LinkedBundle::from_text(&b.to_text()).ok(), Some(b), "text round trip");
    }
});
