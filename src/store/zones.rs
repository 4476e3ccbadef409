//! Zone rows and their history.

use super::db::{Conn, DbError, Row, Sql};
use super::{Result, StoreError};
use crate::args;
use crate::zone::{
    geometry_to_geojson, stored_geometry, zone_to_geojson, Owner, Zone, ZoneDraft, ZoneGeometry,
    ZoneKind,
};
use std::collections::HashSet;

const COLUMNS: &str =
    "id, kind, name, owner_name, owner_sector, owner_contact, parent, properties, \
                       geometry, width_m, version, created_at, created_by, updated_at, updated_by, \
                       retired_at, retired_by";

fn from_row(r: &dyn Row) -> Result<Zone> {
    let id: String = r.get(0)?;
    let kind: String = r.get(1)?;
    let owner_name: Option<String> = r.get(3)?;
    let owner_sector: Option<String> = r.get(4)?;
    let properties = r.str(7)?.unwrap_or("{}");
    let geometry = r.str(8)?.unwrap_or("null");
    let width_m: Option<f64> = r.get(9)?;
    {
        let corrupt = |what: String| StoreError::Corrupt(format!("zone {id:?}: {what}"));
        let kind: ZoneKind = kind.parse().map_err(corrupt)?;
        let owner = match (owner_name, owner_sector) {
            (Some(name), Some(sector)) => Some(Owner {
                name,
                sector: sector.parse().map_err(corrupt)?,
                contact: r.get(5)?,
            }),
            _ => None,
        };
        let geometry: serde_json::Value =
            serde_json::from_str(geometry).map_err(|e| corrupt(e.to_string()))?;
        let geometry = stored_geometry(kind, &geometry, width_m).map_err(|e| corrupt(e.reason))?;
        Ok(Zone {
            id: id.clone(),
            kind,
            name: r.get(2)?,
            owner,
            parent: r.get(6)?,
            properties: serde_json::from_str(properties).map_err(|e| corrupt(e.to_string()))?,
            geometry,
            version: r.get(10)?,
            created_at: r.get(11)?,
            created_by: r.get(12)?,
            updated_at: r.get(13)?,
            updated_by: r.get(14)?,
            retired_at: r.get(15)?,
            retired_by: r.get(16)?,
        })
    }
}

/// JSON text straight from the `geojson` types or a property map (no `serde_json::Value` tree on
/// the write path). Serialising them cannot fail: non-finite numbers are written as `null`.
fn json_text<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// A zone by id, live or retired.
pub fn get(conn: &dyn Conn, id: &str) -> Result<Option<Zone>> {
    let mut out = None;
    conn.for_each(
        &format!("SELECT {COLUMNS} FROM zones WHERE id = $1"),
        args![id],
        &mut |r| {
            out = Some(from_row(r));
            Ok(())
        },
    )?;
    out.transpose()
}

