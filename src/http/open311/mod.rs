//! Open311 GeoReport v2 under `/open311/v2`: `discovery`, `services`, `services/{code}`,
//! `requests` (GET and POST), `requests/{id}` and `tokens/{token}`, each as `.json` or `.xml`.
//!
//! Errors are `[{"code", "description"}]` (or `<errors><error>…`) with 400, 403 or 404, as the
//! specification lists; the mapping from [`ApiError`] is [`Open311Error`]'s.

mod requests;
mod xml;

use super::error::ApiError;
use crate::state::AppState;
use axum::extract::DefaultBodyLimit;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

/// The `/open311/v2` routes (merged into the application's router).
pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/open311/v2/{file}",
            get(requests::top_get).post(requests::create),
        )
        .route("/open311/v2/services/{file}", get(requests::service))
        .route("/open311/v2/requests/{file}", get(requests::one))
        .route("/open311/v2/tokens/{file}", get(requests::token))
        .route("/open311/{*rest}", axum::routing::any(not_found))
        .layer(DefaultBodyLimit::max(super::reports::body_limit(state)))
}

async fn not_found() -> Open311Error {
    Open311Error(
        Format::Json,
        ApiError::NotFound("no such Open311 resource; see /open311/v2/discovery.json".into()),
    )
}

/// The encoding a path asks for with its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

/// `"requests.json"` → `("requests", Json)`; 404 for another extension.
pub fn split(file: &str) -> Result<(&str, Format), Open311Error> {
    if let Some(stem) = file.strip_suffix(".json") {
        Ok((stem, Format::Json))
    } else if let Some(stem) = file.strip_suffix(".xml") {
        Ok((stem, Format::Xml))
    } else {
        Err(Open311Error(
            Format::Json,
            ApiError::NotFound(format!("{file:?}: Open311 resources end in .json or .xml")),
        ))
    }
}

/// An error in the Open311 shape and the requested format.
#[derive(Debug)]
pub struct Open311Error(pub Format, pub ApiError);

impl IntoResponse for Open311Error {
    fn into_response(self) -> Response {
        let (status, description, _) = self.1.parts();
        // GeoReport v2 answers 400, 403 or 404 (and 500 when the server fails).
        let status = match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => StatusCode::FORBIDDEN,
            StatusCode::NOT_FOUND => StatusCode::NOT_FOUND,
            s if s.is_server_error() => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        let body = json!([{"code": status.as_u16(), "description": description}]);
        let mut r = encode(self.0, "errors", &body);
        *r.status_mut() = status;
        r
    }
}

/// `value` (an array or object) as JSON, or as XML under `root`.
pub fn encode(format: Format, root: &str, value: &Value) -> Response {
    match format {
        Format::Json => (
            [(
                CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            )],
            serde_json::to_vec(value).unwrap_or_default(),
        )
            .into_response(),
        Format::Xml => (
            [(
                CONTENT_TYPE,
                HeaderValue::from_static("text/xml; charset=utf-8"),
            )],
            xml::document(root, value),
        )
            .into_response(),
    }
}
