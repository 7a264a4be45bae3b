//! A validator that proposes blocks whose header does not match re-execution: honest nodes
//! refuse every such proposal (prevote nil), the network keeps committing through the other
//! proposers, and no block with a wrong root is ever committed. A validator that slips an
//! invalid entry (bad signature, unauthorised signer) into its proposals never gets it committed.
#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{entry, id_hex, TestNet};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proposals_that_do_not_match_re_execution_are_refused() {
    let mut net = TestNet::new(4, 0);
    net.edit_config(0, |c| c.danger_propose_bad_state_root = true);
    let bad = hex::encode(net.keys[0].public_key().0);
    net.start_all();
    net.wait_height(&[1, 2, 3], 8, Duration::from_secs(120)).await;
    let items: Vec<(usize, Vec<u8>)> = (0..12u32)
        .map(|n| ((n % 4) as usize, entry(&net.admins[(n % 4) as usize], &n.to_be_bytes())))
        .collect();
    for (s, b) in net.submit_many(&items).await {
        assert_eq!(s, 202, "{b}");
    }
    for (_, e) in &items {
        net.wait_committed(1, &id_hex(e), Duration::from_secs(120)).await;
    }
    let top = net.height(1).await;
    let mut refused = 0u64;
    for i in 1..4 {
        let m = net
            .client
            .get(format!("{}/metrics", net.urls[i]))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let line =
            m.lines().find(|l| l.starts_with("certledger_proposals_rejected_total")).unwrap();
        refused += line.split(' ').nth(1).unwrap().parse::<u64>().unwrap();
    }
    assert!(refused >= 3, "honest nodes refused only {refused} proposals");
    // Every committed block was proposed by an honest validator, and all agree.
    for h in 1..=top {
        let (s, b) = net.get(1, &format!("/v1/blocks/{h}")).await;
        assert_eq!(s, 200);
        assert_ne!(b["header"]["proposer"].as_str().unwrap(), bad, "height {h}");
        assert_ne!(b["header"]["state_root"].as_str().unwrap(), "ee".repeat(32));
        assert_eq!(net.block_hash(2, h).await, net.block_hash(1, h).await);
    }
}

