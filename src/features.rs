//! Zones and reports as OGC API – Features sees them: the collections, the flat properties
//! desktop GIS shows as columns, features written back in that flat form, and JSON Merge Patch.
//!
//! Flat means one column per value: a zone's owner becomes `owner_name`, `owner_sector` and
//! `owner_contact`, and every feature carries every column (null when empty), because GDAL and
//! QGIS take a layer's columns from the first page they read. The free-form properties of a zone
//! travel as one JSON object, `extra`. The HTTP handlers in `http::ogc` only parse and encode;
//! what a column is and how a feature becomes a [`ZoneDraft`] is decided here.

use crate::report::view::ReportView;
use crate::report::{Category, Status};
use crate::store::reports::Summary;
use crate::zone::{
    parse_features, FeatureError, ParseOptions, Sector, Zone, ZoneDraft, ZoneGeometry, ZoneKind,
};
use geo::{LineString, MultiLineString, MultiPolygon, Point, Polygon};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::{json, Map, Value};
use std::borrow::Cow;

/// A collection of `/ogc/collections`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    /// Every live zone (`None`) or those of one kind.
    Zones(Option<ZoneKind>),
    /// Inspection reports (read-only).
    Reports,
}

impl Collection {
    /// Every collection, in the order `/ogc/collections` lists them.
    pub fn all() -> Vec<Collection> {
        std::iter::once(Collection::Zones(None))
            .chain(
                ZoneKind::ALL
                    .into_iter()
                    .map(|k| Collection::Zones(Some(k))),
            )
            .chain(std::iter::once(Collection::Reports))
            .collect()
    }

    pub fn parse(id: &str) -> Option<Collection> {
        match id {
            "zones" => Some(Collection::Zones(None)),
            "reports" => Some(Collection::Reports),
            other => other
                .parse::<ZoneKind>()
                .ok()
                .map(|k| Collection::Zones(Some(k))),
        }
    }

    pub fn id(self) -> &'static str {
        match self {
            Collection::Zones(None) => "zones",
            Collection::Zones(Some(k)) => k.as_str(),
            Collection::Reports => "reports",
        }
    }

    /// Chinese first, English after.
    pub fn title(self) -> &'static str {
        match self {
            Collection::Zones(None) => "全部区域 All zones",
            Collection::Zones(Some(ZoneKind::Responsibility)) => {
                "门前三包责任区 Responsibility zones"
            }
            Collection::Zones(Some(ZoneKind::Grid)) => "网格 Grid cells",
            Collection::Zones(Some(ZoneKind::PatrolRoute)) => "巡逻路线 Patrol routes",
            Collection::Zones(Some(ZoneKind::Hotspot)) => "脏乱差热点 Hotspots",
            Collection::Zones(Some(ZoneKind::GreenAdoption)) => {
                "绿地认领管护区 Green-adoption areas"
            }
            Collection::Reports => "巡查上报 Inspection reports",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Collection::Zones(_) => "Live zones with their owner as flat columns (owner_name, owner_sector, owner_contact) and free properties in `extra`. The temporal property is `updated_at`, the time of the current version. Planners and admins may create, replace, patch and retire features here (OGC API – Features Part 4).",
            Collection::Reports => "Reports filed by patrols, with the zones and responsible owner stored at submission. The temporal property is `captured_at`, when the photo was taken. Read-only.",
        }
    }

    pub fn kind(self) -> Option<ZoneKind> {
        match self {
            Collection::Zones(k) => k,
            Collection::Reports => None,
        }
    }

    pub fn is_zones(self) -> bool {
        matches!(self, Collection::Zones(_))
    }

    /// The queryable columns of the collection's features.
    pub fn fields(self) -> &'static [Field] {
        match self {
            Collection::Zones(_) => ZONE_FIELDS,
            Collection::Reports => REPORT_FIELDS,
        }
    }

    /// The column that `datetime` filters on.
    pub fn time_field(self) -> &'static str {
        match self {
            Collection::Zones(_) => "updated_at",
            Collection::Reports => "captured_at",
        }
    }

    /// Whether a zone belongs to this collection.
    pub fn holds(self, zone: &Zone) -> bool {
        matches!(self, Collection::Zones(k) if k.is_none_or(|k| k == zone.kind))
    }
}

