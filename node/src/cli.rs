//! The `certledger-node` command line: one binary for the department server (`run`, `keygen`,
//! `genesis`, `peer-id`, `status`) and the department tools (`devnet`, `demo`, `bench`, `gov`,
//! `type`, `issuer`, `issue`, `issue-batch`, `revoke`, `suspend`, `reinstate`, `audit`,
//! `evidence`).
//! `main` parses [`Cli`], calls [`dispatch`] and maps the error to an exit code.

use std::path::PathBuf;

use anyhow::{bail, Context as _};
use certledger_core::sig::SecretKey;
use clap::{Parser, Subcommand};

use crate::config::{Genesis, KeyFile};
use crate::logging::LogFormat;
use crate::server;
use crate::server::fatal::Fatal;
use crate::tools::{
    bench, demo, devnet, evidence_cli, governance as gov, issuer_cli, types_cli, verifier_cli,
};

/// The `certledger-node` command line.
#[derive(Parser)]
#[command(name = "certledger-node", version, about = "A certledger department node")]
pub struct Cli {
    /// Log format on stderr: `text` for people, `json` (one object per line) for collectors.
    #[arg(long, value_enum, global = true, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// CA certificate(s), PEM, that the tools trust for `https://` node URLs (no other roots).
    #[arg(long, global = true, env = "CERTLEDGER_CA", value_name = "PEM")]
    pub ca: Option<PathBuf>,
    /// A file whose first line is the passphrase of sealed admin and issuer key files (else
    /// CERTLEDGER_KEY_PASSPHRASE_FILE, CERTLEDGER_KEY_PASSPHRASE, or a prompt at a terminal).
    #[arg(long, global = true)]
    pub passphrase_file: Option<PathBuf>,
    #[command(subcommand)]
    /// The command.
    pub command: Cmd,
}

/// A `certledger-node` command.
#[derive(Subcommand)]
pub enum Cmd {
    /// Generate a department Ed25519 key file.
    #[command(after_help = "Example:\n  certledger-node keygen --out dept.key.json")]
    Keygen {
        /// Where to write the key file (created with mode 0600; an existing file is never
        /// overwritten).
        #[arg(long)]
        out: PathBuf,
        /// Seal the key under a passphrase (admin and issuer keys); node keys stay plain so
        /// the node starts unattended.
        #[arg(long)]
        encrypt: bool,
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
        /// Output directory (genesis.json and keys/dept-`<i>`.key.json).
        #[arg(long)]
        out: PathBuf,
    },
    /// Re-verify a stopped node's store from genesis: re-execute every stored block, check it
    /// against its header, and check the stored ledger against the result.
    #[command(
        after_help = "Example:\n  certledger-node verify-store --config ./net/node-0/node.toml"
    )]
    VerifyStore {
        /// Path to node.toml.
        #[arg(long)]
        config: PathBuf,
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
        /// and department file are keys/dept-`<i>`.{key,admin.key,department}.json.
        #[arg(long, default_value_t = 0)]
        spares: usize,
        /// Directory for keys, configs, data and logs.
        #[arg(long)]
        dir: PathBuf,
        /// The chain id of a new devnet (each ledger of a trust list needs its own).
        #[arg(long, default_value = "certledger-devnet")]
        chain_id: String,
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
        /// The devnet directory (genesis.json, keys/, node-`<i>`/node.toml).
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
        /// Scale mode: grow one node's ledger in process through its write path to each of
        /// these sizes (comma-separated entry counts) in a fresh store under --dir, one JSON
        /// object per size.
        #[arg(long, value_delimiter = ',')]
        scale: Vec<u64>,
        /// Entries per block in scale mode.
        #[arg(long, default_value_t = 1000)]
        scale_block: usize,
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
    Issuer(issuer_cli::IssuerCmd),
    /// Verifier registry: register, rotate, retire; sign a presentation request (specs/request.md).
    #[command(subcommand)]
    Verifier(verifier_cli::VerifierCmd),
    /// Equivocation evidence: check an evidence file offline against a trust root
    /// (specs/evidence.md).
    #[command(subcommand)]
    Evidence(evidence_cli::EvidenceCmd),
    /// Issue one credential: sign an SD-JWT VC (or, --format w3c, a W3C VC 2.0), anchor its
    /// commitment, write the credential file.
    Issue(issuer_cli::IssueCmd),
    /// Issue one credential per CSV / JSON Lines row, concurrently and resumably.
    IssueBatch(issuer_cli::BatchCmd),
    /// Serve the W3C VC-API endpoints (credentials/issue, credentials/verify,
    /// presentations/verify) for eddsa-jcs-2022, for conformance suites; not anchored.
    VcApi(crate::tools::vc_api::VcApiCmd),
    /// Revoke a credential (final).
    Revoke(issuer_cli::StatusCmd),
    /// Suspend a credential (reinstate lifts it).
    Suspend(issuer_cli::StatusCmd),
    /// Reinstate a suspended credential.
    Reinstate(issuer_cli::StatusCmd),
    /// Fetch and verify a department's or a credential's audit trail.
    #[command(subcommand)]
    Audit(issuer_cli::AuditCmd),
    /// Print a node's /health.
    #[command(after_help = "Example:\n  certledger-node status --url http://127.0.0.1:8080")]
    Status {
        /// Base URL of the node's HTTP API.
        #[arg(long)]
        url: String,
    },
    /// Print a shell completion script for this command line.
    #[command(
        after_help = "Examples:\n  certledger-node completions bash > /etc/bash_completion.d/certledger-node\n  \
        certledger-node completions zsh > ~/.zfunc/_certledger-node"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), or write one page per command into a directory.
    #[command(
        after_help = "Examples:\n  certledger-node man | man -l -\n  certledger-node man --dir ./man"
    )]
    Man {
        /// Write `certledger-node.1` and `certledger-node-<command>.1` pages here.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

/// The completion script of `shell` for the `certledger-node` command line.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "certledger-node", &mut out);
    out
}

