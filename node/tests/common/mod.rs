//! A loopback test network of real `certledger-node` processes: temp dirs, random free ports,
//! bounded waits, and every child killed (SIGKILL) on drop.
#![allow(dead_code, clippy::unwrap_used, clippy::panic, clippy::expect_used)]

pub mod proxy;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use certledger_core::sig::SecretKey;
use certledger_node::config::{Genesis, GenesisDepartment, KeyFile, NodeToml};
use serde_json::Value;

pub const CHAIN_ID: &str = "certledger-test";

/// The departments that own the shipped credential types (`profiles::issuing_department`), in
/// the devnet's order (`certledger-node devnet`): a test that verifies shipped types names its
/// validators so ([`TestNet::with_departments`]).
pub const OWNERS: [&str; 4] = ["public-security", "market-regulation", "education", "transport"];

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub struct TestNet {
    pub dir: tempfile::TempDir,
    /// Node keys (validators first, then observers).
    pub keys: Vec<SecretKey>,
    /// One registry admin key per department (validators only).
    pub admins: Vec<SecretKey>,
    pub configs: Vec<PathBuf>,
    pub urls: Vec<String>,
    pub children: Vec<Option<Child>>,
    pub client: reqwest::Client,
}

impl TestNet {
    /// Writes genesis, keys and configs for `validators` validators (departments `dept-<i>`)
    /// plus `observers` observers.
    pub fn new(validators: usize, observers: usize) -> Self {
        let ids: Vec<String> = (0..validators).map(|i| format!("dept-{i}")).collect();
        Self::with_departments(&ids.iter().map(String::as_str).collect::<Vec<_>>(), observers)
    }

