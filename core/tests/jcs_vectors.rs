//! RFC 8785 canonicalisation against every cyberphone test vector, through the strict parser.

mod common;

use certledger_core::jcs;

#[test]
fn cyberphone_vectors_reproduce_byte_for_byte() {
    let Some(dir) = common::vectors_dir() else { return };
    let base = dir.join("jcs/cyberphone/testdata");
    let mut names: Vec<String> = std::fs::read_dir(base.join("input"))
        .expect("input folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut checked = 0;
    for name in &names {
        let input = common::read(&dir, &format!("jcs/cyberphone/testdata/input/{name}"));
        let want = common::read(&dir, &format!("jcs/cyberphone/testdata/output/{name}"));
        let stem = name.trim_end_matches(".json");
        let hex_text = common::read(&dir, &format!("jcs/cyberphone/testdata/outhex/{stem}.txt"));
        let want_hex: String = hex_text.split_whitespace().collect();
        let got = jcs::canonicalize_str(&input).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got.as_bytes(), want.as_bytes(), "{name} output");
        assert_eq!(hex::encode(got.as_bytes()), want_hex.to_lowercase(), "{name} outhex");
        // Canonical output is a fixed point.
        assert_eq!(jcs::canonicalize_str(&got).expect("reparse"), got, "{name} idempotent");
        checked += 1;
    }
    eprintln!("jcs: {checked} cyberphone vectors reproduced");
    assert_eq!(checked, 6, "expected the 6 cyberphone vectors: {names:?}");
}

/// Issue #11 item 13: JCS writes numbers as doubles, so 9007199254740992 and 9007199254740993
/// had one canonical form and one signature covered both. Integers beyond 2^53 - 1 are refused
/// in anything canonicalised (signed W3C documents, proof configurations).
#[test]
fn integers_beyond_two_to_the_53_are_refused() {
    use certledger_core::jcs::{JsonError, MAX_SAFE_INTEGER};
    assert_eq!(MAX_SAFE_INTEGER, 9_007_199_254_740_991);
    for text in [
        "9007199254740992",
        "9007199254740993",
        "-9007199254740992",
        "18446744073709551615",
        r#"{"a":[1,{"b":9007199254740993}]}"#,
    ] {
        assert_eq!(jcs::canonicalize_str(text), Err(JsonError::Unrepresentable), "{text}");
    }
    for (text, canonical) in [
        ("9007199254740991", "9007199254740991"),
        ("-9007199254740991", "-9007199254740991"),
        (r#"{"b":1e30,"a":9007199254740991}"#, r#"{"a":9007199254740991,"b":1e+30}"#),
    ] {
        assert_eq!(jcs::canonicalize_str(text).as_deref(), Ok(canonical), "{text}");
    }
    // A Data Integrity proof can neither be made nor verified over such a document.
    let sk = certledger_core::sig::SecretKey::from_seed(&[9; 32]);
    let options = certledger_core::vcdi::ProofOptions {
        created: None,
        verification_method: certledger_core::didkey::did_key_verification_method(&sk.public_key()),
        proof_purpose: "assertionMethod".into(),
        challenge: None,
        domain: None,
        expires: None,
    };
    let doc = jcs::parse_strict(r#"{"n":9007199254740993}"#).expect("parses");
    assert!(certledger_core::vcdi::create(&doc, &sk, &options).is_err());
    let mut signed = certledger_core::vcdi::create(
        &jcs::parse_strict(r#"{"n":9007199254740991}"#).expect("parses"),
        &sk,
        &options,
    )
    .expect("signs");
    certledger_core::vcdi::verify(&signed, &sk.public_key(), 0).expect("verifies");
    signed["n"] = serde_json::json!(9_007_199_254_740_993u64);
    assert!(certledger_core::vcdi::verify(&signed, &sk.public_key(), 0).is_err());
}
