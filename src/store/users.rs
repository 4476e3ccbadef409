//! Users and their tokens.

use super::db::{Conn, DbError, Row, Sql};
use super::{Result, StoreError};
use crate::args;
use crate::auth::{Role, User};
use serde::Serialize;

/// A new user's binding.
#[derive(Debug, Clone, Default)]
pub struct Binding {
    /// `unit` users: the owner name they answer for.
    pub owner: Option<String>,
    /// `office` users: the zone they act in.
    pub scope: Option<String>,
}

/// Creates a user; a taken name is a conflict.
pub fn add(
    conn: &dyn Conn,
    username: &str,
    role: Role,
    password_hash: &str,
    now: i64,
) -> Result<User> {
    add_bound(
        conn,
        username,
        role,
        &Binding::default(),
        password_hash,
        now,
    )
}

/// Creates a user bound to an owner or scope.
pub fn add_bound(
    conn: &dyn Conn,
    username: &str,
    role: Role,
    binding: &Binding,
    password_hash: &str,
    now: i64,
) -> Result<User> {
    let res = conn.query_scalar::<i64>(
        "INSERT INTO users (username, role, password_hash, created_at, owner, scope) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        args![
            username,
            role.as_str(),
            password_hash,
            now,
            binding.owner.as_deref(),
            binding.scope.as_deref()
        ],
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
        owner: binding.owner.clone(),
        scope: binding.scope.clone(),
    })
}

const USER_COLUMNS: &str = "u.id, u.username, u.role, u.owner, u.scope";

fn user_of(r: &dyn Row) -> Result<User> {
    let role: String = r.get(2)?;
    Ok(User {
        id: r.get(0)?,
        username: r.get(1)?,
        role: role.parse().map_err(StoreError::Corrupt)?,
        owner: r.get(3)?,
        scope: r.get(4)?,
    })
}

/// A user and their password hash, by name; disabled users are not found.
pub fn by_name(conn: &dyn Conn, username: &str) -> Result<Option<(User, Option<String>)>> {
    let mut out = None;
    conn.for_each(
        &format!("SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.username = $1 AND u.disabled_at IS NULL"),
        args![username],
        &mut |r| {
            out = Some(user_of(r).and_then(|u| Ok((u, r.get(5)?))));
            Ok(())
        },
    )?;
    out.transpose()
}

/// A user by id (disabled or not), with whether they are disabled.
pub fn by_id(conn: &dyn Conn, id: i64) -> Result<Option<Account>> {
    let mut out = None;
    conn.for_each(
        &format!("SELECT {USER_COLUMNS}, u.created_at, u.disabled_at FROM users u WHERE u.id = $1"),
        args![id],
        &mut |r| {
            out = Some(account_of(r));
            Ok(())
        },
    )?;
    out.transpose()
}

pub fn count(conn: &dyn Conn) -> Result<i64> {
    Ok(conn.query_scalar("SELECT count(*) FROM users", &[])?)
}

/// A user as admins see them.
#[derive(Debug, Clone, Serialize)]
pub struct Account {
    #[serde(flatten)]
    pub user: User,
    pub created_at: String,
    pub disabled: bool,
}

fn account_of(r: &dyn Row) -> Result<Account> {
    Ok(Account {
        user: user_of(r)?,
        created_at: crate::time::to_rfc3339(r.get(5)?),
        disabled: r.get::<Option<i64>>(6)?.is_some(),
    })
}

/// Every user, by name.
pub fn list(conn: &dyn Conn) -> Result<Vec<Account>> {
    let mut out = Vec::new();
    conn.for_each(
        &format!(
            "SELECT {USER_COLUMNS}, u.created_at, u.disabled_at FROM users u ORDER BY u.username"
        ),
        &[],
        &mut |r| {
            out.push(account_of(r));
            Ok(())
        },
    )?;
    out.into_iter().collect()
}

