//! Settings kept in the database, so every server uses the same: the time limits of each stage
//! per category. Cached in memory; another server's change arrives through the change feed.

use crate::audit::Actor;
use crate::deadlines::TimeLimits;
use crate::store::changes::{self, ChangeKind};
use crate::store::{self, Conn, Store, StoreError};
use std::sync::RwLock;

const TIME_LIMITS: &str = "time_limits";

pub struct Settings {
    store: Store,
    time_limits: RwLock<TimeLimits>,
}

impl Settings {
    /// Loads the stored settings (defaults where none are stored).
    pub fn load(store: Store) -> Result<Self, StoreError> {
        let s = Settings {
            store,
            time_limits: RwLock::new(TimeLimits::default()),
        };
        s.reload()?;
        Ok(s)
    }

    /// Reads the settings again (another server changed them).
    pub fn reload(&self) -> Result<(), StoreError> {
        let stored = self
            .store
            .read_sync(|c| Ok(store::settings::get(c, TIME_LIMITS)?))?;
        let limits = stored
            .and_then(|v| serde_json::from_value::<TimeLimits>(v).ok())
            .unwrap_or_default();
        *self.time_limits.write().unwrap_or_else(|e| e.into_inner()) = limits;
        Ok(())
    }

    pub fn time_limits(&self) -> TimeLimits {
        self.time_limits
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Stores new time limits (validated; audited with before and after); new stages use them,
    /// stages already running keep the due time they got.
    pub fn set_time_limits(
        &self,
        actor: &Actor,
        limits: TimeLimits,
    ) -> Result<Result<TimeLimits, String>, StoreError> {
        if let Err(e) = limits.validate() {
            return Ok(Err(e));
        }
        let before = self.time_limits();
        let v = serde_json::to_value(&limits).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let origin = self.store.origin().to_string();
        self.store.write_sync(|c: &dyn Conn| {
            store::settings::put(c, TIME_LIMITS, &v)?;
            changes::record(
                c,
                &origin,
                ChangeKind::Settings,
                TIME_LIMITS,
                crate::time::now_ms(),
            )?;
            crate::audit::record(
                c,
                actor,
                "settings.time_limits",
                Some(TIME_LIMITS),
                serde_json::json!({"before": before, "after": v}),
            )?;
            Ok(())
        })?;
        *self.time_limits.write().unwrap_or_else(|e| e.into_inner()) = limits.clone();
        Ok(Ok(limits))
    }
}
