//! Registry lookups proven against a trust root: a node's answer to
//! `GET /v1/proofs/state/{key}` (`specs/state.md`, `specs/wallet.md`) is a state value (or its
//! absence), a sparse Merkle proof and a cosigned checkpoint. Nothing in it is trusted until
//! [`check_state_proof`] has checked, in this order: the answer is for the key asked about; the
//! checkpoint is cosigned by the trust root's quorum; it is fresh; the proof leads from the value
//! (or absence) to the checkpoint's state root. The wallet (verifier registry before presenting)
//! and department tools (issuer and type registry) call this one function.
//!
//! [`check_signed_request`] is the wallet's whole check of a presentation request against the
//! verifier registry (`specs/request.md`, "Wallet check").

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::codec::Decode;
use crate::ledger::{self, Purpose, VerifierRecord};
use crate::merkle::Hash;
use crate::note::{self, CheckpointError, LedgerCheckpoint};
use crate::request::{PresentationRequest, RequestError};
use crate::smt::SmtProof;
use crate::verify::TrustRoot;

/// How far in the future a checkpoint's time may be (clock skew), in seconds.
pub const MAX_FUTURE_SKEW_S: u64 = 300;
/// Longest base64url field read from a state-proof answer (value or proof), in characters.
pub const MAX_FIELD_CHARS: usize = 64 * 1024;

/// A node's state lookup with its proof: `GET /v1/proofs/state/{key}`, also the wallet's
/// `--verifier-record` file format.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateProofJson {
    /// The state key, 64 lowercase hex digits.
    pub key: String,
    /// The checkpoint's height.
    pub height: u64,
    /// The canonical record bytes, unpadded base64url, or null when the key is absent.
    pub value: Option<String>,
    /// The canonical sparse Merkle proof, unpadded base64url.
    pub proof: String,
    /// The cosigned checkpoint note the proof is against.
    pub checkpoint: String,
}

/// Why a state-proof answer was refused. Every case means the answer cannot be trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateProofError {
    /// A field is not what the format says (hex key, base64url, canonical proof or record).
    #[error("malformed state proof: {0}")]
    Malformed(&'static str),
    /// The answer is for another state key (or the record for another id).
    #[error("the state proof is for another key")]
    WrongKey,
    /// The checkpoint is not cosigned by the trust root's quorum.
    #[error("the checkpoint is not cosigned by the trusted departments: {0}")]
    Checkpoint(CheckpointError),
    /// The checkpoint is older than allowed or too far in the future.
    #[error("the checkpoint is not fresh")]
    NotFresh,
    /// The proof does not lead from the value (or absence) to the checkpoint's state root.
    #[error("the state proof does not match the checkpoint")]
    ProofMismatch,
}

/// A state value proven under a cosigned checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvenState {
    /// The value's canonical bytes, or `None` when the key is proven absent.
    pub value: Option<Vec<u8>>,
    /// The checkpoint the proof is against.
    pub checkpoint: LedgerCheckpoint,
}

/// Verifies a checkpoint note under the trust root's quorum (its chain id as origin, its keys and
/// threshold) and returns the checkpoint.
pub fn check_checkpoint(
    note_text: &str,
    trust_root: &TrustRoot,
) -> Result<LedgerCheckpoint, CheckpointError> {
    note::verify_checkpoint(note_text, &trust_root.quorum())
}

fn hex_of(hash: &Hash) -> String {
    use std::fmt::Write as _;
    hash.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn base64url(text: &str, what: &'static str) -> Result<Vec<u8>, StateProofError> {
    if text.len() > MAX_FIELD_CHARS {
        return Err(StateProofError::Malformed(what));
    }
    URL_SAFE_NO_PAD.decode(text).map_err(|_| StateProofError::Malformed(what))
}

/// Checks a state-proof answer for `key` under `trust_root`: the checkpoint must be cosigned by
/// the quorum, at most `max_age_s` old at `now` (and at most [`MAX_FUTURE_SKEW_S`] ahead), and
/// the proof must show the answer's value (or absence) under its state root.
pub fn check_state_proof(
    answer: &StateProofJson,
    key: &Hash,
    trust_root: &TrustRoot,
    max_age_s: u64,
    now: u64,
) -> Result<ProvenState, StateProofError> {
    if answer.key != hex_of(key) {
        return Err(StateProofError::WrongKey);
    }
    let checkpoint =
        check_checkpoint(&answer.checkpoint, trust_root).map_err(StateProofError::Checkpoint)?;
    if now.saturating_sub(checkpoint.time) > max_age_s
        || checkpoint.time > now.saturating_add(MAX_FUTURE_SKEW_S)
    {
        return Err(StateProofError::NotFresh);
    }
    let proof = SmtProof::from_bytes(&base64url(&answer.proof, "proof")?)
        .map_err(|_| StateProofError::Malformed("proof"))?;
    let value = answer.value.as_deref().map(|v| base64url(v, "value")).transpose()?;
    proof
        .verify(&checkpoint.state_root, key, value.as_deref())
        .map_err(|_| StateProofError::ProofMismatch)?;
    Ok(ProvenState { value, checkpoint })
}

/// A registry record proven under a cosigned checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proven<R> {
    /// The record, or `None` when it is proven absent.
    pub record: Option<R>,
    /// The checkpoint the proof is against.
    pub checkpoint: LedgerCheckpoint,
}