/// The manual page of the `certledger-node` command line (roff).
pub fn man_page() -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(&mut out)?;
    Ok(out)
}

/// Writes the top page and one page per subcommand into `dir`; returns the files written.
pub fn write_man_pages(dir: &std::path::Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let cmd = <Cli as clap::CommandFactory>::command();
    let mut written = Vec::new();
    let top = dir.join("certledger-node.1");
    std::fs::write(&top, man_page()?).with_context(|| format!("writing {}", top.display()))?;
    written.push(top);
    for sub in cmd.get_subcommands() {
        let name = format!("certledger-node-{}", sub.get_name());
        let mut out = Vec::new();
        clap_mangen::Man::new(sub.clone()).title(name.clone()).render(&mut out)?;
        let path = dir.join(format!("{name}.1"));
        std::fs::write(&path, out).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// `certledger-node gov ...`: a change is drafted, approved by the admins of more than two
/// thirds of the current departments, then submitted by any of them.
#[derive(Subcommand)]
pub enum GovCmd {
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
    /// Draft this ledger's root for verifiers' trust lists (`specs/trust-list.md`): its
    /// departments and checkpoint quorum from a trust root JSON with departments (`GET
    /// /v1/trust-root`, or today's set), its names and a sequence number higher than any
    /// published before. Each department's admin then signs it with `gov root-sign`.
    #[command(
        after_help = "Example:\n  certledger-node gov root-draft --trust-root trust-root.json --name-zh 上海市 --name-en Shanghai --sequence 1 --out shanghai.ledger-root.json"
    )]
    RootDraft {
        /// A trust root JSON that lists its departments.
        #[arg(long)]
        trust_root: PathBuf,
        /// The ledger's Chinese name.
        #[arg(long)]
        name_zh: String,
        /// The ledger's English name.
        #[arg(long)]
        name_en: String,
        /// Higher than every earlier root of this ledger (verifiers refuse a lower one).
        #[arg(long)]
        sequence: u64,
        /// Where to write the unsigned root (refused if the file exists).
        #[arg(long)]
        out: PathBuf,
    },
    /// Add one department admin's signature to a ledger root (more than two thirds of the
    /// departments must sign before verifiers accept it).
    #[command(
        after_help = "Example:\n  certledger-node gov root-sign shanghai.ledger-root.json --admin-key keys/dept-0.admin.key.json"
    )]
    RootSign {
        /// The ledger root file (updated in place).
        root: PathBuf,
        /// The signing admin key file.
        #[arg(long)]
        admin_key: PathBuf,
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

/// The process exit code for an error of [`dispatch`]: the node's fatal conditions
/// ([`Fatal::exit_code`]: 70, 74), else the tools' failure classes (`specs/node.md`).
pub fn exit_code(e: &anyhow::Error) -> u8 {
    match Fatal::find(e) {
        Some(f) => f.exit_code(),
        None => crate::tools::issuer::exit_code(e),
    }
}

/// Runs one command.
pub async fn dispatch(cmd: Cmd) -> anyhow::Result<()> {
    match cmd {
        Cmd::Keygen { out, encrypt } => {
            let key = SecretKey::generate(&mut rand::rngs::OsRng);
            let file = if encrypt {
                KeyFile::sealed_from_sources(&key, "the new key")?
            } else {
                KeyFile::new(&key)
            };
            file.write(&out)?;
            println!("{}", serde_json::to_string(&key.public_key())?);
            Ok(())
        }
        Cmd::Genesis { departments, chain_id, out } => {
            devnet::make_genesis(departments, &chain_id, &out)?;
            println!("wrote {}", out.join("genesis.json").display());
            Ok(())
        }
        Cmd::VerifyStore { config } => {
            let cfg = crate::config::NodeToml::load(&config)?;
            let h = server::handle::verify_store(&cfg)?;
            println!("store verified from genesis to height {h}");
            Ok(())
        }
        Cmd::Run { config, web_dir } => server::run(&config, web_dir.as_deref()).await,
        Cmd::Gov(g) => {
            let out = match g {
                GovCmd::Propose { node, genesis, add, remove, delay, out } => {
                    gov::propose(&node, &genesis, &add, &remove, delay, &out).await?
                }
                GovCmd::Approve { change, admin_key } => gov::approve(&change, &admin_key)?,
                GovCmd::Submit { change, admin_key, node } => {
                    gov::submit(&change, &admin_key, &node).await?
                }
                GovCmd::Chain { node, genesis } => gov::fetch_and_follow(&node, &genesis).await?,
                GovCmd::RootDraft { trust_root, name_zh, name_en, sequence, out } => {
                    gov::root_draft(&trust_root, &name_zh, &name_en, sequence, &out)?
                }
                GovCmd::RootSign { root, admin_key } => gov::root_sign(&root, &admin_key)?,
            };
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(())
        }
        Cmd::Devnet {
            validators,
            observers,
            spares,
            dir,
            chain_id,
            block_time_ms,
            demo,
            keep_running,
        } => {
            let nodes = devnet::DevnetNodes { validators, observers, spares };
            devnet::devnet(nodes, &dir, &chain_id, block_time_ms, demo, keep_running).await
        }
        Cmd::Demo { dir, holder_key } => {
            let urls = demo::devnet_urls(&dir)?;
            let holder = holder_key.as_deref().map(demo::parse_holder_key).transpose()?;
            demo::run(&dir, &urls, holder).await.map(|_| ())
        }
        Cmd::PeerId { key } => {
            println!("{}", server::consensus::peer_id_of(&KeyFile::load(&key)?.public_key())?);
            Ok(())
        }
        Cmd::Bench {
            scale,
            scale_block,
            dir,
            url,
            admin_key,
            department,
            rates,
            count,
            seconds,
            max_in_flight,
        } => {
            if !scale.is_empty() {
                let dir = dir.context("scale mode needs --dir (a new directory for the store)")?;
                crate::tools::scale::run(&dir, &scale, scale_block.max(1))?;
                return Ok(());
            }
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
        Cmd::Issuer(c) => issuer_cli::run_issuer(c).await,
        Cmd::Verifier(c) => verifier_cli::run(c).await,
        Cmd::Evidence(c) => evidence_cli::run(c),
        Cmd::Issue(c) => issuer_cli::run_issue(c).await,
        Cmd::IssueBatch(c) => issuer_cli::run_batch(c).await,
        Cmd::VcApi(c) => crate::tools::vc_api::run(c).await,
        Cmd::Revoke(c) => {
            issuer_cli::run_status(c, certledger_core::ledger::CredentialStatus::Revoked).await
        }
        Cmd::Suspend(c) => {
            issuer_cli::run_status(c, certledger_core::ledger::CredentialStatus::Suspended).await
        }
        Cmd::Reinstate(c) => {
            issuer_cli::run_status(c, certledger_core::ledger::CredentialStatus::Active).await
        }
        Cmd::Audit(c) => issuer_cli::run_audit(c).await,
        Cmd::Completions { shell } => {
            use std::io::Write as _;
            std::io::stdout().write_all(&completions(shell))?;
            Ok(())
        }
        Cmd::Man { dir: None } => {
            use std::io::Write as _;
            std::io::stdout().write_all(&man_page()?)?;
            Ok(())
        }
        Cmd::Man { dir: Some(dir) } => {
            for path in write_man_pages(&dir)? {
                println!("wrote {}", path.display());
            }
            Ok(())
        }
        Cmd::Status { url } => {
            let health = crate::tools::client::NodeClient::new(&url, std::time::Duration::ZERO)?
                .health()
                .await
                .context("contacting the node")?;
            println!("{}", serde_json::to_string_pretty(&health)?);
            Ok(())
        }
    }
}
