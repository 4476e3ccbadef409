//! `GET /heatmap/{z}/{x}/{y}.png`: raster heatmap tiles.

use super::auth::Auth;
use super::error::{ApiError, ApiResult};
use super::extract::{PngTile, QueryParams};
use crate::analytics::heatmap::{self, HeatStyle};
use crate::state::AppState;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

/// `GET /heatmap/{z}/{x}/{y}.png?since=&until=&category=&status=&radius_m=` (any signed-in
/// role) → a 256 × 256 RGBA PNG, transparent where there are no reports.
pub async fn tile(
    State(state): State<AppState>,
    auth: Auth,
    PngTile(coord): PngTile,
    QueryParams(p): QueryParams,
) -> ApiResult<Response> {
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