/// The JSON Schema type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    String,
    Number,
    Integer,
    Boolean,
    /// RFC 3339 text in JSON; Unix milliseconds in a [`FieldValue::Time`].
    DateTime,
    /// A JSON object (a zone's `extra`).
    Object,
}

impl FieldType {
    /// `(type, format)` in JSON Schema.
    pub fn json_schema(self) -> (&'static str, Option<&'static str>) {
        match self {
            FieldType::String => ("string", None),
            FieldType::Number => ("number", None),
            FieldType::Integer => ("integer", None),
            FieldType::Boolean => ("boolean", None),
            FieldType::DateTime => ("string", Some("date-time")),
            FieldType::Object => ("object", None),
        }
    }
}

/// One column of a collection.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub ty: FieldType,
    pub title: &'static str,
    /// For columns with a closed set of values: which.
    pub values: Option<fn() -> Vec<&'static str>>,
}

const fn field(name: &'static str, ty: FieldType, title: &'static str) -> Field {
    Field {
        name,
        ty,
        title,
        values: None,
    }
}

fn kinds() -> Vec<&'static str> {
    ZoneKind::ALL.iter().map(|k| k.as_str()).collect()
}
fn sectors() -> Vec<&'static str> {
    Sector::ALL.iter().map(|s| s.as_str()).collect()
}
fn categories() -> Vec<&'static str> {
    Category::ALL.iter().map(|c| c.as_str()).collect()
}
fn statuses() -> Vec<&'static str> {
    Status::ALL.iter().map(|s| s.as_str()).collect()
}

use FieldType as T;

/// The columns of a zone feature, in order (besides the feature's `id`).
pub const ZONE_FIELDS: &[Field] = &[
    Field {
        values: Some(kinds),
        ..field("kind", T::String, "类型 kind")
    },
    field("name", T::String, "名称 name"),
    field("owner_name", T::String, "责任单位 owner"),
    Field {
        values: Some(sectors),
        ..field("owner_sector", T::String, "领域 sector")
    },
    field("owner_contact", T::String, "联系方式 contact"),
    field("parent", T::String, "上级区域 parent zone id"),
    field("width_m", T::Number, "巡逻带宽度（米） corridor width, m"),
    field("version", T::Integer, "版本 version"),
    field("created_at", T::DateTime, "创建时间 created at"),
    field("created_by", T::String, "创建人 created by"),
    field("updated_at", T::DateTime, "更新时间 updated at"),
    field("updated_by", T::String, "更新人 updated by"),
    field("extra", T::Object, "其他属性 other properties"),
];

/// The columns of a report feature, in order (besides the feature's `id`).
pub const REPORT_FIELDS: &[Field] = &[
    Field {
        values: Some(categories),
        ..field("category", T::String, "类别 category")
    },
    field("category_zh", T::String, "类别（中文） category in Chinese"),
    Field {
        values: Some(statuses),
        ..field("status", T::String, "状态 status")
    },
    field("note", T::String, "描述 note"),
    field("captured_at", T::DateTime, "拍摄时间 captured at"),
    field("created_at", T::DateTime, "上报时间 reported at"),
    field("updated_at", T::DateTime, "更新时间 updated at"),
    field("responsible_name", T::String, "责任单位 responsible owner"),
    Field {
        values: Some(sectors),
        ..field("responsible_sector", T::String, "领域 sector")
    },
    field("responsible_contact", T::String, "联系方式 contact"),
    field(
        "responsible_zone_id",
        T::String,
        "责任区 responsible zone id",
    ),
    field("ambiguous", T::Boolean, "边界不明 ambiguous"),
    field(
        "zone_ids",
        T::String,
        "所在区域 matched zone ids, comma-separated",
    ),
    field("photo_count", T::Integer, "照片数 photos"),
];

