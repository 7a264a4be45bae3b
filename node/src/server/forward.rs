//! Entry dissemination between nodes, batched.
//!
//! A node queues every entry it accepts from a client in its outbox; a task sends the outbox to
//! every peer every [`FORWARD_EVERY`] as one `POST /v1/entries/forwarded` per peer (at most
//! [`MAX_FORWARD_BATCH`] entries each), so that whoever proposes next already holds the entry.
//! Peers check every forwarded entry exactly as a client submission (decoding, signature,
//! ledger validity, de-duplication) and do not forward it again. One request per batch instead
//! of one per entry and peer keeps HTTP and scheduling overhead off the consensus cores.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use certledger_core::api::{ForwardedBatch, ForwardedResult};

use crate::server::exec::MAX_ENTRY_BYTES;
use crate::server::handle::NodeHandle;
use crate::server::http::{err, internal};

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

/// Sends the outbox to every peer, forever.
pub async fn forward_loop(node: Arc<NodeHandle>) {
    loop {
        tokio::time::sleep(FORWARD_EVERY).await;
        let entries = node.outbox.take();
        if entries.is_empty() || node.peer_http.is_empty() {
            continue;
        }
        let mut sends = tokio::task::JoinSet::new();
        for chunk in batches(&entries) {
            let b64: Vec<String> = chunk
                .iter()
                .map(|e| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(e))
                .collect();
            let body = Arc::new(ForwardedBatch { entries: b64 });
            for base in &node.peer_http {
                let client = node.http.clone();
                let url = format!("{base}/v1/entries/forwarded");
                let body = body.clone();
                sends.spawn(async move {
                    let _ = client.post(url).json(&*body).send().await;
                });
            }
        }
        // Bounded by the client timeout; a peer that is down only loses this copy (it gets
        // the entries with the block that commits them).
        while sends.join_next().await.is_some() {}
    }
}

/// `POST /v1/entries/forwarded`: a batch of entries from a peer (or any client); each is
/// checked like a single submission and queued; none is forwarded again.
pub async fn post_forwarded(
    State(node): State<Arc<NodeHandle>>,
    body: axum::body::Bytes,
) -> Response {
    let Ok(batch) = serde_json::from_slice::<ForwardedBatch>(&body) else {
        return bad("body must be JSON {\"entries\": [\"<base64url>\", ...]}");
    };
    if batch.entries.len() > MAX_FORWARD_BATCH {
        return bad(format!("more than {MAX_FORWARD_BATCH} entries in one batch"));
    }
    let mut decoded = Vec::with_capacity(batch.entries.len());
    for e in &batch.entries {
        match base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(e.trim_end_matches('=')) {
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
    use super::*;

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
