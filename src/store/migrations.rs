//! Schema migrations in code, one list per backend, applied in order. SQLite records how many
//! have run in `PRAGMA user_version`, PostgreSQL in the table `xuncha_schema`.
//!
//! The two lists describe the same tables: SQLite's grew step by step (its early steps stay as
//! they shipped, so old data folders upgrade); PostgreSQL's starts from the current shape. Queries
//! are shared ([`super::db`]), so a column added here must be added to both lists.

use super::db::{Backend, Conn, DbResult};

/// The statistics read `late` and `overdue` too, so the fact tables' time indexes cover those
/// columns again (without them every row of a window was a second lookup in the table). The
/// same on both backends.
const STAT_INDEXES_WITH_LATENESS: &str = r#"
    DROP INDEX stat_reports_time;
    CREATE INDEX stat_reports_time ON stat_reports(created_at, status, category, owner, sector, closed_at, late, overdue);
    DROP INDEX stat_zone_reports_time;
    CREATE INDEX stat_zone_reports_time ON stat_zone_reports(kind, created_at, zone_id, status, category, closed_at, late, overdue);
    DROP INDEX stat_zone_reports_any;
    CREATE INDEX stat_zone_reports_any ON stat_zone_reports(created_at, zone_id, status, category, closed_at, late, overdue);
"#;

/// The statistics read each fact's report id too (the campaign summary keeps it to find the
/// repeats' zones without a second pass): PostgreSQL's indexes hold only their own columns, so
/// the time indexes carry `report_id` last. (SQLite's already held it, as the rowid or the
/// primary key; the same statement runs there for one schema.)
const STAT_INDEXES_WITH_REPORT_ID: &str = r#"
    DROP INDEX stat_reports_time;
    CREATE INDEX stat_reports_time ON stat_reports(created_at, status, category, owner, sector, closed_at, late, overdue, report_id);
    DROP INDEX stat_zone_reports_time;
    CREATE INDEX stat_zone_reports_time ON stat_zone_reports(kind, created_at, zone_id, status, category, closed_at, late, overdue, report_id);
    DROP INDEX stat_zone_reports_any;
    CREATE INDEX stat_zone_reports_any ON stat_zone_reports(created_at, zone_id, status, category, closed_at, late, overdue, report_id);
"#;

