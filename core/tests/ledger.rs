//! The ledger state machine: authorisation, replay, status, governance, atomic blocks, proofs.

use certledger_core::codec::{Decode, Encode};
use certledger_core::ledger::*;
use certledger_core::merkle;
use certledger_core::sig::SecretKey;

const T0: u64 = 1_700_000_000;
const CHAIN: &str = "certledger-test";
const DIPLOMA: &str = "urn:t:diploma:1";
const OTHER: &str = "urn:t:other:1";
const DEPT_IDS: [&str; 4] = ["civil-affairs", "education", "market-regulation", "public-security"];

fn key(seed: u8) -> SecretKey {
    SecretKey::from_seed(&[seed; 32])
}

fn genesis(n: usize) -> Genesis {
    let departments =
        DEPT_IDS.iter().take(n).enumerate().map(|(i, id)| department(id, i as u8)).collect();
    Genesis { chain_id: CHAIN.into(), genesis_time: T0, departments }
}

fn department(id: &str, i: u8) -> Department {
    Department {
        id: id.into(),
        name_zh: format!("部门{i}"),
        name_en: format!("Department {i}"),
        node_key: key(10 + i).public_key(),
        admin_keys: vec![admin(i).public_key()],
    }
}

fn admin(i: u8) -> SecretKey {
    key(100 + i)
}

fn issuer_key(i: u8) -> SecretKey {
    key(200 + i)
}

struct Fx {
    ledger: Ledger,
    time: u64,
}

impl Fx {
    fn new(n: usize) -> Self {
        Self { ledger: Ledger::from_genesis(&genesis(n)).expect("valid genesis"), time: T0 }
    }

    fn block(&mut self, dt: u64, entries: &[SignedEntry]) -> Result<BlockOutcome, EntryError> {
        let h = self.ledger.height() + 1;
        let r = self.ledger.apply_block(h, self.time + dt, entries);
        if r.is_ok() {
            self.time += dt;
        }
        r
    }

    fn one(&mut self, entry: SignedEntry) -> Result<BlockOutcome, EntryError> {
        self.block(1, &[entry])
    }
}

fn sign(key: &SecretKey, body: EntryBody) -> SignedEntry {
    SignedEntry::sign(key, CHAIN, body)
}

fn register_type(id: &str) -> EntryBody {
    EntryBody::RegisterType(RegisterType {
        type_id: id.into(),
        name_zh: "学历证书".into(),
        name_en: "Diploma".into(),
        claims: vec![ClaimDef {
            name: "name".into(),
            selectively_disclosable: true,
            display_zh: "姓名".into(),
            display_en: "Name".into(),
        }],
        validity_s: 86_400 * 365,
        holder_binding: true,
    })
}

fn register_issuer(dept: u8, issuer: u8, types: &[&str], from: u64, until: u64) -> SignedEntry {
    sign(
        &admin(dept),
        EntryBody::RegisterIssuer(RegisterIssuer {
            department: DEPT_IDS[dept as usize].into(),
            issuer_key: issuer_key(issuer).public_key(),
            types: types.iter().map(|s| s.to_string()).collect(),
            valid_from: from,
            valid_until: until,
            name_zh: "签发机构".into(),
            name_en: "Issuer".into(),
        }),
    )
}

fn anchor(issuer: u8, cred: u8, type_id: &str) -> SignedEntry {
    sign(
        &issuer_key(issuer),
        EntryBody::AnchorIssuance(AnchorIssuance {
            credential_id: [cred; 32],
            type_id: type_id.into(),
            commitment: [cred ^ 0x55; 32],
            nonce: [cred; 16],
        }),
    )
}

fn status(issuer: u8, cred: u8, status: CredentialStatus, nonce: u8) -> SignedEntry {
    sign(
        &issuer_key(issuer),
        EntryBody::ChangeStatus(ChangeStatus {
            credential_id: [cred; 32],
            status,
            reason: 7,
            nonce: [nonce; 16],
        }),
    )
}

/// Genesis of 4 departments, both types registered (diploma owned by department 0, other by
/// department 1), issuer 0 of department 0 (diploma only, valid T0..T0+10^6) and issuer 1 of
/// department 1 (other).
fn setup() -> Fx {
    let mut fx = Fx::new(4);
    fx.block(
        1,
        &[
            sign(&admin(0), register_type(DIPLOMA)),
            sign(&admin(1), register_type(OTHER)),
            register_issuer(0, 0, &[DIPLOMA], T0, T0 + 1_000_000),
            register_issuer(1, 1, &[OTHER], T0, T0 + 1_000_000),
        ],
    )
    .expect("setup block");
    fx
}

#[test]
fn quorum_threshold_is_more_than_two_thirds() {
    for (n, q) in [(1, 1), (2, 2), (3, 3), (4, 3), (5, 4), (6, 5), (7, 5), (10, 7)] {
        assert_eq!(quorum_threshold(n), q, "n = {n}");
        assert!(3 * quorum_threshold(n) > 2 * n);
        assert!(3 * (quorum_threshold(n) - 1) <= 2 * n);
    }
    assert_eq!([1, 3, 4, 7].map(max_removals), [0, 0, 1, 2]);
}

