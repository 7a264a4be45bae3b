//! State keys and the registry records stored under them.

use sha2::{Digest, Sha256};

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};
use crate::sig::PublicKey;

use super::*;

/// `SHA-256(tag || id)`: the state key of a record.
pub fn state_key(tag: &str, id: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(tag.as_bytes());
    h.update(id);
    h.finalize().into()
}

/// State key of a department record (tag `dept`, id = UTF-8 department id).
pub fn department_state_key(id: &str) -> Hash {
    state_key("dept", id.as_bytes())
}
/// State key of an issuer record (tag `issuer`, id = the 32-byte key).
pub fn issuer_state_key(key: &PublicKey) -> Hash {
    state_key("issuer", &key.0)
}
/// State key of a credential type record (tag `type`).
pub fn type_state_key(type_id: &str) -> Hash {
    state_key("type", type_id.as_bytes())
}
/// State key of a verifier record (tag `verifier`).
pub fn verifier_state_key(verifier_id: &str) -> Hash {
    state_key("verifier", verifier_id.as_bytes())
}
/// State key of a credential record (tag `cred`, id = the 32-byte credential id).
pub fn credential_state_key(credential_id: &[u8; 32]) -> Hash {
    state_key("cred", credential_id)
}
/// State key of the index of a department's issuer keys (tag `dept-issuers`, id = UTF-8
/// department id): every key the department ever registered, so that removing the department
/// can retire them all.
pub fn department_issuers_state_key(id: &str) -> Hash {
    state_key("dept-issuers", id.as_bytes())
}
/// State key of the validator set record (tag `validators`, empty id).
pub fn validators_state_key() -> Hash {
    state_key("validators", &[])
}

/// The canonical bytes of a record, as stored in the state tree.
pub fn encode_record<T: Encode>(record: &T) -> Vec<u8> {
    record.to_bytes()
}

/// Why an issuer key was not authorised at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Unauthorised {
    /// The key was compromised at or before the time.
    #[error("issuer key compromised")]
    Compromised,
    /// The key's validity ended.
    #[error("issuer key expired")]
    Expired,
    /// Before the key's validity.
    #[error("issuer key not yet valid")]
    NotYetValid,
    /// The key was retired at or before the time.
    #[error("issuer key retired")]
    Retired,
    /// The key may not issue this type.
    #[error("type not allowed for this issuer")]
    TypeNotAllowed,
}

impl Unauthorised {
    /// A short reason.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Compromised => "issuer key compromised",
            Self::Expired => "issuer key expired",
            Self::NotYetValid => "issuer key not yet valid",
            Self::Retired => "issuer key retired",
            Self::TypeNotAllowed => "type not allowed for this issuer",
        }
    }
}

/// A registered issuer key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuerRecord {
    /// Department id.
    pub department: String,
    /// The key.
    pub issuer_key: PublicKey,
    /// Allowed type ids (strictly ascending).
    pub types: Vec<String>,
    /// First valid second.
    pub valid_from: u64,
    /// First second after validity.
    pub valid_until: u64,
    /// Retirement time.
    pub retired_at: Option<u64>,
    /// Compromise time.
    pub compromised_since: Option<u64>,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
}

impl IssuerRecord {
    /// Whether the key could sign at `t` (ignoring types): compromise, validity, retirement.
    pub fn key_valid_at(&self, t: u64) -> Result<(), Unauthorised> {
        if self.compromised_since.is_some_and(|s| s <= t) {
            return Err(Unauthorised::Compromised);
        }
        if t < self.valid_from {
            return Err(Unauthorised::NotYetValid);
        }
        if t >= self.valid_until {
            return Err(Unauthorised::Expired);
        }
        if self.retired_at.is_some_and(|r| r <= t) {
            return Err(Unauthorised::Retired);
        }
        Ok(())
    }

    /// Whether the key was authorised to issue `type_id` at ledger time `t`.
    pub fn authorised_at(&self, type_id: &str, t: u64) -> Result<(), Unauthorised> {
        self.key_valid_at(t)?;
        if self.types.binary_search_by(|x| x.as_str().cmp(type_id)).is_err() {
            return Err(Unauthorised::TypeNotAllowed);
        }
        Ok(())
    }
}

impl Encode for IssuerRecord {
    fn encode(&self, w: &mut Writer) {
        w.str(&self.department).put(&self.issuer_key);
        write_strs(w, &self.types);
        w.u64(self.valid_from)
            .u64(self.valid_until)
            .option(&self.retired_at)
            .option(&self.compromised_since)
            .str(&self.name_zh)
            .str(&self.name_en);
    }
}

impl Decode for IssuerRecord {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            department: read_slug(r, "issuer department")?,
            issuer_key: PublicKey::decode(r)?,
            types: read_token_set(r, MAX_TYPES, "issuer types")?,
            valid_from: r.u64("valid_from")?,
            valid_until: r.u64("valid_until")?,
            retired_at: r.option("retired_at")?,
            compromised_since: r.option("compromised_since")?,
            name_zh: r.string(MAX_NAME, "issuer name_zh")?,
            name_en: r.string(MAX_NAME, "issuer name_en")?,
        })
    }
}

