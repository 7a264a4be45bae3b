//! C2SP signed notes and tlog checkpoints against the external vectors, plus the certledger
//! quorum rule for cosigned checkpoints.

mod common;

use certledger_core::note::{
    cosign, verify_checkpoint, Checkpoint, CheckpointError, LedgerCheckpoint, Note, NoteError,
    NoteKey, NoteSigner, Quorum,
};
use certledger_core::sig::SecretKey;
use proptest::prelude::*;
use serde_json::Value;

fn vectors() -> Option<Value> {
    let dir = common::vectors_dir()?;
    let text = common::read(&dir, "tlog/signed_note_and_checkpoint_vectors.json");
    Some(serde_json::from_str(&text).expect("json"))
}

#[test]
fn signed_note_vectors() {
    let Some(v) = vectors() else { return };
    let notes = v["signed_notes"].as_array().expect("signed_notes");
    assert_eq!(notes.len(), 3);
    let mut verified = 0;
    let mut resigned = 0;
    let mut parsed_only = 0;
    for case in notes {
        let text = case["note"].as_str().expect("note");
        let note = Note::parse(text).expect("vector note parses");
        assert_eq!(note.to_text(), text, "formatting reproduces the note byte for byte");
        match case.get("vkey").and_then(Value::as_str) {
            Some(vkey) => {
                let key = NoteKey::parse_verifier_key(vkey).expect("vkey");
                assert_eq!(key.verifier_key(), vkey);
                assert_eq!(note.verify(std::slice::from_ref(&key)), Ok(vec![0]));
                // The same key under another name, or another key under the name, is unknown.
                let other = NoteKey { name: format!("{}x", key.name), key: key.key };
                assert_eq!(note.verify(&[other]), Ok(vec![]));
                // One flipped text byte makes the known key's signature fail: refused.
                let tampered = Note::parse(&text.replacen('e', "E", 1)).expect("parses");
                assert_eq!(
                    tampered.verify(std::slice::from_ref(&key)),
                    Err(NoteError::BadSignature { key_index: 0 })
                );
                verified += 1;
                if let Some(skey) = case.get("skey").and_then(Value::as_str) {
                    let signer = NoteSigner::parse_private_key(skey).expect("skey");
                    assert_eq!(signer.note_key(), key);
                    assert_eq!(signer.private_key(), skey);
                    let mut fresh = Note::new(note.text()).expect("text");
                    fresh.sign(&signer).expect("sign");
                    assert_eq!(fresh.to_text(), text, "deterministic signature line");
                    resigned += 1;
                }
            }
            None => {
                // The tlog-checkpoint example: its key is not published, so parse only.
                let cp = Checkpoint::parse(note.text()).expect("checkpoint body");
                assert_eq!(cp.origin, "example.com/behind-the-sofa");
                assert_eq!(cp.size, 20_852_163);
                assert_eq!(cp.root.len(), 32);
                assert!(cp.extensions.is_empty());
                assert_eq!(cp.to_text(), note.text());
                assert_eq!(note.signatures().len(), 1);
                assert_eq!(note.verify(&[]), Ok(vec![]), "unknown keys are ignored, never counted");
                parsed_only += 1;
            }
        }
    }
    eprintln!("signed notes: {verified} verified, {resigned} re-signed, {parsed_only} parsed only");
    assert_eq!((verified, resigned, parsed_only), (2, 1, 1));
}

#[test]
fn checkpoint_body_vectors() {
    let Some(v) = vectors() else { return };
    let cases = v["checkpoint_body_parse_cases"]["cases"].as_array().expect("cases");
    let (mut valid, mut invalid) = (0, 0);
    for case in cases {
        let body = case["checkpoint_body"].as_str().expect("body");
        let want_err = case["wantErr"].as_bool().expect("wantErr");
        let got = Checkpoint::parse(body);
        match (want_err, &got) {
            (false, Ok(cp)) => {
                assert_eq!(cp.to_text(), body, "{}", case["desc"]);
                // None of these is a certledger checkpoint (no height/time/state lines).
                assert!(LedgerCheckpoint::parse_body(body).is_err());
                valid += 1;
            }
            (true, Err(_)) => invalid += 1,
            _ => panic!("{}: wantErr={want_err}, got {got:?}", case["desc"]),
        }
    }
    eprintln!("checkpoint bodies: {valid} valid parsed, {invalid} invalid refused");
    assert_eq!((valid, invalid), (5, 7));
}

