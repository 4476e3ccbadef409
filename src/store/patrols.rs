//! Patrol tracks: `patrols`, `patrol_points` (one row per (patrol, seq)), `patrol_checkins`
//! (one per (patrol, checkpoint)) and `patrol_missed` (one per (route, day, window)).

use super::db::{Conn, DbResult, Row, Sql};
use crate::args;

/// A stored patrol.
#[derive(Debug, Clone, PartialEq)]
pub struct PatrolRow {
    pub id: String,
    pub user_id: i64,
    pub username: String,
    pub route: Option<String>,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    /// Accepted points.
    pub points: i64,
}

/// One accepted point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PointRow {
    pub seq: i64,
    pub t: i64,
    pub lon: f64,
    pub lat: f64,
}

const PATROL_COLS: &str = "p.id, p.user_id, p.username, p.route, p.started_at, p.ended_at,
     (SELECT COUNT(*) FROM patrol_points q WHERE q.patrol_id = p.id)";

fn patrol(r: &dyn Row) -> DbResult<PatrolRow> {
    Ok(PatrolRow {
        id: r.get(0)?,
        user_id: r.get(1)?,
        username: r.get(2)?,
        route: r.get(3)?,
        started_at: r.get(4)?,
        ended_at: r.get(5)?,
        points: r.get(6)?,
    })
}

pub fn get(c: &dyn Conn, id: &str) -> DbResult<Option<PatrolRow>> {
    c.query_opt(
        &format!("SELECT {PATROL_COLS} FROM patrols p WHERE p.id = $1"),
        args![id],
        patrol,
    )
}

/// Inserts a patrol; false when the id is taken.
pub fn insert(c: &dyn Conn, p: &PatrolRow, now: i64) -> DbResult<bool> {
    let n = c.execute(
        "INSERT INTO patrols (id, user_id, username, route, started_at, ended_at, created_at)
         VALUES ($1, $2, $3, $4, $5, NULL, $6) ON CONFLICT (id) DO NOTHING",
        args![
            p.id.as_str(),
            p.user_id,
            p.username.as_str(),
            p.route.clone(),
            p.started_at,
            now
        ],
    )?;
    Ok(n == 1)
}

/// Sets the end once; false when it was already set.
pub fn end(c: &dyn Conn, id: &str, ended_at: i64) -> DbResult<bool> {
    Ok(c.execute(
        "UPDATE patrols SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL",
        args![id, ended_at],
    )? == 1)
}

/// Patrols started in `[from, to)`, optionally of one route and one user, oldest first.
pub fn list(
    c: &dyn Conn,
    from: Option<i64>,
    to: Option<i64>,
    route: Option<&str>,
    user_id: Option<i64>,
    limit: i64,
) -> DbResult<Vec<PatrolRow>> {
    let mut q = Sql::new(format!("SELECT {PATROL_COLS} FROM patrols p WHERE 1 = 1"));
    if let Some(f) = from {
        let a = q.arg(f);
        q.push(&format!(" AND p.started_at >= {a}"));
    }
    if let Some(t) = to {
        let a = q.arg(t);
        q.push(&format!(" AND p.started_at < {a}"));
    }
    if let Some(r) = route {
        let a = q.arg(r);
        q.push(&format!(" AND p.route = {a}"));
    }
    if let Some(u) = user_id {
        let a = q.arg(u);
        q.push(&format!(" AND p.user_id = {a}"));
    }
    let a = q.arg(limit);
    q.push(&format!(" ORDER BY p.started_at, p.id LIMIT {a}"));
    c.query_vec(&q.text, &q.args, patrol)
}

/// Accepted points of a patrol in time order.
pub fn points(c: &dyn Conn, id: &str) -> DbResult<Vec<PointRow>> {
    c.query_vec(
        "SELECT seq, t, lon, lat FROM patrol_points WHERE patrol_id = $1 ORDER BY t, seq",
        args![id],
        |r| {
            Ok(PointRow {
                seq: r.get(0)?,
                t: r.get(1)?,
                lon: r.get(2)?,
                lat: r.get(3)?,
            })
        },
    )
}

