//! The change feed: one row per committed change of a zone, report, user or setting, written in
//! the same transaction as the change. Servers sharing a database read it to keep their
//! in-memory state (zone index, report points, tile cache, sessions) current; see
//! [`crate::feed`].

use super::db::{Backend, Conn, DbResult};
use crate::args;

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    Zone,
    Report,
    User,
    Settings,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Zone => "zone",
            ChangeKind::Report => "report",
            ChangeKind::User => "user",
            ChangeKind::Settings => "settings",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "zone" => ChangeKind::Zone,
            "report" => ChangeKind::Report,
            "user" => ChangeKind::User,
            "settings" => ChangeKind::Settings,
            _ => return None,
        })
    }
}

/// One row of the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRow {
    pub seq: i64,
    pub origin: String,
    pub kind: ChangeKind,
    pub object_id: String,
    pub at: i64,
}

/// The channel other servers LISTEN on; a NOTIFY is delivered when its transaction commits.
pub const CHANNEL: &str = "xuncha_changes";

/// Appends a change; call inside the transaction that makes it.
pub fn record(
    c: &dyn Conn,
    origin: &str,
    kind: ChangeKind,
    object_id: &str,
    at: i64,
) -> DbResult<()> {
    c.execute(
        "INSERT INTO changes (origin, kind, object_id, at) VALUES ($1, $2, $3, $4)",
        args![origin, kind.as_str(), object_id, at],
    )?;
    if c.backend() == Backend::Postgres {
        c.execute("SELECT pg_notify($1, $2)", args![CHANNEL, kind.as_str()])?;
    }
    Ok(())
}

/// [`record`] for many objects of one kind: one statement a hundred rows and one notification.
pub fn record_many(
    c: &dyn Conn,
    origin: &str,
    kind: ChangeKind,
    object_ids: &[&str],
    at: i64,
) -> DbResult<()> {
    for chunk in object_ids.chunks(100) {
        let mut sql =
            super::db::Sql::new("INSERT INTO changes (origin, kind, object_id, at) VALUES ");
        for (k, id) in chunk.iter().enumerate() {
            let row = [
                sql.arg(origin),
                sql.arg(kind.as_str()),
                sql.arg(*id),
                sql.arg(at),
            ];
            let sep = if k == 0 { "" } else { ", " };
            let text = format!("{sep}({})", row.join(", "));
            sql.push(&text);
        }
        c.execute(&sql.text, &sql.args)?;
    }
    if !object_ids.is_empty() && c.backend() == Backend::Postgres {
        c.execute("SELECT pg_notify($1, $2)", args![CHANNEL, kind.as_str()])?;
    }
    Ok(())
}

/// Changes after `seq`, oldest first, at most `limit`.
pub fn after(c: &dyn Conn, seq: i64, limit: i64) -> DbResult<Vec<ChangeRow>> {
    let rows = c.query_vec(
        "SELECT seq, origin, kind, object_id, at FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2",
        args![seq, limit],
        |r| {
            Ok((
                r.get::<i64>(0)?,
                r.get::<String>(1)?,
                r.get::<String>(2)?,
                r.get::<String>(3)?,
                r.get::<i64>(4)?,
            ))
        },
    )?;
    Ok(rows
        .into_iter()
        .filter_map(|(seq, origin, kind, object_id, at)| {
            Some(ChangeRow {
                seq,
                origin,
                kind: ChangeKind::parse(&kind)?,
                object_id,
                at,
            })
        })
        .collect())
}

/// The newest sequence number (0 when the feed is empty).
pub fn last_seq(c: &dyn Conn) -> DbResult<i64> {
    c.query_scalar("SELECT COALESCE(MAX(seq), 0) FROM changes", &[])
}

/// Forgets changes older than `before` (Unix ms); servers that were away longer reload fully.
pub fn prune(c: &dyn Conn, before: i64) -> DbResult<u64> {
    c.execute("DELETE FROM changes WHERE at < $1", args![before])
}
