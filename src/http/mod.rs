//! The HTTP API. Handlers only extract → call the domain → respond; `ApiError` picks statuses.

mod admin;
pub mod auth;
mod campaigns;
pub mod error;
pub mod events;
pub mod extract;
pub mod guard;
mod heatmap;
mod hotspots;
mod matching;
mod meta;
pub mod ogc;
mod open311;
pub mod params;
pub mod patrols;
mod photos;
mod public;
mod reports;
mod stats;
pub mod tiles;
mod workorders;
mod zones;

use crate::state::AppState;
use axum::extract::{DefaultBodyLimit, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use guard::Accept;
use serde_json::json;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;

/// Builds the router; tests call it directly or serve it on `127.0.0.1:0`.
pub fn router(state: AppState) -> Router {
    let c = &state.config;
    let body = |a: Accept| axum::middleware::from_fn_with_state(a, guard::accept);
    let login_body = body(Accept::json(c.max_login_body));
    let small_json = body(Accept::json(c.max_json_body));
    // Zone uploads may be large; report submissions and changes carry photos only as multipart.
    let zone_body = body(Accept::json(c.max_zone_body));
    let report_body = body(Accept {
        json: Some(c.max_json_body),
        multipart: Some(reports::body_limit(&state)),
    });
    let api = Router::new()
        .route("/login", post(auth::login).layer(login_body))
        .route("/logout", post(auth::logout).layer(small_json.clone()))
        .route("/me", get(auth::me))
        .route("/events", get(events::stream))
        .route(
            "/zones",
            get(zones::list)
                .post(zones::create)
                .layer(zone_body.clone()),
        )
        .route(
            "/zones/{id}",
            get(zones::get)
                .put(zones::update)
                .delete(zones::retire)
                .layer(zone_body),
        )
        .route("/zones/{id}/history", get(zones::history))
        .route("/match", get(matching::match_point))
        .route("/categories", get(reports::categories))
        .route("/meta", get(meta::meta))
        .route("/offline/pack", get(tiles::offline_pack))
        .route(
            "/reports",
            get(reports::query)
                .post(reports::create)
                .layer(report_body.clone()),
        )
        .route("/reports/nearby", get(reports::nearby))
        .route(
            "/reports/{id}/updates",
            post(reports::add_update).layer(report_body.clone()),
        )
        .route(
            "/reports/{id}",
            get(reports::get).patch(reports::change).layer(report_body),
        )
        .route("/patrols", get(patrols::list))
        .route("/patrols/coverage", get(patrols::coverage))
        .route(
            "/patrols/{id}",
            get(patrols::get)
                .put(patrols::start)
                .layer(small_json.clone()),
        )
        .route(
            "/patrols/{id}/points",
            post(patrols::points).layer(body(Accept::json(patrols::MAX_BODY))),
        )
        .route(
            "/patrols/{id}/end",
            post(patrols::end).layer(small_json.clone()),
        )
        .route(
            "/settings/patrols",
            get(patrols::get_settings)
                .put(patrols::put_settings)
                .layer(small_json.clone()),
        )
        .route("/photos/{id}", get(photos::normal))
        .route("/photos/{id}/thumb", get(photos::thumb))
        .route("/photos/{id}/original", get(photos::original))
        .route("/stats", get(stats::stats))
        .route(
            "/hotspots/detect",
            post(hotspots::detect).layer(small_json.clone()),
        )
        .route("/workorders/{owner}", get(workorders::get))
        .route(
            "/users",
            get(admin::list_users)
                .post(admin::create_user)
                .layer(small_json.clone()),
        )
        .route(
            "/users/{id}",
            axum::routing::patch(admin::update_user).layer(small_json.clone()),
        )
        .route(
            "/users/{id}/password",
            post(admin::reset_password).layer(small_json.clone()),
        )
        .route(
            "/me/password",
            post(admin::change_own_password).layer(small_json.clone()),
        )
        .route(
            "/settings/time-limits",
            get(admin::get_time_limits)
                .put(admin::put_time_limits)
                .layer(small_json.clone()),
        )
        .route(
            "/webhooks",
            get(admin::list_webhooks)
                .post(admin::create_webhook)
                .layer(small_json.clone()),
        )
        .route(
            "/webhooks/{id}",
            axum::routing::delete(admin::delete_webhook),
        )
        .route("/webhooks/{id}/deliveries", get(admin::deliveries))
        .route("/audit", get(admin::audit))
        .route(
            "/campaigns",
            get(campaigns::list)
                .post(campaigns::create)
                .layer(small_json.clone()),
        )
        .route(
            "/campaigns/{id}",
            get(campaigns::get)
                .put(campaigns::update)
                .delete(campaigns::delete)
                .layer(small_json.clone()),
        )
        .route("/campaigns/{id}/summary", get(campaigns::summary))
        .route("/campaigns/{id}/bulletin", get(campaigns::bulletin))
        .route(
            "/tokens",
            get(admin::list_tokens)
                .post(admin::create_token)
                .layer(small_json.clone()),
        )
        .route("/tokens/{id}", axum::routing::delete(admin::revoke_token))
        .route("/public/style.json", get(public::style_json))
        .route("/public/tiles/{z}/{x}/{y}", get(public::tile))
        .route("/public/reports/{id}", get(public::report))
        .route("/public/zones/{id}", get(public::zone))
        .route("/public/photos/{id}/thumb", get(public::thumb))
        .fallback(api_not_found)
        // Routes without an `Accept` read no body; this bounds any that would.
        .layer(DefaultBodyLimit::max(c.max_json_body));
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
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::csrf,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::security_headers,
        ))
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
