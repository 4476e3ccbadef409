//! Campaigns: `GET/POST /api/campaigns`, `GET/PUT/DELETE /api/campaigns/{id}` (reads: office and
//! admin; writes: admin, audited) and `GET /api/campaigns/{id}/summary` (office, admin; a scoped
//! office sees the reports of its scope only).

use super::auth::{Auth, Who};
use super::error::{blocking, parse_json, ApiError, ApiResult};
use crate::auth::Role;
use crate::campaign::{self, CampaignError, NewCampaign};
use crate::state::AppState;
use crate::store::campaigns as sql;
use axum::body::Bytes;
use axum::extract::{Path, State};
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
            CampaignError::Store(s) => s.into(),
        }
    }
}

/// A store failure rolls the transaction back (an `Err` to the store); other errors leave
/// nothing written and are answered as they are.
fn rollback_on_store<T>(
    r: Result<T, CampaignError>,
) -> crate::store::Result<Result<T, CampaignError>> {
    match r {
        Err(CampaignError::Store(s)) => Err(s),
        other => Ok(other),
    }
}

fn campaign_id(s: &str) -> ApiResult<i64> {
    s.parse().map_err(|_| {
        ApiError::NotFound(format!("campaign {s:?} does not exist (ids are numbers)"))
            .coded("not_found", json!({"what": "campaign", "id": s}))
    })
}

async fn load(state: &AppState, id: i64) -> ApiResult<sql::Campaign> {
    state
        .store
        .read(move |c| sql::get(c, id))
        .await?
        .ok_or_else(|| CampaignError::NotFound(id).into())
}

/// `GET /api/campaigns`.
pub async fn list(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    auth.require(&[Role::Office])?;
    let all = state.store.read(sql::list).await?;
    Ok(Json(json!({ "campaigns": all })))
}

/// `GET /api/campaigns/{id}`.
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require(&[Role::Office])?;
    let c = load(&state, campaign_id(&id)?).await?;
    Ok(Json(json!({ "campaign": c })))
}

/// `POST /api/campaigns {name, start, end, targets}` (admin) → 201.
pub async fn create(State(state): State<AppState>, who: Who, body: Bytes) -> ApiResult<Response> {
    who.require(&[Role::Admin])?;
    let n: NewCampaign = parse_json(&body)?;
    n.validate()?;
    let actor = who.actor.clone();
    let stored = state
        .store
        .write(move |c| rollback_on_store(campaign::create(c, &actor, &n)))
        .await??;
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
    n.validate()?;
    let actor = who.actor.clone();
    let stored = state
        .store
        .write(move |c| rollback_on_store(campaign::update(c, &actor, id, &n)))
        .await??;
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
    let actor = who.actor.clone();
    state
        .store
        .write(move |c| rollback_on_store(campaign::delete(c, &actor, id)))
        .await??;
    Ok(Json(json!({ "deleted": id })))
}

/// The campaign's summary with the patrol coverage of its days so far.
async fn full_summary(
    state: &AppState,
    user: crate::auth::User,
    c: sql::Campaign,
    now: i64,
) -> ApiResult<campaign::Summary> {
    let visibility = crate::scope::Visibility::of(&user);
    let offset = state.config.city_utc_offset_s;
    let days = campaign::days_so_far(&c, now, offset);
    let mut s = state
        .store
        .read(move |conn| campaign::summary(conn, c, visibility, now, offset))
        .await?;
    let st = state.clone();
    s.patrol_coverage =
        Some(blocking(move || crate::patrol::service::campaign_coverage(&st, &user, days)).await?);
    Ok(s)
}

