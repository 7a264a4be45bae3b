//! Ledger entries, registry records and the deterministic state machine.
//!
//! `specs/ledger.md` is normative (binary layout of every type, authorisation rules, governance).
//! The state machine is pure: the block's `height` and `time` are parameters, maps are
//! `BTreeMap`, and two ledgers fed the same genesis and blocks reach the same log root and state
//! root.
//!
//! - The **log** is an RFC 9162 Merkle log whose leaf data are canonical [`LogLeaf`] bytes.
//! - The **state** is a sparse Merkle tree ([`crate::smt`]) keyed by `SHA-256(tag || id)` (see
//!   [`state_key`]) whose values are canonical record bytes ([`encode_record`]).

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};
use crate::ledger_store::{
    Delta, LedgerChanges, LedgerHead, LedgerStore, LogDelta, MemLedgerStore,
};
use crate::merkle::{self, ConsistencyProof, InclusionProof, LogError};
use crate::sig::{ns, PublicKey, SecretKey, Signature, SignatureError};
use crate::smt::{Smt, SmtError, SmtProof};

/// A 32-byte SHA-256 output.
pub type Hash = [u8; 32];

/// Longest chain id, department id, type id, verifier id, purpose id or claim name (bytes).
pub const MAX_ID: u32 = 64;
/// Longest display name (bytes of UTF-8).
pub const MAX_NAME: u32 = 256;
/// Most credential types an issuer may be registered for.
pub const MAX_TYPES: u32 = 64;
/// Most claims of a credential type, or of a verifier purpose.
pub const MAX_CLAIMS: u32 = 64;
/// Most purposes of a verifier.
pub const MAX_PURPOSES: u32 = 32;
/// Most admin keys of a department.
pub const MAX_ADMIN_KEYS: u32 = 16;
/// Most departments (validators), and most governance approvals.
pub const MAX_DEPARTMENTS: u32 = 64;
/// Most issuer keys a department may register over its lifetime (the `dept-issuers` index that
/// lets a removal retire them all).
pub const MAX_DEPARTMENT_ISSUERS: u32 = 4096;
/// Largest canonical signed entry (bytes).
pub const MAX_ENTRY_BYTES: usize = 32 * 1024;
/// Largest canonical log leaf (bytes): a signed entry plus height and time.
pub const MAX_LEAF_BYTES: usize = MAX_ENTRY_BYTES + 16;
/// Most entries in one block.
pub const MAX_BLOCK_ENTRIES: usize = 10_000;

/// Quorum threshold for `n` validators: `floor(2n/3) + 1` (more than two thirds).
pub fn quorum_threshold(n: usize) -> usize {
    n.saturating_mul(2) / 3 + 1
}

/// Most departments one governance change may remove from a set of `n`: `floor((n-1)/3)`, the
/// number of faulty validators the current set tolerates.
pub fn max_removals(n: usize) -> usize {
    n.saturating_sub(1) / 3
}

// ---------------------------------------------------------------------------------------------
// Small helpers for bounded strings and sets.

fn strictly_ascending<T: Ord>(items: &[T]) -> bool {
    items.windows(2).all(|w| matches!(w, [a, b] if a < b))
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID as usize
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_ID as usize && s.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

fn read_slug(r: &mut Reader<'_>, what: &'static str) -> Result<String, DecodeError> {
    let s = r.string(MAX_ID, what)?;
    if is_slug(&s) {
        Ok(s)
    } else {
        Err(DecodeError::NonCanonical(what))
    }
}

fn read_token(r: &mut Reader<'_>, what: &'static str) -> Result<String, DecodeError> {
    let s = r.string(MAX_ID, what)?;
    if is_token(&s) {
        Ok(s)
    } else {
        Err(DecodeError::NonCanonical(what))
    }
}

fn read_token_set(
    r: &mut Reader<'_>,
    max: u32,
    what: &'static str,
) -> Result<Vec<String>, DecodeError> {
    let n = r.count(max, what)?;
    let mut out = Vec::with_capacity(n.min(r.remaining()));
    for _ in 0..n {
        out.push(read_token(r, what)?);
    }
    if !strictly_ascending(&out) {
        return Err(DecodeError::NonCanonical(what));
    }
    Ok(out)
}

fn write_strs(w: &mut Writer, items: &[String]) {
    w.count(items.len());
    for s in items {
        w.str(s);
    }
}

fn read_nonce(r: &mut Reader<'_>) -> Result<[u8; 16], DecodeError> {
    r.array("nonce")
}

// ---------------------------------------------------------------------------------------------
// Genesis and departments.

/// A government department: one validator node key and its admin keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Department {
    /// ASCII slug such as `public-security` (`[a-z0-9-]`, 1..=64 bytes).
    pub id: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// The department node's consensus and checkpoint key.
    pub node_key: PublicKey,
    /// Keys that may sign the department's registry entries (1..=16, strictly ascending).
    pub admin_keys: Vec<PublicKey>,
}

impl Encode for Department {
    fn encode(&self, w: &mut Writer) {
        w.str(&self.id)
            .str(&self.name_zh)
            .str(&self.name_en)
            .put(&self.node_key)
            .seq(&self.admin_keys);
    }
}

impl Decode for Department {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let d = Self {
            id: read_slug(r, "department id")?,
            name_zh: r.string(MAX_NAME, "department name_zh")?,
            name_en: r.string(MAX_NAME, "department name_en")?,
            node_key: PublicKey::decode(r)?,
            admin_keys: r.seq(MAX_ADMIN_KEYS, "department admin keys")?,
        };
        if d.admin_keys.is_empty() || !strictly_ascending(&d.admin_keys) {
            return Err(DecodeError::NonCanonical("department admin keys"));
        }
        Ok(d)
    }
}

