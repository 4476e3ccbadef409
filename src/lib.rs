//! Xuncha (巡查): geospatial field inspection for a city's sanitation campaign.
//!
//! Responsibility zones (门前三包), grid cells (网格), patrol routes, hotspots and green-adoption
//! areas are stored in SQLite, held in an R-tree with prepared polygons, and matched against
//! the points where patrols find dirt. Coordinates are WGS84 `[lon, lat]` everywhere; distances
//! are metres.
//!
//! # Layout
//! - [`zone`]: `Zone`, `ZoneKind`, `Owner`, `Sector`; GeoJSON parsing and OGC validation.
//! - [`index`]: `ZoneIndex`: a cell index, packed R-trees and prepared polygons behind
//!   `match_point`; edits go to an overlay that the registry compacts in the background.
//! - [`geodesy`]: metres on the ground (local projection on the WGS84 ellipsoid).
//! - [`store`]: SQLite (migrations, zones, users, tokens).
//! - [`registry`]: the store and the index kept in step; edits swap in a new index snapshot.
//! - [`auth`]: roles, password hashes, tokens.
//! - [`tileset`]: which features go into a vector tile; the tile cache; TileJSON and style;
//!   [`tileset::pack`] plans offline map packs.
//! - [`http`]: the axum router, one file per resource, `ApiError`; `http::ogc` (OGC API –
//!   Features under `/ogc`) and `http::open311` (GeoReport v2 under `/open311/v2`).
//! - [`http`]: the axum router, one file per resource, `ApiError`; [`http::extract`] the typed
//!   extractors (`MvtTile`, `PngTile`, `LonLat`, `QueryParams`); [`http::guard`] the CSRF,
//!   body and security-header layers.
//! - [`serve`]: the connection loop (hyper-util) with header, body and idle timeouts and a
//!   connection cap.
//! - [`login`]: signing in: bounded password hashing, failed-login throttling.
//! - [`cli`]: the work behind `xuncha import|export|match|user`.
//! - [`export`]: PMTiles v3 archives for offline use.
//! - [`demo`]: loads the Baishan demo city from `geodata/`; [`demo_reports`] its seeded reports.
//! - [`problem`]: `Problem`, a client mistake with a stable machine code and parameters
//!   (what `ApiError` sends as `code`/`params`).
//! - [`report`]: `Category`, `Status` and the table of allowed status changes.
//! - [`photo`]: sniff, decode with limits, orient, strip metadata, resize; EXIF GPS and time.
//! - [`report_service`]: submitting and changing reports; the group-commit writer.
//! - [`gcj02`]: GCJ-02 → WGS84 at the edge.
//! - [`analytics`]: statistics, hotspot detection, heatmap tiles and work orders.
//! - [`features`]: zones and reports as OGC API – Features collections with flat columns.
//! - [`patrols`]: route segments and coverage, check-in points, schedule windows;
//!   [`patrol_service`] patrol tracks (start, points, end), coverage and missed windows.
//! - [`open311`]: report categories as Open311 GeoReport v2 services; reports as service requests.
//! - [`campaign`]: campaigns (百日攻坚): validation, writes, and the summary (days left, daily
//!   chart with burn-down, target progress, 红黑榜 ranking); `store::campaigns` its SQL;
//!   [`campaign_bulletin`] the weekly bulletin as A4 HTML.

#![forbid(unsafe_code)]

pub mod accounts;
pub mod analytics;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod campaign;
pub mod campaign_bulletin;
pub mod cli;
pub mod config;
pub mod deadlines;
pub mod demo;
pub mod demo_reports;
pub mod export;
pub mod features;
pub mod feed;
pub mod gcj02;
pub mod geodesy;
pub mod http;
pub mod index;
pub mod jobs;
pub mod login;
pub mod migrate;
pub mod open311;
pub mod patrol_service;
pub mod patrols;
pub mod photo;
pub mod problem;
pub mod public_map;
pub mod registry;
pub mod report;
pub mod report_service;
pub mod responsibility;
pub mod scope;
pub mod serve;
pub mod settings;
pub mod state;
pub mod store;
pub mod tileset;
pub mod time;
pub mod webhooks;
pub mod workflow;
pub mod zone;

pub use config::Config;
pub use state::{App, AppState};

use std::future::Future;
use tokio::net::TcpListener;

/// Builds the HTTP application for `state`.
pub fn app(state: AppState) -> axum::Router {
    http::router(state)
}

/// Serves `state` on `listener` until `shutdown` completes, then finishes in-flight requests.
/// Connections are timed and capped by the settings in `state.config` (see [`serve`]).
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    feed::spawn(&state);
    jobs::spawn(&state);
    let limits = serve::ServeLimits::from_config(&state.config);
    // Event streams never finish on their own; end them so shutdown can wait for the rest.
    let st = state.clone();
    let shutdown = async move {
        shutdown.await;
        st.events.close();
    };
    serve::serve(listener, app(state), limits, shutdown).await
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
