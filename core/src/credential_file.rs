//! The credential file: how an issued credential travels from the issuer's tooling to a wallet.
//!
//! A JSON object (normative text in `specs/credential-file.md`):
//!
//! ```text
//! {
//!   "version": 1,
//!   "chain_id": "<the ledger's chain id>",
//!   "credential_id": "<unpadded base64url of the 32-byte credential id>",
//!   "sd_jwt": "<the issued SD-JWT VC, compact, every disclosure, no key-binding JWT>",
//!   (or, for a full-disclosure W3C VC 2.0, instead of "sd_jwt":)
//!   "w3c_vc": "<the issued W3C VC 2.0, JCS JSON text, with its eddsa-jcs-2022 proof>",
//!   "proofs": "<unpadded base64url of the canonical bundle::Proofs bytes>"
//! }
//! ```
//!
//! Parsing is strict and bounded: the text is at most [`MAX_FILE_BYTES`], goes through
//! [`crate::jcs::parse_strict`] (no repeated member names), unknown or missing fields are
//! refused, the version must be 1, base64url must be canonical and unpadded, and the proofs must
//! decode as [`Proofs`] whose credential record names the same credential id. Parsing proves
//! nothing about the credential: the wallet then decides it with
//! [`crate::verify::verify_credential`].

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::bundle::{Proofs, MAX_BUNDLE_BYTES};
use crate::codec::Encode;
use crate::sdjwt::MAX_SD_JWT_BYTES;
use crate::w3c::MAX_W3C_BYTES;

/// The format version this module reads and writes.
pub const VERSION: u32 = 1;
/// Largest credential file accepted, in bytes.
pub const MAX_FILE_BYTES: usize = 192 * 1024;
/// Longest chain id, in bytes.
pub const MAX_CHAIN_ID_BYTES: usize = 64;

// A file holding the largest SD-JWT and the largest proofs must stay under the file bound.
const _: () = assert!(MAX_SD_JWT_BYTES + MAX_BUNDLE_BYTES.div_ceil(3) * 4 + 1024 <= MAX_FILE_BYTES);

/// Why a credential file was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialFileError {
    /// The file is larger than [`MAX_FILE_BYTES`].
    #[error("credential file is larger than 192 KiB")]
    TooLarge,
    /// Not strict JSON, or unknown, missing, repeated or mistyped fields.
    #[error("credential file is not a strict JSON object of the expected fields")]
    MalformedJson,
    /// A version other than [`VERSION`].
    #[error("unsupported credential file version")]
    UnsupportedVersion,
    /// A field is invalid (named).
    #[error("credential file field is invalid: {0}")]
    BadField(&'static str),
    /// The proofs are for another credential than `credential_id`.
    #[error("the proofs are for another credential")]
    ProofsMismatch,
}

/// A parsed credential file (not yet verified).
#[derive(Clone, Debug, PartialEq)]
pub struct CredentialFile {
    /// The ledger's chain id.
    pub chain_id: String,
    /// The credential id.
    pub credential_id: [u8; 32],
    /// The issued SD-JWT VC (compact, no key-binding JWT); empty when [`Self::w3c_vc`] is set.
    pub sd_jwt: String,
    /// The issued full-disclosure W3C VC 2.0 (JCS JSON text), when the file carries one instead of
    /// an SD-JWT.
    pub w3c_vc: Option<String>,
    /// Proofs of anchor, status and issuer against one cosigned checkpoint.
    pub proofs: Proofs,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileJson {
    version: u32,
    chain_id: String,
    credential_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sd_jwt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    w3c_vc: Option<String>,
    proofs: String,
}

fn decode_b64(
    text: &str,
    max_bytes: usize,
    what: &'static str,
) -> Result<Vec<u8>, CredentialFileError> {
    if text.len() > max_bytes.div_ceil(3) * 4 {
        return Err(CredentialFileError::BadField(what));
    }
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| CredentialFileError::BadField(what))?;
    // One spelling per value: refuse non-canonical trailing bits.
    if URL_SAFE_NO_PAD.encode(&bytes) != text {
        return Err(CredentialFileError::BadField(what));
    }
    Ok(bytes)
}