const SQLITE: &[&str] = &[
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
    // 3: statistics fact tables (then kept by triggers) and the heatmap index
    super::stats::MIGRATION,
    // 4: one schema for both backends: no column named `user` (reserved in PostgreSQL), the
    // responsible owner as columns, fact tables kept by the shared report code instead of
    // triggers, the change feed, settings, named tokens.
    r#"
    DROP TRIGGER stat_reports_insert;
    DROP TRIGGER stat_reports_status;
    DROP TRIGGER stat_zone_reports_insert;
    DROP INDEX IF EXISTS reports_heat;
    ALTER TABLE zone_history RENAME COLUMN user TO username;
    ALTER TABLE report_events RENAME COLUMN user TO username;
    ALTER TABLE reports ADD COLUMN responsible_owner TEXT;
    ALTER TABLE reports ADD COLUMN responsible_sector TEXT;
    ALTER TABLE reports ADD COLUMN responsible_zone_id TEXT;
    UPDATE reports SET responsible_owner = json_extract(responsible, '$.name'),
        responsible_sector = json_extract(responsible, '$.sector'),
        responsible_zone_id = json_extract(responsible, '$.zone_id');
    CREATE INDEX reports_owner ON reports(responsible_owner, status);
    ALTER TABLE tokens ADD COLUMN name TEXT;
    CREATE INDEX tokens_user ON tokens(user_id);
    CREATE INDEX tokens_expiry ON tokens(expires_at) WHERE expires_at IS NOT NULL;
    CREATE TABLE changes (
        seq       INTEGER PRIMARY KEY AUTOINCREMENT,
        origin    TEXT NOT NULL,          -- the server that wrote it
        kind      TEXT NOT NULL,          -- zone | report | user | settings
        object_id TEXT NOT NULL,
        at        INTEGER NOT NULL
    );
    CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL              -- JSON
    );
    "#,
    // 5: the closed loop: escalation chain, assignment, deadlines, events of other kinds, unit
    // and scoped users, the audit log, webhooks and their outbox.
    r#"
    ALTER TABLE reports ADD COLUMN escalation_chain TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE reports ADD COLUMN assigned_owner TEXT;
    ALTER TABLE reports ADD COLUMN due_at BIGINT;
    ALTER TABLE reports ADD COLUMN sweep_at BIGINT;
    ALTER TABLE reports ADD COLUMN escalated_to TEXT;
    ALTER TABLE reports ADD COLUMN escalation_level BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE reports ADD COLUMN duplicate_of BIGINT;
    CREATE INDEX reports_sweep ON reports(sweep_at) WHERE sweep_at IS NOT NULL;
    CREATE INDEX reports_assigned ON reports(assigned_owner, status);
    CREATE INDEX reports_escalated ON reports(escalated_to, status);
    ALTER TABLE report_events ADD COLUMN kind TEXT NOT NULL DEFAULT 'status';
    ALTER TABLE report_events ADD COLUMN data TEXT;
    ALTER TABLE users ADD COLUMN owner TEXT;
    ALTER TABLE users ADD COLUMN scope TEXT;
    ALTER TABLE users ADD COLUMN disabled_at BIGINT;
    CREATE TABLE audit (
        id        INTEGER PRIMARY KEY AUTOINCREMENT,
        at        BIGINT NOT NULL,
        username  TEXT,
        role      TEXT,
        ip        TEXT,
        action    TEXT NOT NULL,
        object    TEXT,
        summary   TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX audit_at ON audit(at, id);
    CREATE INDEX audit_user ON audit(username, at);
    CREATE INDEX audit_object ON audit(object, at);
    CREATE TABLE webhooks (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        url        TEXT NOT NULL,
        events     TEXT NOT NULL,
        secret     TEXT NOT NULL,
        format     TEXT NOT NULL,
        owner      TEXT,
        scope      TEXT,
        created_at BIGINT NOT NULL,
        created_by TEXT NOT NULL,
        deleted_at BIGINT
    );
    CREATE TABLE outbox (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        webhook_id   BIGINT NOT NULL REFERENCES webhooks(id),
        delivery_id  TEXT NOT NULL UNIQUE,
        event        TEXT NOT NULL,
        body         TEXT NOT NULL,
        created_at   BIGINT NOT NULL,
        next_at      BIGINT,
        attempts     BIGINT NOT NULL DEFAULT 0,
        last_error   TEXT,
        last_status  BIGINT,
        delivered_at BIGINT,
        failed_at    BIGINT
    );
    CREATE INDEX outbox_due ON outbox(next_at) WHERE next_at IS NOT NULL;
    CREATE INDEX outbox_webhook ON outbox(webhook_id, id);
    ALTER TABLE reports ADD COLUMN overdue INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE stat_reports ADD COLUMN late INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE stat_reports ADD COLUMN overdue INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE stat_zone_reports ADD COLUMN late INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE stat_zone_reports ADD COLUMN overdue INTEGER NOT NULL DEFAULT 0;
    "#,
    // campaigns (百日攻坚): a window of local dates and its targets
    r#"
    CREATE TABLE campaigns (
        id         INTEGER PRIMARY KEY,
        name       TEXT NOT NULL,
        start_date TEXT NOT NULL,           -- YYYY-MM-DD, local date (config.city_utc_offset_s)
        end_date   TEXT NOT NULL,           -- YYYY-MM-DD, inclusive
        targets    TEXT NOT NULL,           -- JSON: closed_share_min, on_time_share_min, no_recurring_hotspot_days
        created_at INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        updated_by TEXT NOT NULL
    );
    "#,
    // patrol tracks, their points, check-ins and missed schedule windows (issue 14).
    r#"
    CREATE TABLE patrols (
        id          TEXT PRIMARY KEY,       -- made by the client (a patrol starts with no signal)
        user_id     BIGINT NOT NULL,
        username    TEXT NOT NULL,
        route       TEXT,                   -- patrol_route zone id; NULL: free patrol
        started_at  BIGINT NOT NULL,        -- Unix ms
        ended_at    BIGINT,
        created_at  BIGINT NOT NULL
    );
    CREATE INDEX patrols_started ON patrols(started_at);
    CREATE INDEX patrols_route ON patrols(route, started_at);
    CREATE TABLE patrol_points (
        patrol_id   TEXT NOT NULL,
        seq         BIGINT NOT NULL,
        t           BIGINT NOT NULL,        -- Unix ms
        lon         DOUBLE PRECISION NOT NULL,
        lat         DOUBLE PRECISION NOT NULL,
        accuracy_m  DOUBLE PRECISION,
        PRIMARY KEY (patrol_id, seq)
    );
    CREATE INDEX patrol_points_t ON patrol_points(patrol_id, t);
    CREATE TABLE patrol_checkins (
        patrol_id   TEXT NOT NULL,
        checkpoint  TEXT NOT NULL,
        name        TEXT NOT NULL,
        at          BIGINT NOT NULL,
        PRIMARY KEY (patrol_id, checkpoint)
    );
    CREATE TABLE patrol_missed (
        route       TEXT NOT NULL,
        day         TEXT NOT NULL,          -- city day, YYYY-MM-DD
        win         TEXT NOT NULL,          -- the window's start, HH:MM
        share       DOUBLE PRECISION NOT NULL,
        flagged_at  BIGINT NOT NULL,
        PRIMARY KEY (route, day, win)
    );
"#,
    // 8: the statistics read `late` and `overdue` too (see the constant).
    STAT_INDEXES_WITH_LATENESS,
    // 9: and the report id (see the constant).
    STAT_INDEXES_WITH_REPORT_ID,
    // 10: daily roll-ups of the facts, built on start (see store/rollups.rs).
    super::rollups::SQLITE_MIGRATION,
    // 11: close-time histograms in a time hierarchy (see store/rollups.rs).
    super::rollups::SQLITE_NODES_MIGRATION,
];

