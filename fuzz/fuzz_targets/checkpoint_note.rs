//! Signed notes (C2SP signed-note), checkpoint bodies (C2SP tlog-checkpoint), the ledger
//! checkpoint body and note verifier keys.
#![no_main]

use certledger_core::note::{Checkpoint, LedgerCheckpoint, Note, NoteKey, NoteSigner};
use certledger_fuzz::text;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let t = text(data);
    if let Ok(n) = Note::parse(&t) {
        let again = Note::parse(&n.to_text());
        assert_eq!(again.ok(), Some(n), "note round trip");
    }
    if let Ok(c) = Checkpoint::parse(&t) {
        assert_eq!(Checkpoint::parse(&c.to_text()).ok(), Some(c), "checkpoint round trip");
    }
    if let Ok(c) = LedgerCheckpoint::parse_body(&t) {
        let again = LedgerCheckpoint::parse_body(&c.to_body());
        assert_eq!(again.ok(), Some(c), "ledger checkpoint round trip");
    }
    if let Ok(k) = NoteKey::parse_verifier_key(&t) {
        let again = NoteKey::parse_verifier_key(&k.verifier_key());
        assert_eq!(again.ok(), Some(k), "verifier key round trip");
    }
    if let Ok(s) = NoteSigner::parse_private_key(&t) {
        let again = NoteSigner::parse_private_key(&s.private_key());
        assert_eq!(again.ok().map(|s| s.note_key()), Some(s.note_key()), "private key round trip");
    }
});
