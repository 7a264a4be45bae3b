//! Recent runtime activity of this node for the operator dashboard: committed blocks and the
//! departments seen cosigning, bounded, never proportional to the ledger.

use std::collections::{BTreeMap, VecDeque};

use certledger_core::api::BlockActivity;

/// Blocks kept for the commit-rate and interval charts.
pub const RECENT_BLOCKS: usize = 240;
/// Departments whose cosigned heights are remembered (more than any department set).
const MAX_COSIGNERS: usize = 256;

/// Recent runtime activity: bounded, never proportional to the ledger.
#[derive(Debug, Default)]
pub struct Activity {
    blocks: VecDeque<BlockActivity>,
    cosigned: BTreeMap<String, u64>,
}

impl Activity {
    /// Records a committed block (the oldest drops out past [`RECENT_BLOCKS`]).
    pub fn record_block(&mut self, height: u64, entries: u64, decided_at_ms: u64) {
        self.blocks.push_back(BlockActivity { height, entries, decided_at_ms });
        while self.blocks.len() > RECENT_BLOCKS {
            self.blocks.pop_front();
        }
    }

    /// Records the departments (by id) whose node signatures made height `h`'s checkpoint.
    pub fn record_cosigners(&mut self, h: u64, departments: impl IntoIterator<Item = String>) {
        for d in departments {
            if !self.cosigned.contains_key(&d) && self.cosigned.len() >= MAX_COSIGNERS {
                continue;
            }
            let e = self.cosigned.entry(d).or_insert(h);
            *e = (*e).max(h);
        }
    }

    /// The remembered blocks, oldest first.
    pub fn blocks(&self) -> impl Iterator<Item = &BlockActivity> {
        self.blocks.iter()
    }

    /// The newest height `department` was seen cosigning.
    pub fn last_cosigned(&self, department: &str) -> Option<u64> {
        self.cosigned.get(department).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_blocks_are_bounded_and_cosigned_heights_only_grow() {
        let mut a = Activity::default();
        for h in 1..=(RECENT_BLOCKS as u64 + 10) {
            a.record_block(h, h * 2, h * 500);
        }
        let kept: Vec<u64> = a.blocks().map(|b| b.height).collect();
        assert_eq!(kept.len(), RECENT_BLOCKS);
        assert_eq!(kept.first(), Some(&11));
        a.record_cosigners(9, ["education".to_owned()]);
        a.record_cosigners(7, ["education".to_owned(), "transport".to_owned()]);
        assert_eq!(a.last_cosigned("education"), Some(9));
        assert_eq!(a.last_cosigned("transport"), Some(7));
        assert_eq!(a.last_cosigned("health"), None);
        for i in 0..(MAX_COSIGNERS + 5) {
            a.record_cosigners(1, [format!("d{i}")]);
        }
        assert_eq!(a.cosigned.len(), MAX_COSIGNERS);
    }
}
