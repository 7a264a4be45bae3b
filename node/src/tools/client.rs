//! The tools' client of a node's HTTP API ([`NodeClient`]): submissions, the one
//! submit-and-wait loop, proofs and state lookups, each wait bounded.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use certledger_core::bundle::Proofs;
use certledger_core::codec::{Decode as _, Encode as _};
use certledger_core::ledger::{self, IssuerRecord, SignedEntry};
use certledger_core::sig::PublicKey;
use certledger_core::verify::{self, TrustRoot};
use serde_json::Value;

use crate::api::{EntryState, EntryStatus, ErrorBody, Health, SubmitRequest};
use crate::tools::failure::{input, unavailable, Failure};

/// The CA file the tools trust for `https://` nodes (`--ca`, `CERTLEDGER_CA`), set once at
/// start-up by [`set_ca`].
static CA: OnceLock<PathBuf> = OnceLock::new();

/// Sets the CA file (PEM) every node client of this process trusts; the first call wins.
pub fn set_ca(path: Option<PathBuf>) {
    if let Some(p) = path {
        let _ = CA.set(p);
    }
}

/// An HTTP client builder trusting the [`set_ca`] certificates (none: `https://` fails).
pub fn http_builder() -> anyhow::Result<reqwest::ClientBuilder> {
    crate::config::http_client(CA.get().map(PathBuf::as_path))
}

/// Where a committed entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Committed {
    /// Block height.
    pub height: u64,
    /// Log index.
    pub log_index: u64,
}

/// A node's HTTP API, with bounded waits.
#[derive(Clone, Debug)]
pub struct NodeClient {
    base: String,
    http: reqwest::Client,
    wait: Duration,
}

/// What a node answered to one submission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Submitted {
    /// Queued (HTTP 202).
    Accepted,
    /// The node already holds it, pending or committed (HTTP 409 `duplicate`).
    Duplicate,
    /// The ledger refused it (HTTP 4xx): the node's error code and message.
    Refused {
        /// HTTP status.
        status: u16,
        /// The node's error code (`conflict`, `invalid`, ...).
        code: String,
        /// The node's message.
        message: String,
    },
}

/// Pause between two polls of an entry's status.
const POLL_EVERY: Duration = Duration::from_millis(150);
/// Pause before retrying a submission the node could not take (connection error, HTTP 5xx).
const RETRY_EVERY: Duration = Duration::from_millis(300);
/// Pause after the node answered 429 (its `Retry-After` is whole seconds, at least 1).
const RATE_LIMITED_PAUSE: Duration = Duration::from_secs(1);
/// How long an entry may be missing from a node before it is submitted again.
const RESUBMIT_AFTER: Duration = Duration::from_secs(2);