/// Every live zone, optionally of one kind, ordered by id.
pub fn list_live(conn: &dyn Conn, kind: Option<ZoneKind>) -> Result<Vec<Zone>> {
    let mut out = Vec::new();
    let mut failed = None;
    let (sql, a) = match kind {
        Some(k) => (
            format!(
                "SELECT {COLUMNS} FROM zones WHERE retired_at IS NULL AND kind = $1 ORDER BY id"
            ),
            vec![k.as_str().into()],
        ),
        None => (
            format!("SELECT {COLUMNS} FROM zones WHERE retired_at IS NULL ORDER BY id"),
            vec![],
        ),
    };
    conn.for_each(&sql, &a, &mut |r| {
        match from_row(r) {
            Ok(z) => out.push(z),
            Err(e) => failed = failed.take().or(Some(e)),
        }
        Ok(())
    })?;
    match failed {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// Every retired zone, optionally of one kind, the most recently retired first.
pub fn list_retired(conn: &dyn Conn, kind: Option<ZoneKind>) -> Result<Vec<Zone>> {
    let mut out = Vec::new();
    let (sql, a) = match kind {
        Some(k) => (
            format!(
                "SELECT {COLUMNS} FROM zones WHERE retired_at IS NOT NULL AND kind = $1 ORDER BY retired_at DESC, id"
            ),
            vec![k.as_str().into()],
        ),
        None => (
            format!(
                "SELECT {COLUMNS} FROM zones WHERE retired_at IS NOT NULL ORDER BY retired_at DESC, id"
            ),
            vec![],
        ),
    };
    conn.for_each(&sql, &a, &mut |r| {
        out.push(from_row(r));
        Ok(())
    })?;
    out.into_iter().collect()
}

/// Every zone (live and retired) with its id.
pub fn list_all(conn: &dyn Conn) -> Result<Vec<Zone>> {
    let mut out = Vec::new();
    conn.for_each(
        &format!("SELECT {COLUMNS} FROM zones ORDER BY id"),
        &[],
        &mut |r| {
            out.push(from_row(r));
            Ok(())
        },
    )?;
    out.into_iter().collect()
}

fn width_of(g: &ZoneGeometry) -> Option<f64> {
    match g {
        ZoneGeometry::Route { width_m, .. } => Some(*width_m),
        ZoneGeometry::Area(_) => None,
    }
}

fn history(conn: &dyn Conn, z: &Zone, action: &str, user: &str, at: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO zone_history (zone_id, version, action, at, username, feature) VALUES ($1, $2, $3, $4, $5, $6)",
        args![z.id.as_str(), z.version, action, at, user, json_text(&zone_to_geojson(z))],
    )?;
    Ok(())
}

/// Rows a multi-row statement writes at once (17 parameters a zone row: well under every
/// backend's limit on parameters).
const ROWS_PER_STATEMENT: usize = 100;

/// Which of `ids` name a stored zone (live or retired), asked in chunks.
fn existing<'a>(
    conn: &dyn Conn,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<HashSet<String>> {
    let ids: Vec<&str> = ids.into_iter().collect();
    let mut out = HashSet::new();
    for chunk in ids.chunks(500) {
        let mut sql = super::db::Sql::new("SELECT id FROM zones WHERE 1 = 1");
        sql.push_in("id", chunk.iter().copied());
        conn.for_each(&sql.text, &sql.args, &mut |r| {
            out.insert(r.get::<String>(0)?);
            Ok(())
        })?;
    }
    Ok(out)
}

/// The parents named by `parents` that are neither stored zones (live or retired) nor among
/// `batch_ids`, in the order first named.
fn unknown_parents<'a>(
    conn: &dyn Conn,
    parents: impl IntoIterator<Item = &'a str>,
    batch_ids: &[&str],
) -> Result<Vec<String>> {
    let in_batch: HashSet<&str> = batch_ids.iter().copied().collect();
    let mut asked: Vec<&str> = parents
        .into_iter()
        .filter(|p| !in_batch.contains(p))
        .collect();
    let mut seen = HashSet::new();
    asked.retain(|p| seen.insert(*p));
    let known = existing(conn, asked.iter().copied())?;
    Ok(asked
        .into_iter()
        .filter(|p| !known.contains(*p))
        .map(str::to_string)
        .collect())
}

/// Checks that `parent` names a stored zone (live or retired) or one of `batch_ids`.
fn check_parent(conn: &dyn Conn, parent: &Option<String>, batch_ids: &[&str]) -> Result<()> {
    if let Some(p) = unknown_parents(conn, parent.as_deref(), batch_ids)?
        .into_iter()
        .next()
    {
        return Err(StoreError::NotFound {
            what: "parent zone",
            id: p,
        });
    }
    Ok(())
}

/// What [`insert`] would refuse in a submission of `(id, parent)` pairs (ids as submitted, `None`
/// when the server assigns one), without writing: `(position, reason)` for each id already
/// taken and each unknown parent.
pub fn check_new(
    conn: &dyn Conn,
    drafts: &[(usize, Option<String>, Option<String>)],
) -> Result<Vec<(usize, &'static str, String)>> {
    let ids: Vec<&str> = drafts.iter().filter_map(|d| d.1.as_deref()).collect();
    let taken = existing(conn, ids.iter().copied())?;
    let unknown: HashSet<String> =
        unknown_parents(conn, drafts.iter().filter_map(|d| d.2.as_deref()), &ids)?
            .into_iter()
            .collect();
    let mut out = Vec::new();
    for (i, id, parent) in drafts {
        if let Some(id) = id.as_ref().filter(|id| taken.contains(*id)) {
            out.push((
                *i,
                "zone_id_taken",
                format!("a zone with id {id:?} already exists"),
            ));
        }
        if let Some(p) = parent.as_ref().filter(|p| unknown.contains(*p)) {
            out.push((
                *i,
                "zone_parent_unknown",
                format!("parent zone {p:?} does not exist"),
            ));
        }
    }
    Ok(out)
}

