//! Durable storage behind [`Store`]: decided blocks with their commit certificates, the entry
//! index, and cosigned checkpoints. [`SledStore`] is the sled 0.34 implementation; a block, its
//! certificate and its entry-index rows are written in one sled transaction and flushed before
//! the decision is acknowledged to consensus.
//!
//! The same transaction writes the audit index (`specs/node.md`, Audit): which entries touch a
//! department (issuer registrations, retirements, compromises, issuance anchors, status changes,
//! keyed by department, block time and log index) and which touch a credential (its anchor and
//! status changes, keyed by credential id and log index), plus each issuer key's department and
//! registration. Blocks stored before the index existed are indexed when the store is opened.

use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

use certledger_core::codec::{Decode as _, Encode as _, Writer};
use certledger_core::ledger_store::{LedgerChanges, LedgerHead};
use certledger_core::smt::{self, SmtError};

use crate::server::codec::{self, StoredCertificate};
use crate::server::context::Block;

#[cfg(feature = "fault-injection")]
mod faulty;
mod ledger_trees;
mod sled_store;
#[cfg(test)]
mod tests;

#[cfg(feature = "fault-injection")]
pub use faulty::FaultyStore;

/// Where a committed entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryLocation {
    /// Block height.
    pub height: u64,
    /// Index inside the block.
    pub index_in_block: u32,
    /// Leaf index in the log.
    pub log_index: u64,
}

/// What an indexed entry does (the audit index).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum AuditKind {
    /// `RegisterIssuer`.
    RegisterIssuer,
    /// `RetireIssuer`.
    RetireIssuer,
    /// `CompromiseIssuer`.
    CompromiseIssuer,
    /// `AnchorIssuance`.
    AnchorIssuance,
    /// `ChangeStatus`.
    ChangeStatus,
}

impl AuditKind {
    /// The name used in the audit API.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::RegisterIssuer => "register_issuer",
            Self::RetireIssuer => "retire_issuer",
            Self::CompromiseIssuer => "compromise_issuer",
            Self::AnchorIssuance => "anchor_issuance",
            Self::ChangeStatus => "change_status",
        }
    }
}

/// One audit index row: where an entry is and what it does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    /// Where the entry is.
    pub location: EntryLocation,
    /// The block time.
    pub time: u64,
    /// What it does.
    pub kind: AuditKind,
    /// The credential it concerns (anchors and status changes).
    pub credential_id: Option<[u8; 32]>,
    /// The issuer key it concerns (the signer of anchors and status changes, the subject of
    /// registry entries).
    pub issuer_key: [u8; 32],
}

/// An issuer key's department and where it was registered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerIndex {
    /// The department id.
    pub department: String,
    /// Where the `RegisterIssuer` entry is.
    pub location: EntryLocation,
}

/// Most rows one audit query returns.
pub const MAX_AUDIT_ROWS: usize = 1000;

