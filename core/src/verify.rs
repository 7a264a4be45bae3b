//! The one verification pipeline: `verify(bundle, trust_root, policy, now)`.
//!
//! The same function runs in the node, the wallet (`certledger-wallet verify`) and the browser
//! (`certledger-verifier`), so all three accept and refuse exactly the same bundles. It keeps
//! "could not decide" ([`VerifyError`]: the input is malformed) apart from "decided: invalid"
//! ([`Verdict::Invalid`] with a typed [`Invalid`] reason). Steps, in order (the first failing
//! step gives the reason; `specs/bundle.md` is normative):
//!
//! 1. the checkpoint carries more than the trust root's threshold of valid signatures from its
//!    department keys, for the trust root's origin;
//! 2. the checkpoint is not older than the policy allows (nor from the future);
//! 3. the anchor entry is in the log under that checkpoint (RFC 9162 inclusion proof) and is an
//!    issuance anchor (its signature was verified by the validators that committed it; the
//!    quorum-cosigned checkpoint attests that);
//! 4. the credential record and the issuer record are in the state committed by the checkpoint
//!    (sparse Merkle proofs) and agree with the anchor;
//! 5. the presentation's issuer signature verifies under the anchored issuer key, and its
//!    commitment equals the anchored commitment;
//! 6. the issuer was authorised for the credential type at the anchor's ledger time and its key
//!    was not compromised by then;
//! 7. the credential's status as of the checkpoint is active;
//! 8. the credential is inside its validity period at `now`;
//! 9. holder binding: the key-binding JWT verifies under the credential's `cnf` key and matches
//!    the verifier's nonce and audience, fresh at `now` (fail closed);
//! 10. the policy: accepted type, required level of assurance, required claims disclosed.
//!
//! A verifier that decides many bundles under one trust root uses a [`Verifier`]: the same
//! verdicts, with each checkpoint's quorum signatures checked once (`specs/verifier.md`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::bundle::{Bundle, BundleError, LinkedBundle, Presentation, Proofs};
use crate::ledger::{self, CredentialStatus, EntryBody};
use crate::merkle;
use crate::note::{self, CheckpointError, LedgerCheckpoint, NoteKey, Quorum};
use crate::profiles;
use crate::pseudonym::PseudonymProof;
use crate::sdjwt;
use crate::sig::{PreparedKey, PublicKey};
use crate::w3c;

/// Whom the verifier trusts: the department keys that must cosign checkpoints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustRoot {
    /// The ledger's chain id (also the checkpoint origin).
    pub chain_id: String,
    /// The department node keys (note verifier keys).
    pub keys: Vec<NoteKey>,
    /// How many distinct keys must sign a checkpoint.
    pub threshold: usize,
}

/// The JSON form of a [`TrustRoot`] (`specs/bundle.md`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustRootJson {
    /// Format version, 1.
    pub version: u32,
    /// The chain id.
    pub chain_id: String,
    /// C2SP verifier keys `name+keyid+base64`.
    pub keys: Vec<String>,
    /// Distinct signatures needed.
    pub threshold: usize,
    /// Optional: the departments behind `keys`, with their admin keys, so that a light client can
    /// follow validator changes from this set (`lightclient::GovernanceTrust`). When present it
    /// lists exactly the departments of `keys`, in the same order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub departments: Option<Vec<DepartmentJson>>,
}

/// A department in a trust root's JSON form (the genesis file's department form).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepartmentJson {
    /// The department id (also its checkpoint key name).
    pub id: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Node (checkpoint) key, base64url (32 bytes).
    pub node_key: String,
    /// Admin keys (approve validator changes), base64url (32 bytes each), strictly ascending.
    pub admin_keys: Vec<String>,
}

/// Longest trust-root JSON accepted, in bytes.
pub const MAX_TRUST_ROOT_BYTES: usize = 64 * 1024;
/// Most department keys in a trust root.
pub const MAX_TRUST_ROOT_KEYS: usize = 256;

impl TrustRoot {
    /// The trust root for a genesis: every founding department's node key, threshold more than
    /// two thirds.
    pub fn from_genesis(genesis: &ledger::Genesis) -> Self {
        Self::from_departments(&genesis.chain_id, &genesis.departments)
    }

    /// The trust root of a department set under `chain_id`: every department's node key, named
    /// by its id, in the order given; threshold more than two thirds
    /// ([`ledger::quorum_threshold`]). The one place a department set becomes checkpoint trust
    /// ([`TrustRoot::quorum`] then gives the quorum).
    pub fn from_departments(chain_id: &str, departments: &[ledger::Department]) -> Self {
        let keys: Vec<NoteKey> =
            departments.iter().map(|d| NoteKey { name: d.id.clone(), key: d.node_key }).collect();
        let threshold = ledger::quorum_threshold(keys.len());
        Self { chain_id: chain_id.to_owned(), keys, threshold }
    }

    /// Parses the JSON form, strictly and with bounds.
    pub fn from_json(text: &str) -> Result<Self, VerifyError> {
        Self::from_json_with_departments(text).map(|(root, _)| root)
    }

