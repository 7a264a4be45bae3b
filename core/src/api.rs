//! The node's HTTP API bodies (`specs/openapi.yaml`), defined once: the node's server builds
//! every `/v1` and `/health` answer from these types, and every client (the department tools,
//! the wallet) parses answers into them. Plain serde types, sans-io, no HTTP library.
//!
//! 节点 HTTP 接口的请求与应答类型，只在此定义一次：节点服务端用它们构造每个 `/v1` 与
//! `/health` 应答，所有客户端（部门工具、钱包）都解析成这些类型。
//!
//! Field names and which fields are present are the wire format; `specs/openapi.yaml` is
//! checked against a serialised value of every type here (the node's route-table test), so a
//! field added here without the document fails that test. Binary values are hex or unpadded
//! base64url strings as each field says; a client still decides every proof itself (core's
//! `verify`, `registry`, `merkle`, `note`), never trusting the node's summary.
//!
//! `GET /v1/trust-root` answers core's trust root JSON ([`TrustRootJson`], re-exported here,
//! read with [`crate::verify::TrustRoot::from_json`]); `GET /metrics` is Prometheus text.

use serde::{Deserialize, Serialize};

pub use crate::registry::StateProofJson as StateProof;
pub use crate::verify::{DepartmentJson, TrustRootJson};

/// Every error answer: `{"error": "<code>", "message": "<text>"}` with a 4xx/5xx status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Machine-readable code (`malformed`, `duplicate`, `conflict`, `invalid_entry`, ...).
    pub error: String,
    /// Human-readable reason.
    pub message: String,
}

impl ErrorBody {
    /// An error body with `code` and `message`.
    pub fn new(code: &str, message: impl core::fmt::Display) -> Self {
        Self { error: code.into(), message: message.to_string() }
    }
}

/// `POST /v1/entries` request.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitRequest {
    /// The signed entry's canonical bytes, base64 (standard or URL-safe, padding optional).
    pub entry: String,
}

/// Where an entry is: waiting in the mempool, or committed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum EntryState {
    /// Waiting for a block (also the answer to an accepted submission, HTTP 202).
    Pending,
    /// In a committed block.
    Committed {
        /// Block height.
        height: u64,
        /// Index in the block.
        index: u64,
        /// Index in the log.
        log_index: u64,
    },
}

/// `GET /v1/entries/{id}` answer and `POST /v1/entries` 202 answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryStatus {
    /// The entry id, 64 hex digits.
    pub id: String,
    /// Pending or committed.
    #[serde(flatten)]
    pub state: EntryState,
}

/// `POST /v1/entries/forwarded` request: a batch of entries from a peer or a bulk client.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardedBatch {
    /// Canonical signed entries, unpadded base64url.
    pub entries: Vec<String>,
}

/// `POST /v1/entries/forwarded` answer: counts, not one verdict per entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardedResult {
    /// Entries checked and queued.
    pub accepted: u64,
    /// Entries already committed, pending or refused by the ledger.
    pub refused: u64,
}

/// `GET /health` answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Always `ok` when the node answers.
    pub status: String,
    /// The chain id.
    pub chain_id: String,
    /// Height of the last committed block (0 before the first).
    pub height: u64,
    /// Log size.
    pub log_size: u64,
    /// Log root, hex.
    pub log_root: String,
    /// State root, hex.
    pub state_root: String,
    /// Whether this node votes.
    pub validator: bool,
    /// The node's department key, hex.
    pub public_key: String,
    /// Entries waiting in the mempool.
    pub mempool: u64,
    /// Equivocation evidence objects this node holds (`GET /v1/evidence`).
    #[serde(default)]
    pub evidence: u64,
}

/// `GET /v1/checkpoints/latest`, `/v1/checkpoints/{height}` and
/// `/v1/checkpoints/{height}/cosignature` answer; also the checkpoint of an audit page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointNote {
    /// The checkpoint's height.
    pub height: u64,
    /// The C2SP note text (quorum-cosigned, or this node's own signature only).
    pub note: String,
}

/// `GET /v1/proofs/inclusion?index=&size=` answer (RFC 9162).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    /// The leaf index.
    pub index: u64,
    /// The tree size the path is for.
    pub size: u64,
    /// The audit path, leaf to root, hex.
    pub path: Vec<String>,
}

/// `GET /v1/proofs/consistency?old=&new=` answer (RFC 9162).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    /// The older tree size.
    pub old: u64,
    /// The newer tree size.
    pub new: u64,
    /// The consistency path, hex.
    pub path: Vec<String>,
}

/// `GET /v1/proofs/credential/{id}` answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialProofs {
    /// The checkpoint's height.
    pub height: u64,
    /// Unpadded base64url of the canonical [`crate::bundle::Proofs`] bytes.
    pub proofs: String,
}

