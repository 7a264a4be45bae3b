//! The audit index in the state (`specs/ledger.md`, "Audit index"): counters and records per
//! department and per credential, and the completeness check of an audit page
//! (`ledger::check_index`) against pages built from a real ledger, with one entry hidden.

use certledger_core::codec::Decode;
use certledger_core::ledger::*;
use certledger_core::profiles::{BUSINESS_LICENCE, DIPLOMA};
use certledger_core::sig::{PublicKey, SecretKey};
use certledger_core::testkit::{self, Scenario};

const MARKET: &str = "market-regulation";
const EDUCATION: &str = "education";

struct Fx {
    sc: Scenario,
    /// Credentials anchored by the market department, in order.
    creds: Vec<[u8; 32]>,
}

/// Market: issuer registered (t0+2), three anchors (t0+3..5), two status changes of the first
/// credential (t0+6, t0+7). Education: issuer and one anchor in between.
fn fixture() -> Fx {
    let mut sc = Scenario::new("audit-index", "audit-index-test", 1_700_000_000).expect("sc");
    let market = sc.register_issuer(MARKET, &[BUSINESS_LICENCE.id], 1_000_000).expect("issuer");
    let holder = SecretKey::from_seed(&[4; 32]).public_key();
    let mut creds = Vec::new();
    for _ in 0..3 {
        let claims = testkit::example_claims(&BUSINESS_LICENCE);
        creds.push(
            sc.issue(&market, &BUSINESS_LICENCE, &claims, &holder).expect("issue").credential_id,
        );
    }
    let edu = sc.register_issuer(EDUCATION, &[DIPLOMA.id], 1_000_000).expect("issuer");
    sc.issue(&edu, &DIPLOMA, &testkit::example_claims(&DIPLOMA), &holder).expect("diploma");
    sc.change_status(&market, creds[0], CredentialStatus::Suspended, 1).expect("suspend");
    sc.change_status(&market, creds[0], CredentialStatus::Active, 0).expect("reinstate");
    Fx { sc, creds }
}

fn count(l: &Ledger, scope: &IndexScope) -> u64 {
    l.state_value(&scope.count_key())
        .expect("read")
        .map(|b| IndexCount::from_bytes(&b).expect("count").0)
        .unwrap_or(0)
}

fn record(l: &Ledger, scope: &IndexScope, seq: u64) -> Option<IndexRecord> {
    l.state_value(&scope.entry_key(seq))
        .expect("read")
        .map(|b| IndexRecord::from_bytes(&b).expect("record"))
}

fn page(l: &Ledger, scope: &IndexScope, range: Option<Range>, start: Option<u64>) -> BuiltPage {
    let mut lookup = |k: &Hash| l.prove_state(k).ok().map(|p| (l.state_value(k).ok().flatten(), p));
    build_page(scope, range, start, 100, &mut lookup).expect("page")
}

#[test]
fn every_attributable_entry_gets_the_next_seq_in_its_department_and_credential() {
    let fx = fixture();
    let l = &fx.sc.ledger;
    let market = IndexScope::Department(MARKET.into());
    assert_eq!(count(l, &market), 7, "its type, its issuer, three anchors, two status changes");
    assert_eq!(count(l, &IndexScope::Department(EDUCATION.into())), 3);
    assert_eq!(count(l, &IndexScope::Department("transport".into())), 1, "its type");
    assert_eq!(count(l, &IndexScope::Department("civil-affairs".into())), 0);
    assert_eq!(count(l, &IndexScope::Credential(fx.creds[0])), 3);
    assert_eq!(count(l, &IndexScope::Credential(fx.creds[1])), 1);
    // Each record names its entry: the leaf at its log index has that id, height and time.
    let mut last = None;
    for seq in 0..7 {
        let r = record(l, &market, seq).expect("record");
        let leaf = LogLeaf::from_bytes(fx.sc.leaf(r.log_index).expect("leaf")).expect("leaf");
        assert_eq!((leaf.entry.id(), leaf.height, leaf.time), (r.entry_id, r.height, r.time));
        let subject = audit_subject(&leaf.entry);
        let department = match &leaf.entry.body {
            EntryBody::RegisterIssuer(b) => b.department.clone(),
            EntryBody::RegisterType(b) => l.credential_type(&b.type_id).expect("type").department,
            _ => l.issuer(&subject.issuer_key).expect("issuer").department,
        };
        assert_eq!(department, MARKET);
        assert!(last.is_none_or(|p: IndexRecord| p.log_index < r.log_index && p.time <= r.time));
        last = Some(r);
    }
    assert!(record(l, &market, 7).is_none());
    // The credential's history: the anchor, then both status changes.
    let kinds: Vec<&str> = (0..3)
        .map(|s| record(l, &IndexScope::Credential(fx.creds[0]), s).expect("record"))
        .map(|r| LogLeaf::from_bytes(fx.sc.leaf(r.log_index).expect("leaf")).expect("leaf"))
        .map(|leaf| audit_subject(&leaf.entry).kind)
        .collect();
    assert_eq!(kinds, ["anchor_issuance", "change_status", "change_status"]);
}