/// The current schema for PostgreSQL + PostGIS. Geometry columns are generated from the stored
/// GeoJSON and coordinates, so they always agree with them.
const POSTGRES: &[&str] = &[
    r#"
    CREATE EXTENSION IF NOT EXISTS postgis;
    CREATE TABLE zones (
        id            TEXT PRIMARY KEY,
        kind          TEXT NOT NULL,
        name          TEXT NOT NULL,
        owner_name    TEXT,
        owner_sector  TEXT,
        owner_contact TEXT,
        parent        TEXT,
        properties    TEXT NOT NULL DEFAULT '{}',
        geometry      TEXT NOT NULL,
        width_m       DOUBLE PRECISION,
        version       BIGINT NOT NULL,
        created_at    BIGINT NOT NULL,
        created_by    TEXT NOT NULL,
        updated_at    BIGINT NOT NULL,
        updated_by    TEXT NOT NULL,
        retired_at    BIGINT,
        retired_by    TEXT,
        geom          geometry(Geometry, 4326)
                      GENERATED ALWAYS AS (ST_SetSRID(ST_GeomFromGeoJSON(geometry), 4326)) STORED
    );
    CREATE INDEX zones_kind ON zones(kind) WHERE retired_at IS NULL;
    CREATE INDEX zones_geom ON zones USING GIST (geom);
    CREATE TABLE zone_history (
        seq      BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        zone_id  TEXT NOT NULL,
        version  BIGINT NOT NULL,
        action   TEXT NOT NULL,
        at       BIGINT NOT NULL,
        username TEXT NOT NULL,
        feature  TEXT NOT NULL
    );
    CREATE INDEX zone_history_zone ON zone_history(zone_id, seq);
    CREATE TABLE users (
        id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        username      TEXT NOT NULL UNIQUE,
        role          TEXT NOT NULL,
        password_hash TEXT,
        created_at    BIGINT NOT NULL
    );
    CREATE TABLE tokens (
        hash       TEXT PRIMARY KEY,
        user_id    BIGINT NOT NULL REFERENCES users(id),
        kind       TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT,
        name       TEXT
    );
    CREATE INDEX tokens_user ON tokens(user_id);
    CREATE INDEX tokens_expiry ON tokens(expires_at) WHERE expires_at IS NOT NULL;
    CREATE TABLE reports (
        id                  BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        client_id           TEXT UNIQUE,
        lon                 DOUBLE PRECISION NOT NULL,
        lat                 DOUBLE PRECISION NOT NULL,
        accuracy_m          DOUBLE PRECISION,
        location_source     TEXT NOT NULL,
        crs                 TEXT NOT NULL,
        category            TEXT NOT NULL,
        status              TEXT NOT NULL,
        reject_reason       TEXT,
        note                TEXT,
        captured_at         BIGINT NOT NULL,
        created_at          BIGINT NOT NULL,
        created_by          TEXT NOT NULL,
        updated_at          BIGINT NOT NULL,
        zones               TEXT NOT NULL,
        responsible         TEXT,
        ambiguous           BOOLEAN NOT NULL,
        duplicates          TEXT NOT NULL DEFAULT '[]',
        responsible_owner   TEXT,
        responsible_sector  TEXT,
        responsible_zone_id TEXT,
        geom                geometry(Point, 4326)
                            GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)) STORED
    );
    CREATE INDEX reports_created ON reports(created_at, id);
    CREATE INDEX reports_near ON reports(category, lat, lon);
    CREATE INDEX reports_status ON reports(status, created_at);
    CREATE INDEX reports_owner ON reports(responsible_owner, status);
    CREATE INDEX reports_geom ON reports USING GIST (geom);
    CREATE TABLE report_zones (
        zone_id   TEXT NOT NULL,
        report_id BIGINT NOT NULL REFERENCES reports(id),
        inside    BOOLEAN NOT NULL,
        PRIMARY KEY (zone_id, report_id)
    );
    CREATE TABLE photos (
        id             TEXT PRIMARY KEY,
        format         TEXT NOT NULL,
        width          BIGINT NOT NULL,
        height         BIGINT NOT NULL,
        original_bytes BIGINT NOT NULL,
        exif_lon       DOUBLE PRECISION,
        exif_lat       DOUBLE PRECISION,
        exif_taken_at  BIGINT,
        created_at     BIGINT NOT NULL
    );
    CREATE TABLE report_events (
        id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        report_id   BIGINT NOT NULL REFERENCES reports(id),
        at          BIGINT NOT NULL,
        username    TEXT NOT NULL,
        from_status TEXT,
        to_status   TEXT NOT NULL,
        note        TEXT,
        reason      TEXT
    );
    CREATE INDEX report_events_report ON report_events(report_id, id);
    CREATE TABLE report_photos (
        report_id BIGINT NOT NULL REFERENCES reports(id),
        position  BIGINT NOT NULL,
        photo_id  TEXT NOT NULL REFERENCES photos(id),
        event_id  BIGINT REFERENCES report_events(id),
        PRIMARY KEY (report_id, position)
    );
    CREATE INDEX report_photos_photo ON report_photos(photo_id);
    CREATE TABLE stat_reports (
        report_id  BIGINT PRIMARY KEY,
        created_at BIGINT NOT NULL,
        category   TEXT NOT NULL,
        status     TEXT NOT NULL,
        owner      TEXT,
        sector     TEXT,
        closed_at  BIGINT
    );
    CREATE INDEX stat_reports_time ON stat_reports(created_at, status, category, owner, sector, closed_at);
    CREATE INDEX stat_reports_owner ON stat_reports(owner, status);
    CREATE TABLE stat_zone_reports (
        report_id  BIGINT NOT NULL,
        zone_id    TEXT NOT NULL,
        kind       TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        category   TEXT NOT NULL,
        status     TEXT NOT NULL,
        closed_at  BIGINT,
        PRIMARY KEY (report_id, zone_id)
    );
    CREATE INDEX stat_zone_reports_time ON stat_zone_reports(kind, created_at, zone_id, status, category, closed_at);
    CREATE INDEX stat_zone_reports_any ON stat_zone_reports(created_at, zone_id, status, category, closed_at);
    CREATE TABLE changes (
        seq       BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        origin    TEXT NOT NULL,
        kind      TEXT NOT NULL,
        object_id TEXT NOT NULL,
        at        BIGINT NOT NULL
    );
    CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
