//! A verifier that trusts the genesis set follows a validator change and then accepts a bundle
//! whose checkpoint only the new set's quorum signed (`specs/verifier.md`); the same through the
//! trust root JSON forms (followable genesis root, pinned later set).
//!
//! Also leaves fixtures for the browser tests (`tests/browser`): a bundle case per trust root in
//! `$CARGO_TARGET_TMPDIR/browser-cases/` and the chain case in `$CARGO_TARGET_TMPDIR/browser-chains/`.
#![allow(clippy::unwrap_used, clippy::panic)]

use base64::Engine as _;
use certledger_core::bundle::Bundle;
use certledger_core::codec::Encode;
use certledger_core::lightclient::{follow, ChainError, GovernanceTrust};
use certledger_core::testkit::{self, ChainCase};
use certledger_core::verify::{self, Invalid, TrustRoot, Verdict, Verifier};
use serde_json::{json, Value};

fn case() -> ChainCase {
    testkit::validator_change_case("verify_followed").unwrap()
}

#[test]
fn following_the_chain_gives_the_trust_root_that_accepts_the_bundle() {
    let c = case();
    let bundle = Bundle::from_text(&c.bundle_text).unwrap();
    let genesis_root = TrustRoot::from_genesis(&c.genesis);
    assert_eq!(
        verify::verify(&bundle, &genesis_root, &c.policy, c.now),
        Ok(Verdict::Invalid(Invalid::QuorumNotMet)),
        "two founders' signatures are below the genesis quorum"
    );

    let followed = follow(&GovernanceTrust::from_genesis(&c.genesis), &c.chain).unwrap();
    let ids: Vec<&str> = followed.trust.departments.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["education", "health", "market-regulation", "public-security"]);
    assert_eq!(followed.head.height, 6);
    let root = followed.trust.to_trust_root();
    let cold = verify::verify(&bundle, &root, &c.policy, c.now);
    let Ok(Verdict::Valid(accepted)) = &cold else { panic!("{cold:?}") };
    assert_eq!(accepted.checkpoint_height, 6);
    let mut verifier = Verifier::new(root, c.policy.clone()).unwrap();
    assert_eq!(verifier.verify(&bundle, c.now), cold);
    assert_eq!(verifier.verify(&bundle, c.now), cold);
    assert_eq!(verifier.cache_stats().hits, 1);
}

#[test]
fn trust_root_json_forms_follow_and_pin() {
    let c = case();
    let bundle = Bundle::from_text(&c.bundle_text).unwrap();
    let genesis = GovernanceTrust::from_genesis(&c.genesis);

    // A followable root: the genesis trust root JSON with its departments.
    let json = genesis.to_trust_root_json();
    let parsed = GovernanceTrust::from_trust_root_json(&json).unwrap();
    assert_eq!(parsed, genesis);
    // It is still a plain trust root for `verify` (the departments field is optional).
    assert_eq!(TrustRoot::from_json(&json).unwrap(), TrustRoot::from_genesis(&c.genesis));
    // Without departments it cannot be followed.
    let plain = TrustRoot::from_genesis(&c.genesis).to_json();
    assert!(matches!(
        GovernanceTrust::from_trust_root_json(&plain),
        Err(ChainError::InvalidTrust(_))
    ));
    // Departments that disagree with the keys are refused.
    let mut doc: Value = serde_json::from_str(&json).unwrap();
    doc["departments"].as_array_mut().unwrap().swap(0, 1);
    assert!(TrustRoot::from_json(&doc.to_string()).is_err());
    let mut doc: Value = serde_json::from_str(&json).unwrap();
    doc["threshold"] = json!(4);
    assert!(TrustRoot::from_json(&doc.to_string()).is_ok());
    assert!(GovernanceTrust::from_trust_root_json(&doc.to_string()).is_err());

    // Follow, then use the result as a pinned later set (JSON with or without departments).
    let followed = follow(&parsed, &c.chain).unwrap();
    for pinned in [followed.trust.to_trust_root_json(), followed.trust.to_trust_root().to_json()] {
        let root = TrustRoot::from_json(&pinned).unwrap();
        assert!(matches!(verify::verify(&bundle, &root, &c.policy, c.now), Ok(Verdict::Valid(_))));
    }
    // A pinned later set cannot follow the genesis chain again: its first step is signed by the
    // founders, whom it no longer trusts as a quorum.
    assert!(follow(&followed.trust, &c.chain).is_err());
}

#[test]
fn a_chain_that_does_not_decode_or_verify_is_refused() {
    let c = case();
    let bytes = c.chain.to_bytes();
    let mut bad = bytes.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x40;
    let genesis = GovernanceTrust::from_genesis(&c.genesis);
    let outcome = certledger_core::lightclient::ValidatorChain::from_bytes_checked(&bad)
        .map_err(|_| ())
        .and_then(|chain| follow(&genesis, &chain).map_err(|_| ()));
    assert!(outcome.is_err());
}

