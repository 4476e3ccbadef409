//! Admin routes: users (`/api/users`), one's own password (`/api/me/password`), time limits
//! (`/api/settings/time-limits`), webhooks (`/api/webhooks`) and the audit log (`/api/audit`).

use super::auth::{Auth, Who};
use super::error::{parse_json, ApiError, ApiResult};
use super::extract::QueryParams;
use crate::accounts::{self, AccountError, AccountPatch, NewAccount};
use crate::auth::Role;
use crate::deadlines::TimeLimits;
use crate::state::AppState;
use crate::webhooks::NewWebhook;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Invalid(m) => ApiError::Unprocessable(m, vec![]),
            AccountError::Password(p) => ApiError::rejected(p),
            AccountError::NotFound(_) => ApiError::NotFound(e.to_string()),
            AccountError::WrongPassword => ApiError::Forbidden(e.to_string()),
            AccountError::Store(s) => s.into(),
        }
    }
}

/// Runs blocking service work off the async runtime.
/// [`super::error::blocking`] for closures that answer with `ApiError` already.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    super::error::blocking(f).await
}

fn user_id(s: &str) -> ApiResult<i64> {
    s.parse()
        .map_err(|_| ApiError::NotFound(format!("user {s:?} does not exist (ids are numbers)")))
}

// --- users ---------------------------------------------------------------------------------

/// `GET /api/users`: every user with role, owner, scope and whether disabled.
pub async fn list_users(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    auth.require(&[Role::Admin])?;
    let users = blocking(move || Ok(accounts::list(&state)?)).await?;
    Ok(Json(json!({"users": users})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUserBody {
    username: String,
    role: String,
    password: String,
    owner: Option<String>,
    scope: Option<String>,
    #[serde(default)]
    token: bool,
}

/// `POST /api/users {"username","role","password","owner"?,"scope"?,"token"?}` → 201.
pub async fn create_user(
    State(state): State<AppState>,
    who: Who,
    body: Bytes,
) -> ApiResult<Response> {
    who.require(&[Role::Admin])?;
    let b: NewUserBody = parse_json(&body)?;
    let role: Role = b.role.parse().map_err(ApiError::unprocessable)?;
    let actor = who.actor.clone();
    let (user, token) = blocking(move || {
        Ok(accounts::create(
            &state,
            &actor,
            NewAccount {
                username: b.username,
                role,
                password: b.password,
                owner: b.owner,
                scope: b.scope,
                with_token: b.token,
            },
        )?)
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"user": user, "token": token})),
    )
        .into_response())
}

/// Absent: keep; `null`: clear; a value: set.
fn tri(v: &Value, key: &str) -> ApiResult<Option<Option<String>>> {
    match v.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(_) => Err(ApiError::unprocessable(format!(
            "{key} must be a string or null"
        ))),
    }
}