/// `GET /api/campaigns/{id}/summary` (office, admin).
pub async fn summary(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<campaign::Summary>> {
    let user = auth.require(&[Role::Office])?.clone();
    let c = load(&state, campaign_id(&id)?).await?;
    Ok(Json(
        full_summary(&state, user, c, crate::time::now_ms()).await?,
    ))
}

/// `GET /api/campaigns/{id}/bulletin?week=YYYY-MM-DD&format=html|png&page=1` (office, admin):
/// the weekly bulletin of the 7 days from `week` in Chinese, as printable A4 HTML or as A4 PNG
/// pages (`page` from 1; the answer's `X-Bulletin-Pages` says how many there are).
pub async fn bulletin(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    axum::extract::RawQuery(q): axum::extract::RawQuery,
) -> ApiResult<Response> {
    let user = auth.require(&[Role::Office])?.clone();
    let p = super::params::Params::from_query(q.as_deref())?;
    let png = match p.str("format").unwrap_or("html") {
        "html" => false,
        "png" => true,
        other => {
            return Err(ApiError::bad_request(format!(
                "format={other:?} is not available; use html (the default) or png"
            ))
            .coded("bulletin_bad_format", json!({"value": other})))
        }
    };
    let page = p.int("page", 1, 1..=100)? as usize;
    let c = load(&state, campaign_id(&id)?).await?;
    let week_s = p.str("week").unwrap_or(&c.start).to_string();
    let week = campaign::parse_date(&week_s).ok_or_else(|| {
        ApiError::bad_request(format!("week={week_s:?} is not a date; use YYYY-MM-DD")).coded(
            "campaign_bad_date",
            json!({"field": "week", "value": week_s}),
        )
    })?;
    let visibility = crate::scope::Visibility::of(&auth.0);
    let off = state.config.city_utc_offset_s as i64 * 1000;
    let now = crate::time::now_ms();
    let since_ms = week * 86_400_000 - off;
    let until_ms = (week + 7) * 86_400_000 - off;
    let filter = crate::store::stats::ReportFilter {
        since: Some(since_ms),
        until: Some(until_ms),
        visibility: visibility.clone(),
        ..Default::default()
    };
    let f2 = filter.clone();
    let spread = state.store.read(move |conn| sql::spread(conn, &f2)).await?;
    let s = full_summary(&state, user, c, now).await?;
    const HEAT_Z: u8 = 12;
    let heat = spread.map(|sp| {
        let (lon, lat) = sp.centre;
        let (x, y) = crate::campaign::bulletin::tile_of(lon, lat, HEAT_Z);
        (HEAT_Z, x, y)
    });
    let doc = crate::campaign::bulletin::model(&s, week, heat.is_some());
    if !png {
        let src = heat.map(|(z, x, y)| {
            format!(
                "/heatmap/{z}/{x}/{y}.png?since={}&until={}",
                crate::time::to_rfc3339(since_ms),
                crate::time::to_rfc3339(until_ms)
            )
        });
        let html = crate::campaign::bulletin::html(&doc, src.as_deref());
        return Ok((
            [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response());
    }
    let st = state.clone();
    let (count, bytes) = tokio::task::spawn_blocking(move || {
        let style = crate::analytics::heatmap::HeatStyle {
            radius_m: st.config.heatmap_radius_m,
            scale_per_ha: st.config.heatmap_scale_per_ha,
        };
        let pic = spread
            .map(|sp| crate::campaign::bulletin::mosaic_view(sp.bbox))
            .map(|(z, x, y)| {
                crate::campaign::bulletin::heat_mosaic(z, x, y, |t| {
                    crate::analytics::heatmap::render_points(
                        st.tiles.report_points.as_ref(),
                        t,
                        &filter,
                        &style,
                    )
                })
            });
        let font = crate::analytics::draw::Font::embedded();
        let pages = crate::campaign::bulletin::png_pages(&doc, pic.as_ref(), font);
        let n = pages.len();
        (
            n,
            pages
                .get(page - 1)
                .map(crate::analytics::heatmap::encode_png),
        )
    })
    .await
    .map_err(|e| ApiError::Internal(format!("bulletin rendering failed: {e}")))?;
    let Some(bytes) = bytes else {
        return Err(ApiError::NotFound(format!(
            "page {page} does not exist: the bulletin has {count} page(s)"
        ))
        .coded("bulletin_no_page", json!({"page": page, "pages": count})));
    };
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "image/png".to_string()),
            (
                axum::http::header::HeaderName::from_static("x-bulletin-pages"),
                count.to_string(),
            ),
        ],
        bytes,
    )
        .into_response())
}
