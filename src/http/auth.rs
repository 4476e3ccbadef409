//! Sign-in, sign-out, and the `Auth` extractor that every `/api` route except login uses.

use super::error::{parse_json, ApiError, ApiResult};
use super::guard::BodyBytes;
use crate::auth::{self, Role, User, SESSION_TTL_MS};
use crate::state::AppState;
use crate::store::users;
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

impl Auth {
    /// 403 unless the user has one of `roles` (admin always has).
    pub fn require(&self, roles: &[Role]) -> ApiResult<&User> {
        if self.0.has_role(roles) {
            Ok(&self.0)
        } else {
            let allowed: Vec<&str> = roles.iter().map(|r| r.as_str()).chain(["admin"]).collect();
            Err(ApiError::Forbidden(format!(
                "this needs the role {}; you are signed in as {} ({})",
                allowed.join(" or "),
                self.0.username,
                self.0.role
            )))
        }
    }
}

fn token_from(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        if let Some(t) = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
        {
            return Some(t.trim().to_string());
        }
    }
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == SESSION_COOKIE && !v.is_empty()).then(|| v.to_string())
        })
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = token_from(&parts.headers).ok_or_else(|| {
            ApiError::Unauthorized(
                "sign in first: send \"Authorization: Bearer <token>\" or the session cookie from POST /api/login".into(),
            )
        })?;
        let hash = auth::token_hash(&token);
        let cached = state
            .token_cache
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&hash)
            .cloned();
        let found = match cached {
            Some(hit) => Some(hit),
            None => {
                let h = hash.clone();
                let found = state.store.read(move |c| users::by_token(c, &h)).await?;
                if let Some(hit) = &found {
                    state
                        .token_cache
                        .write()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(hash.clone(), hit.clone());
                }
                found
            }
        };
        match found {
            None => Err(ApiError::Unauthorized(
                "this token or session is not valid; sign in again".into(),
            )),
            Some((_, Some(exp))) if exp <= crate::time::now_ms() => Err(ApiError::Unauthorized(
                "your session has expired; sign in again".into(),
            )),
            Some((user, _)) => Ok(Auth(user)),
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
    let token = auth::new_token();
    let hash = auth::token_hash(&token);
    let now = crate::time::now_ms();
    let expires = now + SESSION_TTL_MS;
    let uid = user.id;
    state
        .store
        .write(move |tx| users::add_token(tx, &hash, uid, "session", now, Some(expires)))
        .await?;
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
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    if let Some(token) = token_from(&headers) {
        let hash = auth::token_hash(&token);
        state
            .token_cache
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&hash);
        let origin = state.store.origin().to_string();
        state
            .store
            .write(move |tx| {
                // Other servers sharing the database forget the session too.
                if let Some(user) = users::delete_token(tx, &hash)? {
                    let now = crate::time::now_ms();
                    crate::store::changes::record(
                        tx,
                        &origin,
                        crate::store::changes::ChangeKind::User,
                        &user.to_string(),
                        now,
                    )?;
                }
                Ok(())
            })
            .await?;
    }
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    Ok(([(SET_COOKIE, clear)], Json(json!({"signed_out": true}))).into_response())
}

/// `GET /api/me` → the signed-in user.
pub async fn me(auth: Auth) -> Json<User> {
    Json(auth.0)
}
