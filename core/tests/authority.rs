//! Department authority as the verifier sees it (issue #11, items 1, 2 and 4): a removed
//! department's issuers, the type -> owning department -> issuer chain, and policy claims taken
//! only from the types whose profiles define them.

use certledger_core::bundle::Bundle;
use certledger_core::ledger::{self, ChangeValidators, Department, EntryBody};
use certledger_core::merkle::MerkleLog;
use certledger_core::note::{LedgerCheckpoint, Note, NoteKey, NoteSigner};
use certledger_core::profiles::{self, ClaimDef, ClaimKind, CredentialType};
use certledger_core::sig::SecretKey;
use certledger_core::smt::Smt;
use certledger_core::testkit::{self, DepartmentKeys, Scenario};
use certledger_core::verify::{self, Invalid, Policy, TrustRoot, Verdict};

const CHAIN: &str = "cn.gov.certledger.tests.authority";
const T0: u64 = 1_750_000_000;
const AUDIENCE: &str = "verifier:authority-tests";
const NONCE: &str = "authority-tests-nonce-0001";

fn verdict_code(v: &Verdict) -> &'static str {
    match v {
        Verdict::Valid(_) => "valid",
        Verdict::Invalid(i) => i.code(),
    }
}

/// The trust root of the departments `ids` of `s` (their node keys, a BFT threshold).
fn trust_root_of(s: &Scenario, ids: &[&str]) -> TrustRoot {
    let keys: Vec<NoteKey> = ids
        .iter()
        .map(|id| {
            let d = s.department(id).expect("department");
            NoteKey { name: d.id.clone(), key: d.node.public_key() }
        })
        .collect();
    let threshold = ledger::quorum_threshold(keys.len());
    TrustRoot { chain_id: CHAIN.into(), keys, threshold }
}

/// Issue #11 item 1, as reproduced: after governance removed transport, its issuer anchored a
/// driving licence that verified valid under the remaining departments' trust root. Now the
/// ledger refuses the anchor from the effective height, the issuer record proven to verifiers
/// says the key was retired then, and a licence anchored before the removal stays valid.
#[test]
fn a_removed_departments_issuer_anchors_nothing_and_its_earlier_credentials_stay_valid() {
    let mut s = Scenario::new("authority: removal", CHAIN, T0).expect("scenario");
    let dl = &profiles::DRIVING_LICENCE;
    let transport = s.register_issuer("transport", &[dl.id], 365 * 86_400).expect("issuer");
    let holder = SecretKey::generate(&mut s.rng);
    let before =
        s.issue(&transport, dl, &testkit::example_claims(dl), &holder.public_key()).expect("dl");
    // Add health, remove transport (3 of 4 approve), effective two heights on.
    let keys = DepartmentKeys {
        id: "health".into(),
        node: SecretKey::generate(&mut s.rng),
        admin: SecretKey::generate(&mut s.rng),
    };
    let health = Department {
        id: keys.id.clone(),
        name_zh: "卫生健康部门".into(),
        name_en: "Health Commission".into(),
        node_key: keys.node.public_key(),
        admin_keys: vec![keys.admin.public_key()],
    };
    s.departments.push(keys);
    let effective_height = s.ledger.height() + 3;
    let mut change = ChangeValidators {
        add: vec![health],
        remove: vec!["transport".into()],
        effective_height,
        approvals: Vec::new(),
    };
    for id in ["education", "market-regulation", "public-security"] {
        let approval = change.approve(&s.department(id).expect("dept").admin, CHAIN);
        change.approvals.push(approval);
    }
    let admin = s.department("education").expect("dept").admin.clone();
    s.submit(&admin, EntryBody::ChangeValidators(change));
    s.commit(10).expect("change");
    s.commit(10).expect("last height of the old set");
    assert_eq!(s.ledger.height() + 1, effective_height);
    // The first block of the new set: transport's issuer may not anchor.
    let after = s.issue(&transport, dl, &testkit::example_claims(dl), &holder.public_key());
    assert!(after.is_err(), "a removed department's issuer anchored a credential");
    s.commit(10).expect("empty block at the effective height");
    let removed_at = s.ledger.time();

    let today = ["education", "health", "market-regulation", "public-security"];
    let root = trust_root_of(&s, &today);
    let checkpoint = s.checkpoint_by(&today).expect("checkpoint");
    let now = s.ledger.time() + 30;
    let policy = Policy::new(NONCE, AUDIENCE);
    let bundle = s
        .bundle(&before, &holder, &["vehicle_classes"], NONCE, AUDIENCE, now - 5, &checkpoint)
        .expect("bundle");
    assert_eq!(bundle.proofs.issuer_record.retired_at, Some(removed_at));
    let v = verify::verify(&bundle, &root, &policy, now).expect("decidable");
    assert_eq!(verdict_code(&v), "valid", "{v:?}");
}

