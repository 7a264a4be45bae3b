//! The seam between consensus and the ledger state machine.
//!
//! Consensus treats entries as opaque signed bytes. [`Executor`] is what the node asks of the
//! ledger: is this entry valid now, and what are the log and state roots after a block.
//! [`CoreLedger`] implements it with `certledger_core::ledger::Ledger` (entries are canonical
//! `SignedEntry` bytes; the RFC 9162 log and the sparse Merkle state live in a
//! [`NodeLedgerStore`], sled in a node; blocks execute on an overlay of it, `specs/storage.md`).

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};

use sha2::{Digest as _, Sha256};

use certledger_core::codec::Encode as _;
use certledger_core::ledger::{self, Ledger, SignedEntry};
use certledger_core::ledger_store::{Delta, LedgerChanges, LedgerStore, MemLedgerStore};
use certledger_core::merkle::InclusionProof;
use certledger_core::smt::{self, Smt, SmtProof, Terminal};

/// Largest entry accepted, in bytes.
pub const MAX_ENTRY_BYTES: usize = ledger::MAX_ENTRY_BYTES;

/// An entry id (core's `SignedEntry::id`, over the body only).
pub type EntryId = [u8; 32];

/// Why an entry was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    /// The bytes are not a canonical `SignedEntry`.
    #[error("malformed entry: {0}")]
    Malformed(&'static str),
    /// The ledger refused the entry.
    #[error(transparent)]
    Ledger(#[from] ledger::EntryError),
    /// The entry kind is valid but this node version cannot commit it yet.
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
}

/// The roots after a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockOutcome {
    /// Log size after the block.
    pub log_size: u64,
    /// RFC 9162 root after the block.
    pub log_root: [u8; 32],
    /// State root after the block.
    pub state_root: [u8; 32],
    /// Whether the block changes the next height's validator set.
    pub validators_changed: bool,
}

/// What the node needs from the ledger state machine.
pub trait Executor: Send + Sync {
    /// Checks one entry against the current state, as part of a block at time `now`.
    fn validate_entry(&self, bytes: &[u8], now: u64) -> Result<EntryId, EntryError>;
    /// Applies a block; on error nothing changes.
    fn apply_block(
        &mut self,
        height: u64,
        time: u64,
        entries: &[Vec<u8>],
    ) -> Result<BlockOutcome, EntryError>;
    /// What `apply_block` would return, without changing anything.
    fn dry_run(
        &self,
        height: u64,
        time: u64,
        entries: &[Vec<u8>],
    ) -> Result<BlockOutcome, EntryError>;
    /// Executes a block on an overlay of the committed state (nothing copied, nothing changed)
    /// and returns its roots and write set, to be adopted once the block is decided.
    fn execute(
        &self,
        height: u64,
        time: u64,
        entries: &[Vec<u8>],
    ) -> Result<ExecutedBlock, EntryError>;
    /// Moves to an executed block whose write set the node stored with the block (refused
    /// unless the store holds exactly that block's head).
    fn adopt(&mut self, executed: &ExecutedBlock) -> Result<BlockOutcome, EntryError>;
    /// The current roots.
    fn outcome(&self) -> BlockOutcome;
    /// Time of the last applied block.
    fn time(&self) -> u64;
    /// RFC 9162 inclusion path of leaf `index` in the tree of `size`.
    fn inclusion_proof(&self, index: u64, size: u64) -> Option<Vec<[u8; 32]>>;
    /// RFC 9162 consistency path between sizes.
    fn consistency_proof(&self, old: u64, new: u64) -> Option<Vec<[u8; 32]>>;
    /// The value of a state key and its canonical proof bytes under the current state root.
    fn state_proof(&self, key: &[u8; 32]) -> Option<(Option<Vec<u8>>, Vec<u8>)>;
    /// The value of a state key and its proof under an earlier (or the current) state root,
    /// if that root is still stored (see [`Executor::prune_history`]).
    fn state_proof_at(
        &self,
        root: &[u8; 32],
        key: &[u8; 32],
    ) -> Option<(Option<Vec<u8>>, SmtProof)>;
    /// The current value of a state key.
    fn state_value(&self, key: &[u8; 32]) -> Option<Vec<u8>>;
    /// RFC 9162 inclusion proof of leaf `index` in the tree of `size` (any size up to the
    /// current one).
    fn inclusion(&self, index: u64, size: u64) -> Option<InclusionProof>;
    /// The RFC 9162 leaf hash of log entry `index`.
    fn leaf_hash(&self, index: u64) -> Option<[u8; 32]>;
    /// Keeps every state root from height `keep_from_height` on provable and lets the store
    /// forget what only earlier roots need (the current root is always kept).
    fn prune_history(&mut self, keep_from_height: u64);
    /// The departments that decide `height` (core's `Ledger::validator_set_at`): correct for
    /// every height up to the next one after the last applied block.
    fn validators_at(&self, height: u64) -> Vec<ledger::Department>;
}

