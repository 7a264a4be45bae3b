//! `certledger-node`: the department node binary (keygen, genesis, run, devnet, status).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::Duration;

use anyhow::{bail, Context as _};
use certledger_core::sig::SecretKey;
use certledger_node::config::{Genesis, GenesisDepartment, KeyFile, NodeToml};
use certledger_node::{bench, demo, http, node};
use clap::{Parser, Subcommand};
use tracing::{error, info};

mod types_cli;

/// Department names (zh, en) used by `genesis` and `devnet`.
/// The first four are the issuing departments of the shipped credential types, so a 4-validator
/// devnet can register issuers for every type.
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

#[derive(Parser)]
#[command(name = "certledger-node", version, about = "A certledger department node")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Generate a department Ed25519 key file.
    #[command(after_help = "Example:\n  certledger-node keygen --out dept.key.json")]
    Keygen {
        /// Where to write the key file (mode 0600).
        #[arg(long)]
        out: PathBuf,
    },
    /// Generate node and admin keys for N departments and a genesis file naming them (zh/en).
    #[command(
        after_help = "Example:\n  certledger-node genesis --departments 4 --chain-id certledger-test --out ./net"
    )]
    Genesis {
        /// Number of departments (all validators).
        #[arg(long, default_value_t = 4)]
        departments: usize,
        /// Chain id.
        #[arg(long, default_value = "certledger-dev")]
        chain_id: String,
        /// Output directory (genesis.json and keys/dept-<i>.key.json).
        #[arg(long)]
        out: PathBuf,
    },
    /// Run a node from its configuration file.
    #[command(after_help = "Example:\n  certledger-node run --config ./net/node-0/node.toml")]
    Run {
        /// Path to node.toml.
        #[arg(long)]
        config: PathBuf,
        /// Serve the verification page from DIR at /verify/ (default: verifier-wasm/web near
        /// the current directory or the executable, when built, i.e. containing pkg/).
        #[arg(long, value_name = "DIR")]
        web_dir: Option<PathBuf>,
    },
    /// Start a local network of separate node processes on 127.0.0.1 (Ctrl-C stops them).
    #[command(
        after_help = "Examples:\n  certledger-node devnet --validators 4 --observers 1 --dir ./devnet\n  \
        certledger-node devnet --validators 4 --dir ./demo-net --demo\n  \
        certledger-node devnet --validators 4 --spares 1 --dir ./gov-net\n\
        Re-running with the same --dir restarts the same network with its data."
    )]
    Devnet {
        /// Number of validators.
        #[arg(long, default_value_t = 4)]
        validators: usize,
        /// Number of observers (non-voting nodes that follow by sync).
        #[arg(long, default_value_t = 0)]
        observers: usize,
        /// Number of spare department nodes: validators whose keys are not in genesis (they
        /// follow the ledger and vote once a `gov` change adds them). Their node key, admin key
        /// and department file are keys/dept-<i>.{key,admin.key,department}.json.
        #[arg(long, default_value_t = 0)]
        spares: usize,
        /// Directory for keys, configs, data and logs.
        #[arg(long)]
        dir: PathBuf,
        /// Minimum time per block in milliseconds.
        #[arg(long, default_value_t = 500)]
        block_time_ms: u64,
        /// Run the end-to-end demo (issue, anchor, prove, present, verify, tamper) once the
        /// nodes are up, then stop the devnet (unless --keep-running). Exit 1 if any step fails.
        #[arg(long)]
        demo: bool,
        /// With --demo: keep the nodes running after the demo (Ctrl-C stops them).
        #[arg(long, requires = "demo")]
        keep_running: bool,
    },
    /// Run the end-to-end demo against a devnet started separately in DIR.
    #[command(after_help = "Examples:\n  certledger-node demo --dir ./devnet\n  \
        certledger-node demo --dir ./devnet --holder-key <hex from `certledger-wallet init --json`>")]
    Demo {
        /// The devnet directory (genesis.json, keys/, node-<i>/node.toml).
        #[arg(long)]
        dir: PathBuf,
        /// Also issue a business licence to this holder key (64 hex digits, e.g. a wallet's
        /// `holder_key`) and write it as demo/credential-for-holder.json for `certledger-wallet import`.
        #[arg(long)]
        holder_key: Option<String>,
    },
    /// Print the libp2p peer id of a department key (for `/p2p/` in persistent_peers).
    #[command(after_help = "Example:\n  certledger-node peer-id --key dept.key.json")]
    PeerId {
        /// The key file.
        #[arg(long)]
        key: PathBuf,
    },
    /// Load generator: issuance anchors at fixed rates; prints one JSON report per rate
    /// (committed_per_s, p50/p99 commit latency, disk bytes per entry).
    #[command(
        after_help = "Examples:\n  certledger-node bench --dir ./devnet --rates 50,100,200 --seconds 10\n  \
        certledger-node bench --url http://127.0.0.1:8080 --admin-key ./devnet/keys/dept-0.admin.key.json \\\n    \
        --department public-security --count 1000"
    )]
    Bench {
        /// A running devnet's directory (node URLs, admin key of department 0, data directories).
        #[arg(long, conflicts_with_all = ["url", "admin_key"])]
        dir: Option<PathBuf>,
        /// Base URL of a node (without --dir).
        #[arg(long)]
        url: Option<String>,
        /// A department admin key file (without --dir).
        #[arg(long)]
        admin_key: Option<PathBuf>,
        /// The admin key's department id (without --dir).
        #[arg(long)]
        department: Option<String>,
        /// Target submission rates per second, run one after another (0 = unpaced).
        #[arg(long, value_delimiter = ',', default_value = "0")]
        rates: Vec<f64>,
        /// Entries per rate (default: rate × --seconds, or 500 when unpaced).
        #[arg(long)]
        count: Option<usize>,
        /// Seconds of load per rate when --count is not given.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Most outstanding submissions.
        #[arg(long, alias = "concurrency", default_value_t = 256)]
        max_in_flight: usize,
    },
    /// Governance: add or remove departments (validator-set changes) and follow the changes.
    #[command(subcommand)]
    Gov(GovCmd),
    /// Credential types on the ledger: register a shipped profile, list (proven).
    #[command(subcommand)]
    Type(types_cli::TypeCmd),
    /// Issuer key registry: register, rotate, retire, compromise (see specs/node.md).
    #[command(subcommand)]
    Issuer(certledger_node::issuer_cli::IssuerCmd),
    /// Issue one credential: sign an SD-JWT VC, anchor its commitment, write the credential file.
    Issue(certledger_node::issuer_cli::IssueCmd),
    /// Issue one credential per CSV / JSON Lines row, concurrently and resumably.
    IssueBatch(certledger_node::issuer_cli::BatchCmd),
    /// Revoke a credential (final).
    Revoke(certledger_node::issuer_cli::StatusCmd),
    /// Suspend a credential (reinstate lifts it).
    Suspend(certledger_node::issuer_cli::StatusCmd),
    /// Reinstate a suspended credential.
    Reinstate(certledger_node::issuer_cli::StatusCmd),
    /// Fetch and verify a department's or a credential's audit trail.
    #[command(subcommand)]
    Audit(certledger_node::issuer_cli::AuditCmd),
    /// Print a node's /health.
    #[command(after_help = "Example:\n  certledger-node status --url http://127.0.0.1:8080")]
    Status {
        /// Base URL of the node's HTTP API.
        #[arg(long)]
        url: String,
    },
}

