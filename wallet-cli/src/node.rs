//! Fetching proofs from a department node, behind [`ProofSource`].
//!
//! Nothing a node serves is trusted: credential proofs are decided with
//! `verify::verify_credential`, and state records (the verifier registry) are checked here
//! against a quorum-cosigned checkpoint of the wallet's trust root. What the wallet asks for:
//!
//! - `GET {node}/v1/proofs/credential/{credential id, base64url}` →
//!   `{"height": u64, "proofs": "<base64url of canonical bundle::Proofs>"}`, built against the
//!   node's latest cosigned checkpoint;
//! - `GET {node}/v1/proofs/state/{key, 64 hex}` →
//!   `{"key": hex, "height": u64, "value": "<base64url record>" | null,
//!     "proof": "<base64url canonical smt::SmtProof>", "checkpoint": "<cosigned note>"}`.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use certledger_core::bundle::{Proofs, MAX_BUNDLE_BYTES};
use certledger_core::codec::Decode as _;
use certledger_core::ledger::{self, VerifierRecord};
use certledger_core::merkle::Hash;
use certledger_core::note::{self, Quorum};
use certledger_core::smt::SmtProof;
use certledger_core::verify::TrustRoot;
use serde::{Deserialize, Serialize};

use crate::error::{network, refused, CmdResult};

/// Largest node response read, in bytes.
pub const MAX_RESPONSE_BYTES: u64 = 256 * 1024;

/// Where fresh proofs come from.
pub trait ProofSource {
    /// Proofs for a credential against the latest cosigned checkpoint.
    fn credential_proofs(&self, credential_id: &[u8; 32]) -> CmdResult<Proofs>;
    /// A state value with its proof and checkpoint.
    fn state(&self, key: &Hash) -> CmdResult<StateProofJson>;
}

/// A node's HTTP API.
pub struct HttpNode {
    base: String,
    agent: ureq::Agent,
}

#[derive(Deserialize)]
struct CredentialProofsJson {
    #[allow(dead_code)]
    height: u64,
    proofs: String,
}

/// A state lookup with its proof (also the `--verifier-record` file format).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateProofJson {
    /// The state key, hex.
    pub key: String,
    /// The checkpoint's height.
    pub height: u64,
    /// The canonical record bytes, base64url, or null when absent.
    pub value: Option<String>,
    /// The canonical sparse Merkle proof, base64url.
    pub proof: String,
    /// The cosigned checkpoint note the proof is against.
    pub checkpoint: String,
}

impl HttpNode {
    /// A client for the node at `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str) -> CmdResult<Self> {
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(crate::error::usage("--node must be an http:// or https:// URL"));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(30)))
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
            let snippet: String = body.chars().take(200).collect();
            return Err(network(format!("GET {url}: HTTP {status}: {snippet}")));
        }
        Ok(body)
    }
}

impl ProofSource for HttpNode {
    fn credential_proofs(&self, credential_id: &[u8; 32]) -> CmdResult<Proofs> {
        let body =
            self.get(&format!("/v1/proofs/credential/{}", URL_SAFE_NO_PAD.encode(credential_id)))?;
        let json: CredentialProofsJson = serde_json::from_str(&body)
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

    fn state(&self, key: &Hash) -> CmdResult<StateProofJson> {
        let body = self.get(&format!("/v1/proofs/state/{}", hex::encode(key)))?;
        serde_json::from_str(&body)
            .map_err(|e| network(format!("the node's state proof is malformed: {e}")))
    }
}

/// A verifier record proven against a quorum checkpoint.
pub struct ProvenVerifier {
    /// The record, or `None` when the verifier is proven not registered.
    pub record: Option<VerifierRecord>,
    /// The checkpoint's time.
    pub checkpoint_time: u64,
}

/// Checks a verifier-registry state proof for `verifier_id` against `trust_root`.
/// Any inconsistency is a refusal: the registry answer cannot be trusted.
pub fn check_verifier_proof(
    json: &StateProofJson,
    verifier_id: &str,
    trust_root: &TrustRoot,
    max_age_s: u64,
    now: u64,
) -> CmdResult<ProvenVerifier> {
    let bad = |en: &str, zh: &str| refused("bad_verifier_record", en, zh);
    let key = ledger::verifier_state_key(verifier_id);
    if json.key != hex::encode(key) {
        return Err(bad(
            "the verifier record is for another verifier id",
            "核验方登记记录与请求中的核验方不符",
        ));
    }
    let quorum = Quorum {
        origin: trust_root.chain_id.clone(),
        keys: trust_root.keys.clone(),
        threshold: trust_root.threshold,
    };
    let checkpoint = note::verify_checkpoint(&json.checkpoint, &quorum).map_err(|_| {
        bad(
            "the verifier record's checkpoint is not cosigned by the trusted departments",
            "核验方登记记录的检查点未获得受信任部门的共同签名",
        )
    })?;
    if now.saturating_sub(checkpoint.time) > max_age_s || checkpoint.time > now.saturating_add(300)
    {
        return Err(bad("the verifier record is not fresh", "核验方登记记录已过时"));
    }
    let proof_bytes = URL_SAFE_NO_PAD
        .decode(&json.proof)
        .map_err(|_| bad("the verifier record proof is malformed", "核验方登记证明格式错误"))?;
    let proof = SmtProof::from_bytes(&proof_bytes)
        .map_err(|_| bad("the verifier record proof is malformed", "核验方登记证明格式错误"))?;
    let value = match &json.value {
        None => None,
        Some(v) => Some(
            URL_SAFE_NO_PAD
                .decode(v)
                .map_err(|_| bad("the verifier record is malformed", "核验方登记记录格式错误"))?,
        ),
    };
    proof.verify(&checkpoint.state_root, &key, value.as_deref()).map_err(|_| {
        bad("the verifier record proof does not match the checkpoint", "核验方登记证明与检查点不符")
    })?;
    let record = match value {
        None => None,
        Some(bytes) => Some(
            VerifierRecord::from_bytes(&bytes)
                .map_err(|_| bad("the verifier record is malformed", "核验方登记记录格式错误"))?,
        ),
    };
    if let Some(r) = &record {
        if r.0.verifier_id != verifier_id {
            return Err(bad(
                "the verifier record is for another verifier id",
                "核验方登记记录与请求中的核验方不符",
            ));
        }
    }
    Ok(ProvenVerifier { record, checkpoint_time: checkpoint.time })
}