/// Rebuilds `valid` under a state in which the issuer record is changed by `edit`, the whole
/// checkpoint signed by every department (as a colluding quorum, or a ledger that once allowed
/// it, would): the verifier's own checks must still refuse what the ledger rules forbid.
fn with_issuer_record(
    s: &Scenario,
    valid: &Bundle,
    edit: impl FnOnce(&mut ledger::IssuerRecord),
) -> Bundle {
    let mut record = valid.proofs.issuer_record.clone();
    edit(&mut record);
    let mut state = Smt::default();
    let cred_key = ledger::credential_state_key(&valid.proofs.credential_record.credential_id);
    let issuer_key = ledger::issuer_state_key(&record.issuer_key);
    state.insert(cred_key, ledger::encode_record(&valid.proofs.credential_record)).expect("insert");
    state.insert(issuer_key, ledger::encode_record(&record)).expect("insert");
    let mut log = MerkleLog::new();
    log.append_data(&valid.proofs.anchor_leaf).expect("append");
    let cp = LedgerCheckpoint {
        origin: CHAIN.into(),
        size: 1,
        root: log.root(),
        height: s.ledger.height(),
        time: s.ledger.time(),
        state_root: state.root(),
    };
    let mut note = Note::new(&cp.to_body()).expect("note");
    for d in &s.departments {
        note.sign(&NoteSigner::new(&d.id, d.node.clone()).expect("signer")).expect("sign");
    }
    let mut out = valid.clone();
    out.proofs.anchor_proof = log.inclusion_proof(0, 1).expect("proof");
    out.proofs.credential_proof = state.prove(&cred_key).expect("prove");
    out.proofs.issuer_proof = state.prove(&issuer_key).expect("prove");
    out.proofs.issuer_record = record;
    out.proofs.checkpoint = note.to_text();
    out
}

/// Issue #11 item 2, as reproduced: transport's admin registered an issuer for the identity
/// attestation type and its level-4 attestation satisfied a policy demanding that type. The
/// ledger now refuses the registration; the verifier checks type -> owning department -> issuer
/// itself, so an issuer record of another department is refused even under a quorum checkpoint.
#[test]
fn an_issuer_of_another_department_than_the_types_owner_is_refused() {
    let mut s = Scenario::new("authority: ownership", CHAIN, T0).expect("scenario");
    let ia = &profiles::IDENTITY_ATTESTATION;
    // The ledger refuses transport's registration for public security's type.
    assert!(s.register_issuer("transport", &[ia.id], 86_400).is_err());
    let police = s.register_issuer("public-security", &[ia.id], 365 * 86_400).expect("issuer");
    let holder = SecretKey::generate(&mut s.rng);
    let att =
        s.issue(&police, ia, &testkit::example_claims(ia), &holder.public_key()).expect("issue");
    let checkpoint = s.checkpoint(4).expect("checkpoint");
    let now = s.ledger.time() + 30;
    let mut policy = Policy::new(NONCE, AUDIENCE);
    policy.accepted_types = vec![ia.id.into()];
    policy.min_assurance_level = Some(3);
    let valid =
        s.bundle(&att, &holder, &[], NONCE, AUDIENCE, now - 5, &checkpoint).expect("bundle");
    let root = s.trust_root();
    let v = verify::verify(&valid, &root, &policy, now).expect("decidable");
    assert_eq!(verdict_code(&v), "valid", "{v:?}");
    let foreign = with_issuer_record(&s, &valid, |r| r.department = "transport".into());
    assert_eq!(
        verify::verify(&foreign, &root, &policy, now).expect("decidable"),
        Verdict::Invalid(Invalid::IssuerNotAuthorised("the type belongs to another department"))
    );
}

