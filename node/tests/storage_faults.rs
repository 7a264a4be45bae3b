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
/// Returns its status and the time from the healthy nodes reaching `fault_height` to the exit.
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
    assert!(log.contains("storage write failed") && log.contains("no space left on device"), "{log}");
    let h_stop = net.height(0).await;
    net.wait_height(&HEALTHY, h_stop + 4, Duration::from_secs(60)).await;
    eprintln!(
        "STOREFAULTS no_space: node 3 exited 74 {:.2} s after the others reached height 5; \
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
        "STOREFAULTS write_error: serving {:.2} s after restart; exited 74 {:.2} s after the \
         others reached height {h_err}",
        serving.as_secs_f64(),
        stop.as_secs_f64()
    );

    // Space returns: a plain restart opens at the block before the fault and catches up.
    restart(&mut net, None).await;
    assert_eq!(opened_height(&net, 3), h_err - 1, "{}", net.log(3));
    rejoin_and_settle(&mut net, &mut a, load, "disk").await;
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
            "STOREFAULTS {point}={fault_height}: aborted {:.2} s after the others reached it; \
             reopened at height {opened}, serving {:.2} s after restart",
            stop.as_secs_f64(),
            serving.as_secs_f64()
        );
        fault_height = next_height;
    }
    rejoin_and_settle(&mut net, &mut a, load, "abort").await;
}
