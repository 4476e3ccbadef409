//! Inspection reports: `Category`, `Status`, and the table of allowed status changes.
//!
//! The life of a report follows digital city management (数字化城市管理):
//! collect 上报 → dispatch 派遣 → handle 处置 → report back 反馈 → verify and close 核查结案.

pub mod photo;
pub mod service;
pub mod view;
pub mod workflow;

use crate::auth::Role;
use crate::problem::Problem;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What kind of dirt a patrol found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Garbage,
    IllegalAds,
    Weeds,
    Gutter,
    Debris,
    MedicalWaste,
    Water,
    Other,
}

impl Category {
    pub const ALL: [Category; 8] = [
        Category::Garbage,
        Category::IllegalAds,
        Category::Weeds,
        Category::Gutter,
        Category::Debris,
        Category::MedicalWaste,
        Category::Water,
        Category::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Garbage => "garbage",
            Category::IllegalAds => "illegal_ads",
            Category::Weeds => "weeds",
            Category::Gutter => "gutter",
            Category::Debris => "debris",
            Category::MedicalWaste => "medical_waste",
            Category::Water => "water",
            Category::Other => "other",
        }
    }

    /// The label patrols see (zh-CN).
    pub fn label_zh(self) -> &'static str {
        match self {
            Category::Garbage => "生活垃圾",
            Category::IllegalAds => "小广告/牛皮癣",
            Category::Weeds => "杂草",
            Category::Gutter => "边沟/排水沟",
            Category::Debris => "建筑垃圾",
            Category::MedicalWaste => "医疗废物",
            Category::Water => "水体污染",
            Category::Other => "其他",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Category::Garbage => "Household garbage",
            Category::IllegalAds => "Illegal small ads",
            Category::Weeds => "Weeds",
            Category::Gutter => "Gutter / drain",
            Category::Debris => "Construction debris",
            Category::MedicalWaste => "Medical waste",
            Category::Water => "Water pollution",
            Category::Other => "Other",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Category {
    type Err = Problem;
    fn from_str(s: &str) -> Result<Self, Problem> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                let all: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
                Problem::new(
                    "unknown_category",
                    format!(
                        "unknown category {s:?}; expected one of {} (GET /api/categories lists them)",
                        all.join(", ")
                    ),
                )
                .with("value", s)
                .with("allowed", all)
            })
    }
}

/// Where a report is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// 上报: filed by a patrol.
    Reported,
    /// 派遣: sent by the street office to the responsible organisation.
    Dispatched,
    /// 处置: being handled.
    InProgress,
    /// 反馈: reported fixed, waiting for the office to verify.
    Resolved,
    /// 核查结案: verified and closed.
    Closed,
    /// Refused by the office, with a [`RejectReason`].
    Rejected,
    /// Came back after being resolved, closed or rejected.
    Reopened,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Reported,
        Status::Dispatched,
        Status::InProgress,
        Status::Resolved,
        Status::Closed,
        Status::Rejected,
        Status::Reopened,
    ];

    /// Statuses of reports still waiting for someone to act on the ground; only these count as
    /// possible duplicates of a new report.
    pub const OPEN: [Status; 4] = [
        Status::Reported,
        Status::Dispatched,
        Status::InProgress,
        Status::Reopened,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Reported => "reported",
            Status::Dispatched => "dispatched",
            Status::InProgress => "in_progress",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
            Status::Rejected => "rejected",
            Status::Reopened => "reopened",
        }
    }

    pub fn is_open(self) -> bool {
        Status::OPEN.contains(&self)
    }

    /// The label the web client shows (zh-CN).
    pub fn label_zh(self) -> &'static str {
        match self {
            Status::Reported => "已上报",
            Status::Dispatched => "已派遣",
            Status::InProgress => "处置中",
            Status::Resolved => "已处置",
            Status::Closed => "已结案",
            Status::Rejected => "已驳回",
            Status::Reopened => "已重新打开",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Status::Reported => "Reported",
            Status::Dispatched => "Dispatched",
            Status::InProgress => "In progress",
            Status::Resolved => "Resolved",
            Status::Closed => "Closed",
            Status::Rejected => "Rejected",
            Status::Reopened => "Reopened",
        }
    }

    /// The statuses `role` may change a report in this status to (admin: every allowed one),
    /// from the same table [`check_transition`] reads.
    pub fn next_for(self, role: Role) -> impl Iterator<Item = Status> {
        self.next()
            .filter(move |(_, roles)| role == Role::Admin || roles.contains(&role))
            .map(|(to, _)| to)
    }

    /// Every status this one may change to, with the roles that may do it (admin always may).
    pub fn next(self) -> impl Iterator<Item = (Status, &'static [Role])> {
        TRANSITIONS
            .iter()
            .filter(move |t| t.0 == self)
            .map(|t| (t.1, t.2))
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = Problem;
    fn from_str(s: &str) -> Result<Self, Problem> {
        Status::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                let all: Vec<&str> = Status::ALL.iter().map(|c| c.as_str()).collect();
                Problem::new(
                    "unknown_status",
                    format!("unknown status {s:?}; expected one of {}", all.join(", ")),
                )
                .with("value", s)
                .with("allowed", all)
            })
    }
}