/// A storage failure. Any failed write is fatal to the node.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// sled failed.
    #[error("sled: {0}")]
    Sled(#[from] sled::Error),
    /// Stored bytes did not decode.
    #[error("corrupt record: {0}")]
    Codec(#[from] codec::CodecError),
    /// A write conflicted with the store's invariants.
    #[error("invariant: {0}")]
    Invariant(&'static str),
}

/// What the node keeps on disk.
pub trait Store: Send + Sync {
    /// Stores a decided block and its certificate (and indexes its entries) atomically.
    /// `ledger` is the block's ledger write set (state nodes and values, log hashes, entry ids,
    /// the new head), written in the same transaction; `None` only where the ledger was already
    /// written (tests, tools).
    fn put_decided(
        &self,
        block: &Block,
        cert: &StoredCertificate,
        ledger: Option<&LedgerChanges>,
    ) -> Result<(), StoreError>;
    /// The governance-change log leaves `(log index, leaf bytes)` stored with their blocks.
    fn governance_changes(&self) -> Result<Vec<(u64, Vec<u8>)>, StoreError>;
    /// Replaces the certificate of a stored height (Finalized may carry more signatures).
    fn update_certificate(&self, cert: &StoredCertificate) -> Result<(), StoreError>;
    /// The block at `height`.
    fn block(&self, height: u64) -> Result<Option<Block>, StoreError>;
    /// The encoded block at `height`.
    fn block_bytes(&self, height: u64) -> Result<Option<Vec<u8>>, StoreError>;
    /// The certificate at `height`.
    fn certificate(&self, height: u64) -> Result<Option<StoredCertificate>, StoreError>;
    /// The highest stored height.
    fn max_height(&self) -> Result<Option<u64>, StoreError>;
    /// The lowest stored height.
    fn min_height(&self) -> Result<Option<u64>, StoreError>;
    /// Where a committed entry is.
    fn entry_location(&self, id: &[u8; 32]) -> Result<Option<EntryLocation>, StoreError>;
    /// Stores the cosigned checkpoint note of `height`.
    fn put_checkpoint(&self, height: u64, note: &str) -> Result<(), StoreError>;
    /// The cosigned checkpoint note of `height`.
    fn checkpoint(&self, height: u64) -> Result<Option<String>, StoreError>;
    /// The highest height with a stored cosigned checkpoint.
    fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError>;
    /// Audit rows of department `department` with block time in `from..to`, in (time, log
    /// index) order, strictly after `after` when given; at most `limit` (capped at
    /// [`MAX_AUDIT_ROWS`]).
    fn audit_department(
        &self,
        department: &str,
        from: u64,
        to: u64,
        after: Option<(u64, u64)>,
        limit: usize,
    ) -> Result<Vec<AuditRow>, StoreError>;
    /// Audit rows of a credential in log order, strictly after log index `after` when given;
    /// at most `limit` (capped at [`MAX_AUDIT_ROWS`]).
    fn audit_credential(
        &self,
        credential_id: &[u8; 32],
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditRow>, StoreError>;
    /// An issuer key's department and registration entry.
    fn issuer_index(&self, issuer_key: &[u8; 32]) -> Result<Option<IssuerIndex>, StoreError>;
    /// The canonical log leaf of an audit-indexed entry, stored with its block; `None` when
    /// it is not kept (stores written before the leaf index: read it from the block).
    fn audit_leaf(&self, _log_index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(None)
    }
    /// The dashboard's counters (issued and status changes per department and type), at most
    /// [`MAX_STAT_ROWS`] rows, in key order.
    fn stats(&self) -> Result<Vec<StatRow>, StoreError>;
    /// Keeps an equivocation evidence object (already verified by the caller) under `id`, the
    /// SHA-256 of `bytes`, in the slot of `(department, size)`: at most one object per slot
    /// and at most [`MAX_STORED_EVIDENCE`] in all (`specs/evidence.md`, Storage).
    fn put_evidence(
        &self,
        id: &[u8; 32],
        department: &str,
        size: u64,
        bytes: &[u8],
    ) -> Result<EvidencePut, StoreError>;
    /// The evidence bytes stored under `id`.
    fn evidence(&self, id: &[u8; 32]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Stored evidence in id order, strictly after `after` when given; at most `limit`
    /// (capped at [`MAX_STORED_EVIDENCE`]).
    fn evidence_page(
        &self,
        after: Option<&[u8; 32]>,
        limit: usize,
    ) -> Result<Vec<StoredEvidence>, StoreError>;
    /// How many evidence objects are stored.
    fn evidence_count(&self) -> Result<u64, StoreError>;
}

/// Most equivocation evidence objects a node keeps; further ones are dropped (and counted).
pub const MAX_STORED_EVIDENCE: usize = 1024;

/// One stored evidence object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvidence {
    /// SHA-256 of `bytes`.
    pub id: [u8; 32],
    /// The canonical evidence bytes.
    pub bytes: Vec<u8>,
}

/// What [`Store::put_evidence`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvidencePut {
    /// Kept.
    Stored,
    /// The `(department, size)` slot already holds evidence (this object or another).
    Duplicate,
    /// [`MAX_STORED_EVIDENCE`] objects are kept already.
    Full,
}

/// The key of an evidence slot in `evidence_slots`: department length (u16 BE), department,
/// log size (u64 BE).
fn evidence_slot(department: &str, size: u64) -> Vec<u8> {
    let d = department.as_bytes();
    let len = u16::try_from(d.len()).unwrap_or(u16::MAX);
    let mut k = Vec::with_capacity(2 + d.len() + 8);
    k.extend_from_slice(&len.to_be_bytes());
    k.extend_from_slice(d);
    k.extend_from_slice(&size.to_be_bytes());
    k
}

/// Most counter rows [`Store::stats`] returns (departments x types x kinds).
pub const MAX_STAT_ROWS: usize = 4096;

/// What a counter counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum StatKind {
    /// Credentials anchored.
    Issued,
    /// Status changes to revoked.
    Revoked,
    /// Status changes to suspended.
    Suspended,
    /// Status changes back to active.
    Reinstated,
}

impl StatKind {
    fn tag(self) -> u8 {
        match self {
            Self::Issued => 0,
            Self::Revoked => 1,
            Self::Suspended => 2,
            Self::Reinstated => 3,
        }
    }

    fn from_tag(tag: u8) -> Option<Self> {
        [Self::Issued, Self::Revoked, Self::Suspended, Self::Reinstated]
            .into_iter()
            .find(|k| k.tag() == tag)
    }
}

/// One dashboard counter: committed entries of `kind` for credentials of `type_id` anchored by
/// `department`'s issuers. Counts only: no credential id, holder or claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatRow {
    /// The anchoring department.
    pub department: String,
    /// The credential type.
    pub type_id: String,
    /// What is counted.
    pub kind: StatKind,
    /// How many.
    pub count: u64,
}