/// The founding document of a ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Genesis {
    /// The chain id (also the checkpoint origin), printable ASCII, 1..=64 bytes.
    pub chain_id: String,
    /// Unix seconds; no block may be earlier.
    pub genesis_time: u64,
    /// The founding departments, strictly ascending by id, with distinct node keys.
    pub departments: Vec<Department>,
}

impl Encode for Genesis {
    fn encode(&self, w: &mut Writer) {
        w.str(&self.chain_id).u64(self.genesis_time).seq(&self.departments);
    }
}

impl Decode for Genesis {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            chain_id: read_token(r, "chain id")?,
            genesis_time: r.u64("genesis time")?,
            departments: r.seq(MAX_DEPARTMENTS, "genesis departments")?,
        })
    }
}

/// The rules every department set (genesis, after a change, a light client's trust) obeys.
pub(crate) fn check_department_set(depts: &[Department]) -> Result<(), &'static str> {
    if depts.is_empty() {
        return Err("the validator set would be empty");
    }
    if depts.len() > MAX_DEPARTMENTS as usize {
        return Err("too many departments");
    }
    let ids: Vec<&str> = depts.iter().map(|d| d.id.as_str()).collect();
    if !strictly_ascending(&ids) {
        return Err("department ids must be distinct and ascending");
    }
    let mut keys = BTreeSet::new();
    for d in depts {
        if !keys.insert(d.node_key) {
            return Err("two departments share a node key");
        }
        check_department(d)?;
    }
    Ok(())
}