#[test]
fn issuance_authorised_and_anchor_recorded() {
    let mut fx = setup();
    let out = fx.one(anchor(0, 1, DIPLOMA)).unwrap();
    let rec = fx.ledger.credential(&[1; 32]).unwrap();
    assert_eq!(rec.status, CredentialStatus::Active);
    assert_eq!(rec.department, "civil-affairs");
    assert_eq!(rec.anchored_time, fx.time);
    assert_eq!(rec.log_index, 4);
    assert_eq!(out.log_size, 5);
}

#[test]
fn type_not_allowed() {
    let mut fx = setup();
    assert_eq!(
        fx.one(anchor(0, 1, OTHER)),
        Err(EntryError::NotAuthorised("type not allowed for this issuer"))
    );
    assert_eq!(fx.one(anchor(0, 1, "urn:t:unknown")), Err(EntryError::UnknownType));
    // An unregistered key cannot anchor.
    assert_eq!(fx.one(anchor(9, 1, DIPLOMA)), Err(EntryError::UnknownSigner));
}

#[test]
fn before_valid_from_and_after_valid_until() {
    let mut fx = setup();
    fx.one(register_issuer(0, 2, &[DIPLOMA], T0 + 100, T0 + 200)).unwrap();
    assert_eq!(
        fx.one(anchor(2, 1, DIPLOMA)),
        Err(EntryError::NotAuthorised("issuer key not yet valid"))
    );
    fx.block(100, &[]).unwrap(); // now T0 + 102
    fx.one(anchor(2, 1, DIPLOMA)).unwrap();
    fx.block(200, &[]).unwrap();
    assert_eq!(fx.one(anchor(2, 2, DIPLOMA)), Err(EntryError::NotAuthorised("issuer key expired")));
}

#[test]
fn after_retirement_earlier_anchors_stay_valid() {
    let mut fx = setup();
    fx.one(anchor(0, 1, DIPLOMA)).unwrap();
    let at = fx.time + 10;
    fx.one(sign(
        &admin(0),
        EntryBody::RetireIssuer(RetireIssuer { issuer_key: issuer_key(0).public_key(), at }),
    ))
    .unwrap();
    fx.one(anchor(0, 2, DIPLOMA)).unwrap(); // before `at`
    fx.block(10, &[]).unwrap();
    assert_eq!(fx.one(anchor(0, 3, DIPLOMA)), Err(EntryError::NotAuthorised("issuer key retired")));
    let rec = fx.ledger.issuer(&issuer_key(0).public_key()).unwrap();
    let c1 = fx.ledger.credential(&[1; 32]).unwrap();
    assert_eq!(rec.authorised_at(DIPLOMA, c1.anchored_time), Ok(()));
    assert_eq!(rec.authorised_at(DIPLOMA, at), Err(Unauthorised::Retired));
    // Retirement by another department's admin is refused, and retirement in the past too.
    let past = RetireIssuer { issuer_key: issuer_key(1).public_key(), at: T0 };
    assert_eq!(
        fx.one(sign(&admin(1), EntryBody::RetireIssuer(past.clone()))).unwrap_err(),
        EntryError::Invalid("retirement may not be in the past")
    );
    assert_eq!(
        fx.one(sign(&admin(0), EntryBody::RetireIssuer(past))),
        Err(EntryError::UnknownSigner)
    );
}

#[test]
fn at_and_after_compromise() {
    let mut fx = setup();
    fx.one(anchor(0, 1, DIPLOMA)).unwrap();
    let t1 = fx.time;
    fx.block(5, &[]).unwrap();
    fx.one(anchor(0, 2, DIPLOMA)).unwrap();
    let t2 = fx.time;
    // Compromise declared retroactively, from t2 (the second anchor's time).
    fx.one(sign(
        &admin(0),
        EntryBody::CompromiseIssuer(CompromiseIssuer {
            issuer_key: issuer_key(0).public_key(),
            since: t2,
        }),
    ))
    .unwrap();
    let rec = fx.ledger.issuer(&issuer_key(0).public_key()).unwrap();
    assert_eq!(rec.authorised_at(DIPLOMA, t1), Ok(()));
    assert_eq!(rec.authorised_at(DIPLOMA, t2), Err(Unauthorised::Compromised));
    assert_eq!(rec.authorised_at(DIPLOMA, t2 + 100), Err(Unauthorised::Compromised));
    assert_eq!(
        fx.one(anchor(0, 3, DIPLOMA)),
        Err(EntryError::NotAuthorised("issuer key compromised"))
    );
    // The compromise date only moves earlier, and only the department's admins backdate it.
    assert!(matches!(fx.one(compromise(&admin(0), 0, t2 + 1)), Err(EntryError::Invalid(_))));
    assert_eq!(
        fx.one(compromise(&issuer_key(0), 0, t1)),
        Err(EntryError::NotAuthorised("only the department's admins may backdate a compromise"))
    );
    fx.one(compromise(&admin(0), 0, t1)).unwrap();
    let rec = fx.ledger.issuer(&issuer_key(0).public_key()).unwrap();
    assert_eq!(rec.authorised_at(DIPLOMA, t1), Err(Unauthorised::Compromised));
}

