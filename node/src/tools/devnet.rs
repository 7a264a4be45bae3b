//! The local devnet launcher (`devnet`) and the genesis maker (`genesis`): keys, genesis file,
//! one `node.toml` per node on free local ports, and the node processes.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context as _};
use certledger_core::sig::SecretKey;
use tracing::error;

use crate::config::{Genesis, GenesisDepartment, KeyFile, NodeToml};
use crate::server::consensus::peer_id_of;
use crate::signal::shutdown_signal;
use crate::tools::demo;

/// Department names (zh, en) used by `genesis` and `devnet`.
/// The first four are the issuing departments of the shipped credential types, so a 4-validator
/// devnet can register issuers for every type.
/// How often `devnet run` checks whether a node process exited.
const CHILD_CHECK_EVERY: Duration = Duration::from_secs(1);

const DEPARTMENTS: &[(&str, &str, &str)] = &[
    ("public-security", "公安部", "Ministry of Public Security"),
    ("market-regulation", "国家市场监督管理总局", "State Administration for Market Regulation"),
    ("education", "教育部", "Ministry of Education"),
    ("transport", "交通运输部", "Ministry of Transport"),
    ("human-resources", "人力资源和社会保障部", "Ministry of Human Resources and Social Security"),
    ("civil-affairs", "民政部", "Ministry of Civil Affairs"),
    ("health", "国家卫生健康委员会", "National Health Commission"),
    ("justice", "司法部", "Ministry of Justice"),
];

/// The `i`-th department of [`DEPARTMENTS`] (numbered past the end of the list) with its keys.
fn department(i: usize, node_key: &SecretKey, admin: &SecretKey) -> GenesisDepartment {
    let (id, zh, en) = DEPARTMENTS.get(i % DEPARTMENTS.len()).copied().unwrap_or((
        "department",
        "部门",
        "Department",
    ));
    let round = i / DEPARTMENTS.len();
    let (id, suffix) = if round > 0 {
        (format!("{id}-{}", round + 1), format!(" {}", round + 1))
    } else {
        (id.to_owned(), String::new())
    };
    GenesisDepartment {
        id,
        name_zh: format!("{zh}{suffix}"),
        name_en: format!("{en}{suffix}"),
        node_key: node_key.public_key(),
        admin_keys: vec![admin.public_key()],
    }
}

/// Writes `genesis.json`, `keys/dept-<i>.key.json` (node key) and `keys/dept-<i>.admin.key.json`
/// (registry admin key) for `n` departments; returns the node keys.
pub fn make_genesis(n: usize, chain_id: &str, out: &Path) -> anyhow::Result<Vec<SecretKey>> {
    if n == 0 {
        bail!("need at least one department");
    }
    std::fs::create_dir_all(out.join("keys"))?;
    let mut keys = Vec::new();
    let mut departments = Vec::new();
    for i in 0..n {
        let key = SecretKey::generate(&mut rand::rngs::OsRng);
        let admin = SecretKey::generate(&mut rand::rngs::OsRng);
        KeyFile::new(&key).write(&out.join("keys").join(format!("dept-{i}.key.json")))?;
        KeyFile::sealed_from_sources(&admin, "the admin keys")?
            .write(&out.join("keys").join(format!("dept-{i}.admin.key.json")))?;
        departments.push(department(i, &key, &admin));
        keys.push(key);
    }
    let g = Genesis { version: 1, chain_id: chain_id.to_owned(), genesis_time: 0, departments };
    g.validate()?;
    std::fs::write(out.join("genesis.json"), serde_json::to_string_pretty(&g)?)?;
    Ok(keys)
}

