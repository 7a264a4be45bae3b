//! The running node: engine start-up, the application loop over Malachite's channels, the
//! mempool and checkpoint cosigning.
//!
//! Decision flow of one height `h`:
//! `ConsensusReady`/`Finalized(h-1)` → `StartedRound` → (`GetValue` on the proposer, which
//! streams one signed [`ProposalPart`]) → `ReceivedProposalPart` everywhere (full re-execution:
//! every entry valid, header roots equal the re-executed roots) → `Decided` (apply, persist block
//! and certificate in one sled transaction, flush, then ack) → `Finalized` (store the larger
//! certificate, start `h+1`). Catch-up uses Malachite's value sync (`GetDecidedValues` /
//! `ProcessSyncedValue`), which runs the same block checks without the proposer-clock bound.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context as _};
use certledger_core::sig::{PublicKey, SecretKey};
use malachitebft_app_channel::app::consensus::VoteExtensionError;
use malachitebft_app_channel::app::engine::host::{HeightParams, Next, SyncedValueOutcome};
use malachitebft_app_channel::app::streaming::{StreamContent, StreamId, StreamMessage};
use malachitebft_app_channel::app::types::codec::Codec;
use malachitebft_app_channel::app::types::core::{
    CommitCertificate, Context as _, Round, Validity,
};
use malachitebft_app_channel::app::types::{Keypair, LocallyProposedValue, ProposedValue};
use malachitebft_app_channel::{
    AppMsg, Channels, ConsensusContext, EngineBuilder, NetworkContext, NetworkIdentity, NetworkMsg,
    RequestContext, Signer as _, SyncContext, WalContext,
};
use tracing::{error, info, warn};

use crate::codec::{self, LedgerCodec, StoredCertificate};
use crate::config::{Genesis, KeyFile, NodeToml};
use crate::context::{
    Address, Block, BlockHash, BlockHeader, Height, LedgerContext, LedgerSigner, LedgerVerifier,
    ProposalPart, ValidatorSet,
};
use crate::exec::{self, CoreLedger, EntryError, EntryId, Executor};
use crate::store::{SledStore, Store};
use certledger_core::codec::Encode as _;
use certledger_core::ledger::{Department, EntryBody, LogLeaf};
use certledger_core::note::{self, LedgerCheckpoint, Note, NoteSigner, Quorum};
use certledger_core::verify::TrustRoot;

/// Most entries in one block.
pub const MAX_BLOCK_ENTRIES: usize = 2_000;
/// Most entry bytes in one block (a proposal travels as one gossip message, at most 4 MiB in
/// Malachite's default configuration).
pub const MAX_BLOCK_BYTES: usize = 3 * 1024 * 1024;
/// Most block bytes in one sync response (Malachite's request/response limit is 10 MiB).
pub const MAX_SYNC_RESPONSE_BYTES: usize = 8 * 1024 * 1024;
/// Most entries waiting in the mempool.
pub const MEMPOOL_MAX_ENTRIES: usize = 20_000;
/// State roots of this many recent heights stay provable (besides the newest cosigned one).
pub const KEEP_RECENT_ROOTS: usize = 64;
/// Unreachable state history is swept every this many heights.
pub const PRUNE_EVERY: u64 = 32;
/// How far ahead of the local clock a proposer's time may be (seconds).
pub const MAX_CLOCK_DRIFT_S: u64 = 30;

/// Why a submission was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SubmitError {
    /// The entry itself is invalid.
    #[error(transparent)]
    Entry(#[from] EntryError),
    /// The entry is already waiting.
    #[error("entry is already pending")]
    AlreadyPending,
    /// The mempool is full.
    #[error("mempool is full")]
    Full,
}

/// A bounded, de-duplicated queue of valid entries waiting for a block.
#[derive(Debug, Default)]
pub struct Mempool {
    order: VecDeque<EntryId>,
    entries: BTreeMap<EntryId, Vec<u8>>,
}

impl Mempool {
    /// Adds an entry (already validated).
    pub fn insert(&mut self, id: EntryId, bytes: Vec<u8>) -> Result<(), SubmitError> {
        if self.entries.contains_key(&id) {
            return Err(SubmitError::AlreadyPending);
        }
        if self.entries.len() >= MEMPOOL_MAX_ENTRIES {
            return Err(SubmitError::Full);
        }
        self.order.push_back(id);
        self.entries.insert(id, bytes);
        Ok(())
    }

    /// Whether `id` is waiting.
    pub fn contains(&self, id: &EntryId) -> bool {
        self.entries.contains_key(id)
    }

    /// Number of waiting entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Removes committed entries.
    pub fn remove_committed(&mut self, ids: &[EntryId]) {
        for id in ids {
            self.entries.remove(id);
        }
        let entries = &self.entries;
        self.order.retain(|id| entries.contains_key(id));
    }

    /// Oldest-first candidates for a block, re-validated against `ledger`; drops invalid ones.
    pub fn take_block(&mut self, ledger: &dyn Executor) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut bytes = 0usize;
        let mut drop = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for id in &self.order {
            if out.len() >= MAX_BLOCK_ENTRIES {
                break;
            }
            let Some(e) = self.entries.get(id) else { continue };
            if bytes + e.len() > MAX_BLOCK_BYTES {
                break;
            }
            match ledger.validate_entry(e, now_s()) {
                Ok(_) if seen.insert(*id) => {
                    bytes += e.len();
                    out.push(e.clone());
                }
                _ => drop.push(*id),
            }
        }
        self.remove_committed(&drop);
        out
    }
}

