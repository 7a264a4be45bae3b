//! Audit with proofs: what a department's issuers did in a time range, and the history of one
//! credential, each entry with its log index and an RFC 9162 inclusion proof against ONE
//! quorum-cosigned checkpoint (`specs/node.md`, Audit; `specs/openapi.yaml`).
//!
//! Server side: `GET /v1/audit/department/{id}?from=&to=&limit=&cursor=` and
//! `GET /v1/audit/credential/{id}?limit=&cursor=`, answered from the audit index in the ledger
//! state at the checkpoint's state root (`certledger_core::ledger::build_page`; `specs/ledger.md`,
//! "Audit index"), with the proofs that nothing was left out. Every item carries the canonical log
//! leaf (read through the store's leaf index by log index), so the client re-derives what the
//! entry does instead of trusting the node's summary. A department answer also proves, for each
//! issuer key it mentions, that key's `RegisterIssuer` leaf naming the department. Entries
//! committed after the newest cosigned checkpoint are not in its state; the answer then says
//! `held_back: true` and gives a cursor (an index seq) to continue from later.
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
use certledger_core::codec::Decode as _;
use certledger_core::codec::Encode as _;
use certledger_core::ledger::{
    self, build_page, BuiltPage, IndexError, IndexRecord, IndexScope, LogLeaf, Range, SignedEntry,
};
use certledger_core::merkle;
use certledger_core::note::{self, Note};
use serde::Deserialize;

use crate::ids;
use crate::server::handle::NodeHandle;
use crate::server::store::{EntryLocation, StoreError};

/// Default page size.
pub const DEFAULT_LIMIT: usize = 100;
/// Largest page size.
pub const MAX_LIMIT: usize = 500;

type St = State<Arc<NodeHandle>>;

use crate::server::reply::err;

/// Query of `GET /v1/audit/department/{id}`.
#[derive(Deserialize)]
pub struct DepartmentQuery {
    pub(crate) from: Option<u64>,
    pub(crate) to: Option<u64>,
    pub(crate) limit: Option<usize>,
    pub(crate) cursor: Option<String>,
}

