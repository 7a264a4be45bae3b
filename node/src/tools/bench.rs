//! Load generator (`certledger-node bench`): issuance anchors submitted at a fixed rate,
//! round-robin to a devnet's nodes, with per-entry commit latency taken from the committed
//! blocks and the disk growth of the nodes' data directories.
//!
//! Set-up (once per run): a credential type and an issuer key registered by a department admin.
//! Then `count` `AnchorIssuance` entries (random credential ids and commitments) are sent open
//! loop at `rate` per second (at most `max_in_flight` requests outstanding). A watcher polls the
//! first node's height and reads each new block; an entry's commit latency is the time from just
//! before its POST to when its block was first seen (50 ms polling granularity).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Context as _};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use certledger_core::api::{self, Health, SubmitRequest};
use certledger_core::codec::Encode as _;
use certledger_core::ledger::{AnchorIssuance, EntryBody, RegisterIssuer, SignedEntry};
use certledger_core::profiles;
use certledger_core::sig::SecretKey;
use serde_json::{json, Value};
use tokio::sync::Mutex;

use crate::tools::issuer::NodeClient;

/// Longest wait for one set-up entry (type, issuer) to commit.
const SETUP_WAIT: Duration = Duration::from_secs(60);

/// What to run.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// Node base URLs; submissions go round-robin, blocks are read from the first.
    pub urls: Vec<String>,
    /// A department admin key (registers the bench type and issuer).
    pub admin: SecretKey,
    /// That admin's department id.
    pub department: String,
    /// Entries to submit.
    pub count: usize,
    /// Target submissions per second (0 = as fast as `max_in_flight` allows).
    pub rate: f64,
    /// Most outstanding submissions.
    pub max_in_flight: usize,
    /// Data directories to measure (sled + WAL), if known.
    pub data_dirs: Vec<PathBuf>,
}

fn now_s() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Total size of the files under `dir`.
pub fn dir_bytes(dir: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else { return 0 };
    rd.flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted.get(rank.min(sorted.len() - 1)).copied().unwrap_or(0.0)
}

/// Timeout of one benchmark HTTP request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// Pause between two looks for new blocks by the commit watcher.
const WATCH_EVERY: Duration = Duration::from_millis(50);
/// Pause between two looks whether the mempool is drained.
const DRAIN_POLL_EVERY: Duration = Duration::from_millis(200);
/// Time left to the watcher to read the last blocks once the mempool is empty.
const LAST_BLOCKS_GRACE: Duration = Duration::from_millis(300);
/// A load level ends when the height has not moved for this long.
const STALL_LIMIT: Duration = Duration::from_secs(120);

async fn post(client: &reqwest::Client, base: &str, entry: &[u8]) -> anyhow::Result<u16> {
    let body = SubmitRequest { entry: URL_SAFE_NO_PAD.encode(entry) };
    Ok(client.post(format!("{base}/v1/entries")).json(&body).send().await?.status().as_u16())
}

