//! What every request handler shares.

use crate::auth::User;
use crate::config::Config;
use crate::crs::Bbox;
use crate::store::{Store, StoreError};
use crate::zone::registry::ZoneRegistry;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Shared application state; handlers receive it as `State<AppState>`.
pub type AppState = Arc<App>;

pub struct App {
    pub config: Config,
    pub store: Store,
    pub zones: ZoneRegistry,
    pub tiles: crate::tileset::Tiles,
    /// Reports and photos (with the group-commit writer).
    pub reports: crate::report::service::ReportService,
    /// Signing in: bounded password checks and the failed-login throttle.
    pub login: crate::login::Login,
    /// Token hash → user and expiry (Unix ms), so a request does not hit SQLite to authenticate.
    pub(crate) token_cache: RwLock<HashMap<String, (crate::auth::User, Option<i64>)>>,
    /// Where this server is in the change feed of a shared database.
    pub feed: crate::feed::FeedStatus,
    /// Whether this server runs the background jobs.
    pub leader: crate::jobs::Leadership,
    /// Settings kept in the database (time limits).
    pub settings: Arc<crate::settings::Settings>,
    /// Registered webhooks and their outbox.
    pub hooks: Arc<crate::webhooks::Hooks>,
    /// Live report events for `GET /api/events`.
    pub events: crate::http::events::EventHub,
    /// Requests per client address to the public map.
    pub public_limiter: crate::public_map::Limiter,
}

/// Why a server could not open its data.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The basemap files in the geodata folder cannot be read.
    #[error("the basemap in {}: {why}", path.display())]
    Basemap {
        path: std::path::PathBuf,
        why: String,
    },
}

impl App {
    /// Opens the store in `config.data_dir`, loads the zone index, cleans up photo files left
    /// by a crash and starts the report writer.
    pub fn open(config: Config) -> Result<AppState, OpenError> {
        let location = match &config.database {
            Some(url) => crate::store::Location::Postgres(url.clone()),
            None => crate::store::Location::Sqlite(config.data_dir.clone()),
        };
        let store = Store::open_at(&location, &config.data_dir)?;
        // The statistics' daily roll-ups, cut at the city's midnight: built once on a new or
        // upgraded store (or when the offset changed), kept by every write after that.
        let offset_ms = i64::from(config.city_utc_offset_s) * 1000;
        let t0 = std::time::Instant::now();
        if store.write_sync(move |c| crate::store::rollups::ensure_built(c, offset_ms))? {
            tracing::info!(
                "built the statistics' daily roll-ups in {:.1} s",
                t0.elapsed().as_secs_f64()
            );
        }
        // Changes committed from here on are replayed from the feed, so nothing that lands
        // while the index loads is missed (replaying one already loaded is harmless).
        let feed_start = store.read_sync(|c| Ok(crate::store::changes::last_seq(c)?))?;
        let zones = ZoneRegistry::load(store.clone())?;
        let basemap = if config.geodata_dir.is_dir() {
            crate::tileset::Basemap::load(&config.geodata_dir).map_err(|why| {
                OpenError::Basemap {
                    path: config.geodata_dir.clone(),
                    why,
                }
            })?
        } else {
            crate::tileset::Basemap::default()
        };
        let cache = Arc::new(crate::tileset::TileCache::new(config.tile_cache_bytes));
        let c = cache.clone();
        zones.on_change(Box::new(move |boxes| c.invalidate(boxes)));
        let settings = Arc::new(crate::settings::Settings::load(store.clone())?);
        let hooks = Arc::new(crate::webhooks::Hooks::load(
            store.clone(),
            config.webhook_retry_base_ms,
        )?);
        zones.send_events_to(hooks.clone());
        let reports = crate::report::service::ReportService::start(
            store.clone(),
            crate::report::service::ReportSettings::from_config(&config),
            settings.clone(),
            hooks.clone(),
        )?;
        let report_points = Arc::new(crate::tileset::ReportPoints::load(
            &store,
            i64::from(config.city_utc_offset_s) * 1000,
        )?);
        let (p, c) = (report_points.clone(), cache.clone());
        reports.on_change(Box::new(move |changes| {
            p.apply(changes);
            let boxes: Vec<Bbox> = changes.iter().map(|r| Bbox::point(r.lon, r.lat)).collect();
            c.invalidate(&boxes);
        }));
        let events = crate::http::events::EventHub::new();
        reports.on_change(events.listener());
        let mut set = crate::tileset::TileSet::new(basemap);
        set.reports = Some(report_points.clone());
        set.max_points = config.tile_max_points;
        let tiles = crate::tileset::Tiles {
            set,
            cache,
            report_points,
        };
        let login = crate::login::Login::new(config.login_concurrency, config.login_throttle);
        let public_limiter = crate::public_map::Limiter::new(config.public_map_per_minute);
        let app = Arc::new(App {
            public_limiter,
            login,
            config,
            store,
            zones,
            tiles,
            reports,
            token_cache: RwLock::new(HashMap::new()),
            feed: crate::feed::FeedStatus::new(feed_start),
            leader: Default::default(),
            settings,
            hooks,
            events,
        });
        Ok(app)
    }

    /// Creates a user and an API token for them; returns the token (shown once).
    pub fn add_user(
        &self,
        username: &str,
        role: crate::auth::Role,
        password: &str,
    ) -> Result<(User, String), StoreError> {
        self.add_bound_user(username, role, &Default::default(), password)
    }

    /// Creates a user bound to an owner (`unit`) or a scope zone (`office`) and an API token
    /// for them, without the password policy (the demo's and the tests' public passwords);
    /// returns the token (shown once). Accounts made by people go through
    /// [`crate::accounts::create`].
    pub fn add_bound_user(
        &self,
        username: &str,
        role: crate::auth::Role,
        binding: &crate::store::users::Binding,
        password: &str,
    ) -> Result<(User, String), StoreError> {
        let hash = crate::auth::hash_password(password);
        let token = crate::auth::new_token();
        let th = crate::auth::token_hash(&token);
        let now = crate::time::now_ms();
        let user = self.store.write_sync(|tx| {
            let u = crate::store::users::add_bound(tx, username, role, binding, &hash, now)?;
            crate::store::users::add_token(tx, &th, u.id, "api", now, None)?;
            Ok(u)
        })?;
        Ok((user, token))
    }
}