/// Counters for `/metrics`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Metrics {
    /// Entries accepted through the API (including forwarded ones).
    pub entries_accepted: u64,
    /// Entries refused through the API.
    pub entries_rejected: u64,
    /// Blocks committed.
    pub blocks_committed: u64,
    /// Entries committed.
    pub entries_committed: u64,
    /// Proposals refused as invalid.
    pub proposals_rejected: u64,
}

/// State shared by the consensus loop and the HTTP API.
pub struct Shared {
    /// The ledger state machine.
    pub ledger: Box<dyn Executor>,
    /// Waiting entries.
    pub mempool: Mempool,
    /// The last committed block's header, if any.
    pub last_header: Option<BlockHeader>,
    /// Checkpoint notes signed by this node only, by height (recent heights).
    pub own_checkpoints: BTreeMap<u64, String>,
    /// Counters.
    pub metrics: Metrics,
}

/// Everything the node's tasks share.
pub struct NodeHandle {
    /// Chain id.
    pub chain_id: String,
    /// Genesis.
    pub genesis: Genesis,
    /// The department key.
    pub key: SecretKey,
    /// Whether this node votes.
    pub is_validator: bool,
    /// Durable storage.
    pub store: Arc<dyn Store>,
    /// Shared mutable state.
    pub shared: Mutex<Shared>,
    /// Peers' HTTP base URLs.
    pub peer_http: Vec<String>,
    /// HTTP client for peers.
    pub http: reqwest::Client,
    /// Governance changes committed so far: `(log index, canonical log leaf)`, in log order
    /// (rebuilt on replay), for the validator chain a light client follows.
    pub changes: Mutex<Vec<(u64, Vec<u8>)>>,
    /// Signatures this node verified (shared with its ledger).
    pub sigs: Arc<exec::SigCache>,
    /// Client submissions not yet forwarded to the peers.
    pub outbox: crate::forward::Outbox,
}

impl NodeHandle {
    /// Locks the shared state; a poisoned lock means a task panicked, which is fatal.
    pub fn lock(&self) -> MutexGuard<'_, Shared> {
        match self.shared.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Validates and queues an entry. Format and signature are checked before taking the lock.
    pub fn submit(&self, bytes: Vec<u8>) -> Result<EntryId, SubmitError> {
        if let Err(e) = exec::precheck(&bytes, &self.chain_id) {
            self.lock().metrics.entries_rejected += 1;
            return Err(e.into());
        }
        self.sigs.insert(&bytes);
        let mut s = self.lock();
        let id = match s.ledger.validate_entry(&bytes, now_s()) {
            Ok(id) => id,
            Err(e) => {
                s.metrics.entries_rejected += 1;
                return Err(e.into());
            }
        };
        match s.mempool.insert(id, bytes) {
            Ok(()) => {
                s.metrics.entries_accepted += 1;
                Ok(id)
            }
            Err(e) => Err(e),
        }
    }

    /// The checkpoint key name of this node (C2SP note key name).
    pub fn key_name(&self, key: &PublicKey) -> String {
        format!("{}/{}", self.chain_id, key.short_id())
    }

    /// The departments that decide `height` (known up to the height after the last commit).
    pub fn departments_at(&self, height: u64) -> Vec<Department> {
        self.lock().ledger.validators_at(height)
    }

    /// The consensus validator set of `height`.
    pub fn validator_set_at(&self, height: u64) -> ValidatorSet {
        ValidatorSet::new(self.departments_at(height).iter().map(|d| d.node_key))
    }

    /// The checkpoint quorum of `height`: the deciding departments' node keys, named by
    /// department id, more than two thirds of them.
    pub fn quorum_at(&self, height: u64) -> Quorum {
        TrustRoot::from_departments(&self.chain_id, &self.departments_at(height)).quorum()
    }

    /// This node's own signed checkpoint note for committed height `h`, if its department
    /// decided `h`: kept for recent heights, re-signed from the stored header for older ones
    /// (a statement about a final block, so signing it again is always safe).
    pub fn own_cosignature(&self, h: u64) -> Option<String> {
        if let Some(n) = self.lock().own_checkpoints.get(&h) {
            return Some(n.clone());
        }
        let dept = self.department_id_at(h)?;
        let block = self.store.block(h).ok()??;
        let signer = NoteSigner::new(&dept, self.key.clone()).ok()?;
        let mut n = Note::new(&checkpoint_of(&block.header).to_body()).ok()?;
        n.sign(&signer).ok()?;
        Some(n.to_text())
    }

    /// This node's department id at `height`, if its key belongs to a deciding department.
    pub fn department_id_at(&self, height: u64) -> Option<String> {
        let me = self.key.public_key();
        self.departments_at(height).into_iter().find(|d| d.node_key == me).map(|d| d.id)
    }
}

/// Whether a governance change leaf adds the department with node key `key`.
fn leaf_adds(leaf: &[u8], key: &PublicKey) -> bool {
    LogLeaf::from_bytes_checked(leaf).is_ok_and(|l| match &l.entry.body {
        EntryBody::ChangeValidators(c) => c.add.iter().any(|d| d.node_key == *key),
        _ => false,
    })
}

/// The governance changes in a committed block: `(log index, canonical log leaf)`.
pub fn changes_in(block: &Block) -> Vec<(u64, Vec<u8>)> {
    let first = block.header.log_size.saturating_sub(block.entries.len() as u64);
    block
        .entries
        .iter()
        .enumerate()
        .filter_map(|(i, bytes)| {
            let entry = exec::decode_entry(bytes).ok()?;
            if !matches!(entry.body, EntryBody::ChangeValidators(_)) {
                return None;
            }
            let leaf = LogLeaf { height: block.header.height, time: block.header.time, entry };
            Some((first + i as u64, leaf.to_bytes()))
        })
        .collect()
}

