//! Users, roles, password hashes and tokens.
//!
//! Passwords are stored as argon2id hashes; API and session tokens are random 256-bit strings
//! of which only the SHA-256 is stored.

use crate::problem::Problem;
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// How long a browser session lasts, in milliseconds (12 hours: one working day).
pub const SESSION_TTL_MS: i64 = 12 * 3600 * 1000;

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Patrol volunteers: file reports, resolve with an after-photo.
    Patrol,
    /// Street offices: dispatch, close, reject, reopen; statistics.
    Office,
    /// Planners: draw and edit zones.
    Planner,
    /// Responsible organisations (责任单位), bound to one owner: their own zones and tasks only.
    Unit,
    /// Everything.
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Patrol,
        Role::Office,
        Role::Planner,
        Role::Unit,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Patrol => "patrol",
            Role::Office => "office",
            Role::Planner => "planner",
            Role::Unit => "unit",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!("unknown role {s:?}; expected one of patrol, office, planner, unit, admin")
            })
    }
}

/// A signed-in user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub role: Role,
    /// For `unit` users: the organisation (owner name) they answer for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// For `office` users: the zone (street office or community) they act in; `None`: the city.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl User {
    /// Whether the user has one of `roles` (admin always does).
    pub fn has_role(&self, roles: &[Role]) -> bool {
        self.role == Role::Admin || roles.contains(&self.role)
    }
}

/// An argon2id hash in PHC string form.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .unwrap_or_default()
}

/// Whether `password` matches the stored hash.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Whether `password` matches the stored hash, computing in `memory` (grown to the hash's
/// memory cost if smaller). Reusing one buffer per concurrent check keeps memory flat: the
/// allocator is never asked for argon2's 19 MiB again.
pub fn verify_password_in(hash: &str, password: &str, memory: &mut Vec<argon2::Block>) -> bool {
    let Ok(h) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(expected), Some(salt)) = (h.hash, h.salt) else {
        return false;
    };
    let (Ok(params), Ok(algorithm)) = (
        argon2::Params::try_from(&h),
        argon2::Algorithm::try_from(h.algorithm),
    ) else {
        return false;
    };
    let version = match h.version.map(argon2::Version::try_from) {
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
        None => argon2::Version::default(),
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, argon2::Block::new());
    }
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut memory[..blocks])
        .is_ok()
        && argon2::password_hash::Output::new(&out).is_ok_and(|o| o == expected)
}

/// Fewest characters a new password may have.
pub const MIN_PASSWORD_CHARS: usize = 10;

const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// Checks a new password for `username`: at least [`MIN_PASSWORD_CHARS`] characters, not one
/// of the commonest passwords, not the username, not one character repeated. The error says
/// what to change.
pub fn check_new_password(username: &str, password: &str) -> Result<(), Problem> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(Problem::new(
            "password_too_short",
            format!(
                "the password has {chars} characters; use at least {MIN_PASSWORD_CHARS} (a few words are easier to remember than symbols)"
            ),
        )
        .with("min", MIN_PASSWORD_CHARS)
        .with("chars", chars));
    }
    let lower = password.to_lowercase();
    if COMMON_PASSWORDS
        .lines()
        .filter(|l| !l.starts_with('#'))
        .any(|l| l.trim() == lower)
    {
        return Err(Problem::new(
            "password_common",
            "this password is one of the commonest in leaked-password lists; choose another",
        ));
    }
    let name = username.trim().to_lowercase();
    if name.chars().count() >= 3 && lower.contains(&name) {
        return Err(Problem::new(
            "password_has_username",
            "the password contains the username; choose one that does not",
        ));
    }
    let mut cs = lower.chars();
    if let Some(first) = cs.next() {
        if cs.all(|c| c == first) {
            return Err(Problem::new(
                "password_repeated",
                "the password is one character repeated; choose another",
            ));
        }
    }
    Ok(())
}

/// A new random token (`xc_` and 64 hex digits).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("xc_{}", hex::encode(bytes))
}

/// A random password for accounts created without one.
pub fn new_password() -> String {
    let mut bytes = [0u8; 9];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What is stored for a token: its SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_round_trip() {
        let h = hash_password("巡查-2026");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "巡查-2026"));
        assert!(!verify_password(&h, "wrong"));
    }

    #[test]
    fn verify_in_reused_memory_agrees() {
        let h = hash_password("巡查-2026");
        let mut mem = Vec::new();
        assert!(verify_password_in(&h, "巡查-2026", &mut mem));
        assert!(!verify_password_in(&h, "巡查-2027", &mut mem));
        assert!(verify_password_in(&h, "巡查-2026", &mut mem));
        assert!(!verify_password_in("x", "巡查-2026", &mut mem));
    }

    #[test]
    fn weak_passwords_are_refused() {
        assert!(check_new_password("bob", "").is_err());
        assert!(check_new_password("bob", "short-pw").is_err());
        assert!(check_new_password("bob", "Password123").is_err());
        assert!(check_new_password("bob", "1234567890").is_err());
        assert!(check_new_password("bob", "WoAiNi1314").is_err());
        assert!(check_new_password("zhangsan", "zhangsan-2026!").is_err());
        assert!(check_new_password("bob", "xxxxxxxxxxxx").is_err());
        assert!(check_new_password("bob", "浑江河畔巡查每日两次").is_ok());
        assert!(check_new_password("admin", "admin-2026").is_err());
        assert!(check_new_password("bob", "correct horse battery").is_ok());
        // Every list entry is refused as it stands.
        for l in COMMON_PASSWORDS.lines().filter(|l| !l.starts_with('#')) {
            if l.chars().count() >= MIN_PASSWORD_CHARS {
                assert!(check_new_password("someone", l).is_err(), "{l}");
            }
        }
    }

    #[test]
    fn admin_has_every_role() {
        let u = User {
            id: 1,
            username: "a".into(),
            role: Role::Admin,
            owner: None,
            scope: None,
        };
        assert!(u.has_role(&[Role::Planner]));
        let p = User {
            role: Role::Patrol,
            ..u
        };
        assert!(!p.has_role(&[Role::Planner]));
    }
}
