//! The verification pipeline's boundary: malformed input is an `Error` ("could not decide"),
//! never a verdict and never a panic; unsafe trust roots are refused; and the text form, sizes and
//! typed reasons behave as `specs/bundle.md` says.

use certledger_core::bundle::{Bundle, BundleError, MAX_BUNDLE_BYTES};
use certledger_core::codec::Encode;
use certledger_core::testkit::{self, CaseSet};
use certledger_core::verify::{self, Policy, TrustRoot, Verdict, VerifyError};
use proptest::prelude::*;
use std::sync::OnceLock;

fn cases() -> &'static CaseSet {
    static SET: OnceLock<CaseSet> = OnceLock::new();
    SET.get_or_init(|| testkit::standard_cases("verify tests").expect("cases"))
}

fn valid_case() -> &'static testkit::Case {
    cases().cases.iter().find(|c| c.name == "valid").expect("valid case")
}

#[test]
fn valid_bundle_returns_the_disclosed_claims_with_labels() {
    let case = valid_case();
    let bundle = Bundle::from_text(&case.bundle_text).expect("bundle");
    let Verdict::Valid(ok) =
        verify::verify(&bundle, &cases().trust_root, &case.policy, case.now).expect("decidable")
    else {
        panic!("valid case refused")
    };
    assert_eq!(ok.type_name_zh, "营业执照");
    assert_eq!(ok.issuer_department, "market-regulation");
    let names: Vec<&str> = ok.claims.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["credit_code", "entity_name", "legal_representative"]);
    assert_eq!(ok.claims[2].label_zh, "法定代表人");
    assert!(ok.claims.iter().all(|c| c.name != "address"), "undisclosed claims stay hidden");
}

#[test]
fn every_reason_code_is_covered_by_a_case() {
    let codes: std::collections::BTreeSet<&str> = cases().cases.iter().map(|c| c.expect).collect();
    for code in [
        "valid",
        "wrong_ledger",
        "quorum_not_met",
        "bad_checkpoint_signature",
        "stale_checkpoint",
        "not_anchored",
        "bad_state_proof",
        "bad_issuer_signature",
        "tampered_disclosure",
        "issuer_not_authorised",
        "issuer_key_compromised",
        "revoked",
        "suspended",
        "expired",
        "holder_binding_missing",
        "nonce_mismatch",
        "audience_mismatch",
        "presentation_not_fresh",
        "type_not_accepted",
        "assurance_too_low",
        "claim_not_disclosed",
    ] {
        assert!(codes.contains(code), "no case for {code}");
    }
}

#[test]
fn malformed_input_is_an_error_not_a_verdict() {
    let case = valid_case();
    let root = &cases().trust_root;
    assert!(matches!(Bundle::from_text("hello"), Err(BundleError::BadText)));
    assert!(matches!(Bundle::from_text("CLB1.!!!"), Err(BundleError::BadText)));
    assert!(matches!(Bundle::decode_bytes(b"XXXX"), Err(BundleError::BadMagic)));
    let big = vec![0u8; MAX_BUNDLE_BYTES + 1];
    assert!(matches!(Bundle::decode_bytes(&big), Err(BundleError::TooLarge)));
    let mut bytes = Bundle::from_text(&case.bundle_text).expect("bundle").to_bytes();
    bytes.push(0);
    assert!(matches!(
        verify::verify_bytes(&bytes, root, &case.policy, case.now),
        Err(VerifyError::Bundle(_))
    ));
    bytes.truncate(bytes.len() - 10);
    assert!(verify::verify_bytes(&bytes, root, &case.policy, case.now).is_err());
}

#[test]
fn unsafe_trust_roots_are_refused() {
    let case = valid_case();
    let bundle = Bundle::from_text(&case.bundle_text).expect("bundle");
    let mut weak = cases().trust_root.clone();
    weak.threshold = 2; // 2 of 4 is not more than two thirds
    assert_eq!(
        verify::verify(&bundle, &weak, &case.policy, case.now),
        Err(VerifyError::TrustRoot("threshold must be more than 2/3 of the keys"))
    );
    let json = cases().trust_root.to_json();
    assert_eq!(TrustRoot::from_json(&json).expect("round trip"), cases().trust_root);
    let weak_json = json.replace("\"threshold\": 3", "\"threshold\": 1");
    assert!(TrustRoot::from_json(&weak_json).is_err());
    assert!(TrustRoot::from_json("{\"version\":1,\"version\":1}").is_err(), "duplicate keys");
}

