//! Entry bodies, signed entries and log leaves, with their canonical codec.

use sha2::{Digest, Sha256};

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};
use crate::sig::{ns, PublicKey, SecretKey, Signature, SignatureError};

use super::*;

/// Registers an issuer key for a department (signed by an admin key of that department).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterIssuer {
    /// The department id.
    pub department: String,
    /// The issuer's signing key (new; a key is registered once).
    pub issuer_key: PublicKey,
    /// Type ids the key may issue (1..=64, strictly ascending, each registered).
    pub types: Vec<String>,
    /// First second of validity.
    pub valid_from: u64,
    /// First second after validity (`valid_from < valid_until`).
    pub valid_until: u64,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
}

/// Retires an issuer key from `at` on (signed by an admin key of its department).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetireIssuer {
    /// The key.
    pub issuer_key: PublicKey,
    /// Retirement time, not before the block time; credentials anchored earlier stay valid.
    pub at: u64,
}

/// Declares an issuer key compromised since `since` (signed by an admin key of its department
/// or by the key itself); anchors at or after `since` become invalid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompromiseIssuer {
    /// The key.
    pub issuer_key: PublicKey,
    /// Compromise time; may be in the past.
    pub since: u64,
}

/// One claim of a credential type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimDef {
    /// Claim name (token, 1..=64 bytes).
    pub name: String,
    /// Whether the claim is a selective disclosure.
    pub selectively_disclosable: bool,
    /// Chinese display label.
    pub display_zh: String,
    /// English display label.
    pub display_en: String,
}

impl Encode for ClaimDef {
    fn encode(&self, w: &mut Writer) {
        w.str(&self.name)
            .bool(self.selectively_disclosable)
            .str(&self.display_zh)
            .str(&self.display_en);
    }
}

impl Decode for ClaimDef {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            name: read_token(r, "claim name")?,
            selectively_disclosable: r.bool("claim selectively disclosable")?,
            display_zh: r.string(MAX_NAME, "claim display_zh")?,
            display_en: r.string(MAX_NAME, "claim display_en")?,
        })
    }
}

/// Registers a credential type (signed by any department admin key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterType {
    /// The type id (`vct`), token of 1..=64 bytes.
    pub type_id: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// The claims, with distinct names (0..=64).
    pub claims: Vec<ClaimDef>,
    /// Validity of an issued credential, seconds.
    pub validity_s: u64,
    /// Whether credentials of this type must be holder-bound.
    pub holder_binding: bool,
}

/// A verifier purpose: what it may ask for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Purpose {
    /// Purpose id (token).
    pub id: String,
    /// Claim names it may request (strictly ascending, 0..=64).
    pub claims: Vec<String>,
}

impl Encode for Purpose {
    fn encode(&self, w: &mut Writer) {
        w.str(&self.id);
        write_strs(w, &self.claims);
    }
}

impl Decode for Purpose {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            id: read_token(r, "purpose id")?,
            claims: read_token_set(r, MAX_CLAIMS, "purpose claims")?,
        })
    }
}

/// Registers a relying party (signed by an admin key of the sponsoring department).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterVerifier {
    /// Verifier id (token).
    pub verifier_id: String,
    /// The sponsoring department id.
    pub department: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// The verifier's request-signing key.
    pub verifier_key: PublicKey,
    /// Purposes, strictly ascending by id (1..=32).
    pub purposes: Vec<Purpose>,
}

impl Encode for RegisterVerifier {
    fn encode(&self, w: &mut Writer) {
        w.str(&self.verifier_id)
            .str(&self.department)
            .str(&self.name_zh)
            .str(&self.name_en)
            .put(&self.verifier_key)
            .seq(&self.purposes);
    }
}

impl Decode for RegisterVerifier {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let b = Self {
            verifier_id: read_token(r, "verifier id")?,
            department: read_slug(r, "verifier department")?,
            name_zh: r.string(MAX_NAME, "verifier name_zh")?,
            name_en: r.string(MAX_NAME, "verifier name_en")?,
            verifier_key: PublicKey::decode(r)?,
            purposes: r.seq(MAX_PURPOSES, "verifier purposes")?,
        };
        let ids: Vec<&str> = b.purposes.iter().map(|p| p.id.as_str()).collect();
        if !strictly_ascending(&ids) {
            return Err(DecodeError::NonCanonical("verifier purposes"));
        }
        Ok(b)
    }
}

