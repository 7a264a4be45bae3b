//! Proofs a wallet fetches: everything a bundle needs for one credential, and single state
//! lookups, each proven against ONE quorum-cosigned checkpoint.
//!
//! The checkpoint served is the newest height with a stored quorum note
//! (`Store::latest_checkpoint`). Its header gives the log size and state root; the log inclusion
//! proof is computed at that size from the current log (RFC 9162 proofs exist for every earlier
//! size), and the state proofs are computed against that height's state root, which the node
//! keeps provable through [`crate::exec::HistoryStore`] (earlier roots are pruned only when they
//! are neither recent nor the newest cosigned one). So the served pieces always agree with the
//! note they carry, even while newer blocks are being committed.

use certledger_core::bundle::Proofs;
use certledger_core::codec::{Decode as _, Encode as _};
use certledger_core::ledger::{self, CredentialRecord, IssuerRecord, LogLeaf, SignedEntry};
use certledger_core::merkle;
use certledger_core::smt::SmtProof;

use crate::node::NodeHandle;
use crate::store::StoreError;

/// Why proofs could not be served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// No quorum-cosigned checkpoint is stored yet.
    #[error("no cosigned checkpoint yet")]
    NoCheckpoint,
    /// The credential is unknown to this node.
    #[error("unknown credential")]
    NotFound,
    /// The credential is committed but the newest cosigned checkpoint predates it.
    #[error("committed after the newest cosigned checkpoint (height {0}); retry shortly")]
    NotCheckpointed(u64),
    /// The checkpoint's state is no longer (or not yet) provable here.
    #[error("state at the checkpoint is unavailable: {0}")]
    Unavailable(&'static str),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A state value with its proof against a cosigned checkpoint.
#[derive(Clone, Debug)]
pub struct StateAt {
    /// The checkpoint height.
    pub height: u64,
    /// The canonical record bytes, or `None` when absent.
    pub value: Option<Vec<u8>>,
    /// The sparse Merkle proof under the checkpoint's state root.
    pub proof: SmtProof,
    /// The cosigned checkpoint note.
    pub checkpoint: String,
}

struct Checkpointed {
    height: u64,
    note: String,
    log_size: u64,
    state_root: [u8; 32],
}

fn checkpointed(node: &NodeHandle) -> Result<Checkpointed, ProofError> {
    let (height, note) = node.store.latest_checkpoint()?.ok_or(ProofError::NoCheckpoint)?;
    let block =
        node.store.block(height)?.ok_or(ProofError::Unavailable("checkpoint block missing"))?;
    Ok(Checkpointed {
        height,
        note,
        log_size: block.header.log_size,
        state_root: block.header.state_root,
    })
}

/// The value of state `key` and its proof against the newest cosigned checkpoint.
pub fn state_at_checkpoint(node: &NodeHandle, key: &[u8; 32]) -> Result<StateAt, ProofError> {
    let cp = checkpointed(node)?;
    let (value, proof) = node
        .lock()
        .ledger
        .state_proof_at(&cp.state_root, key)
        .ok_or(ProofError::Unavailable("state root not retained"))?;
    Ok(StateAt { height: cp.height, value, proof, checkpoint: cp.note })
}

/// Everything a bundle needs for `credential_id` besides the presentation, against the newest
/// cosigned checkpoint; returns that checkpoint's height too.
pub fn credential_proofs(
    node: &NodeHandle,
    credential_id: &[u8; 32],
) -> Result<(u64, Proofs), ProofError> {
    let cp = checkpointed(node)?;
    let ckey = ledger::credential_state_key(credential_id);
    // Everything from the ledger under one lock, so it is one consistent view.
    let (cred, issuer, anchor_proof, leaf_hash) = {
        let s = node.lock();
        let unavailable = ProofError::Unavailable("state root not retained");
        let (value, credential_proof) =
            s.ledger.state_proof_at(&cp.state_root, &ckey).ok_or(unavailable)?;
        let Some(value) = value else {
            return Err(if s.ledger.state_value(&ckey).is_some() {
                ProofError::NotCheckpointed(cp.height)
            } else {
                ProofError::NotFound
            });
        };
        let record = CredentialRecord::from_bytes(&value)
            .map_err(|_| ProofError::Unavailable("stored credential record is malformed"))?;
        let (ivalue, issuer_proof) = s
            .ledger
            .state_proof_at(&cp.state_root, &ledger::issuer_state_key(&record.issuer_key))
            .ok_or(ProofError::Unavailable("state root not retained"))?;
        let ivalue = ivalue.ok_or(ProofError::Unavailable("issuer record missing"))?;
        let issuer_record = IssuerRecord::from_bytes(&ivalue)
            .map_err(|_| ProofError::Unavailable("stored issuer record is malformed"))?;
        let anchor_proof = s
            .ledger
            .inclusion(record.log_index, cp.log_size)
            .ok_or(ProofError::Unavailable("anchor outside the checkpoint's log"))?;
        let leaf_hash = s
            .ledger
            .leaf_hash(record.log_index)
            .ok_or(ProofError::Unavailable("anchor leaf missing"))?;
        ((record, credential_proof), (issuer_record, issuer_proof), anchor_proof, leaf_hash)
    };
    let (record, credential_proof) = cred;
    let (issuer_record, issuer_proof) = issuer;
    let anchor_leaf = anchor_leaf(node, &record)?;
    // The rebuilt leaf must be the one the log holds.
    if merkle::leaf_hash(&anchor_leaf) != leaf_hash {
        return Err(ProofError::Unavailable("rebuilt anchor leaf differs from the log"));
    }
    Ok((
        cp.height,
        Proofs {
            anchor_leaf,
            anchor_proof,
            credential_record: record,
            credential_proof,
            issuer_record,
            issuer_proof,
            checkpoint: cp.note,
        },
    ))
}

/// Rebuilds the canonical `LogLeaf` of a credential's anchor from its stored block (the ledger
/// keeps only leaf hashes).
fn anchor_leaf(node: &NodeHandle, record: &CredentialRecord) -> Result<Vec<u8>, ProofError> {
    let block = node
        .store
        .block(record.anchored_height)?
        .ok_or(ProofError::Unavailable("anchor block missing"))?;
    let n = block.entries.len() as u64;
    let first = block
        .header
        .log_size
        .checked_sub(n)
        .ok_or(ProofError::Unavailable("anchor block header is inconsistent"))?;
    let i = record
        .log_index
        .checked_sub(first)
        .and_then(|i| usize::try_from(i).ok())
        .ok_or(ProofError::Unavailable("anchor is not in its block"))?;
    let bytes =
        block.entries.get(i).ok_or(ProofError::Unavailable("anchor is not in its block"))?;
    let entry = SignedEntry::from_bytes_checked(bytes)
        .map_err(|_| ProofError::Unavailable("stored anchor entry is malformed"))?;
    Ok(LogLeaf { height: block.header.height, time: block.header.time, entry }.to_bytes())
}