/// Counter keys in `meta`: `stats/ department \0 type \0 kind-tag` -> count (u64 BE).
const STATS: &[u8] = b"stats/";

fn stat_key(department: &str, type_id: &str, kind: StatKind) -> Vec<u8> {
    let mut k = Vec::with_capacity(STATS.len() + department.len() + type_id.len() + 3);
    k.extend_from_slice(STATS);
    k.extend_from_slice(department.as_bytes());
    k.push(0);
    k.extend_from_slice(type_id.as_bytes());
    k.push(0);
    k.push(kind.tag());
    k
}

fn parse_stat(k: &[u8], v: &[u8]) -> Option<StatRow> {
    let rest = k.strip_prefix(STATS)?;
    let mut parts = rest.splitn(3, |b| *b == 0);
    let department = String::from_utf8(parts.next()?.to_vec()).ok()?;
    let type_id = String::from_utf8(parts.next()?.to_vec()).ok()?;
    let kind = match parts.next()? {
        [tag] => StatKind::from_tag(*tag)?,
        _ => return None,
    };
    let count = u64::from_be_bytes(<[u8; 8]>::try_from(v).ok()?);
    Some(StatRow { department, type_id, kind, count })
}

/// The sled store.
#[derive(Clone, Debug)]
pub struct SledStore {
    db: sled::Db,
    blocks: sled::Tree,
    certs: sled::Tree,
    entries: sled::Tree,
    checkpoints: sled::Tree,
    issuers: sled::Tree,
    audit_dept: sled::Tree,
    audit_cred: sled::Tree,
    meta: sled::Tree,
    /// Equivocation evidence: id (SHA-256 of the bytes) -> canonical bytes.
    evidence: sled::Tree,
    /// Evidence slots: [`evidence_slot`] -> id (one object per department and log size).
    evidence_slots: sled::Tree,
    /// State-tree nodes: `hash -> height written (BE) || node`.
    smt_nodes: sled::Tree,
    /// Current state values: `key -> value`.
    smt_values: sled::Tree,
    /// Values replaced or deleted, kept for earlier roots: `leaf hash -> value`.
    old_values: sled::Tree,
    /// Log perfect subtree hashes: `level (BE u32) || index (BE u64) -> hash`.
    log_hashes: sled::Tree,
    /// Nodes a block replaced: `height (BE) || hash -> ()`, deleted when pruned.
    stale: sled::Tree,
}

/// `meta` key: the ledger head written with the last block.
const LEDGER_HEAD: &[u8] = b"ledger_head";
/// `meta` key prefix: a validator set by the first height it decides.
const VALIDATOR_SET: &[u8] = b"vset";
/// `meta` key prefix: a governance-change log leaf by log index.
const GOV_CHANGE: &[u8] = b"gov";
/// Default bound of sled's page cache, bytes: what a small department server can afford.
pub const DEFAULT_CACHE_BYTES: u64 = 64 << 20;

/// `meta` key: the highest height whose entries are in the audit index.
const AUDIT_HEIGHT: &[u8] = b"audit_height";
/// Meta key prefix of an audit-indexed entry's log leaf: `leaf/ || log index (BE)`.
const AUDIT_LEAF: &[u8] = b"leaf/";

/// The audit index writes of one block.
#[derive(Default)]
struct AuditIndexRows {
    issuers: Vec<([u8; 32], Vec<u8>)>,
    dept: Vec<(Vec<u8>, Vec<u8>)>,
    cred: Vec<(Vec<u8>, Vec<u8>)>,
    /// `(log index, canonical log leaf)` of every indexed entry, so an audit answer reads
    /// one leaf instead of decoding its whole block.
    leaves: Vec<(u64, Vec<u8>)>,
}

impl AuditIndexRows {
    fn write(
        &self,
        issuers: &sled::transaction::TransactionalTree,
        dept: &sled::transaction::TransactionalTree,
        cred: &sled::transaction::TransactionalTree,
        meta: &sled::transaction::TransactionalTree,
        height: u64,
    ) -> Result<(), ConflictableTransactionError<()>> {
        for (k, v) in &self.issuers {
            issuers.insert(k.as_slice(), v.as_slice())?;
        }
        for (k, v) in &self.dept {
            dept.insert(k.as_slice(), v.as_slice())?;
        }
        for (k, v) in &self.cred {
            cred.insert(k.as_slice(), v.as_slice())?;
        }
        for (log_index, leaf) in &self.leaves {
            meta.insert(prefixed(AUDIT_LEAF, *log_index), leaf.as_slice())?;
        }
        let done = match meta.get(AUDIT_HEIGHT)? {
            Some(v) => <[u8; 8]>::try_from(v.as_ref()).map(u64::from_be_bytes).unwrap_or(0),
            None => 0,
        };
        if height > done {
            meta.insert(AUDIT_HEIGHT, &key(height))?;
        }
        Ok(())
    }
}

