//! `GET /heatmap/{z}/{x}/{y}.png`: raster heatmap tiles.

use super::auth::Auth;
use super::error::{ApiError, ApiResult};
use super::extract::{PngTile, QueryParams};
use crate::analytics::heatmap::HeatStyle;
use crate::state::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

/// `GET /heatmap/{z}/{x}/{y}.png?since=&until=&category=&status=&radius_m=` (any signed-in
/// role) → a 256 × 256 RGBA PNG, transparent where there are no reports.
pub async fn tile(
    State(state): State<AppState>,
    auth: Auth,
    PngTile(coord): PngTile,
    QueryParams(p): QueryParams,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let style = HeatStyle {
        radius_m: p.f64("radius_m")?.unwrap_or(state.config.heatmap_radius_m),
        scale_per_ha: state.config.heatmap_scale_per_ha,
    };
    if !(5.0..=5000.0).contains(&style.radius_m) {
        return Err(ApiError::bad_request(
            "radius_m must be from 5 to 5000 metres",
        ));
    }
    let (filter, fkey) = super::tiles::report_filter(&p, &auth.0)?;
    let tile = match state.tiles.cached_heatmap(coord, &fkey, &style) {
        Some(t) => t,
        None => {
            let st = state.clone();
            tokio::task::spawn_blocking(move || {
                st.tiles.heatmap_or_render(coord, &filter, &fkey, &style)
            })
            .await
            .map_err(|e| ApiError::Internal(format!("heatmap rendering failed: {e}")))?
        }
    };
    // Cached on the server and dropped exactly when a report lands within its reach, so the
    // browser revalidates every time (a cheap 304), as for the vector tiles.
    Ok(super::tiles::respond_as(&tile, &headers, "image/png"))
}
