//! Signed presentation requests checked against the verifier registry (issue #11 item 5):
//! `registry::check_signed_request` over a real ledger, and the pinned vectors of
//! `specs/vectors/requests.json`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use certledger_core::codec::Encode as _;
use certledger_core::ledger::{
    self, EntryBody, Purpose, RegisterVerifier, RetireVerifier, RotateVerifier,
};
use certledger_core::profiles;
use certledger_core::registry::{check_signed_request, RequestCheckError, StateProofJson};
use certledger_core::request::{PresentationRequest, RequestError, RequestOptions};
use certledger_core::sig::SecretKey;
use certledger_core::testkit::{Scenario, SeededRng};

const VERIFIER: &str = "pudong-hr-1";
const SKEW: u64 = 60;
const MAX_AGE: u64 = 3600;

fn verifier_key(seed: u8) -> SecretKey {
    SecretKey::from_seed(&[seed; 32])
}

/// A ledger with `VERIFIER` registered by education with key 7 and two purposes.
fn world() -> Scenario {
    let mut s = Scenario::new("request tests", "cn.gov.certledger.request-test", 1_700_000_000)
        .expect("scenario");
    let admin = s.department("education").expect("education").admin.clone();
    s.submit(
        &admin,
        EntryBody::RegisterVerifier(RegisterVerifier {
            verifier_id: VERIFIER.to_owned(),
            department: "education".to_owned(),
            name_zh: "浦东人事窗口".to_owned(),
            name_en: "Pudong HR counter".to_owned(),
            verifier_key: verifier_key(7).public_key(),
            purposes: vec![
                Purpose { id: "hire".to_owned(), claims: vec!["name".to_owned()] },
                Purpose {
                    id: "hire-graduate".to_owned(),
                    claims: vec!["institution".to_owned(), "name".to_owned()],
                },
            ],
        }),
    );
    s.commit(1).expect("commit");
    s
}

fn admin(s: &Scenario, dept: &str) -> SecretKey {
    s.department(dept).expect("department").admin.clone()
}

/// The node's state-proof answer for `verifier_id`, under a 3-of-4 checkpoint.
fn answer(s: &Scenario, verifier_id: &str) -> StateProofJson {
    let key = ledger::verifier_state_key(verifier_id);
    StateProofJson {
        key: hex::encode(key),
        height: s.ledger.height(),
        value: s.ledger.state_value(&key).expect("state").map(|v| URL_SAFE_NO_PAD.encode(v)),
        proof: URL_SAFE_NO_PAD.encode(s.ledger.prove_state(&key).expect("proof").to_bytes()),
        checkpoint: s.checkpoint(3).expect("checkpoint"),
    }
}

fn request(s: &Scenario, key: &SecretKey, purpose: &str, claims: &[&str]) -> PresentationRequest {
    PresentationRequest::new(
        RequestOptions {
            verifier_id: VERIFIER.to_owned(),
            purpose: purpose.to_owned(),
            claims: claims.iter().map(|c| (*c).to_owned()).collect(),
            credential_types: vec![profiles::DIPLOMA.id.to_owned()],
            audience: VERIFIER.to_owned(),
            lifetime_s: 600,
        },
        key,
        &mut SeededRng::from_label(purpose),
        s.ledger.time(),
    )
    .expect("request")
}

fn check(s: &Scenario, r: &PresentationRequest) -> Result<String, RequestCheckError> {
    let now = s.ledger.time() + 5;
    check_signed_request(r, &answer(s, r.verifier_id()), &s.trust_root(), MAX_AGE, now, SKEW)
        .map(|c| c.purpose.id)
}

#[test]
fn a_request_signed_by_the_registered_key_is_accepted_with_its_purpose() {
    let s = world();
    let r = request(&s, &verifier_key(7), "hire 招聘核验", &["name"]);
    assert_eq!(check(&s, &r), Ok("hire".to_owned()));
    let r = request(&s, &verifier_key(7), "hire-graduate", &["institution", "name"]);
    assert_eq!(check(&s, &r), Ok("hire-graduate".to_owned()));
}

