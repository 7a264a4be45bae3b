//! The light client: following validator-set changes from the genesis set (`specs/governance.md`).
#![allow(clippy::unwrap_used, clippy::panic)]

use certledger_core::codec::{Decode, DecodeError, Encode};
use certledger_core::ledger::{
    quorum_threshold, Approval, ChangeValidators, Department, EntryBody, LogLeaf, SignedEntry,
};
use certledger_core::lightclient::{
    build_chain, follow, follow_from_genesis, BuildError, ChainError, ChainStep, GovernanceTrust,
    ValidatorChain, MAX_CHAIN_STEPS,
};
use certledger_core::merkle::MerkleLog;
use certledger_core::note::{CheckpointError, LedgerCheckpoint, Note, NoteSigner};
use certledger_core::sig::SecretKey;
use certledger_core::testkit::{DepartmentKeys, Scenario};

const T0: u64 = 1_750_000_000;
const CHAIN: &str = "certledger.test/lightclient";

/// A checkpoint of the ledger's current head signed by the node keys of `ids`.
fn checkpoint_by(s: &Scenario, ids: &[&str]) -> String {
    let cp = LedgerCheckpoint {
        origin: s.chain_id().to_owned(),
        size: s.ledger.log_size(),
        root: s.ledger.log_root(),
        height: s.ledger.height(),
        time: s.ledger.time(),
        state_root: s.ledger.state_root(),
    };
    sign_body(s, &cp, ids)
}

fn sign_body(s: &Scenario, cp: &LedgerCheckpoint, ids: &[&str]) -> String {
    let mut note = Note::new(&cp.to_body()).unwrap();
    for id in ids {
        let d = s.department(id).unwrap();
        note.sign(&NoteSigner::new(&d.id, d.node.clone()).unwrap()).unwrap();
    }
    note.to_text()
}

fn new_department(s: &mut Scenario, id: &str) -> Department {
    let keys = DepartmentKeys {
        id: id.to_owned(),
        node: SecretKey::generate(&mut s.rng),
        admin: SecretKey::generate(&mut s.rng),
    };
    let d = Department {
        id: id.to_owned(),
        name_zh: "卫生健康部门".to_owned(),
        name_en: "Health Commission".to_owned(),
        node_key: keys.node.public_key(),
        admin_keys: vec![keys.admin.public_key()],
    };
    s.departments.push(keys);
    d
}

fn approve(s: &Scenario, change: &mut ChangeValidators, ids: &[&str]) {
    let chain = s.chain_id().to_owned();
    change.approvals =
        ids.iter().map(|id| change.approve(&s.department(id).unwrap().admin, &chain)).collect();
}

/// All `(index, leaf)` of the log that are validator changes.
fn change_leaves(s: &Scenario) -> Vec<(u64, Vec<u8>)> {
    (0..s.ledger.log_size())
        .filter_map(|i| {
            let bytes = s.leaf(i)?.to_vec();
            let leaf = LogLeaf::from_bytes(&bytes).ok()?;
            matches!(leaf.entry.body, EntryBody::ChangeValidators(_)).then_some((i, bytes))
        })
        .collect()
}

const ORIGINAL: [&str; 4] = ["education", "market-regulation", "public-security", "transport"];
const FIVE: [&str; 5] =
    ["education", "health", "market-regulation", "public-security", "transport"];
const FINAL: [&str; 4] = ["education", "health", "market-regulation", "public-security"];

/// The story: 4 departments; block 2 adds `health` from height 4; block 5 removes `transport`
/// from height 7. Checkpoints are kept at every height, each signed by the set deciding it.
struct Story {
    s: Scenario,
    checkpoints: Vec<String>,
    /// The checkpoint of height 4 (signed by the five-department set, after the first change).
    cp_after_add: String,
}