/// Zone columns a client may write; the others are kept by the server.
const WRITABLE_ZONE_FIELDS: &[&str] = &[
    "kind",
    "name",
    "owner_name",
    "owner_sector",
    "owner_contact",
    "parent",
    "width_m",
    "extra",
];
/// Columns the server keeps, ignored when a client sends them back (desktop GIS sends every column).
const SERVER_ZONE_FIELDS: &[&str] = &[
    "version",
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
    "retired_at",
    "retired_by",
    "id",
];

/// One column's value of one feature.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue<'a> {
    Null,
    Str(Cow<'a, str>),
    Num(f64),
    Int(i64),
    Bool(bool),
    /// Unix milliseconds.
    Time(i64),
    Object(&'a Map<String, Value>),
}

impl FieldValue<'_> {
    pub fn to_json(&self) -> Value {
        match self {
            FieldValue::Null => Value::Null,
            FieldValue::Str(s) => Value::String(s.to_string()),
            FieldValue::Num(n) => json!(n),
            FieldValue::Int(n) => json!(n),
            FieldValue::Bool(b) => json!(b),
            FieldValue::Time(ms) => Value::String(crate::time::to_rfc3339(*ms)),
            FieldValue::Object(m) => Value::Object((*m).clone()),
        }
    }

    /// The value as query-string text (for `?name=value` filters).
    pub fn as_text(&self) -> Option<String> {
        match self {
            FieldValue::Null | FieldValue::Object(_) => None,
            FieldValue::Str(s) => Some(s.to_string()),
            FieldValue::Num(n) => Some(n.to_string()),
            FieldValue::Int(n) => Some(n.to_string()),
            FieldValue::Bool(b) => Some(b.to_string()),
            FieldValue::Time(ms) => Some(crate::time::to_rfc3339(*ms)),
        }
    }
}

/// A feature's shape, for spatial filters.
pub enum Shape<'a> {
    Area(&'a MultiPolygon<f64>),
    Line(&'a MultiLineString<f64>),
    Point(Point<f64>),
}

impl Shape<'_> {
    /// Whether the shape and `g` share a point (boundaries included).
    pub fn intersects(&self, g: &geo::Geometry<f64>) -> bool {
        use geo::Intersects;
        match self {
            Shape::Area(mp) => mp.intersects(g),
            Shape::Line(ml) => ml.intersects(g),
            Shape::Point(p) => p.intersects(g),
        }
    }
}

/// A feature whose columns can be read by name (for filters) and listed (for output).
pub trait Record {
    /// The value of column `name` (one of the collection's [`Field`]s); `Null` for others.
    fn field(&self, name: &str) -> FieldValue<'_>;
    fn shape(&self) -> Shape<'_>;
}

impl Record for Zone {
    fn field(&self, name: &str) -> FieldValue<'_> {
        let s = |v: &str| FieldValue::Str(Cow::Owned(v.to_string()));
        match name {
            "id" => s(&self.id),
            "kind" => FieldValue::Str(Cow::Borrowed(self.kind.as_str())),
            "name" => FieldValue::Str(Cow::Borrowed(&self.name)),
            "owner_name" => self.owner.as_ref().map_or(FieldValue::Null, |o| {
                FieldValue::Str(Cow::Borrowed(&o.name))
            }),
            "owner_sector" => self.owner.as_ref().map_or(FieldValue::Null, |o| {
                FieldValue::Str(Cow::Borrowed(o.sector.as_str()))
            }),
            "owner_contact" => self
                .owner
                .as_ref()
                .and_then(|o| o.contact.as_deref())
                .map_or(FieldValue::Null, |c| FieldValue::Str(Cow::Borrowed(c))),
            "parent" => self
                .parent
                .as_deref()
                .map_or(FieldValue::Null, |p| FieldValue::Str(Cow::Borrowed(p))),
            "width_m" => match &self.geometry {
                ZoneGeometry::Route { width_m, .. } => FieldValue::Num(*width_m),
                ZoneGeometry::Area(_) => FieldValue::Null,
            },
            "version" => FieldValue::Int(self.version),
            "created_at" => FieldValue::Time(self.created_at),
            "created_by" => FieldValue::Str(Cow::Borrowed(&self.created_by)),
            "updated_at" => FieldValue::Time(self.updated_at),
            "updated_by" => FieldValue::Str(Cow::Borrowed(&self.updated_by)),
            "extra" => FieldValue::Object(&self.properties),
            _ => FieldValue::Null,
        }
    }

    fn shape(&self) -> Shape<'_> {
        match &self.geometry {
            ZoneGeometry::Area(mp) => Shape::Area(mp),
            ZoneGeometry::Route { line, .. } => Shape::Line(line),
        }
    }
}

