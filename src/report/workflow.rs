//! The closed loop's rules beyond the status table (`report::check_transition`): whose report a
//! user may change, whom a dispatch goes to, what each change announces, and what happens when
//! a stage runs late.

use crate::audit::{self, Actor};
use crate::auth::{Role, User};
use crate::problem::Problem;
use crate::report::service::{ChangeDraft, ReportError};
use crate::report::view::ReportView;
use crate::report::{check_transition, RejectReason, Status};
use crate::store::changes::{self, ChangeKind};
use crate::store::reports::{self, NewEvent, Workflow};
use crate::store::{Conn, StoreError};
use crate::webhooks::{Event, Hooks};
use serde_json::json;

/// Whether `user` may make `change` to a report in state `wf` (the status table, then the
/// report's own rules: units act only on what was dispatched or escalated to them; patrols
/// answer only reports they filed).
pub fn check_change(
    user: &User,
    wf: &Workflow,
    change: &ChangeDraft,
    photos: usize,
) -> Result<(), ReportError> {
    check_transition(wf.status, change.status, user.role, change.reason, photos)?;
    match user.role {
        Role::Unit => {
            let me = user.owner.as_deref().unwrap_or_default();
            let mine =
                wf.assigned_owner.as_deref() == Some(me) || wf.escalated_to.as_deref() == Some(me);
            if !mine {
                return Err(ReportError::NotYours(format!(
                    "report is not dispatched to {me}; only the organisation it was dispatched to may answer it"
                )));
            }
        }
        Role::Patrol if user.username != wf.created_by => {
            return Err(ReportError::NotYours(
                "this report was filed by someone else; a patrol resolves only the reports it filed itself".into(),
            ));
        }
        _ => {}
    }
    if change.status == Status::Dispatched && assignee(wf, change).is_none() {
        return Err(ReportError::Unprocessable(
            "nobody is responsible for this place; name the organisation to dispatch to in assign_to"
                .into(),
        ));
    }
    if change.duplicate_of.is_some() && change.reason != Some(RejectReason::Duplicate) {
        return Err(ReportError::Unprocessable(
            "duplicate_of goes with status rejected and reason duplicate".into(),
        ));
    }
    if change.due_at.is_some() && change.status != Status::Dispatched {
        return Err(ReportError::Rejected(Problem::new(
            "due_at_without_dispatch",
            "due_at goes with status dispatched (it sets when the dispatched work is due)",
        )));
    }
    if change.assign_to.is_some() && change.status != Status::Dispatched {
        return Err(ReportError::Unprocessable(
            "assign_to goes with status dispatched".into(),
        ));
    }
    Ok(())
}

/// A due time chosen at dispatch: later than `now` and at most the longest time limit ahead.
pub fn check_due(due_ms: i64, now_ms: i64) -> Result<(), ReportError> {
    let max_ms = crate::deadlines::MAX_LIMIT_S * 1000;
    if due_ms <= now_ms {
        return Err(ReportError::Rejected(
            Problem::new(
                "due_at_past",
                "due_at has passed; choose a time in the future",
            )
            .with("due_at", crate::time::to_rfc3339(due_ms)),
        ));
    }
    if due_ms - now_ms > max_ms {
        return Err(ReportError::Rejected(
            Problem::new(
                "due_at_too_far",
                format!(
                    "due_at is more than {} days ahead",
                    crate::deadlines::MAX_LIMIT_S / 86_400
                ),
            )
            .with("days", crate::deadlines::MAX_LIMIT_S / 86_400),
        ));
    }
    Ok(())
}

/// Whom a dispatch goes to: the organisation named, else the responsible one.
pub fn assignee(wf: &Workflow, change: &ChangeDraft) -> Option<String> {
    if change.status != Status::Dispatched {
        return None;
    }
    change
        .assign_to
        .clone()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| wf.responsible_owner.clone())
}

/// The webhook event a change to `status` raises.
pub fn event_of(status: Status) -> Option<&'static str> {
    Some(match status {
        Status::Dispatched => "report.dispatched",
        Status::Resolved => "report.resolved",
        Status::Closed => "report.closed",
        Status::Reopened => "report.reopened",
        _ => return None,
    })
}