/// Replaces a verifier's request-signing key (signed by an admin key of the verifier's
/// department). Requests signed by the old key are refused from this block on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RotateVerifier {
    /// The registered verifier id.
    pub verifier_id: String,
    /// The new request-signing key.
    pub new_key: PublicKey,
}

/// Retires a verifier (signed by an admin key of the verifier's department). Its record stays,
/// marked retired, so its id is never reused and every request it signs is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetireVerifier {
    /// The registered verifier id.
    pub verifier_id: String,
}

/// Anchors an issued credential (signed by an issuer key authorised for `type_id`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnchorIssuance {
    /// Random credential id.
    pub credential_id: [u8; 32],
    /// The credential type.
    pub type_id: String,
    /// Salted commitment to the issued credential.
    pub commitment: [u8; 32],
    /// Random nonce.
    pub nonce: [u8; 16],
}

/// A credential's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum CredentialStatus {
    /// Valid (tag 0).
    Active,
    /// Temporarily invalid (tag 1).
    Suspended,
    /// Permanently invalid (tag 2); final.
    Revoked,
}

impl Encode for CredentialStatus {
    fn encode(&self, w: &mut Writer) {
        w.u8(match self {
            Self::Active => 0,
            Self::Suspended => 1,
            Self::Revoked => 2,
        });
    }
}

impl Decode for CredentialStatus {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8("credential status")? {
            0 => Ok(Self::Active),
            1 => Ok(Self::Suspended),
            2 => Ok(Self::Revoked),
            tag => Err(DecodeError::UnknownTag { what: "credential status", tag }),
        }
    }
}

/// Changes a credential's status (signed by a currently valid issuer key of the anchoring
/// department).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeStatus {
    /// The credential.
    pub credential_id: [u8; 32],
    /// The new status.
    pub status: CredentialStatus,
    /// Reason code.
    pub reason: u16,
    /// Random nonce (so the same change may be repeated deliberately).
    pub nonce: [u8; 16],
}

/// One department's approval of a validator change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Approval {
    /// An admin key of a current department.
    pub admin_key: PublicKey,
    /// Signature under `GOVERNANCE_APPROVAL` over [`ChangeValidators::approval_message`].
    pub signature: Signature,
}

impl Encode for Approval {
    fn encode(&self, w: &mut Writer) {
        w.put(&self.admin_key).put(&self.signature);
    }
}

impl Decode for Approval {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { admin_key: PublicKey::decode(r)?, signature: Signature::decode(r)? })
    }
}

/// Changes the validator (department) set from `effective_height` on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeValidators {
    /// New departments, strictly ascending by id.
    pub add: Vec<Department>,
    /// Ids of departments to remove, strictly ascending.
    pub remove: Vec<String>,
    /// First height decided by the new set; above the height of the block holding the change.
    pub effective_height: u64,
    /// Approvals, one per current department, more than two thirds of them.
    pub approvals: Vec<Approval>,
}

impl ChangeValidators {
    /// The bytes each approval signs: `chain_id` (length-prefixed) `|| add || remove ||
    /// effective_height`, under `sig::ns::GOVERNANCE_APPROVAL`.
    pub fn approval_message(&self, chain_id: &str) -> Vec<u8> {
        let mut w = Writer::new();
        w.str(chain_id).seq(&self.add);
        write_strs(&mut w, &self.remove);
        w.u64(self.effective_height);
        w.into_bytes()
    }

    /// An approval of this change by `admin`.
    pub fn approve(&self, admin: &SecretKey, chain_id: &str) -> Approval {
        Approval {
            admin_key: admin.public_key(),
            signature: admin.sign(ns::GOVERNANCE_APPROVAL, &self.approval_message(chain_id)),
        }
    }
}

/// The body of a ledger entry.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryBody {
    /// Tag 1.
    RegisterIssuer(RegisterIssuer),
    /// Tag 2.
    RetireIssuer(RetireIssuer),
    /// Tag 3.
    CompromiseIssuer(CompromiseIssuer),
    /// Tag 4.
    RegisterType(RegisterType),
    /// Tag 5.
    RegisterVerifier(RegisterVerifier),
    /// Tag 6.
    AnchorIssuance(AnchorIssuance),
    /// Tag 7.
    ChangeStatus(ChangeStatus),
    /// Tag 8.
    ChangeValidators(ChangeValidators),
    /// Tag 9.
    RotateVerifier(RotateVerifier),
    /// Tag 10.
    RetireVerifier(RetireVerifier),
}