/// A report as a row of the `reports` collection.
#[derive(Debug, Clone)]
pub struct ReportRow {
    pub id: i64,
    pub lon: f64,
    pub lat: f64,
    pub category: Category,
    pub status: Status,
    pub note: Option<String>,
    pub captured_at: i64,
    pub created_at: i64,
    pub updated_at: Option<i64>,
    pub responsible: Option<Value>,
    pub ambiguous: bool,
    pub zone_ids: Vec<String>,
    pub photo_count: usize,
}

impl From<Summary> for ReportRow {
    fn from(s: Summary) -> Self {
        ReportRow {
            id: s.id,
            lon: s.lon,
            lat: s.lat,
            category: s.category,
            status: s.status,
            note: s.note,
            captured_at: s.captured_at,
            created_at: s.created_at,
            updated_at: None,
            responsible: s.responsible,
            ambiguous: s.ambiguous,
            zone_ids: s.zone_ids,
            photo_count: s.photo_ids.len(),
        }
    }
}

impl From<&ReportView> for ReportRow {
    fn from(v: &ReportView) -> Self {
        let t = |s: &str| crate::time::parse_rfc3339(s).unwrap_or(0);
        ReportRow {
            id: v.id,
            lon: v.location.lon,
            lat: v.location.lat,
            category: v.category,
            status: v.status,
            note: v.note.clone(),
            captured_at: t(&v.captured_at),
            created_at: t(&v.created_at),
            updated_at: Some(t(&v.updated_at)),
            responsible: v.responsible.clone(),
            ambiguous: v.ambiguous,
            zone_ids: v
                .zones
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|m| m["id"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            photo_count: v.photos.len(),
        }
    }
}

impl Record for ReportRow {
    fn field(&self, name: &str) -> FieldValue<'_> {
        let resp = |k: &str| match self.responsible.as_ref().and_then(|r| r.pointer(k)) {
            Some(Value::String(s)) => FieldValue::Str(Cow::Borrowed(s.as_str())),
            _ => FieldValue::Null,
        };
        match name {
            "id" => FieldValue::Int(self.id),
            "category" => FieldValue::Str(Cow::Borrowed(self.category.as_str())),
            "category_zh" => FieldValue::Str(Cow::Borrowed(self.category.label_zh())),
            "status" => FieldValue::Str(Cow::Borrowed(self.status.as_str())),
            "note" => self
                .note
                .as_deref()
                .map_or(FieldValue::Null, |n| FieldValue::Str(Cow::Borrowed(n))),
            "captured_at" => FieldValue::Time(self.captured_at),
            "created_at" => FieldValue::Time(self.created_at),
            "updated_at" => self.updated_at.map_or(FieldValue::Null, FieldValue::Time),
            "responsible_name" => resp("/owner/name"),
            "responsible_sector" => resp("/owner/sector"),
            "responsible_contact" => resp("/owner/contact"),
            "responsible_zone_id" => resp("/zone_id"),
            "ambiguous" => FieldValue::Bool(self.ambiguous),
            "zone_ids" => FieldValue::Str(Cow::Owned(self.zone_ids.join(","))),
            "photo_count" => FieldValue::Int(self.photo_count as i64),
            _ => FieldValue::Null,
        }
    }

