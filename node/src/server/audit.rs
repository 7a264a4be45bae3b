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
use certledger_core::note::{self, Note};
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

/// The newest cosigned checkpoint; its log size is read from the note itself (no block read).
fn checkpoint(node: &NodeHandle) -> Result<Checkpoint, AuditError> {
    let (height, note) = node.store.latest_checkpoint()?.ok_or(AuditError::NoCheckpoint)?;
    let log_size = Note::parse(&note)
        .ok()
        .and_then(|n| note::Checkpoint::parse(n.text()).ok())
        .map(|c| c.size)
        .ok_or(AuditError::Unavailable("stored checkpoint note is malformed"))?;
    Ok(Checkpoint { height, note, log_size })
}

/// The canonical log leaf at `loc`: from the store's leaf index (written with the block), or
/// for stores written before it, rebuilt from the stored block.
fn leaf_at(node: &NodeHandle, loc: &EntryLocation) -> Result<Vec<u8>, AuditError> {
    if let Some(leaf) = node.store.audit_leaf(loc.log_index)? {
        return Ok(leaf);
    }
    let block = node.store.block(loc.height)?.ok_or(AuditError::Unavailable("block missing"))?;
    let bytes = usize::try_from(loc.index_in_block)
        .ok()
        .and_then(|i| block.entries.get(i))
        .ok_or(AuditError::Unavailable("entry is not in its block"))?;
    let entry = SignedEntry::from_bytes_checked(bytes)
        .map_err(|_| AuditError::Unavailable("stored entry is malformed"))?;
    Ok(LogLeaf { height: block.header.height, time: block.header.time, entry }.to_bytes())
}

/// A leaf to prove at the checkpoint.
struct ToProve {
    loc: EntryLocation,
    leaf: Vec<u8>,
}

/// The leaf at `loc`, or `None` when it is past the checkpoint.
fn to_prove(
    node: &NodeHandle,
    cp: &Checkpoint,
    loc: &EntryLocation,
) -> Result<Option<ToProve>, AuditError> {
    if loc.log_index >= cp.log_size {
        return Ok(None);
    }
    Ok(Some(ToProve { loc: *loc, leaf: leaf_at(node, loc)? }))
}

/// Inclusion proofs of all `leaves` at the checkpoint, under ONE hold of the node lock; each
/// leaf is checked against the log first.
fn prove_all(
    node: &NodeHandle,
    cp: &Checkpoint,
    leaves: &[&ToProve],
) -> Result<Vec<ProvenLeaf>, AuditError> {
    let s = node.lock();
    leaves
        .iter()
        .map(|p| {
            if s.ledger.leaf_hash(p.loc.log_index) != Some(merkle::leaf_hash(&p.leaf)) {
                return Err(AuditError::Unavailable("rebuilt leaf differs from the log"));
            }
            let proof = s
                .ledger
                .inclusion(p.loc.log_index, cp.log_size)
                .ok_or(AuditError::Unavailable("no inclusion proof at the checkpoint size"))?;
            Ok(ProvenLeaf {
                log_index: p.loc.log_index,
                height: p.loc.height,
                leaf: URL_SAFE_NO_PAD.encode(&p.leaf),
                proof: proof.path.iter().map(hex::encode).collect(),
            })
        })
        .collect()
}

fn annotate(proven: ProvenLeaf, row: &AuditRow) -> api::AuditItem {
    api::AuditItem {
        proven,
        time: row.time,
        kind: row.kind.as_str().to_owned(),
        issuer_key: URL_SAFE_NO_PAD.encode(row.issuer_key),
        credential_id: row.credential_id.map(|id| URL_SAFE_NO_PAD.encode(id)),
    }
}

/// Rows with their leaves.
type Found<'r> = Vec<(&'r AuditRow, ToProve)>;

/// The rows' leaves up to the first one past the checkpoint; whether one was held back.
fn leaves_of<'r>(
    node: &NodeHandle,
    cp: &Checkpoint,
    rows: impl Iterator<Item = &'r AuditRow>,
) -> Result<(Found<'r>, bool), AuditError> {
    let mut out = Vec::new();
    for row in rows {
        match to_prove(node, cp, &row.location)? {
            Some(p) => out.push((row, p)),
            // Committed after the checkpoint: served once a newer checkpoint covers it.
            None => return Ok((out, true)),
        }
    }
    Ok((out, false))
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
    let (found, held_back) = leaves_of(node, &cp, rows.iter().take(limit))?;
    // Each issuer key mentioned, with its RegisterIssuer leaf naming the department.
    let mut registrations: BTreeMap<[u8; 32], (String, ToProve)> = BTreeMap::new();
    for (row, _) in &found {
        if registrations.contains_key(&row.issuer_key) {
            continue;
        }
        if let Some(idx) = node.store.issuer_index(&row.issuer_key)? {
            if let Some(p) = to_prove(node, &cp, &idx.location)? {
                registrations.insert(row.issuer_key, (idx.department, p));
            }
        }
    }
    let mut all: Vec<&ToProve> = found.iter().map(|(_, p)| p).collect();
    all.extend(registrations.values().map(|(_, p)| p));
    let mut proven = prove_all(node, &cp, &all)?.into_iter();
    let items: Vec<api::AuditItem> =
        found.iter().zip(proven.by_ref()).map(|((row, _), v)| annotate(v, row)).collect();
    let issuers: Vec<AuditIssuer> = registrations
        .iter()
        .zip(proven)
        .map(|((key, (department, _)), proven)| AuditIssuer {
            proven,
            issuer_key: URL_SAFE_NO_PAD.encode(key),
            department: department.clone(),
        })
        .collect();
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
        issuers: Some(issuers),
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
    let (found, held_back) = leaves_of(node, &cp, rows.iter().take(limit))?;
    let all: Vec<&ToProve> = found.iter().map(|(_, p)| p).collect();
    let items: Vec<api::AuditItem> = found
        .iter()
        .zip(prove_all(node, &cp, &all)?)
        .map(|((row, _), v)| annotate(v, row))
        .collect();
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
