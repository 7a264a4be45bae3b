//! Consensus: engine start-up and the application loop over Malachite's channels.
//!
//! Decision flow of one height `h`:
//! `ConsensusReady`/`Finalized(h-1)` → `StartedRound` → (`GetValue` on the proposer, which
//! streams one signed [`ProposalPart`]) → `ReceivedProposalPart` everywhere (full re-execution:
//! every entry valid, header roots equal the re-executed roots) → `Decided` (apply, persist block
//! and certificate in one sled transaction, flush, then ack) → `Finalized` (store the larger
//! certificate, start `h+1`). Catch-up uses Malachite's value sync (`GetDecidedValues` /
//! `ProcessSyncedValue`), which runs the same block checks without the proposer-clock bound.
//! The mempool lives in [`crate::server::mempool`], checkpoint cosigning in
//! [`crate::server::cosign`], the shared state in [`crate::server::handle`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::anyhow;
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
use tracing::{debug, error, info, warn};

use crate::config::NodeToml;
use crate::server::chain::{
    changes_in, checkpoint_of, entries_root, now_s, MAX_BLOCK_BYTES, MAX_BLOCK_ENTRIES,
};
use crate::server::codec::{self, LedgerCodec, StoredCertificate};
use crate::server::context::{
    Address, Block, BlockHash, BlockHeader, Height, LedgerContext, LedgerSigner, LedgerVerifier,
    ProposalPart, ValidatorSet,
};
use crate::server::exec::{self, EntryError, EntryId};
use crate::server::fatal::Fatal;
use crate::server::handle::{NodeHandle, Shared};
use certledger_core::ledger::Department;
use certledger_core::note::{Note, NoteSigner};

mod future_parts;
mod salvage;
#[cfg(test)]
mod tests;

use future_parts::FutureParts;
use salvage::salvage;

/// Most block bytes in one sync response (Malachite's request/response limit is 10 MiB).
pub const MAX_SYNC_RESPONSE_BYTES: usize = 8 * 1024 * 1024;
/// State roots of this many recent heights stay provable (besides the newest cosigned one).
pub const KEEP_RECENT_ROOTS: usize = 64;
/// Unreachable state history is swept every this many heights.
pub const PRUNE_EVERY: u64 = 32;
/// How far ahead of the local clock a proposer's time may be (seconds).
pub const MAX_CLOCK_DRIFT_S: u64 = 30;
/// Capacity of Malachite's request channel (sync requests waiting for the app).
pub const REQUEST_CHANNEL: usize = 100;
/// When a proposer's candidate block does not execute as a whole, at most this many candidates
/// are tried one by one (the rest wait for the next block).
pub const MAX_SALVAGE_CANDIDATES: usize = 64;
/// Most dry runs one salvage makes (each holds the node lock for one candidate prefix only).
pub const MAX_SALVAGE_DRY_RUNS: usize = 24;
/// This node's own checkpoint notes kept in memory (older ones are re-signed on demand).
pub const KEEP_OWN_CHECKPOINTS: usize = 256;
/// Proposal parts buffered per future height (one per round; later rounds wait for a restream).
pub const MAX_FUTURE_PARTS: usize = 8;
/// How many heights ahead of the current one parts are buffered for.
pub const MAX_FUTURE_HEIGHTS: u64 = 4;
/// Bytes of buffered parts per future height (two full blocks), so at most
/// `MAX_FUTURE_HEIGHTS * MAX_FUTURE_BYTES` (24 MiB) in all, whatever peers send.
pub const MAX_FUTURE_BYTES: usize = 2 * MAX_BLOCK_BYTES;
/// Most decided blocks in one sync response (besides [`MAX_SYNC_RESPONSE_BYTES`]).
pub const MAX_SYNC_RESPONSE_BLOCKS: u64 = 100;

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
        .with_default_request(RequestContext::new(REQUEST_CHANNEL))
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
        future_parts: FutureParts::default(),
        commit_failed: false,
        danger_bad_root: cfg.danger_propose_bad_state_root,
        danger_invalid_entry: cfg.danger_invalid_entry()?,
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
    future_parts: FutureParts,
    commit_failed: bool,
    danger_bad_root: bool,
    /// Test-only: an entry this proposer adds to every block although it is invalid.
    danger_invalid_entry: Option<Vec<u8>>,
    /// Blocks that passed `check_block`, executed on an overlay of the state they were checked
    /// against (their write sets), by block hash; dropped once their height is decided and at
    /// most [`MAX_EXECUTED`] kept.
    executed: BTreeMap<BlockHash, Executed>,
}

/// A checked block's execution result, reusable when it is decided.
struct Executed {
    height: u64,
    /// The roots of the state it was executed on.
    base: exec::BlockOutcome,
    block: exec::ExecutedBlock,
}

