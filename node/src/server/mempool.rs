//! Entries waiting: the mempool (valid entries waiting for a block) and the outbox (client
//! submissions waiting to be forwarded to the peers, see [`crate::server::forward`]).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use crate::server::chain::{now_s, MAX_BLOCK_BYTES, MAX_BLOCK_ENTRIES};
use crate::server::exec::{EntryError, EntryId, Executor};

/// Most entries waiting in the mempool.
pub const MEMPOOL_MAX_ENTRIES: usize = 20_000;

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

/// Most entries waiting in the outbox; beyond it new entries are not forwarded (they still
/// commit when this node proposes).
pub const MAX_OUTBOX: usize = 50_000;

/// Entries accepted from clients and not yet sent to peers.
#[derive(Debug, Default)]
pub struct Outbox(Mutex<Vec<Vec<u8>>>);

impl Outbox {
    /// Queues an entry for the peers.
    pub fn push(&self, bytes: Vec<u8>) {
        let mut q = match self.0.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if q.len() < MAX_OUTBOX {
            q.push(bytes);
        }
    }

    /// Takes everything queued.
    pub(crate) fn take(&self) -> Vec<Vec<u8>> {
        match self.0.lock() {
            Ok(mut g) => std::mem::take(&mut *g),
            Err(p) => std::mem::take(&mut *p.into_inner()),
        }
    }
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
}
