//! The node's shared state ([`NodeHandle`]): opening storage and replaying it into the ledger,
//! the data-directory locks, submission into the mempool, and the per-height department set.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use certledger_core::ledger::Department;
use certledger_core::note::{Note, NoteSigner, Quorum};
use certledger_core::sig::{PublicKey, SecretKey};
use tracing::{info, warn};

use crate::config::{Genesis, KeyFile, NodeToml};
use crate::server::chain::{checkpoint_of, leaf_adds, now_s, quorum_of};
use crate::server::context::{BlockHeader, ValidatorSet};
use crate::server::exec::{self, CoreLedger, EntryId, Executor};
use crate::server::mempool::{Mempool, Outbox, SubmitError};
use crate::server::store::{SledStore, Store};

/// Timeout of one HTTP request to a peer (forwarding, cosignatures).
pub const PEER_HTTP_TIMEOUT: Duration = Duration::from_secs(3);

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
    /// Equivocation evidence this node built from its own pulls and stored.
    pub evidence_detected: u64,
    /// Equivocation evidence received from peers, verified and stored.
    pub evidence_received: u64,
    /// Evidence from peers refused (malformed, wrong id, or not verifying).
    pub evidence_refused: u64,
    /// Verified evidence not stored because the store holds its maximum.
    pub evidence_dropped: u64,
    /// Conflicting checkpoint statements seen by the cosigning loop (a department's valid
    /// signature on another root at a committed log size), paired into evidence or not.
    pub conflicting_statements: u64,
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
    pub outbox: Outbox,
    /// Recent commits and cosigners, for the operator dashboard (bounded).
    pub activity: Mutex<crate::server::activity::Activity>,
    /// Peer-request signatures seen recently (replay protection of node-to-node endpoints).
    pub peer_replay: crate::server::peer_auth::ReplayGuard,
}

impl NodeHandle {
    /// The dashboard's activity record (a poisoned lock is taken over: it holds only figures).
    pub fn activity(&self) -> MutexGuard<'_, crate::server::activity::Activity> {
        match self.activity.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

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
        quorum_of(&self.chain_id, &self.departments_at(height))
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

/// Opens the ledger kept in the store at its last committed height, without replaying blocks:
/// the stored ledger head must be the head of the last stored block (height, log size, log and
/// state roots) and its root node and log hashes must give those roots. A store written before
/// the ledger lived on disk (blocks but no ledger head) is rebuilt once by replay.
pub fn open_ledger(
    genesis: &Genesis,
    store: &SledStore,
    sigs: Arc<exec::SigCache>,
) -> anyhow::Result<(CoreLedger<SledStore>, Option<BlockHeader>)> {
    let top = store.max_height()?.unwrap_or(0);
    let had_head = certledger_core::ledger_store::LedgerStore::head(store)
        .map_err(|e| anyhow!("reading the ledger head: {e}"))?
        .is_some();
    let mut ledger = CoreLedger::open(&genesis.to_core(), store.clone(), sigs).map_err(|e| {
        anyhow!("opening the ledger store (run `certledger-node verify-store`): {e}")
    })?;
    if !had_head && top > 0 {
        warn!(height = top, "the store has no ledger state yet: rebuilding it by replay, once");
        for h in 1..=top {
            replay_one(&mut ledger, store, h)?;
        }
    }
    let last_header = match top {
        0 => None,
        _ => Some(
            store.block(top)?.ok_or_else(|| anyhow!("block {top} missing from the store"))?.header,
        ),
    };
    let head = ledger.ledger().head();
    if let Some(hd) = &last_header {
        if (head.height, head.log_size, head.log_root, head.state_root)
            != (hd.height, hd.log_size, hd.log_root, hd.state_root)
        {
            bail!(
                "the stored ledger (height {}) does not match the last stored block (height {}): the store is damaged; run `certledger-node verify-store`",
                head.height,
                hd.height
            );
        }
    } else if head.height != 0 {
        bail!(
            "the stored ledger is at height {} but no block is stored: the store is damaged",
            head.height
        );
    }
    Ok((ledger, last_header))
}

/// Re-executes stored block `h` on `ledger` and checks it against its header.
fn replay_one(ledger: &mut CoreLedger<SledStore>, store: &SledStore, h: u64) -> anyhow::Result<()> {
    let block = store.block(h)?.ok_or_else(|| anyhow!("block {h} missing from the store"))?;
    let out = ledger
        .apply_block(h, block.header.time, &block.entries)
        .map_err(|e| anyhow!("replaying block {h}: {e}"))?;
    if out.log_root != block.header.log_root || out.state_root != block.header.state_root {
        bail!("replaying block {h} gave different roots than its header");
    }
    Ok(())
}

/// Full re-verification: re-executes every stored block from genesis on an in-memory ledger
/// and checks each against its header, then compares the result with the stored ledger head.
/// Returns the verified height.
pub fn verify_store(cfg: &NodeToml) -> anyhow::Result<u64> {
    let genesis = Genesis::load(&cfg.genesis_file)?;
    let store = SledStore::open(&cfg.data_dir.join("sled")).context("opening sled")?;
    let mut ledger = CoreLedger::new(&genesis.to_core())
        .map_err(|e| anyhow!("genesis refused by the ledger: {e}"))?;
    let top = store.max_height()?.unwrap_or(0);
    for h in 1..=top {
        let block = store.block(h)?.ok_or_else(|| anyhow!("block {h} missing from the store"))?;
        let out = ledger
            .apply_block(h, block.header.time, &block.entries)
            .map_err(|e| anyhow!("block {h} does not apply: {e}"))?;
        if out.log_root != block.header.log_root || out.state_root != block.header.state_root {
            bail!("block {h} gives other roots than its header");
        }
    }
    let sigs = Arc::new(exec::SigCache::default());
    open_ledger(&genesis, &store, sigs)?;
    Ok(top)
}

/// The node's store: `store` itself, or, in a `fault-injection` test build with a fault plan
/// installed ([`crate::server::faults`]), `store` behind the fault injector.
fn with_faults(store: Arc<dyn Store>) -> Arc<dyn Store> {
    #[cfg(feature = "fault-injection")]
    if let Some(plan) = crate::server::faults::plan() {
        return Arc::new(crate::server::store::FaultyStore::new(store, plan));
    }
    store
}

/// Opens storage and the ledger at its last committed height (no replay), and returns the node
/// handle.
pub fn open_node(cfg: &NodeToml) -> anyhow::Result<Arc<NodeHandle>> {
    let genesis = Genesis::load(&cfg.genesis_file)?;
    let key = KeyFile::load(&cfg.key_file)?;
    let store = SledStore::open(&cfg.data_dir.join("sled")).context("opening sled")?;
    let sigs = Arc::new(exec::SigCache::default());
    let (ledger, last_header) = open_ledger(&genesis, &store, sigs.clone())?;
    let top = last_header.as_ref().map_or(0, |h| h.height);
    let changes = store.governance_changes()?;
    info!(height = top, "opened the stored ledger");
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
        store: with_faults(Arc::new(store)),
        shared: Mutex::new(Shared {
            ledger: Box::new(ledger),
            mempool: Mempool::default(),
            last_header,
            own_checkpoints: BTreeMap::new(),
            metrics: Metrics::default(),
        }),
        peer_http: cfg.peer_http.clone(),
        http: crate::config::http_client(cfg.http.peer_ca.as_deref())?
            .timeout(PEER_HTTP_TIMEOUT)
            .build()?,
        changes: Mutex::new(changes),
        sigs,
        outbox: Default::default(),
        activity: Mutex::new(Default::default()),
        peer_replay: Default::default(),
    }))
}