/// Starts 4 validators where node 0 adds `bad` to every block it proposes; checks that honest
/// nodes refuse those proposals, that other entries still commit, and that `bad` never does.
async fn invalid_entry_is_never_committed(bad: Vec<u8>, what: &str) {
    use base64::Engine as _;
    let mut net = TestNet::new(4, 0);
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bad);
    net.edit_config(0, |c| c.danger_propose_invalid_entry = Some(text));
    net.start_all();
    net.wait_height(&[1, 2, 3], 6, Duration::from_secs(120)).await;
    let items: Vec<(usize, Vec<u8>)> = (0..8u32)
        .map(|n| ((n % 4) as usize, entry(&net.admins[(n % 4) as usize], &n.to_be_bytes())))
        .collect();
    for (s, b) in net.submit_many(&items).await {
        assert_eq!(s, 202, "{b}");
    }
    for (_, e) in &items {
        net.wait_committed(1, &id_hex(e), Duration::from_secs(120)).await;
    }
    let top = net.height(1).await;
    let bad_proposer = hex::encode(net.keys[0].public_key().0);
    for h in 1..=top {
        let (_, b) = net.get(1, &format!("/v1/blocks/{h}")).await;
        assert_ne!(b["header"]["proposer"].as_str().unwrap(), bad_proposer, "{what}: height {h}");
    }
    for i in 0..4 {
        let (s, v) = net.get(i, &format!("/v1/entries/{}", id_hex(&bad))).await;
        assert_eq!(s, 404, "{what}: node {i} knows the invalid entry: {v}");
    }
    let log = net.log(1);
    // Refused for the entry itself (the ledger's check), not for a header mismatch.
    assert!(
        log.lines().any(|l| l.contains("refusing proposed block") && l.contains("error=entry:")),
        "{what}: no refusal of the entry logged:\n{}",
        log.lines().filter(|l| l.contains("refus")).take(5).collect::<Vec<_>>().join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proposals_with_an_invalid_entry_are_refused() {
    use certledger_core::sig::SecretKey;
    // A valid entry with its signature broken.
    let mut forged = entry(&TestNet::new(1, 0).admins[0], b"forged");
    let last = forged.len() - 1;
    forged[last] ^= 1;
    invalid_entry_is_never_committed(forged, "bad signature").await;
    // A well-signed entry by a key no department authorised.
    let outsider = SecretKey::from_seed(&[0x77; 32]);
    invalid_entry_is_never_committed(entry(&outsider, b"unauthorised"), "unauthorised signer")
        .await;
}

/// A two-faced department: on the HTTP address of its (stopped) node, it answers cosignature
/// pulls for even heights with the true checkpoint (read from `honest`) and for odd heights
/// with the same checkpoint but another log root, both signed with the department's real node
/// key. While the log does not grow, both are statements about one log size: equivocation.
async fn two_faced_peer(
    listener: tokio::net::TcpListener,
    department: &'static str,
    key: certledger_core::sig::SecretKey,
    honest: String,
) {
    use axum::extract::Path;
    use axum::Json;
    use certledger_core::api::CheckpointNote;
    use certledger_core::note::{LedgerCheckpoint, Note, NoteSigner};
    let signer = std::sync::Arc::new(NoteSigner::new(department, key).unwrap());
    let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().unwrap();
    let cosign = move |Path(h): Path<u64>| {
        let (signer, client, honest) = (signer.clone(), client.clone(), honest.clone());
        async move {
            let url = format!("{honest}/v1/checkpoints/{h}/cosignature");
            let r = client.get(url).send().await.map_err(|_| axum::http::StatusCode::NOT_FOUND)?;
            let cp: CheckpointNote =
                r.json().await.map_err(|_| axum::http::StatusCode::NOT_FOUND)?;
            let mut body =
                LedgerCheckpoint::parse_body(Note::parse(&cp.note).unwrap().text()).unwrap();
            if h % 2 == 1 {
                body.root[0] ^= 0xff;
            }
            let note = body.sign(&signer).unwrap();
            Ok::<_, axum::http::StatusCode>(Json(CheckpointNote {
                height: h,
                note: note.to_text(),
            }))
        }
    };
    let app =
        axum::Router::new().route("/v1/checkpoints/{h}/cosignature", axum::routing::get(cosign));
    axum::serve(listener, app).await.unwrap();
}

/// A validator whose department key cosigns two different checkpoints at one log size: the
/// honest nodes keep committing, the ones that pull its signatures detect it and store the
/// evidence, the one that never pulls it (node 3 has no HTTP address for it) gets the evidence
/// by gossip, and the evidence every node serves verifies offline against the trust root, in
/// core and with `certledger-node evidence verify`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_department_that_cosigns_two_roots_at_one_size_is_caught_with_evidence() {
    use certledger_core::api::{EvidencePage, Health};
    use certledger_core::evidence::{self, Evidence};
    use certledger_core::verify::TrustRoot;
    let started = std::time::Instant::now();
    let mut net = TestNet::new(4, 0);
    let byzantine = net.urls[0].clone();
    net.edit_config(3, |c| c.peer_http.retain(|u| *u != byzantine));
    net.start_all();
    net.wait_height(&[0, 1, 2, 3], 2, Duration::from_secs(60)).await;
    let e = entry(&net.admins[1], b"before");
    assert_eq!(net.submit(1, &e).await.0, 202);
    for i in 0..4 {
        net.wait_committed(i, &id_hex(&e), Duration::from_secs(60)).await;
    }
    // Department 0 turns two-faced on its node's address.
    net.kill(0);
    let addr = byzantine.trim_start_matches("http://").to_owned();
    let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
    tokio::spawn(two_faced_peer(listener, "dept-0", net.keys[0].clone(), net.urls[1].clone()));
    let from = net.height(1).await;

    // Every honest node ends up holding evidence against dept-0.
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    let mut ids: Vec<String> = Vec::new();
    for i in 1..4 {
        loop {
            let (s, v) = net.get(i, "/v1/evidence").await;
            if s == 200 {
                let page: EvidencePage = serde_json::from_value(v).unwrap();
                if let Some(item) = page.items.iter().find(|it| it.department == "dept-0") {
                    ids.push(item.id.clone());
                    break;
                }
            }
            assert!(
                std::time::Instant::now() < deadline,
                "node {i} holds no evidence against dept-0\n{}",
                net.log(i)
                    .lines()
                    .filter(|l| l.contains("vidence") || l.contains("root"))
                    .take(20)
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    // The honest nodes kept committing while and after it was caught.
    net.wait_height(&[1, 2, 3], from + 3, Duration::from_secs(30)).await;

    // The evidence each node serves verifies offline against the trust root.
    let trust_text = net
        .client
        .get(format!("{}/v1/trust-root", net.urls[1]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let trust = TrustRoot::from_json(&trust_text).unwrap();
    let trust_path = net.dir.path().join("trust-root.json");
    std::fs::write(&trust_path, &trust_text).unwrap();
    for (n, id) in ids.iter().enumerate() {
        let i = n + 1;
        let r = net.client.get(format!("{}/v1/evidence/{id}", net.urls[i])).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/octet-stream");
        let bytes = r.bytes().await.unwrap();
        let ev = Evidence::from_bytes_checked(&bytes).unwrap();
        let q = evidence::verify(&ev, &trust).unwrap();
        assert_eq!(q.department, "dept-0", "node {i}");
        assert_ne!(q.roots[0], q.roots[1]);
        let health: Health = serde_json::from_value(net.get(i, "/health").await.1).unwrap();
        assert!(health.evidence >= 1, "node {i}: {health:?}");
        let file = net.dir.path().join(format!("node-{i}.evidence"));
        std::fs::write(&file, &bytes).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_certledger-node"))
            .args(["evidence", "verify"])
            .arg(&file)
            .arg("--trust-root")
            .arg(&trust_path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && text.contains("dept-0"), "node {i}: {text}");
    }
    // Node 3 never pulled dept-0's signatures: it holds the evidence by gossip only.
    let metric = |text: &str, name: &str| -> u64 {
        text.lines()
            .find(|l| l.starts_with(name))
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap()
    };
    let m3 = net
        .client
        .get(format!("{}/metrics", net.urls[3]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(metric(&m3, "certledger_evidence_detected_total"), 0);
    assert_eq!(metric(&m3, "certledger_conflicting_statements_total"), 0);
    assert!(metric(&m3, "certledger_evidence_received_total") >= 1);
    let mut detected = 0;
    for i in [1, 2] {
        let m = net
            .client
            .get(format!("{}/metrics", net.urls[i]))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        detected += metric(&m, "certledger_evidence_detected_total");
        assert!(metric(&m, "certledger_conflicting_statements_total") >= 1, "node {i}");
        assert_eq!(metric(&m, "certledger_evidence_refused_total"), 0, "node {i}");
    }
    assert!(detected >= 1);
    eprintln!("two-faced department caught in {:?} (test wall time)", started.elapsed());
}
