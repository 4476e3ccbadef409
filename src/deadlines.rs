//! Time limits (工作时限) for each stage of a report, per category, as in CJ/T 315 and
//! GB/T 30428: dispatch after the report (立案派遣), handle after the dispatch (处置), verify after
//! the answer (核查结案). A report carries `due_at` for its current stage.

use crate::report::{Category, Status};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A stage of a report's life that has a time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Reported or reopened: the office must dispatch it.
    Dispatch,
    /// Dispatched or being handled: the responsible organisation must fix and answer it.
    Handle,
    /// Answered: the office must verify and close it.
    Verify,
}

impl Stage {
    pub const ALL: [Stage; 3] = [Stage::Dispatch, Stage::Handle, Stage::Verify];

    /// The label the web client shows (zh-CN).
    pub fn label_zh(self) -> &'static str {
        match self {
            Stage::Dispatch => "派遣",
            Stage::Handle => "处置",
            Stage::Verify => "核查",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Stage::Dispatch => "Dispatch",
            Stage::Handle => "Handle",
            Stage::Verify => "Verify",
        }
    }

    /// The stage a report in `status` is in; `None` when it is finished.
    pub fn of(status: Status) -> Option<Stage> {
        match status {
            Status::Reported | Status::Reopened => Some(Stage::Dispatch),
            Status::Dispatched | Status::InProgress => Some(Stage::Handle),
            Status::Resolved => Some(Stage::Verify),
            Status::Closed | Status::Rejected => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Dispatch => "dispatch",
            Stage::Handle => "handle",
            Stage::Verify => "verify",
        }
    }
}

/// Seconds each stage may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageLimits {
    pub dispatch_s: i64,
    pub handle_s: i64,
    pub verify_s: i64,
}

impl StageLimits {
    pub fn of(&self, stage: Stage) -> i64 {
        match stage {
            Stage::Dispatch => self.dispatch_s,
            Stage::Handle => self.handle_s,
            Stage::Verify => self.verify_s,
        }
    }
}

/// The limits for every category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeLimits {
    /// For categories without limits of their own.
    pub default: StageLimits,
    #[serde(default)]
    pub categories: BTreeMap<Category, StageLimits>,
}

const HOUR: i64 = 3600;

impl Default for TimeLimits {
    /// Dispatch within 2 h, handle within 24 h, verify within 24 h; medical waste and water
    /// pollution (health risks) handled within 4 h, illegal ads and weeds within 48 h.
    fn default() -> Self {
        let base = StageLimits {
            dispatch_s: 2 * HOUR,
            handle_s: 24 * HOUR,
            verify_s: 24 * HOUR,
        };
        let urgent = StageLimits {
            dispatch_s: HOUR,
            handle_s: 4 * HOUR,
            ..base
        };
        let slow = StageLimits {
            handle_s: 48 * HOUR,
            ..base
        };
        TimeLimits {
            default: base,
            categories: BTreeMap::from([
                (Category::MedicalWaste, urgent),
                (Category::Water, urgent),
                (Category::IllegalAds, slow),
                (Category::Weeds, slow),
            ]),
        }
    }
}

/// Longest limit accepted, seconds (90 days).
pub const MAX_LIMIT_S: i64 = 90 * 24 * HOUR;

impl TimeLimits {
    pub fn for_category(&self, c: Category) -> StageLimits {
        self.categories.get(&c).copied().unwrap_or(self.default)
    }

    /// When a report of `category` that entered `status` at `since_ms` is due.
    pub fn due(&self, category: Category, status: Status, since_ms: i64) -> Option<i64> {
        let stage = Stage::of(status)?;
        Some(since_ms + self.for_category(category).of(stage) * 1000)
    }

    /// Every limit between 1 s and 90 days.
    pub fn validate(&self) -> Result<(), String> {
        let check = |what: String, l: &StageLimits| {
            for (stage, v) in [
                ("dispatch_s", l.dispatch_s),
                ("handle_s", l.handle_s),
                ("verify_s", l.verify_s),
            ] {
                if !(1..=MAX_LIMIT_S).contains(&v) {
                    return Err(format!(
                        "{what}.{stage} = {v}: a time limit is between 1 and {MAX_LIMIT_S} seconds"
                    ));
                }
            }
            Ok(())
        };
        check("default".into(), &self.default)?;
        for (c, l) in &self.categories {
            check(format!("categories.{c}"), l)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_and_dues() {
        let t = TimeLimits::default();
        assert_eq!(
            t.due(Category::Garbage, Status::Reported, 0),
            Some(2 * 3600 * 1000)
        );
        assert_eq!(
            t.due(Category::MedicalWaste, Status::Dispatched, 1000),
            Some(1000 + 4 * 3600 * 1000)
        );
        assert_eq!(t.due(Category::Garbage, Status::Closed, 0), None);
        assert!(t.validate().is_ok());
        let mut bad = t.clone();
        bad.default.verify_s = 0;
        assert!(bad.validate().unwrap_err().contains("default.verify_s"));
        let parsed: TimeLimits = serde_json::from_str(
            r#"{"default":{"dispatch_s":5,"handle_s":5,"verify_s":5},"categories":{"garbage":{"dispatch_s":1,"handle_s":2,"verify_s":3}}}"#,
        )
        .unwrap();
        assert_eq!(parsed.for_category(Category::Garbage).verify_s, 3);
        assert!(serde_json::from_str::<TimeLimits>(r#"{"default":{"dispatch_s":5}}"#).is_err());
    }
}
