//! Tests of signed presentation requests: JSON and text forms, nonce, lifetime, signature, strictness.

use super::*;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

fn options() -> RequestOptions {
    RequestOptions {
        verifier_id: "sh-pudong-counter-12".into(),
        purpose: "开立对公账户 / open a business account".into(),
        claims: vec!["entity_name".into(), "credit_code".into(), "entity_name".into()],
        credential_types: vec!["urn:cn:certledger:vct:business-licence:1".into()],
        audience: "https://verifier.example/counter-12".into(),
        lifetime_s: 600,
    }
}

fn key() -> SecretKey {
    SecretKey::from_seed(&[9; 32])
}

fn request() -> PresentationRequest {
    PresentationRequest::new(options(), &key(), &mut StdRng::seed_from_u64(7), 1_800_000_000)
        .expect("valid options")
}

fn json_with(field: &str, value: serde_json::Value) -> String {
    let mut v: serde_json::Value = serde_json::from_str(&request().to_json()).unwrap();
    v[field] = value;
    v.to_string()
}

#[test]
fn new_sorts_dedups_and_draws_a_256_bit_nonce() {
    let r = request();
    assert_eq!(r.claims(), ["credit_code", "entity_name"]);
    assert_eq!(r.nonce().len(), 32);
    assert_eq!(r.created_at(), 1_800_000_000);
    assert_eq!(r.expires_at(), 1_800_000_600);
    assert_eq!(r.version(), 2);
    let other =
        PresentationRequest::new(options(), &key(), &mut StdRng::seed_from_u64(8), 0).unwrap();
    assert_ne!(r.nonce(), other.nonce());
    r.check_against_profiles().unwrap();
}