/// Why the office rejected a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    Duplicate,
    NotResponsible,
    Invalid,
}

impl RejectReason {
    pub const ALL: [RejectReason; 3] = [
        RejectReason::Duplicate,
        RejectReason::NotResponsible,
        RejectReason::Invalid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::Duplicate => "duplicate",
            RejectReason::NotResponsible => "not_responsible",
            RejectReason::Invalid => "invalid",
        }
    }
}

impl FromStr for RejectReason {
    type Err = Problem;
    fn from_str(s: &str) -> Result<Self, Problem> {
        RejectReason::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                let all: Vec<&str> = RejectReason::ALL.iter().map(|c| c.as_str()).collect();
                Problem::new(
                    "unknown_reason",
                    format!("unknown reason {s:?}; expected one of {}", all.join(", ")),
                )
                .with("value", s)
                .with("allowed", all)
            })
    }
}

const OFFICE: &[Role] = &[Role::Office];
const OFFICE_OR_UNIT: &[Role] = &[Role::Office, Role::Unit];
const ANSWER: &[Role] = &[Role::Patrol, Role::Office, Role::Unit];

/// `(from, to, roles)`: every allowed status change. Office dispatches, closes, rejects and
/// reopens; the organisation it was dispatched to (unit) acknowledges and answers; a patrol may
/// resolve its own report. Answering needs an after-photo from a patrol or unit. Admin may do
/// everything.
const TRANSITIONS: &[(Status, Status, &[Role])] = &[
    (Status::Reported, Status::Dispatched, OFFICE),
    (Status::Reported, Status::InProgress, OFFICE),
    (
        Status::Reported,
        Status::Resolved,
        &[Role::Patrol, Role::Office],
    ),
    (Status::Reported, Status::Rejected, OFFICE),
    (Status::Dispatched, Status::InProgress, OFFICE_OR_UNIT),
    (Status::Dispatched, Status::Resolved, ANSWER),
    (Status::Dispatched, Status::Rejected, OFFICE),
    (Status::InProgress, Status::Resolved, ANSWER),
    (Status::Resolved, Status::Closed, OFFICE),
    (Status::Resolved, Status::Reopened, OFFICE),
    (Status::Closed, Status::Reopened, OFFICE),
    (Status::Rejected, Status::Reopened, OFFICE),
    (Status::Reopened, Status::Dispatched, OFFICE),
    (Status::Reopened, Status::InProgress, OFFICE),
    (
        Status::Reopened,
        Status::Resolved,
        &[Role::Patrol, Role::Office],
    ),
    (Status::Reopened, Status::Rejected, OFFICE),
];

/// Why a status change was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TransitionError {
    #[error("a report that is {from} cannot become {to}; from {from} it may become: {}", list(.allowed))]
    NotAllowed {
        from: Status,
        to: Status,
        allowed: Vec<(Status, Vec<Role>)>,
    },
    #[error("changing a report from {from} to {to} needs the role {}", role_list(.roles))]
    Forbidden {
        from: Status,
        to: Status,
        roles: Vec<Role>,
    },
    #[error("rejecting a report needs a reason: duplicate, not_responsible or invalid")]
    NeedsReason,
    #[error("a reason is only given when rejecting a report")]
    ReasonWithoutReject,
    #[error("a patrol resolves a report with an after-photo: attach it as a `photo` part (multipart/form-data)")]
    NeedsPhoto,
}

