//! Files a node reads: the genesis file (JSON), the department key file (JSON) and `node.toml`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};
use certledger_core::sig::PublicKey;
use malachitebft_app_channel::app::config::{
    ConsensusConfig, NodeConfig, P2pConfig, ValueSyncConfig,
};
use malachitebft_app_channel::app::types::core::LinearTimeouts;
use serde::{Deserialize, Serialize};

/// Longest a consensus round step may wait however many rounds failed (Malachite's linear
/// timeouts grow by a quarter per round up to this).
pub const MAX_ROUND_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a node tells its peers its height for block sync.
pub const SYNC_STATUS_EVERY: Duration = Duration::from_millis(500);
/// How long a block-sync request to a peer may take.
pub const SYNC_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// `timeout_propose_ms` of the devnet's nodes.
pub const DEVNET_TIMEOUT_PROPOSE_MS: u64 = 2000;
/// `timeout_vote_ms` of the devnet's nodes.
pub const DEVNET_TIMEOUT_VOTE_MS: u64 = 1000;

/// Maximum chain id length in bytes (genesis is refused beyond it; block headers carry it).
pub const MAX_CHAIN_ID_LEN: usize = 64;

/// One department in genesis (every department runs a validator).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GenesisDepartment {
    /// ASCII slug such as `public-security`; also the department's checkpoint key name.
    pub id: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// The department node's consensus and checkpoint key (base64url).
    pub node_key: PublicKey,
    /// Keys that may sign the department's registry entries (base64url).
    pub admin_keys: Vec<PublicKey>,
}

/// The genesis file (JSON form of `certledger_core::ledger::Genesis`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// Format version, 1.
    pub version: u32,
    /// The chain id (also the checkpoint origin).
    pub chain_id: String,
    /// Genesis time, Unix seconds.
    pub genesis_time: u64,
    /// The departments.
    pub departments: Vec<GenesisDepartment>,
}

impl Genesis {
    /// Loads and checks a genesis file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let g: Genesis = serde_json::from_str(&text).context("parsing genesis JSON")?;
        g.validate()?;
        Ok(g)
    }

    /// Checks the file: version 1 and a genesis core's ledger accepts.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.version != 1 {
            bail!("unsupported genesis version {}", self.version);
        }
        if self.chain_id.len() > MAX_CHAIN_ID_LEN {
            bail!("chain id must be at most 64 bytes");
        }
        certledger_core::ledger::Ledger::from_genesis(&self.to_core())
            .map_err(|e| anyhow::anyhow!("genesis refused by the ledger: {e}"))?;
        Ok(())
    }

    /// Core's genesis: departments sorted by id, admin keys sorted.
    pub fn to_core(&self) -> certledger_core::ledger::Genesis {
        let mut departments: Vec<certledger_core::ledger::Department> = self
            .departments
            .iter()
            .map(|d| {
                let mut admin_keys = d.admin_keys.clone();
                admin_keys.sort();
                certledger_core::ledger::Department {
                    id: d.id.clone(),
                    name_zh: d.name_zh.clone(),
                    name_en: d.name_en.clone(),
                    node_key: d.node_key,
                    admin_keys,
                }
            })
            .collect();
        departments.sort_by(|a, b| a.id.cmp(&b.id));
        certledger_core::ledger::Genesis {
            chain_id: self.chain_id.clone(),
            genesis_time: self.genesis_time,
            departments,
        }
    }

    /// Validator (node) keys.
    pub fn validator_keys(&self) -> Vec<PublicKey> {
        self.departments.iter().map(|d| d.node_key).collect()
    }

    /// The department whose node key is `key`.
    pub fn department_of(&self, key: &PublicKey) -> Option<&GenesisDepartment> {
        self.departments.iter().find(|d| d.node_key == *key)
    }
}

/// Key files live in [`crate::keyfile`] (0600 from the first byte, atomic, never overwritten,
/// admin and issuer keys sealed under a passphrase).
pub use crate::keyfile::KeyFile;

