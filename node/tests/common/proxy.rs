//! Network fault harness for a devnet of real node processes.
//!
//! Every directed peer link goes through a userspace TCP proxy on 127.0.0.1 owned by the test:
//! node `i`'s `persistent_peers` entry for node `j` is the address of proxy `p2p[i][j]` (with
//! node `j`'s `/p2p/<peer id>`), and its `peer_http` entry for `j` is proxy `http[i][j]`. No node
//! config names another node's real address, libp2p discovery is off in the node, and
//! `persistent_peers_only` refuses everyone else, so all consensus, sync, entry-forwarding and
//! cosignature traffic crosses a proxy (the `isolated_node_*` scenario checks it: an isolated
//! node makes no progress and the proxy byte counters stop).
//!
//! Each proxied TCP connection carries two byte directions. A [`Fault`] applies to the bytes
//! one node sends to another ([`FaultNet::set`]), on every connection between the two, whoever
//! dialled it:
//! - `cut: Blackhole`: bytes stop (the connection stays open; after at most 64 chunks, 1 MiB,
//!   are queued the proxy stops reading, so the sender's socket buffers fill; new connections are
//!   accepted and held unconnected). This is a silent drop of every packet: TCP retransmits until
//!   heal. On heal the held bytes flow.
//! - `cut: Reset`: every open connection between the two nodes is closed and new ones are closed
//!   at once (a firewall answering with resets); the nodes redial after heal.
//! - `delay` and `jitter`: each chunk read (at most 16 KiB) is written `delay ± jitter` (uniform)
//!   later, never before the chunk ahead of it: TCP delivers bytes in order, so jitter cannot
//!   reorder, it bunches.
//! - `loss` (probability `p`): TCP never loses bytes, it retransmits them, so a lost segment
//!   shows up as head-of-line delay. Each chunk is "lost" with probability `p` and then delivered
//!   one retransmission timeout late, `RTO = max(200 ms, 2·(delay + jitter))` (Linux's minimum
//!   RTO, or twice the worst one-way delay); a chunk lost again (probability `p` per retry)
//!   waits twice as long again (exponential backoff). Nothing is corrupted or dropped.
//!
//! Randomness (jitter, loss) comes from a seeded generator per connection direction, so fault
//! *schedules* replay from a seed; byte timing on a shared machine does not.
#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::TestNet;

/// How a partition stops bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// Bytes stop; connections stay open and new ones are held (packets silently dropped).
    Blackhole,
    /// Connections are closed and new ones closed at once (packets answered with resets).
    Reset,
}

/// The fault on one direction of a link. `Fault::default()` is a healthy link.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Fault {
    /// A partition, if any.
    pub cut: Option<Cut>,
    /// One-way delay added to every chunk.
    pub delay: Duration,
    /// Uniform jitter around `delay` (`delay ± jitter`).
    pub jitter: Duration,
    /// Probability that a chunk is "lost" and retransmitted after a timeout (see module docs).
    pub loss: f64,
}

impl Fault {
    /// A partition of kind `cut`.
    pub fn cut(cut: Cut) -> Self {
        Self { cut: Some(cut), ..Self::default() }
    }

    /// Delay, jitter and loss without a partition.
    pub fn lag(delay_ms: u64, jitter_ms: u64, loss: f64) -> Self {
        Self {
            cut: None,
            delay: Duration::from_millis(delay_ms),
            jitter: Duration::from_millis(jitter_ms),
            loss,
        }
    }
}

/// Counters of one proxy (one dialling node towards one target).
#[derive(Debug, Default)]
pub struct LinkStats {
    /// Bytes written from the dialler to the target.
    pub bytes_forward: AtomicU64,
    /// Bytes written from the target back to the dialler.
    pub bytes_back: AtomicU64,
    /// Connections accepted.
    pub connections: AtomicU64,
    /// Chunks delayed by a simulated retransmission.
    pub retransmits: AtomicU64,
}