impl Encode for EntryBody {
    fn encode(&self, w: &mut Writer) {
        match self {
            Self::RegisterIssuer(b) => {
                w.u8(1).str(&b.department).put(&b.issuer_key);
                write_strs(w, &b.types);
                w.u64(b.valid_from).u64(b.valid_until).str(&b.name_zh).str(&b.name_en);
            }
            Self::RetireIssuer(b) => {
                w.u8(2).put(&b.issuer_key).u64(b.at);
            }
            Self::CompromiseIssuer(b) => {
                w.u8(3).put(&b.issuer_key).u64(b.since);
            }
            Self::RegisterType(b) => {
                w.u8(4)
                    .str(&b.type_id)
                    .str(&b.name_zh)
                    .str(&b.name_en)
                    .seq(&b.claims)
                    .u64(b.validity_s)
                    .bool(b.holder_binding);
            }
            Self::RegisterVerifier(b) => {
                w.u8(5).put(b);
            }
            Self::AnchorIssuance(b) => {
                w.u8(6).put(&b.credential_id).str(&b.type_id).put(&b.commitment).fixed(&b.nonce);
            }
            Self::ChangeStatus(b) => {
                w.u8(7).put(&b.credential_id).put(&b.status).u16(b.reason).fixed(&b.nonce);
            }
            Self::ChangeValidators(b) => {
                w.u8(8).seq(&b.add);
                write_strs(w, &b.remove);
                w.u64(b.effective_height).seq(&b.approvals);
            }
            Self::RotateVerifier(b) => {
                w.u8(9).str(&b.verifier_id).put(&b.new_key);
            }
            Self::RetireVerifier(b) => {
                w.u8(10).str(&b.verifier_id);
            }
        }
    }
}

impl Decode for EntryBody {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match r.u8("entry tag")? {
            1 => Self::RegisterIssuer(RegisterIssuer {
                department: read_slug(r, "issuer department")?,
                issuer_key: PublicKey::decode(r)?,
                types: read_token_set(r, MAX_TYPES, "issuer types")?,
                valid_from: r.u64("valid_from")?,
                valid_until: r.u64("valid_until")?,
                name_zh: r.string(MAX_NAME, "issuer name_zh")?,
                name_en: r.string(MAX_NAME, "issuer name_en")?,
            }),
            2 => Self::RetireIssuer(RetireIssuer {
                issuer_key: PublicKey::decode(r)?,
                at: r.u64("retire at")?,
            }),
            3 => Self::CompromiseIssuer(CompromiseIssuer {
                issuer_key: PublicKey::decode(r)?,
                since: r.u64("compromised since")?,
            }),
            4 => Self::RegisterType(RegisterType {
                type_id: read_token(r, "type id")?,
                name_zh: r.string(MAX_NAME, "type name_zh")?,
                name_en: r.string(MAX_NAME, "type name_en")?,
                claims: r.seq(MAX_CLAIMS, "type claims")?,
                validity_s: r.u64("validity_s")?,
                holder_binding: r.bool("holder_binding")?,
            }),
            5 => Self::RegisterVerifier(RegisterVerifier::decode(r)?),
            6 => Self::AnchorIssuance(AnchorIssuance {
                credential_id: r.array("credential id")?,
                type_id: read_token(r, "type id")?,
                commitment: r.array("commitment")?,
                nonce: read_nonce(r)?,
            }),
            7 => Self::ChangeStatus(ChangeStatus {
                credential_id: r.array("credential id")?,
                status: CredentialStatus::decode(r)?,
                reason: r.u16("status reason")?,
                nonce: read_nonce(r)?,
            }),
            8 => {
                let add: Vec<Department> = r.seq(MAX_DEPARTMENTS, "validators add")?;
                let remove = {
                    let n = r.count(MAX_DEPARTMENTS, "validators remove")?;
                    let mut v = Vec::with_capacity(n.min(r.remaining()));
                    for _ in 0..n {
                        v.push(read_slug(r, "validators remove")?);
                    }
                    v
                };
                let ids: Vec<&str> = add.iter().map(|d| d.id.as_str()).collect();
                if !strictly_ascending(&ids) || !strictly_ascending(&remove) {
                    return Err(DecodeError::NonCanonical("validator change"));
                }
                Self::ChangeValidators(ChangeValidators {
                    add,
                    remove,
                    effective_height: r.u64("effective height")?,
                    approvals: r.seq(MAX_DEPARTMENTS, "approvals")?,
                })
            }
            9 => Self::RotateVerifier(RotateVerifier {
                verifier_id: read_token(r, "verifier id")?,
                new_key: PublicKey::decode(r)?,
            }),
            10 => {
                Self::RetireVerifier(RetireVerifier { verifier_id: read_token(r, "verifier id")? })
            }
            tag => return Err(DecodeError::UnknownTag { what: "entry body", tag }),
        })
    }
}

