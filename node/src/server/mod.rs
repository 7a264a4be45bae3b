//! The department server: consensus ([`consensus`]), the mempool and outbox ([`mempool`]),
//! checkpoint cosigning ([`cosign`]), ledger execution ([`exec`]), storage ([`store`], [`codec`]),
//! the Malachite context with block and vote formats ([`context`]), and the HTTP API ([`http`],
//! with [`forward`], [`proofs`], [`audit`], [`governance`], the verification page [`web`] and the
//! operator [`dashboard`]).
//! [`handle`] holds the state these share; [`chain`] the values derived from committed blocks.
//! Leaves that several of these use: [`reply`] (error answers), [`peer_auth`] (signed
//! node-to-node requests), [`peer_fetch`] (bounded peer reads), [`activity`] (the dashboard's
//! recent blocks).

use std::path::Path;

use anyhow::{anyhow, Context as _};
use tracing::info;

use crate::config::NodeToml;
use crate::signal::shutdown_signal;

pub mod activity;
pub mod audit;
pub mod chain;
pub mod codec;
pub mod consensus;
pub mod context;
pub mod cosign;
pub mod dashboard;
pub mod evidence;
pub mod exec;
pub mod fatal;
pub mod faults;
pub mod forward;
pub mod front;
pub mod governance;
pub mod handle;
pub mod http;
pub mod mempool;
#[cfg(test)]
mod openapi_check;
pub mod peer_auth;
pub mod peer_fetch;
pub mod proofs;
pub mod reply;
pub mod store;
pub mod web;

/// `run`: opens the node from its configuration and runs the HTTP API, cosigning, forwarding
/// and consensus until consensus stops, a signal arrives, or a [`fatal::Fatal`] condition
/// stops the node (returned, for `main` to exit with its code).
pub async fn run(config: &Path, web_dir: Option<&Path>) -> anyhow::Result<()> {
    let cfg = NodeToml::load(config)?;
    faults::install_from_env()?;
    let _lock = handle::lock_data_dir(&cfg.data_dir, &cfg.key_file)?;
    let handle = handle::open_node(&cfg)?;
    let listener = tokio::net::TcpListener::bind(&cfg.http_listen)
        .await
        .with_context(|| format!("binding HTTP on {}", cfg.http_listen))?;
    info!(http = %cfg.http_listen, p2p = %cfg.p2p_listen, "node starting");
    let tls = match cfg.http.tls_files()? {
        Some((cert, key)) => Some(front::tls_acceptor(cert, key)?),
        None => None,
    };
    info!(tls = tls.is_some(), "HTTP API scheme: {}", if tls.is_some() { "https" } else { "http" });
    // The page and dashboard only serve files: no request body (`specs/node.md`).
    let mut app = http::router(handle.clone()).merge(front::without_body(dashboard::router()));
    if let Some(dir) = web::find_web_dir(web_dir.or(cfg.web_dir.as_deref()))? {
        info!(dir = %dir.display(), "serving the verification page at /verify/");
        app = app.merge(front::without_body(web::router(&dir)));
    }
    let settings = cfg.http.clone();
    tokio::spawn(async move { front::serve(listener, app, &settings, tls).await });
    let mut cosign = tokio::spawn(cosign::cosign_loop(handle.clone()));
    tokio::spawn(forward::forward_loop(handle.clone()));
    tokio::select! {
        r = consensus::run_consensus(handle, &cfg) => r,
        c = &mut cosign => match c {
            Ok(fatal) => Err(fatal.into()),
            Err(e) => Err(anyhow!("the cosigning task stopped: {e}")),
        },
        _ = shutdown_signal() => {
            info!("stopping on signal");
            Ok(())
        }
    }
}