fn compromise(signer: &SecretKey, issuer: u8, since: u64) -> SignedEntry {
    sign(
        signer,
        EntryBody::CompromiseIssuer(CompromiseIssuer {
            issuer_key: issuer_key(issuer).public_key(),
            since,
        }),
    )
}

/// Issue #11 item 3: a stolen key declaring its own compromise since 0 would invalidate every
/// credential it ever issued. A key reports itself compromised only from the block time on; its
/// department's admins backdate (correct) the date.
#[test]
fn a_key_reports_its_own_compromise_only_from_the_block_time_on() {
    let mut fx = setup();
    fx.one(anchor(0, 1, DIPLOMA)).unwrap();
    let t1 = fx.time;
    fx.block(5, &[]).unwrap();
    let thief = |since| compromise(&issuer_key(0), 0, since);
    let refused =
        Err(EntryError::NotAuthorised("only the department's admins may backdate a compromise"));
    assert_eq!(fx.one(thief(0)), refused);
    assert_eq!(fx.one(thief(t1)), refused);
    assert_eq!(fx.one(thief(fx.time)), refused); // the next block is one second later
                                                 // From the block time on it is accepted: earlier credentials stay valid.
    fx.one(thief(fx.time + 1)).unwrap();
    let declared = fx.time;
    let rec = fx.ledger.issuer(&issuer_key(0).public_key()).unwrap();
    assert_eq!(rec.compromised_since, Some(declared));
    assert_eq!(rec.authorised_at(DIPLOMA, t1), Ok(()));
    // The department's admin corrects the self-declared date to when the key was really taken.
    fx.one(compromise(&admin(0), 0, t1)).unwrap();
    let rec = fx.ledger.issuer(&issuer_key(0).public_key()).unwrap();
    assert_eq!(rec.compromised_since, Some(t1));
    // Another department's admin may not act on a current department's key.
    assert_eq!(fx.one(compromise(&admin(1), 0, T0)), Err(EntryError::UnknownSigner));
}

/// Issue #11 item 2: a type belongs to the department that registered it; only that
/// department's admins authorise issuers for it.
#[test]
fn only_the_owning_department_authorises_issuers_for_a_type() {
    let mut fx = setup();
    assert_eq!(fx.ledger.credential_type(DIPLOMA).unwrap().department, DEPT_IDS[0]);
    assert_eq!(
        fx.one(register_issuer(1, 5, &[DIPLOMA], T0, T0 + 10_000)),
        Err(EntryError::NotAuthorised("the type belongs to another department"))
    );
    assert_eq!(
        fx.one(register_issuer(1, 5, &[DIPLOMA, OTHER], T0, T0 + 10_000)),
        Err(EntryError::NotAuthorised("the type belongs to another department"))
    );
    fx.one(register_issuer(1, 5, &[OTHER], T0, T0 + 10_000)).unwrap();
}

/// Issue #11 item 1: after governance removes a department, its issuer keys anchor nothing from
/// the effective height on (earlier credentials stay valid, and the issuer records say so), and
/// the remaining departments act on its records.
#[test]
fn a_removed_departments_issuers_lose_authority_from_the_effective_height() {
    let mut g = genesis(4);
    g.departments.push(department("transport", 4));
    let mut fx = Fx { ledger: Ledger::from_genesis(&g).expect("genesis"), time: T0 };
    let transport_issuer = |i: u8| {
        sign(
            &admin(4),
            EntryBody::RegisterIssuer(RegisterIssuer {
                department: "transport".into(),
                issuer_key: issuer_key(i).public_key(),
                types: vec![DIPLOMA.into()],
                valid_from: T0,
                valid_until: T0 + 1_000_000,
                name_zh: "签发机构".into(),
                name_en: "Issuer".into(),
            }),
        )
    };
    fx.block(
        1,
        &[sign(&admin(4), register_type(DIPLOMA)), transport_issuer(4), transport_issuer(5)],
    )
    .unwrap();
    fx.one(anchor(4, 1, DIPLOMA)).unwrap();
    let h = fx.ledger.height();
    fx.one(approved(change(vec![], &["transport"], h + 3), &[0, 1, 2, 3])).unwrap();
    fx.one(anchor(4, 2, DIPLOMA)).unwrap(); // height h + 2: still a member
                                            // Height h + 3: the removal takes effect before the block's entries.
    assert_eq!(
        fx.one(anchor(4, 3, DIPLOMA)),
        Err(EntryError::NotAuthorised("the issuer's department was removed"))
    );
    fx.block(1, &[]).unwrap();
    let removed_at = fx.time;
    assert_eq!(fx.ledger.department("transport"), None);
    for i in [4, 5] {
        let rec = fx.ledger.issuer(&issuer_key(i).public_key()).unwrap();
        assert_eq!(rec.retired_at, Some(removed_at), "issuer {i}");
        for cred in [1u8, 2] {
            let c = fx.ledger.credential(&[cred; 32]).unwrap();
            assert_eq!(rec.authorised_at(DIPLOMA, c.anchored_time), Ok(()), "issuer {i}");
        }
        assert_eq!(rec.authorised_at(DIPLOMA, removed_at), Err(Unauthorised::Retired));
    }
    assert_eq!(
        fx.one(anchor(5, 4, DIPLOMA)),
        Err(EntryError::NotAuthorised("the issuer's department was removed"))
    );
    // The remaining departments act on its records: any current admin reports a compromise from
    // now on; backdating it (over another department's past credentials) is refused; a removed
    // department's admin is no one.
    assert_eq!(
        fx.one(compromise(&admin(1), 4, T0)),
        Err(EntryError::NotAuthorised("only the department's admins may backdate a compromise"))
    );
    assert_eq!(fx.one(compromise(&admin(4), 4, fx.time + 1)), Err(EntryError::UnknownSigner));
    fx.one(compromise(&admin(1), 4, fx.time + 1)).unwrap();
    assert_eq!(
        fx.ledger.issuer(&issuer_key(4).public_key()).unwrap().compromised_since,
        Some(fx.time)
    );
}