    /// Parses the JSON form like [`TrustRoot::from_json`] and also returns its optional
    /// `departments` (checked to list exactly the departments of `keys`, in order).
    pub fn from_json_with_departments(
        text: &str,
    ) -> Result<(Self, Option<Vec<ledger::Department>>), VerifyError> {
        let json: TrustRootJson =
            from_strict_json(text, MAX_TRUST_ROOT_BYTES).map_err(VerifyError::TrustRoot)?;
        if json.version != 1 {
            return Err(VerifyError::TrustRoot("unsupported trust root version"));
        }
        if json.keys.is_empty() || json.keys.len() > MAX_TRUST_ROOT_KEYS {
            return Err(VerifyError::TrustRoot("trust root must list 1 to 256 keys"));
        }
        let keys = json
            .keys
            .iter()
            .map(|k| NoteKey::parse_verifier_key(k))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| VerifyError::TrustRoot("a trust root key is malformed"))?;
        let root = Self { chain_id: json.chain_id, keys, threshold: json.threshold };
        root.check()?;
        let departments = match json.departments {
            None => None,
            Some(list) => {
                let mut departments = Vec::with_capacity(list.len());
                for d in list {
                    departments.push(ledger::Department {
                        node_key: key_from_base64url(&d.node_key)?,
                        admin_keys: d
                            .admin_keys
                            .iter()
                            .map(|k| key_from_base64url(k))
                            .collect::<Result<_, _>>()?,
                        id: d.id,
                        name_zh: d.name_zh,
                        name_en: d.name_en,
                    });
                }
                let same = departments.len() == root.keys.len()
                    && departments
                        .iter()
                        .zip(&root.keys)
                        .all(|(d, k)| d.id == k.name && d.node_key == k.key);
                if !same {
                    return Err(VerifyError::TrustRoot(
                        "departments must list exactly the departments of the keys, in order",
                    ));
                }
                Some(departments)
            }
        };
        Ok((root, departments))
    }

    /// The JSON form.
    pub fn to_json(&self) -> String {
        self.to_json_inner(None)
    }

    /// The JSON form with the `departments` behind the keys (for a verifier that will follow
    /// validator changes). `departments` should be the departments of `keys`, in order.
    pub fn to_json_with_departments(&self, departments: &[ledger::Department]) -> String {
        self.to_json_inner(Some(departments))
    }

    fn to_json_inner(&self, departments: Option<&[ledger::Department]>) -> String {
        let json = TrustRootJson {
            version: 1,
            chain_id: self.chain_id.clone(),
            keys: self.keys.iter().map(NoteKey::verifier_key).collect(),
            threshold: self.threshold,
            departments: departments.map(|list| {
                list.iter()
                    .map(|d| DepartmentJson {
                        id: d.id.clone(),
                        name_zh: d.name_zh.clone(),
                        name_en: d.name_en.clone(),
                        node_key: key_to_base64url(&d.node_key),
                        admin_keys: d.admin_keys.iter().map(key_to_base64url).collect(),
                    })
                    .collect()
            }),
        };
        serde_json::to_string_pretty(&json).unwrap_or_default()
    }

    fn check(&self) -> Result<(), VerifyError> {
        // A trust root whose threshold is not a BFT quorum of its keys would let a minority
        // forge checkpoints: refuse it rather than verify against it.
        if self.threshold < ledger::quorum_threshold(self.keys.len())
            || self.threshold > self.keys.len()
        {
            return Err(VerifyError::TrustRoot("threshold must be more than 2/3 of the keys"));
        }
        Ok(())
    }

    /// The checkpoint quorum this trust root stands for: its chain id as the origin, its keys
    /// and threshold. The one conversion every component uses (node, wallet, browser, light
    /// client).
    pub fn quorum(&self) -> Quorum {
        Quorum { origin: self.chain_id.clone(), keys: self.keys.clone(), threshold: self.threshold }
    }
}

fn key_from_base64url(text: &str) -> Result<PublicKey, VerifyError> {
    use base64::Engine as _;
    let bad = VerifyError::TrustRoot("a department key is not 32 bytes of base64url");
    let bytes =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).map_err(|_| bad.clone())?;
    Ok(PublicKey(bytes.try_into().map_err(|_| bad)?))
}

fn key_to_base64url(key: &PublicKey) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.0)
}

/// Parses bounded, strict JSON (duplicate keys refused) into `T`.
fn from_strict_json<T: serde::de::DeserializeOwned>(
    text: &str,
    max_bytes: usize,
) -> Result<T, &'static str> {
    if text.len() > max_bytes {
        return Err("JSON is too large");
    }
    let value = crate::jcs::parse_strict(text).map_err(|_| "not valid JSON")?;
    serde_json::from_value(value).map_err(|_| "JSON has the wrong shape")
}

/// What the verifier asked for in this exchange. Nonce and audience are not optional: a verifier
/// cannot verify a holder-bound credential without them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Challenge {
    /// The fresh nonce of the verifier's request.
    pub nonce: String,
    /// The verifier's audience identifier.
    pub audience: String,
}

/// The verifier's acceptance policy. Its JSON form names the same fields; every field but
/// `challenge` has a default (see [`Policy::new`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// The exchange's nonce and audience.
    pub challenge: Challenge,
    /// Oldest checkpoint accepted, in seconds before `now`.
    #[serde(default = "default_checkpoint_age")]
    pub max_checkpoint_age_s: u64,
    /// Oldest key-binding JWT accepted, in seconds before `now`.
    #[serde(default = "default_presentation_age")]
    pub max_presentation_age_s: u64,
    /// Largest clock skew tolerated for times in the future, in seconds.
    #[serde(default = "default_skew")]
    pub max_clock_skew_s: u64,
    /// Credential types accepted; empty means every shipped type.
    #[serde(default)]
    pub accepted_types: Vec<String>,
    /// For identity attestations: the lowest level of assurance accepted.
    #[serde(default)]
    pub min_assurance_level: Option<u64>,
    /// Claims the holder must disclose.
    #[serde(default)]
    pub required_claims: Vec<String>,
}

fn default_checkpoint_age() -> u64 {
    24 * 3600
}
fn default_presentation_age() -> u64 {
    300
}
fn default_skew() -> u64 {
    60
}

/// Longest policy JSON accepted, in bytes.
pub const MAX_POLICY_BYTES: usize = 16 * 1024;

impl Policy {
    /// A policy with the default limits: checkpoints up to 24 hours old, presentations up to
    /// 5 minutes old, 60 seconds of clock skew, every shipped type.
    pub fn new(nonce: &str, audience: &str) -> Self {
        Self {
            challenge: Challenge { nonce: nonce.to_owned(), audience: audience.to_owned() },
            max_checkpoint_age_s: default_checkpoint_age(),
            max_presentation_age_s: default_presentation_age(),
            max_clock_skew_s: default_skew(),
            accepted_types: Vec::new(),
            min_assurance_level: None,
            required_claims: Vec::new(),
        }
    }

    /// Parses the JSON form, strictly and with bounds.
    pub fn from_json(text: &str) -> Result<Self, VerifyError> {
        let policy: Policy =
            from_strict_json(text, MAX_POLICY_BYTES).map_err(VerifyError::Policy)?;
        if policy.challenge.nonce.len() < 16 || policy.challenge.audience.is_empty() {
            return Err(VerifyError::Policy(
                "policy needs a nonce of 16+ characters and an audience",
            ));
        }
        Ok(policy)
    }
}

/// A disclosed claim with its display labels.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DisclosedClaim {
    /// The claim name.
    pub name: String,
    /// Its value.
    pub value: Value,
    /// Chinese label (the name itself when the type does not define one).
    pub label_zh: String,
    /// English label.
    pub label_en: String,
}

/// A bundle that passed every check.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Accepted {
    /// The credential type id (`vct`).
    pub credential_type: String,
    /// Its Chinese display name.
    pub type_name_zh: String,
    /// Its English display name.
    pub type_name_en: String,
    /// The issuing department id.
    pub issuer_department: String,
    /// The issuer key.
    pub issuer_key: PublicKey,
    /// The claims the holder disclosed (plus the always-visible claims of the type).
    pub claims: Vec<DisclosedClaim>,
    /// Ledger time at which the credential was anchored.
    pub anchored_time: u64,
    /// Height of the checkpoint the status is proven against.
    pub checkpoint_height: u64,
    /// Time of that checkpoint.
    pub checkpoint_time: u64,
    /// Credential expiry, if any.
    pub expires_at: Option<u64>,
    /// The holder key (`cnf`) the presentation was verified under; not shown in the JSON form
    /// (a verifier has no use for it beyond this exchange, and it is a linkable identifier).
    #[serde(skip)]
    pub holder_key: Option<PublicKey>,
    /// The wallet's per-verifier pseudonym (unpadded base64url of the Ed25519 public key), when
    /// a [`crate::bundle::LinkedBundle`] carried a valid pseudonym proof for this credential.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pseudonym: Option<String>,
    /// True for a credential presented together with the main one and proven to have the same
    /// holder (`specs/identity.md`); false for the main credential.
    #[serde(skip_serializing_if = "core::ops::Not::not")]
    pub linked: bool,
    /// The credentials presented together with this (main) one, each with `linked` true.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub linked_credentials: Vec<Accepted>,
}

