//! Tests of trust lists and ledger roots (moved out of `trust_list.rs` to keep it under 800 lines).

use super::*;
use crate::testkit;

fn ledgers() -> (Vec<testkit::ProvinceLedger>, Policy, u64) {
    testkit::province_ledgers("trust-list unit tests").expect("ledgers")
}

#[test]
fn bounds_are_checked_before_parsing() {
    let huge = format!("{{\"version\":1,\"ledgers\":[],\"x\":\"{}\"}}", "a".repeat(2 << 20));
    assert_eq!(TrustList::from_json(&huge), Err(TrustListError::Malformed("JSON is too large")));
    let (l, _, _) = ledgers();
    let root = l[0].root.to_json_value();
    let many = TrustListJson { version: 1, ledgers: vec![root; MAX_LISTED_LEDGERS + 1] };
    let text = serde_json::to_string(&many).expect("json");
    assert_eq!(TrustList::from_json(&text), Err(TrustListError::TooMany));
    assert!(TrustList::from_json("[1]").is_err());
    assert!(TrustList::from_json("{\"version\":1,\"ledgers\":{}}").is_err());
}

#[test]
fn add_drop_and_unlisted() {
    let (l, policy, now) = ledgers();
    let mut list = TrustList::new();
    assert_eq!(list.add(l[0].root.clone()), Ok(Added::New));
    assert_eq!(list.add(l[1].root.clone()), Ok(Added::New));
    let round = TrustList::from_json(&list.to_json()).expect("round trip");
    assert_eq!(round, list);
    let v = list.verify(&l[1].bundle, &policy, now).expect("decided");
    let Verdict::Valid(a) = v else { panic!("expected valid: {v:?}") };
    assert_eq!(a.issued_by.expect("issued by").ledger_en, "Zhejiang");
    assert!(list.drop_ledger(&l[1].root.chain_id));
    assert!(!list.drop_ledger(&l[1].root.chain_id));
    let v = list.verify(&l[1].bundle, &policy, now).expect("decided");
    assert_eq!(v, Verdict::Invalid(Invalid::UnlistedLedger));
    // A credential from a dropped ledger no longer passes as issued either.
    let cred = match &l[1].bundle.presentation {
        crate::bundle::Presentation::SdJwt(s) => s.split('~').next().unwrap_or("").to_owned(),
        crate::bundle::Presentation::W3cVp(_) => String::new(),
    };
    let v = list.verify_credential(&cred, &l[1].bundle.proofs, 86_400, now);
    assert_eq!(v, Ok(Verdict::Invalid(Invalid::UnlistedLedger)));
}

#[test]
fn a_successor_list_cannot_roll_a_held_ledger_back() {
    let (l, _, _) = ledgers();
    let mut held = TrustList::new();
    held.add(l[0].root.clone()).expect("add");
    let mut newer = l[0].root.clone();
    newer.sequence = 2;
    newer.signatures.clear();
    for d in l[0].scenario.departments.iter().take(3) {
        newer.sign(&d.admin);
    }
    let mut offered = TrustList::new();
    offered.add(newer.clone()).expect("add");
    offered.add(l[1].root.clone()).expect("add");
    let next = held.successor(&offered).expect("newer");
    assert_eq!(next.len(), 2);
    assert_eq!(next.get(&newer.chain_id).map(ListedLedger::sequence), Some(2));
    // Back to sequence 1: refused, whatever else the file lists.
    let older = held.clone();
    assert!(matches!(next.successor(&older), Err(TrustListError::Rollback { .. })));
    // A file without Zhejiang drops it.
    let mut only_sh = TrustList::new();
    only_sh.add(newer).expect("add");
    assert_eq!(next.successor(&only_sh).expect("drop").len(), 1);
}

#[test]
fn a_plain_root_is_a_list_of_one_and_names_departments() {
    let (l, policy, now) = ledgers();
    let s = &l[0].scenario;
    let plain = s.trust_root().to_json_with_departments(&s.genesis.departments);
    let list = TrustList::from_json(&plain).expect("plain root");
    assert_eq!(list.len(), 1);
    // Nothing signed, so nothing to publish.
    assert_eq!(TrustList::from_json(&list.to_json()).expect("empty").len(), 0);
    let Verdict::Valid(a) = list.verify(&l[0].bundle, &policy, now).expect("decided") else {
        panic!("expected valid")
    };
    let by = a.issued_by.expect("issued by");
    assert_eq!(
        (by.ledger_en.as_str(), by.department_en.as_str()),
        (s.chain_id(), "Market Regulation Administration")
    );
    // The old single-root verifier gives the same decision (without names).
    let Verdict::Valid(b) = verify(&l[0].bundle, &s.trust_root(), &policy, now).expect("d") else {
        panic!("expected valid")
    };
    assert_eq!(b.issued_by, None);
    assert_eq!(b.credential_type, a.credential_type);
    // Another ledger's bundle under a plain root alone: `wrong_ledger`, as before trust
    // lists; under a list with a signed root: `unlisted_ledger`.
    let other = list.verify(&l[1].bundle, &policy, now).expect("decided");
    assert_eq!(other, Verdict::Invalid(Invalid::WrongLedger));
    assert_eq!(verify(&l[1].bundle, &s.trust_root(), &policy, now), Ok(other));
    let signed = TrustList::from_json(&l[0].root.to_json()).expect("signed root");
    let other = signed.verify(&l[1].bundle, &policy, now).expect("decided");
    assert_eq!(other, Verdict::Invalid(Invalid::UnlistedLedger));
}

#[test]
fn an_update_may_change_departments_when_the_held_set_signs() {
    let (l, _, _) = ledgers();
    let sh = &l[0];
    let mut list = TrustList::new();
    list.add(sh.root.clone()).expect("add");
    // Sequence 2 names a new admin key for the first department; the held departments sign
    // (their old keys), and the new set is itself signed by its quorum.
    let mut next = sh.root.clone();
    let new_admin = SecretKey::from_seed(&[7; 32]);
    next.departments[0].admin_keys = vec![new_admin.public_key()];
    next.sequence = 2;
    next.signatures.clear();
    for d in sh.scenario.departments.iter().take(3) {
        next.sign(&d.admin);
    }
    next.sign(&new_admin);
    assert_eq!(list.add(next.clone()), Ok(Added::Updated));
    assert_eq!(list.get(&next.chain_id).map(ListedLedger::sequence), Some(2));
    // Signed by the new set only (the new key plus two held departments): not enough of the
    // held set if the held set needs three.
    let mut only_new = next.clone();
    only_new.sequence = 3;
    only_new.signatures.clear();
    only_new.sign(&new_admin);
    for d in sh.scenario.departments.iter().skip(1).take(1) {
        only_new.sign(&d.admin);
    }
    assert_eq!(list.add(only_new), Err(TrustListError::NotApproved("its own")));
}
