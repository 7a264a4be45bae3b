//! Bounded buffer of proposal parts for heights this node has not reached yet.

use std::collections::BTreeMap;

use crate::server::chain::{MAX_BLOCK_BYTES, MAX_BLOCK_ENTRIES};
use crate::server::context::{LedgerContext, ProposalPart, ValidatorSet};

use super::*;

/// Why a part for a future height was not buffered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(super) enum FutureRefused {
    #[error("not a future height, or more than MAX_FUTURE_HEIGHTS ahead")]
    OutOfRange,
    #[error("MAX_FUTURE_PARTS parts already buffered for this height")]
    TooManyParts,
    #[error("part over the block limits, or MAX_FUTURE_BYTES already buffered for this height")]
    TooLarge,
    #[error("proposer signature does not verify")]
    BadSignature,
    #[error("proposer is not a validator")]
    NotAValidator,
}

/// Approximate memory of one part: its entries plus room for the header and signature.
fn part_bytes(p: &ProposalPart) -> usize {
    p.block.entries.iter().map(|e| e.len() + 24).sum::<usize>() + 512
}

/// Proposal parts for heights this node has not reached yet, bounded before anything is stored:
/// heights at most [`MAX_FUTURE_HEIGHTS`] ahead, [`MAX_FUTURE_PARTS`] parts and
/// [`MAX_FUTURE_BYTES`] per height, and only parts signed by a current validator.
#[derive(Default)]
pub(super) struct FutureParts {
    /// Height -> (bytes held, parts).
    pub(super) by_height: BTreeMap<u64, (usize, Vec<ProposalPart>)>,
}

impl FutureParts {
    /// Buffers `part` for later if every bound holds; `current` is the height being decided,
    /// `validators` the set parts must be signed by. Nothing is inserted on refusal.
    pub(super) fn offer(
        &mut self,
        current: u64,
        part: ProposalPart,
        ctx: &LedgerContext,
        validators: &ValidatorSet,
    ) -> Result<(), FutureRefused> {
        let h = part.height.0;
        if h <= current || h - current > MAX_FUTURE_HEIGHTS {
            return Err(FutureRefused::OutOfRange);
        }
        let size = part_bytes(&part);
        let (held, parts) = self.by_height.get(&h).map(|(b, p)| (*b, p.len())).unwrap_or((0, 0));
        if parts >= MAX_FUTURE_PARTS {
            return Err(FutureRefused::TooManyParts);
        }
        if part.block.entries.len() > MAX_BLOCK_ENTRIES
            || size > MAX_BLOCK_BYTES + 1024 * 1024
            || held.saturating_add(size) > MAX_FUTURE_BYTES
        {
            return Err(FutureRefused::TooLarge);
        }
        if !validators.contains(&part.proposer) {
            return Err(FutureRefused::NotAValidator);
        }
        if !part.verify(ctx) {
            return Err(FutureRefused::BadSignature);
        }
        let slot = self.by_height.entry(h).or_default();
        slot.0 += size;
        slot.1.push(part);
        Ok(())
    }

    /// Takes the parts buffered for `height`.
    pub(super) fn take(&mut self, height: u64) -> Vec<ProposalPart> {
        self.by_height.remove(&height).map(|(_, p)| p).unwrap_or_default()
    }

    /// Drops the parts of heights up to `height`.
    pub(super) fn drop_up_to(&mut self, height: u64) {
        self.by_height.retain(|h, _| *h > height);
    }

    /// Bytes held in all.
    #[cfg(test)]
    pub(super) fn bytes(&self) -> usize {
        self.by_height.values().map(|(b, _)| *b).sum()
    }
}