/// Why a well-formed bundle was refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Invalid {
    /// The checkpoint is for another ledger.
    #[error("the checkpoint is for another ledger")]
    WrongLedger,
    /// Fewer distinct department signatures than the trust root's threshold.
    #[error("checkpoint not signed by a quorum of departments")]
    QuorumNotMet,
    /// A department key listed in the trust root signed something else: an attack signal.
    #[error("a department signature on the checkpoint is invalid")]
    BadCheckpointSignature,
    /// The checkpoint is older than the policy allows.
    #[error("the checkpoint is {age_s} s old, older than the policy allows")]
    StaleCheckpoint {
        /// Age in seconds.
        age_s: u64,
    },
    /// The checkpoint is dated in the future beyond the tolerated skew.
    #[error("the checkpoint is dated in the future")]
    CheckpointFromFuture,
    /// The credential's issuance is not anchored in the ledger.
    #[error("the credential is not anchored in the ledger: {0}")]
    NotAnchored(&'static str),
    /// The status or registry proofs do not match the checkpoint's state root.
    #[error("a state proof does not match the checkpoint: {0}")]
    BadStateProof(&'static str),
    /// The issuer's signature on the credential does not verify.
    #[error("the issuer signature on the credential is invalid")]
    BadIssuerSignature,
    /// The credential's selective disclosures do not match what the issuer signed.
    #[error("a disclosed claim does not match what the issuer signed")]
    TamperedDisclosure,
    /// The issuer was not authorised for this type when it issued.
    #[error("the issuer was not authorised for this credential type at issuance: {0}")]
    IssuerNotAuthorised(&'static str),
    /// The issuer key was reported compromised before this credential was anchored.
    #[error("the issuer key was compromised before this credential was issued")]
    IssuerKeyCompromised,
    /// Revoked as of the checkpoint.
    #[error("the credential has been revoked (reason code {reason})")]
    Revoked {
        /// The issuer's reason code.
        reason: u16,
    },
    /// Suspended as of the checkpoint.
    #[error("the credential is suspended (reason code {reason})")]
    Suspended {
        /// The issuer's reason code.
        reason: u16,
    },
    /// Past its expiry.
    #[error("the credential has expired")]
    Expired,
    /// Not yet valid.
    #[error("the credential is not yet valid")]
    NotYetValid,
    /// A holder-bound credential presented without a key-binding JWT.
    #[error("holder binding missing: the credential must be presented by its holder")]
    HolderBindingMissing,
    /// The key-binding JWT is not signed by the credential's holder key or does not cover the
    /// presented disclosures.
    #[error("holder binding invalid")]
    HolderBindingInvalid,
    /// The presentation answers another request.
    #[error("the presentation was made for another request (nonce mismatch)")]
    NonceMismatch,
    /// The presentation was made for another verifier.
    #[error("the presentation was made for another verifier (audience mismatch)")]
    AudienceMismatch,
    /// The key-binding JWT is too old or from the future.
    #[error("the presentation is not fresh")]
    PresentationNotFresh,
    /// The credential type is not accepted by this verifier.
    #[error("this credential type is not accepted here")]
    TypeNotAccepted,
    /// The identity attestation's level of assurance is below the policy.
    #[error("level of assurance {have} is below the required {need}")]
    AssuranceTooLow {
        /// The attested level.
        have: u64,
        /// The required level.
        need: u64,
    },
    /// A claim the verifier requires was not disclosed.
    #[error("required claim `{0}` was not disclosed")]
    ClaimNotDisclosed(String),
    /// The pseudonym proof is not the wallet's for this request and the main credential's
    /// holder key.
    #[error("the pseudonym proof does not verify for this request and credential")]
    BadPseudonymProof,
    /// A credential presented together with the main one is not proven to have its holder.
    #[error("credential {credential} is not proven to belong to the same holder")]
    BadLinkProof {
        /// Its position in the bundle (2 = the first linked credential).
        credential: u32,
    },
}

impl Invalid {
    /// A stable machine-readable code (the serde tag), e.g. `revoked`.
    pub fn code(&self) -> &'static str {
        match self {
            Invalid::WrongLedger => "wrong_ledger",
            Invalid::QuorumNotMet => "quorum_not_met",
            Invalid::BadCheckpointSignature => "bad_checkpoint_signature",
            Invalid::StaleCheckpoint { .. } => "stale_checkpoint",
            Invalid::CheckpointFromFuture => "checkpoint_from_future",
            Invalid::NotAnchored(_) => "not_anchored",
            Invalid::BadStateProof(_) => "bad_state_proof",
            Invalid::BadIssuerSignature => "bad_issuer_signature",
            Invalid::TamperedDisclosure => "tampered_disclosure",
            Invalid::IssuerNotAuthorised(_) => "issuer_not_authorised",
            Invalid::IssuerKeyCompromised => "issuer_key_compromised",
            Invalid::Revoked { .. } => "revoked",
            Invalid::Suspended { .. } => "suspended",
            Invalid::Expired => "expired",
            Invalid::NotYetValid => "not_yet_valid",
            Invalid::HolderBindingMissing => "holder_binding_missing",
            Invalid::HolderBindingInvalid => "holder_binding_invalid",
            Invalid::NonceMismatch => "nonce_mismatch",
            Invalid::AudienceMismatch => "audience_mismatch",
            Invalid::PresentationNotFresh => "presentation_not_fresh",
            Invalid::TypeNotAccepted => "type_not_accepted",
            Invalid::AssuranceTooLow { .. } => "assurance_too_low",
            Invalid::ClaimNotDisclosed(_) => "claim_not_disclosed",
            Invalid::BadPseudonymProof => "bad_pseudonym_proof",
            Invalid::BadLinkProof { .. } => "bad_link_proof",
        }
    }

    /// The reason in Chinese, for display at a counter.
    pub fn message_zh(&self) -> String {
        match self {
            Invalid::WrongLedger => "检查点不属于本账本".into(),
            Invalid::QuorumNotMet => "检查点未获得足够多部门节点的签名".into(),
            Invalid::BadCheckpointSignature => "检查点上的部门签名无效".into(),
            Invalid::StaleCheckpoint { age_s } => format!("检查点已过时（{age_s} 秒前）"),
            Invalid::CheckpointFromFuture => "检查点时间晚于当前时间".into(),
            Invalid::NotAnchored(_) => "证照未在账本上登记".into(),
            Invalid::BadStateProof(_) => "状态证明与检查点不符".into(),
            Invalid::BadIssuerSignature => "签发机构签名无效".into(),
            Invalid::TamperedDisclosure => "出示的信息与签发内容不符（可能被篡改）".into(),
            Invalid::IssuerNotAuthorised(_) => "签发机构在签发时无权签发此类证照".into(),
            Invalid::IssuerKeyCompromised => "签发密钥在签发前已被报告泄露".into(),
            Invalid::Revoked { reason } => format!("证照已被撤销（原因代码 {reason}）"),
            Invalid::Suspended { reason } => format!("证照已被暂停使用（原因代码 {reason}）"),
            Invalid::Expired => "证照已过期".into(),
            Invalid::NotYetValid => "证照尚未生效".into(),
            Invalid::HolderBindingMissing => "缺少持有人确认：必须由持有人本人出示".into(),
            Invalid::HolderBindingInvalid => "持有人确认签名无效".into(),
            Invalid::NonceMismatch => "出示内容不是针对本次请求生成的（随机数不符）".into(),
            Invalid::AudienceMismatch => "出示内容是给其他核验方的（受众不符）".into(),
            Invalid::PresentationNotFresh => "出示内容已过时".into(),
            Invalid::TypeNotAccepted => "本窗口不接受此类证照".into(),
            Invalid::AssuranceTooLow { have, need } => {
                format!("身份认证等级 {have} 低于要求的 {need}")
            }
            Invalid::ClaimNotDisclosed(name) => format!("未出示所需信息：{name}"),
            Invalid::BadPseudonymProof => {
                "化名证明无效（与本次请求或所出示证照的持有人不符）".into()
            }
            Invalid::BadLinkProof { credential } => {
                format!("无法证明第 {credential} 份证照与主证照属于同一持有人")
            }
        }
    }
}

/// The outcome of a verification that could decide.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Every check passed.
    Valid(Box<Accepted>),
    /// Refused, with the first failing reason.
    Invalid(Invalid),
}

