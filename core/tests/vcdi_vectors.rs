//! `eddsa-jcs-2022` against the w3c/vc-di-eddsa test vectors, reproduced byte for byte.

mod common;

use certledger_core::didkey;
use certledger_core::jcs;
use certledger_core::vcdi::{self, ProofOptions, VcdiError};
use serde_json::{json, Map, Value};

const SUITE: &str = "vc-di-eddsa/TestVectors/eddsa-jcs-2022";
/// Verification time of these tests: 2026-01-01T00:00:00Z.
const NOW: u64 = 1_767_225_600;

#[test]
fn eddsa_jcs_2022_vectors_reproduce() {
    let Some(dir) = common::vectors_dir() else { return };
    let read = |name: &str| common::read(&dir, &format!("{SUITE}/{name}"));
    let key_pair = jcs::parse_strict(&common::read(&dir, "vc-di-eddsa/TestVectors/keyPair.json"))
        .expect("keyPair");
    let sk =
        didkey::secret_key_from_multikey(key_pair["privateKeyMultibase"].as_str().expect("sk"))
            .expect("secret multikey");
    let unsigned = jcs::parse_strict(&common::read(&dir, "vc-di-eddsa/TestVectors/unsigned.json"))
        .expect("doc");
    let config = jcs::parse_strict(&read("proofConfigJCS.json")).expect("proof config");
    let doc = unsigned.as_object().expect("object");

    let options = ProofOptions {
        created: config["created"].as_str().map(str::to_owned),
        verification_method: config["verificationMethod"].as_str().expect("vm").to_owned(),
        proof_purpose: config["proofPurpose"].as_str().expect("purpose").to_owned(),
        challenge: None,
        domain: None,
        expires: None,
    };
    let mut files = 0;
    // proofConfigJCS.json: the configuration we build equals the published one.
    let built = vcdi::proof_config(doc, &options);
    assert_eq!(serde_json::Value::Object(built.clone()), config);
    files += 1;
    let h = vcdi::hash_data(doc, &built).expect("hash");
    assert_eq!(h.proof_canon, read("proofCanonJCS.txt").trim_end_matches('\n'));
    files += 1;
    assert_eq!(hex::encode(h.proof_hash), read("proofHashJCS.txt").trim());
    files += 1;
    assert_eq!(h.doc_canon, read("canonDocJCS.txt").trim_end_matches('\n'));
    files += 1;
    assert_eq!(hex::encode(h.doc_hash), read("docHashJCS.txt").trim());
    files += 1;
    assert_eq!(hex::encode(h.combined()), read("combinedHashJCS.txt").trim());
    files += 1;

    let signed = vcdi::create(&unsigned, &sk, &options).expect("create");
    let proof_value = signed["proof"]["proofValue"].as_str().expect("proofValue");
    assert_eq!(proof_value, read("sigBTC58JCS.txt").trim());
    files += 1;
    let sig = didkey::multibase::decode_base58btc(proof_value).expect("b58");
    assert_eq!(hex::encode(sig), read("sigHexJCS.txt").trim());
    files += 1;
    let published = jcs::parse_strict(&read("signedJCS.json")).expect("signed");
    assert_eq!(signed, published);
    files += 1;

    // The published signed document verifies (key taken from its did:key), and tampering fails.
    let ok = vcdi::verify_did_key(&published, NOW).expect("published document verifies");
    assert_eq!(ok.key, sk.public_key());
    assert_eq!(serde_json::Value::Object(ok.document), unsigned);
    vcdi::verify_str(&read("signedJCS.json"), &sk.public_key(), NOW).expect("verify_str");
    let mut tampered = published.clone();
    tampered["name"] = "Forged Credential".into();
    assert_eq!(vcdi::verify_did_key(&tampered, NOW), Err(VcdiError::BadSignature));

    eprintln!(
        "vc-di-eddsa eddsa-jcs-2022: {files} of 9 files reproduced, signed document verified"
    );
    assert_eq!(files, 9);
}

/// The published key and signed document, and the unsigned document.
fn published() -> Option<(certledger_core::sig::SecretKey, Value, Value)> {
    let dir = common::vectors_dir()?;
    let key_pair = jcs::parse_strict(&common::read(&dir, "vc-di-eddsa/TestVectors/keyPair.json"))
        .expect("keyPair");
    let sk =
        didkey::secret_key_from_multikey(key_pair["privateKeyMultibase"].as_str().expect("sk"))
            .expect("secret multikey");
    let signed =
        jcs::parse_strict(&common::read(&dir, &format!("{SUITE}/signedJCS.json"))).expect("signed");
    let unsigned = jcs::parse_strict(&common::read(&dir, "vc-di-eddsa/TestVectors/unsigned.json"))
        .expect("doc");
    Some((sk, signed, unsigned))
}

