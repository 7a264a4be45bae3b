//! Audit with proofs: what a department's issuers did in a time range, and the history of one
//! credential, each entry with its log index and an RFC 9162 inclusion proof against ONE
//! quorum-cosigned checkpoint (`specs/node.md`, Audit; `specs/openapi.yaml`).
//!
//! Server side: `GET /v1/audit/department/{id}?from=&to=&limit=&cursor=` and
//! `GET /v1/audit/credential/{id}?limit=&cursor=`, answered from the store's audit index
//! (`crate::server::store::Store::audit_department`). Every item carries the canonical log leaf, so the
//! client re-derives what the entry does instead of trusting the node's summary. A department
//! answer also proves, for each issuer key it mentions, that key's `RegisterIssuer` leaf naming
//! the department. Entries committed after the newest cosigned checkpoint are not served yet;
//! the answer then says `held_back: true` and gives a cursor to continue from later.
//!
//! The client side (fetch and verify) is [`crate::tools::audit`].

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use certledger_core::api::{self, AuditIssuer, AuditPage, CheckpointNote, ProvenLeaf};
use certledger_core::codec::Encode as _;
use certledger_core::ledger::{LogLeaf, SignedEntry};
use certledger_core::merkle;
use serde::Deserialize;

use crate::ids;
use crate::server::handle::NodeHandle;
use crate::server::store::{AuditRow, EntryLocation, StoreError};

/// Default page size.
pub const DEFAULT_LIMIT: usize = 100;
/// Largest page size.
pub const MAX_LIMIT: usize = 500;

type St = State<Arc<NodeHandle>>;

use crate::server::http::err;

/// Query of `GET /v1/audit/department/{id}`.
#[derive(Deserialize)]
pub struct DepartmentQuery {
    from: Option<u64>,
    to: Option<u64>,
    limit: Option<usize>,
    cursor: Option<String>,
}

/// Query of `GET /v1/audit/credential/{id}`.
#[derive(Deserialize)]
pub struct CredentialQuery {
    limit: Option<usize>,
    cursor: Option<String>,
}

