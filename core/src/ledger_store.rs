//! Where the ledger keeps its state, log and replay-protection set: the [`LedgerStore`] trait.
//!
//! `specs/storage.md` is normative. The ledger holds in memory only its head (height, time,
//! roots, sizes) and the validator-set history (one row per governance change); everything that
//! grows with the ledger (sparse Merkle nodes and values, the RFC 9162 log's perfect subtree
//! hashes, the ids of committed entries) is read through this trait. A block is executed on an
//! overlay ([`Delta`], [`LogDelta`]) of reads through the store, and its effect is one
//! [`LedgerChanges`] write set that the embedder writes atomically, together with the block
//! itself (the node does so in one sled transaction). [`MemLedgerStore`] is the in-memory
//! implementation used by tests, tools and the verifier side.

use std::collections::{BTreeMap, BTreeSet};

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};
use crate::ledger::genesis::Department;
use crate::merkle::{self, HashStore, MerkleLog, StoredNode};
use crate::smt::{Hash, MemStore, Node, SmtError, SmtStore};

/// What the ledger remembers about its last committed block (the only per-block state kept in
/// memory; stored with every block's changes so a node opens at its head without replay).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LedgerHead {
    /// Height of the last applied block (0 at genesis).
    pub height: u64,
    /// Time of the last applied block (the genesis time at genesis).
    pub time: u64,
    /// State root.
    pub state_root: Hash,
    /// Number of state keys.
    pub state_len: u64,
    /// Log size.
    pub log_size: u64,
    /// Log root at `log_size`.
    pub log_root: Hash,
}

impl Encode for LedgerHead {
    fn encode(&self, w: &mut Writer) {
        w.u64(self.height)
            .u64(self.time)
            .put(&self.state_root)
            .u64(self.state_len)
            .u64(self.log_size)
            .put(&self.log_root);
    }
}

impl Decode for LedgerHead {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            height: r.u64("head height")?,
            time: r.u64("head time")?,
            state_root: r.array("head state root")?,
            state_len: r.u64("head state size")?,
            log_size: r.u64("head log size")?,
            log_root: r.array("head log root")?,
        })
    }
}

/// The write set of one block (or of genesis): everything the store must write, atomically,
/// for the ledger to move from `parent` to `head`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LedgerChanges {
    /// The head the block was executed on (`None` for genesis).
    pub parent: Option<LedgerHead>,
    /// The head after the block.
    pub head: Option<LedgerHead>,
    /// New state-tree nodes, by hash.
    pub nodes: Vec<(Hash, Node)>,
    /// State-tree nodes the block replaced. Only the current root needs them no more: a store
    /// that keeps earlier roots provable deletes them later (see `specs/storage.md`).
    pub stale_nodes: Vec<Hash>,
    /// New or changed state values (`None`: deleted), by state key.
    pub values: Vec<(Hash, Option<Vec<u8>>)>,
    /// New perfect subtree hashes of the log.
    pub log: Vec<StoredNode>,
    /// Ids of the entries the block commits.
    pub entry_ids: Vec<Hash>,
    /// Validator sets that the block schedules, by the first height they decide.
    pub validator_sets: Vec<(u64, Vec<Department>)>,
}

impl LedgerChanges {
    /// The head after these changes.
    pub fn new_head(&self) -> Result<LedgerHead, SmtError> {
        self.head.ok_or(SmtError::Store("a write set without a head"))
    }
}

