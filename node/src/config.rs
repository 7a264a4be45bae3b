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
        let base = path.parent().unwrap_or(Path::new("."));
        for p in [&mut c.data_dir, &mut c.key_file, &mut c.genesis_file]
            .into_iter()
            .chain(c.web_dir.as_mut())
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
            max_timeout: Duration::from_secs(30),
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
            status_update_interval: Duration::from_millis(500),
            request_timeout: Duration::from_secs(5),
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
}
