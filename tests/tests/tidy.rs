//! Repository hygiene checks that keep ARCHITECTURE.md's invariants true:
//! core's dependency tree has no I/O runtime, storage or networking crate; only the node knows
//! tokio, sled and libp2p; core has no `rand` (so no OS randomness to call); every Rust source
//! file opens with a `//!` doc comment; every path ARCHITECTURE.md's code maps name exists.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The normal (non-dev) dependency tree of `package` for `target`, one crate name per line.
fn dependency_names(package: &str, target: Option<&str>) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace_root()).args([
        "tree",
        "--offline",
        "--locked",
        "-p",
        package,
        "-e",
        "normal",
        "--prefix",
        "none",
        "--format",
        "{p}",
    ]);
    if let Some(target) = target {
        cmd.args(["--target", target]);
    }
    let out = cmd.output().expect("run cargo tree");
    assert!(out.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

const NODE_ONLY: &[&str] = &["tokio", "sled", "libp2p", "axum", "hyper", "reqwest", "mio"];

#[test]
fn core_and_verifier_have_no_io_runtime() {
    for package in ["certledger-core", "certledger-verifier"] {
        let deps = dependency_names(package, None);
        assert!(deps.iter().any(|d| d == package), "cargo tree lists {package}");
        for dep in &deps {
            let base = dep.split('-').next().unwrap_or(dep);
            assert!(
                !NODE_ONLY.contains(&dep.as_str()) && !NODE_ONLY.contains(&base),
                "{package} depends on {dep}, which only certledger-node may use"
            );
        }
    }
}

#[test]
fn core_takes_randomness_as_a_parameter() {
    let deps = dependency_names("certledger-core", None);
    assert!(deps.iter().any(|d| d == "rand_core"), "core names randomness through rand_core");
    assert!(!deps.iter().any(|d| d == "rand"), "core depends on rand (thread_rng, OsRng)");
}

/// The features `certledger-node` is built with over the dependency edges `edges`.
fn node_features(edges: &str) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(workspace_root())
        .args(["tree", "--offline", "--locked", "-p", "certledger-node", "-e", edges])
        .args(["--prefix", "none", "--format", "{p} [{f}]"])
        .output()
        .expect("run cargo tree");
    assert!(out.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("certledger-node v"))
        .map(str::to_owned)
        .collect()
}

/// The node's fault injection (feature `fault-injection`, `node/src/server/faults.rs`) is in
/// its tests only: the normal build (`cargo build`, a release) leaves it out; the tests, through
/// the node's dev-dependency on itself, turn it on.
#[test]
fn fault_injection_is_compiled_into_the_node_tests_only() {
    let normal = node_features("normal,features");
    assert!(!normal.is_empty(), "cargo tree lists certledger-node");
    assert!(normal.iter().all(|l| !l.contains("fault-injection")), "{normal:?}");
    let tests = node_features("normal,dev,features");
    assert!(tests.iter().any(|l| l.contains("fault-injection")), "{tests:?}");
}

/// The backticked paths in the rows of ARCHITECTURE.md's "Code map" tables (those that start
/// with a crate or folder of the workspace).
fn code_map_paths(text: &str) -> Vec<String> {
    const ROOTS: &[&str] = &[
        "core/",
        "node/",
        "wallet-cli/",
        "verifier-wasm/",
        "scripts/",
        "tests/",
        "specs/",
        "fuzz/",
    ];
    let mut out = Vec::new();
    let mut in_map = false;
    for line in text.lines() {
        if line.starts_with("## ") {
            in_map = line.starts_with("## Code map");
            continue;
        }
        if !in_map || !line.starts_with('|') {
            continue;
        }
        let first_cell = line.split('|').nth(1).unwrap_or("");
        for (i, part) in first_cell.split('`').enumerate() {
            if i % 2 == 1 && ROOTS.iter().any(|r| part.starts_with(r)) {
                out.push(part.to_owned());
            }
        }
    }
    out
}

#[test]
fn every_path_in_the_code_maps_exists() {
    let text = std::fs::read_to_string(workspace_root().join("ARCHITECTURE.md")).unwrap();
    let paths = code_map_paths(&text);
    assert!(paths.len() > 30, "the code maps were not read: {paths:?}");
    let missing: Vec<&String> =
        paths.iter().filter(|p| !workspace_root().join(p.as_str()).exists()).collect();
    assert!(missing.is_empty(), "ARCHITECTURE.md names paths that do not exist: {missing:?}");
}

#[test]
fn the_code_map_reader_takes_first_cells_of_code_map_tables_only() {
    let text = "## Code map: x\n| path | what |\n|---|---|\n| `core/a.rs`, `node/b` | `core/no.rs` |\n## Other\n| `core/c.rs` | x |\n";
    assert_eq!(code_map_paths(text), vec!["core/a.rs".to_owned(), "node/b".to_owned()]);
}

#[test]
fn every_rust_file_starts_with_a_module_doc() {
    let mut missing = Vec::new();
    let mut checked = 0;
    for dir in ["core", "node", "wallet-cli", "verifier-wasm", "tests"] {
        visit(&workspace_root().join(dir), &mut |path| {
            let text = std::fs::read_to_string(path).expect("read source");
            checked += 1;
            let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or_default();
            if !first.starts_with("//!") {
                missing.push(path.display().to_string());
            }
        });
    }
    assert!(checked > 10, "found only {checked} Rust files");
    assert!(missing.is_empty(), "files without a leading //! doc comment: {missing:#?}");
}

/// Files named in ARCHITECTURE.md's "File size" table (first cell of each row).
fn long_file_exceptions(text: &str) -> Vec<String> {
    let Some(start) = text.find("## File size") else { return Vec::new() };
    let section = &text[start..];
    let end = section[3..].find("\n## ").map_or(section.len(), |i| i + 3);
    section[..end]
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| l.split('`').nth(1).map(str::to_owned))
        .collect()
}

#[test]
fn no_rust_file_is_over_800_lines_without_a_written_reason() {
    let root = workspace_root();
    let text = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let allowed = long_file_exceptions(&text);
    assert!(!allowed.is_empty(), "the File size table of ARCHITECTURE.md was not read");
    let stale: Vec<&String> = allowed.iter().filter(|p| !root.join(p.as_str()).exists()).collect();
    assert!(stale.is_empty(), "ARCHITECTURE.md's File size table names missing files: {stale:?}");
    let mut long = Vec::new();
    for dir in ["core", "node", "wallet-cli", "verifier-wasm", "tests"] {
        visit(&root.join(dir), &mut |path| {
            let lines = std::fs::read_to_string(path).expect("read source").lines().count();
            let rel = path.strip_prefix(&root).unwrap_or(path).to_string_lossy().into_owned();
            if lines > 800 && !allowed.contains(&rel) {
                long.push(format!("{rel} ({lines} lines)"));
            }
        });
    }
    assert!(long.is_empty(), "files over 800 lines with no reason in ARCHITECTURE.md: {long:#?}");
}

#[test]
fn the_long_file_reader_takes_the_file_size_table_only() {
    let text =
        "## File size\n| file | why |\n|---|---|\n| `a/b.rs` | x |\n## Next\n| `c.rs` | y |\n";
    assert_eq!(long_file_exceptions(text), vec!["a/b.rs".to_owned()]);
}

fn visit(dir: &Path, f: &mut dyn FnMut(&Path)) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if name != "target" && name != "node_modules" && name != "pkg" && !name.starts_with('.')
            {
                visit(&path, f);
            }
        } else if name.ends_with(".rs") {
            f(&path);
        }
    }
}
