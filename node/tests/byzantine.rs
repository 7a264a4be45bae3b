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