/// What the node needs of the store under its ledger beyond core's [`LedgerStore`]: the values
/// of earlier state roots (for proofs at a cosigned checkpoint) and the pruning of what no
/// retained root needs. The sled store keeps replaced nodes until pruned; the in-memory store
/// keeps only the current root.
pub trait NodeLedgerStore: LedgerStore + Clone + Send + Sync + std::fmt::Debug + 'static {
    /// The value of a leaf (by leaf hash) that an earlier root holds, if still kept.
    fn old_value(&self, _leaf: &[u8; 32]) -> Option<Vec<u8>> {
        None
    }
    /// Forgets what only roots of heights below `height` need.
    fn prune_below(&self, _height: u64) {}
}

impl NodeLedgerStore for MemLedgerStore {}

/// The value and proof of `key` under `root`, if `root`'s nodes are still stored. Never serves
/// a proof that does not check out against the root.
fn prove_at<S: NodeLedgerStore>(
    store: &S,
    root: &[u8; 32],
    key: &[u8; 32],
) -> Option<(Option<Vec<u8>>, SmtProof)> {
    let proof = Smt::open(Delta::new(store), *root, 0).prove(key).ok()?;
    let value = match proof.terminal() {
        Terminal::Leaf { key: k, value_hash } if k == *key => {
            match store.state_value(key).ok().flatten() {
                Some(v) if smt::value_hash(&v) == value_hash => Some(v),
                _ => Some(store.old_value(&smt::leaf_hash(key, &value_hash))?),
            }
        }
        _ => None,
    };
    proof.verify(root, key, value.as_deref()).ok()?;
    Some((value, proof))
}

/// SHA-256 digests of canonical signed-entry bytes whose signature this node has verified
/// (`verify_strict`, this chain id), so that an entry is verified once per node: on arrival,
/// not again in every proposal that carries it and at commit. Sound because equal bytes give
/// the same answer; bounded (oldest forgotten first), and a miss only costs a verification.
#[derive(Debug, Default)]
pub struct SigCache {
    inner: Mutex<Digests>,
}

/// The cached digests and their insertion order.
type Digests = (BTreeSet<[u8; 32]>, VecDeque<[u8; 32]>);

impl SigCache {
    /// Digests kept.
    pub const CAPACITY: usize = 200_000;

