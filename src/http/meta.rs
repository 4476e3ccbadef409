//! `GET /api/meta`: what the web client needs to know about the domain, stated once by the
//! server — categories, zone kinds and sectors with their map colours, report statuses, who may
//! change a status to what, limits, and the time-limit stages.

use super::auth::Auth;
use crate::auth::Role;
use crate::deadlines::Stage;
use crate::report::{Category, Status};
use crate::state::AppState;
use crate::tileset::style::{kind_colour, sector_colour, status_colour};
use crate::zone::{Sector, ZoneKind};
use axum::extract::State;
use axum::Json;
use serde_json::{json, Map, Value};

/// `GET /api/meta` (any signed-in user).
pub async fn meta(State(state): State<AppState>, _auth: Auth) -> Json<Value> {
    let settings = &state.reports.settings;
    Json(json!({
        "categories": Category::ALL.map(|c| json!({
            "id": c, "zh": c.label_zh(), "en": c.label_en(),
        })),
        "zone_kinds": ZoneKind::ALL.map(|k| json!({
            "id": k, "zh": k.label_zh(), "en": k.label_en(), "colour": kind_colour(k),
            "is_route": k.is_route(), "requires_owner": k.requires_owner(),
        })),
        "sectors": Sector::ALL.map(|s| json!({
            "id": s, "zh": s.label_zh(), "en": s.label_en(), "colour": sector_colour(s),
        })),
        "statuses": Status::ALL.map(|s| json!({
            "id": s, "zh": s.label_zh(), "en": s.label_en(), "colour": status_colour(s),
            "open": s.is_open(), "stage": Stage::of(s),
        })),
        "transitions": transitions(),
        "limits": {
            "max_photos": settings.max_photos,
            "max_photo_bytes": settings.photo.max_bytes,
            "max_note_chars": settings.max_note_chars,
            "exif_warn_m": state.config.exif_warn_m,
            "gap_width_m": state.config.gap_width_m,
            "snap_px": state.config.snap_px,
        },
        "stages": Stage::ALL.map(|s| json!({
            "id": s, "zh": s.label_zh(), "en": s.label_en(),
            "statuses": Status::ALL.into_iter().filter(|&st| Stage::of(st) == Some(s)).collect::<Vec<_>>(),
        })),
    }))
}

/// `{role: {from: [to, …]}}` for every role, from [`Status::next_for`]; a role that may change
/// nothing (planner) maps to `{}`.
fn transitions() -> Value {
    let mut by_role = Map::new();
    for role in Role::ALL {
        let mut from = Map::new();
        for s in Status::ALL {
            let to: Vec<Status> = s.next_for(role).collect();
            if !to.is_empty() {
                from.insert(s.as_str().into(), json!(to));
            }
        }
        by_role.insert(role.as_str().into(), Value::Object(from));
    }
    Value::Object(by_role)
}