const ORIGIN: &str = "certledger.test/chain-1";

fn signers(n: u8) -> Vec<NoteSigner> {
    (0..n)
        .map(|i| {
            NoteSigner::new(&format!("dept-{i}.gov.test"), SecretKey::from_seed(&[i + 1; 32]))
                .expect("signer")
        })
        .collect()
}

fn quorum(signers: &[NoteSigner], threshold: usize) -> Quorum {
    Quorum {
        origin: ORIGIN.into(),
        keys: signers.iter().map(NoteSigner::note_key).collect(),
        threshold,
    }
}

fn checkpoint() -> LedgerCheckpoint {
    LedgerCheckpoint {
        origin: ORIGIN.into(),
        size: 1234,
        root: [0xab; 32],
        height: 99,
        time: 1_790_000_000,
        state_root: [0xcd; 32],
    }
}

fn signed_by(cp: &LedgerCheckpoint, by: &[&NoteSigner]) -> String {
    let mut note = Note::new(&cp.to_body()).expect("note");
    for s in by {
        note.sign(s).expect("sign");
    }
    note.to_text()
}

#[test]
fn k_of_n_is_accepted() {
    let s = signers(4);
    let q = quorum(&s, 3);
    let cp = checkpoint();
    assert_eq!(verify_checkpoint(&signed_by(&cp, &[&s[0], &s[1], &s[2]]), &q), Ok(cp.clone()));
    assert_eq!(verify_checkpoint(&signed_by(&cp, &[&s[3], &s[1], &s[0]]), &q), Ok(cp.clone()));
    assert_eq!(verify_checkpoint(&signed_by(&cp, &[&s[0], &s[1], &s[2], &s[3]]), &q), Ok(cp));
}

#[test]
fn cosignatures_merge() {
    let s = signers(4);
    let q = quorum(&s, 3);
    let cp = checkpoint();
    let first = cp.sign(&s[0]).expect("sign").to_text();
    let second = cosign(&first, ORIGIN, &s[1]).expect("cosign");
    let third =
        cosign(&cp.sign(&s[2]).expect("sign").to_text(), ORIGIN, &s[2]).expect("idempotent");
    let mut merged = Note::parse(&first).expect("parse");
    merged.add_signatures(&second).expect("merge");
    merged.add_signatures(&third).expect("merge");
    merged.add_signatures(&second).expect("merging twice adds nothing");
    assert_eq!(merged.signatures().len(), 3);
    assert_eq!(verify_checkpoint(&merged.to_text(), &q), Ok(cp.clone()));
    // A cosigner refuses a note for another ledger, and notes with other text do not merge.
    assert_eq!(cosign(&first, "other", &s[3]).map(|_| ()), Err(CheckpointError::WrongOrigin));
    let other = LedgerCheckpoint { size: 1235, ..cp }.sign(&s[1]).expect("sign");
    assert_eq!(merged.add_signatures(&other), Err(NoteError::TextMismatch));
}

#[test]
fn k_minus_one_is_refused() {
    let s = signers(4);
    let q = quorum(&s, 3);
    let got = verify_checkpoint(&signed_by(&checkpoint(), &[&s[0], &s[2]]), &q);
    assert_eq!(got, Err(CheckpointError::QuorumNotMet { valid: 2, threshold: 3 }));
}

#[test]
fn duplicate_signer_counts_once() {
    let s = signers(4);
    let q = quorum(&s, 3);
    let text = signed_by(&checkpoint(), &[&s[0], &s[1]]);
    // Repeat s[1]'s line by hand (Note::add_signature would deduplicate it).
    let line = text.lines().last().expect("line").to_owned();
    let dup = format!("{text}{line}\n");
    assert_eq!(Note::parse(&dup).expect("parses").signatures().len(), 3);
    assert_eq!(
        verify_checkpoint(&dup, &q),
        Err(CheckpointError::QuorumNotMet { valid: 2, threshold: 3 })
    );
    // The same key listed twice in the quorum is still one signer.
    let mut q2 = quorum(&s[..2], 2);
    q2.keys.push(s[1].note_key());
    q2.threshold = 3;
    assert_eq!(
        verify_checkpoint(&signed_by(&checkpoint(), &[&s[0], &s[1]]), &q2),
        Err(CheckpointError::QuorumNotMet { valid: 2, threshold: 3 })
    );
}

