//! Users and their tokens.

use super::db::{Conn, DbError, Row};
use super::{Result, StoreError};
use crate::args;
use crate::auth::{Role, User};

/// Creates a user; a taken name is a conflict.
pub fn add(
    conn: &dyn Conn,
    username: &str,
    role: Role,
    password_hash: &str,
    now: i64,
) -> Result<User> {
    let res = conn.query_scalar::<i64>(
        "INSERT INTO users (username, role, password_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        args![username, role.as_str(), password_hash, now],
    );
    let id = match res {
        Err(DbError::Unique(_)) => {
            return Err(StoreError::Conflict(format!(
                "user {username:?} already exists"
            )))
        }
        r => r?,
    };
    Ok(User {
        id,
        username: username.into(),
        role,
    })
}

fn user_of(r: &dyn Row) -> Result<User> {
    let role: String = r.get(2)?;
    Ok(User {
        id: r.get(0)?,
        username: r.get(1)?,
        role: role.parse().map_err(StoreError::Corrupt)?,
    })
}

/// A user and their password hash, by name.
pub fn by_name(conn: &dyn Conn, username: &str) -> Result<Option<(User, Option<String>)>> {
    let mut out = None;
    conn.for_each(
        "SELECT id, username, role, password_hash FROM users WHERE username = $1",
        args![username],
        &mut |r| {
            out = Some(user_of(r).and_then(|u| Ok((u, r.get(3)?))));
            Ok(())
        },
    )?;
    out.transpose()
}

pub fn count(conn: &dyn Conn) -> Result<i64> {
    Ok(conn.query_scalar("SELECT count(*) FROM users", &[])?)
}

/// Stores a token's hash for a user; `expires_at` in Unix ms, `None` for API tokens.
pub fn add_token(
    conn: &dyn Conn,
    hash: &str,
    user_id: i64,
    kind: &str,
    now: i64,
    expires_at: Option<i64>,
) -> Result<()> {
    conn.execute(
        "INSERT INTO tokens (hash, user_id, kind, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        args![hash, user_id, kind, now, expires_at],
    )?;
    Ok(())
}

/// The user a token hash belongs to, with its expiry.
pub fn by_token(conn: &dyn Conn, hash: &str) -> Result<Option<(User, Option<i64>)>> {
    let mut out = None;
    conn.for_each(
        "SELECT u.id, u.username, u.role, t.expires_at FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = $1",
        args![hash],
        &mut |r| {
            out = Some(user_of(r).and_then(|u| Ok((u, r.get(3)?))));
            Ok(())
        },
    )?;
    out.transpose()
}

/// Deletes a token; returns whose it was.
pub fn delete_token(conn: &dyn Conn, hash: &str) -> Result<Option<i64>> {
    Ok(conn.query_opt(
        "DELETE FROM tokens WHERE hash = $1 RETURNING user_id",
        args![hash],
        |r| r.get(0),
    )?)
}