fn story() -> Story {
    let mut s = Scenario::new("lightclient story", CHAIN, T0).unwrap();
    let mut checkpoints = vec![checkpoint_by(&s, &ORIGINAL)]; // height 1
    let health = new_department(&mut s, "health");
    let mut add = ChangeValidators {
        add: vec![health],
        remove: vec![],
        effective_height: 4,
        approvals: vec![],
    };
    approve(&s, &mut add, &["education", "public-security", "transport"]);
    let admin = s.department("education").unwrap().admin.clone();
    s.submit(&admin, EntryBody::ChangeValidators(add));
    s.commit(10).unwrap(); // height 2
    checkpoints.push(checkpoint_by(&s, &ORIGINAL));
    s.commit(10).unwrap(); // height 3: last height of the old set
    checkpoints.push(checkpoint_by(&s, &ORIGINAL));
    assert_eq!(s.ledger.validator_set_at(4).len(), 5);
    s.commit(10).unwrap(); // height 4: the five-department set decides
    let cp_after_add = checkpoint_by(&s, &FIVE);
    checkpoints.push(cp_after_add.clone());
    // Approved by the four founders (4 of 5 = quorum_threshold(5)).
    let mut remove = ChangeValidators {
        add: vec![],
        remove: vec!["transport".to_owned()],
        effective_height: 7,
        approvals: vec![],
    };
    approve(&s, &mut remove, &ORIGINAL);
    s.submit(&admin, EntryBody::ChangeValidators(remove));
    s.commit(10).unwrap(); // height 5
    checkpoints.push(checkpoint_by(&s, &FIVE));
    s.commit(10).unwrap(); // height 6
    checkpoints.push(checkpoint_by(&s, &FIVE));
    s.commit(10).unwrap(); // height 7: the final set decides
    checkpoints.push(checkpoint_by(&s, &FINAL[..3]));
    Story { s, checkpoints, cp_after_add }
}

fn chain_of(st: &Story) -> ValidatorChain {
    build_chain(&st.s.genesis, &st.s.ledger, &change_leaves(&st.s), &st.checkpoints).unwrap()
}

fn genesis_trust(st: &Story) -> GovernanceTrust {
    GovernanceTrust::from_genesis(&st.s.genesis)
}

#[test]
fn following_from_genesis_reaches_todays_set() {
    let st = story();
    let chain = chain_of(&st);
    assert_eq!(chain.steps.len(), 2);
    let followed = follow(&genesis_trust(&st), &chain).unwrap();
    let ids: Vec<&str> = followed.trust.departments.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, FINAL);
    assert_eq!(followed.trust.departments, st.s.ledger.validators());
    assert_eq!(followed.head.height, 7);
    let root = followed.trust.to_trust_root();
    assert_eq!(root.threshold, 3);
    assert_eq!(root.threshold, quorum_threshold(4));
    let names: Vec<&str> = root.keys.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(names, FINAL);
    assert_eq!(follow_from_genesis(&st.s.genesis, &chain).unwrap(), root);
    // The genesis trust root alone would refuse today's head (signed by 3 keys, one unknown).
    assert_ne!(st.s.trust_root(), root);
}

#[test]
fn chain_round_trips_through_its_encoding() {
    let st = story();
    let chain = chain_of(&st);
    let bytes = chain.to_bytes();
    assert_eq!(ValidatorChain::from_bytes_checked(&bytes).unwrap(), chain);
    assert!(ValidatorChain::from_bytes_checked(&bytes[..bytes.len() - 1]).is_err());
    let mut extra = bytes.clone();
    extra.push(0);
    assert_eq!(ValidatorChain::from_bytes_checked(&extra), Err(DecodeError::TrailingBytes(1)));
    let mut magic = bytes.clone();
    magic[3] = 2;
    assert_eq!(
        ValidatorChain::from_bytes_checked(&magic),
        Err(DecodeError::UnsupportedVersion("validator chain"))
    );
    // Every prefix and every single-byte corruption decodes to an error or to another value,
    // never a panic.
    for n in 0..bytes.len().min(4096) {
        let _ = ValidatorChain::from_bytes_checked(&bytes[..n]);
        let mut b = bytes.clone();
        b[n] ^= 0x5a;
        let _ = ValidatorChain::from_bytes_checked(&b);
    }
    let trust = genesis_trust(&st);
    assert_eq!(GovernanceTrust::from_bytes_checked(&trust.to_bytes()).unwrap(), trust);
}

