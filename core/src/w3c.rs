//! Full-disclosure W3C VC 2.0 credentials and presentations secured with `eddsa-jcs-2022`, for
//! interoperability with verifiers that do not speak SD-JWT.
//!
//! A certledger W3C credential is a VC 2.0 document whose `credentialSubject` carries every claim
//! of its type plus `id` = the holder's `did:key`; its type id is in `credentialSchema.id`; its
//! `id` is `urn:certledger:credential:<base64url credential id>` (256 random bits, which salts the
//! anchored commitment); the issuer's `did:key` signs it with a Data Integrity proof
//! (`assertionMethod`). A presentation is a VC 2.0 `VerifiablePresentation` holding exactly that
//! one credential, with an `authentication` proof by the holder's `did:key` whose `challenge` is
//! the verifier's nonce and whose `domain` is its audience. No JSON-LD context is ever fetched or
//! processed: JCS makes the signed bytes the JSON itself. Normative text: `specs/credentials.md`.

use serde_json::{json, Map, Value};

use crate::didkey;
use crate::jcs;
use crate::sig::{PublicKey, SecretKey};
use crate::vcdi::{self, ProofOptions};

pub use crate::datetime::{parse_datetime, parse_xsd_datetime, xsd_datetime};

/// The VC 2.0 base context (a name only: never fetched).
pub const VC_CONTEXT_V2: &str = "https://www.w3.org/ns/credentials/v2";
/// The `credentialSchema.type` naming a certledger credential type.
pub const SCHEMA_TYPE: &str = "CertledgerCredentialType";
/// The `credentialStatus.type` pointing at certledger's ledger status.
pub const STATUS_TYPE: &str = "CertledgerLedgerStatus";
/// Prefix of a credential's `id`.
pub const ID_PREFIX: &str = "urn:certledger:credential:";
/// Longest credential or presentation JSON accepted, in bytes.
pub const MAX_W3C_BYTES: usize = 16 * 1024;

/// Why a W3C credential or presentation was refused or could not be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum W3cError {
    /// The JSON is malformed or has the wrong shape.
    #[error("W3C credential malformed: {0}")]
    Malformed(&'static str),
    /// The issuer's proof does not verify under the expected key.
    #[error("the issuer's proof is invalid")]
    BadIssuerProof,
    /// The presentation has no holder proof.
    #[error("the presentation has no holder proof")]
    MissingHolderProof,
    /// The holder proof does not verify, or is by another key than the credential subject.
    #[error("the holder proof is invalid")]
    BadHolderProof,
    /// The holder proof's `challenge` is not the verifier's nonce.
    #[error("challenge does not match the nonce")]
    ChallengeMismatch,
    /// The holder proof's `domain` is not the verifier's audience.
    #[error("domain does not match the audience")]
    DomainMismatch,
    /// The holder proof's `created` is too old.
    #[error("the presentation is too old")]
    Stale,
    /// The holder proof's `created` is in the future beyond the skew.
    #[error("the presentation is dated in the future")]
    InFuture,
}

/// What a verified W3C credential gives the pipeline.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedW3c {
    /// The subject's claims (without `id`) plus `vct` (the type id).
    pub claims: Value,
    /// The JCS text of the issuer-signed credential (what the anchor commits to).
    pub committed: String,
    /// The holder key (`credentialSubject.id`).
    pub holder_key: Option<PublicKey>,
    /// `validUntil` in Unix seconds.
    pub exp: Option<u64>,
    /// `validFrom` in Unix seconds.
    pub nbf: Option<u64>,
}

