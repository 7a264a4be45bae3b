//! Tests of the consensus context and its sign bytes.

use malachitebft_app_channel::app::types::core::ValidatorSet as _;

use certledger_core::sig::{ns, SecretKey};
use malachitebft_app_channel::app::types::core::ValidatorProof;
use malachitebft_app_channel::{Signer as _, Verifier as _};

use super::*;

fn key(i: u8) -> SecretKey {
    SecretKey::from_seed(&[i; 32])
}

#[test]
fn validator_set_is_sorted_and_deduplicated() {
    let keys: Vec<PublicKey> = (1..=4).map(|i| key(i).public_key()).collect();
    let mut with_dup = keys.clone();
    with_dup.push(keys[0]);
    with_dup.reverse();
    let set = ValidatorSet::new(with_dup);
    assert_eq!(set.count(), 4);
    assert!(set.validators().windows(2).all(|w| w[0].address < w[1].address));
    assert_eq!(set.total_voting_power(), 4);
    assert_eq!(set.hash(), ValidatorSet::new(keys).hash());
}

#[test]
fn proposer_rotates_round_robin() {
    let set = ValidatorSet::new((1..=4).map(|i| key(i).public_key()));
    let ctx = LedgerContext::new("c");
    let p = |h: u64, r: u32| ctx.select_proposer(&set, Height(h), Round::new(r)).address;
    assert_eq!(p(1, 0), set.validators()[1].address);
    assert_eq!(p(1, 1), set.validators()[2].address);
    assert_eq!(p(2, 0), p(1, 1));
    assert_eq!(p(3, 1), set.validators()[0].address);
    assert_eq!(
        proposer_index(4, u64::MAX, u32::MAX),
        ((u64::MAX as u128 + u32::MAX as u128) % 4) as usize
    );
}

#[test]
fn vote_sign_bytes_layout() {
    let v = Vote {
        vote_type: VoteType::Precommit,
        height: Height(7),
        round: Round::new(2),
        value: NilOrVal::Val(BlockHash([0xab; 32])),
        validator: Address([0xcd; 32]),
        extension: None,
    };
    let b = vote_sign_bytes("chain", &v);
    let mut want = vec![5u8];
    want.extend_from_slice(b"chain");
    want.extend_from_slice(&7u64.to_be_bytes());
    want.extend_from_slice(&2i64.to_be_bytes());
    want.push(2);
    want.push(1);
    want.extend_from_slice(&[0xab; 32]);
    want.extend_from_slice(&[0xcd; 32]);
    assert_eq!(b, want);
    let nil = Vote { value: NilOrVal::Nil, ..v.clone() };
    assert_ne!(vote_sign_bytes("chain", &nil), b);
    assert_ne!(vote_sign_bytes("chain2", &v), b);
}

#[tokio::test]
async fn signatures_are_domain_separated_and_bound_to_the_chain() {
    let k = key(1);
    let signer = LedgerSigner::new("c", k.clone());
    let verifier = LedgerVerifier::new("c");
    let other_chain = LedgerVerifier::new("d");
    let ctx = LedgerContext::new("c");
    let addr = Address(k.public_key().0);
    let vote = ctx.new_prevote(Height(1), Round::new(0), NilOrVal::Val(BlockHash([1; 32])), addr);
    let signed = signer.sign_vote(vote.clone()).await.expect("sign");
    let pk = k.public_key();
    assert!(verifier
        .verify_signed_vote(&vote, &signed.signature, &pk)
        .await
        .expect("v")
        .is_valid());
    assert!(other_chain
        .verify_signed_vote(&vote, &signed.signature, &pk)
        .await
        .expect("v")
        .is_invalid());
    let precommit =
        ctx.new_precommit(Height(1), Round::new(0), NilOrVal::Val(BlockHash([1; 32])), addr);
    assert!(verifier
        .verify_signed_vote(&precommit, &signed.signature, &pk)
        .await
        .expect("v")
        .is_invalid());
    // A vote signature is never a valid peer binding or proposal part.
    let proof = signer.sign_validator_proof(pk.0.to_vec(), b"peer".to_vec()).await.expect("sign");
    assert!(verifier.verify_validator_proof(&proof).await.expect("v").is_valid());
    let forged = ValidatorProof::new(pk.0.to_vec(), b"peer".to_vec(), signed.signature);
    assert!(verifier.verify_validator_proof(&forged).await.expect("v").is_invalid());
    let other = ValidatorProof::new(pk.0.to_vec(), b"other".to_vec(), proof.signature);
    assert!(verifier.verify_validator_proof(&other).await.expect("v").is_invalid());
}

#[test]
fn header_hash_covers_every_field() {
    let h = BlockHeader {
        chain_id: "c".into(),
        height: 1,
        prev_block_hash: [0; 32],
        time: 5,
        proposer: [1; 32],
        entries_root: [2; 32],
        log_size: 3,
        log_root: [4; 32],
        state_root: [5; 32],
        validators_hash: [6; 32],
        next_validators_hash: [7; 32],
    };
    assert_eq!(h.canonical_bytes().len(), 1 + 2 + 8 * 3 + 32 * 7);
    let mut changed = vec![];
    changed.push(BlockHeader { time: 6, ..h.clone() });
    changed.push(BlockHeader { log_size: 4, ..h.clone() });
    changed.push(BlockHeader { state_root: [9; 32], ..h.clone() });
    changed.push(BlockHeader { next_validators_hash: [9; 32], ..h.clone() });
    changed.push(BlockHeader { chain_id: "d".into(), ..h.clone() });
    for c in changed {
        assert_ne!(c.hash(), h.hash());
    }
}

/// The node's own signed and hashed formats are specified: every consensus namespace and
/// the validator-set hash tag appear in `specs/consensus.md` and in `specs/signatures.md`,
/// and every `ns::` the node signs under is one of them (a new format without a spec fails).
#[test]
fn consensus_formats_are_specified_with_their_tags() {
    let consensus = include_str!("../../../../specs/consensus.md");
    let signatures = include_str!("../../../../specs/signatures.md");
    for n in CONSENSUS_NAMESPACES {
        let tag = format!("`{}`", n.as_str());
        assert!(consensus.contains(&tag), "specs/consensus.md lacks {tag}");
        assert!(signatures.contains(&tag), "specs/signatures.md lacks {tag}");
    }
    let tag = format!("`{VALIDATOR_SET_HASH_TAG}`");
    assert!(consensus.contains(&tag) && signatures.contains(&tag), "{tag} unspecified");
    assert!(consensus.contains("`BlockHash = SHA-256(canonical bytes)`"));
    let named = [
        ("CONSENSUS_VOTE", ns::CONSENSUS_VOTE),
        ("CONSENSUS_PROPOSAL", ns::CONSENSUS_PROPOSAL),
        ("CONSENSUS_PROPOSAL_PART", ns::CONSENSUS_PROPOSAL_PART),
        ("PEER_BINDING", ns::PEER_BINDING),
    ];
    assert_eq!(named.map(|(_, n)| n).as_slice(), CONSENSUS_NAMESPACES);
    let code = [include_str!("mod.rs"), include_str!("signing.rs")].concat();
    for used in code.split("ns::").skip(1) {
        let name: String =
            used.chars().take_while(|c| c.is_ascii_uppercase() || *c == '_').collect();
        assert!(
            name.is_empty() || named.iter().any(|(n, _)| *n == name),
            "context/ signs under ns::{name}, which CONSENSUS_NAMESPACES does not list"
        );
    }
}