    fn shape(&self) -> Shape<'_> {
        Shape::Point(Point::new(self.lon, self.lat))
    }
}

/// Every column of a record as a flat JSON object (nulls included).
pub fn flat_properties(r: &dyn Record, fields: &[Field]) -> Map<String, Value> {
    fields
        .iter()
        .map(|f| (f.name.to_string(), r.field(f.name).to_json()))
        .collect()
}

/// A record as a GeoJSON Feature with flat properties and `links`, ready to serialize (the
/// geometry is written straight from the zone, without an intermediate JSON tree).
pub struct FeatureOut<'a> {
    pub id: Value,
    pub shape: Shape<'a>,
    pub properties: Map<String, Value>,
    pub links: Vec<Value>,
}

impl<'a> FeatureOut<'a> {
    pub fn zone(z: &'a Zone, links: Vec<Value>) -> Self {
        FeatureOut {
            id: Value::String(z.id.clone()),
            shape: z.shape(),
            properties: flat_properties(z, ZONE_FIELDS),
            links,
        }
    }

    pub fn report(r: &'a ReportRow, links: Vec<Value>) -> Self {
        FeatureOut {
            id: json!(r.id),
            shape: r.shape(),
            properties: flat_properties(r, REPORT_FIELDS),
            links,
        }
    }
}

impl Serialize for FeatureOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(5))?;
        m.serialize_entry("type", "Feature")?;
        m.serialize_entry("id", &self.id)?;
        m.serialize_entry("geometry", &GeometryJson(&self.shape))?;
        m.serialize_entry("properties", &self.properties)?;
        m.serialize_entry("links", &self.links)?;
        m.end()
    }
}

/// A shape as a GeoJSON geometry (RFC 7946, `[lon, lat]`).
struct GeometryJson<'a>(&'a Shape<'a>);

struct Coords<'a>(&'a LineString<f64>);
struct Rings<'a>(&'a Polygon<f64>);
struct Polygons<'a>(&'a MultiPolygon<f64>);
struct Lines<'a>(&'a MultiLineString<f64>);

impl Serialize for Coords<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0 .0.len()))?;
        for c in &self.0 .0 {
            seq.serialize_element(&[c.x, c.y])?;
        }
        seq.end()
    }
}

impl Serialize for Rings<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(1 + self.0.interiors().len()))?;
        seq.serialize_element(&Coords(self.0.exterior()))?;
        for r in self.0.interiors() {
            seq.serialize_element(&Coords(r))?;
        }
        seq.end()
    }
}

impl Serialize for Polygons<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0 .0.len()))?;
        for p in &self.0 .0 {
            seq.serialize_element(&Rings(p))?;
        }
        seq.end()
    }
}

impl Serialize for Lines<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0 .0.len()))?;
        for l in &self.0 .0 {
            seq.serialize_element(&Coords(l))?;
        }
        seq.end()
    }
}

impl Serialize for GeometryJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        match self.0 {
            Shape::Area(mp) if mp.0.len() == 1 => {
                m.serialize_entry("type", "Polygon")?;
                m.serialize_entry("coordinates", &Rings(&mp.0[0]))?;
            }
            Shape::Area(mp) => {
                m.serialize_entry("type", "MultiPolygon")?;
                m.serialize_entry("coordinates", &Polygons(mp))?;
            }
            Shape::Line(ml) if ml.0.len() == 1 => {
                m.serialize_entry("type", "LineString")?;
                m.serialize_entry("coordinates", &Coords(&ml.0[0]))?;
            }
            Shape::Line(ml) => {
                m.serialize_entry("type", "MultiLineString")?;
                m.serialize_entry("coordinates", &Lines(ml))?;
            }
            Shape::Point(p) => {
                m.serialize_entry("type", "Point")?;
                m.serialize_entry("coordinates", &[p.x(), p.y()])?;
            }
        }
        m.end()
    }
}

