//! Bounded reads of a peer's JSON answers (cosignatures, evidence pages): the body is read up
//! to a limit before anything is parsed. A leaf: cosigning and evidence gossip both use it.

/// A peer's JSON answer of type `T`: the body is read up to `max` bytes (a longer one,
/// announced or not, is dropped before parsing), then parsed; any failure is `None`.
pub(crate) async fn fetch_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    max: usize,
) -> Option<T> {
    let mut resp = http.get(url).send().await.ok()?;
    if !resp.status().is_success() || resp.content_length().is_some_and(|n| n > max as u64) {
        return None;
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.ok()? {
        if body.len() + chunk.len() > max {
            return None;
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).ok()
}
