//! Salvaging a proposal: the largest prefix-compatible subset of mempool entries that executes.

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

use super::*;

/// A prefix-compatible subset of `candidates` (in order) with at most `budget` calls of `fits`
/// (whether the kept entries followed by a chunk execute): a chunk that fits is kept whole, one
/// that does not is split in halves, a single entry that does not fit is dropped. With `k` bad
/// entries among `n` that is about `2k log2 n` calls instead of `n`. Returns `(kept, dropped)`;
/// entries not tried within the budget are in neither (they stay in the mempool).
pub(super) fn salvage(
    candidates: Vec<Vec<u8>>,
    budget: usize,
    mut fits: impl FnMut(&[Vec<u8>]) -> bool,
) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let mut kept: Vec<Vec<u8>> = Vec::new();
    let mut dropped = Vec::new();
    let mut rest: std::collections::VecDeque<Vec<Vec<u8>>> = std::collections::VecDeque::new();
    // The whole list is already known not to fit: start with its halves.
    let mut all = candidates;
    let second = all.split_off(all.len() / 2);
    rest.extend([all, second].into_iter().filter(|c| !c.is_empty()));
    let mut calls = 0;
    while let Some(mut chunk) = rest.pop_front() {
        if calls >= budget {
            break;
        }
        calls += 1;
        let n = kept.len();
        kept.append(&mut chunk);
        if fits(&kept) {
            continue;
        }
        let mut chunk = kept.split_off(n);
        if chunk.len() == 1 {
            dropped.append(&mut chunk);
        } else {
            let second = chunk.split_off(chunk.len() / 2);
            rest.push_front(second);
            rest.push_front(chunk);
        }
    }
    (kept, dropped)
}
