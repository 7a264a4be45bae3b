//! Writes `specs/vectors/bundles.json`: the project's bundle vectors (a valid bundle and one
//! invalid variant per reason code) from a fixed seed. Run from the workspace root:
//! `cargo run -p certledger-core --example gen-vectors`.

use certledger_core::testkit;

fn main() {
    let set = match testkit::standard_cases(testkit::VECTORS_LABEL) {
        Ok(set) => set,
        Err(e) => {
            eprintln!("error: could not build the cases: {e}");
            std::process::exit(1);
        }
    };
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/vectors/bundles.json");
    // A generator program writes its output file; the library itself does no I/O.
    #[allow(clippy::disallowed_methods)]
    let written = std::fs::write(&path, testkit::cases_json(&set));
    if let Err(e) = written {
        eprintln!("error: writing {}: {e}", path.display());
        std::process::exit(1);
    }
    println!("wrote {} cases to {}", set.cases.len(), path.display());
}
