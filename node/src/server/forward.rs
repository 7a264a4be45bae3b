//! Entry dissemination between nodes, batched.
//!
//! A node queues every entry it accepts from a client in its outbox; a task sends the outbox to
//! every peer every [`FORWARD_EVERY`] as one `POST /v1/entries/forwarded` per peer (at most
//! [`MAX_FORWARD_BATCH`] entries each), so that whoever proposes next already holds the entry.
//! Peers check every forwarded entry exactly as a client submission (decoding, signature,
//! ledger validity, de-duplication) and do not forward it again. One request per batch instead
//! of one per entry and peer keeps HTTP and scheduling overhead off the consensus cores.
//!
//! The endpoint is for peers only: every request carries a [`PEER_AUTH_HEADER`] signed by the
//! sending department's node key under `certledger/v1/peer-request` over the chain id, the
//! receiving node's key, the time and the path and body hash ([`peer_request_bytes`](crate::server::peer_auth::peer_request_bytes)). The
//! receiver refuses, before parsing the body, a request without it (401), with a bad signature,
//! a time outside [`PEER_AUTH_WINDOW_S`] or a signature it has already seen (401), or from a key
//! that is not a department node key in its own ledger now (403). A sender learns a peer's node
//! key from the peer's `/health` once. An observer (a node whose key is no department node key)
//! hands its clients' entries to the peers one by one through the public `POST /v1/entries`,
//! marked `x-certledger-forwarded: 1`, instead.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use certledger_core::api::{ForwardedBatch, ForwardedResult, Health, SubmitRequest};
use certledger_core::sig::PublicKey;

use crate::server::chain::now_s;
use crate::server::exec::MAX_ENTRY_BYTES;
use crate::server::handle::NodeHandle;
use crate::server::peer_auth::{check_peer_header, sign_peer_request, PeerAuthError};
pub use crate::server::peer_auth::{PEER_AUTH_HEADER, PEER_AUTH_WINDOW_S};
use crate::server::reply::{err, internal};

/// How often the outbox is sent.
pub const FORWARD_EVERY: Duration = Duration::from_millis(25);
/// Most entries in one forwarded batch (also the most a peer accepts in one request).
pub const MAX_FORWARD_BATCH: usize = 1024;

/// The outbox split into batches a peer accepts: at most [`MAX_FORWARD_BATCH`] entries and a
/// JSON body within the forwarded-batch body limit (`front::FORWARDED_BODY`) each.
pub fn batches(entries: &[Vec<u8>]) -> Vec<&[Vec<u8>]> {
    // `{"entries":[` + `]}` and, per entry, unpadded base64url in quotes with a comma.
    let budget = crate::server::front::FORWARDED_BODY.max - 16;
    let (mut out, mut start, mut bytes) = (Vec::new(), 0, 0);
    for (i, e) in entries.iter().enumerate() {
        let cost = e.len().div_ceil(3) * 4 + 3;
        if i > start && (i - start == MAX_FORWARD_BATCH || bytes + cost > budget) {
            out.extend(entries.get(start..i));
            (start, bytes) = (i, 0);
        }
        bytes += cost;
    }
    out.extend(entries.get(start..).filter(|rest| !rest.is_empty()));
    out
}

/// The path of the forwarded-batch endpoint.
pub const FORWARD_PATH: &str = "/v1/entries/forwarded";
/// Most bytes read from a peer's `/health` answer.
const MAX_HEALTH_BODY: usize = 16 * 1024;

/// A peer's node key from its `/health` (`public_key`, hex), read within a small size bound.
async fn peer_key(http: &reqwest::Client, base: &str) -> Option<PublicKey> {
    let mut resp = http.get(format!("{base}/health")).send().await.ok()?;
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.ok()? {
        if body.len() + chunk.len() > MAX_HEALTH_BODY {
            return None;
        }
        body.extend_from_slice(&chunk);
    }
    let h: Health = serde_json::from_slice(&body).ok()?;
    Some(PublicKey(hex::decode(h.public_key).ok()?.try_into().ok()?))
}

