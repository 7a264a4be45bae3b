//! The reusable `Verifier` decides bundles with the identity extension exactly as
//! `verify::verify_linked` does (`specs/verifier.md` §1): every identity vector
//! (`specs/vectors/identity-bundles.json`) and every plain bundle vector
//! (`specs/vectors/bundles.json`), cold and with a warm cache, and every credential of a linked
//! bundle takes its checkpoint through the cache.
#![allow(clippy::unwrap_used, clippy::panic)]

use certledger_core::bundle::LinkedBundle;
use certledger_core::codec::Encode as _;
use certledger_core::verify::{self, Policy, TrustRoot, Verdict, Verifier, VerifyError};
use serde_json::Value;

const IDENTITY: &str = include_str!("../../specs/vectors/identity-bundles.json");
const PLAIN: &str = include_str!("../../specs/vectors/bundles.json");

struct Case {
    name: String,
    bundle: LinkedBundle,
    policy: Policy,
    now: u64,
    expect: String,
}

fn load(doc: &str) -> (TrustRoot, Vec<Case>) {
    let doc: Value = serde_json::from_str(doc).unwrap();
    let root = TrustRoot::from_json(&doc["trust_root"].to_string()).unwrap();
    let cases = doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Case {
            name: c["name"].as_str().unwrap().to_owned(),
            bundle: LinkedBundle::from_text(c["bundle"].as_str().unwrap()).unwrap(),
            policy: Policy::from_json(&c["policy"].to_string()).unwrap(),
            now: c["now"].as_u64().unwrap(),
            expect: c["expect"].as_str().unwrap().to_owned(),
        })
        .collect();
    (root, cases)
}

fn code(v: &Result<Verdict, VerifyError>) -> String {
    match v {
        Ok(Verdict::Valid(_)) => "valid".to_owned(),
        Ok(Verdict::Invalid(i)) => i.code().to_owned(),
        Err(e) => format!("error: {e}"),
    }
}

/// Runs `cases` three times through one `Verifier` (forwards, backwards, forwards) and compares
/// each verdict, in full, with the free function's and the expected outcome.
fn same_verdicts(root: &TrustRoot, cases: &[Case]) -> Verifier {
    let mut verifier = Verifier::new(root.clone(), cases[0].policy.clone()).unwrap();
    for round in 0..3 {
        let order: Vec<&Case> = match round {
            1 => cases.iter().rev().collect(),
            _ => cases.iter().collect(),
        };
        for case in order {
            let cold = verify::verify_linked(&case.bundle, root, &case.policy, case.now);
            verifier.set_policy(case.policy.clone());
            let cached = verifier.verify_linked(&case.bundle, case.now);
            assert_eq!(cached, cold, "round {round}, case {}", case.name);
            assert_eq!(code(&cached), case.expect, "round {round}, case {}", case.name);
            let bytes = verifier.verify_linked_bytes(&case.bundle.to_bytes(), case.now);
            assert_eq!(bytes, cold, "round {round}, case {} (bytes)", case.name);
        }
    }
    verifier
}

#[test]
fn identity_vectors_get_the_same_verdicts_cold_and_cached() {
    let (root, cases) = load(IDENTITY);
    assert_eq!(cases.len(), 18, "the identity vector set changed size");
    let verifier = same_verdicts(&root, &cases);
    let stats = verifier.cache_stats();
    assert!(stats.hits > 0, "{stats:?}");
    // Each distinct accepted note is verified in full once, whichever credential carried it.
    let mut notes = std::collections::BTreeSet::new();
    for case in &cases {
        notes.insert(case.bundle.main.proofs.checkpoint.clone());
        for item in &case.bundle.linked {
            notes.insert(item.proofs.checkpoint.clone());
        }
    }
    assert!(stats.entries >= 1 && stats.entries <= notes.len(), "{stats:?}");
    println!("identity vectors: {} cases identical cold and cached ({stats:?})", cases.len());
}

