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
        .env("CERTLEDGER_KEY_PASSPHRASE", "genesis passphrase")
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

    // Admin keys are sealed: no seed in the file, the right passphrase opens them, a wrong one
    // is refused with a clear zh/en error.
    let admin = dir.path().join("keys").join("dept-0.admin.key.json");
    let text = std::fs::read_to_string(&admin).unwrap();
    assert!(text.contains("\"sealed\"") && !text.contains("seed_hex"), "{text}");
    let pass = |p: &'static str| move || Ok(zeroize::Zeroizing::new(p.to_owned()));
    let opened =
        certledger_node::config::KeyFile::load_with(&admin, pass("genesis passphrase")).unwrap();
    assert_eq!(g.departments[0].admin_keys, vec![opened.public_key()]);
    let err = certledger_node::config::KeyFile::load_with(&admin, pass("wrong")).unwrap_err();
    assert!(err.to_string().contains("wrong passphrase") && err.to_string().contains("口令错误"));
    let pf = dir.path().join("pass.txt");
    std::fs::write(&pf, "wrong\n").unwrap();
    let out = bin()
        .arg("peer-id")
        .arg("--key")
        .arg(&admin)
        .arg("--passphrase-file")
        .arg(&pf)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("口令错误"));
    // Without any passphrase source (and no terminal) a sealed key is refused, not guessed.
    let out = bin().arg("peer-id").arg("--key").arg(&admin).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no passphrase"));
}

#[cfg(unix)]
#[test]
fn keygen_creates_0600_under_umask_0_and_never_overwrites() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let k = dir.path().join("k.json");
    let keygen = |path: &std::path::Path| {
        Command::new("sh")
            .arg("-c")
            .arg("umask 0; exec \"$0\" keygen --out \"$1\"")
            .arg(env!("CARGO_BIN_EXE_certledger-node"))
            .arg(path)
            .output()
            .unwrap()
    };
    let first = keygen(&k);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert_eq!(std::fs::metadata(&k).unwrap().permissions().mode() & 0o777, 0o600);
    // Only the key file: the temporary file is gone.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    let before = std::fs::read(&k).unwrap();
    let again = keygen(&k);
    assert!(!again.status.success(), "keygen overwrote an existing key");
    assert!(String::from_utf8_lossy(&again.stderr).contains("refusing to overwrite"));
    assert_eq!(std::fs::read(&k).unwrap(), before);
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

