//! `ApiError`: the one place where HTTP status codes are chosen.
//!
//! A 4xx body says exactly what to fix: `{"error": "...", "details": [...]}`. A 5xx body says
//! little; the log says all. Errors a client shows to people also carry a stable machine `code`
//! and its `params` (`{"error", "details", "code": "since_after_until", "params": {}}`), so a
//! client can word them in its user's language; the English `error` stays for people reading
//! the API. Codes never change meaning; new ones may be added.

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
    /// `since` after `until` in a time window (400).
    pub fn since_after_until() -> Self {
        ApiError::bad_request("since must not be after until").coded("since_after_until", json!({}))
    }
}

/// The machine code of an error built without one, recognised from its status and text: for
/// the errors of modules that word them without a code (query parameters, the HTTP layer).
fn inferred_code(status: StatusCode, msg: &str) -> Option<(&'static str, Value)> {
    // The value a message quotes first (`bbox="1,2" must be …` → `1,2`).
    let quoted = || {
        let start = msg.find('"')? + 1;
        let len = msg[start..].find('"')?;
        Some(msg[start..start + len].to_string())
    };
    let with_value = |code| Some((code, json!({"value": quoted()})));
    // The number after `after` in the message (`use at least 10 (…)` → 10).
    let number_after = |after: &str| -> Option<u64> {
        let rest = &msg[msg.find(after)? + after.len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    };
    if !status.is_client_error() {
        return None;
    }
    if msg == "since must not be after until" {
        Some(("since_after_until", json!({})))
    } else if msg.starts_with("bbox=") {
        with_value("bad_bbox")
    } else if msg.starts_with("unknown category ") {
        with_value("unknown_category")
    } else if msg.starts_with("unknown status ") {
        with_value("unknown_status")
    } else if msg.starts_with("the password has ") {
        Some((
            "password_too_short",
            json!({"min": number_after("use at least ")}),
        ))
    } else if msg.starts_with("this password is one of the commonest") {
        Some(("password_common", json!({})))
    } else if msg.starts_with("secret must have at least ") {
        Some((
            "webhook_secret_too_short",
            json!({"min": number_after("at least ")}),
        ))
    } else if status == StatusCode::NOT_FOUND {
        Some(("not_found", json!({})))
    } else if status == StatusCode::FORBIDDEN && msg.starts_with("this needs the role") {
        Some(("forbidden_role", json!({})))
    } else {
        None
    }
}

impl ApiError {
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
        let explicit = match &self {
            ApiError::Coded(_, code, params) => Some((*code, params.clone())),
            _ => None,
        };
        let (status, msg, details) = self.parts();
        let mut body = json!({"error": msg, "details": details});
        // A 5xx says little whatever it was built with.
        if let Some((code, params)) = explicit
            .filter(|_| !status.is_server_error())
            .or_else(|| inferred_code(status, &msg))
        {
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
    async fn codes_are_recognised_in_errors_built_without_one() {
        let (st, v) = body(ApiError::bad_request(
            "bbox=\"1,2\" must be four numbers minLon,minLat,maxLon,maxLat",
        ))
        .await;
        assert_eq!(st, 400);
        assert_eq!(v["code"], "bad_bbox");
        assert_eq!(v["params"]["value"], "1,2");
        let (_, v) = body(ApiError::unprocessable(
            "unknown category \"x\"; expected one of a",
        ))
        .await;
        assert_eq!(v["code"], "unknown_category");
        assert_eq!(v["params"]["value"], "x");
        let (_, v) = body(ApiError::NotFound("no such API endpoint".into())).await;
        assert_eq!(v["code"], "not_found");
        let (_, v) = body(ApiError::unprocessable(
            "the password has 5 characters; use at least 10 (a few words are easier)",
        ))
        .await;
        assert_eq!(v["code"], "password_too_short");
        assert_eq!(v["params"]["min"], 10);
        let (_, v) = body(ApiError::bad_request("lat is missing")).await;
        assert!(v.get("code").is_none(), "no code is invented: {v}");
    }

    #[tokio::test]
    async fn a_server_error_carries_no_code() {
        let (st, v) = body(ApiError::Internal("disk".into()).coded("not_found", json!({}))).await;
        assert_eq!(st, 500);
        assert!(v.get("code").is_none(), "{v}");
        assert_eq!(v["error"], "internal error; the server log has the details");
    }
}
