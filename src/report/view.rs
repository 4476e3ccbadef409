//! A report as the API shows it: its view, its events and its photos' URLs, built once for
//! every endpoint (lists, single reads, OGC, Open311, webhooks, work orders).

use crate::report::{Category, RejectReason, Status};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Serialize)]
pub struct LonLat {
    pub lon: f64,
    pub lat: f64,
}

/// A photo as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PhotoRef {
    pub id: String,
    pub url: String,
    pub thumb_url: String,
    pub width: u32,
    pub height: u32,
}

/// Where the API serves photo `id`, shrunk for display.
pub fn photo_url(id: &str) -> String {
    format!("/api/photos/{id}")
}

/// Where the API serves photo `id`'s thumbnail.
pub fn thumb_url(id: &str) -> String {
    format!("/api/photos/{id}/thumb")
}

impl PhotoRef {
    pub fn new(id: String, width: u32, height: u32) -> Self {
        PhotoRef {
            url: photo_url(&id),
            thumb_url: thumb_url(&id),
            id,
            width,
            height,
        }
    }
}

/// One change in a report's life.
#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    pub id: i64,
    /// `status` (a change of status), `overdue`, `escalated`, `update` (more photos or a note on
    /// the same problem), `assigned`.
    pub kind: String,
    pub at: String,
    pub user: String,
    pub from: Option<Status>,
    pub to: Status,
    pub note: Option<String>,
    pub reason: Option<RejectReason>,
    pub photos: Vec<PhotoRef>,
    /// What the event says beyond the status (the stage that ran late, whom it went to).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

/// A report as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ReportView {
    pub id: i64,
    pub client_id: Option<String>,
    pub location: LonLat,
    pub accuracy_m: Option<f64>,
    pub location_source: String,
    pub category: Category,
    pub status: Status,
    pub reject_reason: Option<RejectReason>,
    pub note: Option<String>,
    pub captured_at: String,
    pub created_at: String,
    pub updated_at: String,
    pub created_by: String,
    pub zones: Value,
    pub responsible: Option<Value>,
    pub ambiguous: bool,
    /// Photos taken at submission.
    pub photos: Vec<PhotoRef>,
    pub possible_duplicates: Vec<i64>,
    /// The organisation it was dispatched to.
    pub assigned_to: Option<String>,
    /// When its current stage is due (RFC 3339); `None` when finished or without a limit.
    pub due_at: Option<String>,
    /// Its current stage ran past `due_at`.
    pub overdue: bool,
    /// Whom it went to after running late.
    pub escalated_to: Option<String>,
    /// Who is next up, deepest first (the grid above the point at submission).
    pub escalation: Value,
    /// The report this one duplicates (when rejected as a duplicate).
    pub duplicate_of: Option<i64>,
    /// Reports rejected as duplicates of this one (filled with the events).
    pub duplicated_by: Vec<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<EventView>>,
}

impl ReportView {
    /// The report as a GeoJSON Feature (`[lon, lat]` point, the rest as properties).
    pub fn to_feature(&self) -> Value {
        let mut props = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Some(o) = props.as_object_mut() {
            o.remove("location");
        }
        serde_json::json!({
            "type": "Feature",
            "id": self.id,
            "geometry": {"type": "Point", "coordinates": [self.location.lon, self.location.lat]},
            "properties": props,
        })
    }

    /// Organisations the report concerns: responsible, assigned, escalated to.
    pub fn owners(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .responsible
            .as_ref()
            .and_then(|r| r.get("owner")?.get("name")?.as_str().map(String::from))
            .into_iter()
            .chain(self.assigned_to.clone())
            .chain(self.escalated_to.clone())
            .collect();
        out.dedup();
        out
    }

    /// Ids of the zones it matched.
    pub fn zone_ids(&self) -> Vec<String> {
        self.zones
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|z| z.get("id")?.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }
}