/// `GET /v1/blocks/{height}` answer: a committed block with its commit certificate.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// SHA-256 of `header_bytes`, hex.
    pub hash: String,
    /// The header's fields (`specs/consensus.md`), hashes and keys hex.
    pub header: BlockHeader,
    /// The canonical header bytes, hex.
    pub header_bytes: String,
    /// The block's signed entries, canonical bytes, unpadded base64url.
    pub entries: Vec<String>,
    /// The votes that committed the block.
    pub certificate: Certificate,
}

/// The fields of a block header (`specs/consensus.md`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockHeader {
    /// Chain id.
    pub chain_id: String,
    /// Height.
    pub height: u64,
    /// The previous block's hash, hex.
    pub prev_block_hash: String,
    /// Block time, Unix seconds.
    pub time: u64,
    /// The proposer's address, hex.
    pub proposer: String,
    /// Merkle root of the entries, hex.
    pub entries_root: String,
    /// Log size after the block.
    pub log_size: u64,
    /// Log root after the block, hex.
    pub log_root: String,
    /// State root after the block, hex.
    pub state_root: String,
    /// Hash of the validator set deciding this height, hex.
    pub validators_hash: String,
    /// Hash of the validator set deciding the next height, hex.
    pub next_validators_hash: String,
}

/// A block's commit certificate.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    /// Height.
    pub height: u64,
    /// Consensus round.
    pub round: i64,
    /// The decided value's id, hex.
    pub value_id: String,
    /// The precommit signatures.
    pub signatures: Vec<CommitSignature>,
}

/// One precommit signature of a certificate.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitSignature {
    /// The validator's address, hex.
    pub address: String,
    /// Its signature, hex.
    pub signature: String,
}

/// `GET /v1/audit/department/{id}` and `/v1/audit/credential/{id}` answer: one page.
///
/// A department page has `department`, `from`, `to` and `issuers`; a credential page has
/// `credential_id`; absent fields are left out of the JSON.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    /// The department (department pages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// The credential id, base64url (credential pages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
    /// Start of the time range, Unix seconds (department pages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<u64>,
    /// End of the time range, exclusive (department pages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<u64>,
    /// The one cosigned checkpoint every proof of the page is against.
    pub checkpoint: CheckpointNote,
    /// The entries, each with its inclusion proof.
    pub items: Vec<AuditItem>,
    /// Department pages: the `RegisterIssuer` leaf of every issuer key in `items`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuers: Option<Vec<AuditIssuer>>,
    /// Where the next page starts (more items, or items held back).
    pub next_cursor: Option<String>,
    /// Items in range were committed after the checkpoint and are not served yet.
    pub held_back: bool,
    /// The proof that the page leaves nothing out: the audit index in the checkpoint's state
    /// (`specs/ledger.md`, "Audit index"; `specs/node.md`, Audit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<AuditIndex>,
}

/// The audit-index part of an audit page: every proof is a canonical sparse Merkle proof,
/// unpadded base64url, under the state root of the page's checkpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditIndex {
    /// Records in the index at the checkpoint (the department's or the credential's counter).
    pub count: u64,
    /// Proof of the counter (of its absence when `count` is 0).
    pub count_proof: String,
    /// Seq of the page's first item; the items are the records `first_seq, first_seq + 1, …`.
    pub first_seq: u64,
    /// Proof of each item's record, in item order (the record is rebuilt from the item's leaf).
    pub item_proofs: Vec<String>,
    /// The record at `first_seq - 1`, before the range (first page of a department range).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<AuditIndexRecord>,
    /// The record right after the last item, at or after the range's end (department).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<AuditIndexRecord>,
}

/// An audit-index record with its proof (a boundary of the range).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditIndexRecord {
    /// Its seq.
    pub seq: u64,
    /// The canonical `IndexRecord` bytes, unpadded base64url.
    pub record: String,
    /// Its sparse Merkle proof, unpadded base64url.
    pub proof: String,
}

/// A log leaf with its inclusion proof against an audit page's checkpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvenLeaf {
    /// Its log index.
    pub log_index: u64,
    /// Its block height.
    pub height: u64,
    /// The canonical `LogLeaf` bytes, unpadded base64url.
    pub leaf: String,
    /// The RFC 9162 inclusion path at the checkpoint's size, leaf to root, hex.
    pub proof: Vec<String>,
}

/// One entry of an audit page: the proven leaf and the node's summary of it (which a client
/// compares with the leaf rather than trusts).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditItem {
    /// The leaf and its proof.
    #[serde(flatten)]
    pub proven: ProvenLeaf,
    /// Block time, Unix seconds.
    pub time: u64,
    /// `register_issuer`, `retire_issuer`, `compromise_issuer`, `anchor_issuance` or
    /// `change_status`.
    pub kind: String,
    /// The issuer key, base64url: the subject of registry entries, the signer otherwise.
    pub issuer_key: String,
    /// The credential id, base64url, when the entry concerns one.
    pub credential_id: Option<String>,
}

