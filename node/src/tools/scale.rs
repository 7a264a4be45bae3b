//! Scale mode of `certledger-node bench` (`--scale`): grows one node's ledger in process through
//! the node's own write path and prints one JSON object per ledger size.
//!
//! Per block of `block_entries` `AnchorIssuance` entries: the load generator signs them (not
//! timed, not counted), then the node part is timed: each entry's arrival check (decode and
//! `verify_strict`, recorded in the signature cache, as the HTTP path does), execution on an
//! overlay of the committed state (`Executor::execute`), the sled transaction that stores the
//! block with the ledger's write set (`Store::put_decided`), and the move of the head
//! (`Executor::adopt`). Consensus, networking and the other validators are not part of it: this
//! measures the storage and execution cost of one node as the ledger grows. CPU is the
//! process's user+system time (`/proc/self/stat`) over the node part only, so the generator's
//! signing is not counted; it includes sled's background threads.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, Context as _};
use certledger_core::codec::Encode as _;
use certledger_core::ledger::{
    AnchorIssuance, Department, EntryBody, Genesis, RegisterIssuer, SignedEntry,
};
use certledger_core::profiles;
use certledger_core::sig::SecretKey;
use serde_json::{json, Value};

use crate::server::chain::entries_root;
use crate::server::codec::StoredCertificate;
use crate::server::context::{Block, BlockHeader};
use crate::server::exec::{self, CoreLedger, Executor as _, SigCache};
use crate::server::store::{SledStore, Store as _};
use crate::tools::bench::dir_bytes;

const CHAIN: &str = "certledger-scale";
const T0: u64 = 1_000_000;

/// Resident set size of this process, bytes (Linux; 0 elsewhere).
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// User + system CPU time of this process, microseconds (Linux; 0 elsewhere).
fn cpu_us() -> u64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return 0 };
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let Some(rest) = stat.rsplit(')').next() else { return 0 };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // utime and stime are fields 14 and 15 of stat, 12 and 13 here; clock ticks are 100 Hz.
    (ticks(11) + ticks(12)) * 10_000
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted.get(rank.min(sorted.len() - 1)).copied().unwrap_or(0.0)
}

/// Microseconds of one `verify_strict` of a signed entry, averaged over 2,000.
fn ed25519_verify_us() -> f64 {
    let key = SecretKey::from_seed(&[7; 32]);
    let e = SignedEntry::sign(
        &key,
        CHAIN,
        EntryBody::RegisterType(profiles::register_type(&profiles::BUSINESS_LICENCE)),
    );
    let n = 2_000;
    let t = Instant::now();
    for _ in 0..n {
        let _ = std::hint::black_box(e.verify_signature(CHAIN));
    }
    t.elapsed().as_secs_f64() * 1e6 / f64::from(n)
}

struct Node {
    ledger: CoreLedger<SledStore>,
    store: SledStore,
    sigs: Arc<SigCache>,
    last_time: u64,
}

impl Node {
    fn open(dir: &Path, genesis: &Genesis) -> anyhow::Result<Self> {
        let store = SledStore::open(dir).context("opening sled")?;
        let sigs = Arc::new(SigCache::default());
        let ledger = CoreLedger::open(genesis, store.clone(), sigs.clone())
            .map_err(|e| anyhow!("opening the ledger: {e}"))?;
        Ok(Self { ledger, store, sigs, last_time: T0 })
    }

    /// Commits one block through the node's path; returns its duration in ms.
    fn commit(&mut self, entries: Vec<Vec<u8>>) -> anyhow::Result<f64> {
        let t = Instant::now();
        for e in &entries {
            exec::precheck(e, CHAIN).map_err(|e| anyhow!("entry refused: {e}"))?;
            self.sigs.insert(e);
        }
        let height = self.ledger.ledger().height() + 1;
        self.last_time += 1;
        let ex = self
            .ledger
            .execute(height, self.last_time, &entries)
            .map_err(|e| anyhow!("block {height}: {e}"))?;
        let out = ex.outcome();
        let header = BlockHeader {
            chain_id: CHAIN.into(),
            height,
            prev_block_hash: [0; 32],
            time: self.last_time,
            proposer: [1; 32],
            entries_root: entries_root(&entries),
            log_size: out.log_size,
            log_root: out.log_root,
            state_root: out.state_root,
            validators_hash: [0; 32],
            next_validators_hash: [0; 32],
        };
        let cert = StoredCertificate {
            height,
            round: 0,
            value_id: header.hash().0,
            signatures: vec![([1; 32], vec![2; 64])],
        };
        let block = Block { header, entries };
        self.store.put_decided(&block, &cert, Some(ex.changes()))?;
        self.ledger.adopt(&ex).map_err(|e| anyhow!("adopt: {e}"))?;
        Ok(t.elapsed().as_secs_f64() * 1e3)
    }
}