#[test]
fn verifier_entries_are_filed_under_the_sponsor_and_a_failed_block_changes_nothing() {
    let mut fx = fixture();
    let market = IndexScope::Department(MARKET.into());
    let admin = fx.sc.department(MARKET).expect("dept").admin.clone();
    let register = RegisterVerifier {
        verifier_id: "bank-1".into(),
        department: MARKET.into(),
        name_zh: "银行".into(),
        name_en: "Bank".into(),
        verifier_key: SecretKey::from_seed(&[5; 32]).public_key(),
        purposes: vec![Purpose { id: "kyc".into(), claims: vec!["entity_name".into()] }],
    };
    fx.sc.submit(&admin, EntryBody::RegisterVerifier(register));
    fx.sc.commit(1).expect("register verifier");
    fx.sc.submit(
        &admin,
        EntryBody::RotateVerifier(RotateVerifier {
            verifier_id: "bank-1".into(),
            new_key: SecretKey::from_seed(&[6; 32]).public_key(),
        }),
    );
    fx.sc.commit(1).expect("rotate verifier");
    let l = &fx.sc.ledger;
    assert_eq!(count(l, &market), 9);
    let kinds: Vec<&str> = (7..9)
        .map(|s| record(l, &market, s).expect("record"))
        .map(|r| LogLeaf::from_bytes(fx.sc.leaf(r.log_index).expect("leaf")).expect("leaf"))
        .map(|leaf| audit_subject(&leaf.entry).kind)
        .collect();
    assert_eq!(kinds, ["register_verifier", "rotate_verifier"]);
    assert_eq!(count(l, &IndexScope::Department(EDUCATION.into())), 3, "not the sponsor");

    // A block that fails leaves the counters as they were.
    let before = fx.sc.ledger.state_value(&market.count_key()).expect("read");
    fx.sc.submit(
        &admin,
        EntryBody::RetireIssuer(RetireIssuer {
            issuer_key: PublicKey([9; 32]),
            at: fx.sc.ledger.time() + 10,
        }),
    );
    assert!(fx.sc.commit(1).is_err(), "retiring an unknown key fails the block");
    assert_eq!(fx.sc.ledger.state_value(&market.count_key()).expect("read"), before);
}