#[test]
fn replay_is_refused() {
    let mut fx = setup();
    let e = anchor(0, 1, DIPLOMA);
    fx.one(e.clone()).unwrap();
    assert_eq!(fx.ledger.validate(&e, fx.time), Err(EntryError::Replay));
    assert_eq!(fx.one(e), Err(EntryError::Replay));
    // A status change repeated with the same nonce is a replay; with a new nonce it is allowed.
    let s = status(0, 1, CredentialStatus::Suspended, 1);
    assert_eq!(fx.block(1, &[s.clone(), s.clone()]), Err(EntryError::Replay));
    fx.one(s.clone()).unwrap();
    assert_eq!(fx.one(s), Err(EntryError::Replay));
    fx.one(status(0, 1, CredentialStatus::Suspended, 2)).unwrap();
    // A second anchor of the same credential id (different nonce) is refused as such.
    let mut again = anchor(0, 1, DIPLOMA);
    if let EntryBody::AnchorIssuance(a) = &mut again.body {
        a.nonce = [9; 16];
    }
    let again = sign(&issuer_key(0), again.body);
    assert_eq!(fx.one(again), Err(EntryError::AlreadyAnchored));
}

#[test]
fn bad_signature_and_wrong_chain() {
    let mut fx = setup();
    let mut e = anchor(0, 1, DIPLOMA);
    e.signature.0[0] ^= 1;
    assert_eq!(fx.one(e), Err(EntryError::BadSignature));
    let other_chain = SignedEntry::sign(&issuer_key(0), "other-chain", anchor(0, 1, DIPLOMA).body);
    assert_eq!(fx.one(other_chain), Err(EntryError::BadSignature));
}

#[test]
fn status_change_rules() {
    let mut fx = setup();
    fx.one(anchor(0, 1, DIPLOMA)).unwrap();
    // Issuer 1 belongs to another department.
    assert_eq!(
        fx.one(status(1, 1, CredentialStatus::Revoked, 1)),
        Err(EntryError::WrongDepartment)
    );
    assert_eq!(
        fx.one(status(0, 9, CredentialStatus::Revoked, 1)),
        Err(EntryError::UnknownCredential)
    );
    // Another key of the same department may change it (rotation).
    fx.one(register_issuer(0, 3, &[DIPLOMA], T0, T0 + 1_000_000)).unwrap();
    fx.one(status(3, 1, CredentialStatus::Suspended, 1)).unwrap();
    fx.one(status(0, 1, CredentialStatus::Active, 2)).unwrap();
    fx.one(status(0, 1, CredentialStatus::Revoked, 3)).unwrap();
    let rec = fx.ledger.credential(&[1; 32]).unwrap();
    assert_eq!(
        (rec.status, rec.status_reason, rec.status_time),
        (CredentialStatus::Revoked, 7, fx.time)
    );
    for s in [CredentialStatus::Active, CredentialStatus::Suspended, CredentialStatus::Revoked] {
        assert_eq!(fx.one(status(0, 1, s, 4)), Err(EntryError::RevokedIsFinal));
    }
}

