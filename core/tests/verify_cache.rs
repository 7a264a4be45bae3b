//! The reusable `Verifier` (checkpoint cache) decides exactly as `verify` does
//! (`specs/verifier.md`): every published bundle vector, repeated (cache hits), interleaved with
//! tampered checkpoint notes that share the cached note's body, and under eviction.
#![allow(clippy::unwrap_used, clippy::panic)]

use certledger_core::bundle::Bundle;
use certledger_core::testkit;
use certledger_core::verify::{self, Invalid, Policy, TrustRoot, Verdict, Verifier};
use serde_json::Value;

struct VectorCase {
    name: String,
    bundle: Bundle,
    policy: Policy,
    now: u64,
    expect: String,
}

/// The project's published vectors, `specs/vectors/bundles.json`.
fn vectors() -> (TrustRoot, Vec<VectorCase>) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../specs/vectors/bundles.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let root = TrustRoot::from_json(&doc["trust_root"].to_string()).unwrap();
    let cases = doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| VectorCase {
            name: c["name"].as_str().unwrap().to_owned(),
            bundle: Bundle::from_text(c["bundle"].as_str().unwrap()).unwrap(),
            policy: Policy::from_json(&c["policy"].to_string()).unwrap(),
            now: c["now"].as_u64().unwrap(),
            expect: c["expect"].as_str().unwrap().to_owned(),
        })
        .collect();
    (root, cases)
}

fn code(v: &Result<Verdict, verify::VerifyError>) -> String {
    match v {
        Ok(Verdict::Valid(_)) => "valid".to_owned(),
        Ok(Verdict::Invalid(i)) => i.code().to_owned(),
        Err(e) => format!("error: {e}"),
    }
}

#[test]
fn every_vector_gets_the_same_verdict_cold_and_cached() {
    let (root, cases) = vectors();
    assert_eq!(cases.len(), 26, "the published vector set changed size");
    let mut verifier = Verifier::new(root.clone(), cases[0].policy.clone()).unwrap();
    // Three rounds: the first fills the cache, the next two hit it; the order varies so that a
    // refused note is decided right after its accepted sibling was cached.
    for round in 0..3 {
        let order: Vec<&VectorCase> = match round {
            1 => cases.iter().rev().collect(),
            _ => cases.iter().collect(),
        };
        for case in order {
            let cold = verify::verify(&case.bundle, &root, &case.policy, case.now);
            verifier.set_policy(case.policy.clone());
            let cached = verifier.verify(&case.bundle, case.now);
            assert_eq!(cached, cold, "round {round}, case {}", case.name);
            assert_eq!(code(&cached), case.expect, "round {round}, case {}", case.name);
        }
    }
    let stats = verifier.cache_stats();
    assert!(stats.hits > 0, "{stats:?}");
    assert!(stats.entries >= 1 && stats.entries <= verify::DEFAULT_CHECKPOINT_CACHE);
}

/// The valid case's checkpoint note with its first signature line's signature flipped.
fn with_bad_signature(note: &str) -> String {
    let split = note.rfind("\n\n").unwrap() + 2;
    let (text, sigs) = note.split_at(split);
    let mut lines: Vec<String> = sigs.lines().map(str::to_owned).collect();
    let (name, b64) = lines[0].trim_start_matches("— ").rsplit_once(' ').unwrap();
    use base64::Engine as _;
    let mut raw = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
    let last = raw.len() - 1;
    raw[last] ^= 1;
    lines[0] = format!("— {name} {}", base64::engine::general_purpose::STANDARD.encode(raw));
    format!("{text}{}\n", lines.join("\n"))
}

/// The note with its signature lines reordered and/or some dropped (`keep` indexes).
fn with_lines(note: &str, keep: &[usize]) -> String {
    let split = note.rfind("\n\n").unwrap() + 2;
    let (text, sigs) = note.split_at(split);
    let lines: Vec<&str> = sigs.lines().collect();
    let kept: Vec<&str> = keep.iter().map(|i| lines[*i]).collect();
    format!("{text}{}\n", kept.join("\n"))
}