impl CredentialFile {
    /// Parses the JSON form, strictly and with bounds.
    pub fn from_json(text: &str) -> Result<Self, CredentialFileError> {
        if text.len() > MAX_FILE_BYTES {
            return Err(CredentialFileError::TooLarge);
        }
        let value =
            crate::jcs::parse_strict(text).map_err(|_| CredentialFileError::MalformedJson)?;
        let raw: FileJson =
            serde_json::from_value(value).map_err(|_| CredentialFileError::MalformedJson)?;
        if raw.version != VERSION {
            return Err(CredentialFileError::UnsupportedVersion);
        }
        if raw.chain_id.is_empty()
            || raw.chain_id.len() > MAX_CHAIN_ID_BYTES
            || !raw.chain_id.bytes().all(|b| (0x21..=0x7e).contains(&b))
        {
            return Err(CredentialFileError::BadField("chain_id"));
        }
        let credential_id: [u8; 32] = decode_b64(&raw.credential_id, 32, "credential_id")?
            .try_into()
            .map_err(|_| CredentialFileError::BadField("credential_id"))?;
        let (sd_jwt, w3c_vc) = match (raw.sd_jwt, raw.w3c_vc) {
            (Some(sd_jwt), None) => {
                if sd_jwt.is_empty() || sd_jwt.len() > MAX_SD_JWT_BYTES {
                    return Err(CredentialFileError::BadField("sd_jwt"));
                }
                if sd_jwt.split('~').next_back() != Some("") {
                    // An issued SD-JWT ends with `~`: a key-binding JWT has no place in a stored
                    // credential.
                    return Err(CredentialFileError::BadField("sd_jwt"));
                }
                (sd_jwt, None)
            }
            (None, Some(vc)) => {
                if vc.is_empty() || vc.len() > MAX_W3C_BYTES {
                    return Err(CredentialFileError::BadField("w3c_vc"));
                }
                (String::new(), Some(vc))
            }
            // Exactly one of the two.
            _ => return Err(CredentialFileError::MalformedJson),
        };
        let proof_bytes = decode_b64(&raw.proofs, MAX_BUNDLE_BYTES, "proofs")?;
        let proofs = Proofs::decode_bytes(&proof_bytes)
            .map_err(|_| CredentialFileError::BadField("proofs"))?;
        if proofs.credential_record.credential_id != credential_id {
            return Err(CredentialFileError::ProofsMismatch);
        }
        Ok(Self { chain_id: raw.chain_id, credential_id, sd_jwt, w3c_vc, proofs })
    }