fn check_department(d: &Department) -> Result<(), &'static str> {
    if !is_slug(&d.id) {
        return Err("department id must be a slug");
    }
    if d.name_zh.len() > MAX_NAME as usize || d.name_en.len() > MAX_NAME as usize {
        return Err("department name too long");
    }
    if d.admin_keys.is_empty()
        || d.admin_keys.len() > MAX_ADMIN_KEYS as usize
        || !strictly_ascending(&d.admin_keys)
    {
        return Err("department admin keys must be 1..=16, ascending");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Entry bodies.

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

// ---------------------------------------------------------------------------------------------
// State keys and records.

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

// ---------------------------------------------------------------------------------------------
// The state machine.

/// Why an entry or block was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    /// The anchored credential id is already in the state.
    #[error("credential already anchored")]
    AlreadyAnchored,
    /// The key or id is already registered.
    #[error("already registered: {0}")]
    AlreadyRegistered(&'static str),
    /// The block itself is malformed (height, time, size).
    #[error("bad block: {0}")]
    BadBlock(&'static str),
    /// The genesis is malformed.
    #[error("bad genesis: {0}")]
    BadGenesis(&'static str),
    /// A governance rule was broken.
    #[error("bad governance change: {0}")]
    BadGovernance(&'static str),
    /// The entry's signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// A field value is invalid.
    #[error("invalid entry: {0}")]
    Invalid(&'static str),
    /// The signer may not make this entry.
    #[error("not authorised: {0}")]
    NotAuthorised(&'static str),
    /// The same entry body was already committed.
    #[error("entry already committed")]
    Replay,
    /// A revoked credential's status cannot change.
    #[error("revoked is final")]
    RevokedIsFinal,
    /// The state store failed.
    #[error("state store: {0}")]
    Store(SmtError),
    /// The entry is over a size bound.
    #[error("too large: {0}")]
    TooLarge(&'static str),
    /// The credential is not anchored.
    #[error("unknown credential")]
    UnknownCredential,
    /// The department does not exist.
    #[error("unknown department")]
    UnknownDepartment,
    /// The issuer key is not registered.
    #[error("unknown issuer")]
    UnknownIssuer,
    /// The signer is not a known key for this entry.
    #[error("unknown signer")]
    UnknownSigner,
    /// The credential type is not registered.
    #[error("unknown credential type")]
    UnknownType,
    /// The verifier id is not registered.
    #[error("unknown verifier")]
    UnknownVerifier,
    /// The issuer key belongs to another department than the credential's.
    #[error("wrong department")]
    WrongDepartment,
}

impl From<SmtError> for EntryError {
    fn from(e: SmtError) -> Self {
        Self::Store(e)
    }
}

/// The result of a committed block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockOutcome {
    /// Log size after the block.
    pub log_size: u64,
    /// Log root after the block.
    pub log_root: Hash,
    /// State root after the block.
    pub state_root: Hash,
    /// Whether the validator set of the next height differs from this height's.
    pub validators_changed: bool,
}

/// The ledger state machine. Its state tree, log and entry ids live in a [`LedgerStore`] (in
/// memory by default); the ledger itself keeps only its head and the validator-set history.
#[derive(Clone, Debug)]
pub struct Ledger<S: LedgerStore = MemLedgerStore> {
    chain_id: String,
    genesis_time: u64,
    head: LedgerHead,
    store: S,
    validator_history: BTreeMap<u64, Vec<Department>>,
}

/// A block executed on an overlay of the committed ledger: its roots and its write set, kept
/// until the block is committed ([`Ledger::commit`]) or dropped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Executed {
    /// The roots after the block.
    pub outcome: BlockOutcome,
    /// What committing the block writes.
    pub changes: LedgerChanges,
}

/// Why a store could not be opened as a ledger.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// A read failed.
    #[error("ledger store: {0}")]
    Store(#[from] SmtError),
    /// The store belongs to another chain.
    #[error("the store holds another chain: {0}")]
    OtherChain(&'static str),
    /// The stored data does not hash to the stored head (damaged store).
    #[error("the ledger store is damaged: {0}")]
    Damaged(&'static str),
    /// The genesis is invalid.
    #[error(transparent)]
    Genesis(#[from] EntryError),
}

/// Whether the caller already verified the signature of a signed entry, given its canonical
/// bytes (see [`Ledger::apply_block_with`]).
pub type VerifiedFn<'a> = &'a dyn Fn(&[u8]) -> bool;

fn none_verified(_: &[u8]) -> bool {
    false
}

/// Pending writes of a block being applied: read through, then committed all at once.
struct Overlay<'a, S: LedgerStore> {
    ledger: &'a Ledger<S>,
    verified: VerifiedFn<'a>,
    height: u64,
    time: u64,
    writes: BTreeMap<Hash, Option<Vec<u8>>>,
    ids: BTreeSet<Hash>,
    leaves: Vec<Vec<u8>>,
    history: Vec<(u64, Vec<Department>)>,
}

impl<'a, S: LedgerStore> Overlay<'a, S> {
    fn new(ledger: &'a Ledger<S>, height: u64, time: u64, verified: VerifiedFn<'a>) -> Self {
        Self {
            ledger,
            verified,
            height,
            time,
            writes: BTreeMap::new(),
            ids: BTreeSet::new(),
            leaves: Vec::new(),
            history: Vec::new(),
        }
    }

    fn raw(&self, key: &Hash) -> Result<Option<Vec<u8>>, EntryError> {
        match self.writes.get(key) {
            Some(v) => Ok(v.clone()),
            None => Ok(self.ledger.store.state_value(key)?),
        }
    }

    fn read<T: Decode>(&self, key: &Hash) -> Result<Option<T>, EntryError> {
        match self.raw(key)? {
            None => Ok(None),
            Some(bytes) => T::from_bytes(&bytes)
                .map(Some)
                .map_err(|_| EntryError::Store(SmtError::Store("undecodable record"))),
        }
    }

    fn write<T: Encode>(&mut self, key: Hash, record: &T) {
        self.writes.insert(key, Some(encode_record(record)));
    }

    fn validators(&self) -> Result<ValidatorSetRecord, EntryError> {
        self.read(&validators_state_key())?
            .ok_or(EntryError::Store(SmtError::Store("no validator set")))
    }

    fn department(&self, id: &str) -> Result<Department, EntryError> {
        self.read(&department_state_key(id))?.ok_or(EntryError::UnknownDepartment)
    }

    fn verifier(&self, verifier_id: &str) -> Result<VerifierRecord, EntryError> {
        self.read(&verifier_state_key(verifier_id))?.ok_or(EntryError::UnknownVerifier)
    }

    fn issuer(&self, key: &PublicKey) -> Result<IssuerRecord, EntryError> {
        self.read(&issuer_state_key(key))?.ok_or(EntryError::UnknownIssuer)
    }

    fn require_admin(&self, dept: &str, signer: &PublicKey) -> Result<(), EntryError> {
        let d = self.department(dept)?;
        if d.admin_keys.binary_search(signer).is_ok() {
            Ok(())
        } else {
            Err(EntryError::UnknownSigner)
        }
    }

    /// The current department whose admin key `key` is.
    fn admin_department(&self, key: &PublicKey) -> Result<Option<String>, EntryError> {
        let set = self.validators()?;
        Ok(set
            .departments
            .into_iter()
            .find(|d| d.admin_keys.binary_search(key).is_ok())
            .map(|d| d.id))
    }

    /// Activates a scheduled validator set whose height has come.
    fn activate(&mut self) -> Result<(), EntryError> {
        let mut set = self.validators()?;
        let Some((h, new)) = set.pending.take() else {
            return Ok(());
        };
        if h > self.height {
            return Ok(());
        }
        for d in &set.departments {
            if new.binary_search_by(|x| x.id.cmp(&d.id)).is_err() {
                self.writes.insert(department_state_key(&d.id), None);
                self.retire_department_issuers(&d.id)?;
            }
        }
        for d in &new {
            self.write(department_state_key(&d.id), d);
        }
        set.departments = new;
        self.write(validators_state_key(), &set);
        Ok(())
    }

    /// A removed department's issuer keys lose their authority from this block on: each is
    /// retired at the block time (an earlier retirement stays), so credentials anchored before
    /// stay valid and the issuer records a verifier is shown say so.
    fn retire_department_issuers(&mut self, dept: &str) -> Result<(), EntryError> {
        let index: DepartmentIssuers =
            self.read(&department_issuers_state_key(dept))?.unwrap_or_default();
        for key in &index.keys {
            // Every indexed key has a record (both are written by RegisterIssuer and records are
            // never deleted); a missing one is skipped rather than halting the chain.
            let Some(mut rec) = self.read::<IssuerRecord>(&issuer_state_key(key))? else {
                continue;
            };
            if rec.retired_at.is_none_or(|r| r > self.time) {
                rec.retired_at = Some(self.time);
                self.write(issuer_state_key(key), &rec);
            }
        }
        Ok(())
    }

    /// Who may act on an issuer record (retire it, report its compromise): an admin of its
    /// department while that department is current; once it was removed, an admin of any current
    /// department (`specs/governance.md`, "Records of a removed department"). Returns whether
    /// the record is orphaned (its department removed).
    fn require_issuer_authority(
        &self,
        rec: &IssuerRecord,
        signer: &PublicKey,
    ) -> Result<bool, EntryError> {
        self.require_record_authority(&rec.department, signer)
    }

    /// [`Self::require_issuer_authority`] for any record owned by department `dept` (issuer and
    /// verifier records).
    fn require_record_authority(&self, dept: &str, signer: &PublicKey) -> Result<bool, EntryError> {
        if self.raw(&department_state_key(dept))?.is_some() {
            self.require_admin(dept, signer)?;
            return Ok(false);
        }
        if self.admin_department(signer)?.is_none() {
            return Err(EntryError::UnknownSigner);
        }
        Ok(true)
    }

    fn check(&self, entry: &SignedEntry) -> Result<(), EntryError> {
        let bytes = entry.to_bytes();
        if bytes.len() > MAX_ENTRY_BYTES {
            return Err(EntryError::TooLarge("signed entry"));
        }
        // Whatever is committed must decode back to itself (every bound, sorted set and string
        // class of the decoders), so that any verifier can read every leaf.
        if SignedEntry::from_bytes(&bytes).as_ref() != Ok(entry) {
            return Err(EntryError::Invalid("the entry breaks an encoding rule or bound"));
        }
        let id = entry.id();
        if self.ids.contains(&id) || self.ledger.store.has_entry(&id)? {
            return Err(EntryError::Replay);
        }
        if !(self.verified)(&bytes) {
            entry.verify_signature(&self.ledger.chain_id).map_err(|_| EntryError::BadSignature)?;
        }
        let t = self.time;
        let signer = &entry.signer;
        match &entry.body {
            EntryBody::RegisterIssuer(b) => {
                self.require_admin(&b.department, signer)?;
                if b.types.is_empty() || !strictly_ascending(&b.types) {
                    return Err(EntryError::Invalid("issuer types must be a non-empty sorted set"));
                }
                if b.valid_from >= b.valid_until {
                    return Err(EntryError::Invalid("valid_from must precede valid_until"));
                }
                if b.valid_until <= t {
                    return Err(EntryError::Invalid("registration already expired"));
                }
                check_names(&b.name_zh, &b.name_en)?;
                for ty in &b.types {
                    let owner: TypeRecord =
                        self.read(&type_state_key(ty))?.ok_or(EntryError::UnknownType)?;
                    if owner.department != b.department {
                        return Err(EntryError::NotAuthorised(
                            "the type belongs to another department",
                        ));
                    }
                }
                if self.raw(&issuer_state_key(&b.issuer_key))?.is_some() {
                    return Err(EntryError::AlreadyRegistered("issuer key"));
                }
                let index: DepartmentIssuers =
                    self.read(&department_issuers_state_key(&b.department))?.unwrap_or_default();
                if index.keys.len() >= MAX_DEPARTMENT_ISSUERS as usize {
                    return Err(EntryError::TooLarge("issuer keys of the department"));
                }
            }
            EntryBody::RetireIssuer(b) => {
                let rec = self.issuer(&b.issuer_key)?;
                self.require_issuer_authority(&rec, signer)?;
                if b.at < t {
                    return Err(EntryError::Invalid("retirement may not be in the past"));
                }
                if rec.retired_at.is_some() {
                    return Err(EntryError::Invalid("issuer already retired"));
                }
            }
            EntryBody::CompromiseIssuer(b) => {
                let rec = self.issuer(&b.issuer_key)?;
                // Backdating invalidates credentials already issued: only the department's own
                // admins may do it. The key itself (perhaps in a thief's hands) and the admins of
                // other departments acting on a removed department's key report a compromise
                // from the block time on.
                let backdating_allowed = if *signer == b.issuer_key {
                    false
                } else {
                    !self.require_issuer_authority(&rec, signer)?
                };
                if b.since < t && !backdating_allowed {
                    return Err(EntryError::NotAuthorised(
                        "only the department's admins may backdate a compromise",
                    ));
                }
                if rec.compromised_since.is_some_and(|s| s <= b.since) {
                    return Err(EntryError::Invalid("already compromised since an earlier time"));
                }
            }
            EntryBody::RegisterType(b) => {
                if self.admin_department(signer)?.is_none() {
                    return Err(EntryError::UnknownSigner);
                }
                if !is_token(&b.type_id) {
                    return Err(EntryError::Invalid("type id"));
                }
                check_names(&b.name_zh, &b.name_en)?;
                let mut names = BTreeSet::new();
                for c in &b.claims {
                    if !is_token(&c.name) || !names.insert(c.name.as_str()) {
                        return Err(EntryError::Invalid("claim names must be distinct tokens"));
                    }
                    check_names(&c.display_zh, &c.display_en)?;
                }
                if b.claims.len() > MAX_CLAIMS as usize {
                    return Err(EntryError::TooLarge("claims"));
                }
                if self.raw(&type_state_key(&b.type_id))?.is_some() {
                    return Err(EntryError::AlreadyRegistered("credential type"));
                }
            }
            EntryBody::RegisterVerifier(b) => {
                self.require_admin(&b.department, signer)?;
                if !is_token(&b.verifier_id) {
                    return Err(EntryError::Invalid("verifier id"));
                }
                check_names(&b.name_zh, &b.name_en)?;
                if b.purposes.is_empty() {
                    return Err(EntryError::Invalid("a verifier needs a purpose"));
                }
                let ids: Vec<&str> = b.purposes.iter().map(|p| p.id.as_str()).collect();
                if !strictly_ascending(&ids)
                    || b.purposes.iter().any(|p| !strictly_ascending(&p.claims))
                {
                    return Err(EntryError::Invalid(
                        "purposes and their claims must be sorted sets",
                    ));
                }
                if self.raw(&verifier_state_key(&b.verifier_id))?.is_some() {
                    return Err(EntryError::AlreadyRegistered("verifier id"));
                }
            }
            EntryBody::RotateVerifier(b) => {
                let rec = self.verifier(&b.verifier_id)?;
                self.require_record_authority(&rec.registration.department, signer)?;
                if rec.retired_at.is_some() {
                    return Err(EntryError::Invalid("verifier retired"));
                }
                if rec.registration.verifier_key == b.new_key {
                    return Err(EntryError::Invalid("the new key is the current key"));
                }
            }
            EntryBody::RetireVerifier(b) => {
                let rec = self.verifier(&b.verifier_id)?;
                self.require_record_authority(&rec.registration.department, signer)?;
                if rec.retired_at.is_some() {
                    return Err(EntryError::Invalid("verifier already retired"));
                }
            }
            EntryBody::AnchorIssuance(b) => {
                let rec = self.issuer(signer).map_err(|_| EntryError::UnknownSigner)?;
                if self.raw(&type_state_key(&b.type_id))?.is_none() {
                    return Err(EntryError::UnknownType);
                }
                if self.raw(&department_state_key(&rec.department))?.is_none() {
                    return Err(EntryError::NotAuthorised("the issuer's department was removed"));
                }
                rec.authorised_at(&b.type_id, t)
                    .map_err(|e| EntryError::NotAuthorised(e.as_str()))?;
                if self.raw(&credential_state_key(&b.credential_id))?.is_some() {
                    return Err(EntryError::AlreadyAnchored);
                }
            }
            EntryBody::ChangeStatus(b) => {
                let cred: CredentialRecord = self
                    .read(&credential_state_key(&b.credential_id))?
                    .ok_or(EntryError::UnknownCredential)?;
                let rec = self.issuer(signer).map_err(|_| EntryError::UnknownSigner)?;
                if rec.department != cred.department {
                    return Err(EntryError::WrongDepartment);
                }
                rec.key_valid_at(t).map_err(|e| EntryError::NotAuthorised(e.as_str()))?;
                if cred.status == CredentialStatus::Revoked {
                    return Err(EntryError::RevokedIsFinal);
                }
            }
            EntryBody::ChangeValidators(b) => self.check_governance(b, signer)?,
        }
        Ok(())
    }

    fn check_governance(&self, b: &ChangeValidators, signer: &PublicKey) -> Result<(), EntryError> {
        let set = self.validators()?;
        if set.pending.is_some() {
            return Err(EntryError::BadGovernance("a validator change is already scheduled"));
        }
        if self.admin_department(signer)?.is_none() {
            return Err(EntryError::UnknownSigner);
        }
        if b.effective_height <= self.height {
            return Err(EntryError::BadGovernance(
                "effective height must be above the current height",
            ));
        }
        next_department_set(&self.ledger.chain_id, &set.departments, b)
            .map_err(|e| EntryError::BadGovernance(e.message()))?;
        Ok(())
    }

    fn apply(&mut self, entry: &SignedEntry, log_index: u64) -> Result<(), EntryError> {
        self.check(entry)?;
        let t = self.time;
        match &entry.body {
            EntryBody::RegisterIssuer(b) => {
                let rec = IssuerRecord {
                    department: b.department.clone(),
                    issuer_key: b.issuer_key,
                    types: b.types.clone(),
                    valid_from: b.valid_from,
                    valid_until: b.valid_until,
                    retired_at: None,
                    compromised_since: None,
                    name_zh: b.name_zh.clone(),
                    name_en: b.name_en.clone(),
                };
                self.write(issuer_state_key(&b.issuer_key), &rec);
                let index_key = department_issuers_state_key(&b.department);
                let mut index: DepartmentIssuers = self.read(&index_key)?.unwrap_or_default();
                index.keys.push(b.issuer_key);
                self.write(index_key, &index);
            }
            EntryBody::RetireIssuer(b) => {
                let mut rec = self.issuer(&b.issuer_key)?;
                rec.retired_at = Some(b.at);
                self.write(issuer_state_key(&b.issuer_key), &rec);
            }
            EntryBody::CompromiseIssuer(b) => {
                let mut rec = self.issuer(&b.issuer_key)?;
                rec.compromised_since = Some(b.since);
                self.write(issuer_state_key(&b.issuer_key), &rec);
            }
            EntryBody::RegisterType(b) => {
                let department = self.admin_department(&entry.signer)?.unwrap_or_default();
                self.write(type_state_key(&b.type_id), &TypeRecord { def: b.clone(), department });
            }
            EntryBody::RegisterVerifier(b) => {
                let rec = VerifierRecord { registration: b.clone(), retired_at: None };
                self.write(verifier_state_key(&b.verifier_id), &rec);
            }
            EntryBody::RotateVerifier(b) => {
                let mut rec = self.verifier(&b.verifier_id)?;
                rec.registration.verifier_key = b.new_key;
                self.write(verifier_state_key(&b.verifier_id), &rec);
            }
            EntryBody::RetireVerifier(b) => {
                let mut rec = self.verifier(&b.verifier_id)?;
                rec.retired_at = Some(t);
                self.write(verifier_state_key(&b.verifier_id), &rec);
            }
            EntryBody::AnchorIssuance(b) => {
                let issuer = self.issuer(&entry.signer)?;
                let rec = CredentialRecord {
                    credential_id: b.credential_id,
                    type_id: b.type_id.clone(),
                    issuer_key: entry.signer,
                    department: issuer.department,
                    commitment: b.commitment,
                    anchored_height: self.height,
                    anchored_time: t,
                    log_index,
                    status: CredentialStatus::Active,
                    status_reason: 0,
                    status_time: t,
                };
                self.write(credential_state_key(&b.credential_id), &rec);
            }
            EntryBody::ChangeStatus(b) => {
                let key = credential_state_key(&b.credential_id);
                let mut rec: CredentialRecord =
                    self.read(&key)?.ok_or(EntryError::UnknownCredential)?;
                rec.status = b.status;
                rec.status_reason = b.reason;
                rec.status_time = t;
                self.write(key, &rec);
            }
            EntryBody::ChangeValidators(b) => {
                let mut set = self.validators()?;
                let new = resulting_set(&set.departments, b).map_err(EntryError::BadGovernance)?;
                self.history.push((b.effective_height, new.clone()));
                set.pending = Some((b.effective_height, new));
                self.write(validators_state_key(), &set);
            }
        }
        self.ids.insert(entry.id());
        let leaf = LogLeaf { height: self.height, time: t, entry: entry.clone() };
        self.leaves.push(leaf.to_bytes());
        Ok(())
    }
}

fn check_names(zh: &str, en: &str) -> Result<(), EntryError> {
    if zh.len() > MAX_NAME as usize || en.len() > MAX_NAME as usize {
        return Err(EntryError::TooLarge("name"));
    }
    Ok(())
}

fn resulting_set(
    current: &[Department],
    b: &ChangeValidators,
) -> Result<Vec<Department>, &'static str> {
    let mut map: BTreeMap<String, Department> =
        current.iter().map(|d| (d.id.clone(), d.clone())).collect();
    for id in &b.remove {
        if map.remove(id).is_none() {
            return Err("removes a department that is not in the set");
        }
    }
    for d in &b.add {
        if map.insert(d.id.clone(), d.clone()).is_some() {
            return Err("adds a department that is already in the set");
        }
    }
    Ok(map.into_values().collect())
}

/// Why a validator change breaks the governance rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChangeRuleError {
    /// The resulting set would be unsafe or invalid.
    Unsafe(&'static str),
    /// The approvals do not meet the rule.
    BadApproval(&'static str),
}

impl ChangeRuleError {
    /// The reason.
    pub fn message(&self) -> &'static str {
        match self {
            Self::Unsafe(m) | Self::BadApproval(m) => m,
        }
    }
}

/// The governance rule for a validator change, shared by the ledger and the light client: the
/// department set after `change` is applied to `current`, provided the change changes something,
/// removes at most [`max_removals`] members, removes only members and adds only non-members,
/// leaves a valid set (after a removal, one of at least 4 departments, so that it still
/// tolerates a faulty member under the BFT rule `n >= 3f + 1`), and is approved by admin keys of more than two thirds of the current
/// departments (one approval each, every signature valid under `GOVERNANCE_APPROVAL`).
/// Who signed the entry and when it takes effect are the caller's checks.
pub fn next_department_set(
    chain_id: &str,
    current: &[Department],
    change: &ChangeValidators,
) -> Result<Vec<Department>, ChangeRuleError> {
    use ChangeRuleError::{BadApproval, Unsafe};
    if change.add.is_empty() && change.remove.is_empty() {
        return Err(Unsafe("the change changes nothing"));
    }
    let n = current.len();
    if change.remove.len() > max_removals(n) {
        return Err(Unsafe("removes more than floor((n-1)/3) departments"));
    }
    let next = resulting_set(current, change).map_err(Unsafe)?;
    check_department_set(&next).map_err(Unsafe)?;
    if !change.remove.is_empty() && max_removals(next.len()) == 0 {
        return Err(Unsafe(
            "a removal must leave at least 4 departments (a set that tolerates one faulty member)",
        ));
    }
    let msg = change.approval_message(chain_id);
    let mut approving = BTreeSet::new();
    for a in &change.approvals {
        let dept = current
            .iter()
            .find(|d| d.admin_keys.binary_search(&a.admin_key).is_ok())
            .map(|d| d.id.as_str())
            .ok_or(BadApproval("approval by a key that is not a current admin key"))?;
        if !approving.insert(dept) {
            return Err(BadApproval("two approvals from one department"));
        }
        a.admin_key
            .verify(ns::GOVERNANCE_APPROVAL, &msg, &a.signature)
            .map_err(|_| BadApproval("an approval signature is invalid"))?;
    }
    if approving.len() < quorum_threshold(n) {
        return Err(BadApproval("approvals from no more than two thirds of the departments"));
    }
    Ok(next)
}

impl Ledger<MemLedgerStore> {
    /// The in-memory ledger at genesis (height 0, empty log).
    pub fn from_genesis(genesis: &Genesis) -> Result<Self, EntryError> {
        Self::from_genesis_in(genesis, MemLedgerStore::default())
    }
}

/// The validator set deciding `height`, given the committed history and sets a pending block
/// adds.
fn set_at(
    history: &BTreeMap<u64, Vec<Department>>,
    added: &[(u64, Vec<Department>)],
    height: u64,
) -> Vec<Department> {
    let committed = history.range(..=height).next_back();
    let pending = added.iter().filter(|(h, _)| *h <= height).max_by_key(|(h, _)| *h);
    match (committed, pending) {
        (Some((hc, c)), Some((hp, p))) => {
            if hp >= hc {
                p.clone()
            } else {
                c.clone()
            }
        }
        (Some((_, c)), None) => c.clone(),
        (None, Some((_, p))) => p.clone(),
        (None, None) => Vec::new(),
    }
}

impl<S: LedgerStore> Ledger<S> {
    /// The ledger at genesis with its state, log and entry ids in `store`, which must be empty;
    /// the genesis state is written to it.
    pub fn from_genesis_in(genesis: &Genesis, mut store: S) -> Result<Self, EntryError> {
        if !is_token(&genesis.chain_id) {
            return Err(EntryError::BadGenesis("chain id must be printable ASCII, 1..=64 bytes"));
        }
        check_department_set(&genesis.departments).map_err(EntryError::BadGenesis)?;
        if store.head()?.is_some() {
            return Err(EntryError::BadGenesis("the store already holds a ledger"));
        }
        let mut state = Smt::new(Delta::new(&store));
        for d in &genesis.departments {
            state.insert(department_state_key(&d.id), encode_record(d))?;
        }
        let set = ValidatorSetRecord { departments: genesis.departments.clone(), pending: None };
        state.insert(validators_state_key(), encode_record(&set))?;
        let head = LedgerHead {
            height: 0,
            time: genesis.genesis_time,
            state_root: state.root(),
            state_len: state.len(),
            log_size: 0,
            log_root: merkle::empty_root(),
        };
        let (nodes, stale_nodes, values) = state.into_store().into_writes();
        let changes = LedgerChanges {
            parent: None,
            head: Some(head),
            nodes,
            stale_nodes,
            values,
            log: Vec::new(),
            entry_ids: Vec::new(),
            validator_sets: vec![(0, genesis.departments.clone())],
        };
        store.apply(&changes)?;
        let mut validator_history = BTreeMap::new();
        validator_history.insert(0, genesis.departments.clone());
        Ok(Self {
            chain_id: genesis.chain_id.clone(),
            genesis_time: genesis.genesis_time,
            head,
            store,
            validator_history,
        })
    }

    /// Opens the ledger kept in `store` at its last written head, without replaying anything
    /// (an empty store starts at genesis). Checks that the store belongs to `genesis` and that
    /// the stored state root node and log hashes give the stored roots (`O(log n)` reads), so a
    /// damaged head is reported here rather than served.
    pub fn open(genesis: &Genesis, store: S) -> Result<Self, OpenError> {
        let Some(head) = store.head()? else {
            return Ok(Self::from_genesis_in(genesis, store)?);
        };
        let sets = store.validator_sets()?;
        match sets.first() {
            Some((0, first)) if *first == genesis.departments => {}
            _ => return Err(OpenError::OtherChain("the founding validator set differs")),
        }
        if head.state_root != crate::smt::empty_hash() {
            let node = store
                .smt_node(&head.state_root)
                .map_err(|_| OpenError::Damaged("the state root node cannot be read"))?
                .ok_or(OpenError::Damaged("the state root node is missing"))?;
            if node.hash() != head.state_root {
                return Err(OpenError::Damaged("the state root node does not hash to the root"));
            }
        }
        let log = LogDelta::new(&store, head.log_size);
        match merkle::root_at(&log, head.log_size) {
            Ok(r) if r == head.log_root => {}
            Ok(_) => return Err(OpenError::Damaged("the log hashes do not give the log root")),
            Err(_) => return Err(OpenError::Damaged("a log hash is missing")),
        }
        Ok(Self {
            chain_id: genesis.chain_id.clone(),
            genesis_time: genesis.genesis_time,
            head,
            store,
            validator_history: sets.into_iter().collect(),
        })
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The head: height, time, roots and sizes of the last applied block.
    pub fn head(&self) -> LedgerHead {
        self.head
    }

    /// The chain id.
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }

    /// The genesis time.
    pub fn genesis_time(&self) -> u64 {
        self.genesis_time
    }

    /// Height of the last applied block (0 at genesis).
    pub fn height(&self) -> u64 {
        self.head.height
    }

    /// Time of the last applied block (the genesis time at genesis).
    pub fn time(&self) -> u64 {
        self.head.time
    }

    /// Checks `entry` as if it were the only entry of the next block, at `time`.
    pub fn validate(&self, entry: &SignedEntry, time: u64) -> Result<(), EntryError> {
        self.validate_with(entry, time, &none_verified)
    }

    /// [`Ledger::validate`], skipping the signature check when `verified` says the caller
    /// already verified exactly these signed bytes.
    pub fn validate_with(
        &self,
        entry: &SignedEntry,
        time: u64,
        verified: VerifiedFn<'_>,
    ) -> Result<(), EntryError> {
        let mut ov = Overlay::new(self, self.head.height.saturating_add(1), time, verified);
        ov.activate()?;
        ov.check(entry)
    }

    /// Applies a block: all entries or none. Heights follow one another, times never decrease.
    pub fn apply_block(
        &mut self,
        height: u64,
        time: u64,
        entries: &[SignedEntry],
    ) -> Result<BlockOutcome, EntryError> {
        self.apply_block_with(height, time, entries, &none_verified)
    }

    /// [`Ledger::apply_block`], skipping the signature check of each entry whose canonical
    /// signed bytes `verified` reports as already verified by the caller (under
    /// `SignedEntry::verify_signature` with this chain id). Every other check runs. A caller
    /// must only report bytes it verified itself: the result is then identical to
    /// `apply_block`, only cheaper (the node verifies each entry's signature once, on arrival).
    pub fn apply_block_with(
        &mut self,
        height: u64,
        time: u64,
        entries: &[SignedEntry],
        verified: VerifiedFn<'_>,
    ) -> Result<BlockOutcome, EntryError> {
        let executed = self.execute(height, time, entries, verified)?;
        self.commit(executed)
    }

    /// Executes a block on an overlay of the committed ledger (reads go through to the store;
    /// nothing is copied, nothing changes): `O(entries × log n)` store reads. The result is
    /// committed with [`Ledger::commit`] (or written by the embedder and adopted with
    /// [`Ledger::adopt`]) while the ledger is still at the head it was executed on.
    pub fn execute(
        &self,
        height: u64,
        time: u64,
        entries: &[SignedEntry],
        verified: VerifiedFn<'_>,
    ) -> Result<Executed, EntryError> {
        if Some(height) != self.head.height.checked_add(1) {
            return Err(EntryError::BadBlock("height must follow the last height"));
        }
        if time < self.head.time {
            return Err(EntryError::BadBlock("time may not go backwards"));
        }
        if entries.len() > MAX_BLOCK_ENTRIES {
            return Err(EntryError::BadBlock("too many entries"));
        }
        let mut ov = Overlay::new(self, height, time, verified);
        ov.activate()?;
        let base = self.head.log_size;
        for (i, e) in entries.iter().enumerate() {
            ov.apply(e, base.saturating_add(i as u64))?;
        }
        let Overlay { writes, leaves, history, .. } = ov;
        let mut state =
            Smt::open(Delta::new(&self.store), self.head.state_root, self.head.state_len);
        for (key, value) in writes {
            match value {
                Some(v) => state.insert(key, v)?,
                None => {
                    state.remove(&key)?;
                }
            }
        }
        let mut log = LogDelta::new(&self.store, base);
        for leaf in &leaves {
            log.append(merkle::leaf_hash(leaf))
                .map_err(|_| EntryError::BadBlock("the log is full"))?;
        }
        let log_size = merkle::HashStore::size(&log);
        let log_root = merkle::root_at(&log, log_size)
            .map_err(|_| EntryError::Store(SmtError::Store("a log hash is missing")))?;
        let head = LedgerHead {
            height,
            time,
            state_root: state.root(),
            state_len: state.len(),
            log_size,
            log_root,
        };
        let validators_changed =
            set_at(&self.validator_history, &history, height.saturating_add(1))
                != set_at(&self.validator_history, &history, height);
        let (nodes, stale_nodes, values) = state.into_store().into_writes();
        let changes = LedgerChanges {
            parent: Some(self.head),
            head: Some(head),
            nodes,
            stale_nodes,
            values,
            log: log.into_nodes(),
            // In block order: the node stores each id with its location.
            entry_ids: entries.iter().map(SignedEntry::id).collect(),
            validator_sets: history,
        };
        let outcome =
            BlockOutcome { log_size, log_root, state_root: head.state_root, validators_changed };
        Ok(Executed { outcome, changes })
    }

    /// Writes an executed block to the store and moves the head.
    pub fn commit(&mut self, executed: Executed) -> Result<BlockOutcome, EntryError> {
        if executed.changes.parent != Some(self.head) {
            return Err(EntryError::BadBlock("the block was executed on another state"));
        }
        self.store.apply(&executed.changes)?;
        self.adopt(&executed)
    }

    /// Moves the head to an executed block whose changes the embedder already wrote to the
    /// store (the node writes them in the same transaction as the block). Refused unless the
    /// store's head is the block's.
    pub fn adopt(&mut self, executed: &Executed) -> Result<BlockOutcome, EntryError> {
        if executed.changes.parent != Some(self.head) {
            return Err(EntryError::BadBlock("the block was executed on another state"));
        }
        if self.store.head()? != executed.changes.head {
            return Err(EntryError::Store(SmtError::Store("the store does not hold the block")));
        }
        let head = executed.changes.new_head()?;
        for (h, set) in &executed.changes.validator_sets {
            self.validator_history.insert(*h, set.clone());
        }
        self.head = head;
        Ok(executed.outcome)
    }

    fn log_view(&self) -> LogDelta<'_, S> {
        LogDelta::new(&self.store, self.head.log_size)
    }

    fn state_view(&self) -> Smt<Delta<'_, S>> {
        Smt::open(Delta::new(&self.store), self.head.state_root, self.head.state_len)
    }

    /// The state root.
    pub fn state_root(&self) -> Hash {
        self.head.state_root
    }

    /// The log size.
    pub fn log_size(&self) -> u64 {
        self.head.log_size
    }

    /// The log root at the current size.
    pub fn log_root(&self) -> Hash {
        self.head.log_root
    }

    /// The RFC 9162 leaf hash of log entry `index`.
    pub fn log_leaf_hash(&self, index: u64) -> Option<Hash> {
        if index >= self.head.log_size {
            return None;
        }
        self.store.log_hash(0, index).ok().flatten()
    }

    /// The log root at an earlier `size`.
    pub fn log_root_at(&self, size: u64) -> Result<Hash, LogError> {
        merkle::root_at(&self.log_view(), size)
    }

    /// An RFC 9162 inclusion proof of leaf `index` in the tree of size `size`.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<InclusionProof, LogError> {
        let path = merkle::inclusion_proof(&self.log_view(), index, size)?;
        Ok(InclusionProof { index, size, path })
    }

    /// An RFC 9162 consistency proof between two sizes.
    pub fn consistency_proof(&self, size1: u64, size2: u64) -> Result<ConsistencyProof, LogError> {
        let path = merkle::consistency_proof(&self.log_view(), size1, size2)?;
        Ok(ConsistencyProof { size1, size2, path })
    }

    /// A state proof for `key` under [`Ledger::state_root`].
    pub fn prove_state(&self, key: &Hash) -> Result<SmtProof, SmtError> {
        self.state_view().prove(key)
    }

    /// The raw state value of `key`.
    pub fn state_value(&self, key: &Hash) -> Result<Option<Vec<u8>>, SmtError> {
        self.store.state_value(key)
    }

    fn record<T: Decode>(&self, key: &Hash) -> Option<T> {
        self.store.state_value(key).ok().flatten().and_then(|b| T::from_bytes(&b).ok())
    }

    /// A current department.
    pub fn department(&self, id: &str) -> Option<Department> {
        self.record(&department_state_key(id))
    }

    /// An issuer record.
    pub fn issuer(&self, key: &PublicKey) -> Option<IssuerRecord> {
        self.record(&issuer_state_key(key))
    }

    /// A credential type record.
    pub fn credential_type(&self, type_id: &str) -> Option<TypeRecord> {
        self.record(&type_state_key(type_id))
    }

    /// A verifier record.
    pub fn verifier(&self, verifier_id: &str) -> Option<VerifierRecord> {
        self.record(&verifier_state_key(verifier_id))
    }

    /// A credential record.
    pub fn credential(&self, credential_id: &[u8; 32]) -> Option<CredentialRecord> {
        self.record(&credential_state_key(credential_id))
    }

    /// The validator set record (current set and any scheduled change).
    pub fn validator_record(&self) -> Option<ValidatorSetRecord> {
        self.record(&validators_state_key())
    }

    /// The current validator set (departments, ascending by id).
    pub fn validators(&self) -> Vec<Department> {
        self.validator_record().map(|r| r.departments).unwrap_or_default()
    }

    /// The validator set that decides block `height` (including scheduled changes).
    pub fn validator_set_at(&self, height: u64) -> Vec<Department> {
        set_at(&self.validator_history, &[], height)
    }

    /// Whether an entry body was already committed (a failed store read answers `false`).
    pub fn is_committed(&self, id: &Hash) -> bool {
        self.store.has_entry(id).unwrap_or(false)
    }
}