/// Signs `unsigned` with a proof configuration edited by `edit`, without the checks of
/// `vcdi::create` (what another implementation might send).
fn sign_raw(
    sk: &certledger_core::sig::SecretKey,
    unsigned: &Value,
    edit: impl FnOnce(&mut Map<String, Value>),
) -> Value {
    let doc = unsigned.as_object().expect("object");
    let options = ProofOptions {
        created: Some("2023-02-24T23:36:38Z".into()),
        verification_method: didkey::did_key_verification_method(&sk.public_key()),
        proof_purpose: "assertionMethod".into(),
        challenge: None,
        domain: None,
        expires: None,
    };
    let mut config = vcdi::proof_config(doc, &options);
    edit(&mut config);
    let sig = sk.sign_raw(&vcdi::hash_data(doc, &config).expect("hash").combined());
    config.insert("proofValue".into(), didkey::multibase::encode_base58btc(&sig.0).into());
    let mut signed = doc.clone();
    signed.insert("proof".into(), Value::Object(config));
    Value::Object(signed)
}

/// Issue #11 item 12: after the proof-context prefix check, the document's `@context` is
/// replaced by the proof's before hashing (VC DI EdDSA 3.3.2), so a credential whose context
/// was legitimately extended after signing verifies, as the document that was signed.
#[test]
fn an_extended_document_context_verifies_under_the_proofs_context() {
    let Some((sk, signed, unsigned)) = published() else { return };
    let mut extended = signed.clone();
    extended["@context"]
        .as_array_mut()
        .expect("context")
        .push("https://example.org/extra/v1".into());
    let ok = vcdi::verify(&extended, &sk.public_key(), NOW).expect("extended context verifies");
    assert_eq!(Value::Object(ok.document), unsigned);
    // The prefix rule still holds: a document context that does not start with the proof's.
    let mut other = signed.clone();
    other["@context"] = json!(["https://www.w3.org/ns/credentials/v2"]);
    assert_eq!(vcdi::verify(&other, &sk.public_key(), NOW), Err(VcdiError::ContextMismatch));
}

/// Issue #11 item 12: `created` and `expires` must be XML Schema dateTimes, and `expires` is
/// enforced at the caller's time.
#[test]
fn proof_times_are_datetimes_and_expires_is_enforced() {
    let Some((sk, _, unsigned)) = published() else { return };
    let pk = sk.public_key();
    for bad in ["2023-02-30T23:36:38Z", "yesterday", "2023-02-24 23:36:38Z", "2023-02-24T25:00:00Z"]
    {
        let doc = sign_raw(&sk, &unsigned, |c| {
            c.insert("created".into(), bad.into());
        });
        assert!(matches!(vcdi::verify(&doc, &pk, NOW), Err(VcdiError::Malformed(_))), "{bad}");
        let doc = sign_raw(&sk, &unsigned, |c| {
            c.insert("expires".into(), bad.into());
        });
        assert!(matches!(vcdi::verify(&doc, &pk, NOW), Err(VcdiError::Malformed(_))), "{bad}");
    }
    let doc = sign_raw(&sk, &unsigned, |c| {
        c.insert("created".into(), 1_677_281_798.into());
    });
    assert!(matches!(vcdi::verify(&doc, &pk, NOW), Err(VcdiError::Malformed(_))));
    // Other valid dateTime forms are accepted.
    let doc = sign_raw(&sk, &unsigned, |c| {
        c.insert("created".into(), "2023-02-25T07:36:38.5+08:00".into());
    });
    vcdi::verify(&doc, &pk, NOW).expect("a zoned, fractional created");
    // expires = NOW + 60 s, written with an offset.
    let doc = sign_raw(&sk, &unsigned, |c| {
        c.insert("expires".into(), "2026-01-01T08:01:00+08:00".into());
    });
    vcdi::verify(&doc, &pk, NOW).expect("before expires");
    vcdi::verify(&doc, &pk, NOW + 59).expect("one second before expires");
    assert_eq!(vcdi::verify(&doc, &pk, NOW + 60), Err(VcdiError::Expired));
    assert_eq!(vcdi::verify(&doc, &pk, NOW + 86_400), Err(VcdiError::Expired));
    // create refuses what verify would refuse.
    let options = ProofOptions {
        created: Some("2023-02-30T00:00:00Z".into()),
        verification_method: didkey::did_key_verification_method(&pk),
        proof_purpose: "assertionMethod".into(),
        challenge: None,
        domain: None,
        expires: None,
    };
    assert!(matches!(vcdi::create(&unsigned, &sk, &options), Err(VcdiError::Malformed(_))));
}