/// `PATCH /api/users/{id} {"role"?, "owner"?, "scope"?, "disabled"?}`.
pub async fn update_user(
    State(state): State<AppState>,
    who: Who,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    who.require(&[Role::Admin])?;
    let id = user_id(&id)?;
    let v: Value = parse_json(&body)?;
    let Some(obj) = v.as_object() else {
        return Err(ApiError::unprocessable("send a JSON object"));
    };
    if let Some(k) = obj
        .keys()
        .find(|k| !["role", "owner", "scope", "disabled"].contains(&k.as_str()))
    {
        return Err(ApiError::unprocessable(format!(
            "unknown field {k:?}; a user has role, owner, scope and disabled"
        )));
    }
    let patch = AccountPatch {
        role: match v.get("role") {
            None => None,
            Some(Value::String(r)) => Some(r.parse().map_err(ApiError::unprocessable)?),
            Some(_) => return Err(ApiError::unprocessable("role must be a string")),
        },
        owner: tri(&v, "owner")?,
        scope: tri(&v, "scope")?,
        disabled: match v.get("disabled") {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => return Err(ApiError::unprocessable("disabled must be true or false")),
        },
    };
    let actor = who.actor.clone();
    let account = blocking(move || Ok(accounts::update(&state, &actor, id, patch)?)).await?;
    Ok(Json(json!({"user": account})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    password: String,
    current: Option<String>,
}

/// `POST /api/users/{id}/password {"password"}`: an admin resets a password.
pub async fn reset_password(
    State(state): State<AppState>,
    who: Who,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    who.require(&[Role::Admin])?;
    let id = user_id(&id)?;
    let b: PasswordBody = parse_json(&body)?;
    let actor = who.actor.clone();
    blocking(move || {
        Ok(accounts::set_password(
            &state,
            &actor,
            id,
            &b.password,
            None,
        )?)
    })
    .await?;
    Ok(Json(json!({"changed": true})))
}

/// `POST /api/me/password {"current","password"}`: a user changes their own password.
pub async fn change_own_password(
    State(state): State<AppState>,
    who: Who,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let b: PasswordBody = parse_json(&body)?;
    let current = b
        .current
        .ok_or_else(|| ApiError::unprocessable("current is missing: give your current password"))?;
    let (actor, id) = (who.actor.clone(), who.auth.0.id);
    blocking(move || {
        Ok(accounts::set_password(
            &state,
            &actor,
            id,
            &b.password,
            Some(&current),
        )?)
    })
    .await?;
    // Every session of the user ends, this one too: sign in again with the new password.
    Ok(Json(json!({"changed": true, "signed_out": true})))
}

// --- API tokens ----------------------------------------------------------------------------

/// `GET /api/tokens`: every API token (id, user, name, created, expires; never the token).
pub async fn list_tokens(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    auth.require(&[Role::Admin])?;
    let tokens = blocking(move || Ok(accounts::list_tokens(&state)?)).await?;
    Ok(Json(json!({"tokens": tokens})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTokenBody {
    username: String,
    name: String,
    expires_days: Option<i64>,
}

/// `POST /api/tokens {"username","name","expires_days"?}` → 201 `{"id","token"}` (shown once).
pub async fn create_token(
    State(state): State<AppState>,
    who: Who,
    body: Bytes,
) -> ApiResult<Response> {
    who.require(&[Role::Admin])?;
    let b: NewTokenBody = parse_json(&body)?;
    let actor = who.actor.clone();
    let (token, id) = blocking(move || {
        Ok(accounts::create_token(
            &state,
            &actor,
            &b.username,
            &b.name,
            b.expires_days,
        )?)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id, "token": token}))).into_response())
}

/// `DELETE /api/tokens/{id}`: the token stops working at once, on every server.
pub async fn revoke_token(
    State(state): State<AppState>,
    who: Who,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    who.require(&[Role::Admin])?;
    let actor = who.actor.clone();
    let id2 = id.clone();
    let done = blocking(move || Ok(accounts::revoke_token(&state, &actor, &id2)?)).await?;
    if !done {
        return Err(ApiError::NotFound(format!("there is no API token {id:?}")));
    }
    Ok(Json(json!({"revoked": id})))
}

// --- settings ------------------------------------------------------------------------------

/// `GET /api/settings/time-limits`: the seconds each stage may take, per category.
pub async fn get_time_limits(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<TimeLimits>> {
    auth.require(&[Role::Office])?;
    Ok(Json(state.settings.time_limits()))
}

/// `PUT /api/settings/time-limits {"default": {...}, "categories": {...}}` (admin).
pub async fn put_time_limits(
    State(state): State<AppState>,
    who: Who,
    body: Bytes,
) -> ApiResult<Json<TimeLimits>> {
    who.require(&[Role::Admin])?;
    let limits: TimeLimits = parse_json(&body)?;
    let actor = who.actor.clone();
    let stored = blocking(move || {
        state
            .settings
            .set_time_limits(&actor, limits)?
            .map_err(ApiError::unprocessable)
    })
    .await?;
    Ok(Json(stored))
}

// --- webhooks ------------------------------------------------------------------------------

/// `GET /api/webhooks`: the registered webhooks (secrets are never shown).
pub async fn list_webhooks(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    auth.require(&[Role::Admin])?;
    Ok(Json(json!({
        "webhooks": *state.hooks.all(),
        "events": crate::webhooks::EVENTS,
    })))
}

/// `POST /api/webhooks {url, events, secret, format?, owner?, scope?}` → 201.
pub async fn create_webhook(
    State(state): State<AppState>,
    who: Who,
    body: Bytes,
) -> ApiResult<Response> {
    who.require(&[Role::Admin])?;
    let w: NewWebhook = parse_json(&body)?;
    let actor = who.actor.clone();
    let hook = blocking(move || state.hooks.create(&actor, w)?.map_err(ApiError::rejected)).await?;
    Ok((StatusCode::CREATED, Json(json!({"webhook": hook}))).into_response())
}

fn webhook_id(s: &str) -> ApiResult<i64> {
    s.parse()
        .map_err(|_| ApiError::NotFound(format!("webhook {s:?} does not exist (ids are numbers)")))
}

/// `DELETE /api/webhooks/{id}`.
pub async fn delete_webhook(
    State(state): State<AppState>,
    who: Who,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    who.require(&[Role::Admin])?;
    let id = webhook_id(&id)?;
    let actor = who.actor.clone();
    let done = blocking(move || Ok(state.hooks.remove(&actor, id)?)).await?;
    if !done {
        return Err(ApiError::NotFound(format!("webhook {id} does not exist")));
    }
    Ok(Json(json!({"deleted": id})))
}

/// `GET /api/webhooks/{id}/deliveries?limit=`: the newest deliveries with attempts and errors.
pub async fn deliveries(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    QueryParams(p): QueryParams,
) -> ApiResult<Json<Value>> {
    auth.require(&[Role::Admin])?;
    let id = webhook_id(&id)?;
    let limit = p.int("limit", 100, 1..=1000)?;
    let list = state
        .store
        .read(move |c| Ok(crate::webhooks::deliveries(c, id, limit)?))
        .await?;
    Ok(Json(json!({"deliveries": list})))
}

// --- audit ---------------------------------------------------------------------------------

/// `GET /api/audit?since=&until=&user=&action=&object=&limit=&before=&format=json|csv` (admin),
/// newest first.
pub async fn audit(
    State(state): State<AppState>,
    auth: Auth,
    QueryParams(p): QueryParams,
) -> ApiResult<Response> {
    auth.require(&[Role::Admin])?;
    let time = |k: &str| {
        p.str(k)
            .map(|s| {
                crate::time::parse_rfc3339(s)
                    .map_err(|e| ApiError::bad_request(format!("{k}: {e}")))
            })
            .transpose()
    };
    let before = p
        .str("before")
        .map(|b| {
            b.parse::<i64>()
                .map_err(|_| ApiError::bad_request("before must be an entry id"))
        })
        .transpose()?;
    let query = crate::audit::Query {
        since: time("since")?,
        until: time("until")?,
        user: p.str("user").map(String::from),
        action: p.str("action").map(String::from),
        object: p.str("object").map(String::from),
        limit: p.int("limit", 100, 1..=10_000)? as usize,
        before,
    };
    let format = p.str("format").unwrap_or("json").to_string();
    if !["json", "csv"].contains(&format.as_str()) {
        return Err(ApiError::bad_request("format must be json or csv"));
    }
    let (rows, next) = state
        .store
        .read(move |c| Ok(crate::audit::query(c, &query)?))
        .await?;
    if format == "csv" {
        let mut out = String::from("id,at,user,role,ip,action,object,summary\n");
        for e in &rows {
            let cells = [
                e.id.to_string(),
                e.at.clone(),
                e.user.clone().unwrap_or_default(),
                e.role.clone().unwrap_or_default(),
                e.ip.clone().unwrap_or_default(),
                e.action.clone(),
                e.object.clone().unwrap_or_default(),
                e.summary.to_string(),
            ];
            let line: Vec<String> = cells
                .iter()
                .map(|c| crate::analytics::stats::csv_field(c))
                .collect();
            out.push_str(&line.join(","));
            out.push('\n');
        }
        return Ok((
            [
                (CONTENT_TYPE, "text/csv; charset=utf-8"),
                (CONTENT_DISPOSITION, "attachment; filename=\"audit.csv\""),
            ],
            out,
        )
            .into_response());
    }
    Ok(Json(json!({"entries": rows, "next_before": next})).into_response())
}