#[test]
fn a_complete_range_passes_and_a_hidden_entry_is_caught() {
    let fx = fixture();
    let l = &fx.sc.ledger;
    let root = l.state_root();
    let market = IndexScope::Department(MARKET.into());
    let first = record(l, &market, 2).expect("seq 2");
    let third = record(l, &market, 4).expect("seq 4");
    // The range holds exactly seqs 2..=4 (the three anchors).
    let range = Range { from: first.time, to: third.time + 1 };
    let p = page(l, &market, Some(range), None);
    assert_eq!((p.index.first_seq, p.records.len(), p.closed), (2, 3, true));
    assert!(p.index.before.is_some() && p.index.after.is_some());
    let out = check_index(&root, &market, Some(range), None, &p.records, &p.index).expect("ok");
    assert_eq!(out, IndexOutcome { count: 7, next_seq: 5, closed: true, closed_by_count: false });

    // A node hides the middle anchor (and its proof): the numbering has a gap.
    let mut hidden = p.clone();
    hidden.records.remove(1);
    hidden.index.item_proofs.remove(1);
    let e = check_index(&root, &market, Some(range), None, &hidden.records, &hidden.index);
    assert!(matches!(e, Err(IndexError::Gap(_))), "{e:?}");
    // Hides the last one and says the range ends there: the boundary is not next to it.
    let mut hidden = p.clone();
    hidden.records.pop();
    hidden.index.item_proofs.pop();
    let e = check_index(&root, &market, Some(range), None, &hidden.records, &hidden.index);
    assert!(matches!(e, Err(IndexError::Gap(_))), "{e:?}");
    // Hides the first one by starting the page one later: the record before is in the range.
    let mut hidden = page(l, &market, Some(range), Some(3));
    hidden.index.before = Some(ProvenRecord {
        seq: 2,
        record: l.state_value(&market.entry_key(2)).expect("read").expect("record"),
        proof: l.prove_state(&market.entry_key(2)).expect("proof"),
    });
    let e = check_index(&root, &market, Some(range), None, &hidden.records, &hidden.index);
    assert!(matches!(e, Err(IndexError::Gap(_))), "{e:?}");
    // Leaves the boundary out.
    let mut hidden = p.clone();
    hidden.index.before = None;
    let e = check_index(&root, &market, Some(range), None, &hidden.records, &hidden.index);
    assert!(matches!(e, Err(IndexError::Missing(_))), "{e:?}");
    // Claims a smaller counter: its proof fails.
    let mut hidden = page(l, &market, None, Some(0));
    hidden.records.pop();
    hidden.index.item_proofs.pop();
    hidden.index.count = 6;
    let e = check_index(&root, &market, None, Some(0), &hidden.records, &hidden.index);
    assert!(matches!(e, Err(IndexError::ProofMismatch(_))), "{e:?}");
    // The same page against another state root fails.
    let e = check_index(&[0; 32], &market, Some(range), None, &p.records, &p.index);
    assert!(matches!(e, Err(IndexError::ProofMismatch(_))), "{e:?}");
}

#[test]
fn a_credential_history_is_complete_only_up_to_its_counter() {
    let fx = fixture();
    let l = &fx.sc.ledger;
    let root = l.state_root();
    let cred = IndexScope::Credential(fx.creds[0]);
    let p = page(l, &cred, None, None);
    assert_eq!(p.records.len(), 3);
    let out = check_index(&root, &cred, None, None, &p.records, &p.index).expect("ok");
    assert!(out.closed && out.closed_by_count);
    // Without its last status change the page is not closed: the caller must ask for more.
    let mut short = p.clone();
    short.records.pop();
    short.index.item_proofs.pop();
    let out = check_index(&root, &cred, None, None, &short.records, &short.index).expect("ok");
    assert!(!out.closed);
    assert_eq!(out.next_seq, 2);
    // Without its anchor (starting at the first status change) it is a gap.
    let mut late = page(l, &cred, None, Some(1));
    late.index.first_seq = 1;
    let e = check_index(&root, &cred, None, None, &late.records, &late.index);
    assert!(matches!(e, Err(IndexError::Gap(_))), "{e:?}");
    // An empty range of a department proves itself by its two boundaries.
    let market = IndexScope::Department(MARKET.into());
    // Between the third anchor and the first status change only the education department acted.
    let r3 = record(l, &market, 4).expect("seq 4");
    let r4 = record(l, &market, 5).expect("seq 5");
    assert!(r4.time >= r3.time + 3);
    let range = Range { from: r3.time + 1, to: r4.time };
    let p = page(l, &market, Some(range), None);
    assert!(p.records.is_empty() && p.closed);
    check_index(&root, &market, Some(range), None, &p.records, &p.index).expect("empty range");
    // A page that lists nothing and proves no end is refused.
    let mut open = p.clone();
    open.index.after = None;
    let e = check_index(&root, &market, Some(range), None, &open.records, &open.index);
    assert!(matches!(e, Err(IndexError::Missing(_))), "{e:?}");
}