    /// Like [`TestNet::new`], one validator per department id in `ids`.
    pub fn with_departments(ids: &[&str], observers: usize) -> Self {
        let validators = ids.len();
        let dir = tempfile::tempdir().unwrap();
        let total = validators + observers;
        let keys: Vec<SecretKey> =
            (0..total).map(|_| SecretKey::generate(&mut rand::rngs::OsRng)).collect();
        let admins: Vec<SecretKey> =
            (0..validators).map(|_| SecretKey::generate(&mut rand::rngs::OsRng)).collect();
        let genesis = Genesis {
            version: 1,
            chain_id: CHAIN_ID.into(),
            genesis_time: 0,
            departments: (0..validators)
                .map(|i| GenesisDepartment {
                    id: ids[i].to_owned(),
                    name_zh: format!("部门{i}"),
                    name_en: format!("Department {i}"),
                    node_key: keys[i].public_key(),
                    admin_keys: vec![admins[i].public_key()],
                })
                .collect(),
        };
        let gpath = dir.path().join("genesis.json");
        std::fs::write(&gpath, serde_json::to_string(&genesis).unwrap()).unwrap();
        let ports: Vec<(u16, u16)> = (0..total).map(|_| (free_port(), free_port())).collect();
        let mut configs = Vec::new();
        let mut urls = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            let nd = dir.path().join(format!("node-{i}"));
            std::fs::create_dir_all(&nd).unwrap();
            KeyFile::new(k).write(&nd.join("key.json")).unwrap();
            let (p2p, web) = ports[i];
            let others = || ports.iter().enumerate().filter(move |(j, _)| *j != i);
            let cfg = NodeToml {
                moniker: format!("node-{i}"),
                data_dir: nd.join("data"),
                key_file: nd.join("key.json"),
                genesis_file: gpath.clone(),
                validator: i < validators,
                p2p_listen: format!("/ip4/127.0.0.1/tcp/{p2p}"),
                persistent_peers: others()
                    .map(|(j, (p, _))| {
                        let id =
                            certledger_node::server::consensus::peer_id_of(&keys[j].public_key())
                                .unwrap();
                        format!("/ip4/127.0.0.1/tcp/{p}/p2p/{id}")
                    })
                    .collect(),
                http_listen: format!("127.0.0.1:{web}"),
                peer_http: others().map(|(_, (_, w))| format!("http://127.0.0.1:{w}")).collect(),
                block_time_ms: 500,
                timeout_propose_ms: 1500,
                timeout_vote_ms: 750,
                danger_propose_bad_state_root: false,
                danger_propose_invalid_entry: None,
                web_dir: None,
                // As on `certledger-node devnet`: on loopback every node and tool shares
                // 127.0.0.1, so no per-client rate limit (node/tests/limits.rs sets its own).
                http: certledger_node::config::HttpSettings {
                    rate_limit_per_second: 0,
                    ..Default::default()
                },
            };
            let path = nd.join("node.toml");
            std::fs::write(&path, toml::to_string(&cfg).unwrap()).unwrap();
            configs.push(path);
            urls.push(format!("http://127.0.0.1:{web}"));
        }
        let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
        Self {
            dir,
            keys,
            admins,
            configs,
            urls,
            children: (0..total).map(|_| None).collect(),
            client,
        }
    }

    /// Rewrites node `i`'s config (before it starts).
    pub fn edit_config(&self, i: usize, f: impl FnOnce(&mut NodeToml)) {
        let mut cfg = NodeToml::load(&self.configs[i]).unwrap();
        f(&mut cfg);
        std::fs::write(&self.configs[i], toml::to_string(&cfg).unwrap()).unwrap();
    }

    pub fn spawn(&self, i: usize) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join(format!("node-{i}.log")))
            .unwrap();
        Command::new(env!("CARGO_BIN_EXE_certledger-node"))
            .arg("run")
            .arg("--config")
            .arg(&self.configs[i])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap()
    }

    /// Starts node `i` with extra `run` arguments.
    pub fn start_with(&mut self, i: usize, extra: &[&str]) {
        assert!(self.children[i].is_none(), "node {i} already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join(format!("node-{i}.log")))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_certledger-node"))
            .arg("run")
            .arg("--config")
            .arg(&self.configs[i])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.children[i] = Some(child);
    }

    /// Starts node `i` with extra environment variables (the fault plan of
    /// `CERTLEDGER_FAULTS`, in the `fault-injection` test build).
    pub fn start_env(&mut self, i: usize, env: &[(&str, &str)]) {
        assert!(self.children[i].is_none(), "node {i} already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join(format!("node-{i}.log")))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_certledger-node"))
            .arg("run")
            .arg("--config")
            .arg(&self.configs[i])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.children[i] = Some(child);
    }

    /// Waits up to `timeout` for node `i` to exit by itself; its exit status, or panics.
    pub async fn wait_exit(&mut self, i: usize, timeout: Duration) -> std::process::ExitStatus {
        let start = Instant::now();
        loop {
            let c = self.children[i].as_mut().expect("node not running");
            if let Some(status) = c.try_wait().unwrap() {
                self.children[i] = None;
                return status;
            }
            if start.elapsed() > timeout {
                panic!("node {i} still running after {timeout:?}\n{}", self.log(i));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn start(&mut self, i: usize) {
        assert!(self.children[i].is_none(), "node {i} already running");
        self.children[i] = Some(self.spawn(i));
    }

    pub fn start_all(&mut self) {
        for i in 0..self.children.len() {
            self.start(i);
        }
    }

    /// SIGKILL, no clean shutdown.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.children[i].take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("node-{i}.log"))).unwrap_or_default()
    }

    pub async fn health(&self, i: usize) -> Option<Value> {
        let r = self.client.get(format!("{}/health", self.urls[i])).send().await.ok()?;
        r.json().await.ok()
    }

    pub async fn height(&self, i: usize) -> u64 {
        self.health(i).await.and_then(|v| v["height"].as_u64()).unwrap_or(0)
    }

    /// GET; a transport error (node down or busy) is status 0.
    pub async fn get(&self, i: usize, path: &str) -> (u16, Value) {
        let r = match self.client.get(format!("{}{path}", self.urls[i])).send().await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("GET {path} on node {i}: {e}");
                return (0, Value::Null);
            }
        };
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn submit_raw(&self, i: usize, body: &str) -> (u16, Value) {
        let r = self
            .client
            .post(format!("{}/v1/entries", self.urls[i]))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn submit(&self, i: usize, entry: &[u8]) -> (u16, Value) {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(entry);
        self.submit_raw(i, &serde_json::json!({ "entry": b64 }).to_string()).await
    }

    /// Submits all entries concurrently; replies in input order.
    pub async fn submit_many(&self, items: &[(usize, Vec<u8>)]) -> Vec<(u16, Value)> {
        let mut set = tokio::task::JoinSet::new();
        for (k, (i, e)) in items.iter().enumerate() {
            let client = self.client.clone();
            let url = format!("{}/v1/entries", self.urls[*i]);
            let body = serde_json::json!({ "entry": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(e) });
            set.spawn(async move {
                let r = client.post(url).json(&body).send().await.unwrap();
                let status = r.status().as_u16();
                (k, status, r.json::<Value>().await.unwrap_or(Value::Null))
            });
        }
        let mut out = vec![(0, Value::Null); items.len()];
        while let Some(res) = set.join_next().await {
            let (k, s, v) = res.unwrap();
            out[k] = (s, v);
        }
        out
    }

    /// Waits until every node in `nodes` reaches `height`, or panics after `timeout`.
    pub async fn wait_height(&self, nodes: &[usize], height: u64, timeout: Duration) {
        let start = Instant::now();
        loop {
            let mut ok = true;
            for &i in nodes {
                if self.height(i).await < height {
                    ok = false;
                }
            }
            if ok {
                return;
            }
            if start.elapsed() > timeout {
                let mut hs = Vec::new();
                for &i in nodes {
                    hs.push(self.height(i).await);
                }
                panic!(
                    "nodes {nodes:?} did not reach height {height} in {timeout:?}: {hs:?}\n{}",
                    self.log(nodes[0])
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until entry `id` is committed on node `i`; returns the entry status.
    pub async fn wait_committed(&self, i: usize, id: &str, timeout: Duration) -> Value {
        let start = Instant::now();
        loop {
            let (s, v) = self.get(i, &format!("/v1/entries/{id}")).await;
            if s == 200 && v["status"] == "committed" {
                return v;
            }
            if start.elapsed() > timeout {
                panic!("entry {id} not committed on node {i} in {timeout:?}: {v}\n{}", self.log(i));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until every node in `nodes` has a log of at least `size` entries.
    pub async fn wait_log_size(&self, nodes: &[usize], size: u64, timeout: Duration) {
        let start = Instant::now();
        loop {
            let mut sizes = Vec::new();
            for &i in nodes {
                sizes.push(self.health(i).await.and_then(|v| v["log_size"].as_u64()).unwrap_or(0));
            }
            if sizes.iter().all(|s| *s >= size) {
                return;
            }
            if start.elapsed() > timeout {
                panic!(
                    "log sizes {sizes:?} on {nodes:?} below {size} after {timeout:?}\n{}",
                    self.log(nodes[0])
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The block hash at `height` as node `i` stores it.
    pub async fn block_hash(&self, i: usize, height: u64) -> Option<String> {
        let (s, v) = self.get(i, &format!("/v1/blocks/{height}")).await;
        (s == 200).then(|| v["hash"].as_str().unwrap().to_owned())
    }
}

impl Drop for TestNet {
    fn drop(&mut self) {
        if std::env::var_os("CERTLEDGER_KEEP_TESTNET").is_some() {
            let path = self.dir.path().to_owned();
            eprintln!("keeping test network files in {}", path.display());
            std::mem::forget(std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap()));
        }
        for c in self.children.iter_mut().flatten() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A valid entry: registers credential type `type-<tag>`, signed by a department admin key.
pub fn entry(admin: &SecretKey, tag: &[u8]) -> Vec<u8> {
    use certledger_core::codec::Encode as _;
    use certledger_core::ledger::{EntryBody, RegisterType, SignedEntry};
    SignedEntry::sign(
        admin,
        CHAIN_ID,
        EntryBody::RegisterType(RegisterType {
            type_id: format!("type-{}", hex::encode(tag)),
            name_zh: "测试证书".into(),
            name_en: "Test certificate".into(),
            claims: vec![],
            validity_s: 86_400,
            holder_binding: false,
        }),
    )
    .to_bytes()
}

/// The entry id (core's id over the body).
pub fn id_hex(entry: &[u8]) -> String {
    hex::encode(certledger_node::server::exec::entry_id(entry).unwrap())
}
