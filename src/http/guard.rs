//! The layers every request passes: cross-site request refusal (CSRF), accepted body types and
//! sizes per route, and the security headers of every response.
//!
//! **CSRF.** A request that may change something (any method but GET, HEAD, OPTIONS) and is
//! not authenticated by an `Authorization` header must come from this site: its `Origin` must
//! be the server's own origin, or `Sec-Fetch-Site` must say `same-origin`. A browser always
//! sends one of them; a request that carries the session cookie but neither is refused too.
//! Scripts with a bearer token are unaffected (a browser cannot attach that header to a
//! cross-site request without CORS, which this server does not grant). The server's own origin
//! is `Config::public_url` when set, else `http://` and the request's `Host` (the `Host` a
//! victim's browser sends is the real one; with `trust_proxy`, `X-Forwarded-Proto` and
//! `X-Forwarded-Host`).
//!
//! **Bodies.** Each route that takes a body says which types it accepts and how large each may
//! be ([`Accept`]); anything else is 415, and a declared `Content-Length` over the limit is 413
//! before a byte of the body is read. A body that grows past the limit while streaming is 413
//! too ([`body_error`]).

use super::error::ApiError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE,
    HOST, ORIGIN, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY, TRANSFER_ENCODING,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower::{Layer, ServiceExt};

/// The Content-Security-Policy of every response that does not set its own: everything from
/// this origin only, no inline script or style; MapLibre GL JS runs its worker from a file
/// here and decodes tiles into `blob:` images.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data: blob:; worker-src 'self' blob:; child-src 'self' blob:; \
    connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

/// HSTS sent when the public URL is https: a year.
const HSTS: &str = "max-age=31536000";

/// The origin requests are expected from, or `None` when it cannot be known (no `Host`).
pub fn site_origin(state: &AppState, headers: &HeaderMap) -> Option<String> {
    if let Some(u) = &state.config.public_url {
        return Some(u.clone());
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(',').next().unwrap_or("").trim().to_string())
            .filter(|v| !v.is_empty())
    };
    if state.config.trust_proxy {
        if let Some(host) = header("x-forwarded-host").or_else(|| header(HOST.as_str())) {
            let proto = header("x-forwarded-proto")
                .filter(|p| p == "https")
                .unwrap_or_else(|| "http".into());
            return Some(format!("{proto}://{}", host.to_ascii_lowercase()));
        }
    }
    header(HOST.as_str()).map(|h| format!("http://{}", h.to_ascii_lowercase()))
}

/// What the request's browser headers say about where it comes from.
#[derive(Debug, PartialEq, Eq)]
enum Came {
    ThisSite,
    /// Another site, with the header that says so.
    Elsewhere(String),
    /// No `Origin` and no `Sec-Fetch-Site`: not a browser, or a very old one.
    Unknown,
}

fn request_from(headers: &HeaderMap, expected: Option<&str>) -> Came {
    let fetch_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase());
    if let Some(site) = fetch_site.as_deref() {
        if site != "same-origin" && site != "none" {
            return Came::Elsewhere(format!("Sec-Fetch-Site: {site}"));
        }
    }
    match headers.get(ORIGIN).and_then(|v| v.to_str().ok()) {
        Some(origin) => {
            let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
            if expected.is_some_and(|e| e == origin) {
                Came::ThisSite
            } else {
                Came::Elsewhere(format!("Origin: {origin}"))
            }
        }
        None if fetch_site.as_deref() == Some("same-origin") => Came::ThisSite,
        None => Came::Unknown,
    }
}

fn has_session_cookie(headers: &HeaderMap) -> bool {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|kv| {
            kv.trim()
                .split_once('=')
                .is_some_and(|(k, v)| k == super::auth::SESSION_COOKIE && !v.is_empty())
        })
}

/// Refuses requests that change something on behalf of a signed-in browser but come from
/// another site (see the module docs).
pub async fn csrf(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let m = req.method();
    if m == Method::GET || m == Method::HEAD || m == Method::OPTIONS {
        return next.run(req).await;
    }
    let headers = req.headers();
    if headers.contains_key(AUTHORIZATION) {
        return next.run(req).await;
    }
    let expected = site_origin(&state, headers);
    let refusal = match request_from(headers, expected.as_deref()) {
        Came::ThisSite => None,
        Came::Elsewhere(what) => Some(format!(
            "refused: this request comes from another site ({what}; this server is {}); change data from this site's own pages, or send an API token in Authorization",
            expected.as_deref().unwrap_or("unknown without a Host header")
        )),
        Came::Unknown if has_session_cookie(headers) => Some(
            "refused: a request that changes data with the session cookie must say where it comes from (Origin or Sec-Fetch-Site, which browsers send); scripts should send an API token in Authorization instead"
                .to_string(),
        ),
        Came::Unknown => None,
    };
    match refusal {
        Some(msg) => {
            tracing::warn!(method = %req.method(), path = %req.uri().path(), "{msg}");
            ApiError::Forbidden(msg).into_response()
        }
        None => next.run(req).await,
    }
}

/// The body types a route accepts, with the largest size of each (bytes).
#[derive(Debug, Clone, Copy, Default)]
pub struct Accept {
    pub json: Option<usize>,
    pub multipart: Option<usize>,
}

