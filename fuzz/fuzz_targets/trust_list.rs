//! A verifier's trust list (JSON: signed ledger roots, one root, or a plain trust root,
//! `specs/trust-list.md`): bounded, never panics, and a list of signed roots round-trips.
#![no_main]

use certledger_core::verify::{LedgerRoot, TrustList};
use certledger_fuzz::text;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let t = text(data);
    let _ = LedgerRoot::from_json_unsigned(&t);
    if let Ok(list) = TrustList::from_json(&t) {
        if list.ledgers().all(|l| l.signed.is_some()) {
            let again = TrustList::from_json(&list.to_json());
            assert_eq!(again.ok(), Some(list), "trust list round trip");
        }
    }
});
