//! SD-JWT compact form and single disclosures (RFC 9901).
#![no_main]

use certledger_core::sdjwt::{Disclosure, SdJwt};
use certledger_fuzz::text;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let t = text(data);
    if let Ok(s) = SdJwt::parse(&t) {
        // Re-serialise: `<issuer-jwt>~<disclosure>~...~[<kb-jwt>]`.
        let mut again = s.without_key_binding();
        if let Some(kb) = &s.kb_jwt {
            again.push_str(kb);
        }
        assert_eq!(again, t, "SD-JWT does not re-serialise to its input");
        assert_eq!(SdJwt::parse(&again).ok(), Some(s), "SD-JWT round trip");
    }
    if let Ok(d) = Disclosure::parse(&t) {
        assert_eq!(d.encoded, t, "disclosure keeps its encoded text");
        assert_eq!(Disclosure::parse(&d.encoded).ok(), Some(d), "disclosure round trip");
    }
});