fn list(allowed: &[(Status, Vec<Role>)]) -> String {
    if allowed.is_empty() {
        return "nothing".into();
    }
    allowed
        .iter()
        .map(|(s, r)| format!("{s} ({})", role_list(r)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn role_list(r: &[Role]) -> String {
    r.iter()
        .map(|r| r.as_str())
        .chain(["admin"])
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Checks whether `role` may change a report from `from` to `to`.
pub fn check_transition(
    from: Status,
    to: Status,
    role: Role,
    reason: Option<RejectReason>,
    after_photos: usize,
) -> Result<(), TransitionError> {
    let Some(&(_, _, allowed_roles)) = TRANSITIONS.iter().find(|t| t.0 == from && t.1 == to) else {
        return Err(TransitionError::NotAllowed {
            from,
            to,
            allowed: from.next().map(|(s, r)| (s, r.to_vec())).collect(),
        });
    };
    if role != Role::Admin && !allowed_roles.contains(&role) {
        return Err(TransitionError::Forbidden {
            from,
            to,
            roles: allowed_roles.to_vec(),
        });
    }
    match (to, reason) {
        (Status::Rejected, None) => return Err(TransitionError::NeedsReason),
        (Status::Rejected, Some(_)) | (_, None) => {}
        (_, Some(_)) => return Err(TransitionError::ReasonWithoutReject),
    }
    if to == Status::Resolved && matches!(role, Role::Patrol | Role::Unit) && after_photos == 0 {
        return Err(TransitionError::NeedsPhoto);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_parse_and_label() {
        for c in Category::ALL {
            assert_eq!(c.as_str().parse::<Category>().unwrap(), c);
            assert!(!c.label_zh().is_empty());
        }
        assert_eq!(Category::IllegalAds.label_zh(), "小广告/牛皮癣");
        assert!("trash"
            .parse::<Category>()
            .unwrap_err()
            .message
            .contains("garbage"));
    }

    #[test]
    fn office_dispatches_patrol_does_not() {
        assert!(
            check_transition(Status::Reported, Status::Dispatched, Role::Office, None, 0).is_ok()
        );
        assert!(matches!(
            check_transition(Status::Reported, Status::Dispatched, Role::Patrol, None, 0),
            Err(TransitionError::Forbidden { .. })
        ));
        assert!(
            check_transition(Status::Reported, Status::Dispatched, Role::Admin, None, 0).is_ok()
        );
    }

    #[test]
    fn illegal_transition_names_the_allowed_ones() {
        let e = check_transition(Status::Closed, Status::Dispatched, Role::Office, None, 0)
            .unwrap_err();
        assert!(matches!(e, TransitionError::NotAllowed { .. }));
        let msg = e.to_string();
        assert!(msg.contains("reopened"), "{msg}");
        assert!(!msg.contains("in_progress"), "{msg}");
    }

    #[test]
    fn reject_needs_reason_and_patrol_resolve_needs_photo() {
        assert_eq!(
            check_transition(Status::Reported, Status::Rejected, Role::Office, None, 0),
            Err(TransitionError::NeedsReason)
        );
        assert!(check_transition(
            Status::Reported,
            Status::Rejected,
            Role::Office,
            Some(RejectReason::Duplicate),
            0
        )
        .is_ok());
        assert_eq!(
            check_transition(Status::Dispatched, Status::Resolved, Role::Patrol, None, 0),
            Err(TransitionError::NeedsPhoto)
        );
        assert!(
            check_transition(Status::Dispatched, Status::Resolved, Role::Patrol, None, 1).is_ok()
        );
    }

    #[test]
    fn every_status_is_reachable_and_terminal_ones_can_reopen() {
        for s in Status::ALL {
            if s != Status::Reported {
                assert!(TRANSITIONS.iter().any(|t| t.1 == s), "{s} unreachable");
            }
            assert!(s.next().count() > 0, "{s} is a dead end");
        }
    }
}