#[test]
fn unknown_keys_are_never_counted() {
    let s = signers(4);
    let q = quorum(&s[..3], 3);
    let stranger =
        NoteSigner::new("stranger.test", SecretKey::from_seed(&[9; 32])).expect("signer");
    // A stranger using a department's name has another key id: also unknown.
    let impostor =
        NoteSigner::new("dept-2.gov.test", SecretKey::from_seed(&[10; 32])).expect("signer");
    let text = signed_by(&checkpoint(), &[&s[0], &s[1], &stranger, &impostor, &s[3]]);
    assert_eq!(
        verify_checkpoint(&text, &q),
        Err(CheckpointError::QuorumNotMet { valid: 2, threshold: 3 })
    );
}

#[test]
fn wrong_origin_is_refused() {
    let s = signers(4);
    let q = quorum(&s, 3);
    let cp = LedgerCheckpoint { origin: "certledger.test/chain-2".into(), ..checkpoint() };
    let text = signed_by(&cp, &[&s[0], &s[1], &s[2]]);
    assert_eq!(verify_checkpoint(&text, &q), Err(CheckpointError::WrongOrigin));
}

#[test]
fn tampered_body_is_refused() {
    let s = signers(4);
    let q = quorum(&s, 3);
    let text = signed_by(&checkpoint(), &[&s[0], &s[1], &s[2]]);
    let tampered = text.replacen("\n1234\n", "\n1235\n", 1);
    assert_ne!(tampered, text);
    assert!(matches!(verify_checkpoint(&tampered, &q), Err(CheckpointError::BadSignature { .. })));
}

#[test]
fn bad_signature_from_trusted_key_is_refused_even_with_quorum() {
    let s = signers(4);
    let q = quorum(&s, 3);
    let cp = checkpoint();
    let mut note = Note::parse(&signed_by(&cp, &[&s[0], &s[1], &s[2]])).expect("parse");
    // s[3] signs something else; its line is grafted onto the good note.
    let other = LedgerCheckpoint { height: 100, ..cp };
    let wrong = s[3].sign_text(&other.to_body());
    note.add_signature(wrong).expect("add");
    assert_eq!(
        verify_checkpoint(&note.to_text(), &q),
        Err(CheckpointError::BadSignature { key_index: 3 })
    );
}

#[test]
fn malformed_body_and_bad_quorum_are_refused() {
    let s = signers(4);
    let q = quorum(&s, 3);
    let body = checkpoint().to_body();
    for bad in [
        body.replace("time 1790000000\n", ""),
        body.replace("height 99\ntime 1790000000\n", "time 1790000000\nheight 99\n"),
        format!("{body}extra 1\n"),
        body.replace(ORIGIN, ""),
    ] {
        let mut note = Note::new(&bad).expect("note");
        for k in &s[..3] {
            note.sign(k).expect("sign");
        }
        assert!(
            matches!(verify_checkpoint(&note.to_text(), &q), Err(CheckpointError::Malformed(_))),
            "{bad}"
        );
    }
    let good = signed_by(&checkpoint(), &[&s[0], &s[1], &s[2]]);
    for threshold in [0, 5] {
        let q = Quorum { threshold, ..q.clone() };
        assert!(matches!(verify_checkpoint(&good, &q), Err(CheckpointError::InvalidQuorum(_))));
    }
    assert!(matches!(verify_checkpoint(&body, &q), Err(CheckpointError::Note(_))), "no signatures");
}

