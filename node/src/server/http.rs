//! The HTTP JSON API (`specs/openapi.yaml`).
//!
//! Submissions are validated, queued in the local mempool and forwarded once to every peer's
//! `POST /v1/entries` (marked with the `x-certledger-forwarded` header so peers do not forward
//! again). So whichever validator proposes next already holds the entry.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::handler::Handler;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::{Json, Router};
use base64::Engine as _;
use serde::Deserialize;

use crate::server::exec::{EntryError, MAX_ENTRY_BYTES};
use certledger_core::codec::Encode as _;

use crate::server::front::{self, BodyLimit};
use crate::server::handle::NodeHandle;
use crate::server::mempool::SubmitError;
use crate::server::proofs::{self, ProofError};
use crate::server::reply::{err, internal, FORWARDED_HEADER};
use certledger_core::api::{
    self, CheckpointNote, ConsistencyProof, CredentialProofs, EntryState, EntryStatus, Health,
    InclusionProof, StateProof, SubmitRequest,
};

type St = State<Arc<NodeHandle>>;

/// The HTTP method of an API route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verb {
    /// `GET` (read; CORS-enabled).
    Get,
    /// `POST` (write: signed entries only).
    Post,
}

/// One API route; the path uses OpenAPI's `{name}` syntax, which axum 0.8 shares.
struct Route {
    verb: Verb,
    path: &'static str,
    body: BodyLimit,
    handler: MethodRouter<Arc<NodeHandle>>,
}