/// Issues a full-disclosure VC. `claims` must already fit the type (see
/// `profiles::CredentialType::check_claims`).
#[allow(clippy::too_many_arguments)]
pub fn issue(
    issuer: &SecretKey,
    type_id: &str,
    claims: &Map<String, Value>,
    holder: &PublicKey,
    chain_id: &str,
    credential_id: &[u8; 32],
    valid_from: u64,
    valid_until: u64,
) -> Result<String, W3cError> {
    use base64::Engine as _;
    let id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(credential_id);
    let mut subject = claims.clone();
    subject.insert("id".into(), Value::String(didkey::did_key(holder)));
    let doc = json!({
        "@context": [VC_CONTEXT_V2],
        "id": format!("{ID_PREFIX}{id}"),
        "type": ["VerifiableCredential"],
        "issuer": didkey::did_key(&issuer.public_key()),
        "validFrom": xsd_datetime(valid_from),
        "validUntil": xsd_datetime(valid_until),
        "credentialSchema": {"id": type_id, "type": SCHEMA_TYPE},
        "credentialStatus": {"id": format!("{ID_PREFIX}{id}#status"), "type": STATUS_TYPE,
            "chainId": chain_id},
        "credentialSubject": Value::Object(subject),
    });
    let options = ProofOptions {
        created: Some(xsd_datetime(valid_from)),
        verification_method: didkey::did_key_verification_method(&issuer.public_key()),
        proof_purpose: "assertionMethod".into(),
        challenge: None,
        domain: None,
        expires: None,
    };
    let signed = vcdi::create(&doc, issuer, &options).map_err(|_| W3cError::Malformed("sign"))?;
    jcs::canonicalize(&signed).map_err(|_| W3cError::Malformed("canonicalize"))
}

/// Wraps an issued VC in a presentation with the holder's `authentication` proof for `nonce`
/// and `audience` at `now`.
pub fn present(
    vc_json: &str,
    holder: &SecretKey,
    nonce: &str,
    audience: &str,
    now: u64,
) -> Result<String, W3cError> {
    let vc = parse(vc_json)?;
    let vp = json!({
        "@context": [VC_CONTEXT_V2],
        "type": ["VerifiablePresentation"],
        "holder": didkey::did_key(&holder.public_key()),
        "verifiableCredential": [vc],
    });
    let options = ProofOptions {
        created: Some(xsd_datetime(now)),
        verification_method: didkey::did_key_verification_method(&holder.public_key()),
        proof_purpose: "authentication".into(),
        challenge: Some(nonce.to_owned()),
        domain: Some(audience.to_owned()),
        expires: None,
    };
    let signed = vcdi::create(&vp, holder, &options).map_err(|_| W3cError::Malformed("sign"))?;
    jcs::canonicalize(&signed).map_err(|_| W3cError::Malformed("canonicalize"))
}

/// The verifier's expectations of the holder proof: the same as for an SD-JWT key-binding JWT
/// (`challenge` is checked against `nonce`, `domain` against `aud`, `created` like `iat`).
pub type HolderCheck<'a> = crate::sdjwt::KeyBindingCheck<'a>;

/// Verifies a presentation: the holder proof (fail closed), then the one credential's issuer
/// proof under `issuer_key`.
pub fn verify_presentation(
    vp_json: &str,
    issuer_key: &PublicKey,
    check: HolderCheck<'_>,
) -> Result<VerifiedW3c, W3cError> {
    let vp = parse(vp_json)?;
    if vp.get("proof").is_none() {
        return Err(W3cError::MissingHolderProof);
    }
    let vc = match vp.get("verifiableCredential").and_then(Value::as_array).map(Vec::as_slice) {
        Some([vc]) => vc.clone(),
        _ => return Err(W3cError::Malformed("a presentation must hold exactly one credential")),
    };
    let verified = verify_credential_value(&vc, issuer_key, check.now)?;
    let holder = verified.holder_key.ok_or(W3cError::Malformed("credential has no subject id"))?;
    let proof = vcdi::verify(&vp, &holder, check.now).map_err(|_| W3cError::BadHolderProof)?;
    let config = &proof.proof_config;
    let vm = didkey::did_key_verification_method(&holder);
    if config.get("verificationMethod").and_then(Value::as_str) != Some(vm.as_str())
        || config.get("proofPurpose").and_then(Value::as_str) != Some("authentication")
        || vp.get("holder").and_then(Value::as_str) != Some(didkey::did_key(&holder).as_str())
    {
        return Err(W3cError::BadHolderProof);
    }
    if config.get("challenge").and_then(Value::as_str) != Some(check.nonce) {
        return Err(W3cError::ChallengeMismatch);
    }
    if config.get("domain").and_then(Value::as_str) != Some(check.aud) {
        return Err(W3cError::DomainMismatch);
    }
    let created = config
        .get("created")
        .and_then(Value::as_str)
        .and_then(parse_xsd_datetime)
        .ok_or(W3cError::Malformed("holder proof needs a created time"))?;
    if created > check.now.saturating_add(check.max_future_skew_s) {
        return Err(W3cError::InFuture);
    }
    if check.now > created.saturating_add(check.max_age_s) {
        return Err(W3cError::Stale);
    }
    Ok(verified)
}

