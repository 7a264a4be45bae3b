//! Storage faults and clock offset on real processes (issue #12, `specs/faults.md`, "Storage
//! and clock"). Four validators; node 3 runs with a fault plan (`CERTLEDGER_FAULTS`, read only
//! by the `fault-injection` test build this crate's tests link against) while nodes 0-2 stay
//! healthy under steady client load. Each scenario asserts agreement (same block hash, log root
//! and state root at every height any two nodes committed) and that every entry a node
//! acknowledged (202) is committed on all four nodes at the end. Figures are printed with the
//! prefix `STOREFAULTS`.
//!
//! The scenarios run one at a time (a lock): two devnets at once would starve a small CI
//! machine.
#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

mod common;

use std::os::unix::process::ExitStatusExt as _;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use common::proxy::{heights, missing_after, Agreement, Load};
use common::TestNet;

const ALL: [usize; 4] = [0, 1, 2, 3];
const HEALTHY: [usize; 3] = [0, 1, 2];
const FAULTS_ENV: &str = certledger_node::server::faults::FAULTS_ENV;
/// `SIGABRT`: what `std::process::abort` ends the process with.
const SIGABRT: i32 = 6;

/// One devnet at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A four-validator devnet: nodes 0-2 plain, node 3 with fault plan `plan`; past height 2 on
/// nodes 0-2.
async fn started(plan: &str) -> TestNet {
    let mut net = TestNet::new(4, 0);
    for i in HEALTHY {
        net.start(i);
    }
    net.start_env(3, &[(FAULTS_ENV, plan)]);
    net.wait_height(&HEALTHY, 2, Duration::from_secs(120)).await;
    net
}