/// A zone as the flat Feature JSON that a client edits (for JSON Merge Patch).
pub fn zone_flat_json(z: &Zone) -> Value {
    serde_json::to_value(FeatureOut::zone(z, Vec::new())).unwrap_or(Value::Null)
}

/// Turns a submitted Feature (flat columns as served, or the nested form of `/api/zones`) into
/// a validated draft for `collection`. The id comes from the URL (`id`) or the feature.
pub fn draft_from_feature(
    collection: Collection,
    feature: &Value,
    id: Option<&str>,
    max_vertices: usize,
) -> Result<ZoneDraft, FeatureError> {
    let native = native_feature(collection, feature, id)?;
    let opts = ParseOptions {
        default_kind: collection.kind(),
        max_vertices,
    };
    let mut results = parse_features(&native, opts).map_err(|reason| FeatureError {
        index: 0,
        id: id.map(str::to_string),
        reason,
        code: "invalid_feature",
        location: None,
    })?;
    let draft = results.pop().unwrap_or_else(|| {
        Err(FeatureError {
            index: 0,
            id: None,
            reason: "expected one Feature".into(),
            code: "invalid_feature",
            location: None,
        })
    })?;
    if let Some(k) = collection.kind() {
        if draft.kind != k {
            return Err(FeatureError {
                index: 0,
                id: draft.id.clone(),
                reason: format!(
                    "this is the {k} collection, but the feature's kind is {}; post it to /ogc/collections/{}/items or /ogc/collections/zones/items",
                    draft.kind, draft.kind
                ),
                code: "invalid_feature",
                location: None,
            });
        }
    }
    Ok(draft)
}

fn non_empty(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null() && v.as_str() != Some(""))
}

/// The flat form of a feature rewritten into the nested form `zone::parse_features` reads.
fn native_feature(
    collection: Collection,
    f: &Value,
    id: Option<&str>,
) -> Result<Value, FeatureError> {
    let fail = |reason: String| FeatureError {
        index: 0,
        id: id.map(str::to_string),
        reason,
        code: "invalid_feature",
        location: None,
    };
    let Some(obj) = f.as_object() else {
        return Err(fail("the body must be a GeoJSON Feature object".into()));
    };
    match obj.get("type").and_then(Value::as_str) {
        Some("Feature") => {}
        Some("FeatureCollection") => {
            return Err(fail(
                "send one Feature per request (a FeatureCollection can be posted to /api/zones)"
                    .into(),
            ))
        }
        _ => {
            return Err(fail(
                "the body must be a GeoJSON Feature (\"type\": \"Feature\")".into(),
            ))
        }
    }
    let empty = Map::new();
    let props = match obj.get("properties") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(m)) => m,
        Some(_) => return Err(fail("\"properties\" must be an object".into())),
    };
    let mut out = Map::new();
    for (k, v) in props {
        let k = k.as_str();
        if SERVER_ZONE_FIELDS.contains(&k)
            || matches!(k, "owner_name" | "owner_sector" | "owner_contact" | "extra")
        {
            continue;
        }
        if WRITABLE_ZONE_FIELDS.contains(&k) || matches!(k, "owner" | "properties") {
            if !v.is_null() && v.as_str() != Some("") {
                out.insert(k.to_string(), v.clone());
            }
            continue;
        }
        return Err(fail(format!(
            "unknown property {k:?}; the writable properties are {} (put anything else in \"extra\")",
            WRITABLE_ZONE_FIELDS.join(", ")
        )));
    }
    let (name, sector, contact) = (
        non_empty(props.get("owner_name")),
        non_empty(props.get("owner_sector")),
        non_empty(props.get("owner_contact")),
    );
    if name.is_some() || sector.is_some() || contact.is_some() {
        if out.contains_key("owner") {
            return Err(fail(
                "send the owner either as owner_name/owner_sector/owner_contact or as \"owner\", not both".into(),
            ));
        }
        let (Some(name), Some(sector)) = (name, sector) else {
            return Err(fail(
                "an owner needs both owner_name and owner_sector (community, village, agency, enterprise, school, hospital)".into(),
            ));
        };
        let mut owner = json!({"name": name, "sector": sector});
        if let Some(c) = contact {
            owner["contact"] = c.clone();
        }
        out.insert("owner".into(), owner);
    }
    match non_empty(props.get("extra")) {
        None => {}
        Some(Value::Object(m)) => {
            out.insert("properties".into(), Value::Object(m.clone()));
        }
        // GDAL and QGIS may send a JSON column back as text.
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => {
                out.insert("properties".into(), Value::Object(m));
            }
            _ => return Err(fail("\"extra\" must be a JSON object".into())),
        },
        Some(_) => return Err(fail("\"extra\" must be a JSON object".into())),
    }
    if let (Some(k), None) = (collection.kind(), out.get("kind")) {
        out.insert("kind".into(), json!(k));
    }
    let body_id = match obj.get("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(_) => return Err(fail("\"id\" must be a string".into())),
    };
    let id = match (id, body_id) {
        (Some(url), Some(body)) if url != body => {
            return Err(fail(format!(
            "the feature's id {body:?} differs from the URL's {url:?}; a zone's id cannot change"
        )))
        }
        (Some(url), _) => Some(url.to_string()),
        (None, body) => body,
    };
    let mut native = json!({
        "type": "Feature",
        "geometry": obj.get("geometry").cloned().unwrap_or(Value::Null),
        "properties": out,
    });
    if let Some(id) = id {
        native["id"] = json!(id);
    }
    Ok(native)
}