/// Item 5: anyone could claim to be a registered verifier (the key was never used).
#[test]
fn a_request_not_signed_by_the_registered_key_is_refused() {
    let s = world();
    let forged = request(&s, &verifier_key(8), "hire", &["name"]);
    assert_eq!(check(&s, &forged), Err(RequestCheckError::BadSignature));
    // Another verifier's record does not stand in for this one's.
    let r = request(&s, &verifier_key(7), "hire", &["name"]);
    let now = s.ledger.time() + 5;
    let other = check_signed_request(&r, &answer(&s, "other"), &s.trust_root(), MAX_AGE, now, SKEW);
    assert!(matches!(other, Err(RequestCheckError::Registry(_))));
}

#[test]
fn an_unregistered_verifier_is_refused() {
    let s = world();
    let r = PresentationRequest::new(
        RequestOptions {
            verifier_id: "nobody".to_owned(),
            purpose: "hire".to_owned(),
            claims: vec!["name".to_owned()],
            credential_types: vec![profiles::DIPLOMA.id.to_owned()],
            audience: "nobody".to_owned(),
            lifetime_s: 600,
        },
        &verifier_key(7),
        &mut SeededRng::from_label("nobody"),
        s.ledger.time(),
    )
    .expect("request");
    assert_eq!(check(&s, &r), Err(RequestCheckError::NotRegistered));
}

/// Item 5: a purpose matching no registration was widened to the union of all purposes.
#[test]
fn a_purpose_matching_no_registration_is_refused_not_widened() {
    let s = world();
    // "name" is allowed by both purposes, so the union would have allowed it.
    let r = request(&s, &verifier_key(7), "核验学历", &["name"]);
    assert_eq!(check(&s, &r), Err(RequestCheckError::UnknownPurpose));
    // A registered purpose does not lend another purpose's claims.
    let r = request(&s, &verifier_key(7), "hire", &["institution", "name"]);
    assert_eq!(check(&s, &r), Err(RequestCheckError::OverAsking(vec!["institution".to_owned()])));
}

#[test]
fn a_rotated_out_key_is_refused_and_the_new_key_accepted() {
    let mut s = world();
    let old = request(&s, &verifier_key(7), "hire", &["name"]);
    let edu = admin(&s, "education");
    s.submit(
        &edu,
        EntryBody::RotateVerifier(RotateVerifier {
            verifier_id: VERIFIER.to_owned(),
            new_key: verifier_key(9).public_key(),
        }),
    );
    s.commit(1).expect("commit");
    assert_eq!(check(&s, &old), Err(RequestCheckError::BadSignature));
    let new = request(&s, &verifier_key(9), "hire", &["name"]);
    assert_eq!(check(&s, &new), Ok("hire".to_owned()));
}

#[test]
fn a_retired_verifier_is_refused() {
    let mut s = world();
    let edu = admin(&s, "education");
    s.submit(&edu, EntryBody::RetireVerifier(RetireVerifier { verifier_id: VERIFIER.to_owned() }));
    s.commit(1).expect("commit");
    let r = request(&s, &verifier_key(7), "hire", &["name"]);
    assert!(matches!(check(&s, &r), Err(RequestCheckError::Retired(_))));
}

/// Item 6: a request's `expires_at` is enforced by the wallet check.
#[test]
fn an_expired_request_is_refused() {
    let s = world();
    let r = request(&s, &verifier_key(7), "hire", &["name"]);
    let late = r.expires_at();
    let got = check_signed_request(&r, &answer(&s, VERIFIER), &s.trust_root(), MAX_AGE, late, SKEW);
    assert_eq!(got, Err(RequestCheckError::Request(RequestError::Expired)));
}

/// The pinned vectors: each implementation must reproduce the text form and the signed bytes,
/// accept the valid signature and refuse every tampered case.
#[test]
fn request_vectors() {
    let text = include_str!("../../specs/vectors/requests.json");
    let v: serde_json::Value = serde_json::from_str(text).expect("vectors JSON");
    let seed: [u8; 32] = hex::decode(v["verifier_key_seed"].as_str().expect("seed"))
        .expect("hex")
        .try_into()
        .expect("32 bytes");
    let key = SecretKey::from_seed(&seed);
    assert_eq!(hex::encode(key.public_key().0), v["verifier_public_key"].as_str().expect("pk"));
    for case in v["cases"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("name");
        let json = case["json"].as_str().expect("json");
        let r = PresentationRequest::from_json(json).expect(name);
        assert_eq!(r.to_json(), json, "{name}");
        assert_eq!(r.to_text(), case["text"].as_str().expect("text"), "{name}");
        assert_eq!(PresentationRequest::from_text(&r.to_text()).expect(name), r, "{name}");
        assert_eq!(hex::encode(r.signed_bytes()), case["signed_hex"].as_str().expect("hex"));
        let ok = r.verify_signature(&key.public_key()).is_ok();
        assert_eq!(ok, case["signature_valid"].as_bool().expect("valid"), "{name}");
    }
}

