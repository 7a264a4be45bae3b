//! Four validators and one observer commit entries submitted to different nodes; all report
//! the same blocks, log root and state root; invalid entries are refused with clear errors and
//! have no effect; a quorum-cosigned checkpoint is served.
#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use certledger_core::sig::SecretKey;
use common::{entry, id_hex, TestNet};

/// Entries the agreement test commits.
const N: u32 = 1_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_validators_commit_and_agree() {
    let mut net = TestNet::new(4, 1);
    net.start_all();
    let started = Instant::now();
    net.wait_height(&[0, 1, 2, 3, 4], 2, Duration::from_secs(120)).await;
    eprintln!("first blocks after {:?}", started.elapsed());

    // 1,000 entries, submitted concurrently round-robin to all five nodes (including the
    // observer).
    let t0 = Instant::now();
    let entries: Vec<(usize, Vec<u8>)> = (0..N)
        .map(|n| {
            let i = (n as usize) % 5;
            (i, entry(&net.admins[(n as usize) % 4], format!("issuance anchor {n}").as_bytes()))
        })
        .collect();
    // In waves of 50 concurrent submissions (a debug build on 2 cores answers 1,000 at once
    // slower than the client's timeout).
    for wave in entries.chunks(50) {
        for (status, body) in net.submit_many(wave).await {
            assert_eq!(status, 202, "{body}");
            assert_eq!(body["status"], "pending");
        }
    }
    let ids: Vec<String> = entries.iter().map(|(_, e)| id_hex(e)).collect();
    eprintln!("{N} entries accepted after {:?}", t0.elapsed());
    net.wait_log_size(&[0, 1, 2, 3, 4], u64::from(N), Duration::from_secs(300)).await;
    eprintln!("{N} entries committed on all 5 nodes after {:?}", t0.elapsed());
    for id in &ids {
        net.wait_committed(0, id, Duration::from_secs(5)).await;
    }
    for i in 1..5 {
        net.wait_committed(i, &ids[i * 7], Duration::from_secs(5)).await;
    }

    // Same blocks and roots everywhere at a common height.
    let mut top = u64::MAX;
    for i in 0..5 {
        top = top.min(net.height(i).await);
    }
    let reference = net.get(0, &format!("/v1/blocks/{top}")).await.1;
    for i in 1..5 {
        let (s, b) = net.get(i, &format!("/v1/blocks/{top}")).await;
        assert_eq!(s, 200);
        assert_eq!(b["hash"], reference["hash"], "node {i} block {top}");
        assert_eq!(b["header"]["log_root"], reference["header"]["log_root"]);
        assert_eq!(b["header"]["state_root"], reference["header"]["state_root"]);
    }
    assert!(reference["header"]["log_size"].as_u64().unwrap() >= u64::from(N));
    let sigs = reference["certificate"]["signatures"].as_array().unwrap().len();
    assert!(sigs >= 3, "certificate has {sigs} signatures");

    // Invalid entries: clear 4xx errors.
    let outsider = SecretKey::from_seed(&[9; 32]);
    let (s, b) = net.submit(0, &entry(&outsider, b"not a department")).await;
    assert_eq!((s, b["error"].as_str()), (403, Some("unauthorised_signer")));
    // A node key is not an admin key either.
    let (s, b) = net.submit(0, &entry(&net.keys[0], b"node key")).await;
    assert_eq!((s, b["error"].as_str()), (403, Some("unauthorised_signer")));
    let mut forged = entry(&net.admins[0], b"forged");
    let last = forged.len() - 1;
    forged[last] ^= 1;
    let (s, b) = net.submit(0, &forged).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("bad_signature")));
    let (s, b) = net.submit(0, b"\x01garbage").await;
    assert_eq!((s, b["error"].as_str()), (400, Some("malformed")));
    let (s, b) = net.submit_raw(0, "{not json").await;
    assert_eq!((s, b["error"].as_str()), (400, Some("malformed")));
    let dup = entry(&net.admins[1], b"issuance anchor 1");
    let (s, b) = net.submit(2, &dup).await;
    assert_eq!((s, b["error"].as_str()), (409, Some("duplicate")));
    let big = vec![b'x'; 70 * 1024];
    let (s, _) =
        net.submit_raw(0, &format!("{{\"entry\":\"{}\"}}", String::from_utf8(big).unwrap())).await;
    assert_eq!(s, 413);
    // The refused entries never reach the log.
    let (s, _) = net.get(0, &format!("/v1/entries/{}", id_hex(&forged))).await;
    assert_eq!(s, 404);
    // Same body signed by another department's admin: the body id is already committed.
    let replay = entry(&net.admins[2], b"issuance anchor 1");
    let (s, b) = net.submit(3, &replay).await;
    assert_eq!((s, b["error"].as_str()), (409, Some("duplicate")), "{b}");
    let size_before = net.health(0).await.unwrap()["log_size"].as_u64().unwrap();
    let h = net.height(0).await;
    net.wait_height(&[0], h + 3, Duration::from_secs(30)).await;
    assert_eq!(net.health(0).await.unwrap()["log_size"].as_u64().unwrap(), size_before);
    assert_eq!(size_before, u64::from(N));

    // Two entries valid alone but conflicting together (same type id, different bodies), both
    // queued on one node: exactly one commits and the network does not stall.
    let conflict = |name: &str| {
        use certledger_core::codec::Encode as _;
        use certledger_core::ledger::{EntryBody, RegisterType, SignedEntry};
        SignedEntry::sign(
            &net.admins[0],
            common::CHAIN_ID,
            EntryBody::RegisterType(RegisterType {
                type_id: "contested-type".into(),
                name_zh: name.into(),
                name_en: name.into(),
                claims: vec![],
                validity_s: 60,
                holder_binding: false,
            }),
        )
        .to_bytes()
    };
    let (a, b) = (conflict("first"), conflict("second"));
    let replies = net.submit_many(&[(0, a.clone()), (0, b.clone())]).await;
    assert!(replies.iter().all(|(s, _)| *s == 202), "{replies:?}");
    let h = net.height(0).await;
    net.wait_height(&[0, 1, 2, 3], h + 4, Duration::from_secs(120)).await;
    let mut committed = 0;
    for e in [&a, &b] {
        let (_, v) = net.get(1, &format!("/v1/entries/{}", id_hex(e))).await;
        if v["status"] == "committed" {
            committed += 1;
        }
    }
    assert_eq!(committed, 1);

    // Proofs and a cosigned checkpoint.
    let (s, p) = net.get(0, "/v1/proofs/inclusion?index=3&size=40").await;
    assert_eq!(s, 200);
    assert!(!p["path"].as_array().unwrap().is_empty());
    let (s, _) = net.get(0, "/v1/proofs/inclusion?index=41&size=40").await;
    assert_eq!(s, 400);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (s, c) = net.get(4, "/v1/checkpoints/latest").await;
        if s == 200 {
            let note = c["note"].as_str().unwrap();
            let lines = note.lines().filter(|l| l.starts_with('\u{2014}')).count();
            assert!(lines >= 3, "note has {lines} signatures:\n{note}");
            assert!(note.starts_with(common::CHAIN_ID));
            // The quorum rule of core's verifier accepts it.
            let quorum = certledger_node::server::chain::checkpoint_quorum(
                &certledger_node::config::Genesis::load(&net.dir.path().join("genesis.json"))
                    .unwrap(),
            );
            let cp = certledger_core::note::verify_checkpoint(note, &quorum).unwrap();
            assert_eq!(cp.height, c["height"].as_u64().unwrap());
            let (_, blk) = net.get(0, &format!("/v1/blocks/{}", cp.height)).await;
            assert_eq!(blk["header"]["log_root"].as_str().unwrap(), hex::encode(cp.root));
            assert_eq!(blk["header"]["state_root"].as_str().unwrap(), hex::encode(cp.state_root));
            break;
        }
        assert!(Instant::now() < deadline, "no cosigned checkpoint on the observer");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // A state proof of a registered type.
    let key = certledger_core::ledger::type_state_key(&format!(
        "type-{}",
        hex::encode(b"issuance anchor 5")
    ));
    let (s, p) = net.get(1, &format!("/v1/proofs/state/{}", hex::encode(key))).await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["key"], hex::encode(key));
    assert!(p["value"].is_string(), "{p}");
    assert!(!p["proof"].as_str().unwrap().is_empty());
    assert!(p["checkpoint"].as_str().unwrap().starts_with(common::CHAIN_ID));
    let metrics = net
        .client
        .get(format!("{}/metrics", net.urls[0]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("certledger_blocks_committed_total"));
}
