//! Campaigns: `GET/POST /api/campaigns`, `GET/PUT/DELETE /api/campaigns/{id}` (reads: office and
//! admin; writes: admin, audited), `GET /api/campaigns/{id}/summary` (office, admin; a scoped
//! office sees the reports of its scope only) and the weekly bulletin.

use super::auth::{Auth, Who};
use super::error::{parse_json, ApiError, ApiResult};
use super::extract::QueryParams;
use crate::auth::Role;
use crate::campaign::service::{self as svc, BulletinFormat, RenderedBulletin};
use crate::campaign::{self, CampaignError, NewCampaign};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::{HeaderName, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

impl From<CampaignError> for ApiError {
    fn from(e: CampaignError) -> Self {
        match e {
            CampaignError::Invalid(m, code, params) => ApiError::BadRequest(m).coded(code, params),
            CampaignError::NotFound(id) => ApiError::NotFound(e.to_string())
                .coded("not_found", json!({"what": "campaign", "id": id})),
            CampaignError::NoPage { page, pages } => ApiError::NotFound(e.to_string())
                .coded("bulletin_no_page", json!({"page": page, "pages": pages})),
            CampaignError::Store(s) => s.into(),
            CampaignError::Patrol(p) => p.into(),
            CampaignError::Task(m) => ApiError::Internal(m),
        }
    }
}

fn campaign_id(s: &str) -> ApiResult<i64> {
    s.parse().map_err(|_| {
        ApiError::NotFound(format!("campaign {s:?} does not exist (ids are numbers)"))
            .coded("not_found", json!({"what": "campaign", "id": s}))
    })
}

/// `GET /api/campaigns`.
pub async fn list(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    auth.require(&[Role::Office])?;
    let all = svc::list(&state).await?;
    Ok(Json(json!({ "campaigns": all })))
}

/// `GET /api/campaigns/{id}`.
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require(&[Role::Office])?;
    let c = svc::get(&state, campaign_id(&id)?).await?;
    Ok(Json(json!({ "campaign": c })))
}

/// `POST /api/campaigns {name, start, end, targets}` (admin) → 201.
pub async fn create(State(state): State<AppState>, who: Who, body: Bytes) -> ApiResult<Response> {
    who.require(&[Role::Admin])?;
    let n: NewCampaign = parse_json(&body)?;
    let stored = svc::create(&state, &who.actor, n).await?;
    Ok((StatusCode::CREATED, Json(json!({ "campaign": stored }))).into_response())
}

/// `PUT /api/campaigns/{id} {name, start, end, targets}` (admin).
pub async fn update(
    State(state): State<AppState>,
    who: Who,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    who.require(&[Role::Admin])?;
    let id = campaign_id(&id)?;
    let n: NewCampaign = parse_json(&body)?;
    let stored = svc::update(&state, &who.actor, id, n).await?;
    Ok(Json(json!({ "campaign": stored })))
}

/// `DELETE /api/campaigns/{id}` (admin).
pub async fn delete(
    State(state): State<AppState>,
    who: Who,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    who.require(&[Role::Admin])?;
    let id = campaign_id(&id)?;
    svc::delete(&state, &who.actor, id).await?;
    Ok(Json(json!({ "deleted": id })))
}

/// `GET /api/campaigns/{id}/summary` (office, admin).
pub async fn summary(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<campaign::Summary>> {
    let user = auth.require(&[Role::Office])?.clone();
    let c = svc::get(&state, campaign_id(&id)?).await?;
    Ok(Json(
        svc::summary(&state, &user, c, crate::time::now_ms()).await?,
    ))
}

/// `GET /api/campaigns/{id}/bulletin?week=YYYY-MM-DD&format=html|png&page=1` (office, admin):
/// the weekly bulletin of the 7 days from `week` in Chinese, as printable A4 HTML or as A4 PNG
/// pages (`page` from 1; the answer's `X-Bulletin-Pages` says how many there are).
pub async fn bulletin(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    QueryParams(p): QueryParams,
) -> ApiResult<Response> {
    let user = auth.require(&[Role::Office])?.clone();
    let format = match p.str("format").unwrap_or("html") {
        "html" => BulletinFormat::Html,
        "png" => BulletinFormat::Png {
            page: p.int("page", 1, 1..=100)? as usize,
        },
        other => {
            return Err(ApiError::bad_request(format!(
                "format={other:?} is not available; use html (the default) or png"
            ))
            .coded("bulletin_bad_format", json!({"value": other})))
        }
    };
    let id = campaign_id(&id)?;
    Ok(
        match svc::bulletin(&state, &user, id, p.str("week"), format).await? {
            RenderedBulletin::Html(html) => {
                ([(CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
            }
            RenderedBulletin::Png { bytes, pages } => (
                [
                    (CONTENT_TYPE, "image/png".to_string()),
                    (
                        HeaderName::from_static("x-bulletin-pages"),
                        pages.to_string(),
                    ),
                ],
                bytes,
            )
                .into_response(),
        },
    )
}
