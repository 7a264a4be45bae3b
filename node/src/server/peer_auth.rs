//! Authentication of node-to-node requests (`specs/node.md`, namespace
//! `certledger/v1/peer-request`): the signed header a sending department node attaches, and the
//! receiver's checks (form, time window, membership, then the body's signature, then replay),
//! decided before the body is parsed. A leaf: forwarding and the node state both use it.

use std::collections::BTreeSet;
use std::sync::Mutex;

use axum::http::{HeaderMap, StatusCode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use certledger_core::sig::{ns, PublicKey, SecretKey, Signature};
use sha2::{Digest as _, Sha256};

/// The header that authenticates a peer request: `<sender node key>.<unix seconds>.<signature>`
/// (key and signature base64url without padding).
pub const PEER_AUTH_HEADER: &str = "certledger-peer-auth";
/// How far a peer request's time may be from the receiver's clock (seconds).
pub const PEER_AUTH_WINDOW_S: u64 = 30;
/// Most peer-request signatures remembered against replay (those within the window).
pub const MAX_REMEMBERED_REQUESTS: usize = 65_536;

/// The bytes a peer request's signature covers (namespace `certledger/v1/peer-request`):
/// `str(chain_id) ‖ receiver_key ‖ u64 time ‖ str(path) ‖ SHA-256(body)`, `str` being a u16
/// big-endian length and the UTF-8 bytes.
pub fn peer_request_bytes(
    chain_id: &str,
    receiver: &PublicKey,
    time: u64,
    path: &str,
    body: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    for (i, s) in [chain_id, path].into_iter().enumerate() {
        let b = s.as_bytes();
        let b = b.get(..b.len().min(usize::from(u16::MAX))).unwrap_or_default();
        out.extend_from_slice(&u16::try_from(b.len()).unwrap_or(u16::MAX).to_be_bytes());
        out.extend_from_slice(b);
        if i == 0 {
            out.extend_from_slice(&receiver.0);
            out.extend_from_slice(&time.to_be_bytes());
        }
    }
    out.extend_from_slice(&Sha256::digest(body));
    out
}

/// The [`PEER_AUTH_HEADER`] value for a request to `receiver`.
pub fn sign_peer_request(
    key: &SecretKey,
    chain_id: &str,
    receiver: &PublicKey,
    time: u64,
    path: &str,
    body: &[u8],
) -> String {
    let sig = key.sign(ns::PEER_REQUEST, &peer_request_bytes(chain_id, receiver, time, path, body));
    format!(
        "{}.{time}.{}",
        URL_SAFE_NO_PAD.encode(key.public_key().0),
        URL_SAFE_NO_PAD.encode(sig.0)
    )
}

/// Why a peer request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PeerAuthError {
    /// No authentication header.
    #[error("peer request without the certledger-peer-auth header / 缺少节点签名头")]
    Missing,
    /// The header is not `key.time.signature`.
    #[error("malformed certledger-peer-auth header / 节点签名头格式错误")]
    Malformed,
    /// The time is outside the window.
    #[error("peer request time outside the allowed window / 节点请求时间超出允许范围")]
    Stale,
    /// The signature does not verify for this node, path and body.
    #[error("peer request signature does not verify / 节点请求签名无效")]
    BadSignature,
    /// The same signed request was seen before.
    #[error("peer request replayed / 节点请求重放")]
    Replayed,
    /// Too many recent peer requests remembered to check a new one.
    #[error("too many recent peer requests / 节点请求过多")]
    Busy,
    /// The key is not a department node key of the current ledger.
    #[error("sender is not a current department node / 发送方不是当前部门节点")]
    NotMember,
}

impl PeerAuthError {
    /// The HTTP status it is answered with.
    pub fn status(self) -> StatusCode {
        match self {
            Self::NotMember => StatusCode::FORBIDDEN,
            Self::Busy => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNAUTHORIZED,
        }
    }
}

/// Peer-request signatures seen within the window, by `(time, signature)`.
#[derive(Default)]
pub struct ReplayGuard(Mutex<BTreeSet<(u64, [u8; 64])>>);

impl ReplayGuard {
    /// Records a signature; false if it was seen already (or the guard is full).
    fn remember(&self, time: u64, sig: &Signature, now: u64) -> Result<(), PeerAuthError> {
        let mut seen = match self.0.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let oldest = now.saturating_sub(PEER_AUTH_WINDOW_S);
        *seen = seen.split_off(&(oldest, [0; 64]));
        if seen.contains(&(time, sig.0)) {
            return Err(PeerAuthError::Replayed);
        }
        if seen.len() >= MAX_REMEMBERED_REQUESTS {
            return Err(PeerAuthError::Busy);
        }
        seen.insert((time, sig.0));
        Ok(())
    }
}

/// A peer request's header, checked for form, time and membership: what can be decided
/// before the body is read.
pub struct PeerClaim {
    key: PublicKey,
    time: u64,
    sig: Signature,
}

/// Checks the [`PEER_AUTH_HEADER`]: well formed, within the window of `now`, by one of
/// `members`. The signature over the body is checked by [`PeerClaim::verify_body`].
pub fn check_peer_header(
    headers: &HeaderMap,
    members: &[PublicKey],
    now: u64,
) -> Result<PeerClaim, PeerAuthError> {
    let value = headers.get(PEER_AUTH_HEADER).ok_or(PeerAuthError::Missing)?;
    let value = value.to_str().map_err(|_| PeerAuthError::Malformed)?;
    let mut parts = value.splitn(3, '.');
    let (Some(k), Some(t), Some(sg)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(PeerAuthError::Malformed);
    };
    let key: [u8; 32] = decode_fixed(k).ok_or(PeerAuthError::Malformed)?;
    let sig: [u8; 64] = decode_fixed(sg).ok_or(PeerAuthError::Malformed)?;
    let time: u64 = t.parse().map_err(|_| PeerAuthError::Malformed)?;
    if time.abs_diff(now) > PEER_AUTH_WINDOW_S {
        return Err(PeerAuthError::Stale);
    }
    let key = PublicKey(key);
    if !members.contains(&key) {
        return Err(PeerAuthError::NotMember);
    }
    Ok(PeerClaim { key, time, sig: Signature(sig) })
}

impl PeerClaim {
    /// Checks the signature over this request to `me` at `path` with `body`, and that it was
    /// not seen before. Returns the sender's key.
    pub fn verify_body(
        &self,
        chain_id: &str,
        me: &PublicKey,
        path: &str,
        body: &[u8],
        seen: &ReplayGuard,
        now: u64,
    ) -> Result<PublicKey, PeerAuthError> {
        let bytes = peer_request_bytes(chain_id, me, self.time, path, body);
        self.key
            .verify(ns::PEER_REQUEST, &bytes, &self.sig)
            .map_err(|_| PeerAuthError::BadSignature)?;
        seen.remember(self.time, &self.sig, now)?;
        Ok(self.key)
    }
}

/// Checks a whole peer request to `me` at `path` ([`check_peer_header`], then
/// [`PeerClaim::verify_body`]).
#[allow(clippy::too_many_arguments)]
pub fn check_peer_request(
    headers: &HeaderMap,
    chain_id: &str,
    me: &PublicKey,
    members: &[PublicKey],
    now: u64,
    path: &str,
    body: &[u8],
    seen: &ReplayGuard,
) -> Result<PublicKey, PeerAuthError> {
    check_peer_header(headers, members, now)?.verify_body(chain_id, me, path, body, seen, now)
}

fn decode_fixed<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() > N * 2 {
        return None;
    }
    URL_SAFE_NO_PAD.decode(s).ok()?.try_into().ok()
}
