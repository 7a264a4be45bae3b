//! Writes `specs/vectors/identity-bundles.json`: bundles with the identity extension
//! (per-verifier pseudonym, linked credentials) and their expected verdicts, from a fixed seed.
//! Run from the workspace root: `cargo run -p certledger-core --example gen-identity-vectors`.

use certledger_core::testkit;

fn main() {
    let set = match testkit::identity_cases(testkit::IDENTITY_VECTORS_LABEL) {
        Ok(set) => set,
        Err(e) => {
            eprintln!("error: could not build the cases: {e}");
            std::process::exit(1);
        }
    };
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../specs/vectors/identity-bundles.json");
    // A generator program writes its output file; the library itself does no I/O.
    #[allow(clippy::disallowed_methods)]
    let written = std::fs::write(&path, testkit::identity_cases_json(&set));
    if let Err(e) = written {
        eprintln!("error: writing {}: {e}", path.display());
        std::process::exit(1);
    }
    println!("wrote {} cases to {}", set.cases.len(), path.display());
}
