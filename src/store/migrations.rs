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
    // 2: inspection reports, their events and photos
    r#"
    CREATE TABLE reports (
        id              INTEGER PRIMARY KEY,
        client_id       TEXT UNIQUE,           -- UUID made by the client; a retry finds the first
        lon             REAL NOT NULL,         -- WGS84
        lat             REAL NOT NULL,
        accuracy_m      REAL,
        location_source TEXT NOT NULL,         -- client | exif
        crs             TEXT NOT NULL,         -- what the client sent: wgs84 | gcj02
        category        TEXT NOT NULL,
        status          TEXT NOT NULL,
        reject_reason   TEXT,
        note            TEXT,
        captured_at     INTEGER NOT NULL,      -- Unix ms
        created_at      INTEGER NOT NULL,
        created_by      TEXT NOT NULL,
        updated_at      INTEGER NOT NULL,
        zones           TEXT NOT NULL,         -- JSON, /api/match "matches" at submission; never recomputed
        responsible     TEXT,                  -- JSON or NULL, at submission
        ambiguous       INTEGER NOT NULL,
        duplicates      TEXT NOT NULL DEFAULT '[]' -- JSON ids answered as possible_duplicates
    );
    CREATE INDEX reports_created ON reports(created_at, id);
    CREATE INDEX reports_near ON reports(category, lat, lon);
    CREATE INDEX reports_status ON reports(status, created_at);
    CREATE TABLE report_zones (
        zone_id   TEXT NOT NULL,
        report_id INTEGER NOT NULL REFERENCES reports(id),
        inside    INTEGER NOT NULL,            -- 0: only within the GPS accuracy of the zone
        PRIMARY KEY (zone_id, report_id)
    ) WITHOUT ROWID;
    CREATE TABLE photos (
        id             TEXT PRIMARY KEY,       -- SHA-256 of the uploaded bytes, hex
        format         TEXT NOT NULL,          -- of the original: jpeg | png | webp
        width          INTEGER NOT NULL,       -- of the normalized JPEG
        height         INTEGER NOT NULL,
        original_bytes INTEGER NOT NULL,
        exif_lon       REAL,
        exif_lat       REAL,
        exif_taken_at  INTEGER,
        created_at     INTEGER NOT NULL
    );
    CREATE TABLE report_events (
        id          INTEGER PRIMARY KEY,
        report_id   INTEGER NOT NULL REFERENCES reports(id),
        at          INTEGER NOT NULL,
        user        TEXT NOT NULL,
        from_status TEXT,                      -- NULL for the submission itself
        to_status   TEXT NOT NULL,
        note        TEXT,
        reason      TEXT
    );
    CREATE INDEX report_events_report ON report_events(report_id, id);
    CREATE TABLE report_photos (
        report_id INTEGER NOT NULL REFERENCES reports(id),
        position  INTEGER NOT NULL,
        photo_id  TEXT NOT NULL REFERENCES photos(id),
        event_id  INTEGER REFERENCES report_events(id), -- NULL: taken at submission; else an after-photo
        PRIMARY KEY (report_id, position)
    );
    CREATE INDEX report_photos_photo ON report_photos(photo_id);
    "#,
    // 3: statistics fact tables (kept by triggers) and the heatmap index; see store/stats.rs
    super::stats::MIGRATION,
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