#[test]
fn too_many_steps_are_refused_by_decoder_and_follow() {
    let st = story();
    let mut chain = chain_of(&st);
    let step = chain.steps[0].clone();
    chain.steps = vec![step; MAX_CHAIN_STEPS as usize + 1];
    assert_eq!(follow(&genesis_trust(&st), &chain), Err(ChainError::TooManySteps));
    assert!(matches!(
        ValidatorChain::from_bytes_checked(&chain.to_bytes()),
        Err(DecodeError::TooLong { what: "validator chain steps", .. })
    ));
}

#[test]
fn no_change_is_a_chain_of_just_a_head() {
    let s = Scenario::new("lightclient quiet", CHAIN, T0).unwrap();
    let cps = vec![checkpoint_by(&s, &ORIGINAL[..3])];
    let chain = build_chain(&s.genesis, &s.ledger, &[], &cps).unwrap();
    assert!(chain.steps.is_empty());
    let followed = follow(&GovernanceTrust::from_genesis(&s.genesis), &chain).unwrap();
    assert_eq!(followed.trust.to_trust_root(), s.trust_root());
}

#[test]
fn a_scheduled_change_is_not_followed_before_its_height() {
    let mut s = Scenario::new("lightclient pending", CHAIN, T0).unwrap();
    let health = new_department(&mut s, "health");
    let mut add = ChangeValidators {
        add: vec![health],
        remove: vec![],
        effective_height: 5,
        approvals: vec![],
    };
    approve(&s, &mut add, &ORIGINAL[..3]);
    let admin = s.department("transport").unwrap().admin.clone();
    s.submit(&admin, EntryBody::ChangeValidators(add));
    s.commit(1).unwrap(); // height 2, the change takes effect at 5
    let cps = vec![checkpoint_by(&s, &ORIGINAL)];
    let chain = build_chain(&s.genesis, &s.ledger, &change_leaves(&s), &cps).unwrap();
    assert!(chain.steps.is_empty(), "the old set still decides height 2");
    let followed = follow(&GovernanceTrust::from_genesis(&s.genesis), &chain).unwrap();
    assert_eq!(followed.trust.departments.len(), 4);
    assert!(followed.head.height < 5);
}

#[test]
fn checkpoint_at_the_last_old_height_is_accepted() {
    // Effective-height semantics: the old set decides heights below the effective height, so
    // its checkpoint at effective_height - 1 (height 3) proves the first change.
    let st = story();
    let mut chain = chain_of(&st);
    chain.steps[0].checkpoint = st.checkpoints[2].clone(); // height 3
    let size =
        LedgerCheckpoint::parse_body(Note::parse(&st.checkpoints[2]).unwrap().text()).unwrap().size;
    chain.steps[0].proof = st.s.ledger.inclusion_proof(chain.steps[0].proof.index, size).unwrap();
    assert!(follow(&genesis_trust(&st), &chain).is_ok());
}

#[test]
fn checkpoint_signed_by_the_new_set_is_refused() {
    let st = story();
    // The second change (remove transport): its checkpoint at height 5 signed by a quorum of the
    // set *after* the change (3 of the final 4) is only 3 of the 5 that decide height 5.
    let mut chain = chain_of(&st);
    let cp5 =
        LedgerCheckpoint::parse_body(Note::parse(&st.checkpoints[4]).unwrap().text()).unwrap();
    assert_eq!(cp5.height, 5);
    chain.steps[1].checkpoint = sign_body(&st.s, &cp5, &["education", "health", "public-security"]);
    assert_eq!(
        follow(&genesis_trust(&st), &chain),
        Err(ChainError::Checkpoint(CheckpointError::QuorumNotMet { valid: 3, threshold: 4 }))
    );
    // The first change (add health) proven by the checkpoint at its effective height 4, which
    // the new set decides: refused by height even though 4 of its signers are founders.
    let mut chain = chain_of(&st);
    let cp4 = LedgerCheckpoint::parse_body(Note::parse(&st.cp_after_add).unwrap().text()).unwrap();
    chain.steps[0].checkpoint = st.cp_after_add.clone();
    chain.steps[0].proof =
        st.s.ledger.inclusion_proof(chain.steps[0].proof.index, cp4.size).unwrap();
    assert!(matches!(follow(&genesis_trust(&st), &chain), Err(ChainError::CheckpointHeight(_))));
}

