//! Xuncha (巡查): geospatial field inspection for a city's sanitation campaign.
//!
//! Responsibility zones (门前三包), grid cells (网格), patrol routes, hotspots and green-adoption
//! areas are stored in SQLite, held in an R-tree with prepared polygons, and matched against
//! the points where patrols find dirt. Coordinates are WGS84 `[lon, lat]` everywhere; distances
//! are metres.
//!
//! # Layout
//! Zones and where they are:
//! - [`zone`]: `Zone`, `ZoneKind`, `Owner`, `Sector`; GeoJSON parsing (whole documents and
//!   streamed features) and OGC validation; the gap check between neighbours;
//!   [`zone::registry`] the store and the index kept in step (edits swap in a new snapshot);
//!   [`zone::responsibility`] who answers for a point (三包 zone, adoption, nearest, grid).
//! - [`index`]: `ZoneIndex`: a cell index, packed R-trees and prepared polygons behind
//!   `match_point`; edits go to an overlay that the registry compacts in the background.
//! - [`crs`]: [`crs::Bbox`] (a WGS84 box), [`crs::gcj02`] (GCJ-02 → WGS84 at the edge),
//!   [`crs::geodesy`] (metres on the ground: a local projection on the WGS84 ellipsoid).
//!
//! Reports and their life:
//! - [`report`]: `Category`, `Status` and the table of allowed status changes;
//!   [`report::workflow`] the checks and events of a change; [`report::service`] submitting
//!   and changing reports, the group-commit writer; [`report::photo`] sniff, decode with
//!   limits, orient, strip metadata, resize, EXIF GPS and time; [`report::view`] a report as
//!   the API shows it, with its photos' URLs.
//! - [`deadlines`]: time limits per stage and category; [`settings`] database-held settings.
//! - [`scope`]: which reports a user may see.
//! - [`webhooks`]: webhooks fed by a durable outbox; [`audit`] one row per write.
//! - [`patrol`]: route segments, coverage, check-in points, schedule windows;
//!   [`patrol::service`] patrol tracks (start, points, end), coverage and missed windows.
//! - [`campaign`]: campaigns (百日攻坚): validation, writes and the summary (days left, daily
//!   chart with burn-down, target progress, 红黑榜); [`campaign::bulletin`] the weekly bulletin
//!   as A4 HTML and PNG pages.
//! - [`analytics`]: statistics, hotspot detection, heatmap tiles, work orders
//!   ([`analytics::workorder`]: gathering, `map`, `sheet`, `html`) and the CPU drawing they share.
//! - [`public_map`]: the opt-in anonymous map (随手拍).
//!
//! Tiles and standards:
//! - [`tileset`]: which features go into a vector tile; the tile cache; TileJSON and style;
//!   [`tileset::pack`] offline map packs; [`tileset::export`] PMTiles v3 archives.
//! - [`features`]: zones and reports as OGC API – Features collections with flat columns.
//! - [`open311`]: report categories as Open311 GeoReport v2 services, reports as requests.
//!
//! Serving, accounts and storage:
//! - [`http`]: the axum router, one file per resource, `ApiError`; [`http::extract`] the typed
//!   extractors (`MvtTile`, `PngTile`, `LonLat`, `QueryParams`); [`http::params`] query
//!   parameters; [`http::guard`] the CSRF, body and security-header layers; `http::ogc` (OGC
//!   API – Features under `/ogc`) and `http::open311` (GeoReport v2 under `/open311/v2`).
//! - [`serve`]: the connection loop (hyper-util) with header, body and idle timeouts and a
//!   connection cap.
//! - [`auth`]: roles, password hashes, sessions and tokens; [`login`] signing in (bounded
//!   hashing, throttling); [`sessions`] token lookup and sign-out; [`accounts`] user
//!   management.
//! - [`problem`]: `Problem`, a client mistake with a stable machine code and parameters
//!   (what `ApiError` sends as `code`/`params`).
//! - [`store`]: SQLite and PostgreSQL behind one synchronous interface (migrations, zones,
//!   reports, photos, users, statistics, patrols, campaigns, the change feed's table).
//! - [`feed`]: following the shared database's change feed (several servers behave as one);
//!   [`jobs`] background work run by one leader.
//! - [`state`]: what every handler shares; [`config`] server settings; [`time`] timestamps.
//! - [`cli`]: the work behind `xuncha import|export|match|user|token`; [`migrate`] copying a
//!   deployment between stores; [`backup`] online backup and restore of a SQLite deployment.
//! - [`demo`]: the Baishan demo city from `geodata/`; [`demo::reports`] its seeded reports.

#![forbid(unsafe_code)]

pub mod accounts;
pub mod analytics;
pub mod audit;
pub mod auth;
pub mod background;
pub mod backup;
pub mod campaign;
pub mod cli;
pub mod config;
pub mod crs;
pub mod deadlines;
pub mod demo;
pub mod features;
pub mod feed;
pub mod http;
pub mod index;
pub mod jobs;
pub mod login;
pub mod migrate;
pub mod open311;
pub mod patrol;
pub mod problem;
pub mod public_map;
pub mod report;
pub mod scope;
pub mod serve;
pub mod sessions;
pub mod settings;
pub mod state;
pub mod store;
pub mod tileset;
pub mod time;
pub mod webhooks;
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