/// A TCP proxy from a fresh 127.0.0.1 port to `target`, with one fault control per direction.
pub struct LinkProxy {
    /// Where the dialling node connects.
    pub listen: SocketAddr,
    forward: watch::Sender<Fault>,
    back: watch::Sender<Fault>,
    /// Byte and connection counters.
    pub stats: Arc<LinkStats>,
    task: tokio::task::JoinHandle<()>,
}

impl LinkProxy {
    /// Forwards every connection accepted on `listener` (a 127.0.0.1 socket bound before the
    /// nodes chose their ports, so that none of them can take it) to `target`.
    pub fn start(listener: std::net::TcpListener, target: SocketAddr, seed: u64) -> Self {
        assert!(target.ip().is_loopback(), "fault proxies only forward to 127.0.0.1");
        listener.set_nonblocking(true).unwrap();
        let listener = TcpListener::from_std(listener).unwrap();
        let listen = listener.local_addr().unwrap();
        assert!(listen.ip().is_loopback(), "fault proxies only listen on 127.0.0.1");
        let (forward, fwd_rx) = watch::channel(Fault::default());
        let (back, back_rx) = watch::channel(Fault::default());
        let stats = Arc::new(LinkStats::default());
        let task =
            tokio::spawn(accept_loop(listener, target, [fwd_rx, back_rx], stats.clone(), seed));
        Self { listen, forward, back, stats, task }
    }

    /// Sets the fault on bytes from the dialler to the target.
    pub fn set_forward(&self, f: Fault) {
        self.forward.send_replace(f);
    }

    /// Sets the fault on bytes from the target back to the dialler.
    pub fn set_back(&self, f: Fault) {
        self.back.send_replace(f);
    }

    /// Bytes forwarded in both directions so far.
    pub fn bytes(&self) -> u64 {
        self.stats.bytes_forward.load(Ordering::Relaxed)
            + self.stats.bytes_back.load(Ordering::Relaxed)
    }
}

