//! Tests of `present`'s helpers.

use super::*;

#[test]
fn png_names_per_part() {
    assert_eq!(png_paths(Path::new("d/a.png"), 1), vec![PathBuf::from("d/a.png")]);
    assert_eq!(
        png_paths(Path::new("d/a.png"), 2),
        vec![PathBuf::from("d/a-1.png"), PathBuf::from("d/a-2.png")]
    );
}

/// What the citizen reads has no run of spaces from a source line continuation and no line
/// with leading or trailing blanks (the shared-copy warning once carried 22 spaces and a raw
/// line break).
#[test]
fn user_facing_notices_have_no_stray_whitespace() {
    let texts = [
        shared_copy_warning(&["hotel-a".to_owned(), "bank-b".to_owned()]),
        stale_proofs_warning(1_767_225_600),
    ];
    for text in &texts {
        assert!(!text.contains("  "), "run of spaces in {text:?}");
        for line in text.lines() {
            assert_eq!(line, line.trim(), "stray blanks in {text:?}");
        }
        assert_eq!(text.lines().count(), 2, "one English and one Chinese line: {text:?}");
    }
}
