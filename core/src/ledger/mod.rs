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

use std::collections::BTreeMap;

use crate::codec::{Decode, DecodeError, Reader, Writer};
use crate::ledger_store::{
    Delta, LedgerChanges, LedgerHead, LedgerStore, LogDelta, MemLedgerStore,
};
use crate::merkle::{self, ConsistencyProof, InclusionProof, LogError};
use crate::sig::PublicKey;
use crate::smt::{Smt, SmtError, SmtProof};

mod apply;
mod audit_index;
mod entries;
pub(crate) mod genesis;
mod records;

pub use apply::*;
pub use audit_index::*;
pub use entries::*;
pub use genesis::*;
pub use records::*;

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

pub(crate) fn is_token(s: &str) -> bool {
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