/// Stores a point; false when (patrol, seq) is already stored.
pub fn insert_point(c: &dyn Conn, id: &str, p: &PointRow, accuracy_m: f64) -> DbResult<bool> {
    Ok(c.execute(
        "INSERT INTO patrol_points (patrol_id, seq, t, lon, lat, accuracy_m)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (patrol_id, seq) DO NOTHING",
        args![id, p.seq, p.t, p.lon, p.lat, accuracy_m],
    )? == 1)
}

/// Records a check-in once; false when it was already recorded.
pub fn insert_checkin(
    c: &dyn Conn,
    id: &str,
    checkpoint: &str,
    name: &str,
    at: i64,
) -> DbResult<bool> {
    Ok(c.execute(
        "INSERT INTO patrol_checkins (patrol_id, checkpoint, name, at)
         VALUES ($1, $2, $3, $4) ON CONFLICT (patrol_id, checkpoint) DO NOTHING",
        args![id, checkpoint, name, at],
    )? == 1)
}

/// One point of a route's patrols, with who walked it.
#[derive(Debug, Clone)]
pub struct RoutePoint {
    pub username: String,
    pub t: i64,
    pub lon: f64,
    pub lat: f64,
}

/// Accepted points with `t` in `[from, to)` of the patrols of `route`.
pub fn route_points(c: &dyn Conn, route: &str, from: i64, to: i64) -> DbResult<Vec<RoutePoint>> {
    c.query_vec(
        "SELECT p.username, q.t, q.lon, q.lat FROM patrol_points q
         JOIN patrols p ON p.id = q.patrol_id
         WHERE p.route = $1 AND q.t >= $2 AND q.t < $3 ORDER BY q.t, q.seq",
        args![route, from, to],
        |r| {
            Ok(RoutePoint {
                username: r.get(0)?,
                t: r.get(1)?,
                lon: r.get(2)?,
                lat: r.get(3)?,
            })
        },
    )
}

/// A check-in with its patrol's user.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckinRow {
    pub checkpoint: String,
    pub name: String,
    pub username: String,
    pub at: i64,
}

/// Check-ins at `[from, to)` of the patrols of `route` (or of one patrol), oldest first.
pub fn checkins(
    c: &dyn Conn,
    route: Option<&str>,
    patrol: Option<&str>,
    from: i64,
    to: i64,
) -> DbResult<Vec<CheckinRow>> {
    let mut q = Sql::new(
        "SELECT k.checkpoint, k.name, p.username, k.at FROM patrol_checkins k
         JOIN patrols p ON p.id = k.patrol_id WHERE ",
    );
    let (f, t) = (q.arg(from), q.arg(to));
    q.push(&format!("k.at >= {f} AND k.at < {t}"));
    if let Some(r) = route {
        let a = q.arg(r);
        q.push(&format!(" AND p.route = {a}"));
    }
    if let Some(p) = patrol {
        let a = q.arg(p);
        q.push(&format!(" AND p.id = {a}"));
    }
    q.push(" ORDER BY k.at, k.checkpoint");
    c.query_vec(&q.text, &q.args, |r| {
        Ok(CheckinRow {
            checkpoint: r.get(0)?,
            name: r.get(1)?,
            username: r.get(2)?,
            at: r.get(3)?,
        })
    })
}

/// Flags a missed window once; false when it was already flagged.
pub fn insert_missed(
    c: &dyn Conn,
    route: &str,
    day: &str,
    window: &str,
    share: f64,
    now: i64,
) -> DbResult<bool> {
    Ok(c.execute(
        "INSERT INTO patrol_missed (route, day, win, share, flagged_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (route, day, win) DO NOTHING",
        args![route, day, window, share, now],
    )? == 1)
}

/// How many windows of a route were flagged on the days `from..=to` (`YYYY-MM-DD`).
pub fn missed_between(c: &dyn Conn, route: &str, from: &str, to: &str) -> DbResult<i64> {
    c.query_scalar(
        "SELECT count(*) FROM patrol_missed WHERE route = $1 AND day >= $2 AND day <= $3",
        args![route, from, to],
    )
}

/// The flagged windows (`HH:MM`) of a route on a day.
pub fn missed(c: &dyn Conn, route: &str, day: &str) -> DbResult<Vec<String>> {
    c.query_vec(
        "SELECT win FROM patrol_missed WHERE route = $1 AND day = $2 ORDER BY win",
        args![route, day],
        |r| r.get(0),
    )
}