#[test]
fn steps_out_of_order_are_refused() {
    let st = story();
    let chain = chain_of(&st);
    let mut swapped = chain.clone();
    swapped.steps.swap(0, 1);
    // The removal first would leave 3 of the 4 founders: the governance rule refuses it before
    // the order is even looked at; either way the chain is refused.
    assert!(matches!(
        follow(&genesis_trust(&st), &swapped),
        Err(ChainError::OutOfOrder(_) | ChainError::Unsafe(_))
    ));
    let mut twice = chain.clone();
    twice.steps[1] = twice.steps[0].clone();
    assert_eq!(
        follow(&genesis_trust(&st), &twice),
        Err(ChainError::OutOfOrder("not later in the log than the previous step"))
    );
}

#[test]
fn a_skipped_change_is_caught_by_the_head() {
    // Leaving out the first change: the second one is approved and checkpointed by founders
    // only, so each step passes, but the head's validator record contradicts the result.
    let st = story();
    // Since a removal must leave at least 4 departments, the second change (remove transport)
    // applied to the 4 founders alone is refused by the governance rule itself.
    let mut chain = chain_of(&st);
    chain.steps.remove(0);
    assert_eq!(
        follow(&genesis_trust(&st), &chain),
        Err(ChainError::Unsafe(
            "a removal must leave at least 4 departments (a set that tolerates one faulty member)"
        ))
    );
    // Leaving out the last change instead: the removed department is still in the followed set;
    // even with a head checkpoint all five of that set signed (so it has its quorum), the head's
    // validator record contradicts the result.
    let mut st2 = story();
    let head_all = checkpoint_by(&st2.s, &FIVE);
    st2.checkpoints.push(head_all.clone());
    let mut chain = chain_of(&st2);
    chain.head.checkpoint = head_all;
    chain.steps.truncate(1);
    assert_eq!(
        follow(&genesis_trust(&st2), &chain),
        Err(ChainError::Head("the ledger's current set differs from the followed set"))
    );
    // build_chain refuses to serve a chain when a change leaf is missing.
    let leaves = change_leaves(&st.s);
    assert!(matches!(
        build_chain(&st.s.genesis, &st.s.ledger, &leaves[1..], &st.checkpoints),
        Err(BuildError::Chain(_))
    ));
}

#[test]
fn missing_or_wrong_inclusion_is_refused() {
    let st = story();
    let chain = chain_of(&st);
    let mut no_path = chain.clone();
    no_path.steps[0].proof.path.clear();
    assert!(matches!(follow(&genesis_trust(&st), &no_path), Err(ChainError::NotIncluded(_))));
    let mut other_size = chain.clone();
    other_size.steps[0].proof.size -= 1;
    assert_eq!(
        follow(&genesis_trust(&st), &other_size),
        Err(ChainError::NotIncluded("inclusion proof is for another log size"))
    );
    let mut other_leaf = chain.clone();
    let mut leaf = LogLeaf::from_bytes(&other_leaf.steps[0].leaf).unwrap();
    leaf.time += 1;
    other_leaf.steps[0].leaf = leaf.to_bytes();
    assert!(matches!(follow(&genesis_trust(&st), &other_leaf), Err(ChainError::NotIncluded(_))));
    let mut not_a_change = chain.clone();
    not_a_change.steps[0].leaf = st.s.leaf(0).unwrap().to_vec(); // a RegisterType
    assert_eq!(follow(&genesis_trust(&st), &not_a_change), Err(ChainError::NotAChange));
    let mut garbage = chain;
    garbage.steps[0].leaf = vec![0xff; 10];
    assert!(matches!(follow(&genesis_trust(&st), &garbage), Err(ChainError::Malformed(_))));
}

