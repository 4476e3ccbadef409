//! User management: create users (with an owner for units and a scope for offices), change
//! their role, binding and state, reset and change passwords. Every change is audited and
//! reaches the other servers through the change feed; a disabled user's sessions and tokens stop
//! working at once.

use crate::audit::{self, Actor};
use crate::auth::{self, Role, User};
use crate::state::App;
use crate::store::changes::{self, ChangeKind};
use crate::store::users::{self, Account, Binding};
use crate::store::StoreError;
use crate::zone::ZoneKind;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Input that cannot be accepted, with what to fix.
    #[error("{0}")]
    Invalid(String),
    /// A new password the policy refuses.
    #[error("{0}")]
    Password(crate::problem::Problem),
    #[error("user {0} does not exist")]
    NotFound(i64),
    /// The current password given for a change of one's own was wrong.
    #[error("the current password is not right")]
    WrongPassword,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub username: String,
    pub role: Role,
    pub password: String,
    pub owner: Option<String>,
    pub scope: Option<String>,
    /// Also make an API token (returned once).
    pub with_token: bool,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AccountPatch {
    pub role: Option<Role>,
    pub owner: Option<Option<String>>,
    pub scope: Option<Option<String>>,
    pub disabled: Option<bool>,
}

fn check_username(name: &str) -> Result<(), AccountError> {
    let n = name.chars().count();
    if n == 0 || n > 64 || name.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(AccountError::Invalid(
            "a username has 1 to 64 characters and no spaces".into(),
        ));
    }
    Ok(())
}

fn check_password(name: &str, pw: &str) -> Result<(), AccountError> {
    auth::check_new_password(name, pw).map_err(AccountError::Password)
}

/// A unit needs an owner that some zone names; a scope must be a live grid zone; only units
/// have owners and only offices scopes.
fn check_binding(
    app: &App,
    role: Role,
    owner: Option<&str>,
    scope: Option<&str>,
) -> Result<(), AccountError> {
    match (role, owner) {
        (Role::Unit, None) => {
            return Err(AccountError::Invalid(
                "a unit user answers for one organisation: give its owner name (as on its zones)"
                    .into(),
            ))
        }
        (Role::Unit, Some(o)) => {
            let known = app
                .zones
                .index()
                .iter()
                .any(|e| e.zone.owner.as_ref().is_some_and(|w| w.name == o));
            if !known {
                return Err(AccountError::Invalid(format!(
                    "no zone names the owner {o:?}; use the owner name exactly as on its zones"
                )));
            }
        }
        (_, Some(_)) => {
            return Err(AccountError::Invalid(
                "only unit users are bound to an owner".into(),
            ))
        }
        _ => {}
    }
    match (role, scope) {
        (Role::Office, Some(z)) => {
            let ok = app
                .zones
                .index()
                .get(z)
                .is_some_and(|e| e.zone.kind == ZoneKind::Grid);
            if !ok {
                return Err(AccountError::Invalid(format!(
                    "scope {z:?} is not a live grid zone (a street office or community)"
                )));
            }
        }
        (_, Some(_)) => {
            return Err(AccountError::Invalid(
                "only office users have a scope".into(),
            ))
        }
        _ => {}
    }
    Ok(())
}

/// Creates a user; returns it and, when asked, an API token (shown once).
pub fn create(
    app: &App,
    actor: &Actor,
    new: NewAccount,
) -> Result<(User, Option<String>), AccountError> {
    check_username(&new.username)?;
    check_password(&new.username, &new.password)?;
    let owner = new
        .owner
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let scope = new
        .scope
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    check_binding(app, new.role, owner, scope)?;
    let binding = Binding {
        owner: owner.map(String::from),
        scope: scope.map(String::from),
    };
    let hash = auth::hash_password(&new.password);
    let token = new.with_token.then(auth::new_token);
    let now = crate::time::now_ms();
    let origin = app.store.origin().to_string();
    let user = app.store.write_sync(|tx| {
        let u = users::add_bound(tx, &new.username, new.role, &binding, &hash, now)?;
        if let Some(t) = &token {
            users::add_token(tx, &auth::token_hash(t), u.id, "api", now, None)?;
        }
        audit::record(
            tx,
            actor,
            "user.create",
            Some(&format!("user:{}", u.id)),
            json!({"username": u.username, "role": u.role, "owner": u.owner, "scope": u.scope, "token": token.is_some()}),
        )?;
        changes::record(tx, &origin, ChangeKind::User, &u.id.to_string(), now)?;
        Ok(u)
    })?;
    Ok((user, token))
}

/// Makes a named API token for `username`, valid for `days` (for ever when `None`); returns
/// the token (shown once) and its id.
pub fn create_token(
    app: &App,
    actor: &Actor,
    username: &str,
    name: &str,
    days: Option<i64>,
) -> Result<(String, String), AccountError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(AccountError::Invalid(
            "a token needs a name of 1 to 64 characters (what it is for)".into(),
        ));
    }
    if let Some(d) = days {
        if !(1..=3650).contains(&d) {
            return Err(AccountError::Invalid("a token lasts 1 to 3650 days".into()));
        }
    }
    let id = id_of(app, username)?;
    let token = auth::new_token();
    let hash = auth::token_hash(&token);
    let now = crate::time::now_ms();
    let expires = days.map(|d| now + d * 86_400_000);
    app.store.write_sync(|tx| {
        users::add_named_token(tx, &hash, id, name, now, expires)?;
        audit::record(
            tx,
            actor,
            "token.create",
            Some(&format!("user:{id}")),
            json!({"token": &hash[..12], "name": name, "expires_at": expires.map(crate::time::to_rfc3339)}),
        )?;
        Ok(())
    })?;
    Ok((token, hash[..12].to_string()))
}

