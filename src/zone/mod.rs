//! Zones: the areas and routes someone is responsible for.
//!
//! A zone is a 门前三包 responsibility zone, a grid cell (网格) of a street office or community,
//! a patrol route with a corridor width, a 脏乱差 hotspot, or a green-adoption area. Geometry is
//! WGS84 `[lon, lat]` (x = longitude) everywhere; corridor widths are metres.

mod gaps;
mod geojson;
pub mod registry;
pub mod responsibility;
mod stream;
mod validate;

pub use gaps::{offset, slivers_between, Sliver};
pub use geojson::{
    geometry_to_geojson, geometry_to_json, parse_features, stored_geometry, zone_to_feature,
    zone_to_geojson, FeatureError, ParseOptions,
};
pub use stream::for_each_feature;
pub use validate::{validate_area, validate_line, GeometryError};

use crate::crs::Bbox;
use geo::{MultiLineString, MultiPolygon};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Default maximum number of vertices in one zone geometry.
pub const DEFAULT_MAX_VERTICES: usize = 100_000;

/// What a zone is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneKind {
    /// 门前三包责任区: the ground in front of an organisation's gate.
    Responsibility,
    /// 网格: a street office, community or grid cell (see `properties.level`).
    Grid,
    /// 巡逻路线: a line with a corridor `width_m`.
    PatrolRoute,
    /// 脏乱差 hotspot, drawn by hand or detected.
    Hotspot,
    /// 绿地认领管护区: an adopted green area.
    GreenAdoption,
}

impl ZoneKind {
    pub const ALL: [ZoneKind; 5] = [
        ZoneKind::Responsibility,
        ZoneKind::Grid,
        ZoneKind::PatrolRoute,
        ZoneKind::Hotspot,
        ZoneKind::GreenAdoption,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ZoneKind::Responsibility => "responsibility",
            ZoneKind::Grid => "grid",
            ZoneKind::PatrolRoute => "patrol_route",
            ZoneKind::Hotspot => "hotspot",
            ZoneKind::GreenAdoption => "green_adoption",
        }
    }

    /// The label the web client shows (zh-CN).
    pub fn label_zh(self) -> &'static str {
        match self {
            ZoneKind::Responsibility => "门前三包责任区",
            ZoneKind::Grid => "网格",
            ZoneKind::PatrolRoute => "巡逻路线",
            ZoneKind::Hotspot => "脏乱差点位",
            ZoneKind::GreenAdoption => "绿地认养区",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            ZoneKind::Responsibility => "Frontage responsibility zone",
            ZoneKind::Grid => "Grid",
            ZoneKind::PatrolRoute => "Patrol route",
            ZoneKind::Hotspot => "Hotspot",
            ZoneKind::GreenAdoption => "Green adoption area",
        }
    }

    /// Whether this kind is a line with a corridor rather than a polygon.
    pub fn is_route(self) -> bool {
        self == ZoneKind::PatrolRoute
    }

    /// Whether a zone of this kind must name its owner.
    pub fn requires_owner(self) -> bool {
        matches!(self, ZoneKind::Responsibility | ZoneKind::GreenAdoption)
    }
}

impl fmt::Display for ZoneKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ZoneKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ZoneKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown zone kind {s:?}; expected one of responsibility, grid, patrol_route, hotspot, green_adoption"
                )
            })
    }
}

/// The six sectors (六域) an owner belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sector {
    Community,
    Village,
    Agency,
    Enterprise,
    School,
    Hospital,
}

impl Sector {
    pub const ALL: [Sector; 6] = [
        Sector::Community,
        Sector::Village,
        Sector::Agency,
        Sector::Enterprise,
        Sector::School,
        Sector::Hospital,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Sector::Community => "community",
            Sector::Village => "village",
            Sector::Agency => "agency",
            Sector::Enterprise => "enterprise",
            Sector::School => "school",
            Sector::Hospital => "hospital",
        }
    }

    /// The label the web client shows (zh-CN).
    pub fn label_zh(self) -> &'static str {
        match self {
            Sector::Community => "社区",
            Sector::Village => "乡村",
            Sector::Agency => "机关",
            Sector::Enterprise => "企业",
            Sector::School => "学校",
            Sector::Hospital => "医院",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Sector::Community => "Community",
            Sector::Village => "Village",
            Sector::Agency => "Agency",
            Sector::Enterprise => "Enterprise",
            Sector::School => "School",
            Sector::Hospital => "Hospital",
        }
    }
}

impl FromStr for Sector {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Sector::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown sector {s:?}; expected one of community, village, agency, enterprise, school, hospital"
                )
            })
    }
}

/// The organisation responsible for a zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Owner {
    pub name: String,
    pub sector: Sector,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
}

/// A zone's shape: an area, or a route with a corridor.
#[derive(Debug, Clone, PartialEq)]
pub enum ZoneGeometry {
    /// Polygon or MultiPolygon, exteriors counter-clockwise (RFC 7946).
    Area(MultiPolygon<f64>),
    /// LineString or MultiLineString; the corridor extends `width_m / 2` metres to each side.
    Route {
        line: MultiLineString<f64>,
        width_m: f64,
    },
}

impl ZoneGeometry {
    /// Bounding box of the geometry itself (not the corridor).
    pub fn bbox(&self) -> Option<Bbox> {
        use geo::BoundingRect;
        let rect = match self {
            ZoneGeometry::Area(mp) => mp.bounding_rect(),
            ZoneGeometry::Route { line, .. } => line.bounding_rect(),
        }?;
        Some(Bbox::new(
            rect.min().x,
            rect.min().y,
            rect.max().x,
            rect.max().y,
        ))
    }

    pub fn vertex_count(&self) -> usize {
        use geo::CoordsIter;
        match self {
            ZoneGeometry::Area(mp) => mp.coords_count(),
            ZoneGeometry::Route { line, .. } => line.coords_count(),
        }
    }
}

/// What a client submits for a new zone or an edit, after parsing and validation.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneDraft {
    /// Client-chosen id, or `None` to have one made.
    pub id: Option<String>,
    pub kind: ZoneKind,
    pub name: String,
    pub owner: Option<Owner>,
    pub parent: Option<String>,
    pub properties: serde_json::Map<String, serde_json::Value>,
    pub geometry: ZoneGeometry,
}

impl ZoneDraft {
    /// The zone this draft becomes at version 1, created by `user` at `now` (Unix ms).
    pub fn into_zone(self, id: String, user: &str, now: i64) -> Zone {
        Zone {
            id,
            kind: self.kind,
            name: self.name,
            owner: self.owner,
            parent: self.parent,
            properties: self.properties,
            geometry: self.geometry,
            version: 1,
            created_at: now,
            created_by: user.into(),
            updated_at: now,
            updated_by: user.into(),
            retired_at: None,
            retired_by: None,
        }
    }
}

/// A stored zone with its version and audit fields. Times are Unix milliseconds (UTC).
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    pub id: String,
    pub kind: ZoneKind,
    pub name: String,
    pub owner: Option<Owner>,
    pub parent: Option<String>,
    pub properties: serde_json::Map<String, serde_json::Value>,
    pub geometry: ZoneGeometry,
    pub version: i64,
    pub created_at: i64,
    pub created_by: String,
    pub updated_at: i64,
    pub updated_by: String,
    pub retired_at: Option<i64>,
    pub retired_by: Option<String>,
}

impl Zone {
    pub fn is_live(&self) -> bool {
        self.retired_at.is_none()
    }
}

/// Whether `id` is an acceptable zone id: 1–64 characters of `A-Z a-z 0-9 _ - .`.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}
