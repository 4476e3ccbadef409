//! The HTTP API. Handlers only extract → call the domain → respond; `ApiError` picks statuses.

pub mod auth;
pub mod error;
mod heatmap;
mod hotspots;
mod matching;
pub mod ogc;
mod open311;
pub mod params;
mod photos;
mod reports;
mod stats;
pub mod tiles;
mod workorders;
mod zones;

use crate::state::AppState;
use axum::extract::{DefaultBodyLimit, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;

/// Builds the router; tests call it directly or serve it on `127.0.0.1:0`.
pub fn router(state: AppState) -> Router {
    // Reports carry photos: their own limit (6 × 20 MiB + fields), not the zone upload limit.
    let report_limit = DefaultBodyLimit::max(reports::body_limit(&state));
    let api = Router::new()
        .route("/login", post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/me", get(auth::me))
        .route("/zones", get(zones::list).post(zones::create))
        .route(
            "/zones/{id}",
            get(zones::get).put(zones::update).delete(zones::retire),
        )
        .route("/zones/{id}/history", get(zones::history))
        .route("/match", get(matching::match_point))
        .route("/categories", get(reports::categories))
        .route(
            "/reports",
            get(reports::query)
                .post(reports::create)
                .layer(report_limit),
        )
        .route("/reports/nearby", get(reports::nearby))
        .route(
            "/reports/{id}/updates",
            post(reports::add_update).layer(report_limit),
        )
        .route(
            "/reports/{id}",
            get(reports::get).patch(reports::change).layer(report_limit),
        )
        .route("/photos/{id}", get(photos::normal))
        .route("/photos/{id}/thumb", get(photos::thumb))
        .route("/photos/{id}/original", get(photos::original))
        .route("/stats", get(stats::stats))
        .route("/hotspots/detect", post(hotspots::detect))
        .route("/workorders/{owner}", get(workorders::get))
        .fallback(api_not_found)
        .layer(DefaultBodyLimit::max(state.config.max_zone_body));
    let web = &state.config.web_dir;
    let static_files = ServeDir::new(web).fallback(ServeFile::new(web.join("index.html")));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/tiles/{z}/{x}/{y}", get(tiles::tile))
        .route("/tiles.json", get(tiles::tilejson))
        .route("/style.json", get(tiles::style_json))
        .route("/heatmap/{z}/{x}/{y}", get(heatmap::tile))
        .nest("/api", api)
        .merge(ogc::router(&state))
        .merge(open311::router(&state))
        .fallback_service(static_files)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// `{"status", "zones", "database", "feed"}`: 503 when the database does not answer.
async fn healthz(State(state): State<AppState>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let st = state.clone();
    let db = tokio::task::spawn_blocking(move || st.store.ping())
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()));
    let body = json!({
        "status": if db.is_ok() { "ok" } else { "unavailable" },
        "zones": state.zones.index().len(),
        "database": {
            "backend": match state.store.backend() {
                crate::store::Backend::Sqlite => "sqlite",
                crate::store::Backend::Postgres => "postgres",
            },
            "reachable": db.is_ok(),
            "error": db.err(),
        },
        "feed": state.feed.to_json(),
        "leader": state.leader.is_leader(),
    });
    let code = if body["status"] == "ok" {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}

async fn api_not_found() -> error::ApiError {
    error::ApiError::NotFound("no such API endpoint; see the README for the API".into())
}
