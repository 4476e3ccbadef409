//! Which reports a user may see: everything, an organisation's, or those inside a zone.
//!
//! Decided once from the user (a `unit` is bound to its owner, an `office` may be bound to a
//! street office or community zone) and applied by the services to lists, single reports,
//! statistics, tiles, heatmaps and work orders alike. Outside its scope a report does not exist
//! for the user (404), rather than being refused.

use crate::auth::{Role, User};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Visibility {
    #[default]
    All,
    /// Reports the organisation answers for: responsible for, assigned to, or escalated to it.
    Owner(String),
    /// Reports whose stored match includes this zone.
    Zone(String),
}

impl Visibility {
    pub fn of(user: &User) -> Self {
        match user.role {
            // A unit without an owner sees nothing rather than everything.
            Role::Unit => Visibility::Owner(user.owner.clone().unwrap_or_default()),
            Role::Office => user.scope.clone().map_or(Visibility::All, Visibility::Zone),
            _ => Visibility::All,
        }
    }

    pub fn is_all(&self) -> bool {
        *self == Visibility::All
    }
}
