//! Issuing a credential: sign an SD-JWT VC for a shipped type and derive the salted commitment
//! that the issuer anchors on the ledger.
//!
//! The ledger never sees a claim value. The anchor carries `commitment = SHA-256(u8(len(tag)) ||
//! tag || issuer_jwt)` with `tag = "certledger/v1/anchor-commitment"`, where `issuer_jwt` is the
//! issuer-signed JWT of the SD-JWT. That JWT holds only salted disclosure digests (128-bit salts),
//! the holder key, times, the type and a random 256-bit credential id, so the commitment cannot be
//! matched against a dictionary of names or identity numbers.

use base64::Engine as _;
use rand_core::CryptoRngCore;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::ledger::AnchorIssuance;
use crate::profiles::{ClaimsError, CredentialType};
use crate::sdjwt;
use crate::sig::{PublicKey, SecretKey};

/// Namespace tag of the anchored commitment.
pub const COMMITMENT_TAG: &str = "certledger/v1/anchor-commitment";

/// A freshly issued credential and the anchor to submit for it.
#[derive(Clone, Debug)]
pub struct Issued {
    /// The SD-JWT VC (`<issuer-jwt>~<disclosure>~...~`) to deliver to the holder.
    pub sd_jwt: String,
    /// The random credential id.
    pub credential_id: [u8; 32],
    /// The anchor entry body to sign with the issuer key and submit.
    pub anchor: AnchorIssuance,
}

/// Why a credential could not be issued.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// The claims do not fit the type.
    #[error("claims do not fit the credential type: {0}")]
    Claims(#[from] ClaimsError),
    /// The SD-JWT could not be produced.
    #[error("could not sign the SD-JWT: {0}")]
    SdJwt(#[from] sdjwt::SdJwtError),
    /// The W3C VC could not be produced.
    #[error("could not sign the W3C credential: {0}")]
    W3c(#[from] crate::w3c::W3cError),
}

/// The commitment anchored for an issuer-signed JWT.
pub fn commitment(issuer_jwt: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([COMMITMENT_TAG.len() as u8]);
    h.update(COMMITMENT_TAG.as_bytes());
    h.update(issuer_jwt.as_bytes());
    h.finalize().into()
}

/// A random 256-bit credential id and a random 128-bit anchor nonce.
fn fresh_ids(rng: &mut impl CryptoRngCore) -> ([u8; 32], [u8; 16]) {
    let mut credential_id = [0u8; 32];
    rng.fill_bytes(&mut credential_id);
    let mut nonce = [0u8; 16];
    rng.fill_bytes(&mut nonce);
    (credential_id, nonce)
}

/// The `did:key` an issuer key is known by in credentials' `iss`.
pub fn issuer_id(key: &PublicKey) -> String {
    crate::didkey::did_key(key)
}

/// Issues an SD-JWT VC of type `ty` with `claims` to `holder`, at ledger chain `chain_id`, at time
/// `now`. Every selectively disclosable claim of the type becomes a disclosure; two decoy digests
/// hide how many claims there are.
pub fn issue(
    issuer: &SecretKey,
    ty: &CredentialType,
    claims: &Value,
    holder: &PublicKey,
    chain_id: &str,
    now: u64,
    rng: &mut impl CryptoRngCore,
) -> Result<Issued, IssueError> {
    ty.check_claims(claims)?;
    let (credential_id, nonce) = fresh_ids(rng);
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;

    let mut plain = Map::new();
    plain.insert("iss".into(), Value::String(issuer_id(&issuer.public_key())));
    plain.insert("iat".into(), json!(now));
    plain.insert("exp".into(), json!(now.saturating_add(ty.validity_s)));
    plain.insert("vct".into(), Value::String(ty.id.to_owned()));
    plain.insert(
        "cnf".into(),
        json!({"jwk": {"kty": "OKP", "crv": "Ed25519", "x": b64.encode(holder.0)}}),
    );
    plain.insert(
        "status".into(),
        json!({"certledger": {"chain_id": chain_id, "credential_id": b64.encode(credential_id)}}),
    );
    let mut disclosable = Vec::new();
    if let Some(obj) = claims.as_object() {
        for def in ty.claims {
            if let Some(value) = obj.get(def.name) {
                if def.selectively_disclosable {
                    disclosable.push((def.name.to_owned(), value.clone()));
                } else {
                    plain.insert(def.name.to_owned(), value.clone());
                }
            }
        }
    }
    let kid = issuer.public_key().short_id();
    let issued = sdjwt::issue(issuer, &kid, plain, &disclosable, 2, rng)?;
    let anchor = AnchorIssuance {
        credential_id,
        type_id: ty.id.to_owned(),
        commitment: commitment(&issued.issuer_jwt),
        nonce,
    };
    Ok(Issued { sd_jwt: issued.compact, credential_id, anchor })
}

/// A freshly issued full-disclosure W3C VC and the anchor to submit for it.
#[derive(Clone, Debug)]
pub struct IssuedW3c {
    /// The VC 2.0 JSON (JCS) to deliver to the holder.
    pub vc_json: String,
    /// The random credential id.
    pub credential_id: [u8; 32],
    /// The anchor entry body to sign with the issuer key and submit.
    pub anchor: AnchorIssuance,
}

/// Issues a full-disclosure W3C VC 2.0 of type `ty` (see [`crate::w3c`]); the anchor commits
/// to its JCS text, which the random credential id salts.
pub fn issue_w3c(
    issuer: &SecretKey,
    ty: &CredentialType,
    claims: &Value,
    holder: &PublicKey,
    chain_id: &str,
    now: u64,
    rng: &mut impl CryptoRngCore,
) -> Result<IssuedW3c, IssueError> {
    ty.check_claims(claims)?;
    let (credential_id, nonce) = fresh_ids(rng);
    let subject = claims.as_object().cloned().unwrap_or_default();
    let vc_json = crate::w3c::issue(
        issuer,
        ty.id,
        &subject,
        holder,
        chain_id,
        &credential_id,
        now,
        now.saturating_add(ty.validity_s),
    )?;
    let anchor = AnchorIssuance {
        credential_id,
        type_id: ty.id.to_owned(),
        commitment: commitment(&vc_json),
        nonce,
    };
    Ok(IssuedW3c { vc_json, credential_id, anchor })
}
