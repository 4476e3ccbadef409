//! `/tiles/{z}/{x}/{y}.mvt`, `/tiles.json`, `/style.json`.

use super::auth::Auth;
use super::error::{ApiError, ApiResult};
use super::extract::{MvtTile, QueryParams};
use super::params::Params;
use crate::crs::Bbox;
use crate::serve::LocalAddr;
use crate::state::AppState;
use crate::tileset::{style, CachedTile, Layers, ReportFilter};
use axum::body::Body;
use axum::extract::State;
use axum::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH, VARY,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use axum::Json;
use std::sync::Arc;
use xuncha_tiles::TileCoord;

const MVT: &str = "application/vnd.mapbox-vector-tile";

/// Parses the reports filter of a tile URL exactly as every report endpoint does
/// ([`super::stats::report_filter`]: the same types and the same 400s), limited to what `user`
/// may see, and its canonical form (the cache key part).
pub fn report_filter(p: &Params, user: &crate::auth::User) -> ApiResult<(ReportFilter, String)> {
    let f = ReportFilter::of(&super::stats::report_filter(p, user)?);
    let key = f.cache_key();
    Ok((f, key))
}

/// `GET /tiles/{z}/{x}/{y}.mvt?since=&until=&category=&status=`
pub async fn tile(
    State(state): State<AppState>,
    auth: Auth,
    MvtTile(coord): MvtTile,
    QueryParams(params): QueryParams,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (filter, fkey) = report_filter(&params, &auth.0)?;
    let layers = match params.str("layers") {
        Some(l) => Layers::parse(l).map_err(ApiError::BadRequest)?,
        None => Layers::ALL,
    };
    let cached = cached_tile(&state, coord, filter, &fkey, layers).await?;
    Ok(respond(&cached, &headers))
}

/// Tile `coord` from the cache, rendered off the runtime on a miss. `fkey` is the filter's
/// canonical form from [`report_filter`].
pub(super) async fn cached_tile(
    state: &AppState,
    coord: TileCoord,
    filter: ReportFilter,
    fkey: &str,
    layers: Layers,
) -> ApiResult<Arc<CachedTile>> {
    // A hit is answered here; only a miss renders, off the runtime.
    if let Some(t) = state.tiles.cached(coord, fkey, layers) {
        return Ok(t);
    }
    let st = state.clone();
    let fkey = fkey.to_string();
    tokio::task::spawn_blocking(move || {
        st.tiles
            .get_or_render(&st.zones.index(), coord, &filter, &fkey, layers)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("tile rendering failed: {e}")))
}

/// `GET /api/offline/pack?bbox=minLon,minLat,maxLon,maxLat&minzoom=12&maxzoom=17` → the tiles an
/// offline map pack of the area holds (`[z, x, y]`, the map's own zones, routes and basemap
/// tiles, `?layers=zones,routes,basemap`) and their transfer size in bytes (gzip, as sent), so the
/// phone shows the size before it downloads. Rendering goes through the tile cache, so the
/// download that follows is served from memory.
pub async fn offline_pack(
    State(state): State<AppState>,
    auth: Auth,
    QueryParams(params): QueryParams,
) -> ApiResult<Json<serde_json::Value>> {
    use crate::tileset::pack;
    let bbox = params.bbox()?.ok_or_else(|| {
        ApiError::bad_request("bbox=minLon,minLat,maxLon,maxLat is required".to_string())
    })?;
    let zoom = |key, default: u8| params.int(key, i64::from(default), 0..=22).map(|v| v as u8);
    let min = zoom("minzoom", pack::DEFAULT_ZOOMS.0)?;
    let max = zoom("maxzoom", pack::DEFAULT_ZOOMS.1)?;
    let tiles = pack::plan(bbox, min, max).map_err(|e| {
        let params = match &e {
            pack::PackError::TooLarge { count, .. } => {
                serde_json::json!({ "count": count, "max": pack::MAX_TILES })
            }
            pack::PackError::ZoomOrder { min, max } => {
                serde_json::json!({ "minzoom": min, "maxzoom": max })
            }
        };
        let code = match e {
            pack::PackError::TooLarge { .. } => "pack_too_large",
            pack::PackError::ZoomOrder { .. } => "zoom_order",
        };
        ApiError::bad_request(e.to_string()).coded(code, params)
    })?;
    // The same filter (and so the same cache entries) as the map's base tiles for this user.
    let (filter, fkey) = report_filter(&Params::from_query(None)?, &auth.0)?;
    let layers = Layers::OFFLINE;
    let mut keys = Vec::with_capacity(tiles.len());
    let mut bytes = 0usize;
    for &coord in &tiles {
        let t = cached_tile(&state, coord, filter.clone(), &fkey, layers).await?;
        bytes += t.gzip.len();
        keys.push([u32::from(coord.z), coord.x, coord.y]);
    }
    Ok(Json(serde_json::json!({
        "bbox": bbox,
        "minzoom": min,
        "maxzoom": max,
        "layers": layers.key(),
        "count": keys.len(),
        "bytes": bytes,
        "tiles": keys,
    })))
}

