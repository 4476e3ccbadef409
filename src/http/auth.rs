//! Sign-in, sign-out, and the `Auth` extractor that every `/api` route except login uses.

use super::error::{parse_json, ApiError, ApiResult};
use super::guard::BodyBytes;
use crate::auth::{Role, User, SESSION_TTL_MS};
use crate::state::AppState;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use std::net::{IpAddr, SocketAddr};

/// Name of the browser session cookie.
pub const SESSION_COOKIE: &str = "xuncha_session";

/// The signed-in user of a request.
pub struct Auth(pub User);

/// The signed-in user as the audit log records them: with the client's address.
pub struct Who {
    pub auth: Auth,
    pub actor: crate::audit::Actor,
}

impl FromRequestParts<AppState> for Who {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let auth = Auth::from_request_parts(parts, state).await?;
        let ClientAddr(ip) = ClientAddr::from_request_parts(parts, state).await?;
        let ip = (!ip.is_unspecified()).then(|| ip.to_string());
        let actor = crate::audit::Actor::user(&auth.0, ip);
        Ok(Who { auth, actor })
    }
}

impl std::ops::Deref for Who {
    type Target = Auth;
    fn deref(&self) -> &Auth {
        &self.auth
    }
}

impl Auth {
    /// 403 unless the user has one of `roles` (admin always has).
    pub fn require(&self, roles: &[Role]) -> ApiResult<&User> {
        if self.0.has_role(roles) {
            Ok(&self.0)
        } else {
            let allowed: Vec<&str> = roles.iter().map(|r| r.as_str()).chain(["admin"]).collect();
            let msg = format!(
                "this needs the role {}; you are signed in as {} ({})",
                allowed.join(" or "),
                self.0.username,
                self.0.role
            );
            let params = serde_json::json!({"roles": allowed, "role": self.0.role.as_str()});
            Err(ApiError::Forbidden(msg).coded("forbidden_role", params))
        }
    }
}

/// Credentials a request carries: a token, and for HTTP Basic the user name that came with it.
struct Credentials {
    token: String,
    /// HTTP Basic's user name (checked against the token's user when not empty).
    basic_user: Option<String>,
}

fn credentials(headers: &HeaderMap) -> Option<Credentials> {
    if let Some(v) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if let Some((scheme, rest)) = v.split_once(' ') {
            if scheme.eq_ignore_ascii_case("bearer") {
                return Some(Credentials {
                    token: rest.trim().to_string(),
                    basic_user: None,
                });
            }
            // Desktop GIS (QGIS's Basic authentication, GDAL_HTTP_USERPWD) sends the user name
            // and, as the password, one of the user's API tokens.
            if scheme.eq_ignore_ascii_case("basic") {
                use base64::Engine;
                // Malformed Basic credentials become an empty token, which fails as a bad one.
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(rest.trim())
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .unwrap_or_default();
                let (user, password) = decoded.split_once(':').unwrap_or(("", ""));
                return Some(Credentials {
                    token: password.to_string(),
                    basic_user: Some(user.to_string()),
                });
            }
        }
    }
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == SESSION_COOKIE && !v.is_empty()).then(|| Credentials {
                token: v.to_string(),
                basic_user: None,
            })
        })
}

fn token_from(headers: &HeaderMap) -> Option<String> {
    credentials(headers).map(|c| c.token)
}

/// The user a token belongs to (API tokens and unexpired sessions), through the token cache.
pub async fn user_for_token(state: &AppState, token: &str) -> ApiResult<Option<User>> {
    Ok(match state.token_user(token).await? {
        Some((_, Some(exp))) if exp <= crate::time::now_ms() => None,
        Some((user, _)) => Some(user),
        None => None,
    })
}

async fn authenticate(state: &AppState, c: Credentials) -> ApiResult<User> {
    let user = match state.token_user(&c.token).await? {
        None => {
            return Err(ApiError::Unauthorized(
                "this token or session is not valid; sign in again".into(),
            ))
        }
        Some((_, Some(exp))) if exp <= crate::time::now_ms() => {
            return Err(ApiError::Unauthorized(
                "your session has expired; sign in again".into(),
            ))
        }
        Some((user, _)) => user,
    };
    match c.basic_user {
        Some(name) if !name.is_empty() && name != user.username => Err(ApiError::Unauthorized(
            format!("the password is an API token of another user than {name:?}"),
        )),
        _ => Ok(user),
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let c = credentials(&parts.headers).ok_or_else(|| {
            ApiError::Unauthorized(
                "sign in first: send \"Authorization: Bearer <token>\", HTTP Basic with an API token as the password, or the session cookie from POST /api/login".into(),
            )
        })?;
        Ok(Auth(authenticate(state, c).await?))
    }
}

/// The signed-in user when the request carries credentials; `None` when it carries none. Bad
/// credentials are still refused (401), so a typo never silently reads as anonymous.
pub struct MaybeAuth(pub Option<User>);

impl FromRequestParts<AppState> for MaybeAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match credentials(&parts.headers) {
            None => Ok(MaybeAuth(None)),
            Some(c) => Ok(MaybeAuth(Some(authenticate(state, c).await?))),
        }
    }
}

/// The address of the client: the peer of the connection, or with `trust_proxy` the last
/// address the proxy put in `X-Forwarded-For`. Unspecified when neither is known (the router
/// called without a socket).
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if state.config.trust_proxy {
            // The proxy appends the address it saw; earlier entries are the client's word.
            let forwarded = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .rfind(|a| !a.is_empty())
                .and_then(|a| a.parse::<IpAddr>().ok());
            if let Some(ip) = forwarded {
                return Ok(ClientAddr(ip));
            }
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        Ok(ClientAddr(peer))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    username: String,
    password: String,
    /// An API client asks for the token in the answer (and gets no cookie).
    #[serde(default)]
    token: bool,
}

/// `POST /api/login {"username","password"}` → `{"role","username","expires_at"}` and the
/// HttpOnly session cookie (browsers: page scripts never see the token). With `"token": true`
/// → `{"token","role","username","expires_at"}` and no cookie (API clients).
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    BodyBytes(body): BodyBytes,
) -> ApiResult<Response> {
    let body: LoginBody = parse_json(&body)?;
    let user = state
        .login
        .sign_in(&state.store, client, &body.username, body.password)
        .await?;
    let kind = if body.token { "token" } else { "cookie" };
    let (token, expires) = state.start_session(&user, client, kind).await?;
    let mut answer = json!({
        "role": user.role,
        "username": user.username,
        "expires_at": crate::time::to_rfc3339(expires),
    });
    if body.token {
        answer["token"] = json!(token);
        return Ok(Json(answer).into_response());
    }
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        SESSION_TTL_MS / 1000,
        if state
            .config
            .public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
        {
            "; Secure"
        } else {
            ""
        }
    );
    Ok(([(SET_COOKIE, cookie)], Json(answer)).into_response())
}

/// `POST /api/logout`: forgets the session token and clears the cookie.
pub async fn logout(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if let Some(token) = token_from(&headers) {
        state.sign_out(&token, client).await?;
    }
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    Ok(([(SET_COOKIE, clear)], Json(json!({"signed_out": true}))).into_response())
}

/// `GET /api/me` → the signed-in user.
pub async fn me(auth: Auth) -> Json<User> {
    Json(auth.0)
}