/// `node.toml`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeToml {
    /// Human-readable node name.
    pub moniker: String,
    /// Where sled, the WAL and the lock file live.
    pub data_dir: PathBuf,
    /// The department key file.
    pub key_file: PathBuf,
    /// The genesis file.
    pub genesis_file: PathBuf,
    /// Whether this node votes (its key must be a genesis validator).
    pub validator: bool,
    /// libp2p listen multiaddr, e.g. `/ip4/127.0.0.1/tcp/27000`.
    pub p2p_listen: String,
    /// Multiaddrs of the other departments' nodes (only these may connect).
    pub persistent_peers: Vec<String>,
    /// HTTP listen address, e.g. `127.0.0.1:8080`.
    pub http_listen: String,
    /// Base URLs of the other nodes' HTTP APIs (entry forwarding, cosignature collection).
    #[serde(default)]
    pub peer_http: Vec<String>,
    /// Minimum time per height in milliseconds.
    #[serde(default = "default_block_time_ms")]
    pub block_time_ms: u64,
    /// Propose timeout in milliseconds.
    #[serde(default = "default_propose_ms")]
    pub timeout_propose_ms: u64,
    /// Prevote/precommit timeouts in milliseconds.
    #[serde(default = "default_vote_ms")]
    pub timeout_vote_ms: u64,
    /// TESTS ONLY: propose blocks whose header claims a wrong state root, to check that honest
    /// validators refuse them. Never set this on a real node.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub danger_propose_bad_state_root: bool,
    /// TESTS ONLY: a signed entry (base64url of its canonical bytes) this node adds to every
    /// block it proposes although the ledger refuses it, to check that honest validators refuse
    /// such blocks. Never set this on a real node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub danger_propose_invalid_entry: Option<String>,
    /// The verification page's directory, served at `/verify/` (`run --web-dir` overrides it);
    /// a relative path resolves against this file's directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_dir: Option<PathBuf>,
    /// The HTTP front door: connection and request caps, time-outs, rate limit, TLS
    /// (`[http]`; every setting has a default, see `specs/node.md`).
    #[serde(default)]
    pub http: HttpSettings,
}

/// `[http]` in `node.toml`: what the HTTP API accepts before any handler runs
/// (`specs/node.md`, "HTTP front door").
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// Most open client connections; a connection over the cap is closed at once.
    pub max_connections: usize,
    /// Most requests handled at once; beyond it the answer is 503 `busy` with `Retry-After`.
    pub max_concurrent_requests: usize,
    /// Time a connection has to send a request's complete headers (and to finish the TLS
    /// handshake), milliseconds; then it is closed.
    pub header_timeout_ms: u64,
    /// Time a request has to send its complete body, milliseconds; then 408 `slow_body`.
    pub body_timeout_ms: u64,
    /// Requests per second each client IP address may make on average; 0 turns the limit off.
    pub rate_limit_per_second: u32,
    /// Requests a client IP address may make in one burst above that rate.
    pub rate_limit_burst: u32,
    /// PEM certificate chain: with [`HttpSettings::tls_key`], the API is served over TLS only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of [`HttpSettings::tls_cert`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
    /// PEM CA certificate(s) the node trusts for `https://` peers in `peer_http`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer_ca: Option<PathBuf>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            max_concurrent_requests: 256,
            header_timeout_ms: 10_000,
            body_timeout_ms: 10_000,
            rate_limit_per_second: 1000,
            rate_limit_burst: 2000,
            tls_cert: None,
            tls_key: None,
            peer_ca: None,
        }
    }
}

/// How long the node's and the tools' HTTP clients keep an idle connection: below the default
/// `[http] header_timeout_ms`, after which a node closes idle connections.
pub const CLIENT_IDLE_TIMEOUT: Duration = Duration::from_secs(5);

/// Most bytes of a CA certificate file.
pub const MAX_CA_FILE_BYTES: u64 = 1024 * 1024;

