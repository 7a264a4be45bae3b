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

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use sled::Transactional;

use certledger_core::codec::{Decode as _, Encode as _, Reader, Writer};
use certledger_core::ledger::{Department, EntryBody, LogLeaf};
use certledger_core::ledger_store::{LedgerChanges, LedgerHead, LedgerStore};
use certledger_core::smt::{self, SmtError};

use crate::server::chain::changes_in;
use crate::server::codec::{self, StoredCertificate};
use crate::server::context::Block;
use crate::server::exec::{decode_entry, entry_id, NodeLedgerStore};

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

impl SledStore {
    /// The dashboard counter increments of a decided block: anchors by (issuer's department,
    /// type); status changes by the credential's anchoring department and type, read from its
    /// credential record in the committed state (or from an anchor earlier in the same block).
    fn stat_deltas(&self, block: &Block) -> Result<BTreeMap<Vec<u8>, u64>, StoreError> {
        use certledger_core::ledger::{credential_state_key, CredentialRecord, CredentialStatus};
        let mut out: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
        let mut in_block: BTreeMap<[u8; 32], (String, String)> = BTreeMap::new();
        let mut new_issuers: BTreeMap<[u8; 32], String> = BTreeMap::new();
        for bytes in &block.entries {
            let entry = decode_entry(bytes)
                .map_err(|_| StoreError::Invariant("undecodable entry in a decided block"))?;
            match &entry.body {
                EntryBody::RegisterIssuer(b) => {
                    new_issuers.insert(b.issuer_key.0, b.department.clone());
                }
                EntryBody::AnchorIssuance(b) => {
                    let dept = match new_issuers.get(&entry.signer.0) {
                        Some(d) => Some(d.clone()),
                        None => self.issuer_index(&entry.signer.0)?.map(|i| i.department),
                    };
                    if let Some(dept) = dept {
                        *out.entry(stat_key(&dept, &b.type_id, StatKind::Issued)).or_default() += 1;
                        in_block.insert(b.credential_id, (dept, b.type_id.clone()));
                    }
                }
                EntryBody::ChangeStatus(b) => {
                    let kind = match b.status {
                        CredentialStatus::Revoked => StatKind::Revoked,
                        CredentialStatus::Suspended => StatKind::Suspended,
                        _ => StatKind::Reinstated,
                    };
                    let owner = match in_block.get(&b.credential_id) {
                        Some(o) => Some(o.clone()),
                        None => self
                            .smt_values
                            .get(credential_state_key(&b.credential_id))?
                            .and_then(|v| CredentialRecord::from_bytes(&v).ok())
                            .map(|r| (r.department, r.type_id)),
                    };
                    if let Some((dept, ty)) = owner {
                        *out.entry(stat_key(&dept, &ty, kind)).or_default() += 1;
                    }
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// Opens (or creates) the store under `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with_cache(dir, DEFAULT_CACHE_BYTES)
    }

    /// Opens (or creates) the store under `dir` with a page cache of `cache_bytes`.
    pub fn open_with_cache(dir: &Path, cache_bytes: u64) -> Result<Self, StoreError> {
        let db = sled::Config::new().path(dir).cache_capacity(cache_bytes).open()?;
        let store = Self {
            blocks: db.open_tree("blocks")?,
            certs: db.open_tree("certs")?,
            entries: db.open_tree("entries")?,
            checkpoints: db.open_tree("checkpoints")?,
            issuers: db.open_tree("issuers")?,
            audit_dept: db.open_tree("audit_dept")?,
            audit_cred: db.open_tree("audit_cred")?,
            meta: db.open_tree("meta")?,
            smt_nodes: db.open_tree("smt_nodes")?,
            smt_values: db.open_tree("smt_values")?,
            old_values: db.open_tree("old_values")?,
            log_hashes: db.open_tree("log_hashes")?,
            stale: db.open_tree("stale")?,
            db,
        };
        store.backfill_audit_index()?;
        Ok(store)
    }

    /// Indexes blocks stored before the audit index existed (or by an older version).
    fn backfill_audit_index(&self) -> Result<(), StoreError> {
        let Some(max) = self.max_height()? else { return Ok(()) };
        let done = match self.meta.get(AUDIT_HEIGHT)? {
            Some(v) => height_of(&v)?,
            None => 0,
        };
        if done >= max {
            return Ok(());
        }
        let first = self.min_height()?.unwrap_or(1).max(done + 1);
        for h in first..=max {
            let Some(block) = self.block(h)? else { continue };
            let index = self.audit_rows(&block)?;
            let res: Result<(), TransactionError<()>> =
                (&self.issuers, &self.audit_dept, &self.audit_cred, &self.meta).transaction(
                    |(i, d, c, m)| {
                        index.write(i, d, c, m, h)?;
                        Ok::<(), ConflictableTransactionError<()>>(())
                    },
                );
            tx_result(res)?;
        }
        self.db.flush()?;
        Ok(())
    }

    /// The audit index rows of a block (issuer departments come from the index or from
    /// registrations earlier in the same block).
    fn audit_rows(&self, block: &Block) -> Result<AuditIndexRows, StoreError> {
        let h = block.header.height;
        let time = block.header.time;
        let first_log_index = block
            .header
            .log_size
            .checked_sub(block.entries.len() as u64)
            .ok_or(StoreError::Invariant("log size below entry count"))?;
        let mut out = AuditIndexRows::default();
        let mut new_issuers: Vec<([u8; 32], IssuerIndex)> = Vec::new();
        for (i, bytes) in block.entries.iter().enumerate() {
            let location = EntryLocation {
                height: h,
                index_in_block: u32::try_from(i).map_err(|_| StoreError::Invariant("index"))?,
                log_index: first_log_index + i as u64,
            };
            let entry = decode_entry(bytes)
                .map_err(|_| StoreError::Invariant("undecodable entry in a decided block"))?;
            let (kind, issuer_key, credential_id) = match &entry.body {
                EntryBody::RegisterIssuer(b) => {
                    let idx = IssuerIndex { department: b.department.clone(), location };
                    new_issuers.push((b.issuer_key.0, idx));
                    (AuditKind::RegisterIssuer, b.issuer_key.0, None)
                }
                EntryBody::RetireIssuer(b) => (AuditKind::RetireIssuer, b.issuer_key.0, None),
                EntryBody::CompromiseIssuer(b) => {
                    (AuditKind::CompromiseIssuer, b.issuer_key.0, None)
                }
                EntryBody::AnchorIssuance(b) => {
                    (AuditKind::AnchorIssuance, entry.signer.0, Some(b.credential_id))
                }
                EntryBody::ChangeStatus(b) => {
                    (AuditKind::ChangeStatus, entry.signer.0, Some(b.credential_id))
                }
                _ => continue,
            };
            let department = match new_issuers.iter().rev().find(|(k, _)| *k == issuer_key) {
                Some((_, idx)) => Some(idx.department.clone()),
                None => self.issuer_index(&issuer_key)?.map(|idx| idx.department),
            };
            out.leaves.push((location.log_index, LogLeaf { height: h, time, entry }.to_bytes()));
            let row = AuditRow { location, time, kind, credential_id, issuer_key };
            let row_bytes = codec::encode(&row)?;
            if let Some(dept) = department {
                out.dept.push((dept_key(&dept, time, location.log_index), row_bytes.clone()));
            }
            if let Some(id) = credential_id {
                out.cred.push((cred_key(&id, location.log_index), row_bytes));
            }
        }
        for (key, idx) in new_issuers {
            out.issuers.push((key, codec::encode(&idx)?));
        }
        Ok(out)
    }
}

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

impl LedgerStore for SledStore {
    fn head(&self) -> Result<Option<LedgerHead>, SmtError> {
        match self.meta.get(LEDGER_HEAD).map_err(read_err)? {
            Some(v) => Ok(Some(
                LedgerHead::from_bytes(&v).map_err(|_| SmtError::Store("damaged ledger head"))?,
            )),
            None => Ok(None),
        }
    }

    fn smt_node(&self, hash: &[u8; 32]) -> Result<Option<smt::Node>, SmtError> {
        let Some(v) = self.smt_nodes.get(hash).map_err(read_err)? else { return Ok(None) };
        let node = v
            .get(8..)
            .and_then(|b| smt::Node::from_bytes(b).ok())
            .ok_or(SmtError::Store("damaged store: a state node does not decode"))?;
        // Content addressing makes every read a check: a flipped byte is caught here.
        if node.hash() != *hash {
            return Err(SmtError::Store("damaged store: a state node does not match its hash"));
        }
        Ok(Some(node))
    }

    fn state_value(&self, key: &[u8; 32]) -> Result<Option<Vec<u8>>, SmtError> {
        Ok(self.smt_values.get(key).map_err(read_err)?.map(|v| v.to_vec()))
    }

    fn log_hash(&self, level: u32, index: u64) -> Result<Option<[u8; 32]>, SmtError> {
        match self.log_hashes.get(log_key(level, index)).map_err(read_err)? {
            Some(v) => Ok(Some(
                <[u8; 32]>::try_from(v.as_ref())
                    .map_err(|_| SmtError::Store("damaged store: a log hash"))?,
            )),
            None => Ok(None),
        }
    }

    fn has_entry(&self, id: &[u8; 32]) -> Result<bool, SmtError> {
        self.entries.contains_key(id).map_err(read_err)
    }

    fn validator_sets(&self) -> Result<Vec<(u64, Vec<Department>)>, SmtError> {
        let mut out = Vec::new();
        for kv in self.meta.scan_prefix(VALIDATOR_SET) {
            let (k, v) = kv.map_err(read_err)?;
            let from = k
                .get(VALIDATOR_SET.len()..)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes)
                .ok_or(SmtError::Store("damaged store: a validator set key"))?;
            let mut r = Reader::new(&v);
            let set = r
                .seq(u32::MAX, "validator set")
                .map_err(|_| SmtError::Store("damaged store: a validator set"))?;
            out.push((from, set));
        }
        Ok(out)
    }

    fn apply(&mut self, changes: &LedgerChanges) -> Result<(), SmtError> {
        let res: Result<(), TransactionError<()>> = (
            &self.meta,
            &self.smt_nodes,
            &self.smt_values,
            &self.old_values,
            &self.log_hashes,
            &self.stale,
            &self.entries,
        )
            .transaction(|(m, n, v, o, l, st, e)| {
                LedgerTrees {
                    meta: m,
                    nodes: n,
                    values: v,
                    old_values: o,
                    log: l,
                    stale: st,
                    entries: e,
                }
                .write(changes)
            });
        match res {
            Ok(()) => {}
            Err(TransactionError::Abort(())) => {
                return Err(SmtError::Store("changes were computed on another head"))
            }
            Err(TransactionError::Storage(_)) => return Err(SmtError::Store("sled write failed")),
        }
        self.db.flush().map_err(|_| SmtError::Store("sled flush failed"))?;
        Ok(())
    }
}

impl NodeLedgerStore for SledStore {
    fn old_value(&self, leaf: &[u8; 32]) -> Option<Vec<u8>> {
        self.old_values.get(leaf).ok().flatten().map(|v| v.to_vec())
    }

    fn prune_below(&self, height: u64) {
        // Nodes replaced by block `h` serve only roots below `h`: drop them once `h <= height`,
        // unless a later block wrote the same node again (content addressing).
        let end = (height.saturating_add(1)).to_be_bytes();
        let mut batch = sled::Batch::default();
        let mut values = sled::Batch::default();
        let mut nodes = sled::Batch::default();
        for kv in self.stale.range(..end.as_slice()) {
            let Ok((k, _)) = kv else { break };
            batch.remove(k.clone());
            let (Some(hb), Some(hash)) = (k.get(..8), k.get(8..)) else { continue };
            let Ok(hb) = <[u8; 8]>::try_from(hb) else { continue };
            let stale_at = u64::from_be_bytes(hb);
            let written = self
                .smt_nodes
                .get(hash)
                .ok()
                .flatten()
                .and_then(|v| v.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()))
                .map(u64::from_be_bytes);
            if written.is_some_and(|w| w < stale_at) {
                nodes.remove(hash);
                values.remove(hash);
            }
        }
        // Best effort: a failed prune only leaves garbage that the next one removes.
        let _ = self.smt_nodes.apply_batch(nodes);
        let _ = self.old_values.apply_batch(values);
        let _ = self.stale.apply_batch(batch);
    }
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

impl Store for SledStore {
    fn put_decided(
        &self,
        block: &Block,
        cert: &StoredCertificate,
        ledger: Option<&LedgerChanges>,
    ) -> Result<(), StoreError> {
        if cert.height != block.header.height || cert.value_id != block.header.hash().0 {
            return Err(StoreError::Invariant("certificate does not match block"));
        }
        let h = block.header.height;
        let block_bytes = codec::encode(block)?;
        let cert_bytes = codec::encode(cert)?;
        let n = block.entries.len() as u64;
        let first_log_index = block
            .header
            .log_size
            .checked_sub(n)
            .ok_or(StoreError::Invariant("log size below entry count"))?;
        let mut rows = Vec::with_capacity(block.entries.len());
        for (i, e) in block.entries.iter().enumerate() {
            let loc = EntryLocation {
                height: h,
                index_in_block: u32::try_from(i).map_err(|_| StoreError::Invariant("index"))?,
                log_index: first_log_index + i as u64,
            };
            let id =
                entry_id(e).ok_or(StoreError::Invariant("undecodable entry in a decided block"))?;
            rows.push((id, codec::encode(&loc)?));
        }
        let index = self.audit_rows(block)?;
        let stats = self.stat_deltas(block)?;
        let gov = changes_in(block);
        if let Some(l) = ledger {
            if l.head.map(|hd| (hd.height, hd.log_size, hd.state_root, hd.log_root))
                != Some((h, block.header.log_size, block.header.state_root, block.header.log_root))
            {
                return Err(StoreError::Invariant("ledger changes do not match the block"));
            }
        }
        let res: Result<(), TransactionError<()>> = (
            &self.blocks,
            &self.certs,
            &self.entries,
            &self.issuers,
            &self.audit_dept,
            &self.audit_cred,
            &self.meta,
            &self.smt_nodes,
            &self.smt_values,
            &self.old_values,
            &self.log_hashes,
            &self.stale,
        )
            .transaction(|(b, c, e, i, d, cr, m, n, v, o, l, st)| {
                b.insert(&key(h), block_bytes.as_slice())?;
                c.insert(&key(h), cert_bytes.as_slice())?;
                for (id, loc) in &rows {
                    e.insert(id.as_slice(), loc.as_slice())?;
                }
                index.write(i, d, cr, m, h)?;
                for (log_index, leaf) in &gov {
                    m.insert(prefixed(GOV_CHANGE, *log_index), leaf.as_slice())?;
                }
                for (k, add) in &stats {
                    let now = match m.get(k)? {
                        Some(v) => {
                            <[u8; 8]>::try_from(v.as_ref()).map(u64::from_be_bytes).unwrap_or(0)
                        }
                        None => 0,
                    };
                    m.insert(k.as_slice(), &now.saturating_add(*add).to_be_bytes())?;
                }
                if let Some(changes) = ledger {
                    LedgerTrees {
                        meta: m,
                        nodes: n,
                        values: v,
                        old_values: o,
                        log: l,
                        stale: st,
                        entries: e,
                    }
                    .write(changes)?;
                }
                Ok::<(), ConflictableTransactionError<()>>(())
            });
        tx_result(res)?;
        self.db.flush()?;
        Ok(())
    }

    fn governance_changes(&self) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let mut out = Vec::new();
        for kv in self.meta.scan_prefix(GOV_CHANGE) {
            let (k, v) = kv?;
            let index = k
                .get(GOV_CHANGE.len()..)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes)
                .ok_or(StoreError::Invariant("governance change key"))?;
            out.push((index, v.to_vec()));
        }
        Ok(out)
    }

