//! `POST /api/hotspots/detect`: find where reports cluster and store the places as hotspots.

use super::auth::Who;
use super::error::{ApiError, ApiResult};
use super::extract::QueryParams;
use crate::analytics::hotspots::{self, DetectError, DetectSettings, Window};
use crate::auth::Role;
use crate::state::AppState;
use crate::zone::zone_to_feature;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

impl From<DetectError> for ApiError {
    fn from(e: DetectError) -> Self {
        match e {
            DetectError::Registry(r) => r.into(),
            DetectError::Store(s) => s.into(),
        }
    }
}

/// `POST /api/hotspots/detect?since=&until=&category=&eps_m=&min_points=&buffer_m=` (office,
/// admin) → 200 with the detected hotspot zones as a FeatureCollection.
pub async fn detect(
    State(state): State<AppState>,
    who: Who,
    QueryParams(p): QueryParams,
) -> ApiResult<Json<Value>> {
    who.require(&[Role::Office])?;
    if let Some(scope) = &who.auth.0.scope {
        return Err(ApiError::Forbidden(format!(
            "hotspot detection looks at the whole city and stores city-wide zones; your account acts in zone {scope} only: ask the city office"
        )));
    }
    if p.str("status").is_some() {
        return Err(ApiError::bad_request(
            "status= is not a detection filter: every report except rejected ones counts",
        ));
    }
    let f = super::stats::report_filter(&p, &who.auth.0)?;
    let c = &state.config;
    let settings = DetectSettings {
        eps_m: p.f64("eps_m")?.unwrap_or(c.hotspot_eps_m),
        min_points: p.int("min_points", c.hotspot_min_points as i64, 2..=10_000)? as usize,
        buffer_m: p.f64("buffer_m")?.unwrap_or(c.hotspot_buffer_m),
    };
    if !(1.0..=1000.0).contains(&settings.eps_m) {
        return Err(ApiError::bad_request("eps_m must be from 1 to 1000 metres"));
    }
    if !(0.0..=500.0).contains(&settings.buffer_m) {
        return Err(ApiError::bad_request(
            "buffer_m must be from 0 to 500 metres",
        ));
    }
    let window = Window {
        since: f.since,
        until: f.until,
        categories: f.categories,
    };
    let w = json!({
        "since": window.since.map(crate::time::to_rfc3339),
        "until": window.until.map(crate::time::to_rfc3339),
        "category": window.categories,
    });
    let d = hotspots::detect(&state.store, &state.zones, window, settings, &who.actor).await?;
    Ok(Json(json!({
        "type": "FeatureCollection",
        "features": d.zones.iter().map(zone_to_feature).collect::<Vec<_>>(),
        "window": w,
        "parameters": settings,
        "reports_considered": d.points,
        "noise_reports": d.noise,
        "retired": d.retired,
        "overlaps": d.overlaps,
    })))
}
