//! SQL of campaigns (百日攻坚): the `campaigns` table, and the grid zones the campaign ranking
//! groups by.

use super::db::Conn;
use super::Result;
use crate::args;
use crate::crs::Bbox;
use serde::{Deserialize, Serialize};

/// What a campaign aims for.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    /// Share of the window's reports (rejected ones aside) closed by now, 0..=1.
    pub closed_share_min: f64,
    /// Share of the window's reports (rejected ones aside) none of whose stages ran late, 0..=1.
    pub on_time_share_min: f64,
    /// Days at the end of the window without a repeat report (see `campaign::REPEAT_RADIUS_M`).
    pub no_recurring_hotspot_days: u32,
}

/// A stored campaign; `start` and `end` are local dates, both inclusive.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Campaign {
    pub id: i64,
    pub name: String,
    pub start: String,
    pub end: String,
    pub targets: Targets,
    pub created_at: String,
    pub created_by: String,
    pub updated_at: String,
    pub updated_by: String,
}

const COLS: &str =
    "id, name, start_date, end_date, targets, created_at, created_by, updated_at, updated_by";

fn row(r: &dyn super::db::Row) -> super::db::DbResult<Campaign> {
    let targets: String = r.get(4)?;
    let targets = serde_json::from_str(&targets).map_err(|e| super::db::DbError::Type {
        column: 4,
        reason: e.to_string(),
    })?;
    Ok(Campaign {
        id: r.get(0)?,
        name: r.get(1)?,
        start: r.get(2)?,
        end: r.get(3)?,
        targets,
        created_at: crate::time::to_rfc3339(r.get(5)?),
        created_by: r.get(6)?,
        updated_at: crate::time::to_rfc3339(r.get(7)?),
        updated_by: r.get(8)?,
    })
}

/// Every campaign, newest start first.
pub fn list(c: &dyn Conn) -> Result<Vec<Campaign>> {
    Ok(c.query_vec(
        &format!("SELECT {COLS} FROM campaigns ORDER BY start_date DESC, id DESC"),
        &[],
        row,
    )?)
}

pub fn get(c: &dyn Conn, id: i64) -> Result<Option<Campaign>> {
    Ok(c.query_opt(
        &format!("SELECT {COLS} FROM campaigns WHERE id = $1"),
        args![id],
        row,
    )?)
}

/// Inserts a campaign; returns its id.
pub fn insert(
    c: &dyn Conn,
    name: &str,
    start: &str,
    end: &str,
    targets: &Targets,
    user: &str,
) -> Result<i64> {
    let now = crate::time::now_ms();
    let t = serde_json::to_string(targets).unwrap_or_default();
    Ok(c.query_scalar(
        "INSERT INTO campaigns (name, start_date, end_date, targets, created_at, created_by, updated_at, updated_by)
         VALUES ($1, $2, $3, $4, $5, $6, $5, $6) RETURNING id",
        args![name, start, end, t, now, user],
    )?)
}

/// Replaces a campaign's fields; false when there is no such campaign.
pub fn update(
    c: &dyn Conn,
    id: i64,
    name: &str,
    start: &str,
    end: &str,
    targets: &Targets,
    user: &str,
) -> Result<bool> {
    let t = serde_json::to_string(targets).unwrap_or_default();
    Ok(c.execute(
        "UPDATE campaigns SET name = $1, start_date = $2, end_date = $3, targets = $4, updated_at = $5, updated_by = $6 WHERE id = $7",
        args![name, start, end, t, crate::time::now_ms(), user, id],
    )? > 0)
}

pub fn delete(c: &dyn Conn, id: i64) -> Result<bool> {
    Ok(c.execute("DELETE FROM campaigns WHERE id = $1", args![id])? > 0)
}

/// A live grid zone: id, name, `properties.level` (street, community, cell) and parent.
pub struct GridZone {
    pub id: String,
    pub name: String,
    pub level: Option<String>,
    pub parent: Option<String>,
}

/// Every live grid zone.
pub fn grid_zones(c: &dyn Conn) -> Result<Vec<GridZone>> {
    Ok(c.query_vec(
        "SELECT id, name, properties, parent FROM zones WHERE kind = 'grid' AND retired_at IS NULL",
        &[],
        |r| {
            let props: String = r.get(2)?;
            let level = serde_json::from_str::<serde_json::Value>(&props)
                .ok()
                .and_then(|v| v.get("level").and_then(|l| l.as_str()).map(String::from));
            Ok(GridZone {
                id: r.get(0)?,
                name: r.get(1)?,
                level,
                parent: r.get(3)?,
            })
        },
    )?)
}

/// `[lon, lat]` of the reports `ids` (unknown ids are left out), read in chunks.
pub fn positions(c: &dyn Conn, ids: &[i64]) -> Result<std::collections::HashMap<i64, (f64, f64)>> {
    let mut out = std::collections::HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let mut sql = super::db::Sql::new("SELECT id, lon, lat FROM reports WHERE 1 = 1");
        sql.push_in("id", chunk.iter().copied());
        c.for_each(&sql.text, &sql.args, &mut |r| {
            out.insert(r.get(0)?, (r.get(1)?, r.get(2)?));
            Ok(())
        })?;
    }
    Ok(out)
}

/// Where the reports matching `f` are: their mean `[lon, lat]` and the box around them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    pub centre: (f64, f64),
    pub bbox: Bbox,
}

/// The [`Spread`] of the reports matching `f` (one pass), `None` when there are none.
pub fn spread(c: &dyn Conn, f: &super::stats::ReportFilter) -> Result<Option<Spread>> {
    let mut sql = super::db::Sql::new(
        "SELECT avg(s.lon), avg(s.lat), min(s.lon), min(s.lat), max(s.lon), max(s.lat)
         FROM reports s WHERE 1 = 1",
    );
    f.push_sql("s.", "s.id", &mut sql);
    Ok(c.query_opt(&sql.text, &sql.args, |r| {
        let v: [Option<f64>; 6] = [
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
        ];
        Ok(match v {
            [Some(x), Some(y), Some(a), Some(b), Some(c), Some(d)] => Some(Spread {
                centre: (x, y),
                bbox: Bbox::new(a, b, c, d),
            }),
            _ => None,
        })
    })?
    .flatten())
}
