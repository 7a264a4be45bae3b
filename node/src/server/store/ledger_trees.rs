//! The ledger state behind [`SledStore`]: [`LedgerStore`] and [`NodeLedgerStore`] over sled trees.

use sled::transaction::TransactionError;
use sled::Transactional;

use certledger_core::codec::{Decode as _, Reader};
use certledger_core::ledger::Department;
use certledger_core::ledger_store::{LedgerChanges, LedgerHead, LedgerStore};
use certledger_core::smt::{self, SmtError};

use crate::server::exec::NodeLedgerStore;

use super::*;

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