/// The business licence profile with an `assurance_level` claim added: what an issuer of
/// business licences could sign (the issuer signs whatever claims it likes).
fn licence_with_assurance() -> CredentialType {
    let bl = profiles::BUSINESS_LICENCE;
    let mut claims: Vec<ClaimDef> = bl.claims.to_vec();
    claims.push(ClaimDef {
        name: "assurance_level",
        label_zh: "认证等级",
        label_en: "Level of assurance",
        kind: ClaimKind::Integer,
        selectively_disclosable: false,
        required: true,
    });
    CredentialType { claims: Box::leak(claims.into_boxed_slice()), ..bl }
}

/// Issue #11 item 4, as reproduced: `min_assurance_level` was met by an `assurance_level`
/// claim in a business licence. Claims used by a policy count only from types whose profile
/// defines them, on every path (one credential, `verify_linked`, a `Verifier`).
#[test]
fn policy_claims_come_only_from_types_that_define_them() {
    let mut s = Scenario::new("authority: assurance", CHAIN, T0).expect("scenario");
    let bl = &profiles::BUSINESS_LICENCE;
    let market = s.register_issuer("market-regulation", &[bl.id], 365 * 86_400).expect("issuer");
    let holder = SecretKey::generate(&mut s.rng);
    let evil = licence_with_assurance();
    let mut claims = testkit::example_claims(bl);
    claims["assurance_level"] = serde_json::json!(4);
    let licence = s.issue(&market, &evil, &claims, &holder.public_key()).expect("issue");
    let checkpoint = s.checkpoint(4).expect("checkpoint");
    let now = s.ledger.time() + 30;
    let bundle = s
        .bundle(&licence, &holder, &["entity_name"], NONCE, AUDIENCE, now - 5, &checkpoint)
        .expect("bundle");
    let root = s.trust_root();
    let mut policy = Policy::new(NONCE, AUDIENCE);
    let v = verify::verify(&bundle, &root, &policy, now).expect("decidable");
    assert_eq!(verdict_code(&v), "valid", "the licence itself is fine: {v:?}");

    policy.min_assurance_level = Some(3);
    let too_low = Verdict::Invalid(Invalid::AssuranceTooLow { have: 0, need: 3 });
    assert_eq!(verify::verify(&bundle, &root, &policy, now).expect("decidable"), too_low);
    let linked = certledger_core::bundle::LinkedBundle {
        main: bundle.clone(),
        pseudonym: None,
        linked: Vec::new(),
    };
    assert_eq!(verify::verify_linked(&linked, &root, &policy, now).expect("decidable"), too_low);
    let mut verifier = verify::Verifier::new(root.clone(), policy.clone()).expect("verifier");
    assert_eq!(verifier.verify(&bundle, now).expect("decidable"), too_low);

    policy.min_assurance_level = None;
    policy.required_claims = vec!["assurance_level".into()];
    assert_eq!(
        verify::verify(&bundle, &root, &policy, now).expect("decidable"),
        Verdict::Invalid(Invalid::ClaimNotDisclosed("assurance_level".into()))
    );
    policy.required_claims = vec!["entity_name".into()];
    let v = verify::verify(&bundle, &root, &policy, now).expect("decidable");
    assert_eq!(verdict_code(&v), "valid", "{v:?}");
}
