//! The verifier's challenge and acceptance policy, and their JSON form.

use super::trust_root::from_strict_json;
use super::*;

/// What the verifier asked for in this exchange. Nonce and audience are not optional: a verifier
/// cannot verify a holder-bound credential without them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Challenge {
    /// The fresh nonce of the verifier's request.
    pub nonce: String,
    /// The verifier's audience identifier.
    pub audience: String,
}

/// The verifier's acceptance policy. Its JSON form names the same fields; every field but
/// `challenge` has a default (see [`Policy::new`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// The exchange's nonce and audience.
    pub challenge: Challenge,
    /// Oldest checkpoint accepted, in seconds before `now`.
    #[serde(default = "default_checkpoint_age")]
    pub max_checkpoint_age_s: u64,
    /// Oldest key-binding JWT accepted, in seconds before `now`.
    #[serde(default = "default_presentation_age")]
    pub max_presentation_age_s: u64,
    /// Largest clock skew tolerated for times in the future, in seconds.
    #[serde(default = "default_skew")]
    pub max_clock_skew_s: u64,
    /// Credential types accepted; empty means every shipped type.
    #[serde(default)]
    pub accepted_types: Vec<String>,
    /// For identity attestations: the lowest level of assurance accepted.
    #[serde(default)]
    pub min_assurance_level: Option<u64>,
    /// Claims the holder must disclose.
    #[serde(default)]
    pub required_claims: Vec<String>,
}

fn default_checkpoint_age() -> u64 {
    24 * 3600
}
fn default_presentation_age() -> u64 {
    300
}
fn default_skew() -> u64 {
    60
}

/// Longest policy JSON accepted, in bytes.
pub const MAX_POLICY_BYTES: usize = 16 * 1024;

impl Policy {
    /// A policy with the default limits: checkpoints up to 24 hours old, presentations up to
    /// 5 minutes old, 60 seconds of clock skew, every shipped type.
    pub fn new(nonce: &str, audience: &str) -> Self {
        Self {
            challenge: Challenge { nonce: nonce.to_owned(), audience: audience.to_owned() },
            max_checkpoint_age_s: default_checkpoint_age(),
            max_presentation_age_s: default_presentation_age(),
            max_clock_skew_s: default_skew(),
            accepted_types: Vec::new(),
            min_assurance_level: None,
            required_claims: Vec::new(),
        }
    }

    /// Parses the JSON form, strictly and with bounds.
    pub fn from_json(text: &str) -> Result<Self, VerifyError> {
        let policy: Policy =
            from_strict_json(text, MAX_POLICY_BYTES).map_err(VerifyError::Policy)?;
        if policy.challenge.nonce.len() < 16 || policy.challenge.audience.is_empty() {
            return Err(VerifyError::Policy(
                "policy needs a nonce of 16+ characters and an audience",
            ));
        }
        Ok(policy)
    }
}