/// Sends the outbox to every peer, forever.
pub async fn forward_loop(node: Arc<NodeHandle>) {
    let mut keys: BTreeMap<String, PublicKey> = BTreeMap::new();
    loop {
        tokio::time::sleep(FORWARD_EVERY).await;
        let entries = node.outbox.take();
        if entries.is_empty() || node.peer_http.is_empty() {
            continue;
        }
        for base in &node.peer_http {
            if !keys.contains_key(base) {
                if let Some(k) = peer_key(&node.http, base).await {
                    keys.insert(base.clone(), k);
                }
            }
        }
        let me = node.key.public_key();
        let member = {
            let s = node.lock();
            let next = s.last_header.as_ref().map_or(0, |h| h.height).saturating_add(1);
            s.ledger.validators_at(next).iter().any(|d| d.node_key == me)
        };
        if !member {
            // An observer's key is no department node key, so peers refuse its batches: it
            // hands each entry to the peers' public submission endpoint instead.
            submit_one_by_one(&node, &entries, &node.peer_http).await;
            continue;
        }
        let chunks = batches(&entries);
        let mut sends = tokio::task::JoinSet::new();
        for (chunk_index, chunk) in chunks.iter().enumerate() {
            let b64: Vec<String> = chunk.iter().map(|e| URL_SAFE_NO_PAD.encode(e)).collect();
            let Ok(body) = serde_json::to_vec(&ForwardedBatch { entries: b64 }) else { continue };
            let body = bytes::Bytes::from(body);
            let now = now_s();
            for base in &node.peer_http {
                // A peer whose key is not known yet gets the entries with the block.
                let Some(receiver) = keys.get(base) else { continue };
                let auth = sign_peer_request(
                    &node.key,
                    &node.chain_id,
                    receiver,
                    now,
                    FORWARD_PATH,
                    &body,
                );
                let request = node
                    .http
                    .post(format!("{base}{FORWARD_PATH}"))
                    .header(PEER_AUTH_HEADER, auth)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone());
                let base = base.clone();
                sends.spawn(async move {
                    let refused = request
                        .send()
                        .await
                        .is_ok_and(|r| r.status() == reqwest::StatusCode::UNAUTHORIZED);
                    // Perhaps signed for a key the peer no longer has: ask it again.
                    refused.then_some((base, chunk_index))
                });
            }
        }
        // Bounded by the client timeout; a peer that is down only loses this copy (it gets
        // the entries with the block that commits them).
        let mut refused = Vec::new();
        while let Some(done) = sends.join_next().await {
            if let Ok(Some((base, chunk_index))) = done {
                keys.remove(&base);
                refused.push((base, chunk_index));
            }
        }
        // A refused batch (a stale key, or clocks more than `PEER_AUTH_WINDOW_S` apart, so the
        // peer authentication cannot pass) still reaches that peer: through its public
        // submission endpoint, as an observer's entries do. Otherwise the entries would wait
        // for this node to propose, which a node whose clock is ahead never does successfully
        // (`specs/faults.md`, Storage and clock).
        for (base, chunk_index) in refused {
            if let Some(chunk) = chunks.get(chunk_index) {
                submit_one_by_one(&node, chunk, std::slice::from_ref(&base)).await;
            }
        }
    }
}

/// Most concurrent single submissions an observer makes while forwarding.
const OBSERVER_CONCURRENCY: usize = 32;