/// Read access to a committed ledger, and the one write: a block's [`LedgerChanges`].
///
/// Reads see the last applied changes. An implementation that fails a read returns an error
/// (never a wrong answer); the ledger then refuses the block as "could not decide".
pub trait LedgerStore {
    /// The head written by the last applied changes (`None`: nothing was written yet).
    fn head(&self) -> Result<Option<LedgerHead>, SmtError>;
    /// A state-tree node by hash.
    fn smt_node(&self, hash: &Hash) -> Result<Option<Node>, SmtError>;
    /// The state value of a key.
    fn state_value(&self, key: &Hash) -> Result<Option<Vec<u8>>, SmtError>;
    /// The log's perfect subtree hash `(level, index)` (level 0 holds leaf hashes).
    fn log_hash(&self, level: u32, index: u64) -> Result<Option<Hash>, SmtError>;
    /// Whether an entry with this id is committed.
    fn has_entry(&self, id: &Hash) -> Result<bool, SmtError>;
    /// Every validator set with the first height it decides, ascending.
    fn validator_sets(&self) -> Result<Vec<(u64, Vec<Department>)>, SmtError>;
    /// Writes a block's changes, all or nothing.
    fn apply(&mut self, changes: &LedgerChanges) -> Result<(), SmtError>;
}

/// The in-memory ledger store: the state tree in an [`SmtStore`] (replaced nodes deleted at
/// once), the log as a [`MerkleLog`], the entry ids as a set.
#[derive(Clone, Debug, Default)]
pub struct MemLedgerStore<S: SmtStore = MemStore> {
    state: S,
    log: MerkleLog,
    ids: BTreeSet<Hash>,
    validator_sets: BTreeMap<u64, Vec<Department>>,
    head: Option<LedgerHead>,
}

impl<S: SmtStore> MemLedgerStore<S> {
    /// An empty store keeping state nodes and values in `state`.
    pub fn with_state(state: S) -> Self {
        Self {
            state,
            log: MerkleLog::new(),
            ids: BTreeSet::new(),
            validator_sets: BTreeMap::new(),
            head: None,
        }
    }

    /// The state-tree store.
    pub fn state(&self) -> &S {
        &self.state
    }
}

impl<S: SmtStore> LedgerStore for MemLedgerStore<S> {
    fn head(&self) -> Result<Option<LedgerHead>, SmtError> {
        Ok(self.head)
    }
    fn smt_node(&self, hash: &Hash) -> Result<Option<Node>, SmtError> {
        self.state.node(hash)
    }
    fn state_value(&self, key: &Hash) -> Result<Option<Vec<u8>>, SmtError> {
        self.state.value(key)
    }
    fn log_hash(&self, level: u32, index: u64) -> Result<Option<Hash>, SmtError> {
        Ok(self.log.subtree(level, index))
    }
    fn has_entry(&self, id: &Hash) -> Result<bool, SmtError> {
        Ok(self.ids.contains(id))
    }
    fn validator_sets(&self) -> Result<Vec<(u64, Vec<Department>)>, SmtError> {
        Ok(self.validator_sets.iter().map(|(h, s)| (*h, s.clone())).collect())
    }
    fn apply(&mut self, changes: &LedgerChanges) -> Result<(), SmtError> {
        if changes.parent != self.head {
            return Err(SmtError::Store("changes were computed on another head"));
        }
        let head = changes.new_head()?;
        for h in &changes.stale_nodes {
            self.state.delete_node(h)?;
        }
        for (h, n) in &changes.nodes {
            self.state.put_node(*h, *n)?;
        }
        for (k, v) in &changes.values {
            match v {
                Some(v) => self.state.put_value(*k, v.clone())?,
                None => self.state.delete_value(k)?,
            }
        }
        for n in changes.log.iter().filter(|n| n.level == 0) {
            self.log.append(n.hash).map_err(|_| SmtError::Store("the log is full"))?;
        }
        self.ids.extend(changes.entry_ids.iter().copied());
        for (h, s) in &changes.validator_sets {
            self.validator_sets.insert(*h, s.clone());
        }
        self.head = Some(head);
        Ok(())
    }
}

/// Pending state-tree writes over a store's committed tree: reads fall through to the store.
/// This is the overlay a block executes on; nothing is copied from the store.
pub struct Delta<'a, S: LedgerStore + ?Sized> {
    base: &'a S,
    nodes: BTreeMap<Hash, Option<Node>>,
    values: BTreeMap<Hash, Option<Vec<u8>>>,
}