/// Changes role, binding and enabled state (each when given). Returns false when no such user.
pub fn update(
    conn: &dyn Conn,
    id: i64,
    role: Option<Role>,
    owner: Option<Option<String>>,
    scope: Option<Option<String>>,
    disabled_at: Option<Option<i64>>,
) -> Result<bool> {
    let mut sql = Sql::new("UPDATE users SET id = id");
    if let Some(r) = role {
        let t = format!(", role = {}", sql.arg(r.as_str()));
        sql.push(&t);
    }
    if let Some(o) = owner {
        let t = format!(", owner = {}", sql.arg(o));
        sql.push(&t);
    }
    if let Some(s) = scope {
        let t = format!(", scope = {}", sql.arg(s));
        sql.push(&t);
    }
    if let Some(d) = disabled_at {
        let t = format!(", disabled_at = {}", sql.arg(d));
        sql.push(&t);
    }
    let t = format!(" WHERE id = {}", sql.arg(id));
    sql.push(&t);
    Ok(conn.execute(&sql.text, &sql.args)? == 1)
}

/// Sets a new password hash.
pub fn set_password(conn: &dyn Conn, id: i64, hash: &str) -> Result<bool> {
    Ok(conn.execute(
        "UPDATE users SET password_hash = $2 WHERE id = $1",
        args![id, hash],
    )? == 1)
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

/// An API token as admins see it (never the token itself).
#[derive(Debug, Clone, serde::Serialize)]
pub struct TokenInfo {
    /// The first 12 hex digits of the token's SHA-256: names it for revoking.
    pub id: String,
    pub username: String,
    pub name: Option<String>,
    pub created_at: String,
    pub expires_at: Option<String>,
}

/// Stores a named API token.
pub fn add_named_token(
    conn: &dyn Conn,
    hash: &str,
    user_id: i64,
    name: &str,
    now: i64,
    expires_at: Option<i64>,
) -> Result<()> {
    conn.execute(
        "INSERT INTO tokens (hash, user_id, kind, created_at, expires_at, name) VALUES ($1, $2, 'api', $3, $4, $5)",
        args![hash, user_id, now, expires_at, name],
    )?;
    Ok(())
}

/// Every API token (not browser sessions), oldest first.
pub fn list_tokens(conn: &dyn Conn) -> Result<Vec<TokenInfo>> {
    Ok(conn.query_vec(
        "SELECT t.hash, u.username, t.name, t.created_at, t.expires_at FROM tokens t JOIN users u ON u.id = t.user_id
         WHERE t.kind = 'api' ORDER BY t.created_at, t.hash",
        &[],
        |r| {
            let hash: String = r.get(0)?;
            Ok(TokenInfo {
                id: hash.chars().take(12).collect(),
                username: r.get(1)?,
                name: r.get(2)?,
                created_at: crate::time::to_rfc3339(r.get(3)?),
                expires_at: r.get::<Option<i64>>(4)?.map(crate::time::to_rfc3339),
            })
        },
    )?)
}

/// Deletes the API token whose id is `id`; returns whose it was.
pub fn revoke_token(conn: &dyn Conn, id: &str) -> Result<Option<i64>> {
    if id.len() != 12 || !id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(None);
    }
    Ok(conn.query_opt(
        "DELETE FROM tokens WHERE kind = 'api' AND substr(hash, 1, 12) = $1 RETURNING user_id",
        args![id.to_ascii_lowercase()],
        |r| r.get(0),
    )?)
}

/// The (enabled) user a token hash belongs to, with its expiry.
pub fn by_token(conn: &dyn Conn, hash: &str) -> Result<Option<(User, Option<i64>)>> {
    let mut out = None;
    conn.for_each(
        &format!("SELECT {USER_COLUMNS}, t.expires_at FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = $1 AND u.disabled_at IS NULL"),
        args![hash],
        &mut |r| {
            out = Some(user_of(r).and_then(|u| Ok((u, r.get(5)?))));
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

/// Deletes a user's browser sessions (after a password change), keeping API tokens.
pub fn delete_sessions_of(conn: &dyn Conn, user_id: i64) -> Result<u64> {
    Ok(conn.execute(
        "DELETE FROM tokens WHERE user_id = $1 AND kind = 'session'",
        args![user_id],
    )?)
}

/// Deletes sessions and tokens past their expiry; returns how many went.
pub fn purge_expired_sessions(conn: &dyn Conn, now: i64) -> Result<u64> {
    Ok(conn.execute(
        "DELETE FROM tokens WHERE expires_at IS NOT NULL AND expires_at <= $1",
        args![now],
    )?)
}
