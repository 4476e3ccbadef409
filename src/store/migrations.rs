//! Schema migrations, applied in order; `PRAGMA user_version` records how many have run.

use super::Result;
use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    // 1: zones, their history, users and tokens
    r#"
    CREATE TABLE zones (
        id            TEXT PRIMARY KEY,
        kind          TEXT NOT NULL,
        name          TEXT NOT NULL,
        owner_name    TEXT,
        owner_sector  TEXT,
        owner_contact TEXT,
        parent        TEXT,
        properties    TEXT NOT NULL DEFAULT '{}',
        geometry      TEXT NOT NULL,        -- GeoJSON geometry, [lon, lat]
        width_m       REAL,                 -- corridor width of patrol routes, metres
        version       INTEGER NOT NULL,
        created_at    INTEGER NOT NULL,     -- Unix ms
        created_by    TEXT NOT NULL,
        updated_at    INTEGER NOT NULL,
        updated_by    TEXT NOT NULL,
        retired_at    INTEGER,
        retired_by    TEXT
    );
    CREATE INDEX zones_kind ON zones(kind) WHERE retired_at IS NULL;
    CREATE TABLE zone_history (
        seq      INTEGER PRIMARY KEY AUTOINCREMENT,
        zone_id  TEXT NOT NULL,
        version  INTEGER NOT NULL,
        action   TEXT NOT NULL,             -- create | update | retire
        at       INTEGER NOT NULL,
        user     TEXT NOT NULL,
        feature  TEXT NOT NULL              -- the zone as a GeoJSON Feature after the change
    );
    CREATE INDEX zone_history_zone ON zone_history(zone_id, seq);
    CREATE TABLE users (
        id            INTEGER PRIMARY KEY,
        username      TEXT NOT NULL UNIQUE,
        role          TEXT NOT NULL,
        password_hash TEXT,
        created_at    INTEGER NOT NULL
    );
    CREATE TABLE tokens (
        hash       TEXT PRIMARY KEY,        -- SHA-256 of the token, hex
        user_id    INTEGER NOT NULL REFERENCES users(id),
        kind       TEXT NOT NULL,           -- api | session
        created_at INTEGER NOT NULL,
        expires_at INTEGER
    );
    "#,
];

/// Applies every migration the database has not seen yet, each in its own transaction.
pub fn run(conn: &mut Connection) -> Result<()> {
    let done: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(done as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}
