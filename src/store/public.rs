//! What the public map (随手拍) reads: open reports without anyone's name, and whether a
//! photo belongs to one.

use super::db::{Conn, DbResult};
use crate::args;
use crate::report::Status;

/// An open report as the public sees it: no reporter, no note, no events.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PublicReport {
    pub id: i64,
    pub category: String,
    pub status: String,
    pub created_at: i64,
    pub lon: f64,
    pub lat: f64,
    pub responsible_owner: Option<String>,
    pub responsible_zone_id: Option<String>,
    /// Photos taken at submission (not the answers' after-photos), in order.
    pub photos: Vec<String>,
}

/// `status IN ('reported', …)` over the open statuses.
fn open_list() -> String {
    Status::OPEN
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Report `id` when it is open.
pub fn open_report(c: &dyn Conn, id: i64) -> DbResult<Option<PublicReport>> {
    let sql = format!(
        "SELECT id, category, status, created_at, lon, lat, responsible_owner, responsible_zone_id
         FROM reports WHERE id = $1 AND status IN ({})",
        open_list()
    );
    let Some(mut r) = c.query_opt(&sql, args![id], |r| {
        Ok(PublicReport {
            id: r.get(0)?,
            category: r.get(1)?,
            status: r.get(2)?,
            created_at: r.get(3)?,
            lon: r.get(4)?,
            lat: r.get(5)?,
            responsible_owner: r.get(6)?,
            responsible_zone_id: r.get(7)?,
            photos: Vec::new(),
        })
    })?
    else {
        return Ok(None);
    };
    r.photos = c.query_vec(
        "SELECT photo_id FROM report_photos WHERE report_id = $1 AND event_id IS NULL
         ORDER BY position",
        args![id],
        |r| r.get(0),
    )?;
    Ok(Some(r))
}

/// Whether photo `id` was taken at the submission of an open report.
pub fn photo_is_public(c: &dyn Conn, id: &str) -> DbResult<bool> {
    let sql = format!(
        "SELECT count(*) FROM report_photos p JOIN reports r ON r.id = p.report_id
         WHERE p.photo_id = $1 AND p.event_id IS NULL AND r.status IN ({})",
        open_list()
    );
    Ok(c.query_scalar::<i64>(&sql, args![id])? > 0)
}
