//! The project's own bundle vectors (`specs/vectors/bundles.json`): every case gives its expected
//! verdict, and regenerating them from the fixed seed reproduces the file byte for byte, so a
//! format change cannot slip in unnoticed.

use certledger_core::bundle::Bundle;
use certledger_core::testkit;
use certledger_core::verify::{self, Policy, TrustRoot, Verdict};

const VECTORS: &str = include_str!("../../specs/vectors/bundles.json");

fn outcome(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Valid(_) => "valid".to_owned(),
        Verdict::Invalid(reason) => reason.code().to_owned(),
    }
}

#[test]
fn published_vectors_give_their_expected_verdicts() {
    let doc: serde_json::Value = serde_json::from_str(VECTORS).expect("vectors JSON");
    let trust_root = TrustRoot::from_json(&doc["trust_root"].to_string()).expect("trust root");
    let cases = doc["cases"].as_array().expect("cases");
    assert!(cases.len() >= 20, "expected a case per reason, found {}", cases.len());
    let mut reasons = std::collections::BTreeSet::new();
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let bundle = Bundle::from_text(case["bundle"].as_str().expect("bundle")).expect(name);
        let policy = Policy::from_json(&case["policy"].to_string()).expect(name);
        let now = case["now"].as_u64().expect("now");
        let verdict = verify::verify(&bundle, &trust_root, &policy, now).expect(name);
        assert_eq!(outcome(&verdict), case["expect"].as_str().expect("expect"), "case {name}");
        reasons.insert(outcome(&verdict));
    }
    println!("bundle vectors: {} cases, {} distinct outcomes", cases.len(), reasons.len());
}

#[test]
fn regeneration_reproduces_the_published_file() {
    let set = testkit::standard_cases(testkit::VECTORS_LABEL).expect("cases");
    let fresh = testkit::cases_json(&set);
    assert!(
        fresh == VECTORS,
        "specs/vectors/bundles.json is out of date: run `cargo run -p certledger-core --example gen-vectors` and review the diff"
    );
}

#[test]
fn a_fresh_scenario_matches_each_expectation_too() {
    // Same cases from another seed: the verdicts do not depend on particular keys or salts.
    let set = testkit::standard_cases("another seed").expect("cases");
    for case in &set.cases {
        let bundle = Bundle::from_text(&case.bundle_text).expect(case.name);
        let verdict =
            verify::verify(&bundle, &set.trust_root, &case.policy, case.now).expect(case.name);
        assert_eq!(outcome(&verdict), case.expect, "case {}", case.name);
    }
}