/// A one-step chain whose leaf lives in a forged log of its own, under a checkpoint that the
/// founders sign: what a quorum could sign, but the ledger's rules refuse.
fn forged_chain(s: &Scenario, body: ChangeValidators, signer: &SecretKey) -> ValidatorChain {
    let entry = SignedEntry::sign(signer, s.chain_id(), EntryBody::ChangeValidators(body));
    let leaf = LogLeaf { height: 2, time: T0 + 2, entry }.to_bytes();
    let mut log = MerkleLog::new();
    log.append_data(b"padding").unwrap();
    log.append_data(&leaf).unwrap();
    let cp = LedgerCheckpoint {
        origin: s.chain_id().to_owned(),
        size: log.size(),
        root: log.root(),
        height: 2,
        time: T0 + 2,
        state_root: [0; 32],
    };
    let checkpoint = sign_body(s, &cp, &ORIGINAL);
    let step = ChainStep { leaf, proof: log.inclusion_proof(1, 2).unwrap(), checkpoint };
    let mut chain =
        build_chain(&s.genesis, &s.ledger, &[], &[checkpoint_by(s, &ORIGINAL)]).unwrap();
    chain.steps = vec![step];
    chain
}

fn founders_change(s: &mut Scenario, remove: &[&str], approvers: &[&str]) -> ChangeValidators {
    let health = new_department(s, "health");
    let mut c = ChangeValidators {
        add: if remove.is_empty() { vec![health] } else { vec![] },
        remove: remove.iter().map(|r| (*r).to_owned()).collect(),
        effective_height: 4,
        approvals: vec![],
    };
    approve(s, &mut c, approvers);
    c
}

#[test]
fn forged_chain_helper_is_accepted_up_to_the_head() {
    // Guard for the tests below: a well-formed forged step passes every step check and fails
    // only at the head (the founders' head at height 1 predates the forged change).
    let mut s = Scenario::new("lightclient forged ok", CHAIN, T0).unwrap();
    let c = founders_change(&mut s, &[], &ORIGINAL);
    let admin = s.department("education").unwrap().admin.clone();
    let chain = forged_chain(&s, c, &admin);
    assert_eq!(
        follow(&GovernanceTrust::from_genesis(&s.genesis), &chain),
        Err(ChainError::Head("head is before the last change took effect"))
    );
}

#[test]
fn tampered_approval_is_refused() {
    let mut s = Scenario::new("lightclient tampered", CHAIN, T0).unwrap();
    let mut c = founders_change(&mut s, &[], &ORIGINAL);
    c.approvals[1].signature.0[5] ^= 1;
    let admin = s.department("education").unwrap().admin.clone();
    let chain = forged_chain(&s, c, &admin);
    assert_eq!(
        follow(&GovernanceTrust::from_genesis(&s.genesis), &chain),
        Err(ChainError::BadApproval("an approval signature is invalid"))
    );
}

#[test]
fn too_few_or_duplicate_or_foreign_approvals_are_refused() {
    let mut s = Scenario::new("lightclient approvals", CHAIN, T0).unwrap();
    let admin = s.department("education").unwrap().admin.clone();
    let trust = GovernanceTrust::from_genesis(&s.genesis);
    let c = founders_change(&mut s, &[], &ORIGINAL[..2]);
    assert_eq!(
        follow(&trust, &forged_chain(&s, c, &admin)),
        Err(ChainError::BadApproval("approvals from no more than two thirds of the departments"))
    );
    let mut s = Scenario::new("lightclient approvals", CHAIN, T0).unwrap();
    let mut c = founders_change(&mut s, &[], &ORIGINAL[..2]);
    let dup: Approval = c.approvals[0].clone();
    c.approvals.push(dup);
    assert_eq!(
        follow(&trust, &forged_chain(&s, c, &admin)),
        Err(ChainError::BadApproval("two approvals from one department"))
    );
    let mut s = Scenario::new("lightclient approvals", CHAIN, T0).unwrap();
    let mut c = founders_change(&mut s, &[], &ORIGINAL[..2]);
    let outsider = SecretKey::from_seed(&[9; 32]);
    c.approvals.push(c.approve(&outsider, CHAIN));
    assert_eq!(
        follow(&trust, &forged_chain(&s, c, &admin)),
        Err(ChainError::BadApproval("approval by a key that is not a current admin key"))
    );
    // An entry signed by a key that is not a current admin key.
    let mut s = Scenario::new("lightclient approvals", CHAIN, T0).unwrap();
    let c = founders_change(&mut s, &[], &ORIGINAL);
    assert_eq!(
        follow(&trust, &forged_chain(&s, c, &outsider)),
        Err(ChainError::BadEntry("signer is not an admin key of a current department"))
    );
}

