//! Finding the external test vectors in `../shared/vectors` (or `$CERTLEDGER_VECTORS`).
//!
//! Where the folder is absent (a user's clone) a test says so and skips; under `CI=true` absence
//! is a failure.
#![allow(dead_code, clippy::panic)]

use std::path::PathBuf;

/// The vectors folder, or `None` (after saying so) when it is absent outside CI.
pub fn vectors_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("CERTLEDGER_VECTORS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors"),
    };
    if dir.is_dir() {
        return Some(dir);
    }
    let ci = std::env::var("CI").map(|v| v == "true" || v == "1").unwrap_or(false);
    assert!(!ci, "CI=true but the external vectors are missing at {}", dir.display());
    eprintln!("SKIP: external vectors not found at {} (set CERTLEDGER_VECTORS)", dir.display());
    None
}

/// Reads a file under the vectors folder.
pub fn read(dir: &std::path::Path, rel: &str) -> String {
    let path = dir.join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}
