//! What verification decides: an accepted credential, a typed refusal, or "could not decide".

use super::*;

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
    /// The ledger and department that issued it, with their names, when decided under a
    /// [`TrustList`](super::TrustList) (`specs/trust-list.md`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_by: Option<super::IssuedBy>,
}

/// Why a well-formed bundle was refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Invalid {
    /// The checkpoint is for another ledger.
    #[error("the checkpoint is for another ledger")]
    WrongLedger,
    /// The credential comes from a ledger that is not on the verifier's trust list.
    #[error("the credential comes from a ledger that is not on the trust list")]
    UnlistedLedger,
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
            Invalid::UnlistedLedger => "unlisted_ledger",
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
            Invalid::UnlistedLedger => "证照来自不在信任列表中的账本".into(),
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