impl NodeClient {
    /// A client of the node at `base` whose waits (commit, proofs) last at most `wait`.
    pub fn new(base: &str, wait: Duration) -> anyhow::Result<Self> {
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(input(format!("--node `{base}` must be an http:// or https:// URL")));
        }
        let http = http_builder()?
            .timeout(Duration::from_secs(10))
            .build()
            .context("building the HTTP client")?;
        Ok(Self { base, http, wait })
    }

    /// The node's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET path`: status and JSON body (`Null` when not JSON).
    pub async fn get(&self, path: &str) -> anyhow::Result<(u16, Value)> {
        let url = format!("{}{path}", self.base);
        let r =
            self.http.get(&url).send().await.map_err(|e| unavailable(format!("GET {url}: {e}")))?;
        let status = r.status().as_u16();
        Ok((status, r.json::<Value>().await.unwrap_or(Value::Null)))
    }

    /// The node's chain id (from `/health`).
    pub async fn chain_id(&self) -> anyhow::Result<String> {
        let (s, v) = self.get("/health").await?;
        match serde_json::from_value::<Health>(v) {
            Ok(h) if s == 200 => Ok(h.chain_id),
            _ => Err(unavailable(format!(
                "{}/health answered HTTP {s} without a chain id",
                self.base
            ))),
        }
    }

    /// The trust root: from `file` when given, else the node's `/v1/trust-root` (which trusts
    /// the node; a verifier should hold an out-of-band copy).
    pub async fn trust_root(&self, file: Option<&Path>) -> anyhow::Result<TrustRoot> {
        let text = match file {
            Some(path) => {
                let len = std::fs::metadata(path)
                    .map_err(|e| input(format!("reading {}: {e}", path.display())))?
                    .len();
                if len > verify::MAX_TRUST_ROOT_BYTES as u64 {
                    return Err(input(format!("{} is larger than 64 KiB", path.display())));
                }
                std::fs::read_to_string(path)
                    .map_err(|e| input(format!("reading {}: {e}", path.display())))?
            }
            None => {
                let url = format!("{}/v1/trust-root", self.base);
                let r = self
                    .http
                    .get(&url)
                    .send()
                    .await
                    .map_err(|e| unavailable(format!("GET {url}: {e}")))?;
                if !r.status().is_success() {
                    return Err(unavailable(format!("GET {url}: HTTP {}", r.status())));
                }
                r.text().await.map_err(|e| unavailable(format!("GET {url}: {e}")))?
            }
        };
        TrustRoot::from_json(&text).map_err(|e| input(format!("trust root: {e}")))
    }

    /// Submits an entry once (retrying, within the wait, while the node cannot take it) and
    /// returns what the node answered. A refusal is an answer here, not an error.
    pub async fn submit(&self, entry: &[u8]) -> anyhow::Result<Submitted> {
        let url = format!("{}/v1/entries", self.base);
        let body = SubmitRequest { entry: URL_SAFE_NO_PAD.encode(entry) };
        let deadline = Instant::now() + self.wait;
        loop {
            let sent = self.http.post(&url).json(&body).send().await;
            let (status, v) = match sent {
                Ok(r) => {
                    let s = r.status().as_u16();
                    (s, r.json::<Value>().await.unwrap_or(Value::Null))
                }
                Err(e) if Instant::now() < deadline => {
                    tracing::debug!(error = %e, "submission failed; retrying");
                    tokio::time::sleep(RETRY_EVERY).await;
                    continue;
                }
                Err(e) => return Err(unavailable(format!("POST {url}: {e}"))),
            };
            let ErrorBody { error, message } =
                serde_json::from_value(v.clone()).unwrap_or_default();
            match (status, error.as_str()) {
                (202, _) => return Ok(Submitted::Accepted),
                (409, "duplicate") => return Ok(Submitted::Duplicate),
                (500..=599, _) if Instant::now() < deadline => {
                    tokio::time::sleep(RETRY_EVERY).await;
                }
                // Over the node's per-client rate limit: not a refusal of the entry.
                (429, _) if Instant::now() < deadline => {
                    tokio::time::sleep(RATE_LIMITED_PAUSE).await;
                }
                (400..=499, _) => return Ok(Submitted::Refused { status, code: error, message }),
                _ => return Err(unavailable(format!("POST {url}: HTTP {status} {v}"))),
            }
        }
    }

    /// Submits an entry, failing with [`Failure::Refused`] when the ledger refuses it. An
    /// entry the node already holds (committed or pending) counts as submitted.
    async fn submit_accepted(&self, entry: &[u8]) -> anyhow::Result<()> {
        match self.submit(entry).await? {
            Submitted::Accepted | Submitted::Duplicate => Ok(()),
            Submitted::Refused { status, code, message } => Err(Failure::Refused(format!(
                "the ledger refused the entry: {code}: {message} (HTTP {status})"
            ))
            .into()),
        }
    }

    /// Submits an entry and waits until it is committed ([`Self::wait_committed`]).
    pub async fn submit_and_wait(&self, entry: &SignedEntry) -> anyhow::Result<Committed> {
        self.submit_accepted(&entry.to_bytes()).await?;
        self.wait_committed(entry).await
    }

    /// Waits (bounded) until a submitted entry is committed. An entry that vanished from the
    /// mempool is submitted again (the ledger then says why, if it now refuses it). The one
    /// submit-and-wait loop of the tools (issuer commands, governance, types, demo, bench).
    pub async fn wait_committed(&self, entry: &SignedEntry) -> anyhow::Result<Committed> {
        let bytes = entry.to_bytes();
        let id = hex::encode(entry.id());
        let deadline = Instant::now() + self.wait;
        let mut missing_since: Option<Instant> = None;
        loop {
            let (s, v) = match self.get(&format!("/v1/entries/{id}")).await {
                Ok(x) => x,
                Err(_) if Instant::now() < deadline => (0, Value::Null),
                Err(e) => return Err(e),
            };
            if s == 200 {
                match serde_json::from_value::<EntryStatus>(v) {
                    Ok(EntryStatus {
                        state: EntryState::Committed { height, log_index, .. },
                        ..
                    }) => return Ok(Committed { height, log_index }),
                    Ok(_) => {}
                    Err(e) => return Err(unavailable(format!("entry status: {e}"))),
                }
            }
            if s == 404 {
                // Dropped from the mempool (e.g. no longer valid when a block was built):
                // submitting again either queues it or returns the ledger's reason.
                let since = *missing_since.get_or_insert_with(Instant::now);
                if since.elapsed() > RESUBMIT_AFTER {
                    self.submit_accepted(&bytes).await?;
                    missing_since = None;
                }
            } else {
                missing_since = None;
            }
            if Instant::now() > deadline {
                return Err(unavailable(format!(
                    "entry {id} was not committed on {} within {:?}",
                    self.base, self.wait
                )));
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// The proofs of a credential, waiting (bounded) until a cosigned checkpoint covers it.
    pub async fn proofs(&self, credential_id: &[u8; 32]) -> anyhow::Result<Proofs> {
        let path = format!("/v1/proofs/credential/{}", URL_SAFE_NO_PAD.encode(credential_id));
        let deadline = Instant::now() + self.wait;
        loop {
            let (s, v) = match self.get(&path).await {
                Ok(x) => x,
                Err(_) if Instant::now() < deadline => (0, Value::Null),
                Err(e) => return Err(e),
            };
            if s == 200 {
                let b64 = v["proofs"]
                    .as_str()
                    .ok_or_else(|| unavailable("proofs response without proofs"))?;
                let bytes = URL_SAFE_NO_PAD
                    .decode(b64)
                    .map_err(|_| unavailable("proofs are not base64url"))?;
                return Proofs::decode_bytes(&bytes)
                    .map_err(|e| unavailable(format!("proofs: {e}")));
            }
            if Instant::now() > deadline {
                return Err(unavailable(format!(
                    "no proofs from {} within {:?}: HTTP {s} {v}",
                    self.base, self.wait
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The current (cosigned-checkpoint) value of a state key, if present.
    pub async fn state_value(&self, key: &[u8; 32]) -> anyhow::Result<Option<Vec<u8>>> {
        let (s, v) = self.get(&format!("/v1/proofs/state/{}", hex::encode(key))).await?;
        if s != 200 {
            return Err(unavailable(format!("state lookup on {}: HTTP {s} {v}", self.base)));
        }
        match v["value"].as_str() {
            None => Ok(None),
            Some(b64) => URL_SAFE_NO_PAD
                .decode(b64)
                .map(Some)
                .map_err(|_| unavailable("state value is not base64url")),
        }
    }

    /// An issuer key's registry record as of the newest cosigned checkpoint.
    pub async fn issuer_record(&self, key: &PublicKey) -> anyhow::Result<Option<IssuerRecord>> {
        match self.state_value(&ledger::issuer_state_key(key)).await? {
            None => Ok(None),
            Some(bytes) => IssuerRecord::from_bytes(&bytes)
                .map(Some)
                .map_err(|_| unavailable("the node served an undecodable issuer record")),
        }
    }
}
