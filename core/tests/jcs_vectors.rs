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