/// Waits until node 3 exits by itself while nodes 0-2 run on, checking agreement meanwhile.
/// Returns its status and the time from the healthy nodes reaching `fault_height` to the exit
/// (polled every 100 ms; zero when node 3 stopped before their `/health` showed the height).
async fn wait_stop(
    net: &mut TestNet,
    a: &mut Agreement,
    fault_height: u64,
) -> (ExitStatus, Duration) {
    let t0 = Instant::now();
    let mut reached: Option<Instant> = None;
    loop {
        if let Some(status) = net.children[3].as_mut().unwrap().try_wait().unwrap() {
            net.children[3] = None;
            let since = reached.map_or(Duration::ZERO, |r| r.elapsed());
            return (status, since);
        }
        if reached.is_none() && net.height(0).await >= fault_height {
            reached = Some(Instant::now());
        }
        a.poll(net, &HEALTHY).await.unwrap();
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "node 3 did not stop in 120 s (fault at height {fault_height})\n{}",
            net.log(3)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The height node 3's last start opened its stored ledger at (its log line).
fn opened_height(net: &TestNet, i: usize) -> u64 {
    let log = net.log(i);
    let line = log
        .lines()
        .rfind(|l| l.contains("opened the stored ledger"))
        .unwrap_or_else(|| panic!("no open in the log of node {i}\n{log}"));
    let at = line.find("height=").unwrap_or_else(|| panic!("no height in `{line}`")) + 7;
    line[at..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap()
}

/// Stops node `i` (SIGKILL) and re-executes its whole store from genesis
/// (`certledger-node verify-store`): every stored block applies and matches its header, and the
/// stored ledger head is the result. Returns the verified height.
fn verify_store(net: &mut TestNet, i: usize) -> u64 {
    net.kill(i);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_certledger-node"))
        .args(["verify-store", "--config"])
        .arg(&net.configs[i])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "verify-store: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    let h = stdout.trim().rsplit(' ').next().unwrap().parse().unwrap();
    assert!(h >= 5, "verified only to height {h}");
    h
}

/// Starts node 3 again (with `plan`, or none) and waits until it serves `/health`; returns the
/// time to serving.
async fn restart(net: &mut TestNet, plan: Option<&str>) -> Duration {
    let t0 = Instant::now();
    match plan {
        Some(p) => net.start_env(3, &[(FAULTS_ENV, p)]),
        None => net.start(3),
    }
    while net.health(3).await.is_none() {
        assert!(t0.elapsed() < Duration::from_secs(60), "no /health after restart\n{}", net.log(3));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    t0.elapsed()
}

/// Node 3 restarts without faults and catches up; then every acknowledged entry must be on all
/// four nodes, and all four agree up to a common height at or above the healthy nodes' height
/// at the restart. Returns the catch-up time.
async fn rejoin_and_settle(net: &mut TestNet, a: &mut Agreement, load: Load, name: &str) {
    let target = net.height(0).await;
    let from = net.height(3).await;
    let t0 = Instant::now();
    net.wait_height(&[3], target, Duration::from_secs(120)).await;
    let caught_up = t0.elapsed();
    let unacked = load.unacked.load(std::sync::atomic::Ordering::Relaxed);
    let acked = load.stop().await;
    let ids: Vec<String> = acked.iter().map(|e| e.id.clone()).collect();
    assert!(ids.len() >= 20, "{name}: only {} entries acknowledged", ids.len());
    let missing = missing_after(net, &ALL, &ids, Duration::from_secs(60)).await;
    assert!(
        missing.is_empty(),
        "{name}: {} of {} acknowledged entries missing (node, id): {:?}",
        missing.len(),
        ids.len(),
        &missing[..missing.len().min(10)]
    );
    a.poll(net, &ALL).await.unwrap();
    let common = a.common_height(&ALL);
    assert!(common >= target, "{name}: common height {common} below {target}");
    let log = net.log(3);
    assert!(!log.contains("replaying") && !log.contains("rebuilding it by replay"), "{log}");
    eprintln!(
        "STOREFAULTS {name}: node 3 caught up from {from} to {target} in {:.1} s; {} entries \
         acknowledged ({unacked} not), all committed on all 4; agreement on {} heights up to \
         {common}",
        caught_up.as_secs_f64(),
        ids.len(),
        a.heights()
    );
}

/// A full disk, then write errors, on one of four validators under load: each time it stops
/// with exit 74 and a clear message, its store opens again at the last block it wrote, the
/// other three keep committing; once space returns (restart without the fault) it catches up
/// and nothing acknowledged is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_and_write_errors_stop_one_node_cleanly_and_it_rejoins() {
    let _serial = SERIAL.lock().await;
    let mut net = started("no_space=5").await;
    let mut a = Agreement::default();
    let load = Load::start(&net, &HEALTHY, Duration::from_millis(200), "disk");

    // Full disk at height 5.
    let (status, stop) = wait_stop(&mut net, &mut a, 5).await;
    let log = net.log(3);
    assert_eq!(status.code(), Some(74), "{status:?}\n{log}");
    assert!(log.contains("fault injection armed"), "{log}");
    assert!(
        log.contains("storage write failed") && log.contains("no space left on device"),
        "{log}"
    );
    let h_stop = net.height(0).await;
    net.wait_height(&HEALTHY, h_stop + 4, Duration::from_secs(60)).await;
    eprintln!(
        "STOREFAULTS no_space: node 3 exited 74 {:.1} s (100 ms polling) after the others reached height 5; \
         nodes 0-2 went on from {h_stop} to {:?}",
        stop.as_secs_f64(),
        heights(&net, &HEALTHY).await
    );

    // Write errors: it opens at height 4 (the last block written), syncs and fails again.
    let h_err = net.height(0).await + 3;
    let serving = restart(&mut net, Some(&format!("write_error={h_err}"))).await;
    assert_eq!(opened_height(&net, 3), 4, "{}", net.log(3));
    let (status, stop) = wait_stop(&mut net, &mut a, h_err).await;
    let log = net.log(3);
    assert_eq!(status.code(), Some(74), "{status:?}\n{log}");
    assert!(log.contains("input/output error (injected fault)"), "{log}");
    eprintln!(
        "STOREFAULTS write_error: serving {:.2} s after restart; exited 74 {:.1} s after the \
         others reached height {h_err}",
        serving.as_secs_f64(),
        stop.as_secs_f64()
    );

    // Space returns after the others went 10 heights on: a plain restart opens at the block
    // before the fault and catches up.
    let h_down = net.height(0).await;
    net.wait_height(&HEALTHY, h_down + 10, Duration::from_secs(60)).await;
    restart(&mut net, None).await;
    assert_eq!(opened_height(&net, 3), h_err - 1, "{}", net.log(3));
    rejoin_and_settle(&mut net, &mut a, load, "disk").await;
    let h = verify_store(&mut net, 3);
    eprintln!("STOREFAULTS disk: node 3's store re-executed from genesis to height {h}");
}

/// kill -9 at each chosen point of the block write (failpoints, not luck): the process aborts
/// there, reopens its store at the last block on disk without a replay, and rejoins; nothing
/// acknowledged is lost and nothing forks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborting_at_each_point_of_the_block_write_loses_nothing() {
    let _serial = SERIAL.lock().await;
    let mut net = started("abort_before_transaction=4").await;
    let mut a = Agreement::default();
    let load = Load::start(&net, &HEALTHY, Duration::from_millis(200), "abort");
    let mut fault_height = 4;
    let plans = ["abort_after_transaction", "abort_after_flush"];
    for k in 0..=plans.len() {
        let (status, stop) = wait_stop(&mut net, &mut a, fault_height).await;
        let log = net.log(3);
        assert_eq!(status.signal(), Some(SIGABRT), "{status:?}\n{log}");
        assert!(log.contains("failpoint: aborting the process"), "{log}");
        let point = if k == 0 { "abort_before_transaction" } else { plans[k - 1] };
        let next = plans.get(k).copied();
        let next_height = net.height(0).await + 3;
        let serving = match next {
            Some(p) => restart(&mut net, Some(&format!("{p}={next_height}"))).await,
            None => restart(&mut net, None).await,
        };
        let opened = opened_height(&net, 3);
        // Before the transaction nothing of the block is written; after the flush all of it
        // is. Between the transaction and the flush the block is there or not as a whole
        // (sled's transaction is atomic; sled may have flushed on its own).
        let expected: &[u64] = match point {
            "abort_before_transaction" => &[fault_height - 1],
            "abort_after_transaction" => &[fault_height - 1, fault_height],
            _ => &[fault_height],
        };
        assert!(expected.contains(&opened), "{point}={fault_height}: opened at {opened}");
        eprintln!(
            "STOREFAULTS {point}={fault_height}: aborted {:.1} s (100 ms polling) after the others reached it; \
             reopened at height {opened}, serving {:.2} s after restart",
            stop.as_secs_f64(),
            serving.as_secs_f64()
        );
        fault_height = next_height;
    }
    rejoin_and_settle(&mut net, &mut a, load, "abort").await;
    let h = verify_store(&mut net, 3);
    eprintln!("STOREFAULTS abort: node 3's store re-executed from genesis to height {h}");
}

/// The blocks `from..=to` as node `i` serves them: `(height, time, proposer hex)`.
async fn block_times(net: &TestNet, i: usize, from: u64, to: u64) -> Vec<(u64, u64, String)> {
    let mut out = Vec::new();
    for h in from..=to {
        let (s, b) = net.get(i, &format!("/v1/blocks/{h}")).await;
        assert_eq!(s, 200, "block {h} on node {i}: {b}");
        let time = b["header"]["time"].as_u64().unwrap();
        out.push((h, time, b["header"]["proposer"].as_str().unwrap().to_owned()));
    }
    out
}

fn unix_now_s() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// Watches `d` of a clock phase: agreement among the nodes that serve, and the heights before
/// and after.
async fn clock_phase(net: &TestNet, a: &mut Agreement, d: Duration) -> (Vec<u64>, Vec<u64>) {
    let before = heights(net, &ALL).await;
    let t0 = Instant::now();
    while t0.elapsed() < d {
        a.poll(net, &ALL).await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    (before, heights(net, &ALL).await)
}

/// One validator's wall clock 60 s ahead, then 60 s behind (`MAX_CLOCK_DRIFT_S` is 30 s): the
/// network keeps committing and agrees. Ahead, the node's proposals carry a block time 60 s in
/// the future and the others refuse them (bounded drift check), so no block it proposed is
/// committed and no committed block time is ahead of the real clock; it still follows and
/// votes. Behind, it refuses the others' live proposals as too far ahead, votes nil and
/// follows by sync; its own proposals carry its parent's time (block times never go back).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_its_clock_60_s_off_does_not_stop_or_fork_the_others() {
    let _serial = SERIAL.lock().await;
    let mut net = started("clock_offset_ms=60000").await;
    net.wait_height(&ALL, 2, Duration::from_secs(60)).await;
    let node3 = hex::encode(net.keys[3].public_key().0);
    let mut a = Agreement::default();
    let load = Load::start(&net, &HEALTHY, Duration::from_millis(250), "clock");
    let skewed = Load::start(&net, &[3], Duration::from_millis(1000), "clock-skewed");

    // Ahead.
    let (before, after) = clock_phase(&net, &mut a, Duration::from_secs(25)).await;
    for i in ALL {
        assert!(after[i] >= before[i] + 5, "ahead: node {i} stalled: {before:?} -> {after:?}");
    }
    let blocks = block_times(&net, 0, before[0].max(1), after[0]).await;
    let now = unix_now_s();
    for (h, time, proposer) in &blocks {
        assert!(*time <= now, "ahead: block {h} has time {time}, real clock {now}");
        assert_ne!(proposer, &node3, "ahead: block {h} proposed by the node 60 s ahead");
    }
    eprintln!(
        "STOREFAULTS clock +60 s: heights {before:?} -> {after:?} in 25 s; none of {} blocks \
         proposed by node 3, none dated ahead of the real clock",
        blocks.len()
    );
    let skewed_ahead = skewed.stop().await;

    // Behind.
    net.kill(3);
    restart(&mut net, Some("clock_offset_ms=-60000")).await;
    let skewed = Load::start(&net, &[3], Duration::from_millis(1000), "clock-behind");
    let (before, after) = clock_phase(&net, &mut a, Duration::from_secs(25)).await;
    for i in ALL {
        assert!(after[i] >= before[i] + 5, "behind: node {i} stalled: {before:?} -> {after:?}");
    }
    let blocks = block_times(&net, 0, 1, after[0]).await;
    for w in blocks.windows(2) {
        assert!(w[1].1 >= w[0].1, "block time went back at height {}: {:?}", w[1].0, w);
    }
    let by_3 = blocks.iter().filter(|(h, _, p)| *h > before[0] && *p == node3).count();
    eprintln!(
        "STOREFAULTS clock -60 s: heights {before:?} -> {after:?} in 25 s; {by_3} blocks \
         proposed by node 3; block times monotone over {} heights",
        blocks.len()
    );
    let skewed_behind = skewed.stop().await;

    // Clock fixed: it catches up; everything the healthy nodes acknowledged is everywhere.
    net.kill(3);
    restart(&mut net, None).await;
    rejoin_and_settle(&mut net, &mut a, load, "clock").await;
    // What the skewed node itself acknowledged is not lost either: its signed batches are
    // refused (clocks 60 s apart, `PEER_AUTH_WINDOW_S` is 30 s), so it hands them to the peers'
    // public submission endpoint; ahead, its own proposals never commit, so that is the only way.
    for (phase, acked) in [("ahead", &skewed_ahead), ("behind", &skewed_behind)] {
        let ids: Vec<String> = acked.iter().map(|e| e.id.clone()).collect();
        assert!(ids.len() >= 10, "{phase}: only {} entries acknowledged by node 3", ids.len());
        let missing = missing_after(&net, &ALL, &ids, Duration::from_secs(30)).await;
        assert!(
            missing.is_empty(),
            "{phase}: {} of {} entries acknowledged by node 3 missing: {:?}",
            missing.len(),
            ids.len(),
            &missing[..missing.len().min(10)]
        );
        eprintln!(
            "STOREFAULTS clock {phase}: {} entries acknowledged by node 3, all committed on all 4",
            ids.len()
        );
    }
}