#[test]
fn registry_rules() {
    let mut fx = setup();
    // Only an admin of the named department may register its issuers.
    let mut e = register_issuer(0, 5, &[DIPLOMA], T0, T0 + 10);
    e = sign(&admin(1), e.body);
    assert_eq!(fx.one(e), Err(EntryError::UnknownSigner));
    assert_eq!(
        fx.one(register_issuer(0, 0, &[DIPLOMA], T0, T0 + 5_000_000)),
        Err(EntryError::AlreadyRegistered("issuer key"))
    );
    // The identical body is a replay; another registration of the same id is refused as such.
    assert_eq!(fx.one(sign(&admin(2), register_type(DIPLOMA))), Err(EntryError::Replay));
    let mut again = register_type(DIPLOMA);
    if let EntryBody::RegisterType(t) = &mut again {
        t.validity_s = 1;
    }
    assert_eq!(
        fx.one(sign(&admin(2), again)),
        Err(EntryError::AlreadyRegistered("credential type"))
    );
    assert_eq!(
        fx.one(sign(&issuer_key(0), register_type("urn:x"))),
        Err(EntryError::UnknownSigner)
    );
    let v = RegisterVerifier {
        verifier_id: "bank-1".into(),
        department: "market-regulation".into(),
        name_zh: "银行".into(),
        name_en: "Bank".into(),
        verifier_key: key(50).public_key(),
        purposes: vec![Purpose { id: "kyc".into(), claims: vec!["name".into()] }],
    };
    assert_eq!(
        fx.one(sign(&admin(0), EntryBody::RegisterVerifier(v.clone()))),
        Err(EntryError::UnknownSigner)
    );
    fx.one(sign(&admin(2), EntryBody::RegisterVerifier(v.clone()))).unwrap();
    assert_eq!(
        fx.ledger.verifier("bank-1"),
        Some(VerifierRecord { registration: v, retired_at: None })
    );
    assert_eq!(fx.ledger.credential_type(DIPLOMA).unwrap().department, "civil-affairs");
    // Entries that the decoders would refuse are never committed (here: 33 purposes, a bad
    // department slug, unsorted issuer types).
    let mut many = RegisterVerifier {
        verifier_id: "bank-2".into(),
        ..fx.ledger.verifier("bank-1").unwrap().registration
    };
    many.purposes = (0..33).map(|i| Purpose { id: format!("p{i:02}"), claims: vec![] }).collect();
    assert_eq!(
        fx.one(sign(&admin(2), EntryBody::RegisterVerifier(many))),
        Err(EntryError::Invalid("the entry breaks an encoding rule or bound"))
    );
    let mut bad_slug = register_issuer(0, 6, &[DIPLOMA], T0, T0 + 10).body;
    if let EntryBody::RegisterIssuer(r) = &mut bad_slug {
        r.department = "Civil Affairs".into();
    }
    assert!(matches!(fx.one(sign(&admin(0), bad_slug)), Err(EntryError::Invalid(_))));
    fx.one(sign(&admin(0), register_type("urn:a"))).unwrap();
    assert!(matches!(
        fx.one(register_issuer(0, 6, &[DIPLOMA, "urn:a"], T0, T0 + 10)),
        Err(EntryError::Invalid(_))
    ));
    fx.one(register_issuer(0, 6, &["urn:a", DIPLOMA], T0, T0 + 10)).unwrap();
}

fn change(add: Vec<Department>, remove: &[&str], effective_height: u64) -> ChangeValidators {
    ChangeValidators {
        add,
        remove: remove.iter().map(|s| s.to_string()).collect(),
        effective_height,
        approvals: vec![],
    }
}

fn approved(mut c: ChangeValidators, approvers: &[u8]) -> SignedEntry {
    c.approvals = approvers.iter().map(|&i| c.approve(&admin(i), CHAIN)).collect();
    sign(&admin(0), EntryBody::ChangeValidators(c))
}

#[test]
fn governance_threshold_and_activation() {
    let mut fx = Fx::new(4);
    let newdept = department("taxation", 7);
    let h = fx.ledger.height();
    let c = change(vec![newdept.clone()], &[], h + 3);
    // 2 of 4 is not more than two thirds; 3 of 4 is.
    assert_eq!(
        fx.one(approved(c.clone(), &[0, 1])),
        Err(EntryError::BadGovernance("approvals from no more than two thirds of the departments"))
    );
    assert_eq!(
        fx.one(approved(c.clone(), &[0, 1, 1])),
        Err(EntryError::BadGovernance("two approvals from one department"))
    );
    // A non-admin key (a node key) cannot approve.
    let mut bad = c.clone();
    bad.approvals =
        vec![c.approve(&admin(0), CHAIN), c.approve(&admin(1), CHAIN), c.approve(&key(12), CHAIN)];
    assert_eq!(
        fx.one(sign(&admin(0), EntryBody::ChangeValidators(bad))),
        Err(EntryError::BadGovernance("approval by a key that is not a current admin key"))
    );
    // An approval over other bytes is refused.
    let mut forged = c.clone();
    forged.approvals = vec![
        c.approve(&admin(0), CHAIN),
        c.approve(&admin(1), CHAIN),
        c.approve(&admin(2), "other"),
    ];
    assert_eq!(
        fx.one(sign(&admin(0), EntryBody::ChangeValidators(forged))),
        Err(EntryError::BadGovernance("an approval signature is invalid"))
    );
    // Effective height must be in the future.
    let h = fx.ledger.height();
    assert!(matches!(
        fx.one(approved(change(vec![newdept.clone()], &[], h + 1), &[0, 1, 2])),
        Err(EntryError::BadGovernance(_))
    ));
    let h = fx.ledger.height();
    let eff = h + 3;
    let out = fx.one(approved(change(vec![newdept.clone()], &[], eff), &[0, 1, 2])).unwrap();
    assert!(!out.validators_changed);
    assert_eq!(fx.ledger.validator_set_at(eff - 1).len(), 4);
    assert_eq!(fx.ledger.validator_set_at(eff).len(), 5);
    // A second change while one is pending is refused.
    assert!(matches!(
        fx.one(approved(change(vec![], &["education"], eff + 5), &[0, 1, 2])),
        Err(EntryError::BadGovernance(_))
    ));
    let out = fx.block(1, &[]).unwrap();
    assert!(out.validators_changed);
    assert_eq!(fx.ledger.validators().len(), 4);
    fx.block(1, &[]).unwrap();
    assert_eq!(fx.ledger.height(), eff);
    assert_eq!(fx.ledger.validators().len(), 5);
    assert_eq!(fx.ledger.department("taxation"), Some(newdept));
}

