//! Sessions and API tokens as a running server holds them: looked up through a cache in
//! front of the store, forgotten at sign-out (on every server sharing the database).

use crate::auth::{self, User};
use crate::state::App;
use crate::store::{changes, users, StoreError};
use serde_json::json;
use std::net::IpAddr;

impl App {
    /// The user and expiry (Unix ms; `None` for API tokens) of `token`, from the cache or the
    /// store.
    pub async fn token_user(&self, token: &str) -> Result<Option<(User, Option<i64>)>, StoreError> {
        let hash = auth::token_hash(token);
        let cached = self
            .token_cache
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&hash)
            .cloned();
        if cached.is_some() {
            return Ok(cached);
        }
        let h = hash.clone();
        let found = self.store.read(move |c| users::by_token(c, &h)).await?;
        if let Some(hit) = &found {
            self.token_cache
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .insert(hash, hit.clone());
        }
        Ok(found)
    }

    /// Starts a session for `user`, who signed in from `client` (`kind`: `cookie` or `token`,
    /// for the audit log); the new session token and when it expires (Unix ms).
    pub async fn start_session(
        &self,
        user: &User,
        client: IpAddr,
        kind: &'static str,
    ) -> Result<(String, i64), StoreError> {
        let token = auth::new_token();
        let hash = auth::token_hash(&token);
        let now = crate::time::now_ms();
        let expires = now + auth::SESSION_TTL_MS;
        let ip = (!client.is_unspecified()).then(|| client.to_string());
        let actor = crate::audit::Actor::user(user, ip);
        let uid = user.id;
        self.store
            .write(move |tx| {
                users::add_token(tx, &hash, uid, "session", now, Some(expires))?;
                crate::audit::record(
                    tx,
                    &actor,
                    "auth.login",
                    Some(&format!("user:{uid}")),
                    json!({"session": kind}),
                )?;
                Ok(())
            })
            .await?;
        Ok((token, expires))
    }

    /// Ends the session of `token`: forgotten here at once, deleted from the store with an
    /// audit row and a change-feed row, so other servers sharing the database forget it too.
    /// `client` is the caller's address for the audit log.
    pub async fn sign_out(&self, token: &str, client: IpAddr) -> Result<(), StoreError> {
        let hash = auth::token_hash(token);
        self.token_cache
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&hash);
        let origin = self.store.origin().to_string();
        self.store
            .write(move |tx| {
                let Some(user) = users::delete_token(tx, &hash)? else {
                    return Ok(());
                };
                if let Some(account) = users::by_id(tx, user)? {
                    let ip = (!client.is_unspecified()).then(|| client.to_string());
                    let actor = crate::audit::Actor::user(&account.user, ip);
                    crate::audit::record(
                        tx,
                        &actor,
                        "auth.logout",
                        Some(&format!("user:{user}")),
                        json!({}),
                    )?;
                }
                changes::record(
                    tx,
                    &origin,
                    changes::ChangeKind::User,
                    &user.to_string(),
                    crate::time::now_ms(),
                )?;
                Ok(())
            })
            .await
    }

    /// Forgets cached sessions and tokens of `user_id` (signed out, disabled, revoked).
    pub fn forget_tokens_of(&self, user_id: i64) {
        self.token_cache
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, (u, _)| u.id != user_id);
    }
}
