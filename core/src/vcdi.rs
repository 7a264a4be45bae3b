//! W3C VC 2.0 Data Integrity proofs with the `eddsa-jcs-2022` cryptosuite.
//!
//! Creating a proof (VC DI EdDSA, section 3.3):
//! 1. The proof configuration is the proof options (`type: DataIntegrityProof`,
//!    `cryptosuite: eddsa-jcs-2022`, `created`, `verificationMethod`, `proofPurpose`) plus the
//!    document's `@context` when it has one.
//! 2. `proofHash = SHA-256(JCS(proof configuration))`.
//! 3. `docHash = SHA-256(JCS(document without proof))`.
//! 4. The Ed25519 signature covers `proofHash || docHash` (64 bytes) and is stored as
//!    `proofValue` = `z` + base58btc(signature).
//!
//! Verifying reverses this (VC DI EdDSA section 3.3.2): the `proof` member is taken out, its
//! `proofValue` removed; the proof's `@context` (if any) must be a prefix of the document's, and
//! then replaces the document's `@context` before hashing (so a document whose context was
//! legitimately extended after signing still verifies, and what verified is the document as
//! signed); `created` and `expires`, when present, must be XML Schema dateTimes
//! ([`crate::datetime::parse_datetime`]); the same hashes are rebuilt, the signature must pass the
//! strict rule of [`crate::sig`], and a proof is refused at or after its `expires` (the time is
//! the caller's parameter). JSON-LD contexts are never fetched or
//! processed: with JCS the signed bytes are the JSON itself. A document carrying a proof set (an
//! array) or a proof chain is refused: certledger issues exactly one proof.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::didkey::{self, multibase};
use crate::jcs;
use crate::sig::{PublicKey, SecretKey, Signature, SIGNATURE_LEN};

/// The proof type this module makes and accepts.
pub const PROOF_TYPE: &str = "DataIntegrityProof";
/// The cryptosuite this module makes and accepts.
pub const CRYPTOSUITE: &str = "eddsa-jcs-2022";

/// Why a Data Integrity proof could not be made or was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VcdiError {
    /// The proof's `@context` is not a prefix of the document's.
    #[error("proof @context does not match the document")]
    ContextMismatch,
    /// The JSON text was refused by the strict parser.
    #[error("JSON refused: {0}")]
    Json(#[from] jcs::JsonError),
    /// The document or proof does not have the required shape.
    #[error("malformed: {0}")]
    Malformed(&'static str),
    /// The document has no `proof`.
    #[error("no proof")]
    MissingProof,
    /// The signature does not verify under the key.
    #[error("proof signature does not verify")]
    BadSignature,
    /// The verification method is not a usable `did:key`.
    #[error("verification method: {0}")]
    BadVerificationMethod(#[from] didkey::DidKeyError),
    /// The proof type or cryptosuite is not `DataIntegrityProof` / `eddsa-jcs-2022`.
    #[error("unsupported proof type or cryptosuite")]
    UnsupportedSuite,
    /// The proof's `expires` time has come.
    #[error("proof expired")]
    Expired,
}

/// The caller-chosen proof options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofOptions {
    /// `created` (an XML Schema dateTime, e.g. `2023-02-24T23:36:38Z`), or none.
    pub created: Option<String>,
    /// `verificationMethod`, e.g. `did:key:z6Mk...#z6Mk...`.
    pub verification_method: String,
    /// `proofPurpose`, e.g. `assertionMethod`.
    pub proof_purpose: String,
    /// `challenge` (a verifier's nonce, for `authentication` proofs on presentations), or none.
    pub challenge: Option<String>,
    /// `domain` (the verifier's audience, for `authentication` proofs), or none.
    pub domain: Option<String>,
    /// `expires` (an XML Schema dateTime after which the proof is refused), or none.
    pub expires: Option<String>,
}

/// The intermediate values of the hashing step (for tests and debugging).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashData {
    /// JCS of the proof configuration.
    pub proof_canon: String,
    /// SHA-256 of `proof_canon`.
    pub proof_hash: [u8; 32],
    /// JCS of the unsecured document.
    pub doc_canon: String,
    /// SHA-256 of `doc_canon`.
    pub doc_hash: [u8; 32],
}

impl HashData {
    /// `proof_hash || doc_hash`: the 64 bytes the Ed25519 signature covers.
    pub fn combined(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        let (a, b) = out.split_at_mut(32);
        a.copy_from_slice(&self.proof_hash);
        b.copy_from_slice(&self.doc_hash);
        out
    }
}

/// A document whose proof verified.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedVcdi {
    /// The document as signed: without its `proof`, and with the proof's `@context` when the
    /// proof has one.
    pub document: Map<String, Value>,
    /// The proof configuration (the proof without `proofValue`).
    pub proof_config: Map<String, Value>,
    /// The key the proof verified under.
    pub key: PublicKey,
}