#[test]
fn removing_too_many_is_refused() {
    let mut s = Scenario::new("lightclient removals", CHAIN, T0).unwrap();
    let admin = s.department("education").unwrap().admin.clone();
    let trust = GovernanceTrust::from_genesis(&s.genesis);
    // Every founder approves removing two of four: still more than floor((4-1)/3) = 1.
    let c = founders_change(&mut s, &["public-security", "transport"], &ORIGINAL);
    assert_eq!(
        follow(&trust, &forged_chain(&s, c, &admin)),
        Err(ChainError::Unsafe("removes more than floor((n-1)/3) departments"))
    );
    let mut s = Scenario::new("lightclient removals", CHAIN, T0).unwrap();
    let c = founders_change(&mut s, &["unknown"], &ORIGINAL);
    assert_eq!(
        follow(&trust, &forged_chain(&s, c, &admin)),
        Err(ChainError::Unsafe("removes a department that is not in the set"))
    );
    // A one-department ledger can never be emptied: floor(0/3) = 0 removals allowed.
    let mut solo = trust.clone();
    solo.departments.truncate(1);
    let mut s = Scenario::new("lightclient removals", CHAIN, T0).unwrap();
    let c = founders_change(&mut s, &["education"], &["education"]);
    assert_eq!(
        follow(&solo, &forged_chain(&s, c, &admin)),
        Err(ChainError::Unsafe("removes more than floor((n-1)/3) departments"))
    );
}

#[test]
fn effective_height_must_be_above_the_block() {
    let mut s = Scenario::new("lightclient effective", CHAIN, T0).unwrap();
    let admin = s.department("education").unwrap().admin.clone();
    let mut c = founders_change(&mut s, &[], &[]);
    c.effective_height = 2; // the forged leaf is at height 2
    approve(&s, &mut c, &ORIGINAL);
    // No checkpoint can be both at or after the change's block and before its effective height.
    assert_eq!(
        follow(&GovernanceTrust::from_genesis(&s.genesis), &forged_chain(&s, c, &admin)),
        Err(ChainError::CheckpointHeight(
            "checkpoint is at or after the effective height, where the old set no longer decides"
        ))
    );
}

#[test]
fn wrong_chain_id_and_bad_trust_are_refused() {
    let st = story();
    let chain = chain_of(&st);
    let mut other = genesis_trust(&st);
    other.chain_id = "certledger.test/other".to_owned();
    assert_eq!(follow(&other, &chain), Err(ChainError::Checkpoint(CheckpointError::WrongOrigin)));
    let mut empty = genesis_trust(&st);
    empty.departments.clear();
    assert!(matches!(follow(&empty, &chain), Err(ChainError::InvalidTrust(_))));
    let mut unsorted = genesis_trust(&st);
    unsorted.departments.swap(0, 1);
    assert!(matches!(follow(&unsorted, &chain), Err(ChainError::InvalidTrust(_))));
}

#[test]
fn build_chain_needs_an_old_set_checkpoint_per_change() {
    let st = story();
    // Only checkpoints signed after each change took effect: nothing proves the changes.
    let late: Vec<String> = vec![st.cp_after_add.clone(), st.checkpoints[6].clone()];
    let leaves = change_leaves(&st.s);
    assert_eq!(
        build_chain(&st.s.genesis, &st.s.ledger, &leaves, &late),
        Err(BuildError::NoCheckpoint { index: leaves[0].0 })
    );
    // No head.
    assert_eq!(
        build_chain(&st.s.genesis, &st.s.ledger, &leaves, &st.checkpoints[..6]),
        Err(BuildError::NoHeadCheckpoint)
    );
    // A leaf that is not the log's.
    let mut bad = leaves.clone();
    bad[0].1.push(0);
    assert!(matches!(
        build_chain(&st.s.genesis, &st.s.ledger, &bad, &st.checkpoints),
        Err(BuildError::Leaf(_))
    ));
}

proptest::proptest! {
    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2048)) {
        let _ = ValidatorChain::from_bytes_checked(&bytes);
        let mut with_magic = b"CLV\x01".to_vec();
        with_magic.extend_from_slice(&bytes);
        let _ = ValidatorChain::from_bytes_checked(&with_magic);
        let _ = GovernanceTrust::from_bytes_checked(&bytes);
    }
}
