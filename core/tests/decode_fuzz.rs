//! Arbitrary bytes never panic a decoder in core, and every accepted input is canonical
//! (`encode(decode(b)) == b`).
//!
//! Covers: `smt::{SmtProof, Node}`, `merkle::{InclusionProof, ConsistencyProof}`, every ledger
//! type, `bundle::Bundle` (binary and text), and the text parsers of `note`, `sdjwt`, `didkey`,
//! `jcs` and `request` (fed the bytes as lossy UTF-8). Add new decoders of core here.

use certledger_core::bundle::Bundle;
use certledger_core::codec::{Decode, Encode};
use certledger_core::ledger::*;
use certledger_core::merkle::{ConsistencyProof, InclusionProof};
use certledger_core::request::PresentationRequest;
use certledger_core::sig::{PublicKey, SecretKey, Signature};
use certledger_core::smt::{value_hash, Node, Smt, SmtProof};
use certledger_core::{didkey, jcs, note, sdjwt, verify};
use proptest::prelude::*;

/// Decodes `bytes` as `T`; if accepted, the encoding must give the same bytes back.
fn check<T: Encode + Decode>(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(v) = T::from_bytes(bytes) {
        prop_assert_eq!(v.to_bytes(), bytes.to_vec());
    }
    Ok(())
}

fn check_all(bytes: &[u8]) -> Result<(), TestCaseError> {
    check::<SmtProof>(bytes)?;
    check::<Node>(bytes)?;
    check::<InclusionProof>(bytes)?;
    check::<ConsistencyProof>(bytes)?;
    check::<Genesis>(bytes)?;
    check::<Department>(bytes)?;
    check::<EntryBody>(bytes)?;
    check::<SignedEntry>(bytes)?;
    check::<LogLeaf>(bytes)?;
    check::<IssuerRecord>(bytes)?;
    check::<TypeRecord>(bytes)?;
    check::<VerifierRecord>(bytes)?;
    check::<CredentialRecord>(bytes)?;
    check::<ValidatorSetRecord>(bytes)?;
    check::<IndexRecord>(bytes)?;
    check::<IndexCount>(bytes)?;
    check::<ClaimDef>(bytes)?;
    check::<Purpose>(bytes)?;
    check::<Approval>(bytes)?;
    check::<CredentialStatus>(bytes)?;
    check::<Bundle>(bytes)?;
    let _ = LogLeaf::from_bytes_checked(bytes);
    let _ = SignedEntry::from_bytes_checked(bytes);
    let _ = Bundle::decode_bytes(bytes);
    let text = String::from_utf8_lossy(bytes);
    parse_text(&text);
    Ok(())
}

/// Text parsers: must return, never panic.
fn parse_text(text: &str) {
    let _ = Bundle::from_text(text);
    let _ = PresentationRequest::from_text(text);
    let _ = note::Note::parse(text);
    let _ = note::Checkpoint::parse(text);
    let _ = note::LedgerCheckpoint::parse_body(text);
    let _ = note::NoteKey::parse_verifier_key(text);
    let _ = note::NoteSigner::parse_private_key(text);
    let _ = sdjwt::SdJwt::parse(text);
    let _ = sdjwt::Disclosure::parse(text);
    let _ = didkey::public_key_from_did_key(text);
    let _ = didkey::public_key_from_multikey(text);
    let _ = didkey::public_key_from_verification_method(text);
    let _ = jcs::parse_strict(text);
    let _ = verify::TrustList::from_json(text);
    let _ = verify::LedgerRoot::from_json_unsigned(text);
}

fn pk(i: u8) -> PublicKey {
    SecretKey::from_seed(&[i; 32]).public_key()
}

/// Valid encodings of every type, as seeds for mutation (built once).
fn seeds() -> &'static [Vec<u8>] {
    static SEEDS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(build_seeds)
}