#[test]
fn key_strings_are_strict() {
    let s = &signers(1)[0];
    let vkey = s.note_key().verifier_key();
    assert_eq!(NoteKey::parse_verifier_key(&vkey), Ok(s.note_key()));
    let (head, key) = vkey.rsplit_once('+').expect("+");
    let (name, id) = head.split_once('+').expect("+");
    for bad in [
        format!("{name}+{}+{key}", id.to_uppercase()),
        format!("{name}+00000000+{key}"),
        format!("{name} x+{id}+{key}"),
        format!("{name}+{id}+{key}+"),
        format!("{name}+{id}+{}", key.replacen('A', "B", 1)),
        format!("+{id}+{key}"),
    ] {
        assert!(NoteKey::parse_verifier_key(&bad).is_err(), "{bad}");
    }
    assert_eq!(
        NoteSigner::parse_private_key(&s.private_key()).map(|k| k.note_key()),
        Ok(s.note_key())
    );
    assert!(NoteSigner::new("has space", SecretKey::from_seed(&[1; 32])).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn note_and_checkpoint_parsers_never_panic_and_round_trip(text in "\\PC{0,200}", bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        for input in [text, String::from_utf8_lossy(&bytes).into_owned()] {
            if let Ok(n) = Note::parse(&input) {
                prop_assert_eq!(n.to_text(), input.clone());
            }
            if let Ok(c) = Checkpoint::parse(&input) {
                prop_assert_eq!(c.to_text(), input.clone());
            }
            if let Ok(c) = LedgerCheckpoint::parse_body(&input) {
                prop_assert_eq!(c.to_body(), input.clone());
            }
            let _ = NoteKey::parse_verifier_key(&input);
            let _ = NoteSigner::parse_private_key(&input);
        }
    }

    #[test]
    fn signed_checkpoints_round_trip(size in any::<u64>(), height in any::<u64>(), time in any::<u64>(), root in any::<[u8; 32]>(), state in any::<[u8; 32]>()) {
        let s = signers(2);
        let cp = LedgerCheckpoint { origin: ORIGIN.into(), size, root, height, time, state_root: state };
        let text = signed_by(&cp, &[&s[0], &s[1]]);
        prop_assert_eq!(verify_checkpoint(&text, &quorum(&s, 2)), Ok(cp));
    }
}

/// The worked example of `specs/checkpoint.md` §8 (a format freeze: changing it is a format
/// change).
#[test]
fn spec_worked_example() {
    let signer =
        NoteSigner::new("dept-a.gov.example", SecretKey::from_seed(&[1; 32])).expect("signer");
    assert_eq!(
        signer.note_key().verifier_key(),
        "dept-a.gov.example+587db0b9+AYqI4910CfGV/VLbLTy6XXLKZwm/HZQSG/N0iAG0D29c"
    );
    let mut log = certledger_core::merkle::MerkleLog::new();
    for d in [b"a", b"b", b"c", b"d", b"e"] {
        log.append_data(d).expect("append");
    }
    let cp = LedgerCheckpoint {
        origin: "certledger.example/main".into(),
        size: 5,
        root: log.root(),
        height: 42,
        time: 1_790_000_000,
        state_root: [0x11; 32],
    };
    let text = cp.sign(&signer).expect("sign").to_text();
    let spec = "certledger.example/main\n5\n/hSlQm+9cMD6c/UjQq/tDaC9I8SDhmLM9riKMHDq2Xs=\n\
                height 42\ntime 1790000000\nstate ERERERERERERERERERERERERERERERERERERERERERE=\n\n\
                \u{2014} dept-a.gov.example WH2wuS93PVRhe1f4Q+cab13X1pOxXWvjhaUMpo3rsY+AkVlFWBw+\
                EpCThBLp4WQspbXi0E0mxnSZ+Y/gVcL1DOlV5gM=\n";
    assert_eq!(text, spec);
    let mut q = Quorum { origin: cp.origin.clone(), keys: vec![signer.note_key()], threshold: 1 };
    assert_eq!(verify_checkpoint(&text, &q), Ok(cp));
    q.keys.push(signers(1)[0].note_key());
    q.threshold = 2;
    assert_eq!(
        verify_checkpoint(&text, &q),
        Err(CheckpointError::QuorumNotMet { valid: 1, threshold: 2 })
    );
}
