//! Blocks and checkpoints: the block limits and the values the node derives from committed
//! blocks (entries root, checkpoint, checkpoint quorum, governance changes). Shared by the
//! consensus loop, the mempool, cosigning and the HTTP side; depends on nothing else of the
//! server but the block types and the ledger executor.

use std::time::{SystemTime, UNIX_EPOCH};

use certledger_core::codec::Encode as _;
use certledger_core::ledger::{Department, EntryBody, LogLeaf};
use certledger_core::note::{LedgerCheckpoint, Quorum};
use certledger_core::sig::PublicKey;
use certledger_core::verify::TrustRoot;

use crate::config::Genesis;
use crate::server::context::{Block, BlockHeader};
use crate::server::{exec, faults};

/// Most entries in one block.
pub const MAX_BLOCK_ENTRIES: usize = 2_000;
/// Most entry bytes in one block (a proposal travels as one gossip message, at most 4 MiB in
/// Malachite's default configuration).
pub const MAX_BLOCK_BYTES: usize = 3 * 1024 * 1024;

/// The checkpoint quorum of a department set under `chain_id` (core's one rule:
/// [`TrustRoot::from_departments`]).
pub fn quorum_of(chain_id: &str, departments: &[Department]) -> Quorum {
    TrustRoot::from_departments(chain_id, departments).quorum()
}

/// Whether a governance change leaf adds the department with node key `key`.
pub(crate) fn leaf_adds(leaf: &[u8], key: &PublicKey) -> bool {
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

/// Milliseconds since the Unix epoch by the node's wall clock (0 before 1970): the one reading
/// of the clock in the server (block times, entry and request freshness, the dashboard). In a
/// `fault-injection` test build a fault plan may add an offset ([`faults::clock_offset_ms`]).
pub fn now_ms() -> u64 {
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    let ms = i128::try_from(ms).unwrap_or(i128::MAX);
    u64::try_from(ms.saturating_add(i128::from(faults::clock_offset_ms())).max(0))
        .unwrap_or(u64::MAX)
}

/// Seconds since the Unix epoch by the node's wall clock ([`now_ms`]).
pub(crate) fn now_s() -> u64 {
    now_ms() / 1000
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
/// department id, more than 2/3 (later heights: [`NodeHandle::quorum_at`](crate::server::handle::NodeHandle::quorum_at)).
pub fn checkpoint_quorum(genesis: &Genesis) -> Quorum {
    quorum_of(&genesis.chain_id, &genesis.to_core().departments)
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

#[cfg(test)]
mod tests {
    use super::*;

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