/// [`check_state_proof`] for the verifier registry: the record of `verifier_id`, decoded, and
/// refused if it names another verifier.
pub fn check_verifier_record(
    answer: &StateProofJson,
    verifier_id: &str,
    trust_root: &TrustRoot,
    max_age_s: u64,
    now: u64,
) -> Result<Proven<VerifierRecord>, StateProofError> {
    let key = ledger::verifier_state_key(verifier_id);
    let proven = check_state_proof(answer, &key, trust_root, max_age_s, now)?;
    let record = proven
        .value
        .map(|bytes| VerifierRecord::from_bytes(&bytes))
        .transpose()
        .map_err(|_| StateProofError::Malformed("verifier record"))?;
    if record.as_ref().is_some_and(|r| r.registration.verifier_id != verifier_id) {
        return Err(StateProofError::WrongKey);
    }
    Ok(Proven { record, checkpoint: proven.checkpoint })
}

/// Why a wallet refuses a presentation request (`specs/request.md`, "Wallet check").
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestCheckError {
    /// The registry answer cannot be trusted (could not decide who the verifier is).
    #[error("the verifier registry answer cannot be trusted: {0}")]
    Registry(StateProofError),
    /// The registry proves the verifier id is not registered.
    #[error("the verifier is not registered")]
    NotRegistered,
    /// The signature does not verify under the verifier's current registered key (forged,
    /// tampered with, or signed by a rotated-out key).
    #[error("the request is not signed by the verifier's registered key")]
    BadSignature,
    /// The verifier was retired.
    #[error("the verifier was retired at {0}")]
    Retired(u64),
    /// The request is not current, or names a type or claim no shipped profile has.
    #[error("{0}")]
    Request(RequestError),
    /// The request's purpose is none of the verifier's registered purposes.
    #[error("the request's purpose is not one the verifier registered")]
    UnknownPurpose,
    /// The request asks for claims its registered purpose does not allow.
    #[error("the request asks for claims its registered purpose does not allow: {0:?}")]
    OverAsking(Vec<String>),
}

/// A request the wallet may answer, with what the registry says about its verifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedRequest {
    /// The verifier's record (names, department, current key).
    pub record: VerifierRecord,
    /// The registered purpose the request matched.
    pub purpose: Purpose,
    /// The checkpoint the record is proven under.
    pub checkpoint: LedgerCheckpoint,
}

/// The registered purpose a request's `purpose` text names: the purpose whose id equals the
/// whole text or its first word. Never a union of purposes.
pub fn registered_purpose<'a>(record: &'a VerifierRecord, purpose: &str) -> Option<&'a Purpose> {
    let first_word = purpose.split_whitespace().next().unwrap_or_default();
    record.registration.purposes.iter().find(|p| p.id == purpose || p.id == first_word)
}

