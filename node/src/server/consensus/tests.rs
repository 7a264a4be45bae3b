//! Tests of the future-part buffer and of salvage.

use super::future_parts::FutureRefused;
use super::*;

fn part(
    key: &SecretKey,
    ctx: &LedgerContext,
    height: u64,
    round: u32,
    fill: usize,
) -> ProposalPart {
    let header = BlockHeader {
        chain_id: "parts-test".into(),
        height,
        prev_block_hash: [0; 32],
        time: u64::from(round),
        proposer: key.public_key().0,
        entries_root: [0; 32],
        log_size: 0,
        log_root: [0; 32],
        state_root: [0; 32],
        validators_hash: [0; 32],
        next_validators_hash: [0; 32],
    };
    let entries = if fill == 0 { vec![] } else { vec![vec![7u8; fill]] };
    let block = Block { header, entries };
    ProposalPart::new_signed(ctx, key, Height(height), Round::new(round), Round::Nil, block)
}

fn setup() -> (LedgerContext, SecretKey, ValidatorSet) {
    let ctx = LedgerContext::new("parts-test");
    let key = SecretKey::from_seed(&[3; 32]);
    let set = ValidatorSet::new([key.public_key()]);
    (ctx, key, set)
}

#[test]
fn salvage_is_bounded_and_keeps_a_compatible_subset() {
    // 64 candidates, entries 10 and 40 conflict with what precedes them.
    let candidates: Vec<Vec<u8>> = (0..64u8).map(|i| vec![i]).collect();
    let mut calls = 0;
    let (kept, dropped) = salvage(candidates.clone(), MAX_SALVAGE_DRY_RUNS, |p| {
        calls += 1;
        !p.iter().any(|e| e[0] == 10 || e[0] == 40)
    });
    assert_eq!(dropped, vec![vec![10], vec![40]]);
    assert_eq!(kept.len(), 62);
    // The old one-by-one salvage made 64 dry runs of growing prefixes.
    assert!(calls <= MAX_SALVAGE_DRY_RUNS, "{calls} dry runs");
    const { assert!(MAX_SALVAGE_DRY_RUNS < MAX_SALVAGE_CANDIDATES) };
    // Everything bad: the budget caps the work, nothing untried is dropped.
    let mut calls = 0;
    let (kept, dropped) = salvage(candidates, 5, |_| {
        calls += 1;
        false
    });
    assert_eq!(calls, 5);
    assert!(kept.is_empty() && dropped.len() < 5);
}

#[test]
fn far_future_heights_are_refused_before_anything_is_stored() {
    let (ctx, key, set) = setup();
    let mut fp = FutureParts::default();
    // On the old code every new height got an (empty) entry, without bound.
    for h in 10 + MAX_FUTURE_HEIGHTS + 1..10 + MAX_FUTURE_HEIGHTS + 1000 {
        assert_eq!(
            fp.offer(10, part(&key, &ctx, h, 0, 0), &ctx, &set),
            Err(FutureRefused::OutOfRange)
        );
    }
    assert_eq!(
        fp.offer(10, part(&key, &ctx, 10, 0, 0), &ctx, &set),
        Err(FutureRefused::OutOfRange)
    );
    assert!(fp.by_height.is_empty());
    for h in 11..=10 + MAX_FUTURE_HEIGHTS {
        assert_eq!(fp.offer(10, part(&key, &ctx, h, 0, 0), &ctx, &set), Ok(()));
    }
    assert_eq!(fp.by_height.len() as u64, MAX_FUTURE_HEIGHTS);
}

#[test]
fn parts_and_bytes_per_height_are_bounded() {
    let (ctx, key, set) = setup();
    let mut fp = FutureParts::default();
    for r in 0..MAX_FUTURE_PARTS as u32 {
        assert_eq!(fp.offer(1, part(&key, &ctx, 2, r, 0), &ctx, &set), Ok(()));
    }
    assert_eq!(
        fp.offer(1, part(&key, &ctx, 2, 99, 0), &ctx, &set),
        Err(FutureRefused::TooManyParts)
    );
    // Big parts: at most MAX_FUTURE_BYTES per height.
    let big = MAX_BLOCK_BYTES - 4096;
    assert_eq!(fp.offer(1, part(&key, &ctx, 3, 0, big), &ctx, &set), Ok(()));
    assert_eq!(fp.offer(1, part(&key, &ctx, 3, 1, big), &ctx, &set), Ok(()));
    assert_eq!(fp.offer(1, part(&key, &ctx, 3, 2, big), &ctx, &set), Err(FutureRefused::TooLarge));
    assert_eq!(
        fp.offer(1, part(&key, &ctx, 4, 0, MAX_BLOCK_BYTES + 2 * 1024 * 1024), &ctx, &set),
        Err(FutureRefused::TooLarge)
    );
    assert!(fp.bytes() <= MAX_FUTURE_HEIGHTS as usize * MAX_FUTURE_BYTES);
    assert_eq!(fp.take(3).len(), 2);
    fp.drop_up_to(2);
    assert!(fp.by_height.is_empty());
}

#[test]
fn unsigned_or_non_validator_parts_are_not_buffered() {
    let (ctx, key, set) = setup();
    let mut fp = FutureParts::default();
    let mut forged = part(&key, &ctx, 2, 0, 10);
    forged.block.header.time = 12345;
    assert_eq!(fp.offer(1, forged, &ctx, &set), Err(FutureRefused::BadSignature));
    let stranger = SecretKey::from_seed(&[4; 32]);
    assert_eq!(
        fp.offer(1, part(&stranger, &ctx, 2, 0, 10), &ctx, &set),
        Err(FutureRefused::NotAValidator)
    );
    assert!(fp.by_height.is_empty());
}