/// `department || 0x00 || time (BE) || log index (BE)`; department ids are slugs, so the zero
/// byte ends the prefix unambiguously.
fn dept_key(department: &str, time: u64, log_index: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(department.len() + 17);
    k.extend_from_slice(department.as_bytes());
    k.push(0);
    k.extend_from_slice(&time.to_be_bytes());
    k.extend_from_slice(&log_index.to_be_bytes());
    k
}

/// `credential id || log index (BE)`.
fn cred_key(id: &[u8; 32], log_index: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(40);
    k.extend_from_slice(id);
    k.extend_from_slice(&log_index.to_be_bytes());
    k
}

/// `prefix || n (BE)`.
fn prefixed(prefix: &[u8], n: u64) -> Vec<u8> {
    let mut k = prefix.to_vec();
    k.extend_from_slice(&n.to_be_bytes());
    k
}

/// `level (BE) || index (BE)`.
fn log_key(level: u32, index: u64) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..4].copy_from_slice(&level.to_be_bytes());
    k[4..].copy_from_slice(&index.to_be_bytes());
    k
}

fn abort<T>(_: T) -> ConflictableTransactionError<()> {
    ConflictableTransactionError::Abort(())
}

/// The ledger's trees inside one sled transaction.
struct LedgerTrees<'a> {
    meta: &'a TransactionalTree,
    nodes: &'a TransactionalTree,
    values: &'a TransactionalTree,
    old_values: &'a TransactionalTree,
    log: &'a TransactionalTree,
    stale: &'a TransactionalTree,
    entries: &'a TransactionalTree,
}

impl LedgerTrees<'_> {
    /// Writes a block's ledger changes; aborts unless the stored head is their parent.
    fn write(&self, c: &LedgerChanges) -> Result<(), ConflictableTransactionError<()>> {
        let stored = match self.meta.get(LEDGER_HEAD)? {
            Some(v) => Some(LedgerHead::from_bytes(&v).map_err(abort)?),
            None => None,
        };
        if stored != c.parent {
            return Err(abort(()));
        }
        let head = c.new_head().map_err(abort)?;
        let h = head.height.to_be_bytes();
        for (hash, node) in &c.nodes {
            let mut v = h.to_vec();
            v.extend_from_slice(&node.to_bytes());
            self.nodes.insert(hash.as_slice(), v)?;
        }
        for hash in &c.stale_nodes {
            let mut k = h.to_vec();
            k.extend_from_slice(hash);
            self.stale.insert(k, &[])?;
        }
        for (k, value) in &c.values {
            if let Some(old) = self.values.get(k)? {
                let leaf = smt::leaf_hash(k, &smt::value_hash(&old));
                self.old_values.insert(leaf.as_slice(), old)?;
            }
            match value {
                Some(v) => self.values.insert(k.as_slice(), v.as_slice())?,
                None => self.values.remove(k.as_slice())?,
            };
        }
        for n in &c.log {
            self.log.insert(&log_key(n.level, n.index), n.hash.as_slice())?;
        }
        let first = c.parent.map_or(0, |p| p.log_size);
        for (i, id) in c.entry_ids.iter().enumerate() {
            let loc = EntryLocation {
                height: head.height,
                index_in_block: u32::try_from(i).map_err(abort)?,
                log_index: first + i as u64,
            };
            self.entries.insert(id.as_slice(), codec::encode(&loc).map_err(abort)?)?;
        }
        for (from, set) in &c.validator_sets {
            let mut w = Writer::new();
            w.seq(set);
            self.meta.insert(prefixed(VALIDATOR_SET, *from), w.into_bytes())?;
        }
        self.meta.insert(LEDGER_HEAD, head.to_bytes())?;
        Ok(())
    }
}

fn read_err(_: impl std::fmt::Debug) -> SmtError {
    SmtError::Store("the sled store could not be read")
}

fn tx_result(res: Result<(), TransactionError<()>>) -> Result<(), StoreError> {
    match res {
        Ok(()) => Ok(()),
        Err(TransactionError::Storage(e)) => Err(e.into()),
        Err(TransactionError::Abort(())) => Err(StoreError::Invariant("aborted")),
    }
}

fn key(h: u64) -> [u8; 8] {
    h.to_be_bytes()
}

fn height_of(k: &[u8]) -> Result<u64, StoreError> {
    <[u8; 8]>::try_from(k).map(u64::from_be_bytes).map_err(|_| StoreError::Invariant("height key"))
}