/// Verifies an issued credential (no presentation) under `issuer_key` at `now` (a proof
/// `expires` time is enforced): the holder's check.
pub fn verify_credential(
    vc_json: &str,
    issuer_key: &PublicKey,
    now: u64,
) -> Result<VerifiedW3c, W3cError> {
    verify_credential_value(&parse(vc_json)?, issuer_key, now)
}

fn verify_credential_value(
    vc: &Value,
    issuer_key: &PublicKey,
    now: u64,
) -> Result<VerifiedW3c, W3cError> {
    let verified = vcdi::verify(vc, issuer_key, now).map_err(|_| W3cError::BadIssuerProof)?;
    let vm = didkey::did_key_verification_method(issuer_key);
    if verified.proof_config.get("verificationMethod").and_then(Value::as_str) != Some(vm.as_str())
        || verified.proof_config.get("proofPurpose").and_then(Value::as_str)
            != Some("assertionMethod")
        || vc.get("issuer").and_then(Value::as_str) != Some(didkey::did_key(issuer_key).as_str())
    {
        return Err(W3cError::BadIssuerProof);
    }
    let doc = &verified.document;
    let type_id = doc
        .get("credentialSchema")
        .and_then(|s| s.get("id"))
        .and_then(Value::as_str)
        .ok_or(W3cError::Malformed("credentialSchema.id missing"))?;
    let mut subject = doc
        .get("credentialSubject")
        .and_then(Value::as_object)
        .cloned()
        .ok_or(W3cError::Malformed("credentialSubject must be an object"))?;
    let holder_key = match subject.remove("id") {
        Some(Value::String(did)) => Some(
            didkey::public_key_from_did_key(&did)
                .map_err(|_| W3cError::Malformed("credentialSubject.id is not a did:key"))?,
        ),
        Some(_) => return Err(W3cError::Malformed("credentialSubject.id must be a string")),
        None => None,
    };
    subject.insert("vct".into(), Value::String(type_id.to_owned()));
    let time = |name: &'static str| -> Result<Option<u64>, W3cError> {
        match doc.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .and_then(parse_xsd_datetime)
                .map(Some)
                .ok_or(W3cError::Malformed("validFrom/validUntil must be a UTC dateTime")),
        }
    };
    Ok(VerifiedW3c {
        claims: Value::Object(subject),
        committed: jcs::canonicalize(vc).map_err(|_| W3cError::Malformed("canonicalize"))?,
        holder_key,
        exp: time("validUntil")?,
        nbf: time("validFrom")?,
    })
}

fn parse(text: &str) -> Result<Value, W3cError> {
    if text.len() > MAX_W3C_BYTES {
        return Err(W3cError::Malformed("larger than 16 KiB"));
    }
    jcs::parse_strict(text).map_err(|_| W3cError::Malformed("not strict JSON"))
}