#[test]
fn json_and_text_round_trip_losslessly() {
    let r = request();
    let json = r.to_json();
    assert!(json.starts_with(r#"{"version":2,"verifier_id":"sh-pudong-counter-12""#));
    assert_eq!(PresentationRequest::from_json(&json).unwrap(), r);
    let text = r.to_text();
    assert!(text.starts_with("CLR1."));
    assert_eq!(PresentationRequest::from_text(&text).unwrap(), r);
    assert_eq!(PresentationRequest::from_text(&format!("  {text}\n")).unwrap(), r);
    assert_eq!(PresentationRequest::from_canonical_bytes(&r.to_bytes()).unwrap(), r);
}

#[test]
fn json_is_strict() {
    let mut v: serde_json::Value = serde_json::from_str(&request().to_json()).unwrap();
    v["extra"] = 1.into();
    assert_eq!(PresentationRequest::from_json(&v.to_string()), Err(RequestError::MalformedJson));
    let dup = request().to_json().replacen("{", r#"{"audience":"x","#, 1);
    assert_eq!(PresentationRequest::from_json(&dup), Err(RequestError::MalformedJson));
    assert_eq!(
        PresentationRequest::from_json(&json_with("version", 3.into())),
        Err(RequestError::UnsupportedVersion(3))
    );
    assert_eq!(
        PresentationRequest::from_json(&json_with("claims", serde_json::json!(["b", "a"]))),
        Err(RequestError::NotSortedUnique("claims"))
    );
    assert_eq!(
        PresentationRequest::from_json(&json_with("claims", serde_json::json!(["a", "a"]))),
        Err(RequestError::NotSortedUnique("claims"))
    );
    assert_eq!(
        PresentationRequest::from_json(&json_with("claims", serde_json::json!(["Name"]))),
        Err(RequestError::BadCharacter("claim name"))
    );
    assert_eq!(
        PresentationRequest::from_json(&json_with("credential_types", serde_json::json!([]))),
        Err(RequestError::Empty("credential_types"))
    );
    assert_eq!(
        PresentationRequest::from_json(&json_with("purpose", "a\u{202E}b".into())),
        Err(RequestError::BadCharacter("purpose"))
    );
    assert_eq!(
        PresentationRequest::from_json(&json_with("audience", "".into())),
        Err(RequestError::Empty("audience"))
    );
    let big = "x".repeat(MAX_JSON_BYTES + 1);
    assert!(matches!(
        PresentationRequest::from_json(&big),
        Err(RequestError::TooLarge { what: "request JSON", .. })
    ));
}

#[test]
fn nonce_must_be_canonical_base64url_of_at_least_128_bits() {
    let short = URL_SAFE_NO_PAD.encode([1u8; 15]);
    assert_eq!(
        PresentationRequest::from_json(&json_with("nonce", short.into())),
        Err(RequestError::BadNonce)
    );
    let ok = URL_SAFE_NO_PAD.encode([1u8; 16]);
    assert!(PresentationRequest::from_json(&json_with("nonce", ok.clone().into())).is_ok());
    let padded = format!("{ok}==");
    assert_eq!(
        PresentationRequest::from_json(&json_with("nonce", padded.into())),
        Err(RequestError::BadNonce)
    );
    // Non-zero trailing bits would give a second spelling of the same bytes.
    let mut non_canonical = ok.clone();
    non_canonical.pop();
    non_canonical.push('R');
    assert_eq!(
        PresentationRequest::from_json(&json_with("nonce", non_canonical.into())),
        Err(RequestError::BadNonce)
    );
    let long = URL_SAFE_NO_PAD.encode([1u8; 65]);
    assert_eq!(
        PresentationRequest::from_json(&json_with("nonce", long.into())),
        Err(RequestError::BadNonce)
    );
}

#[test]
fn lifetime_and_clock() {
    let r = request();
    assert_eq!(r.check_time(1_800_000_000, 0), Ok(()));
    assert_eq!(r.check_time(1_800_000_599, 0), Ok(()));
    assert_eq!(r.check_time(1_800_000_600, 0), Err(RequestError::Expired));
    assert_eq!(r.check_time(1_799_999_990, 0), Err(RequestError::NotYetValid));
    assert_eq!(r.check_time(1_799_999_990, 60), Ok(()));
    for bad in [0, MAX_LIFETIME_S + 1] {
        let o = RequestOptions { lifetime_s: bad, ..options() };
        assert_eq!(
            PresentationRequest::new(o, &key(), &mut StdRng::seed_from_u64(1), 5),
            Err(RequestError::BadLifetime)
        );
    }
    let o = RequestOptions { lifetime_s: 10, ..options() };
    assert_eq!(
        PresentationRequest::new(o, &key(), &mut StdRng::seed_from_u64(1), u64::MAX),
        Err(RequestError::BadLifetime)
    );
    assert_eq!(
        PresentationRequest::from_json(&json_with("expires_at", 1_800_000_000u64.into())),
        Err(RequestError::BadLifetime)
    );
}

#[test]
fn profiles_check_refuses_unknown_types_and_claims() {
    let o = RequestOptions { claims: vec!["vehicle_classes".into()], ..options() };
    let r = PresentationRequest::new(o, &key(), &mut StdRng::seed_from_u64(1), 5).unwrap();
    assert_eq!(r.check_against_profiles(), Err(RequestError::UnknownClaim));
    let o = RequestOptions { credential_types: vec!["urn:x".into()], ..options() };
    let r = PresentationRequest::new(o, &key(), &mut StdRng::seed_from_u64(1), 5).unwrap();
    assert_eq!(r.check_against_profiles(), Err(RequestError::UnknownCredentialType));
}

#[test]
fn the_signature_covers_every_field_under_its_own_namespace() {
    let r = request();
    r.verify_signature(&key().public_key()).unwrap();
    let other = SecretKey::from_seed(&[10; 32]).public_key();
    assert_eq!(r.verify_signature(&other), Err(SignatureError::Invalid));
    // Each field changed in the JSON form: the form still parses, the signature fails.
    for (field, value) in [
        ("verifier_id", serde_json::json!("another-counter")),
        ("purpose", serde_json::json!("something else")),
        ("claims", serde_json::json!(["credit_code", "entity_name", "legal_rep"])),
        ("audience", serde_json::json!("https://evil.example")),
        ("nonce", serde_json::json!(URL_SAFE_NO_PAD.encode([3u8; 32]))),
        ("created_at", serde_json::json!(1_800_000_001u64)),
        ("expires_at", serde_json::json!(1_800_000_601u64)),
    ] {
        let changed = PresentationRequest::from_json(&json_with(field, value)).unwrap();
        assert_eq!(
            changed.verify_signature(&key().public_key()),
            Err(SignatureError::Invalid),
            "{field}"
        );
    }
    // The same bytes signed under another namespace do not verify as a request.
    let mut wrong_ns = r.clone();
    wrong_ns.signature = key().sign(ns::PSEUDONYM, &r.signed_bytes());
    assert_eq!(wrong_ns.verify_signature(&key().public_key()), Err(SignatureError::Invalid));
    // The signature is the last 64 bytes of the binary form; the rest is what is signed.
    let bytes = r.to_bytes();
    assert_eq!(bytes[..bytes.len() - 64], r.signed_bytes()[..]);
    assert_eq!(bytes[bytes.len() - 64..], r.signature().0[..]);
}

#[test]
fn an_unsigned_version_1_request_is_refused_by_version() {
    let mut v: serde_json::Value = serde_json::from_str(&request().to_json()).unwrap();
    v["version"] = 1.into();
    v.as_object_mut().unwrap().remove("signature");
    assert_eq!(
        PresentationRequest::from_json(&v.to_string()),
        Err(RequestError::UnsupportedVersion(1))
    );
    for bad in ["", "AAAA", &URL_SAFE_NO_PAD.encode([0u8; 65])] {
        assert_eq!(
            PresentationRequest::from_json(&json_with("signature", bad.into())),
            Err(RequestError::BadSignature)
        );
    }
}

#[test]
fn text_form_is_strict() {
    let text = request().to_text();
    for bad in [
        text.replacen("CLR1.", "CLB1.", 1),
        format!("{text}="),
        format!("{text}*"),
        "CLR1.".to_string(),
    ] {
        assert!(PresentationRequest::from_text(&bad).is_err(), "{bad}");
    }
    let mut bytes = request().to_bytes();
    bytes[3] = 1;
    assert_eq!(
        PresentationRequest::from_canonical_bytes(&bytes),
        Err(RequestError::UnsupportedVersion(1))
    );
    let mut bytes = request().to_bytes();
    bytes.push(0);
    assert_eq!(
        PresentationRequest::from_canonical_bytes(&bytes),
        Err(RequestError::Decode(DecodeError::TrailingBytes(1)))
    );
}

proptest! {
    #[test]
    fn arbitrary_input_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = PresentationRequest::from_canonical_bytes(&bytes);
        let text = format!("CLR1.{}", URL_SAFE_NO_PAD.encode(&bytes));
        let _ = PresentationRequest::from_text(&text);
        let _ = PresentationRequest::from_json(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn every_truncation_of_a_valid_request_is_refused(cut in 0usize..200) {
        let bytes = request().to_bytes();
        let cut = cut.min(bytes.len() - 1);
        prop_assert!(PresentationRequest::from_canonical_bytes(&bytes[..cut]).is_err());
    }
}