"#,
    // 2: the closed loop (as SQLite's 5).
    r#"
    ALTER TABLE reports ADD COLUMN escalation_chain TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE reports ADD COLUMN assigned_owner TEXT;
    ALTER TABLE reports ADD COLUMN due_at BIGINT;
    ALTER TABLE reports ADD COLUMN sweep_at BIGINT;
    ALTER TABLE reports ADD COLUMN escalated_to TEXT;
    ALTER TABLE reports ADD COLUMN escalation_level BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE reports ADD COLUMN duplicate_of BIGINT;
    CREATE INDEX reports_sweep ON reports(sweep_at) WHERE sweep_at IS NOT NULL;
    CREATE INDEX reports_assigned ON reports(assigned_owner, status);
    CREATE INDEX reports_escalated ON reports(escalated_to, status);
    ALTER TABLE report_events ADD COLUMN kind TEXT NOT NULL DEFAULT 'status';
    ALTER TABLE report_events ADD COLUMN data TEXT;
    ALTER TABLE users ADD COLUMN owner TEXT;
    ALTER TABLE users ADD COLUMN scope TEXT;
    ALTER TABLE users ADD COLUMN disabled_at BIGINT;
    CREATE TABLE audit (
        id        BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        at        BIGINT NOT NULL,
        username  TEXT,
        role      TEXT,
        ip        TEXT,
        action    TEXT NOT NULL,
        object    TEXT,
        summary   TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX audit_at ON audit(at, id);
    CREATE INDEX audit_user ON audit(username, at);
    CREATE INDEX audit_object ON audit(object, at);
    CREATE TABLE webhooks (
        id         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        url        TEXT NOT NULL,
        events     TEXT NOT NULL,
        secret     TEXT NOT NULL,
        format     TEXT NOT NULL,
        owner      TEXT,
        scope      TEXT,
        created_at BIGINT NOT NULL,
        created_by TEXT NOT NULL,
        deleted_at BIGINT
    );
    CREATE TABLE outbox (
        id           BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        webhook_id   BIGINT NOT NULL REFERENCES webhooks(id),
        delivery_id  TEXT NOT NULL UNIQUE,
        event        TEXT NOT NULL,
        body         TEXT NOT NULL,
        created_at   BIGINT NOT NULL,
        next_at      BIGINT,
        attempts     BIGINT NOT NULL DEFAULT 0,
        last_error   TEXT,
        last_status  BIGINT,
        delivered_at BIGINT,
        failed_at    BIGINT
    );
    CREATE INDEX outbox_due ON outbox(next_at) WHERE next_at IS NOT NULL;
    CREATE INDEX outbox_webhook ON outbox(webhook_id, id);
    ALTER TABLE reports ADD COLUMN overdue BOOLEAN NOT NULL DEFAULT false;
    ALTER TABLE stat_reports ADD COLUMN late BOOLEAN NOT NULL DEFAULT false;
    ALTER TABLE stat_reports ADD COLUMN overdue BOOLEAN NOT NULL DEFAULT false;
    ALTER TABLE stat_zone_reports ADD COLUMN late BOOLEAN NOT NULL DEFAULT false;
    ALTER TABLE stat_zone_reports ADD COLUMN overdue BOOLEAN NOT NULL DEFAULT false;
"#,
    r#"
    CREATE TABLE campaigns (
        id         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        name       TEXT NOT NULL,
        start_date TEXT NOT NULL,
        end_date   TEXT NOT NULL,
        targets    TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        created_by TEXT NOT NULL,
        updated_at BIGINT NOT NULL,
        updated_by TEXT NOT NULL
    );
"#,
    // 3: patrol tracks, their points, check-ins and missed schedule windows (issue 14).
    r#"
    CREATE TABLE patrols (
        id          TEXT PRIMARY KEY,       -- made by the client (a patrol starts with no signal)
        user_id     BIGINT NOT NULL,
        username    TEXT NOT NULL,
        route       TEXT,                   -- patrol_route zone id; NULL: free patrol
        started_at  BIGINT NOT NULL,        -- Unix ms
        ended_at    BIGINT,
        created_at  BIGINT NOT NULL
    );
    CREATE INDEX patrols_started ON patrols(started_at);
    CREATE INDEX patrols_route ON patrols(route, started_at);
    CREATE TABLE patrol_points (
        patrol_id   TEXT NOT NULL,
        seq         BIGINT NOT NULL,
        t           BIGINT NOT NULL,        -- Unix ms
        lon         DOUBLE PRECISION NOT NULL,
        lat         DOUBLE PRECISION NOT NULL,
        accuracy_m  DOUBLE PRECISION,
        PRIMARY KEY (patrol_id, seq)
    );
    CREATE INDEX patrol_points_t ON patrol_points(patrol_id, t);
    CREATE TABLE patrol_checkins (
        patrol_id   TEXT NOT NULL,
        checkpoint  TEXT NOT NULL,
        name        TEXT NOT NULL,
        at          BIGINT NOT NULL,
        PRIMARY KEY (patrol_id, checkpoint)
    );
    CREATE TABLE patrol_missed (
        route       TEXT NOT NULL,
        day         TEXT NOT NULL,          -- city day, YYYY-MM-DD
        win         TEXT NOT NULL,          -- the window's start, HH:MM
        share       DOUBLE PRECISION NOT NULL,
        flagged_at  BIGINT NOT NULL,
        PRIMARY KEY (route, day, win)
    );
"#,
    // 5: as SQLite's 8.
    STAT_INDEXES_WITH_LATENESS,
    // 6: as SQLite's 9.
    STAT_INDEXES_WITH_REPORT_ID,
    // 7: as SQLite's 10.
    super::rollups::POSTGRES_MIGRATION,
    // 8: as SQLite's 11.
    super::rollups::POSTGRES_NODES_MIGRATION,
];