#[test]
fn completions_and_man_pages_cover_every_command() {
    let out = bin().args(["completions", "bash"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bash = String::from_utf8(out.stdout).unwrap();
    for word in ["certledger-node", "issue-batch", "--log-format", "completions", "reinstate"] {
        assert!(bash.contains(word), "bash completion lacks {word}");
    }
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = bin().args(["completions", shell]).output().unwrap();
        assert!(out.status.success() && !out.stdout.is_empty(), "{shell}");
    }
    let out = bin().arg("man").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.contains(".TH certledger-node"), "{page}");
    assert!(page.contains("issue\\-batch"), "the page lists the commands");

    let dir = tempfile::tempdir().unwrap();
    let out = bin().args(["man", "--dir"]).arg(dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for name in
        ["certledger-node", "certledger-node-run", "certledger-node-issue", "certledger-node-gov"]
    {
        let text = std::fs::read_to_string(dir.path().join(format!("{name}.1"))).unwrap();
        assert!(text.contains(&format!(".TH {name}")), "{name}: {text}");
    }
}

#[test]
fn log_format_json_writes_one_json_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["genesis", "--departments", "1", "--chain-id", "log-test", "--out"])
        .arg(dir.path())
        .env("CERTLEDGER_KEY_PASSPHRASE", "log test")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cfg = certledger_node::config::NodeToml {
        moniker: "log-test".into(),
        data_dir: dir.path().join("data"),
        key_file: dir.path().join("keys").join("dept-0.key.json"),
        genesis_file: dir.path().join("genesis.json"),
        validator: true,
        p2p_listen: "/ip4/127.0.0.1/tcp/0".into(),
        persistent_peers: vec![],
        http_listen: "127.0.0.1:0".into(),
        peer_http: vec![],
        block_time_ms: 500,
        timeout_propose_ms: 2000,
        timeout_vote_ms: 1000,
        danger_propose_bad_state_root: false,
        danger_propose_invalid_entry: None,
        web_dir: None,
        http: Default::default(),
    };
    let path = dir.path().join("node.toml");
    std::fs::write(&path, toml::to_string(&cfg).unwrap()).unwrap();
    let mut child = bin()
        .args(["--log-format", "json", "run", "--config"])
        .arg(&path)
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    // Read until the node says it is starting (or 60 s pass), then stop it.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut lines = Vec::new();
    let mut started = false;
    while std::time::Instant::now() < deadline && !started {
        if let Ok(line) = rx.recv_timeout(std::time::Duration::from_millis(200)) {
            let v: serde_json::Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
            assert!(v["level"].is_string() && v["timestamp"].is_string(), "{line}");
            started |= v["fields"]["message"] == "node starting";
            lines.push(line);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(started, "no `node starting` event in:\n{}", lines.join("\n"));
}

/// `evidence verify FILE --trust-root T`: exit 0 and the department named (zh/en) for valid
/// evidence, exit 6 for evidence that proves nothing, 3 for an unreadable file.
#[test]
fn evidence_verify_names_the_equivocating_department() {
    use certledger_core::codec::Encode as _;
    use certledger_core::evidence::{Evidence, SignedCheckpoint};
    use certledger_core::note::{LedgerCheckpoint, NoteSigner};
    use certledger_core::sig::{SecretKey, Signature};
    use certledger_core::verify::TrustRoot;
    let signers: Vec<NoteSigner> = (0..4u8)
        .map(|i| NoteSigner::new(&format!("dept-{i}"), SecretKey::from_seed(&[i + 1; 32])).unwrap())
        .collect();
    let trust = TrustRoot {
        chain_id: "cli-evidence".into(),
        keys: signers.iter().map(NoteSigner::note_key).collect(),
        threshold: 3,
    };
    let stmt = |root: u8, by: &NoteSigner| {
        let cp = LedgerCheckpoint {
            origin: "cli-evidence".into(),
            size: 9,
            root: [root; 32],
            height: 4,
            time: 1_800_000_000,
            state_root: [0; 32],
        };
        let sig = by.sign_text(&cp.to_body()).sig;
        SignedCheckpoint { body: cp.to_body(), signature: Signature(sig.try_into().unwrap()) }
    };
    let dir = tempfile::tempdir().unwrap();
    let tr = dir.path().join("trust.json");
    std::fs::write(&tr, trust.to_json()).unwrap();
    let good = dir.path().join("good.ev");
    std::fs::write(
        &good,
        Evidence::new("dept-1", stmt(1, &signers[1]), stmt(2, &signers[1])).to_bytes(),
    )
    .unwrap();
    let bad = dir.path().join("bad.ev");
    std::fs::write(
        &bad,
        Evidence::new("dept-1", stmt(1, &signers[1]), stmt(2, &signers[2])).to_bytes(),
    )
    .unwrap();
    let run = |file: &std::path::Path| {
        bin().args(["evidence", "verify"]).arg(file).arg("--trust-root").arg(&tr).output().unwrap()
    };
    let out = run(&good);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("department dept-1") && stdout.contains("部门 dept-1"), "{stdout}");
    let out = run(&bad);
    assert_eq!(out.status.code(), Some(6), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("签名无效"));
    assert_eq!(run(&dir.path().join("missing")).status.code(), Some(3));
}

#[test]
fn gov_root_draft_and_sign_make_a_ledger_root_verifiers_accept() {
    use certledger_core::verify::{LedgerRoot, TrustList};
    let dir = tempfile::tempdir().unwrap();
    let pass = [("CERTLEDGER_KEY_PASSPHRASE", "root passphrase")];
    let out = bin()
        .args(["genesis", "--departments", "4", "--chain-id", "cn.gov.zhejiang.cli-test", "--out"])
        .arg(dir.path())
        .envs(pass)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let g = certledger_node::config::Genesis::load(&dir.path().join("genesis.json")).unwrap();
    let trust = certledger_core::lightclient::GovernanceTrust::from_genesis(&g.to_core());
    let tr = dir.path().join("trust-root.json");
    std::fs::write(&tr, trust.to_trust_root_json()).unwrap();
    let root = dir.path().join("zhejiang.ledger-root.json");
    let draft = |out: &std::path::Path| {
        bin()
            .args(["gov", "root-draft", "--name-zh", "浙江省", "--name-en", "Zhejiang"])
            .args(["--sequence", "3", "--trust-root"])
            .arg(&tr)
            .arg("--out")
            .arg(out)
            .output()
            .unwrap()
    };
    let out = draft(&root);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Never overwritten.
    assert!(!draft(&root).status.success());
    let sign = |i: usize| {
        let key = dir.path().join("keys").join(format!("dept-{i}.admin.key.json"));
        let out = bin()
            .args(["gov", "root-sign"])
            .arg(&root)
            .arg("--admin-key")
            .arg(key)
            .envs(pass)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    assert_eq!(sign(0)["complete"], false);
    let text = std::fs::read_to_string(&root).unwrap();
    assert!(LedgerRoot::from_json(&text).is_err(), "one signature of four is not enough");
    assert_eq!(sign(1)["complete"], false);
    let last = sign(2);
    assert_eq!(last["complete"], true);
    assert_eq!(last["signatures"], 3);
    let text = std::fs::read_to_string(&root).unwrap();
    let signed = LedgerRoot::from_json(&text).unwrap();
    assert_eq!((signed.name_en.as_str(), signed.sequence), ("Zhejiang", 3));
    assert_eq!(signed.chain_id, "cn.gov.zhejiang.cli-test");
    assert_eq!(TrustList::from_json(&text).unwrap().len(), 1);
}