#[test]
fn unsafe_removal_and_empty_set_refused() {
    let mut fx = Fx::new(4);
    let h = fx.ledger.height();
    assert_eq!(
        fx.one(approved(change(vec![], &["education", "market-regulation"], h + 2), &[0, 1, 2, 3])),
        Err(EntryError::BadGovernance("removes more than floor((n-1)/3) departments"))
    );
    assert!(matches!(
        fx.one(approved(change(vec![], &["no-such"], h + 2), &[0, 1, 2])),
        Err(EntryError::BadGovernance(_))
    ));
    // Removing one of four would leave a set that cannot tolerate a faulty member.
    let h = fx.ledger.height();
    assert_eq!(
        fx.one(approved(change(vec![], &["market-regulation"], h + 2), &[0, 1, 2])),
        Err(EntryError::BadGovernance(
            "a removal must leave at least 4 departments (a set that tolerates one faulty member)"
        ))
    );
    // Replacing one of four keeps four: allowed.
    let newdept = department("taxation", 7);
    let h = fx.ledger.height();
    fx.one(approved(change(vec![newdept], &["market-regulation"], h + 2), &[0, 1, 2])).unwrap();
    fx.block(1, &[]).unwrap();
    assert_eq!(fx.ledger.validators().len(), 4);
    assert_eq!(fx.ledger.department("market-regulation"), None);
    // A removed department's admin can no longer register anything.
    assert_eq!(fx.one(sign(&admin(2), register_type("urn:y"))), Err(EntryError::UnknownSigner));
    // A one-department ledger can never empty itself.
    let mut solo = Fx::new(1);
    assert!(matches!(
        solo.one(approved(change(vec![], &["civil-affairs"], 5), &[0])),
        Err(EntryError::BadGovernance(_))
    ));
    // Genesis with no department is refused.
    let mut g = genesis(1);
    g.departments.clear();
    assert!(matches!(Ledger::from_genesis(&g), Err(EntryError::BadGenesis(_))));
}

#[test]
fn blocks_are_all_or_nothing() {
    let mut fx = setup();
    let before =
        (fx.ledger.state_root(), fx.ledger.log_root(), fx.ledger.log_size(), fx.ledger.height());
    let good = anchor(0, 1, DIPLOMA);
    let bad = anchor(0, 2, OTHER);
    assert!(fx.block(1, &[good.clone(), bad]).is_err());
    assert_eq!(
        before,
        (fx.ledger.state_root(), fx.ledger.log_root(), fx.ledger.log_size(), fx.ledger.height())
    );
    assert_eq!(fx.ledger.credential(&[1; 32]), None);
    fx.one(good).unwrap();
    // Wrong height or time going backwards.
    let h = fx.ledger.height();
    assert!(matches!(fx.ledger.apply_block(h + 2, fx.time, &[]), Err(EntryError::BadBlock(_))));
    assert!(matches!(fx.ledger.apply_block(h + 1, fx.time - 1, &[]), Err(EntryError::BadBlock(_))));
}

fn scenario() -> Vec<(u64, Vec<SignedEntry>)> {
    vec![
        (
            1,
            vec![
                sign(&admin(0), register_type(DIPLOMA)),
                register_issuer(0, 0, &[DIPLOMA], T0, T0 + 1_000),
            ],
        ),
        (2, (1..40).map(|i| anchor(0, i, DIPLOMA)).collect()),
        (
            3,
            vec![
                status(0, 3, CredentialStatus::Revoked, 1),
                status(0, 4, CredentialStatus::Suspended, 1),
            ],
        ),
    ]
}