/// A signed ledger entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedEntry {
    /// What the entry does.
    pub body: EntryBody,
    /// Who signed it.
    pub signer: PublicKey,
    /// `signer` over [`SignedEntry::signing_message`] under `sig::ns::ENTRY`.
    pub signature: Signature,
}

impl SignedEntry {
    /// The signed bytes: `chain_id` (u32 length-prefixed) `||` canonical body bytes.
    pub fn signing_message(chain_id: &str, body: &EntryBody) -> Vec<u8> {
        let mut w = Writer::new();
        w.str(chain_id).put(body);
        w.into_bytes()
    }

    /// Signs `body` for `chain_id`.
    pub fn sign(key: &SecretKey, chain_id: &str, body: EntryBody) -> Self {
        let signature = key.sign(ns::ENTRY, &Self::signing_message(chain_id, &body));
        Self { body, signer: key.public_key(), signature }
    }

    /// Checks the signature (`verify_strict`).
    pub fn verify_signature(&self, chain_id: &str) -> Result<(), SignatureError> {
        self.signer.verify(ns::ENTRY, &Self::signing_message(chain_id, &self.body), &self.signature)
    }

    /// The entry id: `SHA-256("certledger/v1/entry-id" || body bytes)`. It covers the body
    /// only, so re-signing the same body cannot replay it.
    pub fn id(&self) -> Hash {
        entry_id(&self.body)
    }
}

/// The id of an entry body (see [`SignedEntry::id`]).
pub fn entry_id(body: &EntryBody) -> Hash {
    let mut h = Sha256::new();
    h.update(b"certledger/v1/entry-id");
    h.update(body.to_bytes());
    h.finalize().into()
}

impl Encode for SignedEntry {
    fn encode(&self, w: &mut Writer) {
        w.put(&self.body).put(&self.signer).put(&self.signature);
    }
}

impl Decode for SignedEntry {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            body: EntryBody::decode(r)?,
            signer: PublicKey::decode(r)?,
            signature: Signature::decode(r)?,
        })
    }
}

impl SignedEntry {
    /// Decodes a top-level entry of at most [`MAX_ENTRY_BYTES`].
    pub fn from_bytes_checked(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_ENTRY_BYTES {
            return Err(DecodeError::TooLong {
                what: "signed entry",
                len: bytes.len() as u64,
                max: MAX_ENTRY_BYTES as u64,
            });
        }
        Self::from_bytes(bytes)
    }
}

/// A log leaf: its canonical bytes are the RFC 9162 leaf data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLeaf {
    /// Height of the block holding the entry.
    pub height: u64,
    /// The block time (ledger-attested time of the entry).
    pub time: u64,
    /// The entry.
    pub entry: SignedEntry,
}

impl Encode for LogLeaf {
    fn encode(&self, w: &mut Writer) {
        w.u64(self.height).u64(self.time).put(&self.entry);
    }
}

impl Decode for LogLeaf {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            height: r.u64("leaf height")?,
            time: r.u64("leaf time")?,
            entry: SignedEntry::decode(r)?,
        })
    }
}

impl LogLeaf {
    /// Decodes top-level leaf data of at most [`MAX_LEAF_BYTES`].
    pub fn from_bytes_checked(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_LEAF_BYTES {
            return Err(DecodeError::TooLong {
                what: "log leaf",
                len: bytes.len() as u64,
                max: MAX_LEAF_BYTES as u64,
            });
        }
        Self::from_bytes(bytes)
    }
}
