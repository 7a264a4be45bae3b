//! Equivocation evidence vectors (`specs/vectors/evidence.json`, `specs/evidence.md`).

use certledger_core::codec::{DecodeError, Encode};
use certledger_core::evidence::{verify, Evidence, EvidenceError, SignedCheckpoint};
use certledger_core::note::{LedgerCheckpoint, NoteSigner};
use certledger_core::sig::{SecretKey, Signature};
use certledger_core::verify::TrustRoot;

const ORIGIN: &str = "certledger.test/evidence-vectors";

/// The vectors' outcome name for a verification result.
fn outcome(bytes: &[u8], trust: &TrustRoot) -> String {
    let ev = match Evidence::from_bytes_checked(bytes) {
        Ok(ev) => ev,
        Err(DecodeError::NonCanonical(_)) => return "malformed:non_canonical".into(),
        Err(_) => return "malformed".into(),
    };
    match verify(&ev, trust) {
        Ok(q) => format!("equivocation:{}", q.department),
        Err(EvidenceError::Body { .. }) => "not_a_checkpoint".into(),
        Err(EvidenceError::WrongOrigin) => "wrong_origin".into(),
        Err(EvidenceError::NotConflicting(_)) => "not_conflicting".into(),
        Err(EvidenceError::UnknownKey(_)) => "unknown_key".into(),
        Err(EvidenceError::BadSignature { statement }) => format!("bad_signature:{statement}"),
        Err(e) => format!("other:{e}"),
    }
}

#[test]
fn evidence_vectors() {
    let v: serde_json::Value =
        serde_json::from_str(include_str!("../../specs/vectors/evidence.json")).expect("json");
    let trust = TrustRoot::from_json(&v["trust_root"].to_string()).expect("trust root");
    let cases = v["cases"].as_array().expect("cases");
    assert!(cases.len() >= 8);
    for c in cases {
        let bytes = hex::decode(c["evidence_hex"].as_str().expect("hex")).expect("hex");
        assert_eq!(
            outcome(&bytes, &trust),
            c["outcome"].as_str().expect("outcome"),
            "{}",
            c["name"]
        );
    }
}

fn signers() -> Vec<NoteSigner> {
    ["dept-a", "dept-b", "dept-c", "dept-d"]
        .iter()
        .enumerate()
        .map(|(i, n)| NoteSigner::new(n, SecretKey::from_seed(&[0x50 + i as u8; 32])).expect("key"))
        .collect()
}

fn cp(origin: &str, size: u64, root: u8) -> LedgerCheckpoint {
    LedgerCheckpoint {
        origin: origin.into(),
        size,
        root: [root; 32],
        height: 12,
        time: 1_800_000_000,
        state_root: [0x33; 32],
    }
}

fn stmt(c: &LedgerCheckpoint, by: &NoteSigner) -> SignedCheckpoint {
    let sig = by.sign_text(&c.to_body()).sig;
    SignedCheckpoint { body: c.to_body(), signature: Signature(sig.try_into().expect("64")) }
}

/// Prints fresh vectors (`PRINT_EVIDENCE_VECTORS=1 cargo test -p certledger-core --test evidence
/// print -- --nocapture`); the file is this output.
#[test]
fn print_evidence_vectors() {
    if std::env::var_os("PRINT_EVIDENCE_VECTORS").is_none() {
        return;
    }
    let s = signers();
    let trust = TrustRoot {
        chain_id: ORIGIN.into(),
        keys: s.iter().map(NoteSigner::note_key).collect(),
        threshold: 3,
    };
    let good =
        Evidence::new("dept-b", stmt(&cp(ORIGIN, 40, 1), &s[1]), stmt(&cp(ORIGIN, 40, 2), &s[1]));
    let mut unknown = good.clone();
    unknown.department = "dept-x".into();
    let mut swapped = good.clone();
    std::mem::swap(&mut swapped.first, &mut swapped.second);
    let not_cp = Evidence::new(
        "dept-b",
        good.first.clone(),
        SignedCheckpoint { body: "hello\n".into(), signature: good.second.signature },
    );
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("valid: same size, different roots", good.to_bytes()),
        (
            "same root",
            Evidence::new(
                "dept-b",
                stmt(&cp(ORIGIN, 40, 1), &s[1]),
                stmt(&cp(ORIGIN, 40, 1), &s[1]),
            )
            .to_bytes(),
        ),
        (
            "different sizes",
            Evidence::new(
                "dept-b",
                stmt(&cp(ORIGIN, 40, 1), &s[1]),
                stmt(&cp(ORIGIN, 41, 2), &s[1]),
            )
            .to_bytes(),
        ),
        ("department not in the trust root", unknown.to_bytes()),
        (
            "second statement signed by another department",
            Evidence::new(
                "dept-b",
                stmt(&cp(ORIGIN, 40, 1), &s[1]),
                stmt(&cp(ORIGIN, 40, 2), &s[2]),
            )
            .to_bytes(),
        ),
        (
            "another ledger",
            Evidence::new(
                "dept-b",
                stmt(&cp("other", 40, 1), &s[1]),
                stmt(&cp("other", 40, 2), &s[1]),
            )
            .to_bytes(),
        ),
        ("statement is not a checkpoint", not_cp.to_bytes()),
        ("statements out of order", swapped.to_bytes()),
    ];
    let mut truncated = good.to_bytes();
    truncated.pop();
    cases.push(("truncated", truncated));
    let mut trailing = good.to_bytes();
    trailing.push(0);
    cases.push(("trailing byte", trailing));
    let cases: Vec<serde_json::Value> = cases
        .into_iter()
        .map(|(name, bytes)| {
            serde_json::json!({"name": name, "evidence_hex": hex::encode(&bytes), "outcome": outcome(&bytes, &trust)})
        })
        .collect();
    let out = serde_json::json!({
        "about": "certledger equivocation evidence, version 1 (specs/evidence.md). Printed by core/tests/evidence.rs print_evidence_vectors; the department keys are public test keys (seeds 0x50..0x53 repeated). outcome: equivocation:<department>, or the refusal.",
        "trust_root": serde_json::from_str::<serde_json::Value>(&trust.to_json()).expect("json"),
        "cases": cases,
    });
    println!("{}", serde_json::to_string_pretty(&out).expect("json"));
}
