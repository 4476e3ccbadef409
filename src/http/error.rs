//! `ApiError`: the one place where HTTP status codes are chosen.
//!
//! A 4xx body says exactly what to fix: `{"error": "...", "details": [...]}`. A 5xx body says
//! little; the log says all.

use crate::registry::RegistryError;
use crate::store::StoreError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

#[derive(Debug)]
pub enum ApiError {
    BadRequest(String),
    Unauthorized(String),
    Forbidden(String),
    NotFound(String),
    Conflict(String, Vec<Value>),
    PreconditionRequired(String),
    /// 412: an `If-Match` that names a version other than the current one.
    PreconditionFailed(String),
    PayloadTooLarge(String),
    UnsupportedMediaType(String),
    Unprocessable(String, Vec<Value>),
    RequestTimeout(String),
    /// 429 with `Retry-After` (seconds).
    TooManyRequests(String, u64),
    /// Too busy to take this now: 503 with `Retry-After` (seconds) and the message as it is.
    Busy(String, u64),
    /// The database is away (503, retry shortly).
    Unavailable(String),
    /// The photo object store is away (503, retry shortly).
    PhotoStoreUnavailable(String),
    /// The disk or the database's storage is full (507, retry later).
    InsufficientStorage(String),
    Internal(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn unprocessable(msg: impl Into<String>) -> Self {
        ApiError::Unprocessable(msg.into(), Vec::new())
    }
    pub fn bad_request(msg: impl Into<String>) -> Self {
        ApiError::BadRequest(msg.into())
    }
}

impl ApiError {
    /// Seconds a client should wait before retrying (a lost database comes back in seconds; a
    /// full disk needs someone to free space; throttles say their own).
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            ApiError::TooManyRequests(_, s) | ApiError::Busy(_, s) => Some((*s).max(1)),
            ApiError::Unavailable(_) | ApiError::PhotoStoreUnavailable(_) => Some(5),
            ApiError::InsufficientStorage(_) => Some(60),
            _ => None,
        }
    }

    /// The status, the message and the details: what every error encoding (this API's, OGC's,
    /// Open311's) shows.
    pub fn parts(self) -> (StatusCode, String, Vec<Value>) {
        match self {
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, m, vec![]),
            ApiError::Unauthorized(m) => (StatusCode::UNAUTHORIZED, m, vec![]),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, m, vec![]),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, m, vec![]),
            ApiError::Conflict(m, d) => (StatusCode::CONFLICT, m, d),
            ApiError::PreconditionRequired(m) => (StatusCode::PRECONDITION_REQUIRED, m, vec![]),
            ApiError::PreconditionFailed(m) => (StatusCode::PRECONDITION_FAILED, m, vec![]),
            ApiError::PayloadTooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, m, vec![]),
            ApiError::UnsupportedMediaType(m) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, m, vec![]),
            ApiError::Unprocessable(m, d) => (StatusCode::UNPROCESSABLE_ENTITY, m, d),
            ApiError::RequestTimeout(m) => (StatusCode::REQUEST_TIMEOUT, m, vec![]),
            ApiError::TooManyRequests(m, _) => (StatusCode::TOO_MANY_REQUESTS, m, vec![]),
            ApiError::Busy(m, _) => (StatusCode::SERVICE_UNAVAILABLE, m, vec![]),
            ApiError::Unavailable(m) => {
                tracing::warn!(error = %m, "database unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the database is unavailable; nothing was stored. Try again in a few seconds."
                        .into(),
                    vec![],
                )
            }
            ApiError::PhotoStoreUnavailable(m) => {
                tracing::warn!(error = %m, "photo store unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the photo store is unavailable; nothing was stored. Try again in a few seconds."
                        .into(),
                    vec![],
                )
            }
            ApiError::InsufficientStorage(m) => {
                tracing::error!(error = %m, "storage full");
                (
                    StatusCode::INSUFFICIENT_STORAGE,
                    "the server's storage is full; nothing was stored. Try again later.".into(),
                    vec![],
                )
            }
            ApiError::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error; the server log has the details".to_string(),
                    vec![],
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_after = self.retry_after_secs();
        let (status, msg, details) = self.parts();
        let mut resp = (status, Json(json!({"error": msg, "details": details}))).into_response();
        if let Some(s) = retry_after {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, s.into());
        }
        resp
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if let StoreError::PhotoStore(m) = &e {
            return ApiError::PhotoStoreUnavailable(m.clone());
        }
        if e.is_unavailable() {
            return ApiError::Unavailable(e.to_string());
        }
        if e.is_full() {
            return ApiError::InsufficientStorage(e.to_string());
        }
        match e {
            StoreError::NotFound { .. } => ApiError::NotFound(e.to_string()),
            StoreError::Conflict(m) => ApiError::Conflict(m, vec![]),
            StoreError::VersionMismatch { current, .. } => {
                ApiError::Conflict(e.to_string(), vec![json!({"current_version": current})])
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        match e {
            RegistryError::Invalid(errs) => ApiError::Unprocessable(
                format!(
                    "{} feature(s) were rejected; nothing was stored",
                    errs.len()
                ),
                errs.iter()
                    .map(|e| serde_json::to_value(e).unwrap_or_default())
                    .collect(),
            ),
            RegistryError::Store(StoreError::NotFound {
                what: "parent zone",
                id,
            }) => ApiError::Unprocessable(
                format!("parent zone {id:?} does not exist; nothing was stored"),
                vec![],
            ),
            RegistryError::Store(s) => s.into(),
        }
    }
}