/// Grows a ledger in `dir` to each of `sizes` entries in blocks of `block_entries`, printing one
/// JSON object per size.
pub fn run(dir: &Path, sizes: &[u64], block_entries: usize) -> anyhow::Result<Vec<Value>> {
    let admin = SecretKey::from_seed(&[1; 32]);
    let genesis = Genesis {
        chain_id: CHAIN.into(),
        genesis_time: T0,
        departments: vec![Department {
            id: "public-security".into(),
            name_zh: "公安部".into(),
            name_en: "Ministry of Public Security".into(),
            node_key: SecretKey::from_seed(&[2; 32]).public_key(),
            admin_keys: vec![admin.public_key()],
        }],
    };
    let mut node = Node::open(dir, &genesis)?;
    let ty = profiles::register_type(&profiles::BUSINESS_LICENCE);
    let issuer = SecretKey::from_seed(&[3; 32]);
    let setup = vec![
        SignedEntry::sign(&admin, CHAIN, EntryBody::RegisterType(ty.clone())).to_bytes(),
        SignedEntry::sign(
            &admin,
            CHAIN,
            EntryBody::RegisterIssuer(RegisterIssuer {
                department: "public-security".into(),
                issuer_key: issuer.public_key(),
                types: vec![ty.type_id.clone()],
                valid_from: T0,
                valid_until: T0 + 1_000_000_000,
                name_zh: "规模测试".into(),
                name_en: "Scale benchmark".into(),
            }),
        )
        .to_bytes(),
    ];
    node.commit(setup)?;
    let verify_us = ed25519_verify_us();
    let mut n: u64 = 0;
    let mut out = Vec::new();
    let mut sorted: Vec<u64> = sizes.to_vec();
    sorted.sort_unstable();
    for target in sorted {
        let mut times = Vec::new();
        let mut node_cpu = 0u64;
        let mut node_wall = 0.0f64;
        let mut counted = 0u64;
        // Grow to the target, then measure over at least 20 blocks at that size.
        let measure_from = target;
        let goal = target + 20 * block_entries as u64;
        while n < goal {
            let k = (block_entries as u64).min(goal - n);
            let entries: Vec<Vec<u8>> = (0..k)
                .map(|i| {
                    let mut id = [0u8; 32];
                    id[..8].copy_from_slice(&(n + i).to_be_bytes());
                    let credential_id: [u8; 32] = certledger_core::smt::value_hash(&id);
                    SignedEntry::sign(
                        &issuer,
                        CHAIN,
                        EntryBody::AnchorIssuance(AnchorIssuance {
                            credential_id,
                            type_id: ty.type_id.clone(),
                            commitment: certledger_core::smt::value_hash(&credential_id),
                            nonce: [0; 16],
                        }),
                    )
                    .to_bytes()
                })
                .collect();
            let c0 = cpu_us();
            let ms = node.commit(entries)?;
            let c1 = cpu_us();
            if n >= measure_from {
                times.push(ms);
                node_cpu += c1.saturating_sub(c0);
                node_wall += ms;
                counted += k;
            }
            n += k;
        }
        times.sort_by(f64::total_cmp);
        let disk = dir_bytes(dir);
        let rss = rss_bytes();
        // Restart: drop the node, reopen sled and the ledger at its head.
        drop(node);
        let t = Instant::now();
        node = Node::open(dir, &genesis)?;
        node.last_time = T0 + 1 + n;
        let _ = node.ledger.outcome();
        let restart_s = t.elapsed().as_secs_f64();
        let report = json!({
            "mode": "scale-in-process",
            "ledger_entries": target,
            "measured_entries": counted,
            "block_entries": block_entries,
            "committed_per_s": (counted as f64) / (node_wall / 1e3).max(1e-9),
            "p50_commit_ms": percentile(&times, 50.0),
            "p99_commit_ms": percentile(&times, 99.0),
            "rss_bytes_per_node": rss,
            "restart_to_serving_s": restart_s,
            "disk_bytes_per_entry": disk as f64 / (n.max(1) as f64),
            "cpu_us_per_entry_per_node": node_cpu as f64 / (counted.max(1) as f64),
            "ed25519_verify_us": verify_us,
            "state_sync_join_s": Value::Null,
        });
        println!("{report}");
        out.push(report);
    }
    Ok(out)
}
