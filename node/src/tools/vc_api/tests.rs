//! The VC-API endpoints driven with requests shaped as the W3C conformance suites send them.

use axum::body::Body;
use axum::http::Request;
use tower::ServiceExt as _;

use super::*;

fn issuer() -> SecretKey {
    SecretKey::from_seed(&[11; 32])
}

async fn post(path: &str, body: &str) -> (StatusCode, Value) {
    let req = Request::post(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .expect("request");
    let resp = router(issuer()).oneshot(req).await.expect("response");
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.expect("body");
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn credential(issuer: &str) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": issuer,
        "credentialSubject": {"id": "did:example:subject", "name": "王五"},
    })
}

async fn issued() -> Value {
    let did = didkey::did_key(&issuer().public_key());
    let body = json!({"credential": credential(&did), "options": {}});
    let (status, v) = post("/credentials/issue", &body.to_string()).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    v["verifiableCredential"].clone()
}

#[tokio::test]
async fn issue_then_verify_and_tampering_is_refused() {
    let vc = issued().await;
    assert_eq!(vc["proof"]["cryptosuite"], "eddsa-jcs-2022");
    assert_eq!(vc["proof"]["type"], "DataIntegrityProof");
    assert_eq!(vc["proof"]["proofPurpose"], "assertionMethod");
    assert!(vc["proof"]["proofValue"].as_str().is_some_and(|p| p.starts_with('z')));
    let body = json!({"verifiableCredential": vc, "options": {"checks": ["proof"]}});
    let (status, v) = post("/credentials/verify", &body.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["errors"], json!([]));
    assert_eq!(v["checks"], json!(["proof"]));

    let mut tampered = vc.clone();
    tampered["credentialSubject"]["name"] = json!("Someone Else");
    let (status, v) =
        post("/credentials/verify", &json!({"verifiableCredential": tampered}).to_string()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["errors"][0]["type"], "invalid_proof");
    assert!(v["errors"][0]["title_zh"].as_str().is_some_and(|t| !t.is_empty()));
    let mut other_suite = vc;
    other_suite["proof"]["cryptosuite"] = json!("eddsa-rdfc-2022");
    let (status, v) =
        post("/credentials/verify", &json!({"verifiableCredential": other_suite}).to_string())
            .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["errors"][0]["type"], "unsupported_proof");
}

#[tokio::test]
async fn issue_refuses_another_issuer_and_malformed_bodies() {
    let body = json!({"credential": credential("did:example:someone-else")});
    let (status, v) = post("/credentials/issue", &body.to_string()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errors"][0]["type"], "wrong_issuer");
    for bad in ["", "[]", r#"{"credential": 1}"#, r#"{"credential": {}, "credential": {}}"#] {
        let (status, v) = post("/credentials/issue", bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(v["errors"][0]["type"], "malformed_request", "{bad}");
    }
    // Not the VC 2.0 data model: no v2 context, no VerifiableCredential type, no subject.
    let did = didkey::did_key(&issuer().public_key());
    for (member, value) in [
        ("@context", json!(["https://www.w3.org/2018/credentials/v1"])),
        ("type", json!(["ExampleCredential"])),
        ("credentialSubject", json!({})),
    ] {
        let mut c = credential(&did);
        c[member] = value;
        let (status, v) = post("/credentials/issue", &json!({"credential": c}).to_string()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{member}");
        assert_eq!(v["errors"][0]["type"], "malformed_document", "{member}");
    }
    // Over the body limit: refused before parsing.
    let big = format!(r#"{{"credential": "{}"}}"#, "x".repeat(MAX_BODY_BYTES));
    let (status, _) = post("/credentials/issue", &big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn presentations_verify_checks_holder_proof_challenge_domain_and_credentials() {
    let vc = issued().await;
    let holder = SecretKey::from_seed(&[12; 32]);
    let vp = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": didkey::did_key(&holder.public_key()),
        "verifiableCredential": [vc],
    });
    let options = ProofOptions {
        created: Some(w3c::xsd_datetime(now())),
        verification_method: didkey::did_key_verification_method(&holder.public_key()),
        proof_purpose: "authentication".into(),
        challenge: Some("nonce-1".into()),
        domain: Some("example.org".into()),
        expires: None,
    };
    let signed = vcdi::create(&vp, &holder, &options).expect("sign");
    let body = |challenge: &str| {
        json!({
            "verifiablePresentation": signed,
            "options": {"challenge": challenge, "domain": "example.org"},
        })
        .to_string()
    };
    let (status, v) = post("/presentations/verify", &body("nonce-1")).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, v) = post("/presentations/verify", &body("nonce-2")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["errors"][0]["type"], "invalid_proof");

    // A credential inside that no longer verifies fails the presentation, even with a valid
    // holder proof over it.
    let mut bad_vp = vp;
    bad_vp["verifiableCredential"][0]["credentialSubject"]["name"] = json!("Someone Else");
    let bad = vcdi::create(&bad_vp, &holder, &options).expect("sign");
    let (status, v) = post(
        "/presentations/verify",
        &json!({"verifiablePresentation": bad, "options": {"challenge": "nonce-1"}}).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    // A credential's assertion proof is not a presentation's authentication proof.
    let (status, _) = post(
        "/presentations/verify",
        &json!({"verifiablePresentation": issued().await}).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