/// The passphrase of a devnet's sealed admin keys: the configured one if any, else the one in
/// `keys/passphrase.txt` (mode 0600), made up on first use. A devnet is a local test network:
/// its passphrase sits next to its keys on purpose, so scripts can pass
/// `CERTLEDGER_KEY_PASSPHRASE_FILE=<dir>/keys/passphrase.txt` to the tools.
fn devnet_passphrase(dir: &Path) -> anyhow::Result<()> {
    if crate::keyfile::has_passphrase_source() {
        return Ok(());
    }
    let file = dir.join("keys").join("passphrase.txt");
    if !file.exists() {
        std::fs::create_dir_all(dir.join("keys"))?;
        let mut bytes = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
        crate::keyfile::write_new_private(&file, format!("{}\n", hex::encode(bytes)).as_bytes())?;
    }
    println!(
        "admin keys are sealed; passphrase file / 管理密钥已加密，口令文件: {}",
        file.display()
    );
    crate::keyfile::set_passphrase_file(file);
    Ok(())
}

/// `n` distinct free ports: every listener is held until all are chosen, so the OS cannot hand
/// out the same port twice.
fn free_ports(n: usize) -> anyhow::Result<Vec<u16>> {
    let listeners =
        (0..n).map(|_| TcpListener::bind("127.0.0.1:0")).collect::<Result<Vec<_>, _>>()?;
    Ok(listeners.iter().map(|l| l.local_addr().map(|a| a.port())).collect::<Result<_, _>>()?)
}

struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// How many nodes of each kind a devnet runs (node directories in this order).
pub struct DevnetNodes {
    /// Genesis departments.
    pub validators: usize,
    /// Non-voting nodes with keys that are not departments.
    pub observers: usize,
    /// Departments not in genesis, ready to be added by governance.
    pub spares: usize,
}

