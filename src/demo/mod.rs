//! The Baishan (白山市) demo city: zones and seeded reports from `geodata/baishan/` and one
//! account per role.

pub mod reports;

use crate::auth::Role;
use crate::state::AppState;
use crate::store::{self, StoreError};
use std::path::Path;

/// A demo account: username, role, password, and what it is bound to.
pub struct DemoUser {
    pub username: &'static str,
    pub role: Role,
    pub password: &'static str,
    /// `unit`: the organisation it answers for.
    pub owner: Option<&'static str>,
    /// `office`: the zone it acts in.
    pub scope: Option<&'static str>,
}

const fn demo(username: &'static str, role: Role, password: &'static str) -> DemoUser {
    DemoUser {
        username,
        role,
        password,
        owner: None,
        scope: None,
    }
}

/// Demo accounts: one per role, a responsible organisation (a restaurant with open tasks in
/// the seeded reports) and a street office that sees only its own streets. The README lists
/// them.
pub const DEMO_USERS: [DemoUser; 6] = [
    demo("patrol", Role::Patrol, "patrol-2026"),
    demo("office", Role::Office, "office-2026"),
    DemoUser {
        scope: Some("street-chengnan"),
        ..demo("chengnan", Role::Office, "chengnan-2026")
    },
    DemoUser {
        owner: Some("宏达酸菜馆"),
        ..demo("unit", Role::Unit, "unit-2026")
    },
    demo("planner", Role::Planner, "planner-2026"),
    demo("admin", Role::Admin, "admin-2026"),
];

/// Errors while loading the demo.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Cli(#[from] crate::cli::CliError),
    #[error(transparent)]
    Reports(#[from] crate::demo::reports::DemoReportsError),
    #[error("the demo zones in {0} were rejected: {1}")]
    Rejected(String, String),
}

/// The settings key that marks a data folder (or database) loaded with the demo.
const DEMO_MARK: &str = "demo";

/// Demo accounts of a demo-loaded deployment that still have their public password; empty when
/// the deployment was never a demo. Such a deployment may be served on loopback addresses only.
pub fn exposed_accounts(state: &AppState) -> Result<Vec<&'static str>, StoreError> {
    let marked = state
        .store
        .read_sync(|c| Ok(store::settings::get(c, DEMO_MARK)?))?
        .is_some();
    if !marked {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for u in &DEMO_USERS {
        let found = state
            .store
            .read_sync(|c| store::users::by_name(c, u.username))?;
        if let Some((_, Some(hash))) = found {
            if crate::auth::verify_password(&hash, u.password) {
                out.push(u.username);
            }
        }
    }
    Ok(out)
}

/// Whether the data folder holds nothing yet (no users, no zones).
pub fn is_empty(state: &AppState) -> Result<bool, StoreError> {
    let users = state.store.read_sync(store::users::count)?;
    Ok(users == 0 && state.zones.index().is_empty())
}

/// Loads the demo zones and accounts into an empty data folder. Returns false (and does
/// nothing) when the folder already has data.
pub async fn load(state: &AppState, geodata: &Path) -> Result<bool, DemoError> {
    if !is_empty(state)? {
        return Ok(false);
    }
    let zones = geodata.join("zones.geojson");
    let report = crate::cli::import(
        state,
        &zones,
        None,
        true,
        "demo",
        crate::zone::registry::Indexing::Live,
    )
    .await?;
    if let Some(e) = report.rejected.first() {
        return Err(DemoError::Rejected(
            zones.display().to_string(),
            format!("feature {}: {}", e.index, e.reason),
        ));
    }
    for u in &DEMO_USERS {
        let binding = store::users::Binding {
            owner: u.owner.map(String::from),
            scope: u.scope.map(String::from),
        };
        state.add_bound_user(u.username, u.role, &binding, u.password)?;
    }
    state.store.write_sync(|c| {
        Ok(store::settings::put(
            c,
            DEMO_MARK,
            &serde_json::json!({"loaded_at": crate::time::now_ms()}),
        )?)
    })?;
    let seeded = geodata.join("reports.json");
    let reports = if seeded.exists() {
        let st = state.clone();
        tokio::task::spawn_blocking(move || crate::demo::reports::load(&st, &seeded))
            .await
            .map_err(|e| StoreError::TaskFailed(e.to_string()))??
    } else {
        tracing::warn!(path = %seeded.display(), "no seeded demo reports; the demo has none");
        0
    };
    seed_campaign(state)?;
    // The seeded reports went straight into the store; show them in the tiles.
    state.tiles.report_points.reload(&state.store)?;
    state.tiles.cache.invalidate(&[crate::crs::Bbox::WORLD]);
    tracing::info!(
        zones = report.imported,
        reports,
        "loaded the Baishan demo city"
    );
    Ok(true)
}

/// The demo campaign: "白山市城乡环境卫生百日攻坚", 100 days covering the seeded reports' span
/// (the last 90 days) and the next 9.
fn seed_campaign(state: &AppState) -> Result<(), StoreError> {
    let off = state.config.city_utc_offset_s as i64 * 1000;
    let today = crate::time::city_day(crate::time::now_ms(), off);
    let targets = store::campaigns::Targets {
        closed_share_min: 0.95,
        on_time_share_min: 0.90,
        no_recurring_hotspot_days: 30,
    };
    state.store.write_sync(|c| {
        store::campaigns::insert(
            c,
            "白山市城乡环境卫生百日攻坚",
            &crate::campaign::date_string(today - 90),
            &crate::campaign::date_string(today + 9),
            &targets,
            "demo",
        )?;
        Ok(())
    })
}