    /// The JSON form (pretty-printed; field order as in the module docs).
    pub fn to_json(&self) -> String {
        let raw = FileJson {
            version: VERSION,
            chain_id: self.chain_id.clone(),
            credential_id: URL_SAFE_NO_PAD.encode(self.credential_id),
            sd_jwt: self.w3c_vc.is_none().then(|| self.sd_jwt.clone()),
            w3c_vc: self.w3c_vc.clone(),
            proofs: URL_SAFE_NO_PAD.encode(self.proofs.to_bytes()),
        };
        // A struct of strings and an integer always serialises.
        serde_json::to_string_pretty(&raw).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profiles;
    use crate::testkit::{example_claims, Scenario};
    use crate::verify::{verify_credential, Verdict};

    fn sample() -> (CredentialFile, Scenario) {
        let mut s = Scenario::new("credential-file", "cn.gov.certledger.test", 1_800_000_000)
            .expect("scenario");
        let ty = &profiles::ALL[0];
        let issuer =
            s.register_issuer(ty.issuing_department, &[ty.id], 10 * 365 * 86400).expect("issuer");
        let holder = crate::sig::SecretKey::from_seed(&[7; 32]);
        let issued =
            s.issue(&issuer, ty, &example_claims(ty), &holder.public_key()).expect("issue");
        let cp = s.checkpoint(3).expect("checkpoint");
        let bundle = s.bundle(&issued, &holder, &[], "n", "a", 0, &cp).expect("bundle");
        let file = CredentialFile {
            chain_id: s.chain_id().to_owned(),
            credential_id: issued.credential_id,
            sd_jwt: issued.sd_jwt.clone(),
            w3c_vc: None,
            proofs: bundle.proofs,
        };
        (file, s)
    }

    #[test]
    fn round_trip_and_verifies() {
        let (file, s) = sample();
        let back = CredentialFile::from_json(&file.to_json()).expect("parse");
        assert_eq!(back, file);
        let verdict =
            verify_credential(&back.sd_jwt, &back.proofs, &s.trust_root(), 3600, s.ledger.time())
                .expect("decidable");
        assert!(matches!(verdict, Verdict::Valid(_)), "{verdict:?}");
    }

    #[test]
    fn w3c_round_trip_and_verifies() {
        let mut s = Scenario::new("credential-file-w3c", "cn.gov.certledger.test", 1_800_000_000)
            .expect("scenario");
        let ty = &profiles::ALL[0];
        let issuer =
            s.register_issuer(ty.issuing_department, &[ty.id], 10 * 365 * 86400).expect("issuer");
        let holder = crate::sig::SecretKey::from_seed(&[7; 32]);
        let issued =
            s.issue_w3c(&issuer, ty, &example_claims(ty), &holder.public_key()).expect("issue");
        let cp = s.checkpoint(3).expect("checkpoint");
        let bundle = s.bundle_w3c(&issued, &holder, "n", "a", 0, &cp).expect("bundle");
        let file = CredentialFile {
            chain_id: s.chain_id().to_owned(),
            credential_id: issued.credential_id,
            sd_jwt: String::new(),
            w3c_vc: Some(issued.vc_json.clone()),
            proofs: bundle.proofs,
        };
        let json = file.to_json();
        assert!(!json.contains("\"sd_jwt\""), "{json}");
        let back = CredentialFile::from_json(&json).expect("parse");
        assert_eq!(back, file);
        let vc = back.w3c_vc.as_deref().expect("w3c");
        let verdict = crate::verify::verify_w3c_credential(
            vc,
            &back.proofs,
            &s.trust_root(),
            3600,
            s.ledger.time(),
        )
        .expect("decidable");
        assert!(matches!(verdict, Verdict::Valid(_)), "{verdict:?}");
        // Both, or neither, of `sd_jwt` and `w3c_vc` is refused.
        let mut value: serde_json::Value = serde_json::from_str(&json).expect("json");
        value["sd_jwt"] = "x~".into();
        assert_eq!(
            CredentialFile::from_json(&value.to_string()),
            Err(CredentialFileError::MalformedJson)
        );
        let mut value: serde_json::Value = serde_json::from_str(&json).expect("json");
        value.as_object_mut().expect("object").remove("w3c_vc");
        assert_eq!(
            CredentialFile::from_json(&value.to_string()),
            Err(CredentialFileError::MalformedJson)
        );
        value["w3c_vc"] = "x".repeat(MAX_W3C_BYTES + 1).into();
        assert_eq!(
            CredentialFile::from_json(&value.to_string()),
            Err(CredentialFileError::BadField("w3c_vc"))
        );
    }

    #[test]
    fn refuses_malformed() {
        let (file, _) = sample();
        let json = file.to_json();
        let mut value: serde_json::Value = serde_json::from_str(&json).expect("json");
        let cases: Vec<(&str, serde_json::Value, CredentialFileError)> = vec![
            ("version", 2.into(), CredentialFileError::UnsupportedVersion),
            ("credential_id", "AAAA".into(), CredentialFileError::BadField("credential_id")),
            (
                "credential_id",
                URL_SAFE_NO_PAD.encode([1u8; 32]).into(),
                CredentialFileError::ProofsMismatch,
            ),
            ("proofs", "AAAA".into(), CredentialFileError::BadField("proofs")),
            ("sd_jwt", "abc~def".into(), CredentialFileError::BadField("sd_jwt")),
            ("chain_id", "has space".into(), CredentialFileError::BadField("chain_id")),
        ];
        for (field, bad, expect) in cases {
            let original = value[field].clone();
            value[field] = bad;
            assert_eq!(CredentialFile::from_json(&value.to_string()), Err(expect), "field {field}");
            value[field] = original;
        }
        assert_eq!(
            CredentialFile::from_json(&json.replacen('{', "{\"extra\":1,", 1)),
            Err(CredentialFileError::MalformedJson)
        );
        assert_eq!(
            CredentialFile::from_json(&json.replacen('{', "{\"version\":1,", 1)),
            Err(CredentialFileError::MalformedJson)
        );
        assert_eq!(
            CredentialFile::from_json(&" ".repeat(MAX_FILE_BYTES + 1)),
            Err(CredentialFileError::TooLarge)
        );
        // Arbitrary prefixes never panic.
        for end in (0..json.len()).step_by(97) {
            if let Some(prefix) = json.get(..end) {
                assert!(CredentialFile::from_json(prefix).is_err());
            }
        }
    }
}