/// `certledger-node gov ...`: a change is drafted, approved by the admins of more than two
/// thirds of the current departments, then submitted by any of them.
#[derive(Subcommand)]
enum GovCmd {
    /// Draft a change file, effective DELAY heights after the node's current height.
    #[command(after_help = "Example (add a fifth department):\n  \
        certledger-node gov propose --node http://127.0.0.1:8080 --genesis devnet/genesis.json \\\n    \
        --add health.department.json --out change.json\n\
        The department file is one genesis department: {\"id\", \"name_zh\", \"name_en\", \"node_key\", \"admin_keys\"}.")]
    Propose {
        /// A node's base URL (for the current height).
        #[arg(long)]
        node: String,
        /// The genesis file (for the chain id).
        #[arg(long)]
        genesis: PathBuf,
        /// A department JSON file to add (repeatable).
        #[arg(long)]
        add: Vec<PathBuf>,
        /// A department id to remove (repeatable).
        #[arg(long)]
        remove: Vec<String>,
        /// Heights between now and the change taking effect (at least 2).
        #[arg(long, default_value_t = 10)]
        delay: u64,
        /// Where to write the change file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Add one department admin's approval to a change file.
    #[command(
        after_help = "Example:\n  certledger-node gov approve change.json --admin-key keys/dept-1.admin.key.json"
    )]
    Approve {
        /// The change file (updated in place).
        change: PathBuf,
        /// The approving admin key file.
        #[arg(long)]
        admin_key: PathBuf,
    },
    /// Submit an approved change, signed by an admin key, and wait until it is committed.
    #[command(
        after_help = "Example:\n  certledger-node gov submit change.json --admin-key keys/dept-0.admin.key.json --node http://127.0.0.1:8080"
    )]
    Submit {
        /// The change file.
        change: PathBuf,
        /// An admin key of a current department.
        #[arg(long)]
        admin_key: PathBuf,
        /// A node's base URL.
        #[arg(long)]
        node: String,
    },
    /// Fetch the validator chain from a node, follow it from genesis, print today's set.
    #[command(
        after_help = "Example:\n  certledger-node gov chain --node http://127.0.0.1:8080 --genesis devnet/genesis.json"
    )]
    Chain {
        /// A node's base URL.
        #[arg(long)]
        node: String,
        /// The genesis file the chain is followed from.
        #[arg(long)]
        genesis: PathBuf,
    },
}

fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,arc_malachitebft=warn,libp2p=warn,ractor=warn")
    });
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .init();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(dispatch(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(certledger_node::issuer::exit_code(&e))
        }
    }
}

async fn dispatch(cmd: Cmd) -> anyhow::Result<()> {
    match cmd {
        Cmd::Keygen { out } => {
            let key = SecretKey::generate(&mut rand::rngs::OsRng);
            KeyFile::new(&key).write(&out)?;
            println!("{}", serde_json::to_string(&key.public_key())?);
            Ok(())
        }
        Cmd::Genesis { departments, chain_id, out } => {
            make_genesis(departments, &chain_id, &out)?;
            println!("wrote {}", out.join("genesis.json").display());
            Ok(())
        }
        Cmd::Run { config, web_dir } => run(&config, web_dir.as_deref()).await,
        Cmd::Gov(g) => {
            use certledger_node::governance as gov;
            let out = match g {
                GovCmd::Propose { node, genesis, add, remove, delay, out } => {
                    gov::propose(&node, &genesis, &add, &remove, delay, &out).await?
                }
                GovCmd::Approve { change, admin_key } => gov::approve(&change, &admin_key)?,
                GovCmd::Submit { change, admin_key, node } => {
                    gov::submit(&change, &admin_key, &node).await?
                }
                GovCmd::Chain { node, genesis } => gov::fetch_and_follow(&node, &genesis).await?,
            };
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(())
        }
        Cmd::Devnet { validators, observers, spares, dir, block_time_ms, demo, keep_running } => {
            let nodes = DevnetNodes { validators, observers, spares };
            devnet(nodes, &dir, block_time_ms, demo, keep_running).await
        }
        Cmd::Demo { dir, holder_key } => {
            let urls = demo::devnet_urls(&dir)?;
            let holder = holder_key.as_deref().map(demo::parse_holder_key).transpose()?;
            demo::run(&dir, &urls, holder).await.map(|_| ())
        }
        Cmd::PeerId { key } => {
            println!("{}", node::peer_id_of(&KeyFile::load(&key)?.public_key())?);
            Ok(())
        }
        Cmd::Bench { dir, url, admin_key, department, rates, count, seconds, max_in_flight } => {
            let (urls, admin, department, data_dirs) = match (dir, url, admin_key) {
                (Some(dir), _, _) => {
                    let genesis = Genesis::load(&dir.join("genesis.json"))?;
                    let dept = genesis.departments.first().context("empty genesis")?.id.clone();
                    let admin = KeyFile::load(&dir.join("keys").join("dept-0.admin.key.json"))?;
                    let urls = demo::devnet_urls(&dir)?;
                    let data = (0..urls.len())
                        .map(|i| dir.join(format!("node-{i}")).join("data"))
                        .collect();
                    (urls, admin, dept, data)
                }
                (None, Some(url), Some(key)) => {
                    let dept = department.context("--department is needed with --admin-key")?;
                    (vec![url.trim_end_matches('/').to_owned()], KeyFile::load(&key)?, dept, vec![])
                }
                _ => bail!("give --dir DIR, or --url, --admin-key and --department"),
            };
            for rate in rates {
                let n = count.unwrap_or(if rate > 0.0 {
                    (rate * seconds).ceil() as usize
                } else {
                    500
                });
                let cfg = bench::BenchConfig {
                    urls: urls.clone(),
                    admin: admin.clone(),
                    department: department.clone(),
                    count: n,
                    rate,
                    max_in_flight,
                    data_dirs: data_dirs.clone(),
                };
                let report = bench::run(&cfg).await?;
                println!("{}", serde_json::to_string(&report)?);
            }
            Ok(())
        }
        Cmd::Type(c) => types_cli::run(c).await,
        Cmd::Issuer(c) => certledger_node::issuer_cli::run_issuer(c).await,
        Cmd::Issue(c) => certledger_node::issuer_cli::run_issue(c).await,
        Cmd::IssueBatch(c) => certledger_node::issuer_cli::run_batch(c).await,
        Cmd::Revoke(c) => {
            certledger_node::issuer_cli::run_status(
                c,
                certledger_core::ledger::CredentialStatus::Revoked,
            )
            .await
        }
        Cmd::Suspend(c) => {
            certledger_node::issuer_cli::run_status(
                c,
                certledger_core::ledger::CredentialStatus::Suspended,
            )
            .await
        }
        Cmd::Reinstate(c) => {
            certledger_node::issuer_cli::run_status(
                c,
                certledger_core::ledger::CredentialStatus::Active,
            )
            .await
        }
        Cmd::Audit(c) => certledger_node::issuer_cli::run_audit(c).await,
        Cmd::Status { url } => {
            let v: serde_json::Value =
                reqwest::get(format!("{}/health", url.trim_end_matches('/')))
                    .await
                    .context("contacting the node")?
                    .json()
                    .await?;
            println!("{}", serde_json::to_string_pretty(&v)?);
            Ok(())
        }
    }
}

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
fn make_genesis(n: usize, chain_id: &str, out: &Path) -> anyhow::Result<Vec<SecretKey>> {
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
        KeyFile::new(&admin).write(&out.join("keys").join(format!("dept-{i}.admin.key.json")))?;
        departments.push(department(i, &key, &admin));
        keys.push(key);
    }
    let g = Genesis { version: 1, chain_id: chain_id.to_owned(), genesis_time: 0, departments };
    g.validate()?;
    std::fs::write(out.join("genesis.json"), serde_json::to_string_pretty(&g)?)?;
    Ok(keys)
}

