//! `/api/patrols`: patrol tracks and route coverage; `/api/settings/patrols`.

use super::auth::{Auth, Who};
use super::error::{blocking, parse_json, ApiError, ApiResult};
use super::extract::QueryParams;
use crate::auth::Role;
use crate::patrol::service::{self as svc, PatrolError, PatrolSettings};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

impl From<PatrolError> for ApiError {
    fn from(e: PatrolError) -> Self {
        let msg = e.to_string();
        match e {
            PatrolError::BadInput(m, "too_many_points", p) => {
                ApiError::PayloadTooLarge(m).coded("too_many_points", p)
            }
            PatrolError::BadInput(m, code, p) => ApiError::BadRequest(m).coded(code, p),
            PatrolError::NotFound(id) => {
                ApiError::NotFound(msg).coded("patrol_not_found", json!({"id": id}))
            }
            PatrolError::NotYours(id) => {
                ApiError::Conflict(msg, vec![]).coded("patrol_id_taken", json!({"id": id}))
            }
            PatrolError::Forbidden(m) => ApiError::Forbidden(m),
            PatrolError::Store(s) => s.into(),
        }
    }
}

/// The largest points upload (2 000 points fit with room).
pub const MAX_BODY: usize = 1 << 20;

const WRITERS: &[Role] = &[Role::Patrol, Role::Office];

/// `PUT /api/patrols/{id} {"route", "started_at"}`: 201 created, 200 already there.
pub async fn start(
    State(state): State<AppState>,
    who: Who,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let user = who.require(WRITERS)?.clone();
    let body: Value = parse_json(&body)?;
    let actor = who.actor.clone();
    let (created, v) = blocking(move || svc::start(&state, &actor, &user, &id, &body)).await?;
    let code = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((code, Json(v)).into_response())
}

/// `POST /api/patrols/{id}/points {"points": [...]}`.
pub async fn points(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let user = auth.require(WRITERS)?.clone();
    let body: Value = parse_json(&body).map_err(|e| match e {
        ApiError::Unprocessable(m, _) => ApiError::BadRequest(m).coded("bad_points", json!({})),
        other => other,
    })?;
    Ok(Json(
        blocking(move || svc::add_points(&state, &user, &id, &body)).await?,
    ))
}

/// `POST /api/patrols/{id}/end {"ended_at"}`.
pub async fn end(
    State(state): State<AppState>,
    who: Who,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let user = who.require(WRITERS)?.clone();
    let body: Value = parse_json(&body)?;
    let actor = who.actor.clone();
    Ok(Json(
        blocking(move || svc::end(&state, &actor, &user, &id, &body)).await?,
    ))
}

/// `GET /api/patrols/{id}`: the record, its track and check-ins.
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let user = auth.require(WRITERS)?.clone();
    Ok(Json(blocking(move || svc::get(&state, &user, &id)).await?))
}

/// `GET /api/patrols?date=&route=&mine=true`.
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    QueryParams(p): QueryParams,
) -> ApiResult<Json<Value>> {
    let user = auth.require(WRITERS)?.clone();
    let date = p.str("date").map(str::to_string);
    let route = p.str("route").map(str::to_string);
    let mine = match p.str("mine") {
        None | Some("false") => false,
        Some("true") => true,
        Some(o) => {
            return Err(ApiError::bad_request(format!(
                "mine={o:?}: use true or false"
            )))
        }
    };
    Ok(Json(
        blocking(move || svc::list(&state, &user, date.as_deref(), route.as_deref(), mine)).await?,
    ))
}

/// `GET /api/patrols/coverage?route=&date=&format=json|csv` (office, admin).
pub async fn coverage(
    State(state): State<AppState>,
    auth: Auth,
    QueryParams(p): QueryParams,
) -> ApiResult<Response> {
    let user = auth.require(&[Role::Office])?.clone();
    let Some(date) = p.str("date").map(str::to_string) else {
        return Err(ApiError::bad_request("date=YYYY-MM-DD is required")
            .coded("bad_date", json!({"value": null})));
    };
    let route = p.str("route").map(str::to_string);
    let csv = match p.str("format").unwrap_or("json") {
        "json" => false,
        "csv" => true,
        other => {
            return Err(ApiError::bad_request(format!(
                "format={other:?} is not known; use json (the default) or csv"
            )))
        }
    };
    let v = blocking(move || match route {
        Some(r) => svc::coverage(&state, &user, &r, &date),
        None => svc::coverage_summary(&state, &user, &date),
    })
    .await?;
    if !csv {
        return Ok(Json(v).into_response());
    }
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8"),
            (CONTENT_DISPOSITION, "attachment; filename=\"coverage.csv\""),
        ],
        coverage_csv(&v),
    )
        .into_response())
}

fn cell(v: &Value) -> String {
    let s = match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// One row per (route, team) plus a row per route for all teams (`user` empty).
fn coverage_csv(v: &Value) -> String {
    let routes: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        one => vec![one],
    };
    let mut s = String::from(
        "\u{feff}date,route,route_name,user,share,points,first_at,last_at,missed_windows\r\n",
    );
    for r in routes {
        let missed: Vec<String> = r["windows"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|w| w["missed"] == true)
            .map(|w| w["label"].as_str().unwrap_or("").to_string())
            .collect();
        let head = [
            cell(&r["date"]),
            cell(&r["route"]["id"]),
            cell(&r["route"]["name"]),
        ]
        .join(",");
        s.push_str(&format!(
            "{head},,{},,,,{}\r\n",
            cell(&r["share"]),
            cell(&json!(missed.join(" ")))
        ));
        for t in r["teams"].as_array().into_iter().flatten() {
            s.push_str(&format!(
                "{head},{},{},{},{},{},\r\n",
                cell(&t["user"]),
                cell(&t["share"]),
                cell(&t["points"]),
                cell(&t["first_at"]),
                cell(&t["last_at"])
            ));
        }
    }
    s
}

/// `GET /api/settings/patrols` (office, admin).
pub async fn get_settings(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<PatrolSettings>> {
    auth.require(&[Role::Office])?;
    Ok(Json(blocking(move || svc::current_settings(&state)).await?))
}

/// `PUT /api/settings/patrols {"patrol_max_accuracy_m", "patrol_coverage_min"}` (admin).
pub async fn put_settings(
    State(state): State<AppState>,
    who: Who,
    body: Bytes,
) -> ApiResult<Json<PatrolSettings>> {
    who.require(&[Role::Admin])?;
    let s: PatrolSettings = parse_json(&body)?;
    let actor = who.actor.clone();
    Ok(Json(
        blocking(move || svc::set_settings(&state, &actor, s)).await?,
    ))
}
