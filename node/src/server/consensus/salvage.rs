//! Salvaging a proposal: the largest prefix-compatible subset of mempool entries that executes.

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