#[test]
fn plain_vectors_get_the_same_verdicts_through_the_linked_path() {
    let (root, cases) = load(PLAIN);
    assert_eq!(cases.len(), 26, "the published vector set changed size");
    for case in &cases {
        assert!(!case.bundle.has_extension(), "{}", case.name);
    }
    let mut verifier = same_verdicts(&root, &cases);
    assert!(verifier.cache_stats().hits > 0);
    // Without the extension the cached linked path is the cached plain path.
    for case in &cases {
        verifier.set_policy(case.policy.clone());
        let plain = verifier.verify(&case.bundle.main, case.now);
        assert_eq!(verifier.verify_linked(&case.bundle, case.now), plain, "{}", case.name);
    }
    println!("bundle vectors: {} cases identical cold and cached", cases.len());
}

#[test]
fn every_credential_of_a_linked_bundle_goes_through_the_cache() {
    let (root, cases) = load(IDENTITY);
    let case = cases.iter().find(|c| c.name == "identity_linked_licence").unwrap();
    assert_eq!(case.bundle.linked.len(), 1);
    let mut verifier = Verifier::new(root.clone(), case.policy.clone()).unwrap();
    let first = verifier.verify_linked(&case.bundle, case.now);
    let Ok(Verdict::Valid(accepted)) = &first else { panic!("{first:?}") };
    assert!(accepted.pseudonym.is_some());
    assert_eq!(accepted.linked_credentials.len(), 1);
    assert!(accepted.linked_credentials[0].linked);
    let same_note = case.bundle.main.proofs.checkpoint == case.bundle.linked[0].proofs.checkpoint;
    let s = verifier.cache_stats();
    // Two credentials, two lookups: one note verified, or two when each has its own note.
    assert_eq!(s.hits + s.misses, 2, "{s:?}");
    assert_eq!(s.misses, if same_note { 1 } else { 2 }, "{s:?}");
    // Warm: both credentials hit, and the verdict is unchanged.
    assert_eq!(verifier.verify_linked(&case.bundle, case.now), first);
    let warm = verifier.cache_stats();
    assert_eq!((warm.hits - s.hits, warm.misses - s.misses), (2, 0), "{warm:?}");
}

#[test]
fn a_tampered_note_on_a_linked_credential_is_verified_in_full() {
    let (root, cases) = load(IDENTITY);
    let case = cases.iter().find(|c| c.name == "identity_linked_licence").unwrap();
    let mut verifier = Verifier::new(root.clone(), case.policy.clone()).unwrap();
    assert!(matches!(verifier.verify_linked(&case.bundle, case.now), Ok(Verdict::Valid(_))));
    // Drop all signature lines of the linked credential's note but one: the body is that of a
    // cached note, the whole note is not, so it misses and is refused.
    let mut bundle = case.bundle.clone();
    let note = bundle.linked[0].proofs.checkpoint.clone();
    let split = note.rfind("\n\n").unwrap() + 2;
    let first_line = note[split..].lines().next().unwrap();
    bundle.linked[0].proofs.checkpoint = format!("{}{first_line}\n", &note[..split]);
    let before = verifier.cache_stats();
    let cached = verifier.verify_linked(&bundle, case.now);
    let cold = verify::verify_linked(&bundle, &root, &case.policy, case.now);
    assert_eq!(cached, cold);
    assert_eq!(code(&cached), "quorum_not_met");
    let after = verifier.cache_stats();
    assert_eq!(after.misses, before.misses + 1, "{after:?}");
    assert_eq!(after.entries, before.entries, "a refused note is not remembered");
}

#[test]
fn malformed_bytes_are_errors_like_the_decoder_says() {
    let (root, cases) = load(IDENTITY);
    let case = &cases[0];
    let mut verifier = Verifier::new(root, case.policy.clone()).unwrap();
    let bytes = case.bundle.to_bytes();
    let cut = &bytes[..bytes.len() - 3];
    let err = LinkedBundle::decode_bytes(cut).unwrap_err();
    assert_eq!(verifier.verify_linked_bytes(cut, case.now), Err(VerifyError::Bundle(err)));
    assert_eq!(verifier.cache_stats().misses, 0);
}
