//! Settings stored in the database (JSON values by key), so every server sees the same ones.

use super::db::{Conn, DbResult};
use crate::args;
use serde_json::Value;

/// The stored value of `key`, if any (an unreadable value counts as none).
pub fn get(c: &dyn Conn, key: &str) -> DbResult<Option<Value>> {
    Ok(c.query_opt(
        "SELECT value FROM settings WHERE key = $1",
        args![key],
        |r| r.get::<String>(0),
    )?
    .and_then(|s| serde_json::from_str(&s).ok()))
}

/// Stores `value` under `key`, replacing what was there.
pub fn put(c: &dyn Conn, key: &str, value: &Value) -> DbResult<()> {
    c.execute(
        "INSERT INTO settings (key, value) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        args![key, value.to_string()],
    )?;
    Ok(())
}