/// Writes a devnet (once) under `dir`, starts its nodes and runs until Ctrl-C (or, with
/// `run_demo`, until the demo is done unless `keep_running`).
pub async fn devnet(
    nodes: DevnetNodes,
    dir: &Path,
    chain_id: &str,
    block_time_ms: u64,
    run_demo: bool,
    keep_running: bool,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let dir = dir.canonicalize()?;
    let DevnetNodes { validators, observers, spares } = nodes;
    let total = validators + observers + spares;
    let genesis_path = dir.join("genesis.json");
    devnet_passphrase(&dir)?;
    if !genesis_path.exists() {
        let mut keys = make_genesis(validators, chain_id, &dir)?;
        // Observers follow the chain with keys that are not departments.
        for j in 0..observers {
            let key = SecretKey::generate(&mut rand::rngs::OsRng);
            KeyFile::new(&key)
                .write(&dir.join("keys").join(format!("dept-{}.key.json", validators + j)))?;
            keys.push(key);
        }
        // Spares: departments that are not in genesis (the next names of DEPARTMENTS), each
        // with a node key, an admin key and the department file `gov propose --add` takes.
        for j in 0..spares {
            let i = validators + observers + j;
            let key = SecretKey::generate(&mut rand::rngs::OsRng);
            let admin = SecretKey::generate(&mut rand::rngs::OsRng);
            let keys_dir = dir.join("keys");
            KeyFile::new(&key).write(&keys_dir.join(format!("dept-{i}.key.json")))?;
            KeyFile::sealed_from_sources(&admin, "the admin keys")?
                .write(&keys_dir.join(format!("dept-{i}.admin.key.json")))?;
            let dept = department(validators + j, &key, &admin);
            std::fs::write(
                keys_dir.join(format!("dept-{i}.department.json")),
                serde_json::to_string_pretty(&dept)?,
            )?;
            keys.push(key);
        }
        // The verification page, when built (`scripts/build-wasm.sh`), served at /verify/.
        let web_dir = crate::server::web::find_web_dir(None)?;
        let free = free_ports(2 * total)?;
        let ports: Vec<(u16, u16)> =
            free.chunks_exact(2).filter_map(|c| Some((*c.first()?, *c.get(1)?))).collect();
        for (i, _) in keys.iter().enumerate() {
            let node_dir = dir.join(format!("node-{i}"));
            std::fs::create_dir_all(&node_dir)?;
            let (p2p, web) = ports.get(i).copied().unwrap_or_default();
            let mut peers = Vec::new();
            for (j, k) in keys.iter().enumerate() {
                if j != i {
                    let port = ports.get(j).map(|p| p.0).unwrap_or_default();
                    peers.push(format!(
                        "/ip4/127.0.0.1/tcp/{port}/p2p/{}",
                        peer_id_of(&k.public_key())?
                    ));
                }
            }
            let cfg = NodeToml {
                moniker: format!("node-{i}"),
                data_dir: node_dir.join("data"),
                key_file: dir.join("keys").join(format!("dept-{i}.key.json")),
                genesis_file: genesis_path.clone(),
                validator: i < validators || i >= validators + observers,
                p2p_listen: format!("/ip4/127.0.0.1/tcp/{p2p}"),
                persistent_peers: peers,
                http_listen: format!("127.0.0.1:{web}"),
                peer_http: ports
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, (_, w))| format!("http://127.0.0.1:{w}"))
                    .collect(),
                block_time_ms,
                timeout_propose_ms: crate::config::DEVNET_TIMEOUT_PROPOSE_MS,
                timeout_vote_ms: crate::config::DEVNET_TIMEOUT_VOTE_MS,
                danger_propose_bad_state_root: false,
                danger_propose_invalid_entry: None,
                web_dir: web_dir.clone(),
                // On loopback every node, tool and benchmark shares 127.0.0.1, so a per-client
                // rate limit would throttle them all together: off on the devnet; and room for
                // `bench`'s 256 outstanding submissions next to the peers' requests.
                http: crate::config::HttpSettings {
                    rate_limit_per_second: 0,
                    max_concurrent_requests: 1024,
                    ..Default::default()
                },
            };
            std::fs::write(node_dir.join("node.toml"), toml::to_string(&cfg)?)?;
        }
    }
    let exe = std::env::current_exe()?;
    let genesis = Genesis::load(&genesis_path)?;
    let mut children = Children(Vec::new());
    for i in 0..total {
        let node_dir = dir.join(format!("node-{i}"));
        let cfg = NodeToml::load(&node_dir.join("node.toml"))?;
        let log = std::fs::File::create(node_dir.join("node.log"))?;
        let child = Command::new(&exe)
            .current_dir(&node_dir)
            .arg("run")
            .arg("--config")
            .arg(node_dir.join("node.toml"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("spawning a node")?;
        let in_genesis = genesis.department_of(&KeyFile::load(&cfg.key_file)?.public_key());
        let role = match (cfg.validator, in_genesis) {
            (true, Some(_)) => "validator",
            (true, None) => "spare",
            (false, _) => "observer",
        };
        println!(
            "node-{i} ({role}): http://{}  p2p {}  pid {}",
            cfg.http_listen,
            cfg.p2p_listen,
            child.id()
        );
        if in_genesis.is_none() && cfg.validator {
            let keys = dir.join("keys");
            println!(
                "  spare department (not in genesis; add it with `gov propose --add`): node key {}, admin key {}, department file {}",
                cfg.key_file.display(),
                keys.join(format!("dept-{i}.admin.key.json")).display(),
                keys.join(format!("dept-{i}.department.json")).display()
            );
        }
        children.0.push(child);
    }
    println!("data and logs under {}; Ctrl-C stops all nodes", dir.display());
    if run_demo {
        let started = std::time::Instant::now();
        let urls = demo::devnet_urls(&dir)?;
        let outcome = tokio::select! {
            r = demo::run(&dir, &urls, None) => r,
            _ = shutdown_signal() => Err(anyhow::anyhow!("interrupted")),
        };
        match outcome {
            Ok(_) => println!("== demo passed in {:.1} s", started.elapsed().as_secs_f64()),
            Err(e) => {
                drop(children);
                return Err(e.context("the demo failed (node logs: DIR/node-<i>/node.log)"));
            }
        }
        if !keep_running {
            drop(children);
            println!("stopped the devnet");
            return Ok(());
        }
    }
    let stop = shutdown_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = tokio::time::sleep(CHILD_CHECK_EVERY) => {
                for (i, c) in children.0.iter_mut().enumerate() {
                    if let Ok(Some(status)) = c.try_wait() {
                        error!(node = i, %status, "a node exited; see its node.log");
                    }
                }
            }
        }
    }
    drop(children);
    println!("stopped");
    Ok(())
}