impl<'a, S: LedgerStore + ?Sized> Delta<'a, S> {
    /// An empty overlay over `base`.
    pub fn new(base: &'a S) -> Self {
        Self { base, nodes: BTreeMap::new(), values: BTreeMap::new() }
    }

    /// The pending writes: new nodes, replaced nodes, changed values.
    #[allow(clippy::type_complexity)]
    pub fn into_writes(self) -> (Vec<(Hash, Node)>, Vec<Hash>, Vec<(Hash, Option<Vec<u8>>)>) {
        let mut put = Vec::new();
        let mut stale = Vec::new();
        for (h, n) in self.nodes {
            match n {
                Some(n) => put.push((h, n)),
                None => stale.push(h),
            }
        }
        (put, stale, self.values.into_iter().collect())
    }
}

impl<S: LedgerStore + ?Sized> SmtStore for Delta<'_, S> {
    fn node(&self, hash: &Hash) -> Result<Option<Node>, SmtError> {
        match self.nodes.get(hash) {
            Some(n) => Ok(*n),
            None => self.base.smt_node(hash),
        }
    }
    fn put_node(&mut self, hash: Hash, node: Node) -> Result<(), SmtError> {
        self.nodes.insert(hash, Some(node));
        Ok(())
    }
    fn delete_node(&mut self, hash: &Hash) -> Result<(), SmtError> {
        self.nodes.insert(*hash, None);
        Ok(())
    }
    fn value(&self, key: &Hash) -> Result<Option<Vec<u8>>, SmtError> {
        match self.values.get(key) {
            Some(v) => Ok(v.clone()),
            None => self.base.state_value(key),
        }
    }
    fn put_value(&mut self, key: Hash, value: Vec<u8>) -> Result<(), SmtError> {
        self.values.insert(key, Some(value));
        Ok(())
    }
    fn delete_value(&mut self, key: &Hash) -> Result<(), SmtError> {
        self.values.insert(*key, None);
        Ok(())
    }
}

/// Pending log appends over a store's committed log of `size` leaves.
pub struct LogDelta<'a, S: LedgerStore + ?Sized> {
    base: &'a S,
    base_size: u64,
    size: u64,
    added: BTreeMap<(u32, u64), Hash>,
}

impl<'a, S: LedgerStore + ?Sized> LogDelta<'a, S> {
    /// The committed log of `size` leaves, nothing appended.
    pub fn new(base: &'a S, size: u64) -> Self {
        Self { base, base_size: size, size, added: BTreeMap::new() }
    }

    /// Appends a leaf hash; returns its index.
    pub fn append(&mut self, leaf: Hash) -> Result<u64, merkle::LogError> {
        let index = self.size;
        for n in merkle::append_nodes(self, leaf)? {
            self.added.insert((n.level, n.index), n.hash);
        }
        self.size = index.checked_add(1).ok_or(merkle::LogError::Full)?;
        Ok(index)
    }

    /// Whether nothing was appended.
    pub fn is_unchanged(&self) -> bool {
        self.size == self.base_size
    }

    /// The new subtree hashes, lowest level first within each index.
    pub fn into_nodes(self) -> Vec<StoredNode> {
        let mut out: Vec<StoredNode> = self
            .added
            .into_iter()
            .map(|((level, index), hash)| StoredNode { level, index, hash })
            .collect();
        // Leaves in append order first (the in-memory store appends level 0 in order).
        out.sort_by_key(|n| (n.level, n.index));
        out
    }
}

impl<S: LedgerStore + ?Sized> HashStore for LogDelta<'_, S> {
    fn size(&self) -> u64 {
        self.size
    }
    fn subtree(&self, level: u32, index: u64) -> Option<Hash> {
        match self.added.get(&(level, index)) {
            Some(h) => Some(*h),
            None => self.base.log_hash(level, index).ok().flatten(),
        }
    }
}
