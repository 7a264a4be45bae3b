//! The trust-list vectors (`specs/vectors/trust-list.json`, `specs/trust-list.md`): every list
//! gives its expected outcome, every update of a held root its expected result, every bundle its
//! verdict naming the right ledger and department, and the signed bytes are rebuilt by hand from
//! the spec's layout.

use certledger_core::bundle::LinkedBundle;
use certledger_core::verify::{
    Added, LedgerRoot, ListVerifier, Policy, TrustList, TrustListError, Verdict,
};
use serde_json::Value;

const VECTORS: &str = include_str!("../../specs/vectors/trust-list.json");

fn vectors() -> Value {
    serde_json::from_str(VECTORS).expect("vectors are JSON")
}

fn outcome<T>(r: Result<T, TrustListError>, ok: impl Fn(T) -> &'static str) -> &'static str {
    match r {
        Ok(v) => ok(v),
        Err(e) => e.code(),
    }
}

#[test]
fn lists_give_their_outcome() {
    let v = vectors();
    let cases = v["lists"].as_array().expect("lists");
    assert!(cases.len() >= 10);
    for c in cases {
        let got = outcome(TrustList::from_json(c["json"].as_str().expect("json")), |_| "ok");
        assert_eq!(got, c["expect"].as_str().expect("expect"), "{}", c["name"]);
    }
}

#[test]
fn updates_give_their_outcome() {
    let v = vectors();
    let cases = v["updates"].as_array().expect("updates");
    assert!(cases.len() >= 5);
    for c in cases {
        let held = LedgerRoot::from_json(c["held"].as_str().expect("held")).expect("held root");
        let mut list = TrustList::new();
        assert_eq!(list.add(held.clone()), Ok(Added::New));
        let got = outcome(
            LedgerRoot::from_json_unsigned(c["offered"].as_str().expect("offered"))
                .and_then(|offered| list.add(offered)),
            |added| match added {
                Added::New => "new",
                Added::Updated => "updated",
                Added::Unchanged => "unchanged",
            },
        );
        assert_eq!(got, c["expect"].as_str().expect("expect"), "{}", c["name"]);
        // A refused update leaves the held root in place.
        if got != "updated" {
            let kept = list.get(&held.chain_id).and_then(|l| l.signed.clone());
            assert_eq!(kept, Some(held), "{}", c["name"]);
        }
    }
}

#[test]
fn bundles_name_their_ledger_and_department() {
    let v = vectors();
    let list = TrustList::from_json(&v["trust_list"].to_string()).expect("trust list");
    assert_eq!(list.len(), 2);
    let cases = v["bundles"].as_array().expect("bundles");
    assert_eq!(cases.len(), 3);
    for c in cases {
        let bundle =
            LinkedBundle::from_text(c["bundle"].as_str().expect("bundle")).expect("bundle");
        let policy: Policy = serde_json::from_value(c["policy"].clone()).expect("policy");
        let now = c["now"].as_u64().expect("now");
        let plain = list.verify_linked(&bundle, &policy, now).expect("decided");
        let mut cached = ListVerifier::new(list.clone(), policy.clone()).expect("verifier");
        assert_eq!(cached.verify_linked(&bundle, now).expect("decided"), plain, "{}", c["name"]);
        match plain {
            Verdict::Valid(a) => {
                assert_eq!(c["expect"], "valid", "{}", c["name"]);
                let by = a.issued_by.expect("issued_by");
                assert_eq!(by.chain_id, c["chain_id"].as_str().expect("chain"));
                assert_eq!(by.ledger_zh, c["ledger_zh"].as_str().expect("zh"));
                assert_eq!(by.ledger_en, c["ledger_en"].as_str().expect("en"));
                assert_eq!(by.department_zh, c["department_zh"].as_str().expect("zh"));
                assert_eq!(by.department_en, c["department_en"].as_str().expect("en"));
            }
            Verdict::Invalid(i) => assert_eq!(i.code(), c["expect"], "{}", c["name"]),
        }
    }
}

/// The spec's layout, written out independently of `LedgerRoot::signed_bytes`.
fn spec_signed_bytes(root: &Value) -> Vec<u8> {
    use base64::Engine as _;
    let b64 = |s: &Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s.as_str().expect("b64"))
            .expect("b64")
    };
    let mut out = vec![1u8];
    let string = |out: &mut Vec<u8>, s: &Value| {
        let s = s.as_str().expect("str");
        out.extend_from_slice(&(s.len() as u32).to_be_bytes());
        out.extend_from_slice(s.as_bytes());
    };
    string(&mut out, &root["chain_id"]);
    string(&mut out, &root["name_zh"]);
    string(&mut out, &root["name_en"]);
    out.extend_from_slice(&root["sequence"].as_u64().expect("seq").to_be_bytes());
    out.extend_from_slice(&root["issued_at"].as_u64().expect("at").to_be_bytes());
    out.extend_from_slice(&(root["threshold"].as_u64().expect("t") as u32).to_be_bytes());
    let depts = root["departments"].as_array().expect("departments");
    out.extend_from_slice(&(depts.len() as u32).to_be_bytes());
    for d in depts {
        string(&mut out, &d["id"]);
        string(&mut out, &d["name_zh"]);
        string(&mut out, &d["name_en"]);
        out.extend_from_slice(&b64(&d["node_key"]));
        let admins = d["admin_keys"].as_array().expect("admin keys");
        out.extend_from_slice(&(admins.len() as u32).to_be_bytes());
        for k in admins {
            out.extend_from_slice(&b64(k));
        }
    }
    out
}

#[test]
fn signed_bytes_follow_the_spec() {
    let v = vectors();
    assert_eq!(v["namespace"], "certledger/v1/trust-list");
    let ledgers = v["trust_list"]["ledgers"].as_array().expect("ledgers");
    for (json, expected) in ledgers.iter().zip(v["signed_bytes"].as_array().expect("bytes")) {
        let bytes = spec_signed_bytes(json);
        assert_eq!(hex::encode(&bytes), expected["signed_bytes_hex"].as_str().expect("hex"));
        let root = LedgerRoot::from_json(&json.to_string()).expect("root");
        assert_eq!(root.signed_bytes(), bytes);
        assert_eq!(root.fingerprint(), expected["fingerprint"].as_str().expect("fp"));
    }
}

#[test]
fn vectors_are_current() {
    let label = certledger_core::testkit::TRUST_LIST_VECTORS_LABEL;
    let generated = certledger_core::testkit::trust_list_vectors_json(label).expect("generate");
    assert!(
        generated == VECTORS,
        "run `cargo run -p certledger-core --example gen-trust-list-vectors`"
    );
}