/// Sends every entry to every peer in `peers` as `POST /v1/entries` marked forwarded (the
/// observer path, and a member's fallback for a peer that refused its signed batch).
async fn submit_one_by_one(node: &NodeHandle, entries: &[Vec<u8>], peers: &[String]) {
    let posts: Vec<(String, SubmitRequest)> = entries
        .iter()
        .flat_map(|e| {
            let body = SubmitRequest { entry: URL_SAFE_NO_PAD.encode(e) };
            peers.iter().map(move |base| (format!("{base}/v1/entries"), body.clone()))
        })
        .collect();
    for wave in posts.chunks(OBSERVER_CONCURRENCY) {
        let mut sends = tokio::task::JoinSet::new();
        for (url, body) in wave {
            let request =
                node.http.post(url).header(crate::server::reply::FORWARDED_HEADER, "1").json(body);
            sends.spawn(async move {
                let _ = request.send().await;
            });
        }
        while sends.join_next().await.is_some() {}
    }
}

/// `POST /v1/entries/forwarded`: a batch of entries from a peer, authenticated by its
/// department node key before anything else; each entry is checked like a single submission
/// and queued; none is forwarded again.
pub async fn post_forwarded(
    State(node): State<Arc<NodeHandle>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let members: Vec<PublicKey> = {
        let s = node.lock();
        let next = s.last_header.as_ref().map_or(0, |h| h.height).saturating_add(1);
        s.ledger.validators_at(next).iter().map(|d| d.node_key).collect()
    };
    let refuse = |e: PeerAuthError| {
        let code = if e == PeerAuthError::NotMember { "forbidden" } else { "unauthorized" };
        err(e.status(), code, e)
    };
    let now = now_s();
    // Header, time and membership first: a stranger's body is never read.
    let claim = match check_peer_header(&headers, &members, now) {
        Ok(c) => c,
        Err(e) => return refuse(e),
    };
    let Ok(body) = axum::body::to_bytes(body, crate::server::front::FORWARDED_BODY.max).await
    else {
        return err(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "转发批次超过上限 / forwarded batch over its limit",
        );
    };
    let me = node.key.public_key();
    if let Err(e) =
        claim.verify_body(&node.chain_id, &me, FORWARD_PATH, &body, &node.peer_replay, now)
    {
        return refuse(e);
    }
    let Ok(batch) = serde_json::from_slice::<ForwardedBatch>(&body) else {
        return bad("body must be JSON {\"entries\": [\"<base64url>\", ...]}");
    };
    if batch.entries.len() > MAX_FORWARD_BATCH {
        return bad(format!("more than {MAX_FORWARD_BATCH} entries in one batch"));
    }
    let mut decoded = Vec::with_capacity(batch.entries.len());
    for e in &batch.entries {
        match URL_SAFE_NO_PAD.decode(e.trim_end_matches('=')) {
            Ok(b) if b.len() <= MAX_ENTRY_BYTES => decoded.push(b),
            _ => return bad("an entry is not base64url or is over 32 KiB"),
        }
    }
    let done = tokio::task::spawn_blocking(move || {
        let (mut accepted, mut refused) = (0u64, 0u64);
        for bytes in decoded {
            let committed = crate::server::exec::entry_id(&bytes)
                .map(|id| matches!(node.store.entry_location(&id), Ok(Some(_))))
                .unwrap_or(false);
            if !committed && node.submit(bytes).is_ok() {
                accepted += 1;
            } else {
                refused += 1;
            }
        }
        (accepted, refused)
    })
    .await;
    match done {
        Ok((accepted, refused)) => Json(ForwardedResult { accepted, refused }).into_response(),
        Err(e) => internal(e),
    }
}

