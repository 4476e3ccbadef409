//! Users and their tokens.

use super::{Result, StoreError};
use crate::auth::{Role, User};
use rusqlite::{params, Connection, OptionalExtension};

/// Creates a user; a taken name is a conflict.
pub fn add(
    conn: &Connection,
    username: &str,
    role: Role,
    password_hash: &str,
    now: i64,
) -> Result<User> {
    let res = conn.execute(
        "INSERT INTO users (username, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![username, role.as_str(), password_hash, now],
    );
    match res {
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            return Err(StoreError::Conflict(format!(
                "user {username:?} already exists"
            )))
        }
        r => r?,
    };
    Ok(User {
        id: conn.last_insert_rowid(),
        username: username.into(),
        role,
    })
}

fn parse_role(s: String) -> rusqlite::Result<Role> {
    s.parse().map_err(|e: String| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
    })
}

/// A user and their password hash, by name.
pub fn by_name(conn: &Connection, username: &str) -> Result<Option<(User, Option<String>)>> {
    Ok(conn
        .query_row(
            "SELECT id, username, role, password_hash FROM users WHERE username = ?1",
            [username],
            |r| {
                Ok((
                    User {
                        id: r.get(0)?,
                        username: r.get(1)?,
                        role: parse_role(r.get(2)?)?,
                    },
                    r.get(3)?,
                ))
            },
        )
        .optional()?)
}

pub fn count(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0))?)
}

/// Stores a token's hash for a user; `expires_at` in Unix ms, `None` for API tokens.
pub fn add_token(
    conn: &Connection,
    hash: &str,
    user_id: i64,
    kind: &str,
    now: i64,
    expires_at: Option<i64>,
) -> Result<()> {
    conn.execute(
        "INSERT INTO tokens (hash, user_id, kind, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![hash, user_id, kind, now, expires_at],
    )?;
    Ok(())
}

/// The user a token hash belongs to, with its expiry.
pub fn by_token(conn: &Connection, hash: &str) -> Result<Option<(User, Option<i64>)>> {
    Ok(conn
        .query_row(
            "SELECT u.id, u.username, u.role, t.expires_at FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ?1",
            [hash],
            |r| {
                Ok((
                    User {
                        id: r.get(0)?,
                        username: r.get(1)?,
                        role: parse_role(r.get(2)?)?,
                    },
                    r.get(3)?,
                ))
            },
        )
        .optional()?)
}

pub fn delete_token(conn: &Connection, hash: &str) -> Result<()> {
    conn.execute("DELETE FROM tokens WHERE hash = ?1", [hash])?;
    Ok(())
}
