//! Fetching proofs from a department node, behind [`ProofSource`].
//!
//! Nothing a node serves is trusted: credential proofs are decided with
//! `verify::verify_credential`, and state records (the verifier registry) with
//! `registry::check_verifier_record`, both in core, against the wallet's trust root. This module
//! only fetches. What the wallet asks for, answers parsed into core's API types
//! (`certledger_core::api`):
//!
//! - `GET {node}/v1/proofs/credential/{credential id, base64url}` → [`CredentialProofs`], built
//!   against the node's latest cosigned checkpoint;
//! - `GET {node}/v1/proofs/state/{key, 64 hex}` → [`StateProof`] (also the wallet's
//!   `--verifier-record` file format).

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use certledger_core::api::{CredentialProofs, StateProof};
use certledger_core::bundle::{Proofs, MAX_BUNDLE_BYTES};
use certledger_core::merkle::Hash;

use crate::error::{network, CmdResult};

/// Largest node response read, in bytes.
pub const MAX_RESPONSE_BYTES: u64 = 256 * 1024;

/// Timeout of one request to a node.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Characters of a node's error answer quoted in the wallet's message.
const ERROR_SNIPPET_CHARS: usize = 200;

/// Where fresh proofs come from.
pub trait ProofSource {
    /// Proofs for a credential against the latest cosigned checkpoint.
    fn credential_proofs(&self, credential_id: &[u8; 32]) -> CmdResult<Proofs>;
    /// A state value with its proof and checkpoint.
    fn state(&self, key: &Hash) -> CmdResult<StateProof>;
}

/// A node's HTTP API.
pub struct HttpNode {
    base: String,
    agent: ureq::Agent,
}

impl HttpNode {
    /// A client for the node at `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str) -> CmdResult<Self> {
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(crate::error::usage("--node must be an http:// or https:// URL"));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(REQUEST_TIMEOUT))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(Self { base, agent })
    }

    fn get(&self, path: &str) -> CmdResult<String> {
        let url = format!("{}{path}", self.base);
        let mut response =
            self.agent.get(&url).call().map_err(|e| network(format!("GET {url}: {e}")))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_string()
            .map_err(|e| network(format!("GET {url}: cannot read the response: {e}")))?;
        if status != 200 {
            let snippet: String = body.chars().take(ERROR_SNIPPET_CHARS).collect();
            return Err(network(format!("GET {url}: HTTP {status}: {snippet}")));
        }
        Ok(body)
    }
}

impl ProofSource for HttpNode {
    fn credential_proofs(&self, credential_id: &[u8; 32]) -> CmdResult<Proofs> {
        let body =
            self.get(&format!("/v1/proofs/credential/{}", URL_SAFE_NO_PAD.encode(credential_id)))?;
        let json: CredentialProofs = serde_json::from_str(&body)
            .map_err(|e| network(format!("the node's proofs response is malformed: {e}")))?;
        if json.proofs.len() > MAX_BUNDLE_BYTES.div_ceil(3) * 4 {
            return Err(network("the node's proofs are too large"));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(&json.proofs)
            .map_err(|_| network("the node's proofs are not base64url"))?;
        let proofs = Proofs::decode_bytes(&bytes)
            .map_err(|e| network(format!("the node's proofs are malformed: {e}")))?;
        if &proofs.credential_record.credential_id != credential_id {
            return Err(network("the node served proofs for another credential"));
        }
        Ok(proofs)
    }

    fn state(&self, key: &Hash) -> CmdResult<StateProof> {
        let body = self.get(&format!("/v1/proofs/state/{}", hex::encode(key)))?;
        serde_json::from_str(&body)
            .map_err(|e| network(format!("the node's state proof is malformed: {e}")))
    }
}
