//! A validator that proposes blocks whose header does not match re-execution: honest nodes
//! refuse every such proposal (prevote nil), the network keeps committing through the other
//! proposers, and no block with a wrong root is ever committed.
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
