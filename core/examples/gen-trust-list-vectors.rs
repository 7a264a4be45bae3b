//! Writes `specs/vectors/trust-list.json`: the trust-list vectors (`specs/trust-list.md`) from a
//! fixed seed. Run from the workspace root:
//! `cargo run -p certledger-core --example gen-trust-list-vectors`.

use certledger_core::testkit;

fn main() {
    let text = match testkit::trust_list_vectors_json(testkit::TRUST_LIST_VECTORS_LABEL) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: could not build the vectors: {e}");
            std::process::exit(1);
        }
    };
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/vectors/trust-list.json");
    // A generator program writes its output file; the library itself does no I/O.
    #[allow(clippy::disallowed_methods)]
    let written = std::fs::write(&path, text);
    if let Err(e) = written {
        eprintln!("error: writing {}: {e}", path.display());
        std::process::exit(1);
    }
    println!("wrote {}", path.display());
}
