//! Patrols as a service: starting, uploading points, ending, listing, route coverage and the
//! flagging of missed schedule windows. Handlers call these from a blocking task.

use crate::audit::Actor;
use crate::auth::{Role, User};
use crate::patrol::{self, Checkpoint, RouteSegments};
use crate::state::App;
use crate::store::patrols::{self as db, PatrolRow, PointRow};
use crate::store::{self, Conn, StoreError};
use crate::zone::{Zone, ZoneGeometry, ZoneKind};
use serde_json::{json, Value};
use std::sync::Arc;

use crate::time::{city_day, city_midnight, DAY_MS};
const SETTINGS_KEY: &str = "patrols";

#[derive(Debug, thiserror::Error)]
pub enum PatrolError {
    #[error("{0}")]
    BadInput(String, &'static str, Value),
    #[error("patrol {0:?} does not exist; PUT /api/patrols/{0} first")]
    NotFound(String),
    #[error("patrol {0:?} belongs to another user; make a new id")]
    NotYours(String),
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<crate::store::db::DbError> for PatrolError {
    fn from(e: crate::store::db::DbError) -> Self {
        PatrolError::Store(e.into())
    }
}

type Result<T> = std::result::Result<T, PatrolError>;

fn bad(msg: impl Into<String>, code: &'static str, params: Value) -> PatrolError {
    PatrolError::BadInput(msg.into(), code, params)
}

/// The settings of patrols (admin can change them).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PatrolSettings {
    pub patrol_max_accuracy_m: f64,
    pub patrol_coverage_min: f64,
}

impl Default for PatrolSettings {
    fn default() -> Self {
        PatrolSettings {
            patrol_max_accuracy_m: patrol::DEFAULT_MAX_ACCURACY_M,
            patrol_coverage_min: patrol::DEFAULT_COVERAGE_MIN,
        }
    }
}

impl PatrolSettings {
    pub fn validate(&self) -> std::result::Result<(), String> {
        if !(self.patrol_max_accuracy_m > 0.0 && self.patrol_max_accuracy_m <= 1000.0) {
            return Err("patrol_max_accuracy_m must be in (0, 1000] metres".into());
        }
        if !(0.0..=1.0).contains(&self.patrol_coverage_min) {
            return Err("patrol_coverage_min must be a share in [0, 1]".into());
        }
        Ok(())
    }
}

/// The stored patrol settings (defaults where none are stored).
pub fn settings(c: &dyn Conn) -> crate::store::db::DbResult<PatrolSettings> {
    Ok(store::settings::get(c, SETTINGS_KEY)?
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default())
}

/// The patrol settings in force.
pub fn current_settings(app: &App) -> Result<PatrolSettings> {
    Ok(app.store.read_sync(|c| Ok(settings(c)?))?)
}

/// Stores new settings (validated, audited).
pub fn set_settings(app: &App, actor: &Actor, s: PatrolSettings) -> Result<PatrolSettings> {
    s.validate()
        .map_err(|e| bad(e, "bad_patrol_settings", json!({})))?;
    app.store.write_sync(|c| {
        let before = settings(c)?;
        store::settings::put(c, SETTINGS_KEY, &json!(s))?;
        crate::audit::record(
            c,
            actor,
            "settings.patrols",
            Some(SETTINGS_KEY),
            json!({"before": before, "after": s}),
        )?;
        Ok(())
    })?;
    Ok(s)
}

fn is_valid_id(id: &str) -> bool {
    (8..=64).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn check_id(id: &str) -> Result<()> {
    if is_valid_id(id) {
        Ok(())
    } else {
        Err(bad(
            format!("patrol id {id:?} must be 8–64 characters of A-Z a-z 0-9 -, e.g. a UUID"),
            "bad_patrol_id",
            json!({"id": id}),
        ))
    }
}

fn time(s: &str, field: &str) -> Result<i64> {
    crate::time::parse_rfc3339(s)
        .map_err(|e| bad(format!("{field}: {e}"), "bad_time", json!({"field": field})))
}

/// A live patrol route by id.
fn route_zone(app: &App, id: &str) -> Option<Arc<Zone>> {
    let z = app.zones.index().get(id)?.zone.clone();
    (z.is_live() && z.kind == ZoneKind::PatrolRoute).then_some(z)
}

/// The JSON of a patrol.
pub fn patrol_json(p: &PatrolRow, distance_m: f64) -> Value {
    json!({
        "id": p.id,
        "user": p.username,
        "route": p.route,
        "started_at": crate::time::to_rfc3339(p.started_at),
        "ended_at": p.ended_at.map(crate::time::to_rfc3339),
        "points": p.points,
        "distance_m": (distance_m * 10.0).round() / 10.0,
    })
}

fn distance(points: &[PointRow]) -> f64 {
    points
        .windows(2)
        .map(|w| patrol::distance_m((w[0].lon, w[0].lat), (w[1].lon, w[1].lat)))
        .sum()
}

fn with_distance(c: &dyn Conn, p: &PatrolRow) -> Result<Value> {
    let pts = db::points(c, &p.id)?;
    Ok(patrol_json(p, distance(&pts)))
}

/// Starts patrol `id` (first write wins): `(created, record)`.
pub fn start(
    app: &App,
    actor: &Actor,
    user: &User,
    id: &str,
    body: &Value,
) -> Result<(bool, Value)> {
    check_id(id)?;
    let route = match body.get("route") {
        None | Some(Value::Null) => None,
        Some(Value::String(r)) => Some(r.clone()),
        Some(_) => {
            return Err(bad(
                "route must be a patrol_route zone id or null (free patrol)",
                "bad_route",
                json!({}),
            ))
        }
    };
    if let Some(r) = &route {
        if route_zone(app, r).is_none() {
            return Err(bad(
                format!("route {r:?} is not a live patrol_route zone; use one of GET /api/zones?kind=patrol_route or null"),
                "unknown_route",
                json!({"route": r}),
            ));
        }
    }
    let started_at = match body.get("started_at").and_then(Value::as_str) {
        Some(s) => time(s, "started_at")?,
        None => {
            return Err(bad(
                "started_at (RFC 3339) is required",
                "bad_time",
                json!({"field": "started_at"}),
            ))
        }
    };
    let row = PatrolRow {
        id: id.to_string(),
        user_id: user.id,
        username: user.username.clone(),
        route,
        started_at,
        ended_at: None,
        points: 0,
    };
    let (id, user_id) = (id.to_string(), user.id);
    let actor = actor.clone();
    app.store.write_sync(move |c| {
        let created = db::insert(c, &row, crate::time::now_ms())?;
        let stored =
            db::get(c, &id)?.ok_or_else(|| StoreError::Corrupt("patrol vanished".into()))?;
        if stored.user_id != user_id {
            return Ok(Err(PatrolError::NotYours(id)));
        }
        if created {
            crate::audit::record(
                c,
                &actor,
                "patrol.start",
                Some(&id),
                json!({"route": stored.route, "started_at": crate::time::to_rfc3339(started_at)}),
            )?;
        }
        Ok(Ok((
            created,
            with_distance(c, &stored).map_err(|e| match e {
                PatrolError::Store(s) => s,
                other => StoreError::Corrupt(other.to_string()),
            })?,
        )))
    })?
}

/// A patrol that `user` may see (a patrol sees its own only; others: not found).
fn visible(c: &dyn Conn, user: &User, id: &str) -> Result<PatrolRow> {
    let p = db::get(c, id)?.ok_or_else(|| PatrolError::NotFound(id.to_string()))?;
    if user.role == Role::Patrol && p.user_id != user.id {
        return Err(PatrolError::NotFound(id.to_string()));
    }
    Ok(p)
}

/// Ends patrol `id` (first end wins).
pub fn end(app: &App, actor: &Actor, user: &User, id: &str, body: &Value) -> Result<Value> {
    let ended_at = match body.get("ended_at").and_then(Value::as_str) {
        Some(s) => time(s, "ended_at")?,
        None => {
            return Err(bad(
                "ended_at (RFC 3339) is required",
                "bad_time",
                json!({"field": "ended_at"}),
            ))
        }
    };
    let (user, id, actor) = (user.clone(), id.to_string(), actor.clone());
    app.store.write_sync(move |c| {
        let r = (|| -> Result<Value> {
            let p = visible(c, &user, &id)?;
            if p.user_id != user.id {
                return Err(PatrolError::NotYours(id.clone()));
            }
            if ended_at < p.started_at {
                return Err(bad(
                    "ended_at is before started_at",
                    "end_before_start",
                    json!({}),
                ));
            }
            if db::end(c, &id, ended_at)? {
                crate::audit::record(
                    c,
                    &actor,
                    "patrol.end",
                    Some(&id),
                    json!({"ended_at": crate::time::to_rfc3339(ended_at)}),
                )?;
            }
            let p = db::get(c, &id)?.ok_or_else(|| PatrolError::NotFound(id.clone()))?;
            with_distance(c, &p)
        })();
        Ok(r)
    })?
}

fn reject(out: &mut Vec<Value>, seq: Value, code: &str, reason: String) {
    out.push(json!({"seq": seq, "code": code, "reason": reason}));
}

/// One point as sent.
#[derive(Debug, serde::Deserialize)]
struct InPoint {
    seq: i64,
    t: String,
    lon: f64,
    lat: f64,
    accuracy_m: f64,
}

/// Adds a batch of points: `{"accepted", "duplicates", "rejected", "checkins"}`.
pub fn add_points(app: &App, user: &User, id: &str, body: &Value) -> Result<Value> {
    let Some(list) = body.get("points").and_then(Value::as_array) else {
        return Err(bad(
            "send {\"points\": [{\"seq\", \"t\", \"lon\", \"lat\", \"accuracy_m\"}, …]}",
            "bad_points",
            json!({}),
        ));
    };
    if list.len() > patrol::MAX_POINTS_PER_BATCH {
        return Err(bad(
            format!(
                "{} points in one request; send at most {}",
                list.len(),
                patrol::MAX_POINTS_PER_BATCH
            ),
            "too_many_points",
            json!({"max": patrol::MAX_POINTS_PER_BATCH}),
        ));
    }
    let mut rejected: Vec<Value> = Vec::new();
    let mut valid: Vec<(PointRow, f64)> = Vec::new();
    for v in list {
        let seq = v.get("seq").cloned().unwrap_or(Value::Null);
        let p: InPoint = match serde_json::from_value(v.clone()) {
            Ok(p) => p,
            Err(e) => {
                reject(&mut rejected, seq, "bad_point", format!("a point is {{\"seq\": integer, \"t\": RFC 3339, \"lon\", \"lat\", \"accuracy_m\"}}: {e}"));
                continue;
            }
        };
        if p.seq < 0 {
            reject(&mut rejected, seq, "bad_point", "seq must be ≥ 0".into());
            continue;
        }
        let Ok(t) = crate::time::parse_rfc3339(&p.t) else {
            reject(
                &mut rejected,
                seq,
                "bad_time",
                format!("t {:?} is not RFC 3339", p.t),
            );
            continue;
        };
        if !(-180.0..=180.0).contains(&p.lon) || !(-90.0..=90.0).contains(&p.lat) {
            reject(
                &mut rejected,
                seq,
                "bad_coordinates",
                format!("lon {} lat {} are not WGS84 degrees", p.lon, p.lat),
            );
            continue;
        }
        if p.accuracy_m.is_nan() || p.accuracy_m < 0.0 {
            reject(
                &mut rejected,
                seq,
                "bad_point",
                "accuracy_m must be ≥ 0 metres".into(),
            );
            continue;
        }
        valid.push((
            PointRow {
                seq: p.seq,
                t,
                lon: p.lon,
                lat: p.lat,
            },
            p.accuracy_m,
        ));
    }
    if !list.is_empty() && list.iter().all(|v| !v.is_object()) {
        return Err(bad(
            "no point in the batch is an object",
            "bad_points",
            json!({}),
        ));
    }
    valid.sort_by_key(|(p, _)| (p.t, p.seq));
    let (user, id) = (user.clone(), id.to_string());
    let checkpoints_of = |route: &Option<String>| -> Vec<Checkpoint> {
        route
            .as_deref()
            .and_then(|r| route_zone(app, r))
            .and_then(|z| patrol::parse_checkpoints(z.properties.get("checkpoints")).ok())
            .unwrap_or_default()
    };
    let p0 = app.store.read_sync(|c| Ok(db::get(c, &id)?))?;
    let Some(p0) = p0 else {
        return Err(PatrolError::NotFound(id));
    };
    let cps = checkpoints_of(&p0.route);
    app.store.write_sync(move |c| {
        let r = (|| -> Result<Value> {
            let p = visible(c, &user, &id)?;
            if p.user_id != user.id {
                return Err(PatrolError::NotYours(id.clone()));
            }
            let max_acc = settings(c)?.patrol_max_accuracy_m;
            let mut known = db::points(c, &id)?;
            let seqs: std::collections::HashSet<i64> = known.iter().map(|k| k.seq).collect();
            let (mut accepted, mut duplicates) = (0, 0);
            let mut checkins = Vec::new();
            let mut batch_seqs = std::collections::HashSet::new();
            for (pt, acc) in valid {
                let seq = json!(pt.seq);
                if seqs.contains(&pt.seq) || !batch_seqs.insert(pt.seq) {
                    duplicates += 1;
                    continue;
                }
                if acc > max_acc {
                    reject(&mut rejected, seq, "poor_accuracy", format!("accuracy {acc} m is worse than {max_acc} m"));
                    continue;
                }
                if pt.t < p.started_at {
                    reject(&mut rejected, seq, "before_start", "t is before the patrol started".into());
                    continue;
                }
                if p.ended_at.is_some_and(|e| pt.t > e) {
                    reject(&mut rejected, seq, "after_end", "t is after the patrol ended".into());
                    continue;
                }
                // The previous accepted point in time order.
                let at = known.partition_point(|k| (k.t, k.seq) < (pt.t, pt.seq));
                if let Some(prev) = at.checked_sub(1).map(|i| known[i]) {
                    let d = patrol::distance_m((prev.lon, prev.lat), (pt.lon, pt.lat));
                    let dt = (pt.t - prev.t) as f64 / 1000.0;
                    if d > 0.0 && (dt <= 0.0 || d / dt > patrol::MAX_SPEED_MPS) {
                        reject(&mut rejected, seq, "impossible_jump", format!(
                            "{d:.0} m in {dt:.1} s from point {} is faster than {} m/s",
                            prev.seq, patrol::MAX_SPEED_MPS
                        ));
                        continue;
                    }
                }
                if !db::insert_point(c, &id, &pt, acc)? {
                    duplicates += 1;
                    continue;
                }
                known.insert(at, pt);
                accepted += 1;
                for (i, cp) in cps.iter().enumerate() {
                    if patrol::distance_m((cp.lon, cp.lat), (pt.lon, pt.lat)) <= cp.radius_m {
                        let key = format!("{i}");
                        if db::insert_checkin(c, &id, &key, &cp.name, pt.t)? {
                            checkins.push(json!({"checkpoint": key, "name": cp.name, "at": crate::time::to_rfc3339(pt.t)}));
                        }
                    }
                }
            }
            Ok(json!({"accepted": accepted, "duplicates": duplicates, "rejected": rejected, "checkins": checkins}))
        })();
        Ok(r)
    })?
}

/// A patrol with its track.
pub fn get(app: &App, user: &User, id: &str) -> Result<Value> {
    let (user, id) = (user.clone(), id.to_string());
    app.store.read_sync(move |c| {
        Ok((|| -> Result<Value> {
            let p = visible(c, &user, &id)?;
            let pts = db::points(c, &id)?;
            let mut v = patrol_json(&p, distance(&pts));
            v["track"] = json!({
                "type": "LineString",
                "coordinates": pts.iter().map(|p| [p.lon, p.lat]).collect::<Vec<_>>(),
            });
            v["checkins"] = json!(db::checkins(c, None, Some(&id), i64::MIN / 2, i64::MAX / 2)?
                .iter()
                .map(|k| json!({"checkpoint": k.checkpoint, "name": k.name, "at": crate::time::to_rfc3339(k.at)}))
                .collect::<Vec<_>>());
            Ok(v)
        })())
    })?
}

/// `[start, end)` in Unix ms of the city day `date` (YYYY-MM-DD).
pub fn day_range(app: &App, date: &str) -> Result<(i64, i64)> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(date, &fmt).map_err(|_| {
        bad(
            format!("date {date:?} must be YYYY-MM-DD"),
            "bad_date",
            json!({"value": date}),
        )
    })?;
    let utc_midnight = d.midnight().assume_utc().unix_timestamp() * 1000;
    let start = utc_midnight - app.config.city_utc_offset_s as i64 * 1000;
    Ok((start, start + DAY_MS))
}

/// Patrols of a city day (or all), of a route, mine only; a patrol sees its own only.
pub fn list(
    app: &App,
    user: &User,
    date: Option<&str>,
    route: Option<&str>,
    mine: bool,
) -> Result<Value> {
    let range = date.map(|d| day_range(app, d)).transpose()?;
    let only = (mine || user.role == Role::Patrol).then_some(user.id);
    let route = route.map(str::to_string);
    let rows = app.store.read_sync(move |c| {
        Ok(db::list(
            c,
            range.map(|r| r.0),
            range.map(|r| r.1),
            route.as_deref(),
            only,
            5000,
        )?)
    })?;
    let out: Vec<Value> = app.store.read_sync(|c| {
        rows.iter()
            .map(|p| Ok(patrol_json(p, distance(&db::points(c, &p.id)?))))
            .collect::<std::result::Result<_, StoreError>>()
    })?;
    Ok(Value::Array(out))
}

/// Whether an office user may see `route`: unscoped offices and admins see every route; an
/// office bound to a zone sees the routes whose centreline intersects that zone.
fn route_in_scope(app: &App, user: &User, route: &Zone) -> bool {
    use geo::Intersects;
    let Some(scope) = (user.role == Role::Office)
        .then_some(user.scope.as_ref())
        .flatten()
    else {
        return true;
    };
    let Some(s) = app.zones.index().get(scope).map(|z| z.zone.clone()) else {
        return false;
    };
    match (&route.geometry, &s.geometry) {
        (ZoneGeometry::Route { line, .. }, ZoneGeometry::Area(a)) => line.intersects(a),
        _ => false,
    }
}

/// One schedule window of a day.
struct Window {
    label: String,
    start: i64,
    end: i64,
}

fn windows(route: &Zone, day_start: i64) -> Vec<Window> {
    let sched = route
        .properties
        .get("schedule")
        .and_then(Value::as_str)
        .unwrap_or("");
    let times = patrol::schedule_times(sched);
    times
        .iter()
        .enumerate()
        .map(|(i, (label, min))| Window {
            label: label.clone(),
            start: day_start + min * 60_000,
            end: times
                .get(i + 1)
                .map_or(day_start + DAY_MS, |n| day_start + n.1 * 60_000),
        })
        .collect()
}

/// Coverage of `route` on city day `date` as JSON.
pub fn coverage(app: &App, user: &User, route_id: &str, date: &str) -> Result<Value> {
    let (from, to) = day_range(app, date)?;
    let Some(route) = route_zone(app, route_id).filter(|z| route_in_scope(app, user, z)) else {
        return Err(bad(
            format!("route {route_id:?} is not a live patrol_route you may see"),
            "unknown_route",
            json!({"route": route_id}),
        ));
    };
    let segs =
        RouteSegments::of(&route).ok_or_else(|| bad("not a route", "unknown_route", json!({})))?;
    let rid = route_id.to_string();
    let d = date.to_string();
    let (pts, checkins, missed, min) = app.store.read_sync(move |c| {
        Ok((
            db::route_points(c, &rid, from, to)?,
            db::checkins(c, Some(&rid), None, from, to)?,
            db::missed(c, &rid, &d)?,
            settings(c)?.patrol_coverage_min,
        ))
    })?;
    let walks = patrol::coverage(
        &segs,
        pts.iter().map(|p| (p.username.as_str(), p.t, p.lon, p.lat)),
    );
    let n = segs.len().max(1) as f64;
    let walked = walks.iter().filter(|w| w.is_some()).count();
    let wins: Vec<Value> = windows(&route, from)
        .into_iter()
        .map(|w| {
            let s = patrol::share(
                &segs,
                pts.iter()
                    .filter(|p| p.t >= w.start && p.t < w.end)
                    .map(|p| (p.lon, p.lat)),
            );
            json!({
                "label": w.label,
                "start": crate::time::to_rfc3339(w.start),
                "end": crate::time::to_rfc3339(w.end),
                "share": s,
                "met": s >= min,
                "missed": missed.contains(&w.label),
            })
        })
        .collect();
    let mut users: Vec<&str> = pts.iter().map(|p| p.username.as_str()).collect();
    users.sort_unstable();
    users.dedup();
    let teams: Vec<Value> = users
        .iter()
        .map(|u| {
            let mine: Vec<_> = pts.iter().filter(|p| p.username == *u).collect();
            json!({
                "user": u,
                "share": patrol::share(&segs, mine.iter().map(|p| (p.lon, p.lat))),
                "first_at": mine.first().map(|p| crate::time::to_rfc3339(p.t)),
                "last_at": mine.last().map(|p| crate::time::to_rfc3339(p.t)),
                "points": mine.len(),
            })
        })
        .collect();
    let features: Vec<Value> = segs
        .lonlat
        .iter()
        .zip(&walks)
        .enumerate()
        .map(|(i, (line, w))| {
            json!({
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": line},
                "properties": {
                    "i": i,
                    "walked": w.is_some(),
                    "first_at": w.as_ref().map(|w| crate::time::to_rfc3339(w.first_at)),
                    "by": w.as_ref().map(|w| w.by.clone()),
                }
            })
        })
        .collect();
    let width_m = match &route.geometry {
        ZoneGeometry::Route { width_m, .. } => *width_m,
        _ => 0.0,
    };
    Ok(json!({
        "route": {
            "id": route.id, "name": route.name, "width_m": width_m,
            "length_m": (segs.length_m * 10.0).round() / 10.0,
            "schedule": route.properties.get("schedule"),
        },
        "date": date,
        "segment_m": patrol::SEGMENT_M,
        "segments_total": segs.len(),
        "segments_walked": walked,
        "share": walked as f64 / n,
        "threshold": min,
        "windows": wins,
        "teams": teams,
        "checkins": checkins.iter().map(|k| json!({"checkpoint": k.checkpoint, "name": k.name, "user": k.username, "at": crate::time::to_rfc3339(k.at)})).collect::<Vec<_>>(),
        "segments": {"type": "FeatureCollection", "features": features},
    }))
}

/// Every live route the user may see, with its coverage summary on `date`.
pub fn coverage_summary(app: &App, user: &User, date: &str) -> Result<Value> {
    day_range(app, date)?;
    let idx = app.zones.index();
    let mut ids: Vec<String> = idx
        .iter()
        .filter(|z| z.zone.is_live() && z.zone.kind == ZoneKind::PatrolRoute)
        .filter(|z| route_in_scope(app, user, &z.zone))
        .map(|z| z.zone.id.clone())
        .collect();
    ids.sort();
    let mut out = Vec::new();
    for id in ids {
        let mut c = coverage(app, user, &id, date)?;
        if let Some(o) = c.as_object_mut() {
            o.remove("segments");
        }
        out.push(c);
    }
    Ok(Value::Array(out))
}

/// One team (user) on one route over a campaign window.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TeamCoverage {
    pub user: String,
    /// City days with at least one accepted point of this team on the route.
    pub days: usize,
    pub points: usize,
    /// Mean of the team's own daily coverage share over the days it patrolled.
    pub mean_share: f64,
    pub checkins: usize,
}