/// Every API token.
pub fn list_tokens(app: &App) -> Result<Vec<users::TokenInfo>, AccountError> {
    Ok(app.store.read_sync(users::list_tokens)?)
}

/// Revokes API token `id` at once, on every server; false when there is no such token.
pub fn revoke_token(app: &App, actor: &Actor, id: &str) -> Result<bool, AccountError> {
    let origin = app.store.origin().to_string();
    let id2 = id.to_string();
    let owner = app.store.write_sync(|tx| {
        let owner = users::revoke_token(tx, &id2)?;
        if let Some(u) = owner {
            audit::record(
                tx,
                actor,
                "token.revoke",
                Some(&format!("user:{u}")),
                json!({"token": id2}),
            )?;
            changes::record(
                tx,
                &origin,
                ChangeKind::User,
                &u.to_string(),
                crate::time::now_ms(),
            )?;
        }
        Ok(owner)
    })?;
    if let Some(u) = owner {
        app.forget_tokens_of(u);
    }
    Ok(owner.is_some())
}

/// The id of the user called `username` (disabled or not).
pub fn id_of(app: &App, username: &str) -> Result<i64, AccountError> {
    let name = username.to_string();
    app.store
        .read_sync(users::list)?
        .into_iter()
        .find(|a| a.user.username == name)
        .map(|a| a.user.id)
        .ok_or_else(|| AccountError::Invalid(format!("there is no user called {username:?}")))
}

/// Every user.
pub fn list(app: &App) -> Result<Vec<Account>, AccountError> {
    Ok(app.store.read_sync(users::list)?)
}

/// Applies `patch` to user `id`.
pub fn update(
    app: &App,
    actor: &Actor,
    id: i64,
    patch: AccountPatch,
) -> Result<Account, AccountError> {
    let before = app
        .store
        .read_sync(move |c| users::by_id(c, id))?
        .ok_or(AccountError::NotFound(id))?;
    let role = patch.role.unwrap_or(before.user.role);
    let owner = patch.owner.clone().unwrap_or(before.user.owner.clone());
    let scope = patch.scope.clone().unwrap_or(before.user.scope.clone());
    // A change of role drops a binding the new role cannot have.
    let owner = owner.filter(|_| role == Role::Unit);
    let scope = scope.filter(|_| role == Role::Office);
    check_binding(app, role, owner.as_deref(), scope.as_deref())?;
    if actor.user.as_ref().is_some_and(|u| u.id == id)
        && (patch.disabled == Some(true) || patch.role.is_some_and(|r| r != Role::Admin))
    {
        return Err(AccountError::Invalid(
            "you cannot disable yourself or take away your own admin role".into(),
        ));
    }
    let now = crate::time::now_ms();
    let origin = app.store.origin().to_string();
    let disabled = patch.disabled.map(|d| d.then_some(now));
    let (o2, s2) = (owner.clone(), scope.clone());
    let after = app.store.write_sync(move |tx| {
        users::update(tx, id, Some(role), Some(o2), Some(s2), disabled)?;
        audit::record(
            tx,
            actor,
            "user.update",
            Some(&format!("user:{id}")),
            json!({
                "before": {"role": before.user.role, "owner": before.user.owner, "scope": before.user.scope, "disabled": before.disabled},
                "after": {"role": role, "owner": owner, "scope": scope, "disabled": patch.disabled.unwrap_or(before.disabled)},
            }),
        )?;
        changes::record(tx, &origin, ChangeKind::User, &id.to_string(), now)?;
        users::by_id(tx, id)
    })?;
    app.forget_tokens_of(id);
    after.ok_or(AccountError::NotFound(id))
}

/// Sets a new password. For one's own (`current` given) the current one must be right; an
/// admin resets anyone's. Browser sessions of the user end; API tokens stay.
pub fn set_password(
    app: &App,
    actor: &Actor,
    id: i64,
    new_password: &str,
    current: Option<&str>,
) -> Result<(), AccountError> {
    let account = app
        .store
        .read_sync(move |c| users::by_id(c, id))?
        .ok_or(AccountError::NotFound(id))?;
    check_password(&account.user.username, new_password)?;
    if let Some(cur) = current {
        let name = account.user.username.clone();
        let found = app.store.read_sync(move |c| users::by_name(c, &name))?;
        let ok = found
            .and_then(|(_, h)| h)
            .is_some_and(|h| auth::verify_password(&h, cur));
        if !ok {
            return Err(AccountError::WrongPassword);
        }
    }
    let hash = auth::hash_password(new_password);
    let now = crate::time::now_ms();
    let origin = app.store.origin().to_string();
    let own = current.is_some();
    app.store.write_sync(move |tx| {
        users::set_password(tx, id, &hash)?;
        users::delete_sessions_of(tx, id)?;
        audit::record(
            tx,
            actor,
            if own {
                "user.password"
            } else {
                "user.password_reset"
            },
            Some(&format!("user:{id}")),
            json!({}),
        )?;
        changes::record(tx, &origin, ChangeKind::User, &id.to_string(), now)?;
        Ok(())
    })?;
    app.forget_tokens_of(id);
    Ok(())
}
