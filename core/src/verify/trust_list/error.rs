//! Why a ledger root or trust list was refused, with stable codes and Chinese text.

use crate::verify::VerifyError;

/// Why a ledger root or trust list was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustListError {
    /// The JSON is too large, not JSON, of the wrong shape or version.
    #[error("the trust list is malformed: {0}")]
    Malformed(&'static str),
    /// A field breaks a rule (names, departments, threshold, bounds).
    #[error("the ledger root is unusable: {0}")]
    Unusable(&'static str),
    /// A signature does not verify (`verify_strict`).
    #[error("a signature on the ledger root is invalid")]
    BadSignature,
    /// Admin keys of no more than two thirds of the departments signed.
    #[error("the ledger root is not signed by more than two thirds of {0} departments")]
    NotApproved(&'static str),
    /// A lower sequence number than the one held for the same chain id (rollback).
    #[error("ledger {chain_id}: sequence {offered} is older than the held {held}")]
    Rollback {
        /// The chain id.
        chain_id: String,
        /// The held sequence number.
        held: u64,
        /// The offered one.
        offered: u64,
    },
    /// The same chain id and sequence number as the held root, with different content.
    #[error("ledger {0}: a different root with the same sequence number is already held")]
    Conflict(String),
    /// A chain id listed twice in one trust list.
    #[error("ledger {0} is listed twice")]
    Duplicate(String),
    /// The list would hold more than [`MAX_LISTED_LEDGERS`](super::MAX_LISTED_LEDGERS) ledgers.
    #[error("a trust list holds at most 64 ledgers")]
    TooMany,
}

impl TrustListError {
    /// A stable machine-readable code (used by `specs/vectors/trust-list.json`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::Unusable(_) => "unusable",
            Self::BadSignature => "bad_signature",
            Self::NotApproved(_) => "not_approved",
            Self::Rollback { .. } => "rollback",
            Self::Conflict(_) => "conflict",
            Self::Duplicate(_) => "duplicate",
            Self::TooMany => "too_many",
        }
    }

    /// The reason in Chinese.
    pub fn message_zh(&self) -> String {
        match self {
            Self::Malformed(_) => "信任列表格式错误".into(),
            Self::Unusable(_) => "账本信任根不可用（名称、部门或门限不符合规则）".into(),
            Self::BadSignature => "账本信任根上的签名无效".into(),
            Self::NotApproved(_) => "账本信任根未获超过三分之二部门管理密钥的签名".into(),
            Self::Rollback { chain_id, held, offered } => {
                format!("账本 {chain_id}：序号 {offered} 早于已持有的 {held}（拒绝回退）")
            }
            Self::Conflict(chain) => format!("账本 {chain}：已持有同序号但内容不同的信任根"),
            Self::Duplicate(chain) => format!("账本 {chain} 在列表中出现两次"),
            Self::TooMany => "信任列表最多容纳 64 个账本".into(),
        }
    }
}

impl From<TrustListError> for VerifyError {
    fn from(e: TrustListError) -> Self {
        VerifyError::TrustRoot(match e {
            TrustListError::Malformed(why) | TrustListError::Unusable(why) => why,
            TrustListError::BadSignature => "a signature on a ledger root is invalid",
            TrustListError::NotApproved(_) => "a ledger root is not signed by a quorum",
            TrustListError::Rollback { .. } => "a ledger root is older than the held one",
            TrustListError::Conflict(_) => "two different ledger roots with one sequence",
            TrustListError::Duplicate(_) => "a ledger is listed twice",
            TrustListError::TooMany => "too many ledgers",
        })
    }
}