/// One route over a campaign window.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RouteCoverage {
    pub id: String,
    pub name: String,
    /// Campaign days so far (start to today or the end, whichever comes first).
    pub days: usize,
    /// Days whose coverage by all teams together reached the threshold.
    pub days_met: usize,
    /// Mean daily coverage share over `days` (a day nobody walked counts 0).
    pub mean_share: f64,
    /// Schedule windows flagged as missed on those days.
    pub missed_windows: i64,
    pub teams: Vec<TeamCoverage>,
}

/// Patrol coverage of a campaign: every live route the user may see, over its days so far.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CampaignCoverage {
    pub threshold: f64,
    pub routes: Vec<RouteCoverage>,
}

/// Three decimals, and never `-0` (an empty `sum` of floats is `-0.0`).
fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0 + 0.0
}

/// Patrol coverage per route and team over the city days `first..=last` of `range` (`None`:
/// a campaign not begun, every route with no day yet): one read of the routes' accepted points
/// of those days, shares computed per day.
pub fn campaign_coverage(
    app: &App,
    user: &User,
    range: Option<(i64, i64)>,
) -> Result<CampaignCoverage> {
    let (first, last) = range.unwrap_or((1, 0));
    let off = app.config.city_utc_offset_s as i64 * 1000;
    let day_of = |t: i64| city_day(t, off);
    let (from, to) = (city_midnight(first, off), city_midnight(last + 1, off));
    let days = (last - first + 1).max(0) as usize;
    let idx = app.zones.index();
    let mut routes: Vec<Arc<Zone>> = idx
        .iter()
        .filter(|z| z.zone.is_live() && z.zone.kind == ZoneKind::PatrolRoute)
        .filter(|z| route_in_scope(app, user, &z.zone))
        .map(|z| z.zone.clone())
        .collect();
    routes.sort_by(|a, b| a.id.cmp(&b.id));
    let threshold = app
        .store
        .read_sync(|c| Ok(settings(c)?.patrol_coverage_min))?;
    let (d0, d1) = (
        crate::campaign::date_string(first),
        crate::campaign::date_string(last),
    );
    let mut out = Vec::new();
    for route in routes {
        let Some(segs) = RouteSegments::of(&route) else {
            continue;
        };
        let rid = route.id.clone();
        let (pts, checkins, missed) = if days == 0 {
            (Vec::new(), Vec::new(), 0)
        } else {
            let (d0, d1) = (d0.clone(), d1.clone());
            app.store.read_sync(move |c| {
                Ok((
                    db::route_points(c, &rid, from, to)?,
                    db::checkins(c, Some(&rid), None, from, to)?,
                    db::missed_between(c, &rid, &d0, &d1)?,
                ))
            })?
        };
        // Points by day (they come ordered by time, so each day is one run).
        let mut by_day: Vec<(i64, &[db::RoutePoint])> = Vec::new();
        let mut i = 0;
        while i < pts.len() {
            let d = day_of(pts[i].t);
            let j = i + pts[i..].iter().take_while(|p| day_of(p.t) == d).count();
            by_day.push((d, &pts[i..j]));
            i = j;
        }
        let daily: Vec<f64> = by_day
            .iter()
            .map(|(_, ps)| patrol::share(&segs, ps.iter().map(|p| (p.lon, p.lat))))
            .collect();
        let mut users: Vec<&str> = pts.iter().map(|p| p.username.as_str()).collect();
        users.sort_unstable();
        users.dedup();
        let teams = users
            .into_iter()
            .map(|u| {
                let shares: Vec<f64> = by_day
                    .iter()
                    .filter(|(_, ps)| ps.iter().any(|p| p.username == u))
                    .map(|(_, ps)| {
                        patrol::share(
                            &segs,
                            ps.iter()
                                .filter(|p| p.username == u)
                                .map(|p| (p.lon, p.lat)),
                        )
                    })
                    .collect();
                TeamCoverage {
                    user: u.to_string(),
                    days: shares.len(),
                    points: pts.iter().filter(|p| p.username == u).count(),
                    mean_share: round3(shares.iter().sum::<f64>() / shares.len().max(1) as f64),
                    checkins: checkins.iter().filter(|k| k.username == u).count(),
                }
            })
            .collect();
        out.push(RouteCoverage {
            id: route.id.clone(),
            name: route.name.clone(),
            days,
            days_met: daily.iter().filter(|s| **s >= threshold).count(),
            mean_share: round3(daily.iter().sum::<f64>() / days.max(1) as f64),
            missed_windows: missed,
            teams,
        });
    }
    Ok(CampaignCoverage {
        threshold,
        routes: out,
    })
}