impl Accept {
    pub fn json(limit: usize) -> Self {
        Accept {
            json: Some(limit),
            multipart: None,
        }
    }

    fn names(&self) -> String {
        let mut v = Vec::new();
        if self.json.is_some() {
            v.push("application/json");
        }
        if self.multipart.is_some() {
            v.push("multipart/form-data");
        }
        v.join(" or ")
    }
}

/// The body limit chosen for a request, for extractors' error messages.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// Checks a request's body type and declared size against the route's [`Accept`], then sets
/// the body limit the extractors apply while reading.
pub async fn accept(State(a): State<Accept>, mut req: Request, next: Next) -> Response {
    let headers = req.headers();
    let has_body =
        declared_length(headers).is_some_and(|n| n > 0) || headers.contains_key(TRANSFER_ENCODING);
    let ctype = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let essence = ctype.split(';').next().unwrap_or("").trim();
    let limit = match essence {
        "application/json" => a.json,
        "multipart/form-data" => a.multipart,
        _ => None,
    };
    let limit = match limit {
        Some(l) => l,
        None if !has_body => a.json.or(a.multipart).unwrap_or(0),
        None => {
            return ApiError::UnsupportedMediaType(format!(
                "send the body as {} (Content-Type), not {}",
                a.names(),
                if ctype.is_empty() {
                    "without a Content-Type".to_string()
                } else {
                    format!("{ctype:?}")
                }
            ))
            .into_response()
        }
    };
    if let Some(n) = declared_length(req.headers()).filter(|n| *n > limit as u64) {
        return too_large(n, limit).into_response();
    }
    req.extensions_mut().insert(BodyLimit(limit));
    let inner = DefaultBodyLimit::max(limit).layer(next);
    match inner.oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

fn human(n: usize) -> String {
    if n >= 1 << 20 {
        format!("{:.0} MiB", n as f64 / (1u64 << 20) as f64)
    } else {
        format!("{:.0} KiB", n as f64 / 1024.0)
    }
}

fn too_large(declared: u64, limit: usize) -> ApiError {
    ApiError::PayloadTooLarge(format!(
        "the request body is {declared} bytes; this route accepts at most {limit} bytes ({})",
        human(limit)
    ))
}

fn over_limit(limit: Option<BodyLimit>) -> ApiError {
    ApiError::PayloadTooLarge(match limit {
        Some(BodyLimit(l)) => format!(
            "the request body is over the limit of {l} bytes ({}) for this route",
            human(l)
        ),
        None => "the request body is over the limit for this route".into(),
    })
}

/// Maps an error met while reading a body: over the limit → 413, too slow → 408, else 400.
pub fn body_error(limit: Option<BodyLimit>, e: &(dyn std::error::Error + 'static)) -> ApiError {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.is::<http_body_util::LengthLimitError>() {
            return over_limit(limit);
        }
        if let Some(t) = err.downcast_ref::<crate::serve::BodyTimeout>() {
            return ApiError::RequestTimeout(format!(
                "{t}; send it faster or in smaller parts (fewer or smaller photos)"
            ));
        }
        cur = err.source();
    }
    ApiError::bad_request(format!("the request body could not be read: {e}"))
}

/// The whole body, within the route's limit; errors as [`body_error`] says.
pub struct BodyBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for BodyBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let limit = req.extensions().get::<BodyLimit>().copied();
        Bytes::from_request(req, state)
            .await
            .map(BodyBytes)
            .map_err(|e| match e {
                axum::extract::rejection::BytesRejection::FailedToBufferBody(f) => {
                    if f.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                        over_limit(limit)
                    } else {
                        body_error(limit, &f)
                    }
                }
                other => ApiError::bad_request(other.body_text()),
            })
    }
}

/// Security headers on every response (those a handler set itself are kept).
pub async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    let mut set = |name, value: &'static str| {
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    };
    set(CONTENT_SECURITY_POLICY, CSP);
    set(X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(REFERRER_POLICY, "same-origin");
    set(X_FRAME_OPTIONS, "DENY");
    // API answers carry names, notes and positions: no cache keeps them unless the handler
    // says otherwise (photos and tiles do).
    if api {
        set(CACHE_CONTROL, "no-store");
    }
    if state
        .config
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"))
    {
        set(STRICT_TRANSPORT_SECURITY, HSTS);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn origin_and_fetch_site_decide() {
        let me = Some("http://127.0.0.1:8080");
        assert_eq!(
            request_from(&headers(&[("origin", "http://127.0.0.1:8080")]), me),
            Came::ThisSite
        );
        assert!(matches!(
            request_from(&headers(&[("origin", "http://127.0.0.1:5555")]), me),
            Came::Elsewhere(_)
        ));
        assert!(matches!(
            request_from(&headers(&[("origin", "null")]), me),
            Came::Elsewhere(_)
        ));
        assert_eq!(
            request_from(&headers(&[("sec-fetch-site", "same-origin")]), me),
            Came::ThisSite
        );
        assert!(matches!(
            request_from(
                &headers(&[
                    ("sec-fetch-site", "same-site"),
                    ("origin", "http://127.0.0.1:8080")
                ]),
                me
            ),
            Came::Elsewhere(_)
        ));
        assert_eq!(request_from(&headers(&[]), me), Came::Unknown);
    }
}