impl Route {
    /// A route whose body limit is its verb's: none for `GET`, one submission for `POST`.
    fn new<H, T>(verb: Verb, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, Arc<NodeHandle>>,
        T: 'static,
    {
        let (handler, body) = match verb {
            Verb::Get => (get(handler), front::NO_BODY),
            Verb::Post => (post(handler), front::SUBMIT_BODY),
        };
        Self { verb, path, body, handler }
    }

    /// The route with another body limit.
    fn body(self, body: BodyLimit) -> Self {
        Self { body, ..self }
    }
}

/// The API routes: the one list the router is built from and `specs/openapi.yaml` is checked
/// against.
fn routes() -> Vec<Route> {
    use crate::server::{audit, forward, governance};
    vec![
        Route::new(Verb::Post, "/v1/entries", post_entry),
        Route::new(Verb::Post, "/v1/entries/forwarded", forward::post_forwarded)
            .body(front::FORWARDED_BODY),
        Route::new(Verb::Get, "/v1/entries/{id}", get_entry),
        Route::new(Verb::Get, "/v1/checkpoints/latest", latest_checkpoint),
        Route::new(Verb::Get, "/v1/checkpoints/{height}", checkpoint),
        Route::new(Verb::Get, "/v1/checkpoints/{height}/cosignature", cosignature),
        Route::new(Verb::Get, "/v1/proofs/inclusion", inclusion),
        Route::new(Verb::Get, "/v1/proofs/consistency", consistency),
        Route::new(Verb::Get, "/v1/proofs/state/{key}", state_proof),
        Route::new(Verb::Get, "/v1/proofs/credential/{id}", credential_proofs),
        Route::new(Verb::Get, "/v1/blocks/{height}", block),
        Route::new(Verb::Get, "/v1/trust-root", trust_root),
        Route::new(Verb::Get, "/v1/audit/department/{id}", audit::department_handler),
        Route::new(Verb::Get, "/v1/audit/credential/{id}", audit::credential_handler),
        Route::new(Verb::Get, "/v1/validator-chain", governance::validator_chain_handler),
        Route::new(Verb::Get, "/v1/dashboard", crate::server::dashboard::dashboard_handler),
        Route::new(Verb::Get, "/v1/evidence", crate::server::evidence::list_handler),
        Route::new(Verb::Get, "/v1/evidence/{id}", crate::server::evidence::one_handler),
        Route::new(Verb::Get, "/health", health),
        Route::new(Verb::Get, "/metrics", metrics),
    ]
}

/// Every `(method, path)` the API router serves (the verification page's routes are
/// [`crate::server::web::ROUTES`]).
pub fn route_table() -> Vec<(Verb, &'static str)> {
    routes().iter().map(|r| (r.verb, r.path)).collect()
}

/// Every API route's body limit (`specs/node.md`, "Body limits").
pub fn body_limits() -> Vec<(Verb, &'static str, BodyLimit)> {
    routes().iter().map(|r| (r.verb, r.path, r.body)).collect()
}

/// The API router.
pub fn router(node: Arc<NodeHandle>) -> Router {
    let mut router = Router::new();
    for r in routes() {
        router = router.route(r.path, front::with_body_limit(r.handler, r.body));
    }
    router.layer(axum::middleware::map_response_with_state(node.clone(), cors)).with_state(node)
}

async fn cors(State(_): St, method: Method, mut resp: Response) -> Response {
    if method == Method::GET {
        resp.headers_mut()
            .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    }
    resp
}

fn decode_b64(s: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let t = s.trim_end_matches('=');
    URL_SAFE_NO_PAD.decode(t).ok().or_else(|| STANDARD.decode(s).ok())
}

async fn post_entry(State(node): St, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let Ok(parsed) = serde_json::from_slice::<SubmitRequest>(&body) else {
        return err(
            StatusCode::BAD_REQUEST,
            "malformed",
            "body must be JSON {\"entry\": \"<base64>\"}",
        );
    };
    let Some(bytes) = decode_b64(&parsed.entry) else {
        return err(StatusCode::BAD_REQUEST, "malformed", "entry is not base64");
    };
    if bytes.len() > MAX_ENTRY_BYTES {
        return err(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "entry over 32 KiB");
    }
    let Some(id) = crate::server::exec::entry_id(&bytes) else {
        return err(StatusCode::BAD_REQUEST, "malformed", "not a canonical signed entry");
    };
    let id_hex = hex::encode(id);
    // A committed entry is a duplicate even before the ledger sees it again.
    match node.store.entry_location(&id) {
        Ok(Some(_)) => return err(StatusCode::CONFLICT, "duplicate", "entry is already committed"),
        Ok(None) => {}
        Err(e) => return internal(e),
    }
    let submitted = {
        let node = node.clone();
        let bytes = bytes.clone();
        tokio::task::spawn_blocking(move || node.submit(bytes)).await
    };
    let Ok(submitted) = submitted else {
        return internal("submission task failed");
    };
    match submitted {
        Ok(_) => {}
        Err(SubmitError::Entry(EntryError::Malformed(m))) => {
            return err(StatusCode::BAD_REQUEST, "malformed", m);
        }
        Err(SubmitError::Entry(EntryError::Unsupported(m))) => {
            return err(StatusCode::UNPROCESSABLE_ENTITY, "unsupported", m);
        }
        Err(SubmitError::Entry(EntryError::Ledger(e))) => {
            use certledger_core::ledger::EntryError as L;
            return match e {
                L::BadSignature => {
                    err(StatusCode::BAD_REQUEST, "bad_signature", "entry signature does not verify")
                }
                L::NotAuthorised(_)
                | L::UnknownSigner
                | L::UnknownDepartment
                | L::WrongDepartment
                | L::UnknownIssuer => err(StatusCode::FORBIDDEN, "unauthorised_signer", e),
                L::Replay => err(StatusCode::CONFLICT, "duplicate", "entry is already committed"),
                L::AlreadyRegistered(_) | L::AlreadyAnchored => {
                    err(StatusCode::CONFLICT, "conflict", e)
                }
                L::TooLarge(_) => err(StatusCode::PAYLOAD_TOO_LARGE, "too_large", e),
                L::Store(_) => internal(e),
                _ => err(StatusCode::UNPROCESSABLE_ENTITY, "invalid_entry", e),
            };
        }
        Err(SubmitError::AlreadyPending) => {
            return err(StatusCode::CONFLICT, "duplicate", "entry is already pending");
        }
        Err(SubmitError::Full) => {
            return err(StatusCode::SERVICE_UNAVAILABLE, "mempool_full", "try again later")
        }
    }
    if !headers.contains_key(FORWARDED_HEADER) {
        node.outbox.push(bytes);
    }
    (StatusCode::ACCEPTED, Json(EntryStatus { id: id_hex, state: EntryState::Pending }))
        .into_response()
}

fn parse_id(s: &str) -> Option<[u8; 32]> {
    hex::decode(s).ok().and_then(|v| v.try_into().ok())
}

async fn get_entry(State(node): St, Path(id): Path<String>) -> Response {
    let Some(id) = parse_id(&id) else {
        return err(StatusCode::BAD_REQUEST, "malformed", "id must be 64 hex digits");
    };
    match node.store.entry_location(&id) {
        Ok(Some(loc)) => Json(EntryStatus {
            id: hex::encode(id),
            state: EntryState::Committed {
                height: loc.height,
                index: u64::from(loc.index_in_block),
                log_index: loc.log_index,
            },
        })
        .into_response(),
        Ok(None) if node.lock().mempool.contains(&id) => {
            Json(EntryStatus { id: hex::encode(id), state: EntryState::Pending }).into_response()
        }
        Ok(None) => err(StatusCode::NOT_FOUND, "not_found", "unknown entry"),
        Err(e) => internal(e),
    }
}

async fn latest_checkpoint(State(node): St) -> Response {
    match node.store.latest_checkpoint() {
        Ok(Some((height, note))) => Json(CheckpointNote { height, note }).into_response(),
        Ok(None) => err(StatusCode::NOT_FOUND, "not_found", "no cosigned checkpoint yet"),
        Err(e) => internal(e),
    }
}

async fn checkpoint(State(node): St, Path(height): Path<u64>) -> Response {
    match node.store.checkpoint(height) {
        Ok(Some(note)) => Json(CheckpointNote { height, note }).into_response(),
        Ok(None) => {
            err(StatusCode::NOT_FOUND, "not_found", "no cosigned checkpoint at this height")
        }
        Err(e) => internal(e),
    }
}

async fn cosignature(State(node): St, Path(height): Path<u64>) -> Response {
    match node.own_cosignature(height) {
        Some(note) => Json(CheckpointNote { height, note }).into_response(),
        None => {
            err(StatusCode::NOT_FOUND, "not_found", "no own checkpoint signature at this height")
        }
    }
}

#[derive(Deserialize)]
struct InclusionQ {
    index: u64,
    size: u64,
}

async fn inclusion(State(node): St, Query(q): Query<InclusionQ>) -> Response {
    let s = node.lock();
    match s.ledger.inclusion_proof(q.index, q.size) {
        Some(path) => Json(InclusionProof {
            index: q.index,
            size: q.size,
            path: path.iter().map(hex::encode).collect(),
        })
        .into_response(),
        None => err(StatusCode::BAD_REQUEST, "out_of_range", "index must be < size <= log size"),
    }
}

#[derive(Deserialize)]
struct ConsistencyQ {
    old: u64,
    new: u64,
}

async fn consistency(State(node): St, Query(q): Query<ConsistencyQ>) -> Response {
    let s = node.lock();
    match s.ledger.consistency_proof(q.old, q.new) {
        Some(path) => Json(ConsistencyProof {
            old: q.old,
            new: q.new,
            path: path.iter().map(hex::encode).collect(),
        })
        .into_response(),
        None => err(StatusCode::BAD_REQUEST, "out_of_range", "need 0 < old <= new <= log size"),
    }
}

fn proof_error(e: ProofError) -> Response {
    match e {
        ProofError::NotFound => err(StatusCode::NOT_FOUND, "not_found", e),
        ProofError::NoCheckpoint | ProofError::NotCheckpointed(_) => {
            let mut r = err(StatusCode::SERVICE_UNAVAILABLE, "not_checkpointed", e);
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            r
        }
        ProofError::Unavailable(_) => err(StatusCode::SERVICE_UNAVAILABLE, "unavailable", e),
        _ => internal(e),
    }
}

async fn state_proof(State(node): St, Path(key): Path<String>) -> Response {
    let Some(k) = parse_id(&key) else {
        return err(StatusCode::BAD_REQUEST, "malformed", "key must be 64 hex digits");
    };
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let node2 = node.clone();
    match tokio::task::spawn_blocking(move || proofs::state_at_checkpoint(&node2, &k)).await {
        Ok(Ok(at)) => Json(StateProof {
            key: hex::encode(k),
            height: at.height,
            value: at.value.map(|v| b64.encode(v)),
            proof: b64.encode(at.proof.to_bytes()),
            checkpoint: at.checkpoint,
        })
        .into_response(),
        Ok(Err(e)) => proof_error(e),
        Err(_) => internal("proof task failed"),
    }
}

async fn credential_proofs(State(node): St, Path(id): Path<String>) -> Response {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let Some(id) = b64.decode(&id).ok().and_then(|v| <[u8; 32]>::try_from(v).ok()) else {
        return err(
            StatusCode::BAD_REQUEST,
            "malformed",
            "credential id must be 32 bytes, unpadded base64url",
        );
    };
    let node2 = node.clone();
    match tokio::task::spawn_blocking(move || proofs::credential_proofs(&node2, &id)).await {
        Ok(Ok((height, p))) => {
            Json(CredentialProofs { height, proofs: b64.encode(p.to_bytes()) }).into_response()
        }
        Ok(Err(e)) => proof_error(e),
        Err(_) => internal("proof task failed"),
    }
}

async fn block(State(node): St, Path(height): Path<u64>) -> Response {
    let (b, c) = match (node.store.block(height), node.store.certificate(height)) {
        (Ok(Some(b)), Ok(Some(c))) => (b, c),
        (Ok(None), _) | (_, Ok(None)) => {
            return err(StatusCode::NOT_FOUND, "not_found", "no block at this height")
        }
        (Err(e), _) | (_, Err(e)) => return internal(e),
    };
    let h = &b.header;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    Json(api::Block {
        hash: hex::encode(h.hash().0),
        header: api::BlockHeader {
            chain_id: h.chain_id.clone(),
            height: h.height,
            prev_block_hash: hex::encode(h.prev_block_hash),
            time: h.time,
            proposer: hex::encode(h.proposer),
            entries_root: hex::encode(h.entries_root),
            log_size: h.log_size,
            log_root: hex::encode(h.log_root),
            state_root: hex::encode(h.state_root),
            validators_hash: hex::encode(h.validators_hash),
            next_validators_hash: hex::encode(h.next_validators_hash),
        },
        header_bytes: hex::encode(h.canonical_bytes()),
        entries: b.entries.iter().map(|e| b64.encode(e)).collect(),
        certificate: api::Certificate {
            height: c.height,
            round: c.round,
            value_id: hex::encode(c.value_id),
            signatures: c
                .signatures
                .iter()
                .map(|(a, s)| api::CommitSignature {
                    address: hex::encode(a),
                    signature: hex::encode(s),
                })
                .collect(),
        },
    })
    .into_response()
}

/// The genesis trust root (department node keys and the more-than-2/3 threshold) in the JSON form
/// verifiers load (`specs/bundle.md`). A verifier should compare it with a copy obtained out of
/// band: trusting whatever a node says would let that node pick the keys.
async fn trust_root(State(node): St) -> Response {
    // The genesis trust root with the genesis departments (names, node and admin keys), so a
    // verifier can follow later validator changes from it (`/v1/validator-chain`).
    let trust =
        certledger_core::lightclient::GovernanceTrust::from_genesis(&node.genesis.to_core());
    ([(axum::http::header::CONTENT_TYPE, "application/json")], trust.to_trust_root_json())
        .into_response()
}

async fn health(State(node): St) -> Response {
    let evidence = match node.store.evidence_count() {
        Ok(n) => n,
        Err(e) => return internal(e),
    };
    let s = node.lock();
    let out = s.ledger.outcome();
    let height = s.last_header.as_ref().map(|h| h.height).unwrap_or(0);
    Json(Health {
        status: "ok".to_owned(),
        chain_id: node.chain_id.clone(),
        height,
        log_size: out.log_size,
        log_root: hex::encode(out.log_root),
        state_root: hex::encode(out.state_root),
        validator: node.is_validator,
        public_key: hex::encode(node.key.public_key().0),
        mempool: s.mempool.len() as u64,
        evidence,
    })
    .into_response()
}

async fn metrics(State(node): St) -> Response {
    let s = node.lock();
    let m = s.metrics;
    let out = s.ledger.outcome();
    let height = s.last_header.as_ref().map(|h| h.height).unwrap_or(0);
    let text = format!(
        "# TYPE certledger_height gauge\ncertledger_height {height}\n\
         # TYPE certledger_log_size gauge\ncertledger_log_size {}\n\
         # TYPE certledger_mempool_entries gauge\ncertledger_mempool_entries {}\n\
         # TYPE certledger_entries_accepted_total counter\ncertledger_entries_accepted_total {}\n\
         # TYPE certledger_entries_rejected_total counter\ncertledger_entries_rejected_total {}\n\
         # TYPE certledger_blocks_committed_total counter\ncertledger_blocks_committed_total {}\n\
         # TYPE certledger_entries_committed_total counter\ncertledger_entries_committed_total {}\n\
         # TYPE certledger_proposals_rejected_total counter\ncertledger_proposals_rejected_total {}\n\
         # TYPE certledger_evidence_detected_total counter\ncertledger_evidence_detected_total {}\n\
         # TYPE certledger_evidence_received_total counter\ncertledger_evidence_received_total {}\n\
         # TYPE certledger_evidence_refused_total counter\ncertledger_evidence_refused_total {}\n\
         # TYPE certledger_evidence_dropped_total counter\ncertledger_evidence_dropped_total {}\n\
         # TYPE certledger_conflicting_statements_total counter\ncertledger_conflicting_statements_total {}\n",
        out.log_size,
        s.mempool.len(),
        m.entries_accepted,
        m.entries_rejected,
        m.blocks_committed,
        m.entries_committed,
        m.proposals_rejected,
        m.evidence_detected,
        m.evidence_received,
        m.evidence_refused,
        m.evidence_dropped,
        m.conflicting_statements,
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

#[cfg(test)]
mod openapi_tests {
    use super::*;

    /// `(method, path)` of every operation under `paths:` in the OpenAPI document (two-space
    /// indented paths, four-space indented methods, as the file is written).
    fn openapi_operations(text: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut in_paths = false;
        let mut path = None;
        for line in text.lines() {
            if !line.starts_with(' ') && !line.is_empty() {
                in_paths = line.trim_end() == "paths:";
                continue;
            }
            if !in_paths {
                continue;
            }
            if let Some(p) = line.strip_prefix("  /") {
                path = p.strip_suffix(':').map(|p| format!("/{p}"));
            } else if let (Some(m), Some(p)) = (line.strip_prefix("    "), &path) {
                if let Some(m) = m.strip_suffix(':') {
                    if ["get", "post", "put", "delete", "patch"].contains(&m) {
                        out.push((m.to_owned(), p.clone()));
                    }
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn the_openapi_document_lists_exactly_the_served_routes() {
        let spec = openapi_operations(include_str!("../../../specs/openapi.yaml"));
        assert!(spec.len() > 10, "the OpenAPI paths were not read: {spec:?}");
        let mut served: Vec<(String, String)> = route_table()
            .into_iter()
            .map(|(v, p)| (if v == Verb::Get { "get" } else { "post" }.to_owned(), p.to_owned()))
            .chain(crate::server::web::ROUTES.iter().map(|p| ("get".to_owned(), (*p).to_owned())))
            .collect();
        served.sort();
        assert_eq!(spec, served, "specs/openapi.yaml and the router disagree");
    }

    #[test]
    fn the_openapi_reader_sees_methods_under_their_path() {
        let text = "openapi: 3.1.0\npaths:\n  /a/{id}:\n    get:\n      summary: x\n    post:\n  /b:\n    get:\ncomponents:\n  /c:\n    get:\n";
        let ops = openapi_operations(text);
        assert_eq!(
            ops,
            vec![
                ("get".to_owned(), "/a/{id}".to_owned()),
                ("get".to_owned(), "/b".to_owned()),
                ("post".to_owned(), "/a/{id}".to_owned()),
            ]
        );
    }
}
