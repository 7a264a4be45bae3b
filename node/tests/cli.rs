//! The CLI without a network: keygen, genesis (zh/en names), peer-id, help examples, and a
//! clear error for a bad config.
#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_certledger-node"))
}

#[test]
fn genesis_keygen_and_peer_id() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["genesis", "--departments", "3", "--chain-id", "cli-test", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let g = certledger_node::config::Genesis::load(&dir.path().join("genesis.json")).unwrap();
    assert_eq!(g.chain_id, "cli-test");
    assert_eq!(g.departments.len(), 3);
    assert!(g.departments.iter().all(|d| !d.name_zh.is_empty() && d.name_zh != d.name_en));
    let node_key = dir.path().join("keys").join("dept-0.key.json");
    let key = certledger_node::config::KeyFile::load(&node_key).unwrap();
    assert_eq!(key.public_key(), g.departments[0].node_key);

    let out = bin().arg("peer-id").arg("--key").arg(&node_key).output().unwrap();
    assert!(out.status.success());
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        printed.trim(),
        certledger_node::server::consensus::peer_id_of(&key.public_key()).unwrap()
    );

    let k = dir.path().join("k.json");
    assert!(bin().arg("keygen").arg("--out").arg(&k).status().unwrap().success());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&k).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert!(certledger_node::config::KeyFile::load(&k).is_ok());
}

#[test]
fn help_has_examples_and_bad_config_is_a_clear_error() {
    for sub in ["devnet", "run", "genesis", "status", "bench", "demo"] {
        let out = bin().args([sub, "--help"]).output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("Example"), "{sub}: {text}");
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("node.toml");
    std::fs::write(&cfg, "moniker = \"x\"\nunknown_key = 1\n").unwrap();
    let out = bin().arg("run").arg("--config").arg(&cfg).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("node.toml"));
}