/// An event about a report, with its Chinese message for the group robots.
pub fn report_event(name: &'static str, r: &ReportView) -> Event {
    let what = match name {
        "report.created" => "新上报",
        "report.dispatched" => "已派遣",
        "report.resolved" => "已处置，待核查",
        "report.closed" => "已结案",
        "report.reopened" => "重新受理",
        "report.overdue" => "已超时",
        "report.escalated" => "超时升级",
        _ => name,
    };
    let owner = r
        .responsible
        .as_ref()
        .and_then(|v| v.get("owner")?.get("name")?.as_str().map(String::from))
        .unwrap_or_else(|| "无责任单位".into());
    let mut lines = vec![
        format!(
            "位置：{:.6}, {:.6}（WGS84）",
            r.location.lon, r.location.lat
        ),
        format!("责任单位：{owner}"),
    ];
    if let Some(a) = &r.assigned_to {
        lines.push(format!("派遣至：{a}"));
    }
    if let Some(e) = &r.escalated_to {
        lines.push(format!("升级至：{e}"));
    }
    if let Some(d) = &r.due_at {
        lines.push(format!("期限：{}", local_time(d)));
    }
    if let Some(n) = &r.note {
        lines.push(format!("描述：{}", n.chars().take(200).collect::<String>()));
    }
    Event {
        name,
        subject: r.to_feature(),
        owners: r.owners(),
        zone_ids: r.zone_ids(),
        headline: format!("【{what}】{} · 编号 {}", r.category.label_zh(), r.id),
        lines,
    }
}

/// `2026-12-02 08:00` in the city's time (UTC+8) from an RFC 3339 string.
fn local_time(rfc3339: &str) -> String {
    crate::time::parse_rfc3339(rfc3339)
        .map(|ms| {
            let t = crate::time::to_rfc3339(ms + 8 * 3600 * 1000);
            t.get(..16).unwrap_or(&t).replace('T', " ")
        })
        .unwrap_or_else(|_| rfc3339.to_string())
}

/// What follows a new report in its transaction: the change feed, the audit row, the outbox.
pub fn created(
    c: &dyn Conn,
    hooks: &Hooks,
    origin: &str,
    actor: &Actor,
    id: i64,
) -> Result<(), StoreError> {
    let view = reports::get(c, id, false)?.ok_or_else(|| StoreError::NotFound {
        what: "report",
        id: id.to_string(),
    })?;
    let at = crate::time::parse_rfc3339(&view.created_at).unwrap_or_default();
    changes::record(c, origin, ChangeKind::Report, &id.to_string(), at)?;
    audit::record(
        c,
        actor,
        "report.create",
        Some(&format!("report:{id}")),
        json!({"category": view.category, "location": [view.location.lon, view.location.lat], "responsible": view.owners().first()}),
    )?;
    hooks.enqueue_lazy(c, "report.created", || {
        report_event("report.created", &view)
    })?;
    Ok(())
}

/// Marks one report overdue (once), escalates it to the next owner up, records the events and
/// announces them. Returns whether this call did it.
pub fn mark_overdue(
    c: &dyn Conn,
    hooks: &Hooks,
    origin: &str,
    id: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let wf = reports::workflow(c, id)?;
    // The next level up: after the one it is at, skipping the organisation already on it.
    let current = wf
        .escalated_to
        .clone()
        .or_else(|| wf.assigned_owner.clone())
        .or_else(|| wf.responsible_owner.clone());
    let next = wf
        .escalation
        .iter()
        .skip(wf.escalation_level.max(0) as usize)
        .map(|l| l.owner.name.clone())
        .find(|n| Some(n) != current.as_ref());
    if !reports::mark_overdue(c, id, now, next.as_deref())? {
        return Ok(false);
    }
    let stage = crate::deadlines::Stage::of(wf.status).map(|s| s.as_str());
    let due = wf.due_at.map(crate::time::to_rfc3339);
    let event = |kind, data| NewEvent {
        report: id,
        kind,
        status: wf.status,
        user: "system",
        note: None,
        data: Some(data),
        photos: &[],
        at: now,
    };
    reports::add_event(c, &event("overdue", json!({"stage": stage, "due_at": due})))?;
    if let Some(to) = &next {
        reports::add_event(c, &event("escalated", json!({"from": current, "to": to})))?;
    }
    changes::record(c, origin, ChangeKind::Report, &id.to_string(), now)?;
    audit::record(
        c,
        &Actor::system("deadline-sweep"),
        "report.overdue",
        Some(&format!("report:{id}")),
        json!({"stage": stage, "due_at": due, "escalated_to": next}),
    )?;
    let view = reports::get(c, id, false)?.ok_or_else(|| StoreError::NotFound {
        what: "report",
        id: id.to_string(),
    })?;
    hooks.enqueue_lazy(c, "report.overdue", || {
        report_event("report.overdue", &view)
    })?;
    if next.is_some() {
        hooks.enqueue_lazy(c, "report.escalated", || {
            report_event("report.escalated", &view)
        })?;
    }
    Ok(true)
}