/// The proof configuration for `document` and `options` (step 1 of the module docs).
pub fn proof_config(document: &Map<String, Value>, options: &ProofOptions) -> Map<String, Value> {
    let mut config = Map::new();
    config.insert("type".into(), PROOF_TYPE.into());
    config.insert("cryptosuite".into(), CRYPTOSUITE.into());
    if let Some(created) = &options.created {
        config.insert("created".into(), created.as_str().into());
    }
    if let Some(expires) = &options.expires {
        config.insert("expires".into(), expires.as_str().into());
    }
    config.insert("verificationMethod".into(), options.verification_method.as_str().into());
    config.insert("proofPurpose".into(), options.proof_purpose.as_str().into());
    if let Some(challenge) = &options.challenge {
        config.insert("challenge".into(), challenge.as_str().into());
    }
    if let Some(domain) = &options.domain {
        config.insert("domain".into(), domain.as_str().into());
    }
    if let Some(ctx) = document.get("@context") {
        config.insert("@context".into(), ctx.clone());
    }
    config
}

/// Canonicalises and hashes a proof configuration and an unsecured document (steps 2 and 3).
pub fn hash_data(
    document: &Map<String, Value>,
    proof_config: &Map<String, Value>,
) -> Result<HashData, VcdiError> {
    let proof_canon = jcs::canonicalize(&Value::Object(proof_config.clone()))?;
    let doc_canon = jcs::canonicalize(&Value::Object(document.clone()))?;
    Ok(HashData {
        proof_hash: Sha256::digest(proof_canon.as_bytes()).into(),
        doc_hash: Sha256::digest(doc_canon.as_bytes()).into(),
        proof_canon,
        doc_canon,
    })
}

/// Adds an `eddsa-jcs-2022` proof to `document` (which must be an object without `proof`).
pub fn create(
    document: &Value,
    key: &SecretKey,
    options: &ProofOptions,
) -> Result<Value, VcdiError> {
    let doc = document.as_object().ok_or(VcdiError::Malformed("document is not an object"))?;
    if doc.contains_key("proof") {
        return Err(VcdiError::Malformed("document already has a proof"));
    }
    let mut config = proof_config(doc, options);
    proof_times(&config)?;
    let hashes = hash_data(doc, &config)?;
    let sig = key.sign_raw(&hashes.combined());
    config.insert("proofValue".into(), multibase::encode_base58btc(&sig.0).into());
    let mut signed = doc.clone();
    signed.insert("proof".into(), Value::Object(config));
    Ok(Value::Object(signed))
}

/// Verifies the `eddsa-jcs-2022` proof of `secured` under `key` at `now` (Unix seconds).
pub fn verify(secured: &Value, key: &PublicKey, now: u64) -> Result<VerifiedVcdi, VcdiError> {
    let (document, proof_config, sig) = split_proof(secured)?;
    let expires = proof_times(&proof_config)?;
    let hashes = hash_data(&document, &proof_config)?;
    key.verify_raw(&hashes.combined(), &sig).map_err(|_| VcdiError::BadSignature)?;
    if expires.is_some_and(|e| now >= e) {
        return Err(VcdiError::Expired);
    }
    Ok(VerifiedVcdi { document, proof_config, key: *key })
}

/// Checks that the proof's `created` and `expires`, when present, are XML Schema dateTimes, and
/// returns `expires` in Unix seconds.
fn proof_times(config: &Map<String, Value>) -> Result<Option<u64>, VcdiError> {
    let time = |member: &str, bad: &'static str| match config.get(member) {
        None => Ok(None),
        Some(v) => v
            .as_str()
            .and_then(crate::datetime::parse_datetime)
            .map(Some)
            .ok_or(VcdiError::Malformed(bad)),
    };
    time("created", "proof created is not an XML Schema dateTime")?;
    time("expires", "proof expires is not an XML Schema dateTime")
}

/// Verifies a proof whose `verificationMethod` is a `did:key` (`did:key:X#X`), taking the key
/// from it, at `now`. The caller must still decide whether that key is an issuer it trusts.
pub fn verify_did_key(secured: &Value, now: u64) -> Result<VerifiedVcdi, VcdiError> {
    let vm = secured
        .get("proof")
        .and_then(|p| p.get("verificationMethod"))
        .and_then(Value::as_str)
        .ok_or(VcdiError::Malformed("verificationMethod missing"))?;
    let key = didkey::public_key_from_verification_method(vm)?;
    verify(secured, &key, now)
}

/// [`verify`] over JSON text, parsed with [`jcs::parse_strict`].
pub fn verify_str(secured: &str, key: &PublicKey, now: u64) -> Result<VerifiedVcdi, VcdiError> {
    verify(&jcs::parse_strict(secured)?, key, now)
}