impl Drop for LinkProxy {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every connection.
        self.task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    target: SocketAddr,
    ctl: [watch::Receiver<Fault>; 2],
    stats: Arc<LinkStats>,
    seed: u64,
) {
    let mut conns = tokio::task::JoinSet::new();
    let mut n = 0u64;
    loop {
        let Ok((down, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        while conns.try_join_next().is_some() {}
        n += 1;
        stats.connections.fetch_add(1, Ordering::Relaxed);
        let conn_seed = seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        conns.spawn(connection(down, target, ctl.clone(), stats.clone(), conn_seed));
    }
}

/// `Ok` once `ctl` has no partition, `Err` if it is reset (or the controller is gone).
async fn wait_open(ctl: &mut watch::Receiver<Fault>) -> Result<(), ()> {
    loop {
        match ctl.borrow_and_update().cut {
            None => return Ok(()),
            Some(Cut::Reset) => return Err(()),
            Some(Cut::Blackhole) => {}
        }
        if ctl.changed().await.is_err() {
            return Err(());
        }
    }
}

/// Returns once `ctl` says reset.
async fn wait_reset(mut ctl: watch::Receiver<Fault>) {
    loop {
        if ctl.borrow_and_update().cut == Some(Cut::Reset) || ctl.changed().await.is_err() {
            return;
        }
    }
}

async fn connection(
    down: TcpStream,
    target: SocketAddr,
    ctl: [watch::Receiver<Fault>; 2],
    stats: Arc<LinkStats>,
    seed: u64,
) {
    let [mut fwd, mut back] = ctl;
    // A new connection is held while either direction is blackholed, refused if reset.
    if wait_open(&mut fwd).await.is_err() || wait_open(&mut back).await.is_err() {
        return;
    }
    let Ok(up) = TcpStream::connect(target).await else { return };
    let _ = down.set_nodelay(true);
    let _ = up.set_nodelay(true);
    let (dr, dw) = down.into_split();
    let (ur, uw) = up.into_split();
    let (pf, pb) = (fwd.clone(), back.clone());
    let both = async {
        tokio::join!(
            pump(dr, uw, pf, &stats.bytes_forward, &stats.retransmits, seed),
            pump(ur, dw, pb, &stats.bytes_back, &stats.retransmits, !seed),
        )
    };
    tokio::select! {
        _ = both => {}
        _ = wait_reset(fwd) => {}
        _ = wait_reset(back) => {}
    }
}

/// Copies `r` to `w` under the direction's fault until EOF, an error or a reset.
async fn pump(
    mut r: OwnedReadHalf,
    mut w: OwnedWriteHalf,
    ctl: watch::Receiver<Fault>,
    bytes: &AtomicU64,
    retransmits: &AtomicU64,
    seed: u64,
) {
    let (tx, mut rx) = mpsc::channel::<(Instant, Vec<u8>)>(64);
    let reader_ctl = ctl.clone();
    let reader = async move {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut last = Instant::now();
        loop {
            let mut buf = vec![0u8; 16 * 1024];
            let n = match r.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            buf.truncate(n);
            let f = *reader_ctl.borrow();
            let jitter = u64::try_from(f.jitter.as_micros()).unwrap_or(u64::MAX / 4);
            let spread =
                Duration::from_micros(if jitter == 0 { 0 } else { rng.gen_range(0..=2 * jitter) });
            let mut at = Instant::now() + f.delay.saturating_sub(f.jitter) + spread;
            let mut rto = (2 * (f.delay + f.jitter)).max(Duration::from_millis(200));
            let p = f.loss.clamp(0.0, 0.9);
            while p > 0.0 && rng.gen_bool(p) {
                at += rto;
                rto *= 2;
                retransmits.fetch_add(1, Ordering::Relaxed);
            }
            at = at.max(last);
            last = at;
            if tx.send((at, buf)).await.is_err() {
                break;
            }
        }
    };
    let writer = async move {
        let mut ctl = ctl;
        while let Some((at, buf)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            if wait_open(&mut ctl).await.is_err() || w.write_all(&buf).await.is_err() {
                return;
            }
            bytes.fetch_add(buf.len() as u64, Ordering::Relaxed);
        }
        let _ = w.shutdown().await;
    };
    tokio::pin!(writer);
    tokio::select! {
        // EOF from the sender: deliver what is queued, then pass the EOF on.
        _ = reader => writer.await,
        // The receiver is gone or the link was reset.
        _ = &mut writer => {}
    }
}

/// A [`TestNet`] of validators whose every peer link (libp2p and HTTP) goes through a
/// [`LinkProxy`].
pub struct FaultNet {
    /// The devnet (configs rewritten to point at the proxies).
    pub net: TestNet,
    /// `p2p[i][j]`: libp2p connections node `i` dials to node `j` (`None` when `i == j`).
    p2p: Vec<Vec<Option<LinkProxy>>>,
    /// `http[i][j]`: node `i`'s HTTP requests to node `j` (entry forwarding, cosignatures).
    http: Vec<Vec<Option<LinkProxy>>>,
    /// Each node's real libp2p port.
    p2p_ports: Vec<u16>,
}

impl FaultNet {
    /// Writes a devnet of `n` validators wired through proxies (not started).
    pub async fn new(n: usize, seed: u64) -> Self {
        // Every proxy port is bound before the devnet picks its ports (and released ones could
        // otherwise be handed to a proxy before the node that was given one binds it).
        let mut listeners: Vec<std::net::TcpListener> =
            (0..2 * n * n).map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap()).collect();
        let net = TestNet::new(n, 0);
        let p2p_addr: Vec<SocketAddr> = (0..n)
            .map(|j| {
                let cfg = certledger_node::config::NodeToml::load(&net.configs[j]).unwrap();
                let port: u16 = cfg.p2p_listen.rsplit('/').next().unwrap().parse().unwrap();
                SocketAddr::from(([127, 0, 0, 1], port))
            })
            .collect();
        let http_addr: Vec<SocketAddr> =
            net.urls.iter().map(|u| u.strip_prefix("http://").unwrap().parse().unwrap()).collect();
        let mut p2p = Vec::new();
        let mut http = Vec::new();
        for i in 0..n {
            let mut prow = Vec::new();
            let mut hrow = Vec::new();
            for j in 0..n {
                if i == j {
                    prow.push(None);
                    hrow.push(None);
                    continue;
                }
                let s = seed.wrapping_mul(1_000_003).wrapping_add((i * n + j) as u64);
                prow.push(Some(LinkProxy::start(listeners.pop().unwrap(), p2p_addr[j], s)));
                hrow.push(Some(LinkProxy::start(
                    listeners.pop().unwrap(),
                    http_addr[j],
                    s ^ 0x5555,
                )));
            }
            p2p.push(prow);
            http.push(hrow);
        }
        for i in 0..n {
            let peers: Vec<String> = (0..n)
                .filter(|j| *j != i)
                .map(|j| {
                    let id =
                        certledger_node::server::consensus::peer_id_of(&net.keys[j].public_key())
                            .unwrap();
                    let port = p2p[i][j].as_ref().unwrap().listen.port();
                    format!("/ip4/127.0.0.1/tcp/{port}/p2p/{id}")
                })
                .collect();
            let urls: Vec<String> = (0..n)
                .filter(|j| *j != i)
                .map(|j| format!("http://{}", http[i][j].as_ref().unwrap().listen))
                .collect();
            net.edit_config(i, |c| {
                c.persistent_peers = peers;
                c.peer_http = urls;
            });
        }
        let p2p_ports = p2p_addr.iter().map(SocketAddr::port).collect();
        Self { net, p2p, http, p2p_ports }
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.p2p.len()
    }

    /// Sets the fault on every byte node `from` sends to node `to`.
    pub fn set(&self, from: usize, to: usize, f: Fault) {
        for proxies in [&self.p2p, &self.http] {
            proxies[from][to].as_ref().unwrap().set_forward(f);
            proxies[to][from].as_ref().unwrap().set_back(f);
        }
    }

    /// Sets the fault both ways between `a` and `b`.
    pub fn set_pair(&self, a: usize, b: usize, f: Fault) {
        self.set(a, b, f);
        self.set(b, a, f);
    }

    /// Sets the fault on every directed link.
    pub fn set_all(&self, f: Fault) {
        for a in 0..self.len() {
            for b in 0..self.len() {
                if a != b {
                    self.set(a, b, f);
                }
            }
        }
    }

    /// Cuts every link between the groups `a` and `b`.
    pub fn split(&self, a: &[usize], b: &[usize], cut: Cut) {
        for &x in a {
            for &y in b {
                self.set_pair(x, y, Fault::cut(cut));
            }
        }
    }

    /// Cuts node `i` from all others.
    pub fn isolate(&self, i: usize, cut: Cut) {
        let others: Vec<usize> = (0..self.len()).filter(|j| *j != i).collect();
        self.split(&[i], &others, cut);
    }

    /// Removes every fault.
    pub fn heal(&self) {
        self.set_all(Fault::default());
    }

    /// libp2p bytes between `a` and `b`, both directions, both dialling sides.
    pub fn p2p_bytes(&self, a: usize, b: usize) -> u64 {
        self.p2p[a][b].as_ref().unwrap().bytes() + self.p2p[b][a].as_ref().unwrap().bytes()
    }

    /// libp2p bytes between node `i` and every other node.
    pub fn p2p_bytes_of(&self, i: usize) -> u64 {
        (0..self.len()).filter(|j| *j != i).map(|j| self.p2p_bytes(i, j)).sum()
    }

    /// Simulated retransmissions on every libp2p link so far.
    pub fn retransmits(&self) -> u64 {
        self.p2p
            .iter()
            .flatten()
            .flatten()
            .map(|p| p.stats.retransmits.load(Ordering::Relaxed))
            .sum()
    }

    /// Established TCP connections into a node's libp2p port that do not come from one of
    /// this process's sockets (a proxy), as `"127.0.0.1:port -> node j"`: a node that learned
    /// a peer's real address (identify, discovery) and dialled around the proxies shows up here.
    /// Linux only (reads `/proc/net/tcp` and `/proc/self/fd`).
    pub fn direct_p2p_connections(&self) -> Vec<String> {
        // (local port, remote port, state, inode) of every 127.0.0.1 IPv4 socket.
        let rows: Vec<(u16, u16, String, u64)> = std::fs::read_to_string("/proc/net/tcp")
            .unwrap()
            .lines()
            .skip(1)
            .filter_map(|line| {
                let f: Vec<&str> = line.split_whitespace().collect();
                let port = |a: &str| {
                    let (ip, port) = a.split_once(':')?;
                    (ip == "0100007F").then_some(())?;
                    u16::from_str_radix(port, 16).ok()
                };
                Some((
                    port(f.get(1)?)?,
                    port(f.get(2)?)?,
                    f.get(3)?.to_string(),
                    f.get(9)?.parse().ok()?,
                ))
            })
            .collect();
        // Read after the table: a proxy socket listed there is still open (or just closed).
        let mine: std::collections::BTreeSet<u64> = std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .flatten()
            .filter_map(|e| std::fs::read_link(e.path()).ok())
            .filter_map(|l| {
                let l = l.to_string_lossy().into_owned();
                l.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
            })
            .collect();
        let mut out = Vec::new();
        for (j, port) in self.p2p_ports.iter().enumerate() {
            // 01: ESTABLISHED, on node j's side of the connection; the dialler's side is the row
            // with the ports swapped.
            for (local, remote, state, _) in &rows {
                if local != port || state != "01" {
                    continue;
                }
                let from_proxy = rows
                    .iter()
                    .any(|(l, r, _, inode)| l == remote && r == port && mine.contains(inode));
                if !from_proxy {
                    out.push(format!("127.0.0.1:{remote} -> node {j}"));
                }
            }
        }
        out
    }

    /// The index of the validator that proposes at (`height`, `round`).
    pub fn proposer(&self, height: u64, round: u32) -> usize {
        // Validators in address (public key byte) order.
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_by_key(|i| self.net.keys[*i].public_key().0);
        order[certledger_node::server::context::proposer_index(self.len(), height, round)]
    }
}

/// One block as a node reports it: hash, log root, state root.
type BlockId = (String, String, String);

/// Compares every block each node committed with what every other node committed at that
/// height, incrementally (each call fetches only blocks committed since the previous call).
#[derive(Default)]
pub struct Agreement {
    /// The first report of each height, and who made it.
    seen: BTreeMap<u64, (usize, BlockId)>,
    /// Highest height checked per node.
    checked: BTreeMap<usize, u64>,
}

impl Agreement {
    /// Checks the new blocks of `nodes`; `Err` describes a conflicting commit. Blocks a node
    /// does not serve yet (busy, restarting) are checked on a later call.
    pub async fn poll(&mut self, net: &TestNet, nodes: &[usize]) -> Result<(), String> {
        for &i in nodes {
            let top = net.height(i).await;
            let from = self.checked.get(&i).copied().unwrap_or(0) + 1;
            for h in from..=top {
                let (s, b) = net.get(i, &format!("/v1/blocks/{h}")).await;
                if s != 200 {
                    break;
                }
                let id = (
                    b["hash"].as_str().unwrap_or_default().to_owned(),
                    b["header"]["log_root"].as_str().unwrap_or_default().to_owned(),
                    b["header"]["state_root"].as_str().unwrap_or_default().to_owned(),
                );
                match self.seen.get(&h) {
                    Some((j, other)) if *other != id => {
                        return Err(format!(
                            "conflicting commits at height {h}: node {j} has {other:?}, node {i} has {id:?}"
                        ));
                    }
                    Some(_) => {}
                    None => {
                        self.seen.insert(h, (i, id));
                    }
                }
                self.checked.insert(i, h);
            }
        }
        Ok(())
    }

    /// The highest height every one of `nodes` has had checked.
    pub fn common_height(&self, nodes: &[usize]) -> u64 {
        nodes.iter().map(|i| self.checked.get(i).copied().unwrap_or(0)).min().unwrap_or(0)
    }

    /// Heights compared on at least one node.
    pub fn heights(&self) -> usize {
        self.seen.len()
    }
}

/// An entry a node answered 202 for.
#[derive(Clone, Debug)]
pub struct Acked {
    /// The node that acknowledged it.
    pub node: usize,
    /// Entry id (hex).
    pub id: String,
    /// When the acknowledgement arrived.
    pub at: Instant,
}

/// Steady client load: one entry every `every`, round-robin over the nodes, never panicking on
/// a refused or timed-out submission (those are not acknowledged and are only counted).
pub struct Load {
    /// Entries acknowledged so far.
    pub acked: Arc<Mutex<Vec<Acked>>>,
    /// Submissions not acknowledged (transport error, timeout or a non-202 answer).
    pub unacked: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Load {
    /// Starts submitting entries tagged `tag` to `nodes` every `every`.
    pub fn start(net: &TestNet, nodes: &[usize], every: Duration, tag: &str) -> Self {
        let acked = Arc::new(Mutex::new(Vec::new()));
        let unacked = Arc::new(AtomicU64::new(0));
        let client = net.client.clone();
        let urls = net.urls.clone();
        let admins = net.admins.clone();
        let nodes = nodes.to_vec();
        let tag = tag.to_owned();
        let (a, u) = (acked.clone(), unacked.clone());
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            for n in 0u64.. {
                tick.tick().await;
                let i = nodes[(n as usize) % nodes.len()];
                let e = super::entry(&admins[i % admins.len()], format!("{tag} {n}").as_bytes());
                let body = serde_json::json!({
                    "entry": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&e)
                });
                let (client, url, a, u) =
                    (client.clone(), format!("{}/v1/entries", urls[i]), a.clone(), u.clone());
                // Concurrent, so that a stalled node does not slow the load on the others.
                tokio::spawn(async move {
                    match client.post(url).json(&body).send().await {
                        Ok(r) if r.status().as_u16() == 202 => a.lock().unwrap().push(Acked {
                            node: i,
                            id: super::id_hex(&e),
                            at: Instant::now(),
                        }),
                        _ => {
                            u.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        Self { acked, unacked, task }
    }

    /// Stops submitting (submissions in flight still finish) and returns what was acknowledged.
    pub async fn stop(self) -> Vec<Acked> {
        self.task.abort();
        // Let in-flight submissions answer (the client times out after 5 s).
        tokio::time::sleep(Duration::from_secs(5)).await;
        self.acked.lock().unwrap().clone()
    }

    /// Entries acknowledged so far.
    pub fn count(&self) -> usize {
        self.acked.lock().unwrap().len()
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Whether entry `id` is committed on node `i` (a transport error counts as not yet).
pub async fn is_committed(net: &TestNet, i: usize, id: &str) -> bool {
    let (s, v): (u16, Value) = net.get(i, &format!("/v1/entries/{id}")).await;
    s == 200 && v["status"] == "committed"
}

/// Waits up to `timeout` until every entry in `ids` is committed on every node in `nodes`;
/// returns the (node, id) pairs still missing.
pub async fn missing_after(
    net: &TestNet,
    nodes: &[usize],
    ids: &[String],
    timeout: Duration,
) -> Vec<(usize, String)> {
    let deadline = Instant::now() + timeout;
    let mut missing: Vec<(usize, String)> =
        nodes.iter().flat_map(|&i| ids.iter().map(move |id| (i, id.clone()))).collect();
    loop {
        let mut still = Vec::new();
        for (i, id) in missing {
            if !is_committed(net, i, &id).await {
                still.push((i, id));
            }
        }
        missing = still;
        if missing.is_empty() || Instant::now() > deadline {
            return missing;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The heights of `nodes` (0 for a node that does not answer).
pub async fn heights(net: &TestNet, nodes: &[usize]) -> Vec<u64> {
    let mut out = Vec::new();
    for &i in nodes {
        out.push(net.height(i).await);
    }
    out
}

/// Waits until every node in `nodes` is above `height`; returns how long it took, or `None`
/// after `timeout`.
pub async fn time_to_pass(
    net: &TestNet,
    nodes: &[usize],
    height: u64,
    timeout: Duration,
) -> Option<Duration> {
    let t0 = Instant::now();
    while t0.elapsed() < timeout {
        if heights(net, nodes).await.iter().all(|h| *h > height) {
            return Some(t0.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}
