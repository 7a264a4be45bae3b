//! Sparse Merkle tree: random operations against a `BTreeMap` model, proofs, tampering.

use std::collections::BTreeMap;

use certledger_core::codec::{Decode, Encode};
use certledger_core::smt::{empty_hash, value_hash, Smt, SmtError, SmtProof, Terminal};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Insert([u8; 32], Vec<u8>),
    Remove([u8; 32]),
}

/// Keys from a small pool (so updates and removals hit existing keys), some sharing long
/// prefixes (to exercise deep splits), some fully random.
fn key() -> impl Strategy<Value = [u8; 32]> {
    prop_oneof![
        (0u8..16).prop_map(|i| value_hash(&[i])),
        (0u8..8).prop_map(|i| {
            let mut k = [0xAB; 32];
            k[31] = i;
            k
        }),
        any::<[u8; 32]>(),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (key(), proptest::collection::vec(any::<u8>(), 0..8)).prop_map(|(k, v)| Op::Insert(k, v)),
        1 => key().prop_map(Op::Remove),
    ]
}

fn build(model: &BTreeMap<[u8; 32], Vec<u8>>, order: &[usize]) -> Smt {
    let entries: Vec<_> = model.iter().collect();
    let mut t = Smt::default();
    for &i in order {
        if let Some((k, v)) = entries.get(i) {
            t.insert(**k, (*v).clone()).expect("in-memory insert");
        }
    }
    t
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn matches_model_and_every_proof_verifies(ops in proptest::collection::vec(op(), 0..60), probes in proptest::collection::vec(key(), 0..8)) {
        let mut t = Smt::default();
        let mut model = BTreeMap::new();
        for op in &ops {
            match op {
                Op::Insert(k, v) => {
                    t.insert(*k, v.clone()).unwrap();
                    model.insert(*k, v.clone());
                }
                Op::Remove(k) => {
                    prop_assert_eq!(t.remove(k).unwrap(), model.remove(k));
                }
            }
        }
        prop_assert_eq!(t.len(), model.len() as u64);
        // Root is a function of the contents: rebuilding in sorted and reversed order agrees.
        let n = model.len();
        let fwd: Vec<usize> = (0..n).collect();
        let rev: Vec<usize> = (0..n).rev().collect();
        prop_assert_eq!(build(&model, &fwd).root(), t.root());
        prop_assert_eq!(build(&model, &rev).root(), t.root());
        let root = t.root();
        for (k, v) in &model {
            prop_assert_eq!(t.get(k).unwrap(), Some(v.clone()));
            let p = t.prove(k).unwrap();
            prop_assert_eq!(p.verify(&root, k, Some(v)), Ok(()));
            prop_assert!(p.verify(&root, k, None).is_err());
            let mut other = v.clone();
            other.push(1);
            prop_assert!(p.verify(&root, k, Some(&other)).is_err());
            let back = SmtProof::from_bytes(&p.to_bytes()).unwrap();
            prop_assert_eq!(&back, &p);
        }
        for k in &probes {
            let p = t.prove(k).unwrap();
            match model.get(k) {
                Some(v) => prop_assert_eq!(p.verify(&root, k, Some(v)), Ok(())),
                None => {
                    prop_assert_eq!(p.verify(&root, k, None), Ok(()));
                    prop_assert!(p.verify(&root, k, Some(b"")).is_err());
                }
            }
        }
    }

    #[test]
    fn insertion_order_does_not_matter(entries in proptest::collection::btree_map(key(), proptest::collection::vec(any::<u8>(), 0..4), 0..40), seed in any::<u64>()) {
        let n = entries.len();
        let mut order: Vec<usize> = (0..n).collect();
        // Deterministic shuffle from the seed.
        let mut s = seed;
        for i in (1..n).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            order.swap(i, (s >> 33) as usize % (i + 1));
        }
        let sorted: Vec<usize> = (0..n).collect();
        prop_assert_eq!(build(&entries, &order).root(), build(&entries, &sorted).root());
    }

    #[test]
    fn tampered_proofs_fail(entries in proptest::collection::btree_map(key(), proptest::collection::vec(any::<u8>(), 1..4), 2..30), pick in any::<prop::sample::Index>(), flip in any::<prop::sample::Index>()) {
        let order: Vec<usize> = (0..entries.len()).collect();
        let t = build(&entries, &order);
        let root = t.root();
        let (k, v) = entries.iter().nth(pick.index(entries.len())).unwrap();
        let p = t.prove(k).unwrap();
        // Flip one bit anywhere in the encoded proof: it either fails to decode or to verify.
        let mut bytes = p.to_bytes();
        let i = flip.index(bytes.len() * 8);
        bytes[i / 8] ^= 1 << (i % 8);
        if let Ok(q) = SmtProof::from_bytes(&bytes) {
            prop_assert!(q.verify(&root, k, Some(v)).is_err());
        }
        // Wrong root.
        let mut bad_root = root;
        bad_root[0] ^= 1;
        prop_assert_eq!(p.verify(&bad_root, k, Some(v)), Err(SmtError::RootMismatch));
        // Another key with the same proof.
        let mut k2 = *k;
        k2[31] ^= 0x80;
        prop_assert!(p.verify(&root, &k2, Some(v)).is_err());
    }
}