/// Flags every schedule window that ended by `now` (on the city days of `now` and the day
/// before) whose coverage is below `patrol_coverage_min`: one `patrol_missed` row per
/// (route, day, window), written in the transaction of its `patrol.missed` outbox rows.
/// Idempotent. Returns how many windows it flagged now.
pub fn flag_missed(app: &App, now: i64) -> Result<usize> {
    let off = app.config.city_utc_offset_s as i64 * 1000;
    let today = city_day(now, off);
    let idx = app.zones.index();
    let routes: Vec<Arc<Zone>> = idx
        .iter()
        .filter(|z| z.zone.is_live() && z.zone.kind == ZoneKind::PatrolRoute)
        .map(|z| z.zone.clone())
        .collect();
    let mut n = 0;
    for day in [today - 1, today] {
        let from = city_midnight(day, off);
        let date = time::OffsetDateTime::from_unix_timestamp(day * 86_400)
            .map(|t| format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()))
            .unwrap_or_default();
        for route in &routes {
            let Some(segs) = RouteSegments::of(route) else {
                continue;
            };
            let wins: Vec<Window> = windows(route, from)
                .into_iter()
                .filter(|w| w.end <= now)
                .collect();
            if wins.is_empty() {
                continue;
            }
            let (rid, d) = (route.id.clone(), date.clone());
            let (pts, done, min) = app.store.read_sync(move |c| {
                Ok((
                    db::route_points(c, &rid, from, from + DAY_MS)?,
                    db::missed(c, &rid, &d)?,
                    settings(c)?.patrol_coverage_min,
                ))
            })?;
            for w in wins {
                if done.contains(&w.label) {
                    continue;
                }
                let s = patrol::share(
                    &segs,
                    pts.iter()
                        .filter(|p| p.t >= w.start && p.t < w.end)
                        .map(|p| (p.lon, p.lat)),
                );
                if s >= min {
                    continue;
                }
                let event = crate::webhooks::Event {
                    name: "patrol.missed",
                    subject: json!({"route": route.id, "route_name": route.name, "date": date, "window": w.label, "share": s}),
                    owners: route.owner.iter().map(|o| o.name.clone()).collect(),
                    zone_ids: vec![route.id.clone()],
                    headline: format!("巡查未达标：{} {} {}", route.name, date, w.label),
                    lines: vec![format!(
                        "覆盖率：{:.0}%（要求 {:.0}%）",
                        s * 100.0,
                        min * 100.0
                    )],
                };
                let (rid, d, label, hooks) = (
                    route.id.clone(),
                    date.clone(),
                    w.label.clone(),
                    app.hooks.clone(),
                );
                let flagged = app.store.write_sync(move |c| {
                    if db::insert_missed(c, &rid, &d, &label, s, now)? {
                        hooks.enqueue(c, &event)?;
                        Ok(true)
                    } else {
                        Ok(false)
                    }
                })?;
                n += usize::from(flagged);
            }
        }
    }
    Ok(n)
}