#[test]
fn same_blocks_same_roots_and_proofs_verify() {
    let mut a = Ledger::from_genesis(&genesis(4)).unwrap();
    let mut b = Ledger::from_genesis(&genesis(4)).unwrap();
    assert_eq!(a.state_root(), b.state_root());
    let mut last = None;
    for (h, entries) in scenario() {
        let oa = a.apply_block(h, T0 + h, &entries).unwrap();
        let ob = b.apply_block(h, T0 + h, &entries).unwrap();
        assert_eq!(oa, ob);
        last = Some(oa);
    }
    let out = last.unwrap();
    assert_eq!(out.log_size, 43);
    // State proofs.
    let cred = a.credential(&[3; 32]).unwrap();
    assert_eq!(cred.status, CredentialStatus::Revoked);
    let k = credential_state_key(&[3; 32]);
    a.prove_state(&k).unwrap().verify(&out.state_root, &k, Some(&encode_record(&cred))).unwrap();
    let issuer = a.issuer(&issuer_key(0).public_key()).unwrap();
    let ik = issuer_state_key(&issuer.issuer_key);
    a.prove_state(&ik)
        .unwrap()
        .verify(&out.state_root, &ik, Some(&encode_record(&issuer)))
        .unwrap();
    let absent = credential_state_key(&[200; 32]);
    a.prove_state(&absent).unwrap().verify(&out.state_root, &absent, None).unwrap();
    // A stale record (Active) does not verify against the new root.
    let mut stale = cred.clone();
    stale.status = CredentialStatus::Active;
    assert!(a
        .prove_state(&k)
        .unwrap()
        .verify(&out.state_root, &k, Some(&encode_record(&stale)))
        .is_err());
    // The anchor's log leaf is included under the log root and carries the ledger time.
    let leaf = LogLeaf { height: 2, time: T0 + 2, entry: anchor(0, 3, DIPLOMA) };
    let bytes = leaf.to_bytes();
    let proof = a.inclusion_proof(cred.log_index, out.log_size).unwrap();
    merkle::verify_inclusion(
        &merkle::leaf_hash(&bytes),
        cred.log_index,
        out.log_size,
        &proof.path,
        &out.log_root,
    )
    .unwrap();
    let back = LogLeaf::from_bytes_checked(&bytes).unwrap();
    assert_eq!(back.time, cred.anchored_time);
    back.entry.verify_signature(CHAIN).unwrap();
    // A different ledger history gives a different root.
    let mut c = Ledger::from_genesis(&genesis(4)).unwrap();
    let mut s = scenario();
    s[2].1.pop();
    for (h, entries) in s {
        c.apply_block(h, T0 + h, &entries).unwrap();
    }
    assert_ne!(c.state_root(), a.state_root());
}

#[test]
fn every_type_round_trips() {
    fn rt<T: Encode + Decode + PartialEq + std::fmt::Debug>(v: &T) {
        let b = v.to_bytes();
        assert_eq!(&T::from_bytes(&b).unwrap(), v);
        let mut longer = b.clone();
        longer.push(0);
        assert!(T::from_bytes(&longer).is_err());
    }
    let mut fx = setup();
    for (h, entries) in scenario().into_iter().skip(1) {
        let _ = h;
        fx.block(1, &entries).unwrap();
    }
    let g = genesis(4);
    rt(&g);
    for d in &g.departments {
        rt(d);
    }
    let mut bodies = vec![
        register_type(DIPLOMA),
        register_issuer(0, 0, &[DIPLOMA, OTHER], 1, 2).body,
        EntryBody::RetireIssuer(RetireIssuer { issuer_key: issuer_key(0).public_key(), at: 5 }),
        EntryBody::CompromiseIssuer(CompromiseIssuer {
            issuer_key: issuer_key(0).public_key(),
            since: 5,
        }),
        EntryBody::RegisterVerifier(RegisterVerifier {
            verifier_id: "v".into(),
            department: "education".into(),
            name_zh: "验".into(),
            name_en: "V".into(),
            verifier_key: key(1).public_key(),
            purposes: vec![
                Purpose { id: "a".into(), claims: vec!["x".into(), "y".into()] },
                Purpose { id: "b".into(), claims: vec![] },
            ],
        }),
        anchor(0, 1, DIPLOMA).body,
        status(0, 1, CredentialStatus::Suspended, 3).body,
        EntryBody::RotateVerifier(RotateVerifier {
            verifier_id: "v".into(),
            new_key: key(2).public_key(),
        }),
        EntryBody::RetireVerifier(RetireVerifier { verifier_id: "v".into() }),
    ];
    bodies.push(approved(change(vec![department("taxation", 9)], &["education"], 9), &[0, 1]).body);
    for b in &bodies {
        rt(b);
        let e = sign(&admin(0), b.clone());
        rt(&e);
        rt(&LogLeaf { height: 3, time: 4, entry: e });
    }
    rt(&fx.ledger.issuer(&issuer_key(0).public_key()).unwrap());
    rt(&fx.ledger.credential(&[1; 32]).unwrap());
    rt(&fx.ledger.credential_type(DIPLOMA).unwrap());
    rt(&fx.ledger.validator_record().unwrap());
    let registration = match &bodies[4] {
        EntryBody::RegisterVerifier(v) => v.clone(),
        _ => unreachable!(),
    };
    rt(&VerifierRecord { registration: registration.clone(), retired_at: None });
    rt(&VerifierRecord { registration, retired_at: Some(7) });
    rt(&IssuerRecord {
        department: "education".into(),
        issuer_key: key(3).public_key(),
        types: vec!["a".into()],
        valid_from: 1,
        valid_until: 2,
        retired_at: Some(3),
        compromised_since: Some(4),
        name_zh: String::new(),
        name_en: String::new(),
    });
    // Unsorted sets are refused.
    let mut unsorted = register_issuer(0, 0, &[OTHER, DIPLOMA], 1, 2).body.to_bytes();
    assert!(EntryBody::from_bytes(&unsorted).is_err());
    unsorted.clear();
}

