//! Crash tolerance with real processes: kill -9 one validator under load, commits continue;
//! restart it, it catches up to the same blocks and roots and nothing acknowledged is lost.
#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{entry, id_hex, TestNet};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_one_validator_under_load_then_catch_up() {
    let mut net = TestNet::new(4, 0);
    net.start_all();
    net.wait_height(&[0, 1, 2, 3], 2, Duration::from_secs(120)).await;

    let mut acked = Vec::new();
    let keys = net.admins.clone();
    let mut n = 0u32;
    let mut submit_batch = |count: u32| {
        let v: Vec<(usize, Vec<u8>)> = (0..count)
            .map(|_| {
                n += 1;
                let i = (n as usize) % 3; // nodes 0..2 stay up
                (i, entry(&keys[i], format!("load {n}").as_bytes()))
            })
            .collect();
        v
    };
    for (i, e) in submit_batch(20) {
        let (s, b) = net.submit(i, &e).await;
        assert_eq!(s, 202, "{b}");
        acked.push(id_hex(&e));
    }
    // Kill node 3 while entries are in flight.
    net.kill(3);
    let h_kill = net.height(0).await;
    let t0 = Instant::now();
    for (i, e) in submit_batch(30) {
        let (s, b) = net.submit(i, &e).await;
        assert_eq!(s, 202, "{b}");
        acked.push(id_hex(&e));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    net.wait_height(&[0, 1, 2], h_kill + 5, Duration::from_secs(120)).await;
    eprintln!("3 of 4: 5 more heights after {:?}", t0.elapsed());
    for id in &acked {
        net.wait_committed(0, id, Duration::from_secs(120)).await;
    }

    // Restart node 3 from its data dir (sled + WAL): it syncs up.
    net.start(3);
    let target = net.height(0).await;
    let t1 = Instant::now();
    net.wait_height(&[3], target, Duration::from_secs(120)).await;
    eprintln!("restarted node caught up {target} heights after {:?}", t1.elapsed());
    for id in &acked {
        net.wait_committed(3, id, Duration::from_secs(30)).await;
    }
    for h in [1, h_kill, target] {
        let reference = net.block_hash(0, h).await;
        assert!(reference.is_some());
        for i in 1..4 {
            assert_eq!(net.block_hash(i, h).await, reference, "node {i} height {h}");
        }
    }
    // It takes part again: with it back, the network still commits while another node is down.
    net.kill(0);
    let h = net.height(1).await;
    net.wait_height(&[1, 2, 3], h + 3, Duration::from_secs(120)).await;
    let (a, b) = (net.health(1).await.unwrap(), net.health(3).await.unwrap());
    let hh = a["height"].as_u64().unwrap().min(b["height"].as_u64().unwrap());
    assert_eq!(net.block_hash(1, hh).await, net.block_hash(3, hh).await);

    // Whole-network restart: every node reopens sled, replays its blocks and continues.
    let before = net.health(1).await.unwrap();
    for i in 1..4 {
        net.kill(i);
    }
    net.start_all();
    let h_before = before["height"].as_u64().unwrap();
    net.wait_height(&[0, 1, 2, 3], h_before + 2, Duration::from_secs(120)).await;
    let reference = net.block_hash(1, h_before).await;
    for i in 0..4 {
        assert_eq!(net.block_hash(i, h_before).await, reference, "node {i} after full restart");
    }
    for id in acked.iter().step_by(7) {
        net.wait_committed(2, id, Duration::from_secs(5)).await;
    }
}

/// A node killed with -9 at a few thousand committed entries reopens its stored ledger at its
/// last committed height without replaying a block, then follows the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_after_kill_opens_the_stored_head_without_replay() {
    let mut net = TestNet::new(4, 0);
    net.start_all();
    net.wait_height(&[0, 1, 2, 3], 2, Duration::from_secs(120)).await;
    let keys = net.admins.clone();
    let total = 2000u32;
    let mut last = String::new();
    for chunk in 0..(total / 200) {
        let items: Vec<(usize, Vec<u8>)> = (0..200)
            .map(|k| {
                let n = chunk * 200 + k;
                let i = (n as usize) % 4;
                (i, entry(&keys[i], format!("restart {n}").as_bytes()))
            })
            .collect();
        for (s, b) in net.submit_many(&items).await {
            assert_eq!(s, 202, "{b}");
        }
        last = id_hex(&items[items.len() - 1].1);
    }
    net.wait_committed(3, &last, Duration::from_secs(300)).await;
    net.wait_log_size(&[3], u64::from(total), Duration::from_secs(300)).await;
    net.kill(3);
    let h_kill = net.height(0).await;
    let t0 = Instant::now();
    net.start(3);
    while net.health(3).await.is_none() {
        assert!(t0.elapsed() < Duration::from_secs(60), "no /health after restart\n{}", net.log(3));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let serving = t0.elapsed();
    eprintln!("restart to serving at {h_kill} heights / {total}+ entries: {serving:?}");
    let log = net.log(3);
    let opened: Vec<&str> =
        log.lines().filter(|l| l.contains("opened the stored ledger")).collect();
    assert_eq!(opened.len(), 2, "one open per start\n{log}");
    assert!(!opened[1].contains("height=0"), "the second start opened at its head: {}", opened[1]);
    assert!(!log.contains("replaying") && !log.contains("rebuilding it by replay"), "{log}");
    net.wait_height(&[3], h_kill + 2, Duration::from_secs(120)).await;
    assert_eq!(net.block_hash(3, h_kill).await, net.block_hash(0, h_kill).await);
}