fn now_s() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// The C2SP checkpoint of a header (core's `LedgerCheckpoint`; origin = chain id).
pub fn checkpoint_of(h: &BlockHeader) -> LedgerCheckpoint {
    LedgerCheckpoint {
        origin: h.chain_id.clone(),
        size: h.log_size,
        root: h.log_root,
        height: h.height,
        time: h.time,
        state_root: h.state_root,
    }
}

/// The genesis checkpoint quorum: every genesis department's node key named by its
/// department id, more than 2/3 (later heights: [`NodeHandle::quorum_at`]).
pub fn checkpoint_quorum(genesis: &Genesis) -> Quorum {
    TrustRoot::from_genesis(&genesis.to_core()).quorum()
}

/// RFC 9162 root over a block's entries (leaf data = entry bytes).
pub fn entries_root(entries: &[Vec<u8>]) -> [u8; 32] {
    let mut log = certledger_core::merkle::MerkleLog::new();
    for e in entries {
        if log.append_data(e).is_err() {
            return [0xff; 32];
        }
    }
    log.root()
}

/// Holds the data-directory and key locks for the life of the process.
pub struct DataDirLock {
    _files: Vec<File>,
}

/// Takes exclusive OS locks on `data_dir/LOCK` and on `<key_file>.lock`: a second process with
/// the same data directory or the same department key is refused (it would double-sign).
pub fn lock_data_dir(dir: &Path, key_file: &Path) -> anyhow::Result<DataDirLock> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut key_lock = key_file.as_os_str().to_owned();
    key_lock.push(".lock");
    let files = vec![
        lock_file(&dir.join("LOCK"), "data directory")?,
        lock_file(Path::new(&key_lock), "department key")?,
    ];
    Ok(DataDirLock { _files: files })
}

fn lock_file(path: &Path, what: &str) -> anyhow::Result<File> {
    use fs4::fs_std::FileExt as _;
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock_exclusive() {
        Ok(true) => Ok(file),
        Ok(false) => bail!(
            "the {what} ({}) is locked by another certledger-node process; refusing to run twice",
            path.display()
        ),
        Err(e) => Err(anyhow!(e).context("taking the lock")),
    }
}

/// Opens storage, replays stored blocks into a fresh ledger, and returns the node handle.
pub fn open_node(cfg: &NodeToml) -> anyhow::Result<Arc<NodeHandle>> {
    let genesis = Genesis::load(&cfg.genesis_file)?;
    let key = KeyFile::load(&cfg.key_file)?;
    let store = SledStore::open(&cfg.data_dir.join("sled")).context("opening sled")?;
    let sigs = Arc::new(exec::SigCache::default());
    let mut ledger = CoreLedger::with_cache(&genesis.to_core(), sigs.clone())
        .map_err(|e| anyhow!("genesis refused by the ledger: {e}"))?;
    let mut last_header = None;
    let mut changes = Vec::new();
    let top = store.max_height()?.unwrap_or(0);
    for h in 1..=top {
        let block = store.block(h)?.ok_or_else(|| anyhow!("block {h} missing from the store"))?;
        let out = ledger
            .apply_block(h, block.header.time, &block.entries)
            .map_err(|e| anyhow!("replaying block {h}: {e}"))?;
        if out.log_root != block.header.log_root || out.state_root != block.header.state_root {
            bail!("replaying block {h} gave different roots than its header");
        }
        changes.extend(changes_in(&block));
        last_header = Some(block.header);
    }
    info!(height = top, "replayed stored blocks");
    let me = key.public_key();
    let member_now = ledger.validators_at(top + 1).iter().any(|d| d.node_key == me);
    let ever = genesis.department_of(&me).is_some()
        || changes.iter().any(|(_, leaf)| leaf_adds(leaf, &me));
    if cfg.validator && !member_now {
        if ever {
            warn!("this department is not in the current validator set (removed by governance); it follows the ledger without voting");
        } else {
            warn!("this key is not in the validator set yet; the node follows the ledger and votes from the height a governance change adds it");
        }
    }
    Ok(Arc::new(NodeHandle {
        chain_id: genesis.chain_id.clone(),
        genesis,
        key,
        is_validator: cfg.validator,
        store: Arc::new(store),
        shared: Mutex::new(Shared {
            ledger: Box::new(ledger),
            mempool: Mempool::default(),
            last_header,
            own_checkpoints: BTreeMap::new(),
            metrics: Metrics::default(),
        }),
        peer_http: cfg.peer_http.clone(),
        http: reqwest::Client::builder().timeout(Duration::from_secs(3)).build()?,
        changes: Mutex::new(changes),
        sigs,
        outbox: Default::default(),
    }))
}

/// The libp2p key is the department key, so every node's peer id follows from genesis and
/// persistent peers are pinned by identity (`/p2p/<peer id>`), not by address. libp2p signs only
/// its own handshake payloads, which carry their own domain strings; certledger signatures are
/// all namespaced, so the two uses cannot be confused.
fn libp2p_keypair(key: &SecretKey) -> anyhow::Result<Keypair> {
    Keypair::ed25519_from_bytes(key.seed()).map_err(|e| anyhow!("libp2p key: {e}"))
}

/// The libp2p peer id of a department key (base58), for `/p2p/` in `persistent_peers`.
pub fn peer_id_of(key: &PublicKey) -> anyhow::Result<String> {
    let pk = libp2p_identity::ed25519::PublicKey::try_from_bytes(&key.0)
        .map_err(|e| anyhow!("not an Ed25519 key: {e}"))?;
    Ok(libp2p_identity::PublicKey::from(pk).to_peer_id().to_base58())
}