/// Applies every migration the database has not seen yet.
pub fn run(c: &dyn Conn) -> DbResult<()> {
    match c.backend() {
        Backend::Sqlite => {
            let done: i64 = c.query_scalar("PRAGMA user_version", &[])?;
            for (i, sql) in SQLITE.iter().enumerate().skip(done as usize) {
                c.batch("BEGIN IMMEDIATE")?;
                let step = c
                    .batch(sql)
                    .and_then(|_| c.batch(&format!("PRAGMA user_version = {}", i + 1)));
                match step {
                    Ok(()) => c.batch("COMMIT")?,
                    Err(e) => {
                        let _ = c.batch("ROLLBACK");
                        return Err(e);
                    }
                }
            }
        }
        Backend::Postgres => {
            // Runs inside one transaction; the lock keeps two servers starting at once from
            // migrating together.
            c.batch(
                "SELECT pg_advisory_xact_lock(7367823001);
                 CREATE TABLE IF NOT EXISTS xuncha_schema (version BIGINT NOT NULL);",
            )?;
            let done: i64 =
                c.query_scalar("SELECT COALESCE(MAX(version), 0) FROM xuncha_schema", &[])?;
            for (i, sql) in POSTGRES.iter().enumerate().skip(done as usize) {
                c.batch(sql)?;
                c.execute(
                    "INSERT INTO xuncha_schema (version) VALUES ($1)",
                    crate::args![(i + 1) as i64],
                )?;
            }
        }
    }
    Ok(())
}
