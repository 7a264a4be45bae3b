//! Governance on the node: adding and removing departments, and the validator chain a light
//! client follows from the genesis set to today's.
//!
//! A change is a JSON file that travels between departments: one drafts it (`gov propose`),
//! each department's admin approves it (`gov approve`, a signature over core's
//! `ChangeValidators::approval_message`), and any admin submits it (`gov submit`). The ledger
//! commits it only under core's rule (`ledger::next_department_set`: approvals from more than
//! two thirds of the current departments, at most `floor((n-1)/3)` removals, a set that still
//! tolerates one faulty member after a removal); the new set decides from `effective_height`
//! on. `GET /v1/validator-chain` serves the chain of changes with their proofs
//! (`lightclient::ValidatorChain`), checked with `lightclient::follow` before it is served.

use std::sync::Arc;

use anyhow::anyhow;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use certledger_core::api::{DepartmentInfo, ValidatorChainAnswer};
use certledger_core::codec::{Decode as _, Encode as _};
use certledger_core::ledger::{
    validators_state_key, Department, EntryBody, LogLeaf, ValidatorSetRecord,
};
use certledger_core::lightclient::{
    follow, ChainHead, ChainStep, Followed, GovernanceTrust, ValidatorChain,
};
use certledger_core::note::{LedgerCheckpoint, Note};

use crate::server::reply::{err, internal};

use crate::server::handle::NodeHandle;

/// Why the node cannot serve a validator chain now.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChainUnavailable {
    /// No quorum checkpoint is stored yet.
    #[error("no quorum-cosigned checkpoint yet")]
    NoCheckpoint,
    /// A change has no stored checkpoint of the set before it yet.
    #[error("the checkpoint covering the change at log index {0} is not cosigned yet")]
    NoStepCheckpoint(u64),
    /// Storage or state error.
    #[error("{0}")]
    Internal(String),
}

/// The validator chain from genesis to the newest quorum checkpoint this node stores: every
/// change effective at that checkpoint's height, each under a stored checkpoint of the set
/// before it, and the head's validator record proven under the head's state root. The chain is
/// checked with [`follow`] before it is returned.
pub fn validator_chain(node: &NodeHandle) -> Result<(ValidatorChain, Followed), ChainUnavailable> {
    let internal = |e: &dyn std::fmt::Display| ChainUnavailable::Internal(e.to_string());
    let (head_height, head_text) = node
        .store
        .latest_checkpoint()
        .map_err(|e| internal(&e))?
        .ok_or(ChainUnavailable::NoCheckpoint)?;
    let head_body = checkpoint_body(&head_text).map_err(|e| internal(&e))?;
    let changes = match node.changes.lock() {
        Ok(c) => c.clone(),
        Err(p) => p.into_inner().clone(),
    };
    let mut steps = Vec::new();
    for (index, leaf_bytes) in &changes {
        let leaf = LogLeaf::from_bytes_checked(leaf_bytes).map_err(|e| internal(&e))?;
        let EntryBody::ChangeValidators(c) = &leaf.entry.body else { continue };
        if c.effective_height > head_height {
            continue; // still pending at the head: the old set decides the head
        }
        let mut found = None;
        for h in leaf.height..c.effective_height {
            if let Some(text) = node.store.checkpoint(h).map_err(|e| internal(&e))? {
                found = Some(text);
                break;
            }
        }
        let text = found.ok_or(ChainUnavailable::NoStepCheckpoint(*index))?;
        let body = checkpoint_body(&text).map_err(|e| internal(&e))?;
        let proof = node
            .lock()
            .ledger
            .inclusion(*index, body.size)
            .ok_or_else(|| ChainUnavailable::Internal("inclusion proof".into()))?;
        steps.push(ChainStep { leaf: leaf_bytes.clone(), proof, checkpoint: text });
    }
    let (value, proof) = node
        .lock()
        .ledger
        .state_proof_at(&head_body.state_root, &validators_state_key())
        .ok_or_else(|| ChainUnavailable::Internal("head state root no longer retained".into()))?;
    let value = value.ok_or_else(|| ChainUnavailable::Internal("no validator record".into()))?;
    let record = ValidatorSetRecord::from_bytes(&value).map_err(|e| internal(&e))?;
    let chain = ValidatorChain { steps, head: ChainHead { checkpoint: head_text, record, proof } };
    let followed = follow(&GovernanceTrust::from_genesis(&node.genesis.to_core()), &chain)
        .map_err(|e| internal(&format!("the built chain does not follow: {e}")))?;
    Ok((chain, followed))
}

/// `GET /v1/validator-chain`.
pub async fn validator_chain_handler(State(node): State<Arc<NodeHandle>>) -> Response {
    let built = tokio::task::spawn_blocking(move || validator_chain(&node)).await;
    match built {
        Ok(Ok((chain, followed))) => Json(ValidatorChainAnswer {
            chain: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(chain.to_bytes()),
            steps: chain.steps.len() as u64,
            height: followed.head.height,
            departments: departments_info(&followed.trust.departments),
        })
        .into_response(),
        Ok(Err(e @ (ChainUnavailable::NoCheckpoint | ChainUnavailable::NoStepCheckpoint(_)))) => {
            err(StatusCode::SERVICE_UNAVAILABLE, "not_ready", e)
        }
        Ok(Err(e)) => internal(e),
        Err(e) => internal(e),
    }
}

/// A department set as the node serves it (without admin keys).
pub fn departments_info(ds: &[Department]) -> Vec<DepartmentInfo> {
    ds.iter()
        .map(|d| DepartmentInfo {
            id: d.id.clone(),
            name_zh: d.name_zh.clone(),
            name_en: d.name_en.clone(),
            node_key: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d.node_key.0),
        })
        .collect()
}

/// The checkpoint body of a stored note (the node stored it after verifying its quorum).
pub fn checkpoint_body(text: &str) -> anyhow::Result<LedgerCheckpoint> {
    let note = Note::parse(text).map_err(|e| anyhow!("stored checkpoint: {e}"))?;
    LedgerCheckpoint::parse_body(note.text()).map_err(|e| anyhow!("stored checkpoint: {e}"))
}