/// Applies a JSON Merge Patch (RFC 7396) to `target`.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let t = target.as_object_mut().expect("made an object above");
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
        } else {
            merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_patch_follows_rfc_7396_examples() {
        // RFC 7396, Appendix A (a selection).
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (
                json!({"a": "b"}),
                json!({"b": "c"}),
                json!({"a": "b", "b": "c"}),
            ),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (
                json!({"a": [{"b": "c"}]}),
                json!({"a": [1]}),
                json!({"a": [1]}),
            ),
            (
                json!({"e": null}),
                json!({"a": 1}),
                json!({"e": null, "a": 1}),
            ),
            (
                json!([1, 2]),
                json!({"a": "b", "c": null}),
                json!({"a": "b"}),
            ),
            (
                json!({}),
                json!({"a": {"bb": {"ccc": null}}}),
                json!({"a": {"bb": {}}}),
            ),
        ];
        for (mut target, patch, want) in cases {
            merge_patch(&mut target, &patch);
            assert_eq!(target, want, "patch {patch}");
        }
    }

    #[test]
    fn flat_owner_columns_become_the_owner() {
        let f = json!({
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [[[126.419, 41.94], [126.42, 41.94], [126.42, 41.9404], [126.419, 41.9404], [126.419, 41.94]]]},
            "properties": {"name": "一中门前", "owner_name": "白山市第一中学", "owner_sector": "school",
                           "owner_contact": null, "version": 7, "extra": "{\"street\":\"人民路\"}"}
        });
        let d = draft_from_feature(
            Collection::Zones(Some(ZoneKind::Responsibility)),
            &f,
            Some("z1"),
            1000,
        )
        .unwrap();
        assert_eq!(d.id.as_deref(), Some("z1"));
        assert_eq!(d.kind, ZoneKind::Responsibility);
        let o = d.owner.unwrap();
        assert_eq!(
            (o.name.as_str(), o.sector, o.contact),
            ("白山市第一中学", Sector::School, None)
        );
        assert_eq!(d.properties["street"], "人民路");
        let e = draft_from_feature(Collection::Zones(None), &f, None, 1000).unwrap_err();
        assert!(e.reason.contains("kind"), "{}", e.reason);
        let mut bad = f.clone();
        bad["properties"]["colour"] = json!("red");
        let e = draft_from_feature(
            Collection::Zones(Some(ZoneKind::Responsibility)),
            &bad,
            None,
            1000,
        )
        .unwrap_err();
        assert!(e.reason.contains("colour"), "{}", e.reason);
    }
}