#[test]
fn caller_verified_signatures_skip_only_the_signature_check() {
    let mut fx = setup();
    let good = anchor(0, 1, DIPLOMA);
    let mut forged = anchor(0, 2, DIPLOMA);
    forged.signature.0[0] ^= 1;
    let t = fx.ledger.time() + 1;
    let h = fx.ledger.height() + 1;
    // Not reported as verified: the forged signature is refused, as by apply_block.
    let mut a = fx.ledger.clone();
    assert_eq!(
        a.apply_block_with(h, t, &[forged.clone()], &|_| false),
        Err(EntryError::BadSignature)
    );
    // Reported as verified, the signature is not checked again (so only verified bytes may be
    // reported): the same forged entry applies.
    let mut a2 = fx.ledger.clone();
    assert!(a2.apply_block_with(h, t, &[forged], &|_| true).is_ok());
    // Reported as verified, the good entry gives exactly the roots apply_block gives.
    let good_bytes = good.to_bytes();
    let mut b = fx.ledger.clone();
    let with = b
        .apply_block_with(h, t, std::slice::from_ref(&good), &|bytes| bytes == good_bytes)
        .unwrap();
    let plain = fx.ledger.apply_block(h, t, &[good]).unwrap();
    assert_eq!(with, plain);
    // Every other check still runs when the signature is skipped: a replay is refused.
    let again = anchor(0, 1, DIPLOMA);
    assert_eq!(fx.ledger.apply_block_with(h + 1, t, &[again], &|_| true), Err(EntryError::Replay));
}

fn bank_verifier() -> RegisterVerifier {
    RegisterVerifier {
        verifier_id: "bank-1".into(),
        department: "market-regulation".into(),
        name_zh: "银行".into(),
        name_en: "Bank".into(),
        verifier_key: key(50).public_key(),
        purposes: vec![Purpose { id: "kyc".into(), claims: vec!["name".into()] }],
    }
}

fn rotate(id: &str, seed: u8) -> EntryBody {
    EntryBody::RotateVerifier(RotateVerifier {
        verifier_id: id.into(),
        new_key: key(seed).public_key(),
    })
}

fn retire(id: &str) -> EntryBody {
    EntryBody::RetireVerifier(RetireVerifier { verifier_id: id.into() })
}

/// Issue #11 item 5: a verifier's key is rotated and the verifier retired by an admin of its
/// registering department only; the record keeps the current key and the retirement time.
#[test]
fn verifier_rotation_and_retirement_by_the_registering_department() {
    let mut fx = Fx::new(4);
    fx.one(sign(&admin(2), EntryBody::RegisterVerifier(bank_verifier()))).unwrap();
    // Unknown verifier; another department's admin; the verifier's own key; an issuer key.
    assert_eq!(fx.one(sign(&admin(2), rotate("nobody", 51))), Err(EntryError::UnknownVerifier));
    for who in [admin(0), admin(1), key(50)] {
        assert!(matches!(
            fx.one(sign(&who, rotate("bank-1", 51))),
            Err(EntryError::NotAuthorised(_) | EntryError::UnknownSigner)
        ));
        assert!(matches!(
            fx.one(sign(&who, retire("bank-1"))),
            Err(EntryError::NotAuthorised(_) | EntryError::UnknownSigner)
        ));
    }
    // Rotating to the current key is refused; a new key replaces the old one.
    assert!(matches!(fx.one(sign(&admin(2), rotate("bank-1", 50))), Err(EntryError::Invalid(_))));
    fx.one(sign(&admin(2), rotate("bank-1", 51))).unwrap();
    let rec = fx.ledger.verifier("bank-1").unwrap();
    assert_eq!(rec.registration.verifier_key, key(51).public_key());
    assert_eq!(rec.retired_at, None);
    assert_eq!(rec.registration.purposes, bank_verifier().purposes);
    // Retired at the block time; a second retirement, a rotation after it and a new
    // registration of the same id are refused.
    fx.one(sign(&admin(2), retire("bank-1"))).unwrap();
    let rec = fx.ledger.verifier("bank-1").unwrap();
    assert_eq!(rec.retired_at, Some(fx.time));
    // (The identical entry is a replay; the rule behind it is "already retired".)
    assert_eq!(fx.one(sign(&admin(2), retire("bank-1"))), Err(EntryError::Replay));
    assert_eq!(
        fx.one(sign(&admin(2), rotate("bank-1", 52))),
        Err(EntryError::Invalid("verifier retired"))
    );
    assert_eq!(
        fx.one(sign(
            &admin(2),
            EntryBody::RegisterVerifier(RegisterVerifier {
                verifier_key: key(53).public_key(),
                ..bank_verifier()
            })
        )),
        Err(EntryError::AlreadyRegistered("verifier id"))
    );
    // The record and both entries round-trip through the canonical encoding.
    let again = VerifierRecord::from_bytes(&rec.to_bytes()).unwrap();
    assert_eq!(again, rec);
    for body in [rotate("bank-1", 51), retire("bank-1")] {
        assert_eq!(EntryBody::from_bytes(&body.to_bytes()).unwrap(), body);
    }
}