    fn digest(bytes: &[u8]) -> [u8; 32] {
        Sha256::digest(bytes).into()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Digests> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Records that the signature of these signed-entry bytes verified.
    pub fn insert(&self, bytes: &[u8]) {
        let d = Self::digest(bytes);
        let mut g = self.lock();
        if g.0.insert(d) {
            g.1.push_back(d);
            while g.1.len() > Self::CAPACITY {
                if let Some(old) = g.1.pop_front() {
                    g.0.remove(&old);
                }
            }
        }
    }

    /// Whether these exact bytes were verified.
    pub fn contains(&self, bytes: &[u8]) -> bool {
        let d = Self::digest(bytes);
        self.lock().0.contains(&d)
    }

    /// Number of digests kept.
    pub fn len(&self) -> usize {
        self.lock().1.len()
    }

    /// Whether no digest is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Decodes canonical entry bytes and checks the signature (no state needed, so it runs outside
/// the node lock); returns the entry and its id.
pub fn precheck(bytes: &[u8], chain_id: &str) -> Result<(SignedEntry, EntryId), EntryError> {
    let e = decode_entry(bytes)?;
    e.verify_signature(chain_id)
        .map_err(|_| EntryError::Ledger(ledger::EntryError::BadSignature))?;
    let id = e.id();
    Ok((e, id))
}

/// Decodes canonical entry bytes.
pub fn decode_entry(bytes: &[u8]) -> Result<SignedEntry, EntryError> {
    SignedEntry::from_bytes_checked(bytes)
        .map_err(|_| EntryError::Malformed("not a canonical signed entry"))
}

/// The id of entry bytes, if they decode.
pub fn entry_id(bytes: &[u8]) -> Option<EntryId> {
    decode_entry(bytes).ok().map(|e| e.id())
}

/// A block executed on an overlay of the committed ledger (core's [`ledger::Executed`]): its
/// roots and write set, kept until its height is decided.
#[derive(Clone, Debug)]
pub struct ExecutedBlock {
    inner: ledger::Executed,
}

impl ExecutedBlock {
    /// The roots after the block.
    pub fn outcome(&self) -> BlockOutcome {
        outcome_of(self.inner.outcome)
    }

    /// What committing the block writes (the node writes it with the block).
    pub fn changes(&self) -> &LedgerChanges {
        &self.inner.changes
    }

    /// The departments that decide `height` once this block is applied on `base` (the ledger
    /// it was executed on).
    pub fn validators_at(&self, base: &dyn Executor, height: u64) -> Vec<ledger::Department> {
        match self
            .inner
            .changes
            .validator_sets
            .iter()
            .filter(|(h, _)| *h <= height)
            .max_by_key(|(h, _)| *h)
        {
            Some((_, set)) => set.clone(),
            None => base.validators_at(height),
        }
    }
}

/// The ledger of `certledger_core` over a [`NodeLedgerStore`] (sled in a node, in memory in
/// tests and tools).
#[derive(Debug)]
pub struct CoreLedger<S: NodeLedgerStore = MemLedgerStore> {
    ledger: Ledger<S>,
    sigs: Arc<SigCache>,
}

impl CoreLedger<MemLedgerStore> {
    /// The in-memory ledger at genesis.
    pub fn new(genesis: &ledger::Genesis) -> Result<Self, EntryError> {
        Self::with_cache(genesis, Arc::default())
    }

    /// The in-memory ledger at genesis, skipping signatures recorded in `sigs` (shared with the
    /// node's submission path, which records what it verified).
    pub fn with_cache(genesis: &ledger::Genesis, sigs: Arc<SigCache>) -> Result<Self, EntryError> {
        Ok(Self { ledger: Ledger::from_genesis_in(genesis, MemLedgerStore::default())?, sigs })
    }
}

impl<S: NodeLedgerStore> CoreLedger<S> {
    /// Opens the ledger kept in `store` at its last written head (no replay; an empty store
    /// starts at genesis). See core's `Ledger::open` for what is checked.
    pub fn open(
        genesis: &ledger::Genesis,
        store: S,
        sigs: Arc<SigCache>,
    ) -> Result<Self, ledger::OpenError> {
        Ok(Self { ledger: Ledger::open(genesis, store)?, sigs })
    }

    fn execute_cached(
        &self,
        height: u64,
        time: u64,
        entries: &[Vec<u8>],
    ) -> Result<ExecutedBlock, EntryError> {
        let decoded = Self::decode_all(entries)?;
        let sigs = &self.sigs;
        let inner = self.ledger.execute(height, time, &decoded, &|b| sigs.contains(b))?;
        for e in entries {
            sigs.insert(e);
        }
        Ok(ExecutedBlock { inner })
    }

    fn decode_all(entries: &[Vec<u8>]) -> Result<Vec<SignedEntry>, EntryError> {
        entries.iter().map(|b| decode_entry(b)).collect()
    }

    /// The underlying ledger.
    pub fn ledger(&self) -> &Ledger<S> {
        &self.ledger
    }
}

fn outcome_of(o: ledger::BlockOutcome) -> BlockOutcome {
    BlockOutcome {
        log_size: o.log_size,
        log_root: o.log_root,
        state_root: o.state_root,
        validators_changed: o.validators_changed,
    }
}

impl<S: NodeLedgerStore> Executor for CoreLedger<S> {
    fn validate_entry(&self, bytes: &[u8], now: u64) -> Result<EntryId, EntryError> {
        let e = decode_entry(bytes)?;
        let sigs = &self.sigs;
        self.ledger.validate_with(&e, now.max(self.ledger.time()), &|b| sigs.contains(b))?;
        sigs.insert(bytes);
        Ok(e.id())
    }

    fn apply_block(
        &mut self,
        height: u64,
        time: u64,
        entries: &[Vec<u8>],
    ) -> Result<BlockOutcome, EntryError> {
        let ex = self.execute_cached(height, time, entries)?;
        Ok(outcome_of(self.ledger.commit(ex.inner)?))
    }

    fn dry_run(
        &self,
        height: u64,
        time: u64,
        entries: &[Vec<u8>],
    ) -> Result<BlockOutcome, EntryError> {
        Ok(self.execute_cached(height, time, entries)?.outcome())
    }

    fn execute(
        &self,
        height: u64,
        time: u64,
        entries: &[Vec<u8>],
    ) -> Result<ExecutedBlock, EntryError> {
        self.execute_cached(height, time, entries)
    }

    fn adopt(&mut self, executed: &ExecutedBlock) -> Result<BlockOutcome, EntryError> {
        Ok(outcome_of(self.ledger.adopt(&executed.inner)?))
    }

    fn outcome(&self) -> BlockOutcome {
        BlockOutcome {
            log_size: self.ledger.log_size(),
            log_root: self.ledger.log_root(),
            state_root: self.ledger.state_root(),
            validators_changed: false,
        }
    }

    fn time(&self) -> u64 {
        self.ledger.time()
    }

    fn inclusion_proof(&self, index: u64, size: u64) -> Option<Vec<[u8; 32]>> {
        self.ledger.inclusion_proof(index, size).ok().map(|p| p.path)
    }

    fn consistency_proof(&self, old: u64, new: u64) -> Option<Vec<[u8; 32]>> {
        self.ledger.consistency_proof(old, new).ok().map(|p| p.path)
    }

    fn state_proof(&self, key: &[u8; 32]) -> Option<(Option<Vec<u8>>, Vec<u8>)> {
        let value = self.ledger.state_value(key).ok()?;
        let proof = self.ledger.prove_state(key).ok()?;
        Some((value, proof.to_bytes()))
    }

    fn state_proof_at(
        &self,
        root: &[u8; 32],
        key: &[u8; 32],
    ) -> Option<(Option<Vec<u8>>, SmtProof)> {
        prove_at(self.ledger.store(), root, key)
    }

    fn state_value(&self, key: &[u8; 32]) -> Option<Vec<u8>> {
        self.ledger.state_value(key).ok().flatten()
    }

    fn inclusion(&self, index: u64, size: u64) -> Option<InclusionProof> {
        self.ledger.inclusion_proof(index, size).ok()
    }

    fn leaf_hash(&self, index: u64) -> Option<[u8; 32]> {
        self.ledger.log_leaf_hash(index)
    }

    fn prune_history(&mut self, keep_from_height: u64) {
        self.ledger.store().prune_below(keep_from_height.min(self.ledger.height()));
    }

    fn validators_at(&self, height: u64) -> Vec<ledger::Department> {
        self.ledger.validator_set_at(height)
    }
}

#[cfg(test)]
mod tests {
    use certledger_core::codec::Decode as _;
    use certledger_core::ledger::{Department, EntryBody, Genesis, RegisterType};
    use certledger_core::sig::SecretKey;

    use super::*;

    fn genesis(admin: &SecretKey) -> Genesis {
        Genesis {
            chain_id: "c".into(),
            genesis_time: 0,
            departments: vec![Department {
                id: "education".into(),
                name_zh: "教育部".into(),
                name_en: "Ministry of Education".into(),
                node_key: SecretKey::from_seed(&[3; 32]).public_key(),
                admin_keys: vec![admin.public_key()],
            }],
        }
    }

    fn register_type(key: &SecretKey, id: &str) -> Vec<u8> {
        SignedEntry::sign(
            key,
            "c",
            EntryBody::RegisterType(RegisterType {
                type_id: id.into(),
                name_zh: "类型".into(),
                name_en: "Type".into(),
                claims: vec![],
                validity_s: 3600,
                holder_binding: false,
            }),
        )
        .to_bytes()
    }

    #[test]
    fn entries_validate_apply_and_prove() {
        let admin = SecretKey::from_seed(&[1; 32]);
        let mut l = CoreLedger::new(&genesis(&admin)).expect("genesis");
        let e = register_type(&admin, "diploma");
        assert!(l.validate_entry(&e, 10).is_ok());
        assert!(precheck(&e, "c").is_ok());
        let outsider = register_type(&SecretKey::from_seed(&[2; 32]), "x");
        assert!(matches!(l.validate_entry(&outsider, 10), Err(EntryError::Ledger(_))));
        assert!(matches!(
            precheck(&e, "d"),
            Err(EntryError::Ledger(ledger::EntryError::BadSignature))
        ));
        assert!(matches!(l.validate_entry(b"\x01abc", 10), Err(EntryError::Malformed(_))));
        let dry = l.dry_run(1, 10, std::slice::from_ref(&e)).expect("dry run");
        let out = l.apply_block(1, 10, std::slice::from_ref(&e)).expect("apply");
        assert_eq!(dry, out);
        assert_eq!(out.log_size, 1);
        assert!(!out.validators_changed);
        assert!(l.validate_entry(&e, 11).is_err());
        assert!(l.apply_block(2, 11, &[e]).is_err());
        assert_eq!(l.outcome().log_size, 1);
        assert!(l.inclusion_proof(0, 1).is_some());
        assert!(l.inclusion_proof(1, 1).is_none());
        let key = ledger::type_state_key("diploma");
        let (value, proof) = l.state_proof(&key).expect("proof");
        assert!(value.is_some());
        assert!(!proof.is_empty());
    }

    #[test]
    fn earlier_roots_stay_provable_until_pruned() {
        let dir = tempfile::tempdir().expect("tempdir");
        let admin = SecretKey::from_seed(&[1; 32]);
        let store = crate::server::store::SledStore::open(dir.path()).expect("sled");
        let mut l =
            CoreLedger::open(&genesis(&admin), store.clone(), Arc::default()).expect("genesis");
        let key_a = ledger::type_state_key("a");
        let key_b = ledger::type_state_key("b");
        l.apply_block(1, 10, &[register_type(&admin, "a")]).expect("block 1");
        let root1 = l.outcome().state_root;
        // A dry run executes on an overlay and must not change this ledger or its store.
        let before = l.outcome();
        l.dry_run(2, 11, &[register_type(&admin, "x")]).expect("dry run");
        assert_eq!(l.outcome(), before);
        l.apply_block(2, 11, &[register_type(&admin, "b")]).expect("block 2");
        let root2 = l.outcome().state_root;
        assert_ne!(root1, root2);
        assert!(l.state_value(&ledger::type_state_key("x")).is_none());
        // At root 1, "a" is present and "b" is proven absent; at root 2 both are present.
        let (va, pa) = l.state_proof_at(&root1, &key_a).expect("a at 1");
        pa.verify(&root1, &key_a, va.as_deref()).expect("verifies");
        assert!(va.is_some());
        let (vb, pb) = l.state_proof_at(&root1, &key_b).expect("b at 1");
        assert!(vb.is_none());
        pb.verify(&root1, &key_b, None).expect("absence verifies");
        let (vb2, pb2) = l.state_proof_at(&root2, &key_b).expect("b at 2");
        pb2.verify(&root2, &key_b, vb2.as_deref()).expect("verifies");
        assert_eq!(vb2, l.state_value(&key_b));
        // The current root's proof equals the one core's ledger gives.
        assert_eq!(pb2.to_bytes(), l.state_proof(&key_b).expect("proof").1);
        // Pruning keeps the roots from the given height on.
        l.prune_history(2);
        assert!(l.state_proof_at(&root1, &key_a).is_none());
        assert!(l.state_proof_at(&root2, &key_a).is_some());
        l.apply_block(3, 12, &[register_type(&admin, "c")]).expect("block 3");
        let root3 = l.outcome().state_root;
        l.prune_history(2);
        assert!(l.state_proof_at(&root2, &key_b).is_some());
        assert!(l.state_proof_at(&root3, &ledger::type_state_key("c")).is_some());
        // Execution still works after pruning (no live node was swept).
        l.apply_block(4, 13, &[register_type(&admin, "d")]).expect("block 4");
        for k in ["a", "b", "c", "d"] {
            let key = ledger::type_state_key(k);
            let (v, p) = l.state_proof(&key).expect("proof");
            let p = SmtProof::from_bytes(&p).expect("decodes");
            p.verify(&l.outcome().state_root, &key, v.as_deref()).expect("verifies");
        }
        // Reopening starts at the stored head without replaying anything.
        let head = l.outcome();
        drop(l);
        let l2 = CoreLedger::open(&genesis(&admin), store, Arc::default()).expect("reopen");
        assert_eq!(l2.outcome(), head);
        assert_eq!(l2.ledger().height(), 4);
        assert!(l2.validate_entry(&register_type(&admin, "a"), 20).is_err(), "replay refused");
        assert!(l2.validate_entry(&register_type(&admin, "e"), 20).is_ok());
    }
}