/// Starts the engine and runs the application loop until the engine stops.
pub async fn run_consensus(node: Arc<NodeHandle>, cfg: &NodeToml) -> anyhow::Result<()> {
    let ctx = LedgerContext::new(&node.chain_id);
    let keypair = libp2p_keypair(&node.key)?;
    let address = Address(node.key.public_key().0);
    let signer = LedgerSigner::new(&node.chain_id, node.key.clone());
    let identity = if node.is_validator {
        let peer_id = keypair.public().to_peer_id().to_bytes();
        let proof = signer
            .sign_validator_proof(address.0.to_vec(), peer_id)
            .await
            .map_err(|e| anyhow!("signing the peer binding: {e}"))?;
        let proof_bytes = LedgerCodec.encode(&proof)?;
        NetworkIdentity::new_validator(
            cfg.moniker.clone(),
            keypair,
            address.to_string(),
            proof_bytes,
        )
    } else {
        NetworkIdentity::new(cfg.moniker.clone(), keypair, None)
    };
    let consensus_ctx = if node.is_validator {
        ConsensusContext::new_validator(
            address,
            Box::new(LedgerVerifier::new(&node.chain_id)),
            Box::new(signer),
        )
    } else {
        ConsensusContext::new_full_node(address, Box::new(LedgerVerifier::new(&node.chain_id)))
    };
    let wal_dir = cfg.data_dir.join("wal");
    std::fs::create_dir_all(&wal_dir)?;
    let (mut channels, engine) = EngineBuilder::new(ctx.clone(), cfg.engine_config()?)
        .with_default_wal(WalContext::new(wal_dir.join("consensus.wal"), LedgerCodec))
        .with_default_network(NetworkContext::new(identity, LedgerCodec))
        .with_default_consensus(consensus_ctx)
        .with_default_sync(SyncContext::new(LedgerCodec))
        .with_default_request(RequestContext::new(100))
        .build()
        .await
        .map_err(|e| anyhow!("starting the consensus engine: {e}"))?;
    let mut app = AppLoop {
        node,
        ctx,
        address,
        timeouts: cfg.timeouts(),
        target_time: Duration::from_millis(cfg.block_time_ms),
        current: Height(0),
        undecided: BTreeMap::new(),
        future_parts: BTreeMap::new(),
        commit_failed: false,
        danger_bad_root: cfg.danger_propose_bad_state_root,
        danger_invalid_entry: cfg.danger_invalid_entry()?,
        recent_roots: VecDeque::new(),
        executed: BTreeMap::new(),
    };
    let res = app.run(&mut channels).await;
    engine.handle.abort();
    res
}

struct AppLoop {
    node: Arc<NodeHandle>,
    ctx: LedgerContext,
    address: Address,
    timeouts: malachitebft_app_channel::app::types::core::LinearTimeouts,
    target_time: Duration,
    current: Height,
    /// Proposed values seen or built, by (height, round, id).
    undecided: BTreeMap<(u64, i64, BlockHash), ProposedValue<LedgerContext>>,
    /// Parts for heights we have not reached yet.
    future_parts: BTreeMap<u64, Vec<ProposalPart>>,
    commit_failed: bool,
    danger_bad_root: bool,
    /// Test-only: an entry this proposer adds to every block although it is invalid.
    danger_invalid_entry: Option<Vec<u8>>,
    /// State roots of the last [`KEEP_RECENT_ROOTS`] committed heights.
    recent_roots: VecDeque<[u8; 32]>,
    /// Blocks that passed `check_block`, executed on a copy of the state they were checked
    /// against, by block hash (dropped once their height is decided).
    executed: BTreeMap<BlockHash, Executed>,
}

/// A checked block's execution result, reusable when it is decided.
struct Executed {
    height: u64,
    /// The roots of the state it was executed on.
    base: exec::BlockOutcome,
    ledger: Box<dyn Executor>,
}