/// Inserts new zones (ids already assigned) and records their history.
/// Fails as a whole on a duplicate id or an unknown parent. `earlier` holds the ids of zones
/// that a transaction committing before this one stores (an import's batch before): they may be
/// named as parents, and may not be stored again.
pub fn insert(
    conn: &dyn Conn,
    drafts: &[(String, ZoneDraft)],
    earlier: &HashSet<String>,
    user: &str,
    now: i64,
) -> Result<Vec<Zone>> {
    let ids: Vec<&str> = drafts.iter().map(|(id, _)| id.as_str()).collect();
    if let Some(p) = unknown_parents(
        conn,
        drafts
            .iter()
            .filter_map(|(_, d)| d.parent.as_deref())
            .filter(|p| !earlier.contains(*p)),
        &ids,
    )?
    .into_iter()
    .next()
    {
        return Err(StoreError::NotFound {
            what: "parent zone",
            id: p,
        });
    }
    let taken = existing(conn, ids.iter().copied())?;
    let mut seen = HashSet::new();
    if let Some(id) = ids
        .iter()
        .find(|id| taken.contains(**id) || earlier.contains(**id) || !seen.insert(**id))
    {
        return Err(StoreError::Conflict(format!(
            "a zone with id {id:?} already exists"
        )));
    }
    let out: Vec<Zone> = drafts
        .iter()
        .map(|(id, d)| d.clone().into_zone(id.clone(), user, now))
        .collect();
    let chunks = drafts
        .chunks(ROWS_PER_STATEMENT)
        .zip(out.chunks(ROWS_PER_STATEMENT));
    let execute = |(zones, history): (Sql, Sql), first: &str| -> Result<()> {
        match conn.execute(&zones.text, &zones.args) {
            // Another writer stored one of these ids since the check above.
            Err(DbError::Unique(_)) => {
                return Err(StoreError::Conflict(format!(
                    "another writer stored a zone with an id of this batch (from {first:?}) meanwhile"
                )));
            }
            r => r?,
        };
        conn.execute(&history.text, &history.args)?;
        Ok(())
    };
    if drafts.len() <= ROWS_PER_STATEMENT {
        for (chunk, zones) in chunks {
            execute(insert_statements(chunk, zones, user, now), &chunk[0].0)?;
        }
        return Ok(out);
    }
    // A large batch (an import): the statements of the next rows are written on a second
    // thread while the database runs the current ones, so the two overlap instead of taking
    // turns. Leaving early drops the receiver, which stops the writer.
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        s.spawn(move || {
            for (chunk, zones) in chunks {
                let statements = insert_statements(chunk, zones, user, now);
                if tx.send((statements, chunk[0].0.as_str())).is_err() {
                    break;
                }
            }
        });
        for (statements, first) in rx {
            execute(statements, first)?;
        }
        Ok::<(), StoreError>(())
    })?;
    Ok(out)
}

/// The two multi-row statements that store `chunk` (a zone row each) and `zones` (the same
/// zones, built) with their `create` history rows.
fn insert_statements(
    chunk: &[(String, ZoneDraft)],
    zones: &[Zone],
    user: &str,
    now: i64,
) -> (Sql, Sql) {
    let mut sql = Sql::new(format!("INSERT INTO zones ({COLUMNS}) VALUES "));
    for (k, (id, d)) in chunk.iter().enumerate() {
        let row = [
            sql.arg(id.as_str()),
            sql.arg(d.kind.as_str()),
            sql.arg(d.name.as_str()),
            sql.arg(d.owner.as_ref().map(|o| o.name.as_str())),
            sql.arg(d.owner.as_ref().map(|o| o.sector.as_str())),
            sql.arg(d.owner.as_ref().and_then(|o| o.contact.as_deref())),
            sql.arg(d.parent.as_deref()),
            sql.arg(json_text(&d.properties)),
            sql.arg(json_text(&geometry_to_geojson(&d.geometry))),
            sql.arg(width_of(&d.geometry)),
            "1".to_string(),
            sql.arg(now),
            sql.arg(user),
            sql.arg(now),
            sql.arg(user),
            "NULL".to_string(),
            "NULL".to_string(),
        ];
        let sep = if k == 0 { "" } else { ", " };
        sql.push(&format!("{sep}({})", row.join(", ")));
    }
    let mut history = Sql::new(
        "INSERT INTO zone_history (zone_id, version, action, at, username, feature) VALUES ",
    );
    for (k, z) in zones.iter().enumerate() {
        let row = [
            history.arg(z.id.as_str()),
            history.arg(z.version),
            history.arg("create"),
            history.arg(now),
            history.arg(user),
            history.arg(json_text(&zone_to_geojson(z))),
        ];
        let sep = if k == 0 { "" } else { ", " };
        history.push(&format!("{sep}({})", row.join(", ")));
    }
    (sql, history)
}