/// An HTTP client builder that trusts, for `https://` URLs, the CA certificates in the PEM file
/// `ca` and nothing else (no built-in roots: department nodes use the government's own CA).
/// Without `ca`, `https://` URLs fail with an unknown-issuer error. Used by the node (peers)
/// and every tool (`--ca`, `CERTLEDGER_CA`).
pub fn http_client(ca: Option<&Path>) -> anyhow::Result<reqwest::ClientBuilder> {
    // Idle pooled connections are dropped before a node's default header time-out closes them.
    let mut builder = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .pool_idle_timeout(CLIENT_IDLE_TIMEOUT);
    if let Some(path) = ca {
        let len = std::fs::metadata(path)
            .with_context(|| format!("reading the CA file {}", path.display()))?
            .len();
        if len > MAX_CA_FILE_BYTES {
            bail!("the CA file {} is larger than 1 MiB", path.display());
        }
        let pem = std::fs::read(path)
            .with_context(|| format!("reading the CA file {}", path.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .with_context(|| format!("{} is not a PEM certificate bundle", path.display()))?;
        if certs.is_empty() {
            bail!("the CA file {} holds no certificate", path.display());
        }
        for c in certs {
            builder = builder.add_root_certificate(c);
        }
    }
    Ok(builder)
}

impl HttpSettings {
    /// Refuses settings that would stop the API serving anyone.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.max_connections == 0 || self.max_concurrent_requests == 0 {
            bail!("[http] max_connections and max_concurrent_requests must be at least 1");
        }
        if self.header_timeout_ms == 0 || self.body_timeout_ms == 0 {
            bail!("[http] header_timeout_ms and body_timeout_ms must be at least 1");
        }
        self.tls_files().map(|_| ())
    }

    /// The certificate and key files when TLS is configured; one without the other is an error.
    pub fn tls_files(&self) -> anyhow::Result<Option<(&Path, &Path)>> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(c), Some(k)) => Ok(Some((c, k))),
            (None, None) => Ok(None),
            _ => bail!("[http] tls_cert and tls_key must be given together"),
        }
    }
}

fn default_block_time_ms() -> u64 {
    500
}
fn default_propose_ms() -> u64 {
    2000
}
fn default_vote_ms() -> u64 {
    1000
}

impl NodeToml {
    /// Loads `node.toml`; relative paths are resolved against its directory.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let mut c: NodeToml = toml::from_str(&text).context("parsing node.toml")?;
        c.http.validate()?;
        let base = path.parent().unwrap_or(Path::new("."));
        for p in [&mut c.data_dir, &mut c.key_file, &mut c.genesis_file]
            .into_iter()
            .chain(c.web_dir.as_mut())
            .chain(c.http.tls_cert.as_mut())
            .chain(c.http.tls_key.as_mut())
            .chain(c.http.peer_ca.as_mut())
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        Ok(c)
    }

    /// The decoded [`NodeToml::danger_propose_invalid_entry`].
    pub fn danger_invalid_entry(&self) -> anyhow::Result<Option<Vec<u8>>> {
        use base64::Engine as _;
        self.danger_propose_invalid_entry
            .as_deref()
            .map(|t| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(t)
                    .context("danger_propose_invalid_entry is not base64url")
            })
            .transpose()
    }

    /// The consensus timeouts.
    pub fn timeouts(&self) -> LinearTimeouts {
        let propose = Duration::from_millis(self.timeout_propose_ms);
        let vote = Duration::from_millis(self.timeout_vote_ms);
        LinearTimeouts {
            propose,
            propose_delta: propose / 4,
            prevote: vote,
            prevote_delta: vote / 4,
            precommit: vote,
            precommit_delta: vote / 4,
            rebroadcast: propose + vote + vote,
            max_timeout: MAX_ROUND_TIMEOUT,
        }
    }

    /// Malachite's configuration for this node.
    pub fn engine_config(&self) -> anyhow::Result<EngineConfig> {
        let mut p2p = P2pConfig {
            listen_addr: self.p2p_listen.parse().context("p2p_listen is not a multiaddr")?,
            persistent_peers_only: true,
            ..P2pConfig::default()
        };
        for p in &self.persistent_peers {
            p2p.persistent_peers
                .push(p.parse().with_context(|| format!("peer {p} is not a multiaddr"))?);
        }
        p2p.discovery.enabled = false;
        let consensus = ConsensusConfig { p2p, ..ConsensusConfig::default() };
        let value_sync = ValueSyncConfig {
            enabled: true,
            status_update_interval: SYNC_STATUS_EVERY,
            request_timeout: SYNC_REQUEST_TIMEOUT,
            ..ValueSyncConfig::default()
        };
        Ok(EngineConfig { moniker: self.moniker.clone(), consensus, value_sync })
    }
}