/// Prints fresh vectors (`PRINT_REQUEST_VECTORS=1 cargo test -p certledger-core --test requests
/// print -- --nocapture`); the file is this output.
#[test]
fn print_request_vectors() {
    if std::env::var_os("PRINT_REQUEST_VECTORS").is_none() {
        return;
    }
    let key = SecretKey::from_seed(&[0x42; 32]);
    let options = RequestOptions {
        verifier_id: "counter-1".to_owned(),
        purpose: "hire 核验学历 check a diploma".to_owned(),
        claims: vec!["institution".to_owned(), "name".to_owned()],
        credential_types: vec![profiles::DIPLOMA.id.to_owned()],
        audience: "counter-1".to_owned(),
        lifetime_s: 600,
    };
    let r = PresentationRequest::new(
        options,
        &key,
        &mut SeededRng::from_label("request vectors"),
        1_800_000_000,
    )
    .expect("request");
    let mut cases = vec![serde_json::json!({
        "name": "valid", "json": r.to_json(), "text": r.to_text(),
        "signed_hex": hex::encode(r.signed_bytes()), "signature_valid": true,
    })];
    let mut tampered: serde_json::Value = serde_json::from_str(&r.to_json()).expect("json");
    tampered["claims"] = serde_json::json!(["institution", "name", "programme"]);
    let t = PresentationRequest::from_json(&tampered.to_string()).expect("tampered");
    cases.push(serde_json::json!({
        "name": "claims changed after signing", "json": t.to_json(), "text": t.to_text(),
        "signed_hex": hex::encode(t.signed_bytes()), "signature_valid": false,
    }));
    let mut other: serde_json::Value = serde_json::from_str(&r.to_json()).expect("json");
    let other_sig = SecretKey::from_seed(&[0x43; 32])
        .sign(certledger_core::sig::ns::VERIFIER_REQUEST, &r.signed_bytes());
    other["signature"] = URL_SAFE_NO_PAD.encode(other_sig.0).into();
    let o = PresentationRequest::from_json(&other.to_string()).expect("other");
    cases.push(serde_json::json!({
        "name": "signed by another key", "json": o.to_json(), "text": o.to_text(),
        "signed_hex": hex::encode(o.signed_bytes()), "signature_valid": false,
    }));
    let mut wrong_ns: serde_json::Value = serde_json::from_str(&r.to_json()).expect("json");
    let ns_sig = key.sign(certledger_core::sig::ns::PSEUDONYM, &r.signed_bytes());
    wrong_ns["signature"] = URL_SAFE_NO_PAD.encode(ns_sig.0).into();
    let w = PresentationRequest::from_json(&wrong_ns.to_string()).expect("ns");
    cases.push(serde_json::json!({
        "name": "signed under another namespace", "json": w.to_json(), "text": w.to_text(),
        "signed_hex": hex::encode(w.signed_bytes()), "signature_valid": false,
    }));
    let out = serde_json::json!({
        "about": "certledger signed presentation requests, version 2 (specs/request.md). The \
                  verifier key signs the canonical bytes without the signature under the \
                  namespace certledger/v1/verifier-request. Printed by core/tests/requests.rs \
                  print_request_vectors; the key is a public test key.",
        "verifier_key_seed": hex::encode([0x42u8; 32]),
        "verifier_public_key": hex::encode(key.public_key().0),
        "namespace": certledger_core::sig::ns::VERIFIER_REQUEST.as_str(),
        "cases": cases,
    });
    println!("{}", serde_json::to_string_pretty(&out).expect("json"));
}