/// Most executed proposals kept at once (a Byzantine proposer cannot make a node hold more).
const MAX_EXECUTED: usize = 16;

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
        let executed = s.ledger.execute(height.0, h.time, &block.entries)?;
        let out = executed.outcome();
        if h.next_validators_hash
            != set_of(&executed.validators_at(s.ledger.as_ref(), height.0 + 1)).hash()
        {
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
        self.keep_executed(h.hash(), Executed { height: height.0, base, block: executed });
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
            Ok(done) => (candidates, Some(done)),
            Err(_) => {
                // Only this loop changes the ledger, so the lock can be released between dry
                // runs: API requests and cosigning are not held up by the salvage.
                drop(s);
                let mut candidates = candidates;
                candidates.truncate(MAX_SALVAGE_CANDIDATES);
                let (kept, dropped) = salvage(candidates, MAX_SALVAGE_DRY_RUNS, |prefix| {
                    self.node.lock().ledger.dry_run(height.0, time, prefix).is_ok()
                });
                let dropped: Vec<EntryId> =
                    dropped.iter().filter_map(|b| exec::entry_id(b)).collect();
                s = self.node.lock();
                s.mempool.remove_committed(&dropped);
                match s.ledger.execute(height.0, time, &kept) {
                    Ok(done) => (kept, Some(done)),
                    Err(_) => (Vec::new(), None),
                }
            }
        };
        let (out, next_set) = match &executed {
            Some(ex) => (ex.outcome(), ex.validators_at(s.ledger.as_ref(), height.0 + 1)),
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
        if let Some(ex) = executed {
            if self.danger_invalid_entry.is_none() {
                self.keep_executed(
                    block.header.hash(),
                    Executed { height: height.0, base, block: ex },
                );
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

    /// Keeps a checked block's execution for its decision, within [`MAX_EXECUTED`] (the
    /// lowest heights first: those are decided first).
    fn keep_executed(&mut self, id: BlockHash, e: Executed) {
        self.executed.insert(id, e);
        while self.executed.len() > MAX_EXECUTED {
            let Some(worst) = self.executed.iter().max_by_key(|(_, e)| e.height).map(|(id, _)| *id)
            else {
                break;
            };
            self.executed.remove(&worst);
        }
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

    /// Applies and stores a decided block. `Ok(Err(_))`: the block is unknown here (consensus
    /// restarts the height); `Err(_)`: the node must stop.
    fn commit(
        &mut self,
        cert: &CommitCertificate<LedgerContext>,
    ) -> Result<Result<(), anyhow::Error>, Fatal> {
        let h = cert.height.0;
        let Some(block) = self.find_block(h, cert.round, &cert.value_id) else {
            return Ok(Err(anyhow!("decided block {} at height {h} is unknown", cert.value_id)));
        };
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
        let executed = match reuse {
            Some(e) => e.block,
            None => match s.ledger.execute(h, block.header.time, &block.entries) {
                Ok(ex) => ex,
                Err(e) => {
                    error!(height = h, error = %e, "decided block does not apply locally; stopping");
                    return Err(Fatal::Diverged { height: h, what: "the block does not apply" });
                }
            },
        };
        let out = executed.outcome();
        self.executed.retain(|_, e| e.height > h);
        if out.log_root != block.header.log_root
            || out.state_root != block.header.state_root
            || out.log_size != block.header.log_size
        {
            // A decided block whose header disagrees with execution: divergence. Stop.
            error!(height = h, "decided block does not match local execution; stopping");
            return Err(Fatal::Diverged { height: h, what: "the header's roots differ" });
        }
        // The block, its certificate and the ledger's write set go to disk in one transaction;
        // only then does the ledger move to the new head.
        if let Err(e) = self.node.store.put_decided(&block, &stored, Some(executed.changes())) {
            error!(height = h, error = %e, "storage write failed; stopping");
            return Err(Fatal::storage("decided block", e));
        }
        if let Err(e) = s.ledger.adopt(&executed) {
            error!(height = h, error = %e, "the ledger could not adopt the stored block; stopping");
            return Err(Fatal::storage("ledger head after the stored block", e));
        }
        let ids: Vec<EntryId> = block.entries.iter().filter_map(|e| exec::entry_id(e)).collect();
        s.mempool.remove_committed(&ids);
        s.metrics.blocks_committed += 1;
        s.metrics.entries_committed += ids.len() as u64;
        self.node.activity().record_block(h, ids.len() as u64, crate::server::chain::now_ms());
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
        while s.own_checkpoints.len() > KEEP_OWN_CHECKPOINTS {
            s.own_checkpoints.pop_first();
        }
        if h.is_multiple_of(PRUNE_EVERY) {
            // Keep the recent roots and the newest cosigned one provable (the proofs API);
            // no dry run is in flight while the lock is held.
            let mut keep_from = h.saturating_sub(KEEP_RECENT_ROOTS as u64 - 1);
            if let Ok(Some((ch, _))) = self.node.store.latest_checkpoint() {
                keep_from = keep_from.min(ch);
            }
            s.ledger.prune_history(keep_from);
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
        self.future_parts.drop_up_to(h);
        info!(height = h, entries = ids.len(), log_size = out.log_size, "committed block");
        Ok(Ok(()))
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
                for p in self.future_parts.take(height.0) {
                    self.accept_part(p);
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
                            // The current set: a part for a height after a governance change
                            // by a new member waits for its restream instead.
                            let set = self.node.validator_set_at(self.current.0);
                            let h = p.height;
                            if let Err(e) =
                                self.future_parts.offer(self.current.0, p, &self.ctx, &set)
                            {
                                debug!(height = %h, error = %e, "future proposal part not kept");
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
                if let Err(e) = self.commit(&certificate)? {
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
                        return Err(Fatal::storage("certificate", e).into());
                    }
                    self.current = Height(h.0 + 1);
                    let next = Height(h.0 + 1);
                    let _ = reply.send(Next::Start(next, self.params(next)));
                }
            }
            AppMsg::GetDecidedValues { range, reply } => {
                let mut values = Vec::new();
                let (start, end) = (
                    range.start().0,
                    range.end().0.min(range.start().0.saturating_add(MAX_SYNC_RESPONSE_BLOCKS)),
                );
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
