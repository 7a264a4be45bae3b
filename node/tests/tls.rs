//! The HTTP API over TLS (issue #11 item 9): four validators serve HTTPS with a certificate from
//! a test CA made here (rcgen) and reach each other's APIs over HTTPS (entry forwarding,
//! checkpoint cosigning) trusting that CA (`[http] peer_ca`); the tools talk to them with
//! `--ca` (or `CERTLEDGER_CA`) and refuse them without it; plain HTTP gets no answer.
#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use certledger_node::config::KeyFile;
use common::{TestNet, OWNERS};

/// A CA and one server certificate for 127.0.0.1 signed by it: `(ca.pem, cert.pem, key.pem)`.
fn test_pki(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "certledger test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    let paths = (dir.join("ca.pem"), dir.join("node.crt.pem"), dir.join("node.key.pem"));
    std::fs::write(&paths.0, ca.pem()).unwrap();
    std::fs::write(&paths.1, cert.pem()).unwrap();
    std::fs::write(&paths.2, key.serialize_pem()).unwrap();
    (paths.0, paths.1, paths.2)
}

fn tool(args: &[&str], ca: Option<&Path>) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_certledger-node"));
    cmd.args(args).env_remove("CERTLEDGER_CA");
    if let Some(ca) = ca {
        cmd.arg("--ca").arg(ca);
    }
    cmd.output().unwrap()
}

fn text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_serve_https_and_clients_need_the_ca() {
    let mut net = TestNet::with_departments(&OWNERS, 0);
    let (ca, cert, key) = test_pki(net.dir.path());
    for i in 0..4 {
        net.edit_config(i, |c| {
            c.http.tls_cert = Some(cert.clone());
            c.http.tls_key = Some(key.clone());
            c.http.peer_ca = Some(ca.clone());
            for p in &mut c.peer_http {
                *p = p.replacen("http://", "https://", 1);
            }
        });
    }
    let plain: Vec<String> = net.urls.clone();
    net.urls = plain.iter().map(|u| u.replacen("http://", "https://", 1)).collect();
    net.client = certledger_node::config::http_client(Some(&ca))
        .unwrap()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    net.start_all();
    net.wait_height(&[0, 1, 2, 3], 2, Duration::from_secs(120)).await;

    // Plain HTTP to the TLS port and HTTPS without the CA get no answer.
    let bare = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    assert!(bare.get(format!("{}/health", plain[0])).send().await.is_err());
    let no_ca = certledger_node::config::http_client(None).unwrap().build().unwrap();
    let e = no_ca.get(format!("{}/health", net.urls[0])).send().await.unwrap_err();
    eprintln!("without the CA: {e:?}");

    // A tool: `status` with and without the CA (flag and environment).
    let url = net.urls[0].clone();
    let ok = tool(&["status", "--url", &url], Some(&ca));
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(text(&ok).contains(common::CHAIN_ID), "{}", text(&ok));
    let refused = tool(&["status", "--url", &url], None);
    assert!(!refused.status.success(), "status without the CA: {}", text(&refused));
    let env = Command::new(env!("CARGO_BIN_EXE_certledger-node"))
        .args(["status", "--url", &url])
        .env("CERTLEDGER_CA", &ca)
        .output()
        .unwrap();
    assert!(env.status.success(), "{}", text(&env));

    // The issuing department's tool over HTTPS: register a type (submission, forwarding between
    // nodes, commit) and list it proven against a checkpoint the four nodes cosigned by
    // fetching each other's signatures over HTTPS.
    let start = std::time::Instant::now();
    for i in 0..4 {
        while net.get(i, "/v1/checkpoints/latest").await.0 != 200 {
            assert!(start.elapsed() < Duration::from_secs(60), "no cosigned checkpoint on {i}");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    let admin = net.dir.path().join("market-regulation.admin.key.json");
    KeyFile::new(&net.admins[1]).write(&admin).unwrap();
    let admin = admin.to_str().unwrap().to_owned();
    let register = ["type", "register", "--node", &url, "--admin-key", &admin];
    let refused =
        tool(&[&register[..], &["--type", "business-licence", "--wait-secs", "5"]].concat(), None);
    assert_eq!(refused.status.code(), Some(5), "without the CA: {}", text(&refused));
    let out = tool(&[&register[..], &["--type", "business-licence"]].concat(), Some(&ca));
    assert!(out.status.success(), "{}", text(&out));
    let start = std::time::Instant::now();
    loop {
        let list = tool(&["type", "list", "--node", &net.urls[2], "--json"], Some(&ca));
        assert!(list.status.success(), "{}", text(&list));
        let v: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
        let registered = v["types"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["registered"] == true && t["registered_by"] == "market-regulation");
        if registered {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "not listed as registered: {v}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