#[test]
fn policy_json_needs_a_real_challenge() {
    assert!(Policy::from_json(r#"{"challenge":{"nonce":"short","audience":"a"}}"#).is_err());
    assert!(
        Policy::from_json(r#"{"challenge":{"nonce":"0123456789abcdef","audience":""}}"#).is_err()
    );
    let p = Policy::from_json(r#"{"challenge":{"nonce":"0123456789abcdef","audience":"a"}}"#)
        .expect("minimal policy");
    assert_eq!(p.max_checkpoint_age_s, 24 * 3600);
    assert!(Policy::from_json(
        r#"{"challenge":{"nonce":"0123456789abcdef","audience":"a"},"extra":1}"#
    )
    .is_err());
}

#[test]
fn licence_bundle_size_is_reported() {
    let bundle = Bundle::from_text(&valid_case().bundle_text).expect("bundle");
    let bytes = bundle.to_bytes().len();
    println!("valid licence bundle (3 claims disclosed): {bytes} bytes binary");
    assert!(bytes < MAX_BUNDLE_BYTES);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let case = valid_case();
        let mut framed = b"CLB\x01".to_vec();
        framed.extend_from_slice(&bytes);
        let _ = verify::verify_bytes(&bytes, &cases().trust_root, &case.policy, case.now);
        let _ = verify::verify_bytes(&framed, &cases().trust_root, &case.policy, case.now);
        let _ = Bundle::from_text(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn flipping_any_bit_never_yields_valid(index in any::<prop::sample::Index>(), bit in 0u8..8) {
        let case = valid_case();
        let bundle = Bundle::from_text(&case.bundle_text).expect("bundle");
        let mut bytes = bundle.to_bytes();
        // The checkpoint note is last; its signature lines' key names are not signed, and a line
        // whose name no longer matches a trusted key is ignored as an unknown signer (C2SP
        // signed-note rule). With 4 of 4 signatures and a threshold of 3, such a flip may still
        // verify, correctly. Every other bit is signed, hashed or checked.
        let signature_lines = bytes.len() - bundle.proofs.checkpoint.len()
            + bundle.proofs.checkpoint.find("\n\n").expect("note has signatures") + 2;
        let i = index.index(bytes.len());
        bytes[i] ^= 1 << bit;
        if let Ok(Verdict::Valid(_)) =
            verify::verify_bytes(&bytes, &cases().trust_root, &case.policy, case.now)
        {
            prop_assert!(i >= signature_lines, "bit flip at byte {} bit {} still verified", i, bit);
        }
    }
}

#[test]
fn holder_checks_a_credential_as_issued_without_key_binding() {
    use certledger_core::ledger::CredentialStatus;
    use certledger_core::profiles::BUSINESS_LICENCE as BL;
    use certledger_core::sig::SecretKey;
    let mut s =
        testkit::Scenario::new("import", "cn.gov.certledger.test", 1_767_225_600).expect("s");
    let issuer = s.register_issuer("market-regulation", &[BL.id], 86_400 * 365).expect("issuer");
    let holder = SecretKey::generate(&mut s.rng);
    let issued =
        s.issue(&issuer, &BL, &testkit::example_claims(&BL), &holder.public_key()).expect("issue");
    let now = s.ledger.time() + 10;
    let cp = s.checkpoint(4).expect("cp");
    let proofs = s.bundle(&issued, &holder, &[], "n", "a", now, &cp).expect("bundle").proofs;
    let root = s.trust_root();
    let verdict =
        verify::verify_credential(&issued.sd_jwt, &proofs, &root, 3600, now).expect("decide");
    assert!(matches!(verdict, Verdict::Valid(_)), "{verdict:?}");
    // A presentation (with a KB-JWT) is not an issued credential.
    let presented = s.bundle(&issued, &holder, &["entity_name"], "n", "a", now, &cp).expect("b");
    let text = presented.presentation.sd_jwt().expect("sd-jwt");
    assert!(!matches!(
        verify::verify_credential(text, &proofs, &root, 3600, now),
        Ok(Verdict::Valid(_))
    ));
    // Someone else's credential with these proofs is not anchored.
    let other =
        s.issue(&issuer, &BL, &testkit::example_claims(&BL), &holder.public_key()).expect("issue");
    let cp = s.checkpoint(4).expect("cp");
    let proofs = s.bundle(&issued, &holder, &[], "n", "a", now, &cp).expect("bundle").proofs;
    let verdict =
        verify::verify_credential(&other.sd_jwt, &proofs, &root, 3600, now).expect("decide");
    assert!(matches!(verdict, Verdict::Invalid(verify::Invalid::NotAnchored(_))), "{verdict:?}");
    // After revocation the refreshed proofs say so.
    s.change_status(&issuer, issued.credential_id, CredentialStatus::Revoked, 1).expect("revoke");
    let cp = s.checkpoint(4).expect("cp");
    let proofs = s.bundle(&issued, &holder, &[], "n", "a", now, &cp).expect("bundle").proofs;
    let verdict =
        verify::verify_credential(&issued.sd_jwt, &proofs, &root, 3600, now).expect("decide");
    assert_eq!(verdict, Verdict::Invalid(verify::Invalid::Revoked { reason: 1 }));
}

#[test]
fn holder_checks_a_w3c_credential_as_issued() {
    use certledger_core::profiles::BUSINESS_LICENCE as BL;
    use certledger_core::sig::SecretKey;
    let mut s =
        testkit::Scenario::new("import w3c", "cn.gov.certledger.test", 1_767_225_600).expect("s");
    let issuer = s.register_issuer("market-regulation", &[BL.id], 86_400 * 365).expect("issuer");
    let holder = SecretKey::generate(&mut s.rng);
    let issued = s
        .issue_w3c(&issuer, &BL, &testkit::example_claims(&BL), &holder.public_key())
        .expect("issue");
    let now = s.ledger.time() + 10;
    let cp = s.checkpoint(4).expect("cp");
    let proofs = s.proofs(&issued.anchor, &cp).expect("proofs");
    let root = s.trust_root();
    let verdict =
        verify::verify_w3c_credential(&issued.vc_json, &proofs, &root, 3600, now).expect("decide");
    assert!(matches!(verdict, Verdict::Valid(_)), "{verdict:?}");
    let tampered = issued.vc_json.replace("张三", "李四");
    assert_ne!(tampered, issued.vc_json);
    let verdict =
        verify::verify_w3c_credential(&tampered, &proofs, &root, 3600, now).expect("decide");
    assert_eq!(verdict, Verdict::Invalid(verify::Invalid::BadIssuerSignature));
}