fn bad(message: impl std::fmt::Display) -> Response {
    err(StatusCode::BAD_REQUEST, "malformed", message)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use certledger_core::sig::SecretKey;

    use super::*;
    use crate::config::{Genesis, GenesisDepartment, KeyFile, NodeToml};
    use certledger_core::sig::ns;

    use crate::server::handle::open_node;
    use crate::server::peer_auth::*;

    const CHAIN: &str = "forward-test";

    fn keys() -> (SecretKey, SecretKey, SecretKey) {
        // receiver, a member peer, an outsider
        (
            SecretKey::from_seed(&[1; 32]),
            SecretKey::from_seed(&[2; 32]),
            SecretKey::from_seed(&[9; 32]),
        )
    }

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(PEER_AUTH_HEADER, HeaderValue::from_str(value).expect("header"));
        h
    }

    #[test]
    fn peer_requests_are_signed_bound_to_the_receiver_fresh_and_single_use() {
        let (me, peer, outsider) = keys();
        let members = [me.public_key(), peer.public_key()];
        let body = br#"{"entries":[]}"#;
        let now = 1_000_000;
        let guard = ReplayGuard::default();
        let check = |h: &HeaderMap, body: &[u8], now: u64| {
            check_peer_request(
                h,
                CHAIN,
                &me.public_key(),
                &members,
                now,
                FORWARD_PATH,
                body,
                &guard,
            )
        };
        let good = sign_peer_request(&peer, CHAIN, &me.public_key(), now, FORWARD_PATH, body);
        assert_eq!(check(&HeaderMap::new(), body, now), Err(PeerAuthError::Missing));
        assert_eq!(check(&headers("x.y"), body, now), Err(PeerAuthError::Malformed));
        // Another body under the same header.
        assert_eq!(
            check(&headers(&good), br#"{"entries":["AA"]}"#, now),
            Err(PeerAuthError::BadSignature)
        );
        // Signed for another node (replay to a different receiver).
        let other =
            sign_peer_request(&peer, CHAIN, &outsider.public_key(), now, FORWARD_PATH, body);
        assert_eq!(check(&headers(&other), body, now), Err(PeerAuthError::BadSignature));
        // Too old or too far ahead.
        assert_eq!(
            check(&headers(&good), body, now + PEER_AUTH_WINDOW_S + 1),
            Err(PeerAuthError::Stale)
        );
        assert_eq!(
            check(&headers(&good), body, now - PEER_AUTH_WINDOW_S - 1),
            Err(PeerAuthError::Stale)
        );
        // Not a department node key, although well signed.
        let stranger =
            sign_peer_request(&outsider, CHAIN, &me.public_key(), now, FORWARD_PATH, body);
        assert_eq!(check(&headers(&stranger), body, now), Err(PeerAuthError::NotMember));
        assert_eq!(PeerAuthError::NotMember.status(), StatusCode::FORBIDDEN);
        assert_eq!(PeerAuthError::BadSignature.status(), StatusCode::UNAUTHORIZED);
        // Accepted once, refused when replayed.
        assert_eq!(check(&headers(&good), body, now), Ok(peer.public_key()));
        assert_eq!(check(&headers(&good), body, now + 1), Err(PeerAuthError::Replayed));
        // A signature under another namespace (a consensus part, say) is not a peer request.
        let bytes = peer_request_bytes(CHAIN, &me.public_key(), now, FORWARD_PATH, body);
        let wrong = peer.sign(ns::CONSENSUS_PROPOSAL_PART, &bytes);
        let forged = format!(
            "{}.{now}.{}",
            URL_SAFE_NO_PAD.encode(peer.public_key().0),
            URL_SAFE_NO_PAD.encode(wrong.0)
        );
        assert_eq!(check(&headers(&forged), body, now), Err(PeerAuthError::BadSignature));
    }

    #[tokio::test]
    async fn the_forwarded_endpoint_refuses_unauthenticated_posts_before_parsing() {
        let (me, peer, outsider) = keys();
        let dir = tempfile::tempdir().expect("tempdir");
        let dept = |id: &str, k: &SecretKey| GenesisDepartment {
            id: id.into(),
            name_zh: "部门".into(),
            name_en: "Department".into(),
            node_key: k.public_key(),
            admin_keys: vec![SecretKey::from_seed(&[7; 32]).public_key()],
        };
        let genesis = Genesis {
            version: 1,
            chain_id: CHAIN.into(),
            genesis_time: 0,
            departments: vec![dept("dept-0", &me), dept("dept-1", &peer)],
        };
        let gpath = dir.path().join("genesis.json");
        std::fs::write(&gpath, serde_json::to_string(&genesis).expect("json")).expect("write");
        let kpath = dir.path().join("key.json");
        KeyFile::new(&me).write(&kpath).expect("key");
        let cfg = NodeToml {
            moniker: "t".into(),
            data_dir: dir.path().join("data"),
            key_file: kpath,
            genesis_file: gpath,
            validator: true,
            p2p_listen: "/ip4/127.0.0.1/tcp/0".into(),
            persistent_peers: vec![],
            http_listen: "127.0.0.1:0".into(),
            peer_http: vec![],
            block_time_ms: 500,
            timeout_propose_ms: 2000,
            timeout_vote_ms: 1000,
            danger_propose_bad_state_root: false,
            danger_propose_invalid_entry: None,
            web_dir: None,
            http: Default::default(),
        };
        let node = open_node(&cfg).expect("open");
        let post = |h: HeaderMap, body: &'static [u8]| {
            post_forwarded(State(node.clone()), h, axum::body::Body::from(body))
        };
        // Not even JSON: refused for the missing signature, not as malformed (on the old code
        // anyone's batch was parsed and queued).
        let junk: &'static [u8] = b"not json";
        assert_eq!(post(HeaderMap::new(), junk).await.status(), StatusCode::UNAUTHORIZED);
        let body: &'static [u8] = br#"{"entries":[]}"#;
        assert_eq!(post(HeaderMap::new(), body).await.status(), StatusCode::UNAUTHORIZED);
        let now = now_s();
        let stranger =
            sign_peer_request(&outsider, CHAIN, &me.public_key(), now, FORWARD_PATH, body);
        assert_eq!(post(headers(&stranger), body).await.status(), StatusCode::FORBIDDEN);
        let good = sign_peer_request(&peer, CHAIN, &me.public_key(), now, FORWARD_PATH, body);
        assert_eq!(post(headers(&good), body).await.status(), StatusCode::OK);
        assert_eq!(post(headers(&good), body).await.status(), StatusCode::UNAUTHORIZED);
        // Over the body limit: a stranger or an unsigned post is refused on its header (the
        // body is not read); only a member's oversized body gets as far as the limit.
        let huge =
            || axum::body::Body::from(vec![b' '; crate::server::front::FORWARDED_BODY.max + 1]);
        let big = sign_peer_request(&outsider, CHAIN, &me.public_key(), now, FORWARD_PATH, b"");
        let r = post_forwarded(State(node.clone()), headers(&big), huge()).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = post_forwarded(State(node.clone()), HeaderMap::new(), huge()).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let member = sign_peer_request(&peer, CHAIN, &me.public_key(), now, FORWARD_PATH, b"");
        let r = post_forwarded(State(node.clone()), headers(&member), huge()).await;
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let tampered: &'static [u8] = br#"{"entries":["AAAA"]}"#;
        let good2 = sign_peer_request(&peer, CHAIN, &me.public_key(), now + 1, FORWARD_PATH, body);
        assert_eq!(post(headers(&good2), tampered).await.status(), StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn every_batch_of_the_outbox_fits_the_peer_body_limit() {
        let limit = crate::server::front::FORWARDED_BODY.max;
        let outbox: Vec<Vec<u8>> = (0..200)
            .map(|i| vec![7u8; if i % 3 == 0 { MAX_ENTRY_BYTES } else { 100 + i }])
            .chain((0..3000).map(|_| vec![1u8; 200]))
            .collect();
        let parts = batches(&outbox);
        assert_eq!(parts.iter().map(|b| b.len()).sum::<usize>(), outbox.len());
        for b in &parts {
            assert!(!b.is_empty() && b.len() <= MAX_FORWARD_BATCH);
            let b64: Vec<String> = b
                .iter()
                .map(|e| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(e))
                .collect();
            let body = serde_json::to_vec(&ForwardedBatch { entries: b64 }).unwrap_or_default();
            assert!(body.len() <= limit, "a batch of {} bytes", body.len());
        }
        assert!(batches(&[]).is_empty());
    }
}
