//! The HTTP front door: what every connection and request meets before a handler runs
//! (`specs/node.md`, "HTTP front door").
//!
//! - [`serve`]: the accept loop. At most `max_connections` connections are open (one over the
//!   cap is closed at once); each gets `header_timeout_ms` to finish its TLS handshake and to
//!   send a request's complete headers (hyper's `header_read_timeout`), so slowloris
//!   connections are closed within that bound. With `tls_cert`/`tls_key` the API is HTTPS only
//!   (rustls, ring provider).
//! - [`admit`] (every request): a per-client-IP rate limit (governor, 429 `rate_limited` with
//!   `Retry-After`) and a cap on requests in progress (503 `busy` with `Retry-After`).
//! - [`with_body_limit`] (per route): each endpoint's own named [`BodyLimit`]. A declared
//!   `Content-Length` over it is refused (413 `too_large`) before a byte of the body is read; an
//!   undeclared (chunked) body is read at most up to the limit, and within `body_timeout_ms`
//!   (408 `slow_body`); at most [`MAX_LARGE_BODIES`] bodies over 64 KiB at once (503 `busy`).
//!
//! Every refusal is the API's typed error body with a Chinese and English message.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum::{Json, Router};
use governor::clock::Clock as _;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use http_body_util::BodyExt as _;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, warn};

use crate::config::HttpSettings;
use crate::server::exec::MAX_ENTRY_BYTES;
use certledger_core::api::ErrorBody;

/// One endpoint class's body limit, named in `specs/node.md`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyLimit {
    /// The name in the specification's table.
    pub name: &'static str,
    /// Most bytes accepted.
    pub max: usize,
}

/// Read endpoints (`GET`): no body.
pub const NO_BODY: BodyLimit = BodyLimit { name: "none", max: 0 };
/// `POST /v1/entries`: one base64 entry of at most `MAX_ENTRY_BYTES` in `{"entry": "..."}`.
pub const SUBMIT_BODY: BodyLimit =
    BodyLimit { name: "submission", max: MAX_ENTRY_BYTES.div_ceil(3) * 4 + 1024 };
/// `POST /v1/entries/forwarded`: one batch from a peer, which splits its outbox into batches
/// of at most this many bytes (`forward::batches`).
pub const FORWARDED_BODY: BodyLimit = BodyLimit { name: "forwarded batch", max: 2 * 1024 * 1024 };

/// The body time-out of a request that did not pass [`admit`] (tests of the bare router).
const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// How often idle clients are dropped from the rate limiter's table.
const RATE_TABLE_SWEEP: Duration = Duration::from_secs(10);

/// The API's error body (`certledger_core::api::ErrorBody`), message in Chinese and English.
pub fn refuse(status: StatusCode, code: &str, zh: &str, en: &str) -> Response {
    (status, Json(ErrorBody { error: code.to_owned(), message: format!("{zh} / {en}") }))
        .into_response()
}

fn with_retry_after(mut r: Response, secs: u64) -> Response {
    r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    r
}

fn too_large(limit: BodyLimit) -> Response {
    refuse(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        &format!("请求体超过上限 {} 字节（{}）", limit.max, limit.name),
        &format!("request body over the {} byte limit ({})", limit.max, limit.name),
    )
}

/// What [`admit`] hands to the body limit: the body time-out and the large-body slots.
#[derive(Clone, Debug)]
struct BodyBudget {
    timeout: Duration,
    large: Arc<Semaphore>,
}

/// Bodies of a route whose limit is above this many bytes (a forwarded batch), unless their
/// declared length is at most this, take one of [`MAX_LARGE_BODIES`] slots while they are read
/// and handled, so at most `MAX_LARGE_BODIES * FORWARDED_BODY.max` (32 MiB) of
/// such bodies are in memory at once.
const LARGE_BODY: usize = 64 * 1024;
/// Large bodies read at once (more than the departments that forward to a node).
pub const MAX_LARGE_BODIES: usize = 16;