/// Runs one load level and returns its JSON report.
pub async fn run(cfg: &BenchConfig) -> anyhow::Result<Value> {
    let base = cfg.urls.first().ok_or_else(|| anyhow!("no node URL"))?.clone();
    let client = crate::tools::client::http_builder()?
        .timeout(REQUEST_TIMEOUT)
        .pool_max_idle_per_host(cfg.max_in_flight.max(1))
        .build()?;
    let chain_id = health(&client, &base).await?.chain_id;

    // Set-up: a type and an issuer for this run.
    let run_id: u64 = rand::random();
    let mut ty = profiles::register_type(&profiles::BUSINESS_LICENCE);
    ty.type_id = format!("bench-{run_id:016x}");
    let issuer = SecretKey::generate(&mut rand::rngs::OsRng);
    let t = now_s();
    let setup = [
        SignedEntry::sign(&cfg.admin, &chain_id, EntryBody::RegisterType(ty.clone())),
        SignedEntry::sign(
            &cfg.admin,
            &chain_id,
            EntryBody::RegisterIssuer(RegisterIssuer {
                department: cfg.department.clone(),
                issuer_key: issuer.public_key(),
                types: vec![ty.type_id.clone()],
                valid_from: t.saturating_sub(60),
                valid_until: t + 86_400,
                name_zh: "压测签发".into(),
                name_en: "Benchmark issuer".into(),
            }),
        ),
    ];
    let node = NodeClient::new(&base, SETUP_WAIT)?;
    for e in &setup {
        node.submit_and_wait(e).await.context("set-up entry")?;
    }

    let entries: Vec<([u8; 32], Vec<u8>)> = (0..cfg.count)
        .map(|_| {
            let mut r = [[0u8; 32]; 2];
            let mut nonce = [0u8; 16];
            for x in &mut r {
                rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, x);
            }
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
            let [credential_id, commitment] = r;
            let e = SignedEntry::sign(
                &issuer,
                &chain_id,
                EntryBody::AnchorIssuance(AnchorIssuance {
                    credential_id,
                    type_id: ty.type_id.clone(),
                    commitment,
                    nonce,
                }),
            );
            (e.id(), e.to_bytes())
        })
        .collect();
    let sent: Arc<Mutex<BTreeMap<[u8; 32], Instant>>> = Arc::new(Mutex::new(BTreeMap::new()));
    let disk_before: u64 = cfg.data_dirs.iter().map(|d| dir_bytes(d)).sum();
    let start_height = health_height(&client, &base).await?;

    // Watcher: new blocks on the first node → commit times.
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let (client, base, sent, done) = (client.clone(), base.clone(), sent.clone(), done.clone());
        tokio::spawn(async move {
            let mut latencies: Vec<f64> = Vec::new();
            let mut committed_at: Vec<Instant> = Vec::new();
            let mut next = start_height + 1;
            let mut blocks = 0u64;
            loop {
                let top = health_height(&client, &base).await.unwrap_or(0);
                while next <= top {
                    let Ok(r) = client.get(format!("{base}/v1/blocks/{next}")).send().await else {
                        break;
                    };
                    let Ok(b) = r.json::<api::Block>().await else { break };
                    let seen = Instant::now();
                    blocks += 1;
                    let sent = sent.lock().await;
                    for e in &b.entries {
                        let Ok(bytes) = URL_SAFE_NO_PAD.decode(e) else { continue };
                        let Some(id) = crate::server::exec::entry_id(&bytes) else { continue };
                        if let Some(t0) = sent.get(&id) {
                            latencies.push(seen.duration_since(*t0).as_secs_f64() * 1000.0);
                            committed_at.push(seen);
                        }
                    }
                    next += 1;
                }
                if done.load(std::sync::atomic::Ordering::SeqCst) {
                    return (latencies, committed_at, blocks);
                }
                tokio::time::sleep(WATCH_EVERY).await;
            }
        })
    };

    // Open-loop submission at the target rate.
    let t0 = Instant::now();
    let sem = Arc::new(tokio::sync::Semaphore::new(cfg.max_in_flight.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (k, (id, bytes)) in entries.into_iter().enumerate() {
        if cfg.rate > 0.0 {
            let due = t0 + Duration::from_secs_f64(k as f64 / cfg.rate);
            tokio::time::sleep_until(due.into()).await;
        }
        let permit = sem.clone().acquire_owned().await?;
        let url = cfg.urls.get(k % cfg.urls.len()).cloned().unwrap_or_else(|| base.clone());
        let (client, sent) = (client.clone(), sent.clone());
        tasks.spawn(async move {
            sent.lock().await.insert(id, Instant::now());
            let ok = matches!(post(&client, &url, &bytes).await, Ok(202));
            if !ok {
                sent.lock().await.remove(&id);
            }
            drop(permit);
            ok
        });
    }
    let mut accepted = 0usize;
    while let Some(r) = tasks.join_next().await {
        if r.unwrap_or(false) {
            accepted += 1;
        }
    }
    let submit_s = t0.elapsed().as_secs_f64();

    // Wait until every accepted entry is seen committed (or 120 s without progress).
    let mut last_progress = Instant::now();
    let mut last_height = 0;
    loop {
        tokio::time::sleep(DRAIN_POLL_EVERY).await;
        let h = health_height(&client, &base).await.unwrap_or(0);
        if h != last_height {
            last_height = h;
            last_progress = Instant::now();
        }
        let mempool = health(&client, &base).await?.mempool;
        if mempool == 0 && h > start_height {
            // Let the watcher read the last blocks.
            tokio::time::sleep(LAST_BLOCKS_GRACE).await;
            break;
        }
        if last_progress.elapsed() > STALL_LIMIT {
            break;
        }
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let (mut latencies, committed_at, blocks) = watcher.await.map_err(|_| anyhow!("watcher"))?;
    latencies.sort_by(f64::total_cmp);
    let committed = latencies.len();
    let last_commit = committed_at.iter().max().copied().unwrap_or(t0);
    let span = last_commit.duration_since(t0).as_secs_f64().max(1e-3);
    let disk_after: u64 = cfg.data_dirs.iter().map(|d| dir_bytes(d)).sum();
    let nodes = cfg.data_dirs.len().max(1) as f64;
    let disk_per_entry = if committed > 0 && !cfg.data_dirs.is_empty() {
        Some((disk_after.saturating_sub(disk_before)) as f64 / nodes / committed as f64)
    } else {
        None
    };
    Ok(json!({
        "target_rate_per_s": cfg.rate,
        "count": cfg.count,
        "accepted": accepted,
        "committed": committed,
        "submit_s": round2(submit_s),
        "accepted_per_s": round2(accepted as f64 / submit_s.max(1e-3)),
        "committed_per_s": round2(committed as f64 / span),
        "p50_commit_ms": round2(percentile(&latencies, 50.0)),
        "p99_commit_ms": round2(percentile(&latencies, 99.0)),
        "max_commit_ms": round2(latencies.last().copied().unwrap_or(0.0)),
        "blocks": blocks,
        "entries_per_block": round2(committed as f64 / (blocks.max(1) as f64)),
        "disk_bytes_per_entry": disk_per_entry.map(|d| d.round()),
    }))
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

async fn health(client: &reqwest::Client, base: &str) -> anyhow::Result<Health> {
    Ok(client.get(format!("{base}/health")).send().await?.error_for_status()?.json().await?)
}

async fn health_height(client: &reqwest::Client, base: &str) -> anyhow::Result<u64> {
    Ok(health(client, base).await?.height)
}
