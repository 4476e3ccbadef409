//! `GET /api/match?lon=&lat=&accuracy_m=`: whose zone is this point in?

use super::auth::Auth;
use super::error::{ApiError, ApiResult};
use super::extract::{LonLat, QueryParams};
use crate::state::AppState;
use crate::zone::responsibility::{self, PointAnswer};
use axum::extract::State;
use axum::Json;

pub async fn match_point(
    State(state): State<AppState>,
    _auth: Auth,
    LonLat { lon, lat }: LonLat,
    QueryParams(p): QueryParams,
) -> ApiResult<Json<PointAnswer>> {
    let accuracy_m = p.f64("accuracy_m")?.unwrap_or(0.0);
    if !(0.0..=10_000.0).contains(&accuracy_m) {
        return Err(ApiError::bad_request(
            "accuracy_m must be between 0 and 10000 metres",
        ));
    }
    Ok(Json(responsibility::answer(
        &state.zones.index(),
        lon,
        lat,
        accuracy_m,
    )))
}
