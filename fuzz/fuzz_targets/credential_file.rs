//! The wallet's credential file (JSON: chain id, credential id, SD-JWT, proofs).
#![no_main]

use certledger_core::credential_file::CredentialFile;
use certledger_fuzz::text;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let t = text(data);
    if let Ok(f) = CredentialFile::from_json(&t) {
        let again = CredentialFile::from_json(&f.to_json());
        assert_eq!(again.ok(), Some(f), "credential file round trip");
    }
});