    fn update_certificate(&self, cert: &StoredCertificate) -> Result<(), StoreError> {
        self.certs.insert(key(cert.height), codec::encode(cert)?)?;
        self.db.flush()?;
        Ok(())
    }

    fn block(&self, height: u64) -> Result<Option<Block>, StoreError> {
        match self.blocks.get(key(height))? {
            Some(v) => Ok(Some(codec::decode(&v)?)),
            None => Ok(None),
        }
    }

    fn block_bytes(&self, height: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.blocks.get(key(height))?.map(|v| v.to_vec()))
    }

    fn certificate(&self, height: u64) -> Result<Option<StoredCertificate>, StoreError> {
        match self.certs.get(key(height))? {
            Some(v) => Ok(Some(codec::decode(&v)?)),
            None => Ok(None),
        }
    }

    fn max_height(&self) -> Result<Option<u64>, StoreError> {
        match self.blocks.last()? {
            Some((k, _)) => Ok(Some(height_of(&k)?)),
            None => Ok(None),
        }
    }

    fn min_height(&self) -> Result<Option<u64>, StoreError> {
        match self.blocks.first()? {
            Some((k, _)) => Ok(Some(height_of(&k)?)),
            None => Ok(None),
        }
    }

    fn entry_location(&self, id: &[u8; 32]) -> Result<Option<EntryLocation>, StoreError> {
        match self.entries.get(id)? {
            Some(v) => Ok(Some(codec::decode(&v)?)),
            None => Ok(None),
        }
    }

    fn put_checkpoint(&self, height: u64, note: &str) -> Result<(), StoreError> {
        self.checkpoints.insert(key(height), note.as_bytes())?;
        self.db.flush()?;
        Ok(())
    }

    fn checkpoint(&self, height: u64) -> Result<Option<String>, StoreError> {
        Ok(self.checkpoints.get(key(height))?.map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError> {
        match self.checkpoints.last()? {
            Some((k, v)) => Ok(Some((height_of(&k)?, String::from_utf8_lossy(&v).into_owned()))),
            None => Ok(None),
        }
    }

    fn audit_department(
        &self,
        department: &str,
        from: u64,
        to: u64,
        after: Option<(u64, u64)>,
        limit: usize,
    ) -> Result<Vec<AuditRow>, StoreError> {
        let limit = limit.min(MAX_AUDIT_ROWS);
        if from >= to || limit == 0 {
            return Ok(Vec::new());
        }
        let start = match after {
            Some((t, i)) if (t, i) >= (from, 0) => match i.checked_add(1) {
                Some(next) => dept_key(department, t, next),
                None => match t.checked_add(1) {
                    Some(t) => dept_key(department, t, 0),
                    None => return Ok(Vec::new()),
                },
            },
            _ => dept_key(department, from, 0),
        };
        let end = dept_key(department, to, 0);
        let mut out = Vec::new();
        for kv in self.audit_dept.range(start..end) {
            let (_, v) = kv?;
            out.push(codec::decode(&v)?);
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    fn audit_credential(
        &self,
        credential_id: &[u8; 32],
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditRow>, StoreError> {
        let limit = limit.min(MAX_AUDIT_ROWS);
        let start = match after {
            Some(i) => match i.checked_add(1) {
                Some(next) => cred_key(credential_id, next),
                None => return Ok(Vec::new()),
            },
            None => cred_key(credential_id, 0),
        };
        let mut out = Vec::new();
        for kv in self.audit_cred.range(start..) {
            let (k, v) = kv?;
            if !k.starts_with(credential_id) || out.len() >= limit {
                break;
            }
            out.push(codec::decode(&v)?);
        }
        Ok(out)
    }

    fn audit_leaf(&self, log_index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.meta.get(prefixed(AUDIT_LEAF, log_index))?.map(|v| v.to_vec()))
    }

    fn issuer_index(&self, issuer_key: &[u8; 32]) -> Result<Option<IssuerIndex>, StoreError> {
        match self.issuers.get(issuer_key)? {
            Some(v) => Ok(Some(codec::decode(&v)?)),
            None => Ok(None),
        }
    }

    fn stats(&self) -> Result<Vec<StatRow>, StoreError> {
        let mut out = Vec::new();
        for kv in self.meta.scan_prefix(STATS).take(MAX_STAT_ROWS) {
            let (k, v) = kv?;
            out.push(parse_stat(&k, &v).ok_or(StoreError::Invariant("dashboard counter"))?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use certledger_core::codec::Encode as _;
    use certledger_core::ledger::{EntryBody, RegisterType, SignedEntry};
    use certledger_core::sig::SecretKey;

    use super::*;
    use crate::server::context::BlockHeader;

    fn entry(n: u8) -> Vec<u8> {
        SignedEntry::sign(
            &SecretKey::from_seed(&[n; 32]),
            "c",
            EntryBody::RegisterType(RegisterType {
                type_id: format!("t{n}"),
                name_zh: "类".into(),
                name_en: "T".into(),
                claims: vec![],
                validity_s: 1,
                holder_binding: false,
            }),
        )
        .to_bytes()
    }

    fn block(height: u64, entries: Vec<Vec<u8>>, log_size: u64) -> Block {
        Block {
            header: BlockHeader {
                chain_id: "c".into(),
                height,
                prev_block_hash: [0; 32],
                time: 1,
                proposer: [1; 32],
                entries_root: [2; 32],
                log_size,
                log_root: [3; 32],
                state_root: [4; 32],
                validators_hash: [5; 32],
                next_validators_hash: [5; 32],
            },
            entries,
        }
    }

    fn cert(b: &Block) -> StoredCertificate {
        StoredCertificate {
            height: b.header.height,
            round: 0,
            value_id: b.header.hash().0,
            signatures: vec![([1; 32], vec![2; 64])],
        }
    }

    #[test]
    fn blocks_certificates_and_entry_index_survive_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let b1 = block(1, vec![entry(1), entry(2)], 2);
        let b2 = block(2, vec![entry(3)], 3);
        {
            let s = SledStore::open(dir.path()).expect("open");
            s.put_decided(&b1, &cert(&b1), None).expect("put");
            s.put_decided(&b2, &cert(&b2), None).expect("put");
            // A certificate for another block is refused.
            assert!(s.put_decided(&b2, &cert(&b1), None).is_err());
            s.put_checkpoint(2, "note").expect("checkpoint");
        }
        let s = SledStore::open(dir.path()).expect("reopen");
        assert_eq!(s.max_height().expect("max"), Some(2));
        assert_eq!(s.min_height().expect("min"), Some(1));
        assert_eq!(s.block(1).expect("get"), Some(b1.clone()));
        assert_eq!(s.certificate(2).expect("get"), Some(cert(&b2)));
        let id = crate::server::exec::entry_id(&entry(3)).expect("id");
        let loc = s.entry_location(&id).expect("loc").expect("present");
        assert_eq!((loc.height, loc.index_in_block, loc.log_index), (2, 0, 2));
        let id = crate::server::exec::entry_id(&entry(2)).expect("id");
        assert_eq!(s.entry_location(&id).expect("loc").map(|l| l.log_index), Some(1));
        assert_eq!(s.latest_checkpoint().expect("cp"), Some((2, "note".into())));
        assert_eq!(s.block(3).expect("get"), None);
    }

    /// Bench, not a test (run with `--ignored --nocapture`): the per-item cost of an audit
    /// answer, the old way (decode the item's whole block) and the new (read its indexed leaf),
    /// for 100 items in one full block (2,000 entries). Prints JSON; asserts nothing about time.
    #[test]
    #[ignore = "bench: prints figures"]
    fn bench_audit_leaf_reads() {
        use certledger_core::ledger::AnchorIssuance;
        let key = SecretKey::from_seed(&[1; 32]);
        let anchors: Vec<Vec<u8>> = (0..100u8)
            .map(|i| {
                SignedEntry::sign(
                    &key,
                    "c",
                    EntryBody::AnchorIssuance(AnchorIssuance {
                        credential_id: [i; 32],
                        type_id: "t".into(),
                        commitment: [0; 32],
                        nonce: [i; 16],
                    }),
                )
                .to_bytes()
            })
            .collect();
        let filler = |n: usize| {
            SignedEntry::sign(
                &key,
                "c",
                EntryBody::RegisterType(RegisterType {
                    type_id: format!("t{n}"),
                    name_zh: "类".repeat(80),
                    name_en: "x".repeat(250),
                    claims: vec![],
                    validity_s: 1,
                    holder_binding: false,
                }),
            )
            .to_bytes()
        };
        let mut entries = anchors;
        entries.extend((0..1900).map(filler));
        let n = entries.len() as u64;
        let b = block(1, entries, n);
        let dir = tempfile::tempdir().expect("tempdir");
        let s = SledStore::open(dir.path()).expect("open");
        s.put_decided(&b, &cert(&b), None).expect("put");
        let block_bytes = s.block_bytes(1).expect("bytes").map_or(0, |v| v.len());
        let t = std::time::Instant::now();
        for i in 0..100usize {
            let blk = s.block(1).expect("block").expect("stored");
            let entry = SignedEntry::from_bytes_checked(&blk.entries[i]).expect("entry");
            let _ = LogLeaf { height: 1, time: blk.header.time, entry }.to_bytes();
        }
        let old = t.elapsed();
        let t = std::time::Instant::now();
        for i in 0..100u64 {
            assert!(s.audit_leaf(i).expect("leaf").is_some());
        }
        let new = t.elapsed();
        println!(
            "{}",
            serde_json::json!({
                "items": 100,
                "block_bytes": block_bytes,
                "decode_whole_block_ms": old.as_secs_f64() * 1e3,
                "indexed_leaf_ms": new.as_secs_f64() * 1e3,
            })
        );
    }

    #[test]
    fn the_audit_index_follows_departments_and_credentials_and_is_backfilled() {
        use certledger_core::ledger::{
            AnchorIssuance, ChangeStatus, CredentialStatus, RegisterIssuer, RetireIssuer,
        };
        let admin = SecretKey::from_seed(&[1; 32]);
        let issuer = SecretKey::from_seed(&[2; 32]);
        let stranger = SecretKey::from_seed(&[3; 32]);
        let sign = |k: &SecretKey, b: EntryBody| SignedEntry::sign(k, "c", b).to_bytes();
        let register = sign(
            &admin,
            EntryBody::RegisterIssuer(RegisterIssuer {
                department: "edu".into(),
                issuer_key: issuer.public_key(),
                types: vec!["t".into()],
                valid_from: 0,
                valid_until: 100,
                name_zh: "z".into(),
                name_en: "e".into(),
            }),
        );
        let anchor = |id: u8, k: &SecretKey| {
            sign(
                k,
                EntryBody::AnchorIssuance(AnchorIssuance {
                    credential_id: [id; 32],
                    type_id: "t".into(),
                    commitment: [0; 32],
                    nonce: [id; 16],
                }),
            )
        };
        let revoke = sign(
            &issuer,
            EntryBody::ChangeStatus(ChangeStatus {
                credential_id: [7; 32],
                status: CredentialStatus::Revoked,
                reason: 4,
                nonce: [0; 16],
            }),
        );
        let retire = sign(
            &admin,
            EntryBody::RetireIssuer(RetireIssuer { issuer_key: issuer.public_key(), at: 50 }),
        );
        // Height 1 (time 1): registration and an anchor in the same block; an anchor by an
        // unregistered key is indexed by credential only. Height 2 (time 1): another anchor.
        // Height 3 (time 2): revocation and retirement.
        let mut b1 = block(1, vec![register, anchor(7, &issuer), anchor(9, &stranger)], 3);
        b1.header.time = 1;
        let mut b2 = block(2, vec![anchor(8, &issuer)], 4);
        b2.header.time = 1;
        let mut b3 = block(3, vec![revoke, retire, entry(5)], 7);
        b3.header.time = 2;
        let dir = tempfile::tempdir().expect("tempdir");
        let check = |s: &SledStore| {
            let all = s.audit_department("edu", 0, u64::MAX, None, 100).expect("dept");
            let kinds: Vec<(AuditKind, u64)> =
                all.iter().map(|r| (r.kind, r.location.log_index)).collect();
            assert_eq!(
                kinds,
                vec![
                    (AuditKind::RegisterIssuer, 0),
                    (AuditKind::AnchorIssuance, 1),
                    (AuditKind::AnchorIssuance, 3),
                    (AuditKind::ChangeStatus, 4),
                    (AuditKind::RetireIssuer, 5),
                ]
            );
            // Time range, limit and cursor.
            let t2 = s.audit_department("edu", 2, 3, None, 100).expect("range");
            assert_eq!(t2.len(), 2);
            let page = s.audit_department("edu", 0, u64::MAX, None, 2).expect("page");
            assert_eq!(page.len(), 2);
            let after = page.last().map(|r| (r.time, r.location.log_index));
            let rest = s.audit_department("edu", 0, u64::MAX, after, 100).expect("rest");
            assert_eq!(rest.first().map(|r| r.location.log_index), Some(3));
            assert_eq!(rest.len(), 3);
            assert!(s.audit_department("ed", 0, u64::MAX, None, 100).expect("prefix").is_empty());
            let c7 = s.audit_credential(&[7; 32], None, 100).expect("cred");
            assert_eq!(
                c7.iter().map(|r| r.kind).collect::<Vec<_>>(),
                vec![AuditKind::AnchorIssuance, AuditKind::ChangeStatus]
            );
            assert_eq!(s.audit_credential(&[7; 32], Some(1), 100).expect("after").len(), 1);
            assert_eq!(s.audit_credential(&[9; 32], None, 100).expect("stranger").len(), 1);
            let idx = s.issuer_index(&issuer.public_key().0).expect("issuer").expect("known");
            assert_eq!((idx.department.as_str(), idx.location.log_index), ("edu", 0));
            // Every indexed entry's log leaf is readable by log index without its block.
            for (b, first) in [(&b1, 0u64), (&b2, 3), (&b3, 4)] {
                for (i, bytes) in b.entries.iter().enumerate() {
                    let log_index = first + i as u64;
                    let got = s.audit_leaf(log_index).expect("leaf");
                    if log_index == 6 {
                        assert_eq!(got, None, "entry 6 is not audit-indexed");
                        continue;
                    }
                    let entry = SignedEntry::from_bytes_checked(bytes).expect("entry");
                    let want =
                        LogLeaf { height: b.header.height, time: b.header.time, entry }.to_bytes();
                    assert_eq!(got, Some(want), "log index {log_index}");
                }
            }
        };
        {
            let s = SledStore::open(dir.path()).expect("open");
            for b in [&b1, &b2, &b3] {
                s.put_decided(b, &cert(b), None).expect("put");
            }
            check(&s);
            // A store written before the index existed: forget the index, reopen, rebuilt.
            for t in [&s.issuers, &s.audit_dept, &s.audit_cred, &s.meta] {
                t.clear().expect("clear");
            }
            assert!(s.audit_credential(&[7; 32], None, 100).expect("cleared").is_empty());
            s.db.flush().expect("flush");
        }
        let s = SledStore::open(dir.path()).expect("reopen");
        check(&s);
    }

    #[test]
    fn a_flipped_byte_in_a_stored_state_node_is_caught_at_open_and_on_read() {
        use certledger_core::ledger::{Department, Genesis};
        use certledger_core::ledger_store::LedgerStore as _;

        use std::sync::Arc;

        use crate::server::exec::{CoreLedger, Executor as _};

        let dir = tempfile::tempdir().expect("tempdir");
        let admin = SecretKey::from_seed(&[1; 32]);
        let genesis = Genesis {
            chain_id: "c".into(),
            genesis_time: 0,
            departments: vec![Department {
                id: "education".into(),
                name_zh: "教育部".into(),
                name_en: "Ministry of Education".into(),
                node_key: SecretKey::from_seed(&[3; 32]).public_key(),
                admin_keys: vec![admin.public_key()],
            }],
        };
        let ty = |n: u32| {
            SignedEntry::sign(
                &admin,
                "c",
                EntryBody::RegisterType(RegisterType {
                    type_id: format!("t{n}"),
                    name_zh: "类".into(),
                    name_en: "T".into(),
                    claims: vec![],
                    validity_s: 1,
                    holder_binding: false,
                }),
            )
            .to_bytes()
        };
        let store = SledStore::open(dir.path()).expect("open");
        let mut l = CoreLedger::open(&genesis, store.clone(), Arc::default()).expect("genesis");
        for h in 1..=3u32 {
            let entries: Vec<Vec<u8>> = (0..10).map(|i| ty(h * 100 + i)).collect();
            l.apply_block(u64::from(h), u64::from(h), &entries).expect("apply");
        }
        let root = l.outcome().state_root;
        drop(l);
        // An intact store reopens at its head.
        let l = CoreLedger::open(&genesis, store.clone(), Arc::default()).expect("reopen");
        assert_eq!(l.outcome().state_root, root);
        drop(l);
        // Flip one byte of a node below the root: reads through it are refused, not served.
        let child = match store.smt_node(&root).expect("read").expect("root") {
            smt::Node::Internal { left, .. } => left,
            _ => panic!("30 keys under a leaf root"),
        };
        let flip = |hash: &[u8; 32]| {
            let mut v = store.smt_nodes.get(hash).expect("get").expect("stored").to_vec();
            let last = v.len() - 1;
            v[last] ^= 1;
            store.smt_nodes.insert(hash, v).expect("put");
        };
        flip(&child);
        let err = store.smt_node(&child).expect_err("damaged node refused");
        assert!(err.to_string().contains("damaged store"), "{err}");
        // Flip one byte of the root node: opening the ledger says the store is damaged.
        flip(&root);
        let err = CoreLedger::open(&genesis, store, Arc::default()).expect_err("damaged");
        assert!(err.to_string().contains("damaged"), "{err}");
    }
}