/// Query of `GET /v1/audit/credential/{id}`.
#[derive(Deserialize)]
pub struct CredentialQuery {
    pub(crate) limit: Option<usize>,
    pub(crate) cursor: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum AuditError {
    #[error("no cosigned checkpoint yet")]
    NoCheckpoint,
    #[error("{0}")]
    Unavailable(&'static str),
    #[error("cursor past the audit index")]
    BadCursor,
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
        AuditError::BadCursor => err(StatusCode::BAD_REQUEST, "malformed", e),
        AuditError::Store(_) => err(StatusCode::INTERNAL_SERVER_ERROR, "internal", e),
    }
}

struct Checkpoint {
    height: u64,
    note: String,
    log_size: u64,
    state_root: [u8; 32],
}

/// The newest cosigned checkpoint; its log size is read from the note itself (no block read).
fn checkpoint(node: &NodeHandle) -> Result<Checkpoint, AuditError> {
    let (height, note) = node.store.latest_checkpoint()?.ok_or(AuditError::NoCheckpoint)?;
    let parsed = Note::parse(&note)
        .ok()
        .and_then(|n| note::LedgerCheckpoint::parse_body(n.text()).ok())
        .ok_or(AuditError::Unavailable("stored checkpoint note is malformed"))?;
    Ok(Checkpoint { height, note, log_size: parsed.size, state_root: parsed.state_root })
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

/// The node's summary of a proven leaf (which the client compares with the leaf).
fn annotate(proven: ProvenLeaf, leaf: &LogLeaf) -> api::AuditItem {
    let subject = ledger::audit_subject(&leaf.entry);
    api::AuditItem {
        proven,
        time: leaf.time,
        kind: subject.kind.to_owned(),
        issuer_key: URL_SAFE_NO_PAD.encode(subject.issuer_key.0),
        credential_id: subject.credential_id.map(|id| URL_SAFE_NO_PAD.encode(id)),
    }
}

pub(crate) fn clamp_limit(limit: Option<usize>) -> usize {
    limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
}

/// Where an index record's entry is: its block and place in it.
fn location_of(node: &NodeHandle, rec: &IndexRecord) -> Result<EntryLocation, AuditError> {
    let block = node.store.block(rec.height)?.ok_or(AuditError::Unavailable("block missing"))?;
    let first = block
        .header
        .log_size
        .checked_sub(block.entries.len() as u64)
        .ok_or(AuditError::Unavailable("block log size below its entry count"))?;
    let index_in_block = rec
        .log_index
        .checked_sub(first)
        .and_then(|i| u32::try_from(i).ok())
        .filter(|i| (*i as usize) < block.entries.len())
        .ok_or(AuditError::Unavailable("index record outside its block"))?;
    Ok(EntryLocation { height: rec.height, index_in_block, log_index: rec.log_index })
}

/// The leaf of an index record, checked to be the entry the record names.
fn record_leaf(node: &NodeHandle, rec: &IndexRecord) -> Result<(ToProve, LogLeaf), AuditError> {
    let (loc, bytes) = match node.store.audit_leaf(rec.log_index)? {
        // The leaf index answers directly (the place in the block is only needed without it).
        Some(bytes) => (
            EntryLocation { height: rec.height, index_in_block: 0, log_index: rec.log_index },
            bytes,
        ),
        None => {
            let loc = location_of(node, rec)?;
            (loc, leaf_at(node, &loc)?)
        }
    };
    let leaf = LogLeaf::from_bytes_checked(&bytes)
        .map_err(|_| AuditError::Unavailable("stored leaf is malformed"))?;
    if leaf.entry.id() != rec.entry_id || leaf.height != rec.height || leaf.time != rec.time {
        return Err(AuditError::Unavailable("index record and log leaf disagree"));
    }
    Ok((ToProve { loc, leaf: bytes }, leaf))
}

/// One page of `scope` from the audit index in the checkpoint's state, with its leaves.
struct IndexedPage {
    built: BuiltPage,
    leaves: Vec<(ToProve, LogLeaf)>,
    /// Entries of the range committed after the checkpoint exist.
    held_back: bool,
}

fn indexed_page(
    node: &NodeHandle,
    cp: &Checkpoint,
    scope: &IndexScope,
    range: Option<Range>,
    start: Option<u64>,
    limit: usize,
) -> Result<IndexedPage, AuditError> {
    let (built, live_next) = {
        let s = node.lock();
        let mut lookup = |k: &[u8; 32]| s.ledger.state_proof_at(&cp.state_root, k);
        let built = build_page(scope, range, start, limit, &mut lookup).map_err(|e| match e {
            IndexError::StartPastEnd => AuditError::BadCursor,
            _ => AuditError::Unavailable("the audit index at the checkpoint cannot be read"),
        })?;
        // The first record after the checkpoint's, if any was committed since.
        let live_next = s
            .ledger
            .state_value(&scope.entry_key(built.index.count))
            .and_then(|b| IndexRecord::from_bytes(&b).ok());
        (built, live_next)
    };
    let held_back = built.closed
        && built.index.after.is_none()
        && live_next.is_some_and(|r| range.is_none_or(|g| r.time < g.to));
    let leaves =
        built.records.iter().map(|r| record_leaf(node, r)).collect::<Result<Vec<_>, _>>()?;
    Ok(IndexedPage { built, leaves, held_back })
}

fn parse_cursor(c: Option<&str>) -> Result<Option<u64>, AuditError> {
    match c {
        None | Some("") => Ok(None),
        Some(c) => c.parse().map(Some).map_err(|_| AuditError::BadCursor),
    }
}

/// The page's next cursor: the next seq while the index goes on, or once more entries are
/// committed after the checkpoint.
fn next_cursor(p: &IndexedPage) -> Option<String> {
    (!p.built.closed || p.held_back)
        .then(|| (p.built.index.first_seq + p.built.records.len() as u64).to_string())
}

pub(crate) fn department_answer(
    node: &NodeHandle,
    department: &str,
    q: &DepartmentQuery,
) -> Result<AuditPage, AuditError> {
    let cp = checkpoint(node)?;
    let from = q.from.unwrap_or(0);
    let to = q.to.unwrap_or(u64::MAX);
    let start = parse_cursor(q.cursor.as_deref())?;
    let scope = IndexScope::Department(department.to_owned());
    let page =
        indexed_page(node, &cp, &scope, Some(Range { from, to }), start, clamp_limit(q.limit))?;
    // Each issuer key mentioned, with its RegisterIssuer leaf naming the department.
    let mut registrations: BTreeMap<[u8; 32], (String, ToProve)> = BTreeMap::new();
    for (_, leaf) in &page.leaves {
        if !ledger::concerns_issuer_key(&leaf.entry) {
            continue;
        }
        let key = ledger::audit_subject(&leaf.entry).issuer_key.0;
        if registrations.contains_key(&key) {
            continue;
        }
        if let Some(idx) = node.store.issuer_index(&key)? {
            if let Some(p) = to_prove(node, &cp, &idx.location)? {
                registrations.insert(key, (idx.department, p));
            }
        }
    }
    let mut all: Vec<&ToProve> = page.leaves.iter().map(|(p, _)| p).collect();
    all.extend(registrations.values().map(|(_, p)| p));
    let mut proven = prove_all(node, &cp, &all)?.into_iter();
    let items: Vec<api::AuditItem> =
        page.leaves.iter().zip(proven.by_ref()).map(|((_, leaf), v)| annotate(v, leaf)).collect();
    let issuers: Vec<AuditIssuer> = registrations
        .iter()
        .zip(proven)
        .map(|((key, (department, _)), proven)| AuditIssuer {
            proven,
            issuer_key: URL_SAFE_NO_PAD.encode(key),
            department: department.clone(),
        })
        .collect();
    Ok(AuditPage {
        department: Some(department.to_owned()),
        credential_id: None,
        from: Some(from),
        to: Some(to),
        checkpoint: CheckpointNote { height: cp.height, note: cp.note.clone() },
        items,
        issuers: Some(issuers),
        next_cursor: next_cursor(&page),
        held_back: page.held_back,
        index: Some(page.built.index.to_api()),
    })
}

pub(crate) fn credential_answer(
    node: &NodeHandle,
    id: &[u8; 32],
    q: &CredentialQuery,
) -> Result<AuditPage, AuditError> {
    let cp = checkpoint(node)?;
    let start = parse_cursor(q.cursor.as_deref())?;
    let scope = IndexScope::Credential(*id);
    let page = indexed_page(node, &cp, &scope, None, start, clamp_limit(q.limit))?;
    let all: Vec<&ToProve> = page.leaves.iter().map(|(p, _)| p).collect();
    let items: Vec<api::AuditItem> = page
        .leaves
        .iter()
        .zip(prove_all(node, &cp, &all)?)
        .map(|((_, leaf), v)| annotate(v, leaf))
        .collect();
    Ok(AuditPage {
        credential_id: Some(URL_SAFE_NO_PAD.encode(id)),
        checkpoint: CheckpointNote { height: cp.height, note: cp.note.clone() },
        items,
        next_cursor: next_cursor(&page),
        held_back: page.held_back,
        index: Some(page.built.index.to_api()),
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
    if q.cursor.as_deref().is_some_and(|c| !c.is_empty() && c.parse::<u64>().is_err()) {
        return err(StatusCode::BAD_REQUEST, "malformed", "cursor must be an audit index seq");
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
        return err(StatusCode::BAD_REQUEST, "malformed", "cursor must be an audit index seq");
    }
    match tokio::task::spawn_blocking(move || credential_answer(&node, &id, &q)).await {
        Ok(Ok(v)) => Json(v).into_response(),
        Ok(Err(e)) => audit_error(e),
        Err(_) => err(StatusCode::INTERNAL_SERVER_ERROR, "internal", "audit task failed"),
    }
}
