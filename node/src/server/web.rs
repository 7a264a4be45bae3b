//! The verification page: static files served under `/verify/` (`specs/node.md`, Web).
//!
//! The directory is `run --web-dir DIR` when given (it must exist), else `verifier-wasm/web`
//! found relative to the current directory or to the executable (and its ancestors), used only
//! when it exists and contains `pkg/` (the built WASM). tower-http's `ServeDir` serves it: it
//! refuses paths that leave the directory (`..`, absolute or prefixed components), serves
//! `index.html` for a directory, and sets content types from the extension through `mime_guess`
//! (`.wasm` is `application/wasm`, which browsers require for streaming compilation).

use std::path::{Path, PathBuf};

use axum::response::Redirect;
use axum::routing::get;
use axum::Router;
use tower_http::services::ServeDir;

/// The web directory's path relative to a workspace checkout.
pub const DEFAULT_WEB_DIR: &str = "verifier-wasm/web";

/// Whether `dir` looks like a built verification page.
fn is_built(dir: &Path) -> bool {
    dir.is_dir() && dir.join("pkg").is_dir()
}

/// The directory to serve: `explicit` if given (an error if it is not a directory), else the
/// first built `verifier-wasm/web` relative to the current directory or the executable's
/// directory and its ancestors; `None` when there is none.
pub fn find_web_dir(explicit: Option<&Path>) -> anyhow::Result<Option<PathBuf>> {
    if let Some(dir) = explicit {
        if !dir.is_dir() {
            anyhow::bail!("web directory {} does not exist", dir.display());
        }
        return Ok(Some(dir.to_owned()));
    }
    let mut candidates = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        candidates.push(cwd.join(DEFAULT_WEB_DIR));
    }
    if let Ok(exe) = std::env::current_exe() {
        for dir in exe.ancestors().skip(1) {
            candidates.push(dir.join(DEFAULT_WEB_DIR));
        }
    }
    Ok(candidates.into_iter().find(|c| is_built(c)))
}

/// The verification page's routes as `specs/openapi.yaml` lists them (`GET`).
pub const ROUTES: &[&str] = &["/verify/{path}"];

/// Routes `/verify/*` to the files of `dir` (and `/verify` to `/verify/`).
pub fn router<S: Clone + Send + Sync + 'static>(dir: &Path) -> Router<S> {
    Router::new()
        .route("/verify", get(|| async { Redirect::permanent("/verify/") }))
        .nest_service("/verify/", ServeDir::new(dir).append_index_html_on_directories(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_web_dir_needs_pkg_unless_named() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!is_built(dir.path()));
        std::fs::create_dir(dir.path().join("pkg")).unwrap();
        assert!(is_built(dir.path()));
        assert!(find_web_dir(Some(&dir.path().join("missing"))).is_err());
        assert_eq!(find_web_dir(Some(dir.path())).unwrap().as_deref(), Some(dir.path()));
    }
}
