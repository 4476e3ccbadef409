//! `GET /heatmap/{z}/{x}/{y}.png`: raster heatmap tiles.

use super::auth::Auth;
use super::error::{ApiError, ApiResult};
use super::params::Params;
use crate::analytics::heatmap::{self, HeatStyle};
use crate::state::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use xuncha_tiles::TileCoord;

fn parse_coord(z: &str, x: &str, y: &str) -> ApiResult<TileCoord> {
    let y = y.strip_suffix(".png").ok_or_else(|| {
        ApiError::NotFound("heatmap tiles are served as /heatmap/{z}/{x}/{y}.png".into())
    })?;
    let bad = || {
        ApiError::bad_request(format!(
            "heatmap tile {z}/{x}/{y}: z, x and y must be whole numbers"
        ))
    };
    let z: u8 = z.parse().map_err(|_| bad())?;
    let x: u32 = x.parse().map_err(|_| bad())?;
    let y: u32 = y.parse().map_err(|_| bad())?;
    TileCoord::new(z, x, y).map_err(|e| ApiError::bad_request(e.to_string()))
}

/// `GET /heatmap/{z}/{x}/{y}.png?since=&until=&category=&status=&radius_m=` (any signed-in
/// role) → a 256 × 256 RGBA PNG, transparent where there are no reports.
pub async fn tile(
    State(state): State<AppState>,
    auth: Auth,
    Path((z, x, y)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let coord = parse_coord(&z, &x, &y)?;
    let p = Params::from_query(q.as_deref())?;
    let filter = super::stats::report_filter(&p, &auth.0)?;
    let style = HeatStyle {
        radius_m: p.f64("radius_m")?.unwrap_or(state.config.heatmap_radius_m),
        scale_per_ha: state.config.heatmap_scale_per_ha,
    };
    if !(5.0..=5000.0).contains(&style.radius_m) {
        return Err(ApiError::bad_request(
            "radius_m must be from 5 to 5000 metres",
        ));
    }
    let st = state.clone();
    let png = tokio::task::spawn_blocking(move || {
        heatmap::encode_png(&heatmap::render_points(
            st.tiles.report_points.as_ref(),
            coord,
            &filter,
            &style,
        ))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("heatmap rendering failed: {e}")))?;
    Ok((
        [
            (CONTENT_TYPE, "image/png"),
            // Reports arrive all the time; a minute of staleness keeps panning cheap.
            (CACHE_CONTROL, "private, max-age=60"),
        ],
        png,
    )
        .into_response())
}