/// Writes the fixtures the browser tests read. Runs as a test so that `scripts/test.sh`'s
/// cargo-test step leaves them before the browser-tests step.
#[test]
#[allow(clippy::disallowed_methods)] // a test leaving fixtures for another test runner
fn write_browser_fixtures() {
    let c = case();
    let genesis = GovernanceTrust::from_genesis(&c.genesis);
    let followed = follow(&genesis, &c.chain).unwrap();
    let tmp = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let json_of = |text: &str| serde_json::from_str::<Value>(text).unwrap();
    let cases = tmp.join("browser-cases");
    std::fs::create_dir_all(&cases).unwrap();
    let bundle_case = |name: &str, root: Value, expect: &str| {
        json!({
            "name": name, "bundle": c.bundle_text, "trust_root": root,
            "policy": c.policy, "now": c.now, "expect": expect,
        })
    };
    let write = |path: std::path::PathBuf, v: Value| {
        std::fs::write(path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    };
    write(
        cases.join("validator-change-pinned-later-set.json"),
        bundle_case(
            "after a validator change, trust root pinned to the later set",
            json_of(&followed.trust.to_trust_root().to_json()),
            "valid",
        ),
    );
    write(
        cases.join("validator-change-genesis-set.json"),
        bundle_case(
            "after a validator change, genesis trust root (not followed)",
            json_of(&genesis.to_trust_root_json()),
            "quorum_not_met",
        ),
    );
    let chains = tmp.join("browser-chains");
    std::fs::create_dir_all(&chains).unwrap();
    // A ledger with no change: the chain is just a head.
    let s =
        testkit::Scenario::new("unchanged", "cn.gov.certledger.unchanged", 1_767_225_600).unwrap();
    let cp = s.checkpoint_by(&["education", "market-regulation", "public-security"]).unwrap();
    let unchanged =
        certledger_core::lightclient::build_chain(&s.genesis, &s.ledger, &[], &[cp]).unwrap();
    write(
        chains.join("validator-unchanged.json"),
        json!({
            "name": "no change since genesis",
            "trust_root": json_of(&TrustRoot::from_genesis(&s.genesis).to_json()),
            "chain": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(unchanged.to_bytes()),
            "followed_trust_root": json_of(&GovernanceTrust::from_genesis(&s.genesis).to_trust_root_json()),
            "head_height": s.ledger.height(),
        }),
    );
    write(
        chains.join("validator-change.json"),
        json!({
            "name": "add health, remove transport",
            "genesis_trust_root": json_of(&genesis.to_trust_root_json()),
            "chain": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(c.chain.to_bytes()),
            "followed_trust_root": json_of(&followed.trust.to_trust_root_json()),
            "departments": followed.trust.departments.iter().map(|d| d.id.clone()).collect::<Vec<_>>(),
            "head_height": followed.head.height,
            "bundle": c.bundle_text, "policy": c.policy, "now": c.now,
        }),
    );
}

#[test]
fn a_plain_trust_root_confirms_an_unchanged_set_but_cannot_follow_a_change() {
    use certledger_core::lightclient::{build_chain, confirm_unchanged};
    use certledger_core::testkit::Scenario;
    let s = Scenario::new("unchanged", "cn.gov.certledger.unchanged", 1_767_225_600).unwrap();
    let founders = ["education", "market-regulation", "public-security", "transport"];
    let cp = s.checkpoint_by(&founders[..3]).unwrap();
    let chain = build_chain(&s.genesis, &s.ledger, &[], &[cp]).unwrap();
    let plain = TrustRoot::from_genesis(&s.genesis);
    let confirmed = confirm_unchanged(&plain, &chain).unwrap();
    // The admin keys come from the quorum-signed state: the same as the genesis departments.
    assert_eq!(confirmed.trust, GovernanceTrust::from_genesis(&s.genesis));
    assert_eq!(confirmed.trust.to_trust_root(), plain);
    // Another ledger's root, or a root missing a department, does not confirm it.
    let other = testkit::validator_change_case("other").unwrap();
    assert!(confirm_unchanged(&TrustRoot::from_genesis(&other.genesis), &chain).is_err());
    let mut fewer = plain.clone();
    fewer.keys.pop();
    fewer.threshold = 3;
    assert!(matches!(confirm_unchanged(&fewer, &chain), Err(ChainError::Head(_))));
    // A chain with a change cannot be confirmed from node keys alone.
    let c = case();
    assert!(matches!(
        confirm_unchanged(&TrustRoot::from_genesis(&c.genesis), &c.chain),
        Err(ChainError::InvalidTrust(_))
    ));
}