/// Why a proposed block was refused.
#[derive(Debug, thiserror::Error)]
enum BlockError {
    #[error("header field {0} does not match")]
    Header(&'static str),
    #[error("entry: {0}")]
    Entry(#[from] EntryError),
    #[error("block too large")]
    TooLarge,
}

/// The consensus validator set of a department set.
fn set_of(departments: &[Department]) -> ValidatorSet {
    ValidatorSet::new(departments.iter().map(|d| d.node_key))
}

impl AppLoop {
    fn params(&self, height: Height) -> HeightParams<LedgerContext> {
        HeightParams::new(
            self.node.validator_set_at(height.0),
            self.timeouts,
            Some(self.target_time),
        )
    }

    async fn run(&mut self, channels: &mut Channels<LedgerContext>) -> anyhow::Result<()> {
        while let Some(msg) = channels.consensus.recv().await {
            self.handle(msg, channels).await?;
        }
        Err(anyhow!("consensus channel closed"))
    }

    fn expected_proposer(&self, height: Height, round: Round) -> Address {
        self.ctx.select_proposer(&self.node.validator_set_at(height.0), height, round).address
    }

    /// Checks a block against the state after `height - 1`. `proposer` is the expected header
    /// proposer: for a live part, the proposer of `(height, valid_round)` if the value is
    /// re-proposed from a lock, else of `(height, round)`; for a synced (certified) block any
    /// validator.
    fn check_block(
        &mut self,
        block: &Block,
        height: Height,
        proposer: Option<&Address>,
        live: bool,
    ) -> Result<(), BlockError> {
        let h = &block.header;
        let s = self.node.lock();
        let (prev_hash, prev_time) = match &s.last_header {
            Some(p) => (p.hash().0, p.time),
            None => ([0u8; 32], self.node.genesis.genesis_time),
        };
        if h.chain_id != self.node.chain_id {
            return Err(BlockError::Header("chain_id"));
        }
        if h.height != height.0 {
            return Err(BlockError::Header("height"));
        }
        if h.prev_block_hash != prev_hash {
            return Err(BlockError::Header("prev_block_hash"));
        }
        if h.time < prev_time || (live && h.time > now_s() + MAX_CLOCK_DRIFT_S) {
            return Err(BlockError::Header("time"));
        }
        let validators = set_of(&s.ledger.validators_at(height.0));
        let proposer_ok = match proposer {
            Some(p) => h.proposer == p.0,
            None => validators.contains(&Address(h.proposer)),
        };
        if !proposer_ok {
            return Err(BlockError::Header("proposer"));
        }
        if h.validators_hash != validators.hash() {
            return Err(BlockError::Header("validators_hash"));
        }
        if block.entries.len() > MAX_BLOCK_ENTRIES
            || block.entries.iter().map(Vec::len).sum::<usize>() > MAX_BLOCK_BYTES
        {
            return Err(BlockError::TooLarge);
        }
        if h.entries_root != entries_root(&block.entries) {
            return Err(BlockError::Header("entries_root"));
        }
        let (out, executed) = s.ledger.execute(height.0, h.time, &block.entries)?;
        if h.next_validators_hash != set_of(&executed.validators_at(height.0 + 1)).hash() {
            return Err(BlockError::Header("next_validators_hash"));
        }
        if out.log_size != h.log_size {
            return Err(BlockError::Header("log_size"));
        }
        if out.log_root != h.log_root {
            return Err(BlockError::Header("log_root"));
        }
        if out.state_root != h.state_root {
            return Err(BlockError::Header("state_root"));
        }
        let base = s.ledger.outcome();
        drop(s);
        self.executed.insert(h.hash(), Executed { height: height.0, base, ledger: executed });
        Ok(())
    }

    fn build_block(&mut self, height: Height) -> Block {
        let mut s = self.node.lock();
        let candidates = {
            let Shared { ledger, mempool, .. } = &mut *s;
            mempool.take_block(ledger.as_ref())
        };
        let (prev_hash, prev_time) = match &s.last_header {
            Some(p) => (p.hash().0, p.time),
            None => ([0u8; 32], self.node.genesis.genesis_time),
        };
        let time = now_s().max(prev_time);
        // Entries are checked one by one against the state; two of them can still conflict
        // with each other. Then keep a greedy prefix-compatible subset (bounded work) and drop
        // the entries that cannot follow it.
        let base = s.ledger.outcome();
        let (entries, executed) = match s.ledger.execute(height.0, time, &candidates) {
            Ok((out, ledger)) => (candidates, Some((out, ledger))),
            Err(_) => {
                let mut kept: Vec<Vec<u8>> = Vec::new();
                let mut dropped = Vec::new();
                for c in candidates.into_iter().take(64) {
                    kept.push(c);
                    if s.ledger.dry_run(height.0, time, &kept).is_err() {
                        if let Some(bad) = kept.pop() {
                            dropped.extend(exec::entry_id(&bad));
                        }
                    }
                }
                s.mempool.remove_committed(&dropped);
                match s.ledger.execute(height.0, time, &kept) {
                    Ok(done) => (kept, Some(done)),
                    Err(_) => (Vec::new(), None),
                }
            }
        };
        let (out, next_set) = match &executed {
            Some((out, ledger)) => (*out, ledger.validators_at(height.0 + 1)),
            None => (s.ledger.outcome(), s.ledger.validators_at(height.0 + 1)),
        };
        let this_set = s.ledger.validators_at(height.0);
        drop(s);
        let mut entries = entries;
        let mut out = out;
        if let Some(bad) = self.danger_invalid_entry.as_ref() {
            // Test-only misbehaviour: propose an entry honest nodes must refuse, with a header
            // that claims it applies (so only the entry check can catch it).
            entries.push(bad.clone());
            out.log_size += 1;
        }
        let block = Block {
            header: BlockHeader {
                chain_id: self.node.chain_id.clone(),
                height: height.0,
                prev_block_hash: prev_hash,
                time,
                proposer: self.address.0,
                entries_root: entries_root(&entries),
                log_size: out.log_size,
                log_root: out.log_root,
                state_root: if self.danger_bad_root { [0xee; 32] } else { out.state_root },
                validators_hash: set_of(&this_set).hash(),
                next_validators_hash: set_of(&next_set).hash(),
            },
            entries,
        };
        if let Some((_, ledger)) = executed {
            if self.danger_invalid_entry.is_none() {
                self.executed
                    .insert(block.header.hash(), Executed { height: height.0, base, ledger });
            }
        }
        block
    }

    fn stream(&self, part: ProposalPart) -> [StreamMessage<ProposalPart>; 2] {
        let mut id = Vec::with_capacity(16);
        id.extend_from_slice(&part.height.0.to_be_bytes());
        id.extend_from_slice(&part.round.as_i64().to_be_bytes());
        let sid = StreamId::new(id.into());
        [
            StreamMessage::new(sid.clone(), 0, StreamContent::Data(part)),
            StreamMessage::new(sid, 1, StreamContent::Fin),
        ]
    }

    fn accept_part(&mut self, part: ProposalPart) -> Option<ProposedValue<LedgerContext>> {
        if !part.verify(&self.ctx) {
            warn!(height = %part.height, "proposal part with a bad signature");
            return None;
        }
        if part.proposer != self.expected_proposer(part.height, part.round) {
            warn!(height = %part.height, round = %part.round, "proposal part from a non-proposer");
            return None;
        }
        let hash = part.block.header.hash();
        // The same block at the same height always gets the same answer (Malachite requires it).
        let known = self
            .undecided
            .iter()
            .find(|((h, _, id), _)| *h == part.height.0 && *id == hash)
            .map(|(_, v)| v.validity);
        let header_proposer = if part.valid_round == Round::Nil {
            part.proposer
        } else {
            self.expected_proposer(part.height, part.valid_round)
        };
        let validity = match known {
            Some(v) => v,
            None => {
                match self.check_block(&part.block, part.height, Some(&header_proposer), true) {
                    Ok(()) => Validity::Valid,
                    Err(e) => {
                        warn!(height = %part.height, round = %part.round, error = %e, "refusing proposed block");
                        self.node.lock().metrics.proposals_rejected += 1;
                        Validity::Invalid
                    }
                }
            }
        };
        let pv: ProposedValue<LedgerContext> = ProposedValue {
            height: part.height,
            round: part.round,
            valid_round: part.valid_round,
            proposer: part.proposer,
            value: part.block,
            validity,
        };
        self.undecided.insert((pv.height.0, pv.round.as_i64(), pv.value.header.hash()), pv.clone());
        Some(pv)
    }

    fn find_block(&self, height: u64, round: Round, id: &BlockHash) -> Option<Block> {
        if let Some(pv) = self.undecided.get(&(height, round.as_i64(), *id)) {
            return Some(pv.value.clone());
        }
        self.undecided
            .iter()
            .find(|((h, _, i), _)| *h == height && i == id)
            .map(|(_, pv)| pv.value.clone())
    }

    fn commit(&mut self, cert: &CommitCertificate<LedgerContext>) -> anyhow::Result<()> {
        let h = cert.height.0;
        let block = self
            .find_block(h, cert.round, &cert.value_id)
            .ok_or_else(|| anyhow!("decided block {} at height {h} is unknown", cert.value_id))?;
        let stored = StoredCertificate::from_commit(cert);
        let mut s = self.node.lock();
        // Execution is deterministic and a quorum accepted this block after the same checks, so
        // a failure here means this node's state diverged: stop rather than continue.
        // The block was executed when it was checked; reuse that result if it was computed on
        // exactly the current state (same height, log and state roots), else execute it now.
        let reuse = self
            .executed
            .remove(&cert.value_id)
            .filter(|e| e.height == h && e.base == s.ledger.outcome());
        let out = match reuse {
            Some(e) => {
                s.ledger = e.ledger;
                s.ledger.outcome()
            }
            None => match s.ledger.apply_block(h, block.header.time, &block.entries) {
                Ok(out) => out,
                Err(e) => {
                    error!(height = h, error = %e, "decided block does not apply locally; stopping");
                    std::process::exit(70);
                }
            },
        };
        self.executed.retain(|_, e| e.height > h);
        if out.log_root != block.header.log_root
            || out.state_root != block.header.state_root
            || out.log_size != block.header.log_size
        {
            // A decided block whose header disagrees with execution: divergence. Stop.
            error!(height = h, "decided block does not match local execution; stopping");
            std::process::exit(70);
        }
        if let Err(e) = self.node.store.put_decided(&block, &stored) {
            error!(height = h, error = %e, "storage write failed; stopping");
            std::process::exit(74);
        }
        let ids: Vec<EntryId> = block.entries.iter().filter_map(|e| exec::entry_id(e)).collect();
        s.mempool.remove_committed(&ids);
        s.metrics.blocks_committed += 1;
        s.metrics.entries_committed += ids.len() as u64;
        // The checkpoint of height h is cosigned by the departments that decided h.
        let me = self.node.key.public_key();
        let dept = s.ledger.validators_at(h).into_iter().find(|d| d.node_key == me).map(|d| d.id);
        let new_changes = changes_in(&block);
        if let Some(dept) = &dept {
            match NoteSigner::new(dept, self.node.key.clone()).and_then(|signer| {
                let mut n = Note::new(&checkpoint_of(&block.header).to_body())?;
                n.sign(&signer)?;
                Ok(n)
            }) {
                Ok(n) => {
                    s.own_checkpoints.insert(h, n.to_text());
                }
                Err(e) => warn!(height = h, error = %e, "could not sign the checkpoint"),
            }
        }
        while s.own_checkpoints.len() > 256 {
            s.own_checkpoints.pop_first();
        }
        self.recent_roots.push_back(out.state_root);
        while self.recent_roots.len() > KEEP_RECENT_ROOTS {
            self.recent_roots.pop_front();
        }
        if h.is_multiple_of(PRUNE_EVERY) {
            // Keep the recent roots and the newest cosigned one provable (the proofs API);
            // no dry run is in flight while the lock is held.
            let mut keep: Vec<[u8; 32]> = self.recent_roots.iter().copied().collect();
            if let Ok(Some((ch, _))) = self.node.store.latest_checkpoint() {
                if let Ok(Some(b)) = self.node.store.block(ch) {
                    keep.push(b.header.state_root);
                }
            }
            s.ledger.prune_history(&keep);
        }
        s.last_header = Some(block.header);
        drop(s);
        if !new_changes.is_empty() {
            info!(height = h, "validator change committed");
            match self.node.changes.lock() {
                Ok(mut c) => c.extend(new_changes),
                Err(p) => p.into_inner().extend(new_changes),
            }
        }
        self.undecided.retain(|(hh, _, _), _| *hh > h);
        self.future_parts.retain(|hh, _| *hh > h);
        info!(height = h, entries = ids.len(), log_size = out.log_size, "committed block");
        Ok(())
    }

    async fn handle(
        &mut self,
        msg: AppMsg<LedgerContext>,
        channels: &mut Channels<LedgerContext>,
    ) -> anyhow::Result<()> {
        match msg {
            AppMsg::ConsensusReady { reply } => {
                let next = self.node.store.max_height()?.unwrap_or(0) + 1;
                self.current = Height(next);
                info!(height = next, "consensus ready");
                let _ = reply.send((Height(next), self.params(Height(next))));
            }
            AppMsg::StartedRound { height, round, reply_value, .. } => {
                self.current = height;
                if let Some(parts) = self.future_parts.remove(&height.0) {
                    for p in parts {
                        self.accept_part(p);
                    }
                }
                let values: Vec<_> = self
                    .undecided
                    .iter()
                    .filter(|((h, r, _), _)| *h == height.0 && *r == round.as_i64())
                    .map(|(_, v)| v.clone())
                    .collect();
                let _ = reply_value.send(values);
            }
            AppMsg::GetValue { height, round, reply, .. } => {
                let existing = self
                    .undecided
                    .iter()
                    .find(|((h, r, _), v)| {
                        *h == height.0 && *r == round.as_i64() && v.proposer == self.address
                    })
                    .map(|(_, v)| v.value.clone());
                let block = match existing {
                    Some(b) => b,
                    None => self.build_block(height),
                };
                let pv = ProposedValue {
                    height,
                    round,
                    valid_round: Round::Nil,
                    proposer: self.address,
                    value: block.clone(),
                    validity: Validity::Valid,
                };
                self.undecided.insert((height.0, round.as_i64(), block.header.hash()), pv);
                let _ = reply.send(LocallyProposedValue::new(height, round, block.clone()));
                let part = ProposalPart::new_signed(
                    &self.ctx,
                    &self.node.key,
                    height,
                    round,
                    Round::Nil,
                    block,
                );
                for m in self.stream(part) {
                    channels.network.send(NetworkMsg::PublishProposalPart(m)).await?;
                }
            }
            AppMsg::ExtendVote { reply, .. } => {
                let _ = reply.send(None);
            }
            AppMsg::VerifyVoteExtensions { extensions, reply, .. } => {
                let verdicts = extensions
                    .into_iter()
                    .map(|(a, _)| (a, Err(VoteExtensionError::InvalidVoteExtension)))
                    .collect();
                let _ = reply.send(verdicts);
            }
            AppMsg::RestreamProposal { height, round, valid_round, value_id, .. } => {
                let r = if valid_round == Round::Nil { round } else { valid_round };
                if let Some(block) = self.find_block(height.0, r, &value_id) {
                    let part = ProposalPart::new_signed(
                        &self.ctx,
                        &self.node.key,
                        height,
                        round,
                        valid_round,
                        block,
                    );
                    for m in self.stream(part) {
                        channels.network.send(NetworkMsg::PublishProposalPart(m)).await?;
                    }
                }
            }
            AppMsg::GetHistoryMinHeight { reply } => {
                let min = self.node.store.min_height()?.unwrap_or(1);
                let _ = reply.send(Height(min));
            }
            AppMsg::ReceivedProposalPart { part, reply, .. } => {
                let out = match part.content {
                    StreamContent::Fin => None,
                    StreamContent::Data(p) => {
                        if p.height.0 > self.current.0 {
                            let heights = self.future_parts.len();
                            let q = self.future_parts.entry(p.height.0).or_default();
                            if q.len() < 64 && heights <= 8 {
                                q.push(p);
                            }
                            None
                        } else if p.height.0 < self.current.0 {
                            None
                        } else {
                            self.accept_part(p)
                        }
                    }
                };
                let _ = reply.send(out);
            }
            AppMsg::Decided { certificate, reply, .. } => {
                self.commit_failed = false;
                if let Err(e) = self.commit(&certificate) {
                    error!(error = %e, "could not commit decided block");
                    self.commit_failed = true;
                }
                let _ = reply.send(());
            }
            AppMsg::Finalized { certificate, reply, .. } => {
                let h = certificate.height;
                if self.commit_failed {
                    let _ = reply.send(Next::Restart(h, self.params(h)));
                } else {
                    if let Err(e) = self
                        .node
                        .store
                        .update_certificate(&StoredCertificate::from_commit(&certificate))
                    {
                        error!(error = %e, "storage write failed; stopping");
                        std::process::exit(74);
                    }
                    self.current = Height(h.0 + 1);
                    let next = Height(h.0 + 1);
                    let _ = reply.send(Next::Start(next, self.params(next)));
                }
            }
            AppMsg::GetDecidedValues { range, reply } => {
                let mut values = Vec::new();
                let (start, end) =
                    (range.start().0, range.end().0.min(range.start().0.saturating_add(100)));
                let mut total = 0usize;
                for h in start..=end {
                    let (Some(bytes), Some(cert)) =
                        (self.node.store.block_bytes(h)?, self.node.store.certificate(h)?)
                    else {
                        break;
                    };
                    total += bytes.len();
                    if !values.is_empty() && total > MAX_SYNC_RESPONSE_BYTES {
                        break;
                    }
                    values.push(codec::raw_decided(bytes, &cert)?);
                }
                let _ = reply.send(values);
            }
            AppMsg::ProcessSyncedValue { height, round, proposer, value_bytes, reply } => {
                let outcome = match codec::decode::<Block>(&value_bytes) {
                    Err(_) => SyncedValueOutcome::PeerFault,
                    Ok(_) if height != self.current => SyncedValueOutcome::LocalTransientError,
                    Ok(block) => {
                        let validity = match self.check_block(&block, height, None, false) {
                            Ok(()) => Validity::Valid,
                            Err(e) => {
                                warn!(%height, error = %e, "synced block refused");
                                Validity::Invalid
                            }
                        };
                        let pv: ProposedValue<LedgerContext> = ProposedValue {
                            height,
                            round,
                            valid_round: Round::Nil,
                            proposer,
                            value: block,
                            validity,
                        };
                        self.undecided
                            .insert((height.0, round.as_i64(), pv.value.header.hash()), pv.clone());
                        SyncedValueOutcome::Verdict(pv)
                    }
                };
                let _ = reply.send(outcome);
            }
        }
        Ok(())
    }
}

/// Every 300 ms: for the newest heights without a stored quorum note, pull the peers' own
/// signed notes, merge the signatures into ours, and store the note once it verifies under the
/// quorum of the departments that decided that height (`note::verify_checkpoint`, more than 2/3).
/// Heights holding a governance change are always completed (a light client needs a checkpoint
/// of the old set covering the change), whatever their age.
pub async fn cosign_loop(node: Arc<NodeHandle>) {
    let mut done_up_to = node.store.latest_checkpoint().ok().flatten().map(|(h, _)| h).unwrap_or(0);
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let top = node.lock().last_header.as_ref().map(|h| h.height).unwrap_or(0);
        // Governance heights first (oldest first), then the newest heights: a fresh quorum
        // checkpoint matters more than old ones.
        let mut wanted: Vec<u64> = governance_heights(&node)
            .into_iter()
            .filter(|h| *h <= top && matches!(node.store.checkpoint(*h), Ok(None)))
            .collect();
        let first = done_up_to.max(top.saturating_sub(4)) + 1;
        wanted.extend((first..=top).rev());
        let mut stored_newest = false;
        for h in wanted {
            let newest = h >= first;
            if newest && stored_newest {
                continue;
            }
            if cosign_height(&node, h).await && newest {
                done_up_to = done_up_to.max(h);
                stored_newest = true;
            }
        }
    }
}

/// Heights of the blocks that hold a governance change.
fn governance_heights(node: &NodeHandle) -> Vec<u64> {
    let changes = match node.changes.lock() {
        Ok(c) => c.clone(),
        Err(p) => p.into_inner().clone(),
    };
    let mut heights: Vec<u64> = changes
        .iter()
        .filter_map(|(_, leaf)| LogLeaf::from_bytes_checked(leaf).ok().map(|l| l.height))
        .collect();
    heights.dedup();
    heights
}

/// Collects cosignatures for height `h` and stores the note if it reaches the quorum of the
/// set that decided `h`. Returns whether it did.
async fn cosign_height(node: &NodeHandle, h: u64) -> bool {
    let quorum = node.quorum_at(h);
    let Ok(Some(block)) = node.store.block(h) else { return false };
    let body = checkpoint_of(&block.header).to_body();
    let Ok(mut merged) = Note::new(&body) else { return false };
    if let Some(own) = node.lock().own_checkpoints.get(&h).cloned() {
        if let Ok(n) = Note::parse(&own) {
            let _ = merged.add_signatures(&n);
        }
    }
    for base in &node.peer_http {
        let url = format!("{base}/v1/checkpoints/{h}/cosignature");
        let Ok(resp) = node.http.get(&url).send().await else { continue };
        let Ok(v) = resp.json::<serde_json::Value>().await else { continue };
        let Some(text) = v["note"].as_str() else { continue };
        let Ok(n) = Note::parse(text) else { continue };
        // Only signatures over exactly our body, by listed keys, that verify.
        if n.text() != body || n.verify(&quorum.keys).is_err() {
            continue;
        }
        let _ = merged.add_signatures(&n);
    }
    let text = merged.to_text();
    if note::verify_checkpoint(&text, &quorum).is_ok() {
        if let Err(e) = node.store.put_checkpoint(h, &text) {
            error!(error = %e, "storage write failed; stopping");
            std::process::exit(74);
        }
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mempool_is_bounded_and_deduplicated() {
        let mut m = Mempool::default();
        assert_eq!(m.insert([1; 32], vec![1]), Ok(()));
        assert_eq!(m.insert([1; 32], vec![1]), Err(SubmitError::AlreadyPending));
        for i in 1..MEMPOOL_MAX_ENTRIES {
            let mut id = [0u8; 32];
            id[..8].copy_from_slice(&(i as u64).to_be_bytes());
            id[31] = 9;
            assert_eq!(m.insert(id, vec![]), Ok(()));
        }
        assert_eq!(m.len(), MEMPOOL_MAX_ENTRIES);
        assert_eq!(m.insert([2; 32], vec![2]), Err(SubmitError::Full));
        m.remove_committed(&[[1; 32]]);
        assert!(!m.contains(&[1; 32]));
        assert_eq!(m.insert([2; 32], vec![2]), Ok(()));
    }

    #[test]
    fn entries_root_is_rfc9162() {
        assert_eq!(entries_root(&[]), certledger_core::merkle::empty_root());
        assert_eq!(entries_root(&[b"a".to_vec()]), certledger_core::merkle::leaf_hash(b"a"));
        let two = certledger_core::merkle::node_hash(
            &certledger_core::merkle::leaf_hash(b"a"),
            &certledger_core::merkle::leaf_hash(b"b"),
        );
        assert_eq!(entries_root(&[b"a".to_vec(), b"b".to_vec()]), two);
    }
}