/// The wallet's check of a signed presentation request, before it uses any field of it: the
/// registry answer for the request's `verifier_id` is proven under `trust_root` (at most
/// `max_age_s` old at `now`); the verifier is registered; the signature verifies under its
/// current key (so a rotated-out key fails); it is not retired; the request is current (within
/// `skew_s`) and names shipped types and claims; its purpose is one registered purpose and every
/// claim it asks for is allowed by that purpose.
pub fn check_signed_request(
    request: &PresentationRequest,
    answer: &StateProofJson,
    trust_root: &TrustRoot,
    max_age_s: u64,
    now: u64,
    skew_s: u64,
) -> Result<CheckedRequest, RequestCheckError> {
    let proven = check_verifier_record(answer, request.verifier_id(), trust_root, max_age_s, now)
        .map_err(RequestCheckError::Registry)?;
    let record = proven.record.ok_or(RequestCheckError::NotRegistered)?;
    request
        .verify_signature(&record.registration.verifier_key)
        .map_err(|_| RequestCheckError::BadSignature)?;
    if let Some(at) = record.retired_at {
        return Err(RequestCheckError::Retired(at));
    }
    request.check_time(now, skew_s).map_err(RequestCheckError::Request)?;
    request.check_against_profiles().map_err(RequestCheckError::Request)?;
    let purpose = registered_purpose(&record, request.purpose())
        .cloned()
        .ok_or(RequestCheckError::UnknownPurpose)?;
    let over: Vec<String> =
        request.claims().iter().filter(|c| !purpose.claims.contains(c)).cloned().collect();
    if !over.is_empty() {
        return Err(RequestCheckError::OverAsking(over));
    }
    Ok(CheckedRequest { record, purpose, checkpoint: proven.checkpoint })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Encode as _;
    use crate::ledger::{EntryBody, Purpose, RegisterVerifier};
    use crate::testkit::Scenario;

    const VERIFIER: &str = "pudong-counter-1";

    /// A scenario with a registered verifier, and the time of its last block.
    fn world() -> (Scenario, u64) {
        let mut s =
            Scenario::new("registry tests", "cn.gov.certledger.registry-test", 1_700_000_000)
                .unwrap();
        let admin = s.department("education").unwrap().admin.clone();
        s.submit(
            &admin,
            EntryBody::RegisterVerifier(RegisterVerifier {
                verifier_id: VERIFIER.to_owned(),
                department: "education".to_owned(),
                name_zh: "浦东窗口".to_owned(),
                name_en: "Pudong counter".to_owned(),
                verifier_key: crate::sig::SecretKey::from_seed(&[7; 32]).public_key(),
                purposes: vec![Purpose { id: "hire".to_owned(), claims: vec!["name".to_owned()] }],
            }),
        );
        s.commit(1).unwrap();
        let now = s.ledger.time() + 60;
        (s, now)
    }

    /// The node's answer for `verifier_id`, under a checkpoint signed by 3 of the 4 departments.
    fn answer(s: &Scenario, verifier_id: &str) -> StateProofJson {
        let key = ledger::verifier_state_key(verifier_id);
        let value = s.ledger.state_value(&key).unwrap();
        StateProofJson {
            key: hex_of(&key),
            height: s.ledger.height(),
            value: value.map(|v| URL_SAFE_NO_PAD.encode(v)),
            proof: URL_SAFE_NO_PAD.encode(s.ledger.prove_state(&key).unwrap().to_bytes()),
            checkpoint: s.checkpoint(3).unwrap(),
        }
    }

    #[test]
    fn a_registered_and_an_absent_verifier_are_proven() {
        let (s, now) = world();
        let root = s.trust_root();
        let proven = check_verifier_record(&answer(&s, VERIFIER), VERIFIER, &root, 3600, now);
        assert_eq!(proven.unwrap().record.unwrap().registration.verifier_id, VERIFIER);
        let absent = check_verifier_record(&answer(&s, "nobody"), "nobody", &root, 3600, now);
        assert_eq!(absent.unwrap().record, None);
    }

    #[test]
    fn every_inconsistency_is_refused() {
        let (s, now) = world();
        let root = s.trust_root();
        let good = answer(&s, VERIFIER);
        let check = |a: &StateProofJson| check_verifier_record(a, VERIFIER, &root, 3600, now);
        // Another verifier's answer.
        assert_eq!(check(&answer(&s, "nobody")), Err(StateProofError::WrongKey));
        // The value dropped: the proof no longer matches.
        let mut a = good.clone();
        a.value = None;
        assert_eq!(check(&a), Err(StateProofError::ProofMismatch));
        // A stale checkpoint, and one from the future.
        assert_eq!(
            check_verifier_record(&good, VERIFIER, &root, 10, now + 3600),
            Err(StateProofError::NotFresh)
        );
        assert_eq!(
            check_verifier_record(&good, VERIFIER, &root, 3600, now - 3600),
            Err(StateProofError::NotFresh)
        );
        // A checkpoint signed by fewer departments than the quorum needs.
        let mut a = good.clone();
        a.checkpoint = s.checkpoint(2).unwrap();
        assert!(matches!(check(&a), Err(StateProofError::Checkpoint(_))));
        // Garbage fields.
        let mut a = good.clone();
        a.proof = "!!".to_owned();
        assert_eq!(check(&a), Err(StateProofError::Malformed("proof")));
        let mut a = good;
        a.proof = "A".repeat(MAX_FIELD_CHARS + 4);
        assert_eq!(check(&a), Err(StateProofError::Malformed("proof")));
    }
}
