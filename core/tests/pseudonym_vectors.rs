//! The identity-extension vectors (`specs/vectors/identity-bundles.json`): every case gives its
//! expected verdict under `verify::verify_linked`, regeneration reproduces the file byte for
//! byte, and the extension's decoder refuses malformed input without panicking.
#![allow(clippy::unwrap_used, clippy::panic)]

use certledger_core::bundle::{Bundle, BundleError, LinkedBundle};
use certledger_core::codec::Encode as _;
use certledger_core::testkit;
use certledger_core::verify::{self, Policy, TrustRoot, Verdict};
use proptest::prelude::*;

const VECTORS: &str = include_str!("../../specs/vectors/identity-bundles.json");
const PLAIN_VECTORS: &str = include_str!("../../specs/vectors/bundles.json");

fn outcome(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Valid(_) => "valid".to_owned(),
        Verdict::Invalid(reason) => reason.code().to_owned(),
    }
}

#[test]
fn published_identity_vectors_give_their_expected_verdicts() {
    let doc: serde_json::Value = serde_json::from_str(VECTORS).unwrap();
    let trust_root = TrustRoot::from_json(&doc["trust_root"].to_string()).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    let mut outcomes = std::collections::BTreeSet::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let bundle = LinkedBundle::from_text(case["bundle"].as_str().unwrap()).expect(name);
        let policy = Policy::from_json(&case["policy"].to_string()).expect(name);
        let now = case["now"].as_u64().unwrap();
        let verdict = verify::verify_linked(&bundle, &trust_root, &policy, now).expect(name);
        assert_eq!(outcome(&verdict), case["expect"].as_str().unwrap(), "case {name}");
        outcomes.insert(outcome(&verdict));
    }
    for needed in ["valid", "bad_pseudonym_proof", "bad_link_proof"] {
        assert!(outcomes.contains(needed), "no case gives {needed}");
    }
    println!("identity vectors: {} cases, {} distinct outcomes", cases.len(), outcomes.len());
}

#[test]
fn valid_results_show_the_pseudonym_and_linked_credentials() {
    let set = testkit::identity_cases(testkit::IDENTITY_VECTORS_LABEL).unwrap();
    let case = set.cases.iter().find(|c| c.name == "identity_linked_licence").unwrap();
    let bundle = LinkedBundle::from_text(&case.bundle_text).unwrap();
    let Verdict::Valid(accepted) =
        verify::verify_linked(&bundle, &set.trust_root, &case.policy, case.now).unwrap()
    else {
        panic!("expected valid");
    };
    let proof = bundle.pseudonym.unwrap();
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(proof.pseudonym.0);
    assert_eq!(accepted.pseudonym.as_deref(), Some(b64.as_str()));
    assert!(!accepted.linked);
    assert_eq!(accepted.linked_credentials.len(), 1);
    let licence = &accepted.linked_credentials[0];
    assert!(licence.linked);
    assert_eq!(licence.credential_type, "urn:cn:certledger:vct:business-licence:1");
    // The JSON result names them, and never shows a holder key.
    let json = serde_json::to_value(&*accepted).unwrap();
    assert_eq!(json["pseudonym"], b64.as_str());
    assert_eq!(json["linked_credentials"][0]["linked"], true);
    assert!(json.get("linked").is_none());
    assert!(json.get("holder_key").is_none());
    assert!(json["linked_credentials"][0].get("holder_key").is_none());
}

#[test]
fn regeneration_reproduces_the_published_identity_file() {
    let set = testkit::identity_cases(testkit::IDENTITY_VECTORS_LABEL).unwrap();
    assert!(
        testkit::identity_cases_json(&set) == VECTORS,
        "specs/vectors/identity-bundles.json is out of date: run `cargo run -p certledger-core --example gen-identity-vectors` and review the diff"
    );
}

#[test]
fn another_seed_gives_the_same_verdicts() {
    let set = testkit::identity_cases("identity cases, another seed").unwrap();
    for case in &set.cases {
        let bundle = LinkedBundle::from_text(&case.bundle_text).unwrap();
        let verdict =
            verify::verify_linked(&bundle, &set.trust_root, &case.policy, case.now).unwrap();
        assert_eq!(outcome(&verdict), case.expect, "case {}", case.name);
    }
}

#[test]
fn plain_bundles_decode_unchanged_and_verify_the_same() {
    let doc: serde_json::Value = serde_json::from_str(PLAIN_VECTORS).unwrap();
    let trust_root = TrustRoot::from_json(&doc["trust_root"].to_string()).unwrap();
    for case in doc["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let text = case["bundle"].as_str().unwrap();
        let plain = Bundle::from_text(text).unwrap();
        let linked = LinkedBundle::from_text(text).unwrap();
        assert!(!linked.has_extension(), "{name}");
        assert_eq!(linked.main, plain, "{name}");
        assert_eq!(linked.to_text(), text, "{name}: re-encoding changed the bytes");
        let policy = Policy::from_json(&case["policy"].to_string()).unwrap();
        let now = case["now"].as_u64().unwrap();
        let a = verify::verify(&plain, &trust_root, &policy, now).unwrap();
        let b = verify::verify_linked(&linked, &trust_root, &policy, now).unwrap();
        assert_eq!(a, b, "{name}");
    }
}

#[test]
fn extended_bundles_are_not_plain_bundles_and_empty_extensions_are_refused() {
    let set = testkit::identity_cases(testkit::IDENTITY_VECTORS_LABEL).unwrap();
    let case = set.cases.iter().find(|c| c.name == "identity_linked_licence").unwrap();
    let linked = LinkedBundle::from_text(&case.bundle_text).unwrap();
    // A verifier that knows only plain bundles refuses the extension as malformed.
    assert!(matches!(Bundle::from_text(&case.bundle_text), Err(BundleError::Decode(_))));
    // An extension tag followed by "no pseudonym, no linked credential" is not canonical.
    let mut bytes = linked.main.to_bytes();
    bytes.extend_from_slice(&[0x01, 0x00, 0, 0, 0, 0]);
    assert!(LinkedBundle::decode_bytes(&bytes).is_err());
    // An unknown extension tag.
    let mut bytes = linked.main.to_bytes();
    bytes.extend_from_slice(&[0x02, 0x00, 0, 0, 0, 0]);
    assert!(LinkedBundle::decode_bytes(&bytes).is_err());
    // More than four linked credentials.
    let mut many = linked.clone();
    many.linked = vec![linked.linked[0].clone(); 5];
    assert!(LinkedBundle::decode_bytes(&many.to_bytes()).is_err());
    // Round trip of the real thing.
    assert_eq!(LinkedBundle::decode_bytes(&linked.to_bytes()).unwrap(), linked);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn mutated_extended_bundles_never_panic_the_decoder(
        cut in 0usize..20_000, flips in proptest::collection::vec((0usize..20_000, any::<u8>()), 0..8)
    ) {
        static BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
        let mut bytes = BYTES
            .get_or_init(|| {
                let set = testkit::identity_cases(testkit::IDENTITY_VECTORS_LABEL).unwrap();
                let case =
                    set.cases.iter().find(|c| c.name == "identity_linked_licence").unwrap();
                LinkedBundle::from_text(&case.bundle_text).unwrap().to_bytes()
            })
            .clone();
        for (at, x) in flips {
            let n = bytes.len();
            bytes[at % n] ^= x;
        }
        let n = bytes.len();
        bytes.truncate(cut % (n + 1));
        let _ = LinkedBundle::decode_bytes(&bytes);
    }
}