#[test]
fn a_tampered_note_with_the_cached_body_is_verified_in_full() {
    let (root, cases) = vectors();
    let valid = cases.iter().find(|c| c.expect == "valid").unwrap();
    let mut verifier = Verifier::new(root.clone(), valid.policy.clone()).unwrap();
    assert!(matches!(verifier.verify(&valid.bundle, valid.now), Ok(Verdict::Valid(_))));
    assert_eq!(verifier.cache_stats().entries, 1);

    let note = &valid.bundle.proofs.checkpoint;
    let signers = note.lines().filter(|l| l.starts_with("— ")).count();
    assert_eq!(signers, 4);
    let variants = [
        (with_bad_signature(note), "bad_checkpoint_signature"),
        (with_lines(note, &[0, 1]), "quorum_not_met"),
        (with_lines(note, &[0, 0, 1]), "quorum_not_met"),
    ];
    for (tampered, expect) in &variants {
        assert_ne!(tampered, note);
        let mut bundle = valid.bundle.clone();
        bundle.proofs.checkpoint = tampered.clone();
        let before = verifier.cache_stats();
        let cached = verifier.verify(&bundle, valid.now);
        let cold = verify::verify(&bundle, &root, &valid.policy, valid.now);
        assert_eq!(cached, cold);
        assert_eq!(code(&cached), *expect, "{tampered}");
        let after = verifier.cache_stats();
        assert_eq!(after.hits, before.hits, "a tampered note must not hit the cache");
        assert_eq!(after.misses, before.misses + 1);
        assert_eq!(after.entries, 1, "refused notes are not remembered");
        // Still refused the second time.
        assert_eq!(verifier.verify(&bundle, valid.now), cold);
    }
    // The genuine note still hits.
    let before = verifier.cache_stats().hits;
    assert!(matches!(verifier.verify(&valid.bundle, valid.now), Ok(Verdict::Valid(_))));
    assert_eq!(verifier.cache_stats().hits, before + 1);
}

#[test]
fn the_cache_is_bounded_and_evicts_the_oldest() {
    let (root, cases) = vectors();
    let valid = cases.iter().find(|c| c.expect == "valid").unwrap();
    let mut verifier = Verifier::new(root, valid.policy.clone()).unwrap().with_capacity(2);
    let note = valid.bundle.proofs.checkpoint.clone();
    // Three distinct accepted notes of the same checkpoint: other orders or subsets of lines.
    let notes = [with_lines(&note, &[3, 2, 1, 0]), with_lines(&note, &[0, 1, 2]), note];
    let run = |v: &mut Verifier, n: &str| {
        let mut b = valid.bundle.clone();
        b.proofs.checkpoint = n.to_owned();
        assert!(matches!(v.verify(&b, valid.now), Ok(Verdict::Valid(_))));
    };
    for n in &notes {
        run(&mut verifier, n);
    }
    let s = verifier.cache_stats();
    assert_eq!((s.entries, s.hits, s.misses), (2, 0, 3));
    run(&mut verifier, &notes[2]); // newest: a hit
    run(&mut verifier, &notes[0]); // oldest, evicted: a miss (and it evicts notes[1])
    let s = verifier.cache_stats();
    assert_eq!((s.entries, s.hits, s.misses), (2, 1, 4));
    run(&mut verifier, &notes[1]);
    assert_eq!(verifier.cache_stats().misses, 5);

    let mut off = Verifier::new(verifier.trust_root().clone(), valid.policy.clone())
        .unwrap()
        .with_capacity(0);
    run(&mut off, &notes[2]);
    run(&mut off, &notes[2]);
    let s = off.cache_stats();
    assert_eq!((s.entries, s.hits, s.misses), (0, 0, 2));
}

#[test]
fn a_verifier_refuses_an_unsafe_trust_root_like_verify() {
    let (mut root, cases) = vectors();
    root.threshold = 1;
    let err = Verifier::new(root.clone(), cases[0].policy.clone()).unwrap_err();
    assert_eq!(verify::verify(&cases[0].bundle, &root, &cases[0].policy, cases[0].now), Err(err));
}

#[test]
fn a_cached_checkpoint_is_still_checked_for_freshness() {
    let set = testkit::standard_cases(testkit::VECTORS_LABEL).unwrap();
    let case = set.cases.iter().find(|c| c.name == "valid").unwrap();
    let bundle = Bundle::from_text(&case.bundle_text).unwrap();
    let mut verifier = Verifier::new(set.trust_root.clone(), case.policy.clone()).unwrap();
    assert!(matches!(verifier.verify(&bundle, case.now), Ok(Verdict::Valid(_))));
    let later = case.now + 2 * 86_400;
    let cold = verify::verify(&bundle, &set.trust_root, &case.policy, later);
    assert!(matches!(cold, Ok(Verdict::Invalid(Invalid::StaleCheckpoint { .. }))), "{cold:?}");
    assert_eq!(verifier.verify(&bundle, later), cold);
    assert_eq!(verifier.cache_stats().hits, 1);
}