fn current_live(conn: &dyn Conn, id: &str, expected: i64) -> Result<Zone> {
    let z = get(conn, id)?.ok_or_else(|| StoreError::NotFound {
        what: "zone",
        id: id.into(),
    })?;
    if !z.is_live() {
        return Err(StoreError::Conflict(format!(
            "zone {id:?} is retired and cannot be changed"
        )));
    }
    if z.version != expected {
        return Err(StoreError::VersionMismatch {
            id: id.into(),
            current: z.version,
            expected,
        });
    }
    Ok(z)
}

/// Replaces a live zone's content if it is still at `expected` version; bumps the version.
pub fn update(
    conn: &dyn Conn,
    id: &str,
    expected: i64,
    d: &ZoneDraft,
    user: &str,
    now: i64,
) -> Result<Zone> {
    let old = current_live(conn, id, expected)?;
    if d.parent.as_deref() == Some(id) {
        return Err(StoreError::Conflict(
            "a zone cannot be its own parent".into(),
        ));
    }
    check_parent(conn, &d.parent, &[])?;
    let z = Zone {
        kind: d.kind,
        name: d.name.clone(),
        owner: d.owner.clone(),
        parent: d.parent.clone(),
        properties: d.properties.clone(),
        geometry: d.geometry.clone(),
        version: old.version + 1,
        updated_at: now,
        updated_by: user.into(),
        ..old
    };
    // The version test in the statement itself decides between two servers editing at once.
    let changed = conn.execute(
        "UPDATE zones SET kind = $2, name = $3, owner_name = $4, owner_sector = $5, owner_contact = $6,
                parent = $7, properties = $8, geometry = $9, width_m = $10, version = $11,
                updated_at = $12, updated_by = $13
         WHERE id = $1 AND version = $14 AND retired_at IS NULL",
        args![
            id,
            z.kind.as_str(),
            z.name.as_str(),
            z.owner.as_ref().map(|o| o.name.as_str()),
            z.owner.as_ref().map(|o| o.sector.as_str()),
            z.owner.as_ref().and_then(|o| o.contact.as_deref()),
            z.parent.as_deref(),
            json_text(&z.properties),
            json_text(&geometry_to_geojson(&z.geometry)),
            width_of(&z.geometry),
            z.version,
            now,
            user,
            expected,
        ],
    )?;
    if changed != 1 {
        current_live(conn, id, expected)?;
        return Err(StoreError::Conflict(format!(
            "zone {id:?} changed while it was being edited; reload it"
        )));
    }
    history(conn, &z, "update", user, now)?;
    Ok(z)
}

/// Retires a live zone (kept for history); `expected` is checked when given.
pub fn retire(
    conn: &dyn Conn,
    id: &str,
    expected: Option<i64>,
    user: &str,
    now: i64,
) -> Result<Zone> {
    let cur = get(conn, id)?.ok_or_else(|| StoreError::NotFound {
        what: "zone",
        id: id.into(),
    })?;
    let old = current_live(conn, id, expected.unwrap_or(cur.version))?;
    let z = Zone {
        version: old.version + 1,
        updated_at: now,
        updated_by: user.into(),
        retired_at: Some(now),
        retired_by: Some(user.into()),
        ..old
    };
    let changed = conn.execute(
        "UPDATE zones SET version = $2, updated_at = $3, updated_by = $4, retired_at = $3, retired_by = $4
         WHERE id = $1 AND version = $5 AND retired_at IS NULL",
        args![id, z.version, now, user, old.version],
    )?;
    if changed != 1 {
        return Err(StoreError::Conflict(format!(
            "zone {id:?} changed while it was being retired; reload it"
        )));
    }
    history(conn, &z, "retire", user, now)?;
    Ok(z)
}

/// One change of a zone.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HistoryEntry {
    pub version: i64,
    pub action: String,
    pub at: String,
    pub user: String,
    pub feature: serde_json::Value,
}

/// A zone's changes, oldest first.
pub fn history_of(conn: &dyn Conn, id: &str) -> Result<Vec<HistoryEntry>> {
    Ok(conn.query_vec(
        "SELECT version, action, at, username, feature FROM zone_history WHERE zone_id = $1 ORDER BY seq",
        args![id],
        |r| {
            Ok(HistoryEntry {
                version: r.get(0)?,
                action: r.get(1)?,
                at: crate::time::to_rfc3339(r.get(2)?),
                user: r.get(3)?,
                feature: serde_json::from_str(r.str(4)?.unwrap_or("null"))
                    .unwrap_or(serde_json::Value::Null),
            })
        },
    )?)
}
