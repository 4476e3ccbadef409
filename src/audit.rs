//! The audit log: one row per write (sign-in and failed sign-in, sign-out, user and role
//! changes, zone edits, report transitions, settings and webhook changes, imports), appended in
//! the same transaction as the write itself. No route edits or deletes it.

use crate::args;
use crate::auth::{Role, User};
use crate::store::db::{Conn, DbResult, Sql};
use serde::Serialize;
use serde_json::Value;

/// Who did something, and from where.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Actor {
    /// `None` for the server itself (deadline sweeps) or an unknown user (failed sign-in).
    pub user: Option<User>,
    /// The name given, for failed sign-ins of unknown users.
    pub name: Option<String>,
    pub ip: Option<String>,
}

impl Actor {
    pub fn user(user: &User, ip: Option<String>) -> Self {
        Actor {
            user: Some(user.clone()),
            name: Some(user.username.clone()),
            ip,
        }
    }

    /// The server acting on its own (sweeps, imports from the command line).
    pub fn system(name: &str) -> Self {
        Actor {
            user: None,
            name: Some(name.into()),
            ip: None,
        }
    }

    /// The name recorded in events and history.
    pub fn username(&self) -> &str {
        self.user
            .as_ref()
            .map(|u| u.username.as_str())
            .or(self.name.as_deref())
            .unwrap_or("system")
    }

    pub fn role(&self) -> Option<Role> {
        self.user.as_ref().map(|u| u.role)
    }
}

/// Appends one row; call inside the transaction of the write it records.
pub fn record(
    c: &dyn Conn,
    actor: &Actor,
    action: &str,
    object: Option<&str>,
    summary: Value,
) -> DbResult<()> {
    c.execute(
        "INSERT INTO audit (at, username, role, ip, action, object, summary) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![
            crate::time::now_ms(),
            actor.username(),
            actor.role().map(|r| r.as_str()),
            actor.ip.as_deref(),
            action,
            object,
            summary.to_string()
        ],
    )?;
    Ok(())
}

/// What `GET /api/audit` filters by.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub user: Option<String>,
    /// An action, or a prefix ending in `.` (`report.` for every report action).
    pub action: Option<String>,
    pub object: Option<String>,
    pub limit: usize,
    /// Continue with rows older than this id.
    pub before: Option<i64>,
}

/// One row of the log.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub id: i64,
    pub at: String,
    pub user: Option<String>,
    pub role: Option<String>,
    pub ip: Option<String>,
    pub action: String,
    pub object: Option<String>,
    pub summary: Value,
}

/// Rows matching `q`, newest first, and the id to continue before when there are more.
pub fn query(c: &dyn Conn, q: &Query) -> DbResult<(Vec<Entry>, Option<i64>)> {
    let mut sql = Sql::new(
        "SELECT id, at, username, role, ip, action, object, summary FROM audit WHERE 1 = 1",
    );
    if let Some(s) = q.since {
        let t = format!(" AND at >= {}", sql.arg(s));
        sql.push(&t);
    }
    if let Some(u) = q.until {
        let t = format!(" AND at < {}", sql.arg(u));
        sql.push(&t);
    }
    if let Some(u) = &q.user {
        let t = format!(" AND username = {}", sql.arg(u.as_str()));
        sql.push(&t);
    }
    if let Some(a) = &q.action {
        if let Some(prefix) = a.strip_suffix('.') {
            let t = format!(
                " AND substr(action, 1, {}) = {}",
                sql.arg(prefix.len() as i64 + 1),
                sql.arg(format!("{prefix}."))
            );
            sql.push(&t);
        } else {
            let t = format!(" AND action = {}", sql.arg(a.as_str()));
            sql.push(&t);
        }
    }
    if let Some(o) = &q.object {
        let t = format!(" AND object = {}", sql.arg(o.as_str()));
        sql.push(&t);
    }
    if let Some(b) = q.before {
        let t = format!(" AND id < {}", sql.arg(b));
        sql.push(&t);
    }
    let t = format!(" ORDER BY id DESC LIMIT {}", sql.arg(q.limit as i64 + 1));
    sql.push(&t);
    let mut rows = c.query_vec(&sql.text, &sql.args, |r| {
        Ok(Entry {
            id: r.get(0)?,
            at: crate::time::to_rfc3339(r.get(1)?),
            user: r.get(2)?,
            role: r.get(3)?,
            ip: r.get(4)?,
            action: r.get(5)?,
            object: r.get(6)?,
            summary: serde_json::from_str(r.str(7)?.unwrap_or("{}")).unwrap_or(Value::Null),
        })
    })?;
    let next = if rows.len() > q.limit {
        rows.truncate(q.limit);
        rows.last().map(|e| e.id)
    } else {
        None
    };
    Ok((rows, next))
}
