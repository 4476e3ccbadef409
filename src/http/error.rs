//! `ApiError`: the one place where HTTP status codes are chosen.
//!
//! A 4xx body says exactly what to fix: `{"error": "...", "details": [...], "code": "...",
//! "params": {...}}`. The English `error` is for people reading the API; `code` and `params`
//! are for clients that word the error in their user's language. The code is set where the
//! mistake is found (a [`crate::problem::Problem`] from a domain check, or [`ApiError::coded`]);
//! an error built without one carries its kind (`bad_request`, `not_found`, …), so every error
//! has a code and none is guessed from its text. A 5xx body says little; the log says all.
//! Codes never change meaning; new ones may be added.

use crate::store::StoreError;
use crate::zone::registry::RegistryError;
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
    /// Another error with a stable machine code and its parameters (status and text as the
    /// inner error's).
    Coded(Box<ApiError>, &'static str, Value),
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Runs a service call that blocks (store reads and writes, geometry) off the async workers.
pub async fn blocking<T: Send + 'static, E: Into<ApiError> + Send + 'static>(
    f: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(Into::into)
}

impl ApiError {
    pub fn unprocessable(msg: impl Into<String>) -> Self {
        ApiError::Unprocessable(msg.into(), Vec::new())
    }
    pub fn bad_request(msg: impl Into<String>) -> Self {
        ApiError::BadRequest(msg.into())
    }
    /// This error with the machine code `code` and its `params` (a JSON object).
    pub fn coded(self, code: &'static str, params: Value) -> Self {
        match self {
            ApiError::Coded(inner, _, _) => ApiError::Coded(inner, code, params),
            other => ApiError::Coded(Box::new(other), code, params),
        }
    }
    /// 400 with the problem's code and parameters.
    pub fn invalid(p: crate::problem::Problem) -> Self {
        ApiError::BadRequest(p.message).coded(p.code, p.params)
    }
    /// 422 with the problem's code and parameters.
    pub fn rejected(p: crate::problem::Problem) -> Self {
        ApiError::Unprocessable(p.message, Vec::new()).coded(p.code, p.params)
    }
    /// `since` after `until` in a time window (400).
    pub fn since_after_until() -> Self {
        ApiError::bad_request("since must not be after until").coded("since_after_until", json!({}))
    }
}

impl ApiError {
    /// The code of an error built without one: its kind, so that every 4xx carries a code
    /// (clients word unknown codes by status).
    fn kind_code(&self) -> &'static str {
        match self {
            ApiError::Coded(_, code, _) => code,
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(..) => "conflict",
            ApiError::PreconditionRequired(_) => "precondition_required",
            ApiError::PreconditionFailed(_) => "precondition_failed",
            ApiError::PayloadTooLarge(_) => "too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::Unprocessable(..) => "unprocessable",
            ApiError::RequestTimeout(_) => "request_timeout",
            ApiError::TooManyRequests(..) => "too_many_requests",
            ApiError::Busy(..) => "busy",
            ApiError::Unavailable(_) => "database_unavailable",
            ApiError::PhotoStoreUnavailable(_) => "photo_store_unavailable",
            ApiError::InsufficientStorage(_) => "storage_full",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl ApiError {
    /// The code of a 5xx, by status only.
    fn server_code(status: StatusCode) -> &'static str {
        match status {
            StatusCode::SERVICE_UNAVAILABLE => "unavailable",
            StatusCode::INSUFFICIENT_STORAGE => "storage_full",
            _ => "internal",
        }
    }

    /// Seconds a client should wait before retrying (a lost database comes back in seconds; a
    /// full disk needs someone to free space; throttles say their own).
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            ApiError::Coded(inner, _, _) => inner.retry_after_secs(),
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
            ApiError::Coded(inner, _, _) => inner.parts(),
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
        let code = self.kind_code();
        let params = match &self {
            ApiError::Coded(_, _, params) => params.clone(),
            _ => json!({}),
        };
        let (status, msg, details) = self.parts();
        let mut body = json!({"error": msg, "details": details});
        // A 5xx says little whatever it was built with: its kind only.
        if status.is_server_error() {
            body["code"] = json!(ApiError::server_code(status));
            body["params"] = json!({});
        } else {
            body["code"] = json!(code);
            body["params"] = params;
        }
        let mut resp = (status, Json(body)).into_response();
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
            StoreError::NotFound { what, ref id } => {
                let params = json!({"what": what, "id": id});
                ApiError::NotFound(e.to_string()).coded("not_found", params)
            }
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
            )
            .coded("features_rejected", json!({"count": errs.len()})),
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

impl From<crate::report::service::ReportError> for ApiError {
    fn from(e: crate::report::service::ReportError) -> Self {
        use crate::report::photo::PhotoError;
        use crate::report::service::ReportError;
        use crate::report::TransitionError;
        let msg = e.to_string();
        match e {
            ReportError::BadInput(m) => ApiError::BadRequest(m),
            ReportError::Unprocessable(m) => ApiError::Unprocessable(m, vec![]),
            ReportError::Rejected(p) => ApiError::rejected(p),
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
                TransitionError::NotAllowed {
                    from,
                    to,
                    ref allowed,
                } => ApiError::Conflict(
                    msg,
                    allowed
                        .iter()
                        .map(|(to, roles)| {
                            let roles: Vec<&str> =
                                roles.iter().map(|r| r.as_str()).chain(["admin"]).collect();
                            json!({"to": to, "roles": roles})
                        })
                        .collect(),
                )
                .coded("transition_not_allowed", json!({"from": from, "to": to})),
                TransitionError::Forbidden {
                    from,
                    to,
                    ref roles,
                } => {
                    let roles: Vec<&str> =
                        roles.iter().map(|r| r.as_str()).chain(["admin"]).collect();
                    ApiError::Forbidden(msg).coded(
                        "forbidden_role",
                        json!({"roles": roles, "from": from, "to": to}),
                    )
                }
                TransitionError::NeedsReason => {
                    ApiError::Unprocessable(msg, vec![]).coded("reason_required", json!({}))
                }
                TransitionError::ReasonWithoutReject => ApiError::Unprocessable(msg, vec![]),
                TransitionError::NeedsPhoto => {
                    ApiError::Unprocessable(msg, vec![]).coded("photo_required", json!({}))
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(e: ApiError) -> (u16, Value) {
        let resp = e.into_response();
        let status = resp.status().as_u16();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn a_coded_error_keeps_its_status_and_text_and_adds_the_code() {
        let (st, v) = body(ApiError::since_after_until()).await;
        assert_eq!(st, 400);
        assert_eq!(v["error"], "since must not be after until");
        assert_eq!(v["code"], "since_after_until");
        assert_eq!(v["params"], json!({}));
        let (st, v) = body(
            ApiError::Conflict("no".into(), vec![json!({"to": "closed"})]).coded(
                "transition_not_allowed",
                json!({"from": "reported", "to": "closed"}),
            ),
        )
        .await;
        assert_eq!(st, 409);
        assert_eq!(v["details"], json!([{"to": "closed"}]));
        assert_eq!(v["params"]["to"], "closed");
    }

    #[tokio::test]
    async fn an_error_built_without_a_code_carries_its_kind() {
        let (st, v) = body(ApiError::bad_request("lat is missing")).await;
        assert_eq!(st, 400);
        assert_eq!(v["code"], "bad_request");
        assert_eq!(v["params"], json!({}));
        let (_, v) = body(ApiError::NotFound("no such API endpoint".into())).await;
        assert_eq!(v["code"], "not_found");
        let p = crate::problem::Problem::new("unknown_category", "unknown category \"x\"")
            .with("value", "x");
        let (st, v) = body(ApiError::rejected(p)).await;
        assert_eq!(st, 422);
        assert_eq!(v["code"], "unknown_category");
        assert_eq!(v["params"]["value"], "x");
    }

    #[tokio::test]
    async fn a_server_error_carries_only_its_kind() {
        let (st, v) = body(ApiError::Internal("disk".into()).coded("not_found", json!({}))).await;
        assert_eq!(st, 500);
        assert_eq!(v["code"], "internal", "{v}");
        assert_eq!(v["params"], json!({}));
        assert_eq!(v["error"], "internal error; the server log has the details");
    }
}