/// `handler` with its body limit (see the module documentation).
pub fn with_body_limit<S>(handler: MethodRouter<S>, limit: BodyLimit) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    handler
        .layer::<_, std::convert::Infallible>(axum::middleware::from_fn(
            move |req: Request, next: Next| read_body(limit, req, next),
        ))
        .layer::<_, std::convert::Infallible>(DefaultBodyLimit::max(limit.max))
}

/// `router` (files only: the page, the dashboard) with the [`NO_BODY`] limit on every route.
pub fn without_body(router: Router) -> Router {
    router
        .layer(axum::middleware::from_fn(|req: Request, next: Next| read_body(NO_BODY, req, next)))
}

async fn read_body(limit: BodyLimit, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit.max as u64) {
        return too_large(limit);
    }
    let budget = req.extensions().get::<BodyBudget>().cloned();
    let timeout = budget.as_ref().map_or(DEFAULT_BODY_TIMEOUT, |b| b.timeout);
    let _slot = match budget {
        // Only a body that is (or may be) large: a small declared batch never waits on these.
        Some(b) if limit.max > LARGE_BODY && declared.is_none_or(|n| n > LARGE_BODY as u64) => {
            match b.large.try_acquire_owned() {
                Ok(slot) => Some(slot),
                Err(_) => {
                    return with_retry_after(
                        refuse(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "busy",
                            "节点正在读取过多的大请求体，请稍后再试",
                            "the node is reading too many large bodies; try again later",
                        ),
                        1,
                    )
                }
            }
        }
        _ => None,
    };
    let (parts, body) = req.into_parts();
    let read =
        tokio::time::timeout(timeout, http_body_util::Limited::new(body, limit.max).collect());
    let bytes = match read.await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => return too_large(limit),
        Ok(Err(_)) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "malformed",
                "请求体读取失败",
                "the request body could not be read",
            )
        }
        Err(_) => {
            return refuse(
                StatusCode::REQUEST_TIMEOUT,
                "slow_body",
                &format!("请求体未在 {} 毫秒内送达", timeout.as_millis()),
                &format!("the request body did not arrive within {} ms", timeout.as_millis()),
            )
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// The state of [`admit`]: the request cap and the per-client rate limiter.
pub struct FrontDoor {
    requests: Arc<Semaphore>,
    limiter: Option<DefaultKeyedRateLimiter<IpAddr>>,
    body_timeout: Duration,
    large_bodies: Arc<Semaphore>,
}

impl FrontDoor {
    /// The front door of `settings`.
    pub fn new(settings: &HttpSettings) -> Self {
        let limiter = NonZeroU32::new(settings.rate_limit_per_second).map(|rate| {
            let burst = NonZeroU32::new(settings.rate_limit_burst).unwrap_or(rate);
            RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        });
        Self {
            requests: Arc::new(Semaphore::new(settings.max_concurrent_requests)),
            limiter,
            body_timeout: Duration::from_millis(settings.body_timeout_ms),
            large_bodies: Arc::new(Semaphore::new(MAX_LARGE_BODIES)),
        }
    }

    /// Forgets clients whose bucket is full again (bounds the limiter's table).
    fn sweep(&self) {
        if let Some(l) = &self.limiter {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }
}

/// Every request: the client's rate limit, then the cap on requests in progress. A refused
/// `GET` keeps the API's CORS header, so a page can read why.
pub async fn admit(State(front): State<Arc<FrontDoor>>, req: Request, next: Next) -> Response {
    let read = req.method() == axum::http::Method::GET;
    let mut resp = admit_inner(&front, req, next).await;
    if read {
        resp.headers_mut()
            .entry(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .or_insert(HeaderValue::from_static("*"));
    }
    resp
}

async fn admit_inner(front: &FrontDoor, mut req: Request, next: Next) -> Response {
    if let (Some(limiter), Some(ConnectInfo(addr))) =
        (&front.limiter, req.extensions().get::<ConnectInfo<SocketAddr>>())
    {
        if let Err(not_until) = limiter.check_key(&addr.ip()) {
            let wait = not_until.wait_time_from(limiter.clock().now());
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return with_retry_after(
                refuse(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    "请求过于频繁，请稍后再试",
                    "too many requests from this address; try again later",
                ),
                secs,
            );
        }
    }
    let Ok(_permit) = front.requests.clone().try_acquire_owned() else {
        return with_retry_after(
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "节点繁忙，请稍后再试",
                "the node is handling too many requests; try again later",
            ),
            1,
        );
    };
    req.extensions_mut()
        .insert(BodyBudget { timeout: front.body_timeout, large: front.large_bodies.clone() });
    next.run(req).await
}

/// The TLS acceptor of a PEM certificate chain and private key (rustls, ring provider).
pub fn tls_acceptor(cert: &Path, key: &Path) -> anyhow::Result<TlsAcceptor> {
    use rustls_pki_types::pem::PemObject as _;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("reading the TLS certificate {}", cert.display()))?;
    if certs.is_empty() {
        anyhow::bail!("{} holds no certificate", cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("reading the TLS key {}", key.display()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .context("TLS protocol versions")?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .context("the TLS certificate and key do not form a usable pair")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves `app` on `listener` behind the front door of `settings`, over TLS when `tls` is
/// given, until the listener fails for good.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    settings: &HttpSettings,
    tls: Option<TlsAcceptor>,
) {
    let front = Arc::new(FrontDoor::new(settings));
    {
        let front = Arc::downgrade(&front);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(RATE_TABLE_SWEEP).await;
                match front.upgrade() {
                    Some(f) => f.sweep(),
                    None => return,
                }
            }
        });
    }
    let app = app.layer(axum::middleware::from_fn_with_state(front, admit));
    let connections = Arc::new(Semaphore::new(settings.max_connections));
    let header_timeout = Duration::from_millis(settings.header_timeout_ms);
    loop {
        let (stream, addr) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                // Out of file descriptors and the like: wait instead of spinning.
                warn!(error = %e, "accepting an HTTP connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            debug!(client = %addr, "connection cap reached; closing");
            drop(stream);
            continue;
        };
        let app = app.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |mut req: hyper::Request<_>| {
                req.extensions_mut().insert(ConnectInfo(addr));
                tower::ServiceExt::oneshot(app.clone(), req)
            });
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new()).header_read_timeout(header_timeout);
            let served = match tls {
                None => http.serve_connection(TokioIo::new(stream), service).await,
                Some(acceptor) => {
                    match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(s)) => http.serve_connection(TokioIo::new(s), service).await,
                        Ok(Err(e)) => {
                            debug!(client = %addr, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            debug!(client = %addr, "TLS handshake timed out");
                            return;
                        }
                    }
                }
            };
            if let Err(e) = served {
                debug!(client = %addr, error = %e, "HTTP connection ended");
            }
        });
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    /// `1234567` as `1,234,567`.
    fn grouped(n: usize) -> String {
        let digits = n.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    }

    #[test]
    fn the_specification_lists_every_body_limit_with_its_size() {
        let spec = include_str!("../../../specs/node.md");
        let limits = crate::server::http::body_limits();
        assert!(limits.iter().any(|(_, _, l)| *l == FORWARDED_BODY));
        assert!(limits.iter().any(|(_, _, l)| *l == SUBMIT_BODY));
        for (_, path, limit) in limits {
            let row = spec
                .lines()
                .find(|l| l.starts_with(&format!("| `{}` |", limit.name)))
                .unwrap_or_else(|| panic!("no row for `{}` ({path}) in specs/node.md", limit.name));
            assert!(row.contains(&format!("{} bytes", grouped(limit.max))), "{row}");
        }
    }
}