/// (unsecured document, proof configuration, signature).
type SplitProof = (Map<String, Value>, Map<String, Value>, Signature);

/// Splits a secured document into (unsecured document, proof configuration, signature) and
/// checks the proof's shape and context.
fn split_proof(secured: &Value) -> Result<SplitProof, VcdiError> {
    let mut document =
        secured.as_object().ok_or(VcdiError::Malformed("document is not an object"))?.clone();
    let proof = document.remove("proof").ok_or(VcdiError::MissingProof)?;
    let Value::Object(mut config) = proof else {
        return Err(VcdiError::Malformed("proof is not a single object"));
    };
    if config.get("type").and_then(Value::as_str) != Some(PROOF_TYPE)
        || config.get("cryptosuite").and_then(Value::as_str) != Some(CRYPTOSUITE)
    {
        return Err(VcdiError::UnsupportedSuite);
    }
    for member in ["verificationMethod", "proofPurpose"] {
        if !config.get(member).is_some_and(Value::is_string) {
            return Err(VcdiError::Malformed("proof lacks verificationMethod or proofPurpose"));
        }
    }
    if config.contains_key("previousProof") {
        return Err(VcdiError::Malformed("proof chains are not accepted"));
    }
    let value = config.remove("proofValue").ok_or(VcdiError::Malformed("proofValue missing"))?;
    let value = value.as_str().ok_or(VcdiError::Malformed("proofValue is not a string"))?;
    let bytes = multibase::decode_base58btc(value)
        .map_err(|_| VcdiError::Malformed("proofValue is not base58btc multibase"))?;
    let sig: [u8; SIGNATURE_LEN] =
        bytes.try_into().map_err(|_| VcdiError::Malformed("proofValue is not 64 bytes"))?;
    if let Some(proof_ctx) = config.get("@context") {
        let doc_ctx = document.get("@context").ok_or(VcdiError::ContextMismatch)?;
        let as_list = |v: &Value| match v {
            Value::Array(items) => items.clone(),
            other => vec![other.clone()],
        };
        let (p, d) = (as_list(proof_ctx), as_list(doc_ctx));
        if p.len() > d.len() || p.iter().zip(d.iter()).any(|(a, b)| a != b) {
            return Err(VcdiError::ContextMismatch);
        }
        // The verify algorithm then hashes the document under the proof's context.
        document.insert("@context".into(), proof_ctx.clone());
    }
    Ok((document, config, Signature(sig)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_767_225_600;

    fn doc() -> Value {
        jcs::parse_strict(r#"{"@context":["https://www.w3.org/ns/credentials/v2"],"type":["VerifiableCredential"],"issuer":"did:example:1","credentialSubject":{"id":"did:example:2","n":1}}"#).expect("valid")
    }

    #[test]
    fn create_verify_and_tamper() {
        let sk = SecretKey::from_seed(&[3u8; 32]);
        let pk = sk.public_key();
        let options = ProofOptions {
            created: Some("2026-01-01T00:00:00Z".into()),
            verification_method: didkey::did_key_verification_method(&pk),
            proof_purpose: "assertionMethod".into(),
            challenge: None,
            domain: None,
            expires: None,
        };
        let signed = create(&doc(), &sk, &options).expect("signs");
        let ok = verify(&signed, &pk, NOW).expect("verifies");
        assert_eq!(Value::Object(ok.document), doc());
        assert_eq!(verify_did_key(&signed, NOW).expect("did:key").key, pk);

        let other = SecretKey::from_seed(&[4u8; 32]).public_key();
        assert_eq!(verify(&signed, &other, NOW), Err(VcdiError::BadSignature));

        let mut t = signed.clone();
        t["credentialSubject"]["n"] = 2.into();
        assert_eq!(verify(&t, &pk, NOW), Err(VcdiError::BadSignature));
        let mut t = signed.clone();
        t["proof"]["created"] = "2026-01-02T00:00:00Z".into();
        assert_eq!(verify(&t, &pk, NOW), Err(VcdiError::BadSignature));
        let mut t = signed.clone();
        t["proof"]["cryptosuite"] = "eddsa-rdfc-2022".into();
        assert_eq!(verify(&t, &pk, NOW), Err(VcdiError::UnsupportedSuite));
        let mut t = signed.clone();
        t["proof"]["@context"] = serde_json::json!(["https://example.invalid"]);
        assert_eq!(verify(&t, &pk, NOW), Err(VcdiError::ContextMismatch));
        let mut t = signed.clone();
        t["proof"] = serde_json::json!([signed["proof"].clone()]);
        assert!(matches!(verify(&t, &pk, NOW), Err(VcdiError::Malformed(_))));
        assert_eq!(verify(&doc(), &pk, NOW), Err(VcdiError::MissingProof));
        assert!(matches!(create(&signed, &sk, &options), Err(VcdiError::Malformed(_))));
    }
}
