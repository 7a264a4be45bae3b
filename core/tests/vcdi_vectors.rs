//! `eddsa-jcs-2022` against the w3c/vc-di-eddsa test vectors, reproduced byte for byte.

mod common;

use certledger_core::didkey;
use certledger_core::jcs;
use certledger_core::vcdi::{self, ProofOptions, VcdiError};

const SUITE: &str = "vc-di-eddsa/TestVectors/eddsa-jcs-2022";

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
    let ok = vcdi::verify_did_key(&published).expect("published document verifies");
    assert_eq!(ok.key, sk.public_key());
    assert_eq!(serde_json::Value::Object(ok.document), unsigned);
    vcdi::verify_str(&read("signedJCS.json"), &sk.public_key()).expect("verify_str");
    let mut tampered = published.clone();
    tampered["name"] = "Forged Credential".into();
    assert_eq!(vcdi::verify_did_key(&tampered), Err(VcdiError::BadSignature));

    eprintln!(
        "vc-di-eddsa eddsa-jcs-2022: {files} of 9 files reproduced, signed document verified"
    );
    assert_eq!(files, 9);
}