fn build_seeds() -> Vec<Vec<u8>> {
    let dept = Department {
        id: "education".into(),
        name_zh: "教育".into(),
        name_en: "Education".into(),
        node_key: pk(1),
        admin_keys: vec![pk(2), pk(3)],
    };
    let genesis =
        Genesis { chain_id: "c".into(), genesis_time: 5, departments: vec![dept.clone()] };
    let bodies = vec![
        EntryBody::RegisterIssuer(RegisterIssuer {
            department: "education".into(),
            issuer_key: pk(4),
            types: vec!["a".into(), "b".into()],
            valid_from: 1,
            valid_until: 9,
            name_zh: "甲".into(),
            name_en: "A".into(),
        }),
        EntryBody::RetireIssuer(RetireIssuer { issuer_key: pk(4), at: 3 }),
        EntryBody::CompromiseIssuer(CompromiseIssuer { issuer_key: pk(4), since: 3 }),
        EntryBody::RegisterType(RegisterType {
            type_id: "t".into(),
            name_zh: "类".into(),
            name_en: "T".into(),
            claims: vec![ClaimDef {
                name: "n".into(),
                selectively_disclosable: true,
                display_zh: "名".into(),
                display_en: "N".into(),
            }],
            validity_s: 10,
            holder_binding: false,
        }),
        EntryBody::RegisterVerifier(RegisterVerifier {
            verifier_id: "v".into(),
            department: "education".into(),
            name_zh: String::new(),
            name_en: "V".into(),
            verifier_key: pk(5),
            purposes: vec![Purpose { id: "p".into(), claims: vec!["n".into()] }],
        }),
        EntryBody::AnchorIssuance(AnchorIssuance {
            credential_id: [1; 32],
            type_id: "t".into(),
            commitment: [2; 32],
            nonce: [3; 16],
        }),
        EntryBody::ChangeStatus(ChangeStatus {
            credential_id: [1; 32],
            status: CredentialStatus::Revoked,
            reason: 2,
            nonce: [4; 16],
        }),
        EntryBody::ChangeValidators(ChangeValidators {
            add: vec![dept.clone()],
            remove: vec!["x".into()],
            effective_height: 4,
            approvals: vec![Approval { admin_key: pk(2), signature: Signature([7; 64]) }],
        }),
    ];
    let mut out = vec![genesis.to_bytes(), dept.to_bytes()];
    for b in bodies {
        let e = SignedEntry { body: b.clone(), signer: pk(6), signature: Signature([9; 64]) };
        out.push(b.to_bytes());
        out.push(LogLeaf { height: 1, time: 2, entry: e.clone() }.to_bytes());
        out.push(e.to_bytes());
    }
    out.push(
        CredentialRecord {
            credential_id: [1; 32],
            type_id: "t".into(),
            issuer_key: pk(4),
            department: "education".into(),
            commitment: [2; 32],
            anchored_height: 1,
            anchored_time: 2,
            log_index: 3,
            status: CredentialStatus::Suspended,
            status_reason: 4,
            status_time: 5,
        }
        .to_bytes(),
    );
    out.push(
        ValidatorSetRecord { departments: vec![dept.clone()], pending: Some((3, vec![dept])) }
            .to_bytes(),
    );
    let mut t = Smt::default();
    for i in 0..20u8 {
        t.insert(value_hash(&[i]), vec![i]).expect("in-memory insert");
    }
    out.push(t.prove(&value_hash(&[3])).expect("in-memory proof").to_bytes());
    out.push(t.prove(&value_hash(b"absent")).expect("in-memory proof").to_bytes());
    out.push(InclusionProof { index: 1, size: 3, path: vec![[1; 32], [2; 32]] }.to_bytes());
    out.push(ConsistencyProof { size1: 1, size2: 3, path: vec![[1; 32]] }.to_bytes());
    // Two real bundles from the project's vectors (they embed leaves, records and SMT proofs).
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("../../specs/vectors/bundles.json")).expect("vectors");
    for case in doc["cases"].as_array().expect("cases").iter().take(2) {
        let text = case["bundle"].as_str().expect("bundle text");
        out.push(Bundle::from_text(text).expect("vector bundle").to_bytes());
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        check_all(&bytes)?;
    }

    #[test]
    fn arbitrary_text_never_panics(text in "(?s).{0,300}", prefix in prop::sample::select(vec!["", "CLB1.", "CLR1.", "did:key:z", "z", "certledger-test\n", "{\"a\":", "eyJ"])) {
        parse_text(&format!("{prefix}{text}"));
    }

    #[test]
    fn mutated_valid_encodings_never_panic(
        seed in any::<prop::sample::Index>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..4),
    ) {
        let all = seeds();
        let mut bytes = all[seed.index(all.len())].clone();
        for (at, byte, kind) in edits {
            if bytes.is_empty() {
                bytes.push(byte);
                continue;
            }
            let i = at.index(bytes.len());
            match kind {
                0 => bytes[i] = byte,
                1 => { bytes.remove(i); }
                2 => bytes.insert(i, byte),
                _ => bytes.truncate(i),
            }
        }
        check_all(&bytes)?;
    }
}

#[test]
fn seeds_decode_as_their_own_type() {
    // Guard against the mutation test running on seeds no decoder accepts.
    let accepted = seeds()
        .iter()
        .filter(|b| {
            Genesis::from_bytes(b).is_ok()
                || Department::from_bytes(b).is_ok()
                || EntryBody::from_bytes(b).is_ok()
                || SignedEntry::from_bytes(b).is_ok()
                || LogLeaf::from_bytes(b).is_ok()
                || CredentialRecord::from_bytes(b).is_ok()
                || ValidatorSetRecord::from_bytes(b).is_ok()
                || SmtProof::from_bytes(b).is_ok()
                || InclusionProof::from_bytes(b).is_ok()
                || ConsistencyProof::from_bytes(b).is_ok()
                || Bundle::from_bytes(b).is_ok()
        })
        .count();
    assert_eq!(accepted, seeds().len());
}

#[test]
fn huge_lengths_are_refused_without_allocation() {
    // A department id claiming 4 GiB.
    let mut b = vec![0xff, 0xff, 0xff, 0xff];
    b.extend_from_slice(b"x");
    assert!(Department::from_bytes(&b).is_err());
    // An SMT proof with depth over 256.
    let mut p = vec![0x01, 0x01];
    p.extend_from_slice(&[0; 33]);
    assert!(SmtProof::from_bytes(&p).is_err());
    // Oversized top-level leaf.
    assert!(LogLeaf::from_bytes_checked(&vec![0; MAX_LEAF_BYTES + 1]).is_err());
}