/// Parses a JSON request body, answering 422 with the line and column of a syntax error.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    if body.is_empty() {
        return Err(ApiError::unprocessable(
            "the request body is empty; send JSON",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::unprocessable(format!("invalid JSON body: {e}")))
}

impl From<crate::report_service::ReportError> for ApiError {
    fn from(e: crate::report_service::ReportError) -> Self {
        use crate::photo::PhotoError;
        use crate::report::TransitionError;
        use crate::report_service::ReportError;
        let msg = e.to_string();
        match e {
            ReportError::BadInput(m) => ApiError::BadRequest(m),
            ReportError::Unprocessable(m) => ApiError::Unprocessable(m, vec![]),
            ReportError::NotYours(m) => ApiError::Forbidden(m),
            ReportError::Photo { source, .. } => match source {
                PhotoError::Unsupported(_) => ApiError::UnsupportedMediaType(msg),
                PhotoError::TooLarge { .. } => ApiError::PayloadTooLarge(msg),
                PhotoError::TooManyPixels { .. }
                | PhotoError::Truncated
                | PhotoError::Corrupt { .. } => ApiError::Unprocessable(msg, vec![]),
                PhotoError::Encode(_) => ApiError::Internal(msg),
            },
            ReportError::Transition(t) => match t {
                TransitionError::NotAllowed { ref allowed, .. } => ApiError::Conflict(
                    msg,
                    allowed
                        .iter()
                        .map(|(to, roles)| {
                            let roles: Vec<&str> =
                                roles.iter().map(|r| r.as_str()).chain(["admin"]).collect();
                            json!({"to": to, "roles": roles})
                        })
                        .collect(),
                ),
                TransitionError::Forbidden { .. } => ApiError::Forbidden(msg),
                TransitionError::NeedsReason
                | TransitionError::ReasonWithoutReject
                | TransitionError::NeedsPhoto => ApiError::Unprocessable(msg, vec![]),
            },
            ReportError::Store(s) => s.into(),
            ReportError::WriterStopped => ApiError::Unavailable(msg),
            ReportError::TaskFailed(_) => ApiError::Internal(msg),
        }
    }
}

impl From<crate::login::LoginError> for ApiError {
    fn from(e: crate::login::LoginError) -> Self {
        use crate::login::LoginError;
        let msg = e.to_string();
        match e {
            LoginError::Wrong => ApiError::Unauthorized(msg),
            LoginError::Throttled { retry_after_s, .. } => {
                ApiError::TooManyRequests(msg, retry_after_s)
            }
            LoginError::Busy => ApiError::Busy(msg, 5),
            LoginError::Store(s) => s.into(),
        }
    }
}