/// Every issuer key a department registered, in registration order (at most
/// [`MAX_DEPARTMENT_ISSUERS`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DepartmentIssuers {
    /// The keys.
    pub keys: Vec<PublicKey>,
}

impl Encode for DepartmentIssuers {
    fn encode(&self, w: &mut Writer) {
        w.seq(&self.keys);
    }
}

impl Decode for DepartmentIssuers {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { keys: r.seq(MAX_DEPARTMENT_ISSUERS, "department issuers")? })
    }
}

/// A registered credential type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeRecord {
    /// The registration.
    pub def: RegisterType,
    /// The department that owns it: the one whose admin registered it. Only that department's
    /// admins may register issuers for it.
    pub department: String,
}

impl Encode for TypeRecord {
    fn encode(&self, w: &mut Writer) {
        let b = &self.def;
        w.str(&b.type_id)
            .str(&b.name_zh)
            .str(&b.name_en)
            .seq(&b.claims)
            .u64(b.validity_s)
            .bool(b.holder_binding)
            .str(&self.department);
    }
}

impl Decode for TypeRecord {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            def: RegisterType {
                type_id: read_token(r, "type id")?,
                name_zh: r.string(MAX_NAME, "type name_zh")?,
                name_en: r.string(MAX_NAME, "type name_en")?,
                claims: r.seq(MAX_CLAIMS, "type claims")?,
                validity_s: r.u64("validity_s")?,
                holder_binding: r.bool("holder_binding")?,
            },
            department: read_slug(r, "type department")?,
        })
    }
}

/// A registered verifier: the registration's fields (same layout, `verifier_key` being the
/// current key after any rotation), then the retirement time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifierRecord {
    /// The registration, with the current request-signing key.
    pub registration: RegisterVerifier,
    /// Block time of the retirement, once retired.
    pub retired_at: Option<u64>,
}

impl Encode for VerifierRecord {
    fn encode(&self, w: &mut Writer) {
        w.put(&self.registration).option(&self.retired_at);
    }
}

impl Decode for VerifierRecord {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            registration: RegisterVerifier::decode(r)?,
            retired_at: r.option("verifier retired_at")?,
        })
    }
}

/// An anchored credential and its current status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialRecord {
    /// The credential id.
    pub credential_id: [u8; 32],
    /// Its type.
    pub type_id: String,
    /// The issuer key that anchored it.
    pub issuer_key: PublicKey,
    /// That key's department.
    pub department: String,
    /// The salted commitment.
    pub commitment: [u8; 32],
    /// Height of the anchoring block.
    pub anchored_height: u64,
    /// Time of the anchoring block.
    pub anchored_time: u64,
    /// Index of the anchor in the log.
    pub log_index: u64,
    /// Current status.
    pub status: CredentialStatus,
    /// Reason of the last status change (0 when never changed).
    pub status_reason: u16,
    /// Time of the last status change (the anchor time when never changed).
    pub status_time: u64,
}

impl Encode for CredentialRecord {
    fn encode(&self, w: &mut Writer) {
        w.put(&self.credential_id)
            .str(&self.type_id)
            .put(&self.issuer_key)
            .str(&self.department)
            .put(&self.commitment)
            .u64(self.anchored_height)
            .u64(self.anchored_time)
            .u64(self.log_index)
            .put(&self.status)
            .u16(self.status_reason)
            .u64(self.status_time);
    }
}

impl Decode for CredentialRecord {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            credential_id: r.array("credential id")?,
            type_id: read_token(r, "type id")?,
            issuer_key: PublicKey::decode(r)?,
            department: read_slug(r, "credential department")?,
            commitment: r.array("commitment")?,
            anchored_height: r.u64("anchored height")?,
            anchored_time: r.u64("anchored time")?,
            log_index: r.u64("log index")?,
            status: CredentialStatus::decode(r)?,
            status_reason: r.u16("status reason")?,
            status_time: r.u64("status time")?,
        })
    }
}

/// The validator set record: the current departments and at most one scheduled change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatorSetRecord {
    /// Current departments, ascending by id.
    pub departments: Vec<Department>,
    /// A scheduled set: `(effective_height, departments)`.
    pub pending: Option<(u64, Vec<Department>)>,
}

impl Encode for ValidatorSetRecord {
    fn encode(&self, w: &mut Writer) {
        w.seq(&self.departments);
        match &self.pending {
            None => {
                w.u8(0);
            }
            Some((h, d)) => {
                w.u8(1).u64(*h).seq(d);
            }
        }
    }
}

impl Decode for ValidatorSetRecord {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let departments = r.seq(MAX_DEPARTMENTS, "validator set")?;
        let pending = match r.u8("pending validator set")? {
            0 => None,
            1 => {
                Some((r.u64("effective height")?, r.seq(MAX_DEPARTMENTS, "pending validator set")?))
            }
            tag => return Err(DecodeError::UnknownTag { what: "pending validator set", tag }),
        };
        Ok(Self { departments, pending })
    }
}