/// The input could not be decided on: it is malformed, or the trust root is unusable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The bundle could not be decoded.
    #[error("the bundle is malformed: {0}")]
    Bundle(#[from] BundleError),
    /// The trust root is malformed or unsafe.
    #[error("the trust root is unusable: {0}")]
    TrustRoot(&'static str),
    /// The policy is malformed.
    #[error("the policy is unusable: {0}")]
    Policy(&'static str),
    /// A part of the bundle is malformed (named).
    #[error("the bundle is malformed: {0}")]
    Malformed(&'static str),
}

/// Verifies encoded bundle bytes (see [`verify`]).
pub fn verify_bytes(
    bytes: &[u8],
    trust_root: &TrustRoot,
    policy: &Policy,
    now: u64,
) -> Result<Verdict, VerifyError> {
    let bundle = Bundle::decode_bytes(bytes)?;
    verify(&bundle, trust_root, policy, now)
}

/// Decides a bundle against a trust root and policy at time `now` (Unix seconds).
pub fn verify(
    bundle: &Bundle,
    trust_root: &TrustRoot,
    policy: &Policy,
    now: u64,
) -> Result<Verdict, VerifyError> {
    trust_root.check()?;
    let checkpoint = note::verify_checkpoint(&bundle.proofs.checkpoint, &trust_root.quorum());
    decide_presentation(bundle, checkpoint, policy, now, &mut KeyCache::new(0))
}

/// Steps 2-10 of a presentation under `policy`, given step 1's outcome: the credential's own
/// checks ([`decide`]), then the policy's claim rule ([`check_policy_claims`]) over it.
fn decide_presentation(
    bundle: &Bundle,
    checkpoint: Result<LedgerCheckpoint, CheckpointError>,
    policy: &Policy,
    now: u64,
    keys: &mut KeyCache,
) -> Result<Verdict, VerifyError> {
    let mode = Mode::Presentation(policy);
    let decided = decide(&bundle.presentation, &bundle.proofs, checkpoint, mode, now, keys)?;
    to_verdict(decided.and_then(|accepted| {
        check_policy_claims(policy, &[&accepted])?;
        Ok(accepted)
    }))
}

/// The policy's claim rule, the one place it is checked: over the accepted credentials (one, or
/// a main credential and those linked to it), the highest `assurance_level` meets
/// `min_assurance_level`, and each required claim is disclosed by at least one of them. Only
/// claims that the credential's type profile defines count ([`Accepted::claims`] holds exactly
/// those), so an `assurance_level` claim slipped into a business licence counts for nothing.
fn check_policy_claims(policy: &Policy, all: &[&Accepted]) -> Result<(), Invalid> {
    if let Some(need) = policy.min_assurance_level {
        let have = all
            .iter()
            .flat_map(|a| a.claims.iter())
            .filter(|c| c.name == "assurance_level")
            .filter_map(|c| c.value.as_u64())
            .max()
            .unwrap_or(0);
        if have < need {
            return Err(Invalid::AssuranceTooLow { have, need });
        }
    }
    for name in &policy.required_claims {
        if !all.iter().any(|a| a.claims.iter().any(|c| &c.name == name)) {
            return Err(Invalid::ClaimNotDisclosed(name.clone()));
        }
    }
    Ok(())
}

/// How many checkpoint notes a [`Verifier`] remembers unless told otherwise.
pub const DEFAULT_CHECKPOINT_CACHE: usize = 64;

/// How many decoded issuer keys a [`Verifier`] remembers (`specs/verifier.md` §1).
pub const DEFAULT_KEY_CACHE: usize = 64;

/// Issuer keys decoded once ([`PreparedKey`]), bounded, oldest inserted evicted first. Decoding
/// is a pure function of the 32 key bytes, so a remembered key verifies exactly as a fresh one.
/// Capacity 0 decodes every time and remembers nothing.
#[derive(Clone, Debug)]
struct KeyCache {
    capacity: usize,
    /// Key -> (insertion number, decoded key).
    keys: BTreeMap<PublicKey, (u64, PreparedKey)>,
    /// Insertion number -> key, oldest first.
    order: BTreeMap<u64, PublicKey>,
    inserted: u64,
}

impl KeyCache {
    fn new(capacity: usize) -> Self {
        Self { capacity, keys: BTreeMap::new(), order: BTreeMap::new(), inserted: 0 }
    }

    /// `key` decoded: from the cache, or decoded now (and remembered).
    fn prepare(&mut self, key: &PublicKey) -> PreparedKey {
        if let Some((_, prepared)) = self.keys.get(key) {
            return *prepared;
        }
        let prepared = key.prepare();
        if self.capacity > 0 {
            while self.keys.len() >= self.capacity {
                let Some((_, old)) = self.order.pop_first() else { break };
                self.keys.remove(&old);
            }
            self.inserted += 1;
            self.keys.insert(*key, (self.inserted, prepared));
            self.order.insert(self.inserted, *key);
        }
        prepared
    }
}

/// Counters of a [`Verifier`]'s checkpoint cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CacheStats {
    /// Checkpoint notes held.
    pub entries: usize,
    /// Bundles whose checkpoint was found in the cache.
    pub hits: u64,
    /// Bundles whose checkpoint was verified in full.
    pub misses: u64,
}

/// A reusable verifier: one trust root and policy, and a bounded cache of the checkpoint notes it
/// has already verified under the trust root's quorum (`specs/verifier.md`).
///
/// Its verdicts are exactly those of [`verify`] for every input: step 1 ([`note::verify_checkpoint`])
/// is a pure function of the whole note text and the quorum, the quorum is fixed for the life of a
/// `Verifier`, and only accepted notes are remembered, keyed by SHA-256 of the whole note (text
/// and signature lines). A note with the same body but any other signature line is another key,
/// so it is verified in full. Steps 2 to 10 (freshness, proofs, presentation, policy) run for
/// every bundle. When the cache is full the oldest entry is evicted. It also keeps up to
/// [`DEFAULT_KEY_CACHE`] issuer keys decoded ([`crate::sig::PreparedKey`]); every signature is
/// still verified.
#[derive(Clone, Debug)]
pub struct Verifier {
    trust_root: TrustRoot,
    quorum: Quorum,
    policy: Policy,
    capacity: usize,
    /// SHA-256 of an accepted note -> (insertion number, its body).
    cache: BTreeMap<[u8; 32], (u64, LedgerCheckpoint)>,
    /// Insertion number -> key, oldest first.
    order: BTreeMap<u64, [u8; 32]>,
    inserted: u64,
    stats: CacheStats,
    /// Decoded issuer keys (not counted in `stats`).
    keys: KeyCache,
}

impl Verifier {
    /// A verifier for `trust_root` (refused if unusable, as [`verify`] refuses it) and `policy`,
    /// remembering up to [`DEFAULT_CHECKPOINT_CACHE`] checkpoints.
    pub fn new(trust_root: TrustRoot, policy: Policy) -> Result<Self, VerifyError> {
        trust_root.check()?;
        let quorum = trust_root.quorum();
        Ok(Self {
            trust_root,
            quorum,
            policy,
            capacity: DEFAULT_CHECKPOINT_CACHE,
            cache: BTreeMap::new(),
            order: BTreeMap::new(),
            inserted: 0,
            stats: CacheStats::default(),
            keys: KeyCache::new(DEFAULT_KEY_CACHE),
        })
    }

    /// The same verifier remembering at most `capacity` checkpoints (0 disables the cache).
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self.evict_to(capacity);
        self
    }

    /// The trust root.
    pub fn trust_root(&self) -> &TrustRoot {
        &self.trust_root
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Replaces the policy (for example the next request's challenge). The cache is kept: it
    /// depends on the trust root only.
    pub fn set_policy(&mut self, policy: Policy) {
        self.policy = policy;
    }

    /// The cache's counters.
    pub fn cache_stats(&self) -> CacheStats {
        CacheStats { entries: self.cache.len(), ..self.stats }
    }

    /// Forgets every remembered checkpoint.
    pub fn clear_cache(&mut self) {
        self.cache.clear();
        self.order.clear();
    }

    /// [`verify_bytes`] under this verifier's trust root and policy.
    pub fn verify_bytes(&mut self, bytes: &[u8], now: u64) -> Result<Verdict, VerifyError> {
        let bundle = Bundle::decode_bytes(bytes)?;
        self.verify(&bundle, now)
    }

    /// [`verify`] under this verifier's trust root and policy, with the checkpoint taken from the
    /// cache when this exact note was accepted before.
    pub fn verify(&mut self, bundle: &Bundle, now: u64) -> Result<Verdict, VerifyError> {
        let policy = self.policy.clone();
        self.decide_under(bundle, &policy, now)
    }

    /// [`verify_linked`](fn@verify_linked) under this verifier's trust root and policy: every
    /// credential of the bundle (the main one and each linked one) takes its checkpoint from the
    /// cache, so credentials proven against one checkpoint cost its quorum signatures once. The
    /// verdict is exactly that of the free function (it runs [`verify_linked_with`]).
    pub fn verify_linked(
        &mut self,
        linked: &LinkedBundle,
        now: u64,
    ) -> Result<Verdict, VerifyError> {
        // The closure borrows `self` mutably (the cache); the policy it is handed may differ from
        // `self.policy` (with linked credentials, assurance and claims are judged over all).
        let policy = self.policy.clone();
        verify_linked_with(linked, &policy, |bundle, policy| self.decide_under(bundle, policy, now))
    }

    /// [`Verifier::verify_linked`] of encoded bytes: a plain bundle or one with the identity
    /// extension (`specs/bundle.md`).
    pub fn verify_linked_bytes(&mut self, bytes: &[u8], now: u64) -> Result<Verdict, VerifyError> {
        let linked = LinkedBundle::decode_bytes(bytes)?;
        self.verify_linked(&linked, now)
    }

    /// [`Verifier::verify`] with the policy given (step 1 through the cache).
    fn decide_under(
        &mut self,
        bundle: &Bundle,
        policy: &Policy,
        now: u64,
    ) -> Result<Verdict, VerifyError> {
        let checkpoint = self.checkpoint(&bundle.proofs.checkpoint);
        decide_presentation(bundle, checkpoint, policy, now, &mut self.keys)
    }

    /// Step 1 through the cache.
    fn checkpoint(&mut self, note_text: &str) -> Result<LedgerCheckpoint, CheckpointError> {
        use sha2::Digest as _;
        let key: [u8; 32] = sha2::Sha256::digest(note_text.as_bytes()).into();
        if let Some((_, cp)) = self.cache.get(&key) {
            self.stats.hits += 1;
            return Ok(cp.clone());
        }
        self.stats.misses += 1;
        let cp = note::verify_checkpoint(note_text, &self.quorum)?;
        if self.capacity > 0 {
            self.evict_to(self.capacity - 1);
            self.inserted += 1;
            self.cache.insert(key, (self.inserted, cp.clone()));
            self.order.insert(self.inserted, key);
        }
        Ok(cp)
    }

    /// Evicts the oldest entries until at most `len` remain.
    fn evict_to(&mut self, len: usize) {
        while self.cache.len() > len {
            let Some((_, key)) = self.order.pop_first() else { break };
            self.cache.remove(&key);
        }
    }
}

/// The holder's check of a credential as issued (at import, or after a refresh): everything
/// [`verify`] checks except what belongs to a presentation (key binding, verifier policy).
/// `sd_jwt` is the issued SD-JWT (no key-binding JWT); the checkpoint may be at most
/// `max_checkpoint_age_s` old.
pub fn verify_credential(
    sd_jwt: &str,
    proofs: &Proofs,
    trust_root: &TrustRoot,
    max_checkpoint_age_s: u64,
    now: u64,
) -> Result<Verdict, VerifyError> {
    let credential = Presentation::SdJwt(sd_jwt.to_owned());
    verify_issued(&credential, proofs, trust_root, max_checkpoint_age_s, now)
}

/// [`verify_credential`] for a full-disclosure W3C VC (`vc_json`, as issued).
pub fn verify_w3c_credential(
    vc_json: &str,
    proofs: &Proofs,
    trust_root: &TrustRoot,
    max_checkpoint_age_s: u64,
    now: u64,
) -> Result<Verdict, VerifyError> {
    let credential = Presentation::W3cVp(vc_json.to_owned());
    verify_issued(&credential, proofs, trust_root, max_checkpoint_age_s, now)
}

/// The one path of [`verify_credential`] and [`verify_w3c_credential`].
fn verify_issued(
    credential: &Presentation,
    proofs: &Proofs,
    trust_root: &TrustRoot,
    max_checkpoint_age_s: u64,
    now: u64,
) -> Result<Verdict, VerifyError> {
    trust_root.check()?;
    let checkpoint = note::verify_checkpoint(&proofs.checkpoint, &trust_root.quorum());
    let mode = Mode::Issued { max_checkpoint_age_s };
    to_verdict(decide(credential, proofs, checkpoint, mode, now, &mut KeyCache::new(0))?)
}

/// What the pipeline needs from a checked credential, whatever its format.
struct Checked {
    /// Claims (disclosed, plus the always-visible ones), with `vct` the type id.
    claims: Value,
    /// The bytes the anchored commitment covers.
    committed: String,
    /// The holder key the credential is bound to.
    holder_key: Option<PublicKey>,
    exp: Option<u64>,
    nbf: Option<u64>,
}

fn to_verdict(decided: Result<Accepted, Invalid>) -> Result<Verdict, VerifyError> {
    Ok(match decided {
        Ok(accepted) => Verdict::Valid(Box::new(accepted)),
        Err(invalid) => Verdict::Invalid(invalid),
    })
}

/// What is being verified: a presentation under a verifier's policy, or a credential as issued.
#[derive(Clone, Copy)]
enum Mode<'a> {
    Presentation(&'a Policy),
    Issued { max_checkpoint_age_s: u64 },
}

/// Clock skew tolerated when checking a credential as issued.
const HOLDER_SKEW_S: u64 = 300;

/// `Ok(Ok(_))` valid, `Ok(Err(_))` invalid, `Err(_)` undecidable. `checkpoint` is step 1's
/// outcome: [`note::verify_checkpoint`] of `proofs.checkpoint` under the trust root's quorum
/// (computed by the caller, so that a [`Verifier`] can reuse it for a note it has seen).
fn decide(
    credential: &Presentation,
    proofs: &Proofs,
    checkpoint: Result<LedgerCheckpoint, CheckpointError>,
    mode: Mode<'_>,
    now: u64,
    keys: &mut KeyCache,
) -> Result<Result<Accepted, Invalid>, VerifyError> {
    let (max_checkpoint_age_s, skew_s) = match mode {
        Mode::Presentation(p) => (p.max_checkpoint_age_s, p.max_clock_skew_s),
        Mode::Issued { max_checkpoint_age_s } => (max_checkpoint_age_s, HOLDER_SKEW_S),
    };
    macro_rules! refuse {
        ($reason:expr) => {
            return Ok(Err($reason))
        };
    }

    // 1. Quorum checkpoint.
    let checkpoint = match checkpoint {
        Ok(cp) => cp,
        Err(e) => match classify_checkpoint_error(&e) {
            Some(invalid) => refuse!(invalid),
            None => return Err(VerifyError::Malformed("checkpoint note")),
        },
    };

    // 2. Freshness of the checkpoint.
    if checkpoint.time > now.saturating_add(skew_s) {
        refuse!(Invalid::CheckpointFromFuture);
    }
    let age_s = now.saturating_sub(checkpoint.time);
    if age_s > max_checkpoint_age_s {
        refuse!(Invalid::StaleCheckpoint { age_s });
    }

    // 3. Anchor inclusion and signature.
    let leaf_hash = merkle::leaf_hash(&proofs.anchor_leaf);
    if proofs.anchor_proof.size != checkpoint.size {
        refuse!(Invalid::NotAnchored("inclusion proof is for another log size"));
    }
    if merkle::verify_inclusion(
        &leaf_hash,
        proofs.anchor_proof.index,
        proofs.anchor_proof.size,
        &proofs.anchor_proof.path,
        &checkpoint.root,
    )
    .is_err()
    {
        refuse!(Invalid::NotAnchored("inclusion proof does not match the checkpoint"));
    }
    let leaf = ledger::LogLeaf::from_bytes_checked(&proofs.anchor_leaf)
        .map_err(|_| VerifyError::Malformed("anchor log leaf"))?;
    let EntryBody::AnchorIssuance(anchor) = &leaf.entry.body else {
        refuse!(Invalid::NotAnchored("the proven entry is not an issuance anchor"));
    };
    // The anchor entry's own signature is not checked again here: every honest validator
    // verified it (`verify_strict`) before voting for its block, and the checkpoint's quorum
    // attests the log and the state this function already trusts for the issuer's registry
    // record and the credential record, which binds the same issuer key and commitment (step 4).
    // See specs/verifier.md §2 ("what the quorum attests").
    let issuer_key = leaf.entry.signer;
    let signer = keys.prepare(&issuer_key);

    // 4. State proofs: credential record and issuer record under the checkpoint's state root.
    let cred = &proofs.credential_record;
    let cred_key = ledger::credential_state_key(&anchor.credential_id);
    if proofs
        .credential_proof
        .verify(&checkpoint.state_root, &cred_key, Some(&ledger::encode_record(cred)))
        .is_err()
    {
        refuse!(Invalid::BadStateProof("credential status proof"));
    }
    if cred.credential_id != anchor.credential_id
        || cred.commitment != anchor.commitment
        || cred.issuer_key != issuer_key
        || cred.type_id != anchor.type_id
    {
        refuse!(Invalid::BadStateProof("credential record does not match the anchor"));
    }
    let issuer = &proofs.issuer_record;
    let issuer_state_key = ledger::issuer_state_key(&issuer_key);
    if proofs
        .issuer_proof
        .verify(&checkpoint.state_root, &issuer_state_key, Some(&ledger::encode_record(issuer)))
        .is_err()
    {
        refuse!(Invalid::BadStateProof("issuer registry proof"));
    }
    if issuer.issuer_key != issuer_key {
        refuse!(Invalid::BadStateProof("issuer record is for another key"));
    }

    // 5.-9. The presentation itself.
    let verified = match check_credential(credential, &signer, mode, now) {
        Ok(Ok(checked)) => checked,
        Ok(Err(invalid)) => refuse!(invalid),
        Err(e) => return Err(e),
    };
    if crate::issuance::commitment(&verified.committed) != anchor.commitment {
        refuse!(Invalid::NotAnchored("the credential is not the one anchored"));
    }
    let vct = verified.claims.get("vct").and_then(Value::as_str).unwrap_or_default();
    if vct != anchor.type_id {
        refuse!(Invalid::NotAnchored("credential type differs from the anchored type"));
    }

    // 6. Authorisation at issuance (ledger time of the anchor).
    if let Err(reason) = issuer.authorised_at(&anchor.type_id, leaf.time) {
        refuse!(match reason {
            ledger::Unauthorised::Compromised => Invalid::IssuerKeyCompromised,
            other => Invalid::IssuerNotAuthorised(other.as_str()),
        });
    }

    // 6b. Type -> owning department -> issuer: a shipped type is owned by the department its
    // profile names; the ledger lets only that department's admins authorise its issuers
    // (`specs/ledger.md`), and the verifier refuses an issuer of any other department.
    let profile = profiles::by_id(&anchor.type_id);
    if profile.is_some_and(|p| p.issuing_department != issuer.department) {
        refuse!(Invalid::IssuerNotAuthorised("the type belongs to another department"));
    }

    // 7. Status as of the checkpoint.
    match cred.status {
        CredentialStatus::Active => {}
        CredentialStatus::Suspended => refuse!(Invalid::Suspended { reason: cred.status_reason }),
        CredentialStatus::Revoked => refuse!(Invalid::Revoked { reason: cred.status_reason }),
    }

    // 8. Validity period.
    let (exp, nbf) = (verified.exp, verified.nbf);
    if let Some(exp) = exp {
        if now >= exp {
            refuse!(Invalid::Expired);
        }
    }
    if let Some(nbf) = nbf {
        if nbf > now.saturating_add(skew_s) {
            refuse!(Invalid::NotYetValid);
        }
    }

    // 9. Holder binding is enforced by `sdjwt::verify` (fail closed); a shipped holder-bound
    // type without `cnf` is refused here as well.
    if profile.is_some_and(|p| p.holder_binding) && verified.holder_key.is_none() {
        refuse!(Invalid::HolderBindingMissing);
    }

    // 10. Policy (presentations only): the accepted types here; the claim rule is
    // `check_policy_claims`, applied by the callers over one credential or a linked set.
    let policy = match mode {
        Mode::Presentation(policy) => policy,
        Mode::Issued { .. } => &Policy::new("", ""),
    };
    let accepted_type = if policy.accepted_types.is_empty() {
        profile.is_some() || matches!(mode, Mode::Issued { .. })
    } else {
        policy.accepted_types.iter().any(|t| t == &anchor.type_id)
    };
    if !accepted_type {
        refuse!(Invalid::TypeNotAccepted);
    }

    let claims = display_claims(&verified.claims, profile);
    Ok(Ok(Accepted {
        credential_type: anchor.type_id.clone(),
        type_name_zh: profile.map_or_else(|| anchor.type_id.clone(), |p| p.name_zh.to_owned()),
        type_name_en: profile.map_or_else(|| anchor.type_id.clone(), |p| p.name_en.to_owned()),
        issuer_department: issuer.department.clone(),
        issuer_key,
        claims,
        anchored_time: leaf.time,
        checkpoint_height: checkpoint.height,
        checkpoint_time: checkpoint.time,
        expires_at: exp,
        holder_key: verified.holder_key,
        pseudonym: None,
        linked: false,
        linked_credentials: Vec::new(),
    }))
}

/// Steps 5 and 9 for either format: the issuer's signature, the disclosures, and (for a
/// presentation) holder binding to the verifier's challenge.
fn check_credential(
    credential: &Presentation,
    issuer: &PreparedKey,
    mode: Mode<'_>,
    now: u64,
) -> Result<Result<Checked, Invalid>, VerifyError> {
    let check = match mode {
        Mode::Presentation(policy) => Some(sdjwt::KeyBindingCheck {
            nonce: &policy.challenge.nonce,
            aud: &policy.challenge.audience,
            now,
            max_age_s: policy.max_presentation_age_s,
            max_future_skew_s: policy.max_clock_skew_s,
        }),
        Mode::Issued { .. } => None,
    };
    match credential {
        Presentation::SdJwt(text) => {
            let checked = match check {
                Some(check) => sdjwt::verify_prepared(text, issuer, check),
                None => sdjwt::verify_issued(text, issuer.public_key()),
            };
            match checked {
                Ok(v) => Ok(Ok(Checked {
                    exp: v.claims.get("exp").and_then(Value::as_u64),
                    nbf: v.claims.get("nbf").and_then(Value::as_u64),
                    claims: v.claims,
                    committed: v.issuer_jwt,
                    holder_key: v.holder_key,
                })),
                Err(e) => match classify_sdjwt_error(&e) {
                    Some(invalid) => Ok(Err(invalid)),
                    None => Err(VerifyError::Malformed("SD-JWT presentation")),
                },
            }
        }
        Presentation::W3cVp(text) => {
            let checked = match check {
                Some(check) => w3c::verify_presentation(text, issuer.public_key(), check),
                None => w3c::verify_credential(text, issuer.public_key(), now),
            };
            let invalid = match checked {
                Ok(v) => {
                    return Ok(Ok(Checked {
                        claims: v.claims,
                        committed: v.committed,
                        holder_key: v.holder_key,
                        exp: v.exp,
                        nbf: v.nbf,
                    }))
                }
                Err(w3c::W3cError::Malformed(what)) => return Err(VerifyError::Malformed(what)),
                Err(w3c::W3cError::BadIssuerProof) => Invalid::BadIssuerSignature,
                Err(w3c::W3cError::MissingHolderProof) => Invalid::HolderBindingMissing,
                Err(w3c::W3cError::BadHolderProof) => Invalid::HolderBindingInvalid,
                Err(w3c::W3cError::ChallengeMismatch) => Invalid::NonceMismatch,
                Err(w3c::W3cError::DomainMismatch) => Invalid::AudienceMismatch,
                Err(w3c::W3cError::Stale | w3c::W3cError::InFuture) => {
                    Invalid::PresentationNotFresh
                }
            };
            Ok(Err(invalid))
        }
    }
}

/// The registered claims of the type that the presentation shows, in the type's order.
fn display_claims(
    claims: &Value,
    profile: Option<&profiles::CredentialType>,
) -> Vec<DisclosedClaim> {
    let Some(profile) = profile else {
        return Vec::new();
    };
    profile
        .claims
        .iter()
        .filter_map(|def| {
            claims.get(def.name).map(|value| DisclosedClaim {
                name: def.name.to_owned(),
                value: value.clone(),
                label_zh: def.label_zh.to_owned(),
                label_en: def.label_en.to_owned(),
            })
        })
        .collect()
}

fn classify_checkpoint_error(e: &note::CheckpointError) -> Option<Invalid> {
    use note::CheckpointError as E;
    match e {
        E::WrongOrigin => Some(Invalid::WrongLedger),
        E::QuorumNotMet { .. } => Some(Invalid::QuorumNotMet),
        E::BadSignature { .. } | E::Note(note::NoteError::BadSignature { .. }) => {
            Some(Invalid::BadCheckpointSignature)
        }
        _ => None,
    }
}

fn classify_sdjwt_error(e: &sdjwt::SdJwtError) -> Option<Invalid> {
    use sdjwt::SdJwtError as E;
    match e {
        E::BadIssuerSignature => Some(Invalid::BadIssuerSignature),
        E::DigestNotFound | E::DuplicateDisclosure | E::DuplicateDigest => {
            Some(Invalid::TamperedDisclosure)
        }
        E::MissingKeyBinding => Some(Invalid::HolderBindingMissing),
        E::BadKeyBindingSignature | E::SdHashMismatch | E::UnexpectedKeyBinding => {
            Some(Invalid::HolderBindingInvalid)
        }
        E::NonceMismatch => Some(Invalid::NonceMismatch),
        E::AudienceMismatch => Some(Invalid::AudienceMismatch),
        E::KeyBindingStale | E::KeyBindingInFuture => Some(Invalid::PresentationNotFresh),
        _ => None,
    }
}

/// Verifies a [`LinkedBundle`] (a plain bundle, or one with the identity extension) against a
/// trust root and policy at `now`. Without the extension the verdict is exactly [`verify`]'s.
pub fn verify_linked(
    linked: &LinkedBundle,
    trust_root: &TrustRoot,
    policy: &Policy,
    now: u64,
) -> Result<Verdict, VerifyError> {
    verify_linked_with(linked, policy, |bundle, policy| verify(bundle, trust_root, policy, now))
}

/// [`verify_linked`] with the per-credential decision supplied by the caller (for example a
/// [`Verifier`] with its checkpoint cache): `decide_one(bundle, policy)` must be [`verify`]
/// under the caller's trust root and time. The steps (`specs/bundle.md`, "Bundles with the
/// identity extension"), in order:
///
/// - 1-10: the main credential, then each linked one in order, pass steps 1-10 (the policy's
///   level of assurance and required claims are left to step 13);
/// - 11: the pseudonym proof verifies for the challenge and the main credential's holder key
///   (`bad_pseudonym_proof`);
/// - 12: each linked credential's holder key is the main one's (and it has no link proof), or
///   its link proof names the main and its holder key, in that order, and verifies for the
///   challenge (`bad_link_proof`);
/// - 13: over all of them (the main one alone without linked credentials), the highest
///   `assurance_level` meets the policy and each required claim is disclosed by at least one,
///   counting only claims their type profiles define (`check_policy_claims`).
pub fn verify_linked_with(
    linked: &LinkedBundle,
    policy: &Policy,
    mut decide_one: impl FnMut(&Bundle, &Policy) -> Result<Verdict, VerifyError>,
) -> Result<Verdict, VerifyError> {
    macro_rules! accepted {
        ($verdict:expr) => {
            match $verdict? {
                Verdict::Valid(accepted) => accepted,
                invalid @ Verdict::Invalid(_) => return Ok(invalid),
            }
        };
    }
    // Level of assurance and required claims are judged over all credentials (step 13), by the
    // same rule as for one credential.
    let mut each = policy.clone();
    each.min_assurance_level = None;
    each.required_claims = Vec::new();
    let mut main = accepted!(decide_one(&linked.main, &each));
    let mut others = Vec::with_capacity(linked.linked.len());
    for item in &linked.linked {
        let bundle =
            Bundle { presentation: item.presentation.clone(), proofs: item.proofs.clone() };
        others.push(accepted!(decide_one(&bundle, &each)));
    }
    if let Some(proof) = &linked.pseudonym {
        if let Err(invalid) = check_pseudonym(proof, policy, main.holder_key.as_ref()) {
            return Ok(Verdict::Invalid(invalid));
        }
        main.pseudonym = Some(pseudonym_text(proof));
    }
    for (position, (item, other)) in (2u32..).zip(linked.linked.iter().zip(&others)) {
        let refuse = Verdict::Invalid(Invalid::BadLinkProof { credential: position });
        let (Some(main_key), Some(other_key)) = (main.holder_key, other.holder_key) else {
            return Ok(refuse);
        };
        let challenge = &policy.challenge;
        let ok = match &item.link {
            None => main_key == other_key,
            Some(link) => {
                link.verify(&challenge.audience, &challenge.nonce, &main_key, &other_key).is_ok()
            }
        };
        if !ok {
            return Ok(refuse);
        }
    }
    let all: Vec<&Accepted> = core::iter::once(&*main).chain(others.iter().map(|a| &**a)).collect();
    if let Err(invalid) = check_policy_claims(policy, &all) {
        return Ok(Verdict::Invalid(invalid));
    }
    main.linked_credentials = others
        .into_iter()
        .map(|mut a| {
            a.linked = true;
            *a
        })
        .collect();
    Ok(Verdict::Valid(main))
}

fn check_pseudonym(
    proof: &PseudonymProof,
    policy: &Policy,
    holder_key: Option<&PublicKey>,
) -> Result<(), Invalid> {
    let key = holder_key.ok_or(Invalid::BadPseudonymProof)?;
    proof
        .verify(&policy.challenge.audience, &policy.challenge.nonce, key)
        .map_err(|_| Invalid::BadPseudonymProof)
}

fn pseudonym_text(proof: &PseudonymProof) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(proof.pseudonym.0)
}

#[cfg(test)]
mod key_cache_tests {
    use super::KeyCache;
    use crate::sig::{SecretKey, SignatureError};

    #[test]
    fn key_cache_is_bounded_and_answers_like_a_fresh_key() {
        let secrets: Vec<SecretKey> = (0..5u8).map(|i| SecretKey::from_seed(&[i; 32])).collect();
        let mut cache = KeyCache::new(3);
        for round in 0..2 {
            for (i, sk) in secrets.iter().enumerate() {
                let pk = sk.public_key();
                let sig = sk.sign_raw(b"msg");
                let prepared = cache.prepare(&pk);
                assert_eq!(prepared.public_key(), &pk);
                assert_eq!(prepared.verify_raw(b"msg", &sig), Ok(()), "round {round} key {i}");
                assert_eq!(prepared.verify_raw(b"other", &sig), Err(SignatureError::Invalid));
                assert!(cache.keys.len() <= 3);
            }
        }
        // Oldest inserted evicted first: the last three keys remain.
        let kept: Vec<_> = cache.order.values().copied().collect();
        let want: Vec<_> = secrets[2..].iter().map(SecretKey::public_key).collect();
        assert_eq!(kept, want);
        // Capacity 0 remembers nothing.
        let mut none = KeyCache::new(0);
        let _ = none.prepare(&secrets[0].public_key());
        assert!(none.keys.is_empty() && none.order.is_empty());
    }
}
