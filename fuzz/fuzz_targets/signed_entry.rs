//! Signed ledger entries: the body of `POST /v1/entries` and `/v1/entries/forwarded` (the node's
//! `exec::decode_entry` is exactly `SignedEntry::from_bytes_checked`), and the other ledger records.
#![no_main]

use certledger_core::codec::Encode;
use certledger_core::ledger::{
    CredentialRecord, EntryBody, Genesis, IssuerRecord, LogLeaf, SignedEntry, TypeRecord,
    ValidatorSetRecord, VerifierRecord,
};
use certledger_fuzz::canonical;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(e) = SignedEntry::from_bytes_checked(data) {
        assert_eq!(e.to_bytes(), data, "non-canonical entry accepted");
        // The id is a pure function of the bytes; computing it must not panic.
        let _ = e.id();
    }
    if let Ok(l) = LogLeaf::from_bytes_checked(data) {
        assert_eq!(l.to_bytes(), data, "non-canonical log leaf accepted");
    }
    canonical::<SignedEntry>(data);
    canonical::<EntryBody>(data);
    canonical::<LogLeaf>(data);
    canonical::<Genesis>(data);
    canonical::<IssuerRecord>(data);
    canonical::<TypeRecord>(data);
    canonical::<VerifierRecord>(data);
    canonical::<CredentialRecord>(data);
    canonical::<ValidatorSetRecord>(data);
});