async fn run(config: &Path, web_dir: Option<&Path>) -> anyhow::Result<()> {
    let cfg = NodeToml::load(config)?;
    let _lock = node::lock_data_dir(&cfg.data_dir, &cfg.key_file)?;
    let handle = node::open_node(&cfg)?;
    let listener = tokio::net::TcpListener::bind(&cfg.http_listen)
        .await
        .with_context(|| format!("binding HTTP on {}", cfg.http_listen))?;
    info!(http = %cfg.http_listen, p2p = %cfg.p2p_listen, "node starting");
    let mut app = http::router(handle.clone());
    if let Some(dir) = certledger_node::web::find_web_dir(web_dir.or(cfg.web_dir.as_deref()))? {
        info!(dir = %dir.display(), "serving the verification page at /verify/");
        app = app.merge(certledger_node::web::router(&dir));
    }
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            error!(error = %e, "HTTP server stopped");
        }
    });
    tokio::spawn(node::cosign_loop(handle.clone()));
    tokio::spawn(certledger_node::forward::forward_loop(handle.clone()));
    tokio::select! {
        r = node::run_consensus(handle, &cfg) => r,
        _ = shutdown_signal() => {
            info!("stopping on signal");
            Ok(())
        }
    }
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
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
struct DevnetNodes {
    validators: usize,
    observers: usize,
    spares: usize,
}

async fn devnet(
    nodes: DevnetNodes,
    dir: &Path,
    block_time_ms: u64,
    run_demo: bool,
    keep_running: bool,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let dir = dir.canonicalize()?;
    let DevnetNodes { validators, observers, spares } = nodes;
    let total = validators + observers + spares;
    let genesis_path = dir.join("genesis.json");
    if !genesis_path.exists() {
        let mut keys = make_genesis(validators, "certledger-devnet", &dir)?;
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
            KeyFile::new(&admin).write(&keys_dir.join(format!("dept-{i}.admin.key.json")))?;
            let dept = department(validators + j, &key, &admin);
            std::fs::write(
                keys_dir.join(format!("dept-{i}.department.json")),
                serde_json::to_string_pretty(&dept)?,
            )?;
            keys.push(key);
        }
        // The verification page, when built (`scripts/build-wasm.sh`), served at /verify/.
        let web_dir = certledger_node::web::find_web_dir(None)?;
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
                        node::peer_id_of(&k.public_key())?
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
                timeout_propose_ms: 2000,
                timeout_vote_ms: 1000,
                danger_propose_bad_state_root: false,
                danger_propose_invalid_entry: None,
                web_dir: web_dir.clone(),
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
            _ = tokio::time::sleep(Duration::from_secs(1)) => {
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
