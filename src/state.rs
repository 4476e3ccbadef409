//! What every request handler shares.

use crate::auth::User;
use crate::config::Config;
use crate::registry::ZoneRegistry;
use crate::store::{Store, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Shared application state; handlers receive it as `State<AppState>`.
pub type AppState = Arc<App>;

pub struct App {
    pub config: Config,
    pub store: Store,
    pub zones: ZoneRegistry,
    pub tiles: crate::tileset::Tiles,
    /// Token hash → user and expiry (Unix ms), so a request does not hit SQLite to authenticate.
    pub(crate) token_cache: RwLock<HashMap<String, (crate::auth::User, Option<i64>)>>,
}

impl App {
    /// Opens the store in `config.data_dir` and loads the zone index.
    pub fn open(config: Config) -> Result<AppState, StoreError> {
        let store = Store::open(&config.data_dir)?;
        let zones = ZoneRegistry::load(store.clone())?;
        let basemap = if config.geodata_dir.is_dir() {
            crate::tileset::Basemap::load(&config.geodata_dir).map_err(StoreError::Corrupt)?
        } else {
            crate::tileset::Basemap::default()
        };
        let cache = Arc::new(crate::tileset::TileCache::new(config.tile_cache_bytes));
        let c = cache.clone();
        zones.on_change(Box::new(move |boxes| c.invalidate(boxes)));
        let tiles = crate::tileset::Tiles {
            set: crate::tileset::TileSet::new(basemap),
            cache,
        };
        Ok(Arc::new(App {
            config,
            store,
            zones,
            tiles,
            token_cache: RwLock::new(HashMap::new()),
        }))
    }

    /// Creates a user and an API token for them; returns the token (shown once).
    pub fn add_user(
        &self,
        username: &str,
        role: crate::auth::Role,
        password: &str,
    ) -> Result<(User, String), StoreError> {
        let hash = crate::auth::hash_password(password);
        let token = crate::auth::new_token();
        let th = crate::auth::token_hash(&token);
        let now = crate::time::now_ms();
        let user = self.store.write_sync(|tx| {
            let u = crate::store::users::add(tx, username, role, &hash, now)?;
            crate::store::users::add_token(tx, &th, u.id, "api", now, None)?;
            Ok(u)
        })?;
        Ok((user, token))
    }
}