#[test]
fn absence_proof_cannot_be_turned_into_presence() {
    let mut t = Smt::default();
    for i in 0..100u8 {
        t.insert(value_hash(&[i]), vec![i]).unwrap();
    }
    let absent = value_hash(b"absent");
    let p = t.prove(&absent).unwrap();
    assert_eq!(p.verify(&t.root(), &absent, None), Ok(()));
    // Claiming the neighbour's value for the absent key fails.
    if let Terminal::Leaf { key, .. } = p.terminal() {
        let v = t.get(&key).unwrap().unwrap();
        assert!(p.verify(&t.root(), &absent, Some(&v)).is_err());
        // The neighbour's own proof is a membership proof and does not prove absence.
        let q = t.prove(&key).unwrap();
        assert_eq!(q.verify(&t.root(), &key, Some(&v)), Ok(()));
        assert_eq!(q.verify(&t.root(), &key, None), Err(SmtError::WrongClaim("key is present")));
    }
}

#[test]
fn proofs_are_compact() {
    let mut t = Smt::default();
    for i in 0..10_000u32 {
        t.insert(value_hash(&i.to_be_bytes()), i.to_be_bytes().to_vec()).unwrap();
    }
    let k = value_hash(&5u32.to_be_bytes());
    let p = t.prove(&k).unwrap();
    // About log2(10000) ~ 14 levels; every sibling near the top is non-empty.
    assert!(p.depth() >= 10 && p.depth() <= 40, "depth {}", p.depth());
    assert_eq!(p.to_bytes().len(), 2 + 32 + 32 * p.siblings().len() + 65);
    assert_eq!(p.verify(&t.root(), &k, Some(&5u32.to_be_bytes())), Ok(()));
}

#[test]
fn single_key_tree_root_is_the_leaf_and_empty_root_is_the_empty_hash() {
    let mut t = Smt::default();
    assert_eq!(t.root(), empty_hash());
    t.insert([1; 32], b"v".to_vec()).unwrap();
    assert_eq!(t.root(), certledger_core::smt::leaf_hash(&[1; 32], &value_hash(b"v")));
    assert_eq!(t.prove(&[1; 32]).unwrap().depth(), 0);
}

#[test]
fn proof_with_extra_empty_level_is_refused() {
    let mut t = Smt::default();
    t.insert([0; 32], b"a".to_vec()).unwrap();
    t.insert([0xff; 32], b"b".to_vec()).unwrap();
    let p = t.prove(&[0; 32]).unwrap();
    assert_eq!(p.depth(), 1);
    // The same terminal one level deeper with an empty sibling is not canonical.
    let q = SmtProof::from_parts(2, p.bitmap(), p.siblings().to_vec(), p.terminal());
    assert!(matches!(q.verify(&t.root(), &[0; 32], Some(b"a")), Err(SmtError::Malformed(_))));
}
