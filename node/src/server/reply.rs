//! What every route module answers with: the API's error body, and the header that marks a
//! forwarded submission. A leaf: the router (`http.rs`) and the route modules both use it.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use certledger_core::api::ErrorBody;

/// The header that marks a peer-forwarded submission.
pub const FORWARDED_HEADER: &str = "x-certledger-forwarded";

/// An error answer (`ErrorBody`) with `status`.
pub(crate) fn err(status: StatusCode, code: &str, message: impl std::fmt::Display) -> Response {
    (status, Json(ErrorBody::new(code, message))).into_response()
}

/// An HTTP 500 `internal` error answer.
pub(crate) fn internal(e: impl std::fmt::Display) -> Response {
    err(StatusCode::INTERNAL_SERVER_ERROR, "internal", e)
}