#[derive(Debug, thiserror::Error)]
enum AuditError {
    #[error("no cosigned checkpoint yet")]
    NoCheckpoint,
    #[error("{0}")]
    Unavailable(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn audit_error(e: AuditError) -> Response {
    match e {
        AuditError::NoCheckpoint => {
            let mut r = err(StatusCode::SERVICE_UNAVAILABLE, "not_checkpointed", e);
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            r
        }
        AuditError::Unavailable(_) => err(StatusCode::SERVICE_UNAVAILABLE, "unavailable", e),
        AuditError::Store(_) => err(StatusCode::INTERNAL_SERVER_ERROR, "internal", e),
    }
}

struct Checkpoint {
    height: u64,
    note: String,
    log_size: u64,
}

fn checkpoint(node: &NodeHandle) -> Result<Checkpoint, AuditError> {
    let (height, note) = node.store.latest_checkpoint()?.ok_or(AuditError::NoCheckpoint)?;
    let block =
        node.store.block(height)?.ok_or(AuditError::Unavailable("checkpoint block missing"))?;
    Ok(Checkpoint { height, note, log_size: block.header.log_size })
}

/// The canonical log leaf at `loc`, rebuilt from its stored block.
fn leaf_at(node: &NodeHandle, loc: &EntryLocation) -> Result<Vec<u8>, AuditError> {
    let block = node.store.block(loc.height)?.ok_or(AuditError::Unavailable("block missing"))?;
    let bytes = usize::try_from(loc.index_in_block)
        .ok()
        .and_then(|i| block.entries.get(i))
        .ok_or(AuditError::Unavailable("entry is not in its block"))?;
    let entry = SignedEntry::from_bytes_checked(bytes)
        .map_err(|_| AuditError::Unavailable("stored entry is malformed"))?;
    Ok(LogLeaf { height: block.header.height, time: block.header.time, entry }.to_bytes())
}

/// One proven leaf, or `None` when it is past the checkpoint.
fn proven(
    node: &NodeHandle,
    cp: &Checkpoint,
    loc: &EntryLocation,
) -> Result<Option<ProvenLeaf>, AuditError> {
    if loc.log_index >= cp.log_size {
        return Ok(None);
    }
    let leaf = leaf_at(node, loc)?;
    let proof = node
        .lock()
        .ledger
        .inclusion(loc.log_index, cp.log_size)
        .ok_or(AuditError::Unavailable("no inclusion proof at the checkpoint size"))?;
    if merkle::leaf_hash(&leaf) != node.lock().ledger.leaf_hash(loc.log_index).unwrap_or([0; 32]) {
        return Err(AuditError::Unavailable("rebuilt leaf differs from the log"));
    }
    Ok(Some(ProvenLeaf {
        log_index: loc.log_index,
        height: loc.height,
        leaf: URL_SAFE_NO_PAD.encode(&leaf),
        proof: proof.path.iter().map(hex::encode).collect(),
    }))
}

fn item(
    node: &NodeHandle,
    cp: &Checkpoint,
    row: &AuditRow,
) -> Result<Option<api::AuditItem>, AuditError> {
    let Some(proven) = proven(node, cp, &row.location)? else { return Ok(None) };
    Ok(Some(api::AuditItem {
        proven,
        time: row.time,
        kind: row.kind.as_str().to_owned(),
        issuer_key: URL_SAFE_NO_PAD.encode(row.issuer_key),
        credential_id: row.credential_id.map(|id| URL_SAFE_NO_PAD.encode(id)),
    }))
}

fn clamp_limit(limit: Option<usize>) -> usize {
    limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
}

fn department_answer(
    node: &NodeHandle,
    department: &str,
    q: &DepartmentQuery,
) -> Result<AuditPage, AuditError> {
    let cp = checkpoint(node)?;
    let from = q.from.unwrap_or(0);
    let to = q.to.unwrap_or(u64::MAX);
    let after = match q.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => Some(parse_department_cursor(c).ok_or(AuditError::Unavailable("bad cursor"))?),
    };
    let limit = clamp_limit(q.limit);
    // One more than asked tells whether there is a next page.
    let rows = node.store.audit_department(department, from, to, after, limit + 1)?;
    let mut items = Vec::new();
    let mut issuers: BTreeMap<[u8; 32], AuditIssuer> = BTreeMap::new();
    let mut held_back = false;
    for row in rows.iter().take(limit) {
        let Some(v) = item(node, &cp, row)? else {
            // Committed after the checkpoint: served once a newer checkpoint covers it.
            held_back = true;
            break;
        };
        items.push(v);
        if let std::collections::btree_map::Entry::Vacant(slot) = issuers.entry(row.issuer_key) {
            if let Some(idx) = node.store.issuer_index(&row.issuer_key)? {
                if let Some(proven) = proven(node, &cp, &idx.location)? {
                    slot.insert(AuditIssuer {
                        proven,
                        issuer_key: URL_SAFE_NO_PAD.encode(row.issuer_key),
                        department: idx.department,
                    });
                }
            }
        }
    }
    let last = items.len().checked_sub(1).and_then(|n| rows.get(n));
    let next = if held_back || rows.len() > limit {
        last.map(department_cursor).or(after.map(|(t, i)| format!("{t}.{i}")))
    } else {
        None
    };
    Ok(AuditPage {
        department: Some(department.to_owned()),
        credential_id: None,
        from: Some(from),
        to: Some(to),
        checkpoint: CheckpointNote { height: cp.height, note: cp.note },
        items,
        issuers: Some(issuers.into_values().collect()),
        next_cursor: next,
        held_back,
    })
}

fn department_cursor(row: &AuditRow) -> String {
    format!("{}.{}", row.time, row.location.log_index)
}

fn parse_department_cursor(c: &str) -> Option<(u64, u64)> {
    let (t, i) = c.split_once('.')?;
    Some((t.parse().ok()?, i.parse().ok()?))
}

fn credential_answer(
    node: &NodeHandle,
    id: &[u8; 32],
    q: &CredentialQuery,
) -> Result<AuditPage, AuditError> {
    let cp = checkpoint(node)?;
    let after = match q.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => Some(c.parse::<u64>().map_err(|_| AuditError::Unavailable("bad cursor"))?),
    };
    let limit = clamp_limit(q.limit);
    let rows = node.store.audit_credential(id, after, limit + 1)?;
    let mut items = Vec::new();
    let mut held_back = false;
    for row in rows.iter().take(limit) {
        let Some(v) = item(node, &cp, row)? else {
            held_back = true;
            break;
        };
        items.push(v);
    }
    let last = items.len().checked_sub(1).and_then(|n| rows.get(n));
    let next = if held_back || rows.len() > limit {
        last.map(|r| r.location.log_index.to_string()).or(after.map(|a| a.to_string()))
    } else {
        None
    };
    Ok(AuditPage {
        credential_id: Some(URL_SAFE_NO_PAD.encode(id)),
        checkpoint: CheckpointNote { height: cp.height, note: cp.note },
        items,
        next_cursor: next,
        held_back,
        ..AuditPage::default()
    })
}

/// `GET /v1/audit/department/{id}`.
pub async fn department_handler(
    State(node): St,
    Path(id): Path<String>,
    Query(q): Query<DepartmentQuery>,
) -> Response {
    if !ids::is_slug(&id) {
        return err(StatusCode::BAD_REQUEST, "malformed", "department id must be a slug");
    }
    if q.cursor.as_deref().is_some_and(|c| !c.is_empty() && parse_department_cursor(c).is_none()) {
        return err(StatusCode::BAD_REQUEST, "malformed", "cursor must be TIME.LOG_INDEX");
    }
    match tokio::task::spawn_blocking(move || department_answer(&node, &id, &q)).await {
        Ok(Ok(v)) => Json(v).into_response(),
        Ok(Err(e)) => audit_error(e),
        Err(_) => err(StatusCode::INTERNAL_SERVER_ERROR, "internal", "audit task failed"),
    }
}

/// `GET /v1/audit/credential/{id}` (id: 43 base64url characters or 64 hex digits).
pub async fn credential_handler(
    State(node): St,
    Path(id): Path<String>,
    Query(q): Query<CredentialQuery>,
) -> Response {
    let Ok(id) = ids::credential_id(&id).ok_or(()) else {
        return err(
            StatusCode::BAD_REQUEST,
            "malformed",
            "credential id must be 43 base64url characters or 64 hex digits",
        );
    };
    if q.cursor.as_deref().is_some_and(|c| !c.is_empty() && c.parse::<u64>().is_err()) {
        return err(StatusCode::BAD_REQUEST, "malformed", "cursor must be a log index");
    }
    match tokio::task::spawn_blocking(move || credential_answer(&node, &id, &q)).await {
        Ok(Ok(v)) => Json(v).into_response(),
        Ok(Err(e)) => audit_error(e),
        Err(_) => err(StatusCode::INTERNAL_SERVER_ERROR, "internal", "audit task failed"),
    }
}
