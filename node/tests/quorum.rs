//! Quorum loss with real processes: with two of four validators down nothing commits; with one
//! restarted, commits resume. A second process on the same data directory is refused.
#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{entry, id_hex, TestNet};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_of_four_down_halts_then_resumes() {
    let mut net = TestNet::new(4, 0);
    net.start_all();
    net.wait_height(&[0, 1, 2, 3], 2, Duration::from_secs(120)).await;

    // Same key and data dir twice: refused, and the running node is unaffected.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_certledger-node"))
        .arg("run")
        .arg("--config")
        .arg(&net.configs[0])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("locked"), "{stderr}");
    // Same department key with another data directory: also refused.
    let mut other = certledger_node::config::NodeToml::load(&net.configs[0]).unwrap();
    other.data_dir = net.dir.path().join("elsewhere");
    other.http_listen = "127.0.0.1:0".into();
    other.p2p_listen = "/ip4/127.0.0.1/tcp/0".into();
    let other_path = net.dir.path().join("other.toml");
    std::fs::write(&other_path, toml::to_string(&other).unwrap()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_certledger-node"))
        .arg("run")
        .arg("--config")
        .arg(&other_path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("department key") && stderr.contains("locked"), "{stderr}");

    net.kill(2);
    net.kill(3);
    // Let any in-flight height finish, then watch for progress.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let e = entry(&net.admins[0], b"while halted");
    let (s, _) = net.submit(0, &e).await;
    assert_eq!(s, 202);
    let h0 = net.height(0).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(net.height(0).await, h0, "committed without a quorum");
    assert_eq!(net.height(1).await.max(h0), h0);
    let (_, v) = net.get(0, &format!("/v1/entries/{}", id_hex(&e))).await;
    assert_eq!(v["status"], "pending");

    net.start(2);
    net.wait_height(&[0, 1, 2], h0 + 3, Duration::from_secs(120)).await;
    net.wait_committed(2, &id_hex(&e), Duration::from_secs(30)).await;
}
