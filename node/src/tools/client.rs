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
use serde::de::DeserializeOwned;

use crate::tools::failure::{input, unavailable, Failure};
use certledger_core::api::{
    CredentialProofs, EntryState, EntryStatus, ErrorBody, Health, StateProof, SubmitRequest,
};

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

/// Where a committed entry is (also its `--json` form in the tools' output).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
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

/// A node's answer that is not HTTP 200: its status and error body (empty when the body is
/// not the API's error form).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// HTTP status.
    pub status: u16,
    /// The node's error code and message.
    pub body: ErrorBody,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {} {}: {}", self.status, self.body.error, self.body.message)
    }
}

/// Largest node answer read, in bytes (an audit page of 500 items with 32 KiB entries fits).
pub const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;
/// Timeout of one HTTP request to a node.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause between two polls of an entry's status.
const POLL_EVERY: Duration = Duration::from_millis(150);
/// Pause before retrying a submission the node could not take (connection error, HTTP 5xx).
const RETRY_EVERY: Duration = Duration::from_millis(300);
/// Pause between two asks for a credential's proofs (waiting for a checkpoint to cover it).
const PROOFS_POLL_EVERY: Duration = Duration::from_millis(200);
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
        let http =
            http_builder()?.timeout(REQUEST_TIMEOUT).build().context("building the HTTP client")?;
        Ok(Self { base, http, wait })
    }

    /// The node's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Reads a response body of at most [`MAX_ANSWER_BYTES`].
    async fn read_bounded(url: &str, mut r: reqwest::Response) -> anyhow::Result<Vec<u8>> {
        let mut body = Vec::new();
        while let Some(chunk) =
            r.chunk().await.map_err(|e| unavailable(format!("reading {url}: {e}")))?
        {
            if body.len().saturating_add(chunk.len()) > MAX_ANSWER_BYTES {
                return Err(unavailable(format!("{url}: answer over {MAX_ANSWER_BYTES} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// `GET path` parsed into the API type `T` (`certledger_core::api`) on HTTP 200; any other
    /// status is a [`Refusal`] with the node's error body. A 200 answer that is not a `T` is
    /// an error (the node is unavailable or not this API).
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<Result<T, Refusal>> {
        let url = format!("{}{path}", self.base);
        let r =
            self.http.get(&url).send().await.map_err(|e| unavailable(format!("GET {url}: {e}")))?;
        let status = r.status().as_u16();
        let body = Self::read_bounded(&url, r).await?;
        if status != 200 {
            let body = serde_json::from_slice(&body).unwrap_or_default();
            return Ok(Err(Refusal { status, body }));
        }
        serde_json::from_slice(&body)
            .map(Ok)
            .map_err(|e| unavailable(format!("GET {url}: unexpected answer: {e}")))
    }

    /// `GET path` as [`Self::get`], with any answer but HTTP 200 as an error.
    pub async fn get_ok<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        self.get(path).await?.map_err(|r| unavailable(format!("GET {}{path}: {r}", self.base)))
    }

    /// The node's `/health`.
    pub async fn health(&self) -> anyhow::Result<Health> {
        self.get_ok("/health").await
    }

    /// The node's chain id (from `/health`).
    pub async fn chain_id(&self) -> anyhow::Result<String> {
        Ok(self.health().await?.chain_id)
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
            let (status, body) = match sent {
                Ok(r) => {
                    let s = r.status().as_u16();
                    (s, Self::read_bounded(&url, r).await?)
                }
                Err(e) if Instant::now() < deadline => {
                    tracing::debug!(error = %e, "submission failed; retrying");
                    tokio::time::sleep(RETRY_EVERY).await;
                    continue;
                }
                Err(e) => return Err(unavailable(format!("POST {url}: {e}"))),
            };
            let ErrorBody { error, message } = serde_json::from_slice(&body).unwrap_or_default();
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
                _ => {
                    let text = String::from_utf8_lossy(&body);
                    return Err(unavailable(format!("POST {url}: HTTP {status} {text}")));
                }
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
            let status = match self.get::<EntryStatus>(&format!("/v1/entries/{id}")).await {
                Ok(Ok(EntryStatus {
                    state: EntryState::Committed { height, log_index, .. },
                    ..
                })) => return Ok(Committed { height, log_index }),
                Ok(Ok(_)) => 200,
                Ok(Err(refusal)) => refusal.status,
                Err(_) if Instant::now() < deadline => 0,
                Err(e) => return Err(e),
            };
            if status == 404 {
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
            let last = match self.get::<CredentialProofs>(&path).await {
                Ok(Ok(answer)) => {
                    let bytes = URL_SAFE_NO_PAD
                        .decode(&answer.proofs)
                        .map_err(|_| unavailable("proofs are not base64url"))?;
                    return Proofs::decode_bytes(&bytes)
                        .map_err(|e| unavailable(format!("proofs: {e}")));
                }
                Ok(Err(refusal)) => refusal.to_string(),
                Err(e) if Instant::now() < deadline => e.to_string(),
                Err(e) => return Err(e),
            };
            if Instant::now() > deadline {
                return Err(unavailable(format!(
                    "no proofs from {} within {:?}: {last}",
                    self.base, self.wait
                )));
            }
            tokio::time::sleep(PROOFS_POLL_EVERY).await;
        }
    }

    /// `GET /v1/proofs/state/{key}`: a state value with its proof and checkpoint (unchecked).
    pub async fn state_proof(&self, key: &[u8; 32]) -> anyhow::Result<StateProof> {
        self.get_ok(&format!("/v1/proofs/state/{}", hex::encode(key))).await
    }

    /// The current (cosigned-checkpoint) value of a state key, if present (unchecked: the
    /// tools trust the node they were pointed at for their own lookups).
    pub async fn state_value(&self, key: &[u8; 32]) -> anyhow::Result<Option<Vec<u8>>> {
        let answer = self.state_proof(key).await?;
        match answer.value {
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
