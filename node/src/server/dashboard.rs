//! The operator dashboard: the page at `/dashboard/` (node/dashboard/, compiled into the binary,
//! so an operator needs no web directory) and its data at `GET /v1/dashboard`.
//!
//! What it shows, and where each figure comes from:
//! - this node: height, log size, mempool (the shared state);
//! - the departments deciding the next height (from the ledger), each with the newest height its
//!   node cosigned as seen by this node's cosigning ([`Activity::record_cosigners`](crate::server::activity::Activity::record_cosigners));
//! - commit rate and block interval over the last [`RECENT_BLOCKS`](crate::server::activity::RECENT_BLOCKS) blocks this process committed
//!   ([`Activity::record_block`](crate::server::activity::Activity::record_block); after a restart the window fills again as blocks commit);
//! - issuance and status-change counts per department and credential type, kept in storage in
//!   the same transaction as each block ([`crate::server::store::Store::stats`]).
//!
//! Counts only: no credential id, holder key or claim appears here.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
pub use certledger_core::api::{
    BlockActivity, CountRow, Dashboard, DepartmentFacts, NodeFacts, TypeName,
};

use crate::server::handle::NodeHandle;
use crate::server::reply::internal;
use crate::server::store::StatKind;

/// The page's routes (besides the API route `/v1/dashboard`).
pub const ROUTES: &[&str] = &["/dashboard/", "/dashboard/app.js", "/dashboard/style.css"];

const INDEX_HTML: &str = include_str!("../../dashboard/index.html");
const APP_JS: &str = include_str!("../../dashboard/app.js");
const STYLE_CSS: &str = include_str!("../../dashboard/style.css");

/// Milliseconds since the Unix epoch (wall clock: the charts show when blocks were decided here).
pub fn now_ms() -> u64 {
    crate::server::chain::now_ms()
}

/// The dashboard's data, from the node's state, activity and storage.
pub fn dashboard(node: &NodeHandle) -> Result<Dashboard, crate::server::store::StoreError> {
    let (height, log_size, mempool) = {
        let s = node.lock();
        let height = s.last_header.as_ref().map(|h| h.height).unwrap_or(0);
        (height, s.ledger.outcome().log_size, s.mempool.len() as u64)
    };
    let deciding = node.departments_at(height + 1);
    let me = node.key.public_key();
    let activity = node.activity();
    let departments = deciding
        .iter()
        .map(|d| DepartmentFacts {
            id: d.id.clone(),
            name_zh: d.name_zh.clone(),
            name_en: d.name_en.clone(),
            validator: true,
            last_cosigned_height: activity.last_cosigned(&d.id),
        })
        .collect();
    let recent_blocks = activity.blocks().copied().collect();
    drop(activity);
    let mut counts: BTreeMap<(String, String), CountRow> = BTreeMap::new();
    for row in node.store.stats()? {
        let c = counts.entry((row.department.clone(), row.type_id.clone())).or_insert_with(|| {
            CountRow { department: row.department, r#type: row.type_id, ..CountRow::default() }
        });
        match row.kind {
            StatKind::Issued => c.issued = row.count,
            StatKind::Revoked => c.revoked = row.count,
            StatKind::Suspended => c.suspended = row.count,
            StatKind::Reinstated => c.reinstated = row.count,
        }
    }
    Ok(Dashboard {
        chain_id: node.chain_id.clone(),
        node: NodeFacts {
            department: deciding.iter().find(|d| d.node_key == me).map(|d| d.id.clone()),
            validator: node.is_validator,
            height,
            log_size,
            mempool,
        },
        departments,
        types: certledger_core::profiles::ALL
            .iter()
            .map(|t| TypeName {
                id: t.id.to_owned(),
                name_zh: t.name_zh.to_owned(),
                name_en: t.name_en.to_owned(),
            })
            .collect(),
        recent_blocks,
        counts: counts.into_values().collect(),
    })
}

/// `GET /v1/dashboard`.
pub async fn dashboard_handler(State(node): State<Arc<NodeHandle>>) -> Response {
    let node2 = node.clone();
    match tokio::task::spawn_blocking(move || dashboard(&node2)).await {
        Ok(Ok(d)) => Json(d).into_response(),
        Ok(Err(e)) => internal(format!("storage: {e}")),
        Err(_) => internal("dashboard task failed"),
    }
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], body)
        .into_response()
}

/// The page's routes: `/dashboard` redirects to `/dashboard/`, and the three files.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/dashboard", get(|| async { Redirect::permanent("/dashboard/") }))
        .route("/dashboard/", get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }))
        .route(
            "/dashboard/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/dashboard/style.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE_CSS) }),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_files_are_the_ones_in_node_dashboard() {
        assert!(INDEX_HTML.contains("app.js") && INDEX_HTML.contains("style.css"));
        assert!(APP_JS.contains("../v1/dashboard"));
    }
}