/// Sends a cached vector tile: 304 on a matching `If-None-Match`, 204 when empty, gzip when
/// accepted.
pub fn respond(t: &CachedTile, headers: &HeaderMap) -> Response {
    respond_as(t, headers, MVT)
}

/// [`respond`] for a cached tile of any `content_type` (one without a gzip copy is always
/// sent as it is).
pub(super) fn respond_as(
    t: &CachedTile,
    headers: &HeaderMap,
    content_type: &'static str,
) -> Response {
    let etag = HeaderValue::from_str(&t.etag).unwrap_or(HeaderValue::from_static("\"\""));
    let common = [
        (ETAG, etag),
        (CACHE_CONTROL, HeaderValue::from_static("private, no-cache")),
        (
            VARY,
            HeaderValue::from_static("Accept-Encoding, Cookie, Authorization"),
        ),
    ];
    let matches = headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim() == t.etag || e.trim() == "*"));
    if matches {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    if t.body.is_empty() {
        return (StatusCode::NO_CONTENT, common).into_response();
    }
    let gzip_ok = headers
        .get(ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")))
        && !t.gzip.is_empty();
    let mut resp = if gzip_ok {
        let mut r = Response::new(Body::from(t.gzip.clone()));
        r.headers_mut()
            .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        Response::new(Body::from(t.body.clone()))
    };
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp.headers_mut().extend(common);
    resp
}

/// The origin TileJSON and style URLs are built on: the configured public URL; with
/// `trust_proxy`, what the proxy's `X-Forwarded-*` headers say; else the address this
/// connection reached (never a client-sent `Host`); else nothing (relative URLs).
pub(super) fn origin(state: &AppState, local: Option<&LocalAddr>, headers: &HeaderMap) -> String {
    if state.config.public_url.is_some() || state.config.trust_proxy {
        if let Some(o) = super::guard::site_origin(state, headers) {
            return o;
        }
    }
    local.map(|l| format!("http://{}", l.0)).unwrap_or_default()
}

pub(super) fn bounds(state: &AppState) -> Bbox {
    crate::tileset::export::data_bounds(state).unwrap_or(Bbox::WEB_MERCATOR)
}

/// `GET /tiles.json` → TileJSON 3.0.0.
pub async fn tilejson(
    State(state): State<AppState>,
    _auth: Auth,
    local: Option<Extension<LocalAddr>>,
    headers: HeaderMap,
) -> Json<serde_json::Value> {
    Json(style::tilejson(
        &origin(&state, local.as_deref(), &headers),
        bounds(&state),
        state.tiles.set.aggregate_below,
    ))
}

/// `GET /style.json` → a MapLibre style using only this server.
pub async fn style_json(
    State(state): State<AppState>,
    _auth: Auth,
    local: Option<Extension<LocalAddr>>,
    headers: HeaderMap,
) -> Json<serde_json::Value> {
    Json(style::style(
        &origin(&state, local.as_deref(), &headers),
        "/tiles",
        bounds(&state),
        state.tiles.set.aggregate_below,
    ))
}