/// The proven `RegisterIssuer` leaf of an issuer key named in a department page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditIssuer {
    /// The leaf and its proof.
    #[serde(flatten)]
    pub proven: ProvenLeaf,
    /// The issuer key, base64url.
    pub issuer_key: String,
    /// The department it is registered to.
    pub department: String,
}

/// `GET /v1/validator-chain` answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorChainAnswer {
    /// Unpadded base64url of the canonical `lightclient::ValidatorChain` bytes.
    pub chain: String,
    /// Validator-set changes in the chain (0 while the genesis set is current).
    pub steps: u64,
    /// Height of the checkpoint the chain ends at.
    pub height: u64,
    /// The departments the chain leads to (without admin keys).
    pub departments: Vec<DepartmentInfo>,
}

/// A department as the node serves it (without admin keys).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepartmentInfo {
    /// Department id.
    pub id: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Its node key, unpadded base64url.
    pub node_key: String,
}

/// `GET /v1/dashboard` answer (counts only, no personal data).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    /// Chain id.
    pub chain_id: String,
    /// This node.
    pub node: NodeFacts,
    /// The departments deciding the next height.
    pub departments: Vec<DepartmentFacts>,
    /// The shipped credential types' names (zh/en), for the counts table.
    pub types: Vec<TypeName>,
    /// Recent committed blocks, oldest first.
    pub recent_blocks: Vec<BlockActivity>,
    /// Counters per department and type.
    pub counts: Vec<CountRow>,
}

/// This node's figures.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeFacts {
    /// This node's department id, when its key belongs to a deciding department.
    pub department: Option<String>,
    /// Whether it votes.
    pub validator: bool,
    /// Last committed height.
    pub height: u64,
    /// Log size.
    pub log_size: u64,
    /// Entries waiting.
    pub mempool: u64,
}

/// A department and what this node saw of its node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepartmentFacts {
    /// Department id.
    pub id: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Deciding (always true here: the list is the deciding set).
    pub validator: bool,
    /// The newest height its node's signature was seen in a quorum checkpoint.
    pub last_cosigned_height: Option<u64>,
}

/// A credential type's display names.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeName {
    /// Type id.
    pub id: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
}

/// One committed block, as the dashboard's charts need it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockActivity {
    /// Its height.
    pub height: u64,
    /// Entries in it.
    pub entries: u64,
    /// When this node stored it (ms since the epoch).
    pub decided_at_ms: u64,
}

/// Most evidence items one `GET /v1/evidence` page holds.
pub const MAX_EVIDENCE_PAGE: usize = 32;

/// `GET /v1/evidence` answer: one page of the equivocation evidence a node holds
/// (`specs/evidence.md`), in id order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidencePage {
    /// The evidence objects.
    pub items: Vec<EvidenceItem>,
    /// The id to pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// One evidence object with the node's summary of it (a client checks the bytes itself with
/// `evidence::verify` against its trust root, never trusting the summary).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceItem {
    /// SHA-256 of the canonical evidence bytes, hex (the `{id}` of `/v1/evidence/{id}`).
    pub id: String,
    /// The department that signed both statements.
    pub department: String,
    /// The log size both statements claim.
    pub size: u64,
    /// The two different log roots, hex, in the evidence's order.
    pub roots: Vec<String>,
    /// The canonical evidence bytes (`CLE\x01...`), unpadded base64url.
    pub evidence: String,
}

/// Counters of one department and type.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountRow {
    /// Department id.
    pub department: String,
    /// Type id.
    pub r#type: String,
    /// Credentials anchored.
    pub issued: u64,
    /// Revocations.
    pub revoked: u64,
    /// Suspensions.
    pub suspended: u64,
    /// Reinstatements.
    pub reinstated: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_states_read_back_as_the_server_writes_them() {
        let pending: EntryStatus =
            serde_json::from_str(r#"{"id":"ab","status":"pending"}"#).expect("pending");
        assert_eq!(pending.state, EntryState::Pending);
        let c: EntryStatus = serde_json::from_str(
            r#"{"id":"ab","status":"committed","height":3,"index":1,"log_index":9}"#,
        )
        .expect("committed");
        assert_eq!(c.state, EntryState::Committed { height: 3, index: 1, log_index: 9 });
        assert!(serde_json::from_str::<EntryStatus>(r#"{"id":"ab","status":"lost"}"#).is_err());
    }

    #[test]
    fn audit_pages_leave_out_what_their_kind_does_not_have() {
        let page = AuditPage { credential_id: Some("x".into()), ..AuditPage::default() };
        let v = serde_json::to_value(&page).expect("json");
        let keys: Vec<&str> = v.as_object().expect("object").keys().map(String::as_str).collect();
        assert_eq!(keys, ["checkpoint", "credential_id", "held_back", "items", "next_cursor"]);
        let item = AuditItem { credential_id: None, ..AuditItem::default() };
        let v = serde_json::to_value(&item).expect("json");
        assert!(v["credential_id"].is_null(), "an item always says its credential id: {v}");
        assert_eq!(serde_json::from_value::<AuditItem>(v).expect("back"), item);
    }
}
