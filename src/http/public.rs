//! `/api/public/…`: the public map (随手拍), answered only when the deployment turned it on
//! (`--public-map`; otherwise 404), to anyone, limited per client address (429 with
//! `Retry-After`). See [`crate::public_map`] for what it shows and hides.

use super::auth::ClientAddr;
use super::error::{blocking, ApiError, ApiResult};
use super::extract::MvtTile;
use crate::serve::LocalAddr;
use crate::state::AppState;
use crate::store::photos::Kind;
use crate::tileset::{style, Layers, ReportFilter};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::{Extension, Json};
use serde_json::{json, Value};
use std::time::Instant;

/// What the public tiles carry: zones but hotspots, open reports and the basemap (no patrol
/// routes).
const LAYERS: Layers = Layers {
    zones: true,
    routes: false,
    reports: true,
    basemap: true,
    hotspots: false,
};

/// 404 unless the public map is on; 429 when `ip` asks too often.
fn admit(state: &AppState, ip: &ClientAddr) -> ApiResult<()> {
    if !state.config.public_map {
        return Err(
            ApiError::NotFound("the public map is not enabled on this server".into())
                .coded("public_map_disabled", json!({})),
        );
    }
    state
        .public_limiter
        .take(ip.0, Instant::now())
        .map_err(|wait| {
            ApiError::TooManyRequests(
                "too many requests to the public map from this address; wait and try again".into(),
                wait.as_secs_f64().ceil() as u64,
            )
            .coded(
                "rate_limited",
                json!({"retry_after_s": wait.as_secs_f64().ceil()}),
            )
        })
}

fn not_found(what: &str, id: &str) -> ApiError {
    ApiError::NotFound(format!("{what} {id:?} is not on the public map"))
        .coded("not_found", json!({"what": what, "id": id}))
}

/// `GET /api/public/style.json`: the map style over the public tiles.
pub async fn style_json(
    State(state): State<AppState>,
    ip: ClientAddr,
    local: Option<Extension<LocalAddr>>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    admit(&state, &ip)?;
    Ok(Json(style::style(
        &super::tiles::origin(&state, local.as_deref(), &headers),
        "/api/public/tiles",
        super::tiles::bounds(&state),
        state.tiles.set.aggregate_below,
    )))
}

/// `GET /api/public/tiles/{z}/{x}/{y}.mvt`: zones, open reports (id, category, status) and the
/// basemap.
pub async fn tile(
    State(state): State<AppState>,
    ip: ClientAddr,
    MvtTile(coord): MvtTile,
    headers: HeaderMap,
) -> ApiResult<Response> {
    admit(&state, &ip)?;
    let filter = ReportFilter::of(&crate::store::stats::ReportFilter {
        statuses: crate::report::Status::OPEN.to_vec(),
        ..Default::default()
    });
    let t = super::tiles::cached_tile(&state, coord, filter, "public", LAYERS).await?;
    Ok(super::tiles::respond(&t, &headers))
}

/// `GET /api/public/reports/{id}`: an open report without its reporter, note or history.
pub async fn report(
    State(state): State<AppState>,
    ip: ClientAddr,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    admit(&state, &ip)?;
    let n: i64 = id.parse().map_err(|_| not_found("report", &id))?;
    let st = state.clone();
    blocking(move || crate::public_map::report(&st, n))
        .await?
        .map(Json)
        .ok_or_else(|| not_found("report", &id))
}

/// `GET /api/public/zones/{id}`: a zone with its responsible owner and contact.
pub async fn zone(
    State(state): State<AppState>,
    ip: ClientAddr,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    admit(&state, &ip)?;
    crate::public_map::zone(&state, &id)
        .map(Json)
        .ok_or_else(|| not_found("zone", &id))
}

/// `GET /api/public/photos/{id}/thumb`: the thumbnail of a photo filed with an open report.
pub async fn thumb(
    State(state): State<AppState>,
    ip: ClientAddr,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    admit(&state, &ip)?;
    let (st, pid) = (state.clone(), id.clone());
    if !blocking(move || crate::public_map::photo_is_public(&st, &pid)).await? {
        return Err(not_found("photo", &id));
    }
    super::photos::serve(&state, &id, Kind::Thumb, &headers).await
}