/// What Malachite's engine builder reads.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    moniker: String,
    consensus: ConsensusConfig,
    value_sync: ValueSyncConfig,
}

impl NodeConfig for EngineConfig {
    fn moniker(&self) -> &str {
        &self.moniker
    }
    fn consensus(&self) -> &ConsensusConfig {
        &self.consensus
    }
    fn consensus_mut(&mut self) -> &mut ConsensusConfig {
        &mut self.consensus
    }
    fn value_sync(&self) -> &ValueSyncConfig {
        &self.value_sync
    }
    fn value_sync_mut(&mut self) -> &mut ValueSyncConfig {
        &mut self.value_sync
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_dir_is_optional_and_resolves_against_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let base = "moniker = \"n\"\ndata_dir = \"data\"\nkey_file = \"k.json\"\n\
            genesis_file = \"g.json\"\nvalidator = true\np2p_listen = \"/ip4/127.0.0.1/tcp/1\"\n\
            persistent_peers = []\nhttp_listen = \"127.0.0.1:1\"\n";
        let path = dir.path().join("node.toml");
        std::fs::write(&path, base).unwrap();
        let c = NodeToml::load(&path).unwrap();
        assert_eq!(c.web_dir, None);
        assert!(!toml::to_string(&c).unwrap().contains("web_dir"));
        std::fs::write(&path, format!("{base}web_dir = \"web\"\n")).unwrap();
        assert_eq!(NodeToml::load(&path).unwrap().web_dir, Some(dir.path().join("web")));
        std::fs::write(&path, format!("{base}web_dir = \"/srv/verify\"\n")).unwrap();
        assert_eq!(NodeToml::load(&path).unwrap().web_dir, Some(PathBuf::from("/srv/verify")));
    }

    #[test]
    fn http_settings_default_resolve_and_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let base = "moniker = \"n\"\ndata_dir = \"data\"\nkey_file = \"k.json\"\n\
            genesis_file = \"g.json\"\nvalidator = true\np2p_listen = \"/ip4/127.0.0.1/tcp/1\"\n\
            persistent_peers = []\nhttp_listen = \"127.0.0.1:1\"\n";
        let path = dir.path().join("node.toml");
        std::fs::write(&path, base).unwrap();
        assert_eq!(NodeToml::load(&path).unwrap().http, HttpSettings::default());
        std::fs::write(
            &path,
            format!("{base}[http]\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\nrate_limit_per_second = 5\n"),
        )
        .unwrap();
        let c = NodeToml::load(&path).unwrap();
        assert_eq!(c.http.tls_cert, Some(dir.path().join("c.pem")));
        assert_eq!(c.http.rate_limit_per_second, 5);
        assert_eq!(c.http.max_connections, 1024);
        // Written back and read again, the same.
        std::fs::write(&path, toml::to_string(&c).unwrap()).unwrap();
        assert_eq!(NodeToml::load(&path).unwrap().http, c.http);
        for bad in
            ["tls_cert = \"c.pem\"", "max_connections = 0", "body_timeout_ms = 0", "nope = 1"]
        {
            std::fs::write(&path, format!("{base}[http]\n{bad}\n")).unwrap();
            assert!(NodeToml::load(&path).is_err(), "{bad} was accepted");
        }
    }
}
