//! GeoJSON (RFC 7946) ⇄ zones, with a human reason for every rejected feature.
//!
//! Parsing is done on `serde_json::Value` by hand so that each error can name the feature's
//! index, the property or coordinate at fault, and where on the map it is, and so that one bad
//! feature never stops the rest (the `geojson` crate's `FeatureReader` loses its place after a
//! malformed feature and its errors name no feature; see bench/README.md). Writing uses the
//! `geojson` crate's `Feature` and `Geometry`.

use super::validate::{validate_area, validate_line, GeometryError};
use super::{is_valid_id, Owner, Zone, ZoneDraft, ZoneGeometry, ZoneKind};
use geo::{Coord, LineString, MultiLineString, MultiPolygon, Polygon};
use serde::Serialize;
use serde_json::{json, Map, Value};

/// Why one feature of a submission was rejected.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeatureError {
    /// Position of the feature in the submitted collection (0 for a single Feature).
    pub index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub reason: String,
    /// A stable machine code for the reason (`invalid_feature` when no finer one applies).
    pub code: &'static str,
    /// `[lon, lat]` of the offending place, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<[f64; 2]>,
}

/// Options for parsing submitted zones.
#[derive(Debug, Clone, Copy)]
pub struct ParseOptions {
    /// Kind used when a feature has no `kind` property (e.g. `xuncha import --kind`).
    pub default_kind: Option<ZoneKind>,
    pub max_vertices: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            default_kind: None,
            max_vertices: super::DEFAULT_MAX_VERTICES,
        }
    }
}

/// A number for an error message: as written when short, in exponent form when huge or tiny
/// (`1e300` would otherwise print as 301 digits).
fn num(v: f64) -> String {
    let plain = v.to_string();
    if plain.len() <= 24 {
        plain
    } else {
        format!("{v:e}")
    }
}

/// Parses a Feature or FeatureCollection into drafts; one result per feature, in order.
/// Returns `Err` only when the document as a whole is not a Feature or FeatureCollection.
pub fn parse_features(
    doc: &Value,
    opts: ParseOptions,
) -> Result<Vec<Result<ZoneDraft, FeatureError>>, String> {
    match doc.get("type").and_then(Value::as_str) {
        Some("Feature") => Ok(vec![parse_feature(0, doc, opts)]),
        Some("FeatureCollection") => {
            let features = doc
                .get("features")
                .and_then(Value::as_array)
                .ok_or("a FeatureCollection needs a \"features\" array")?;
            Ok(features
                .iter()
                .enumerate()
                .map(|(i, f)| parse_feature(i, f, opts))
                .collect())
        }
        Some(other) => Err(format!(
            "expected a GeoJSON Feature or FeatureCollection, got type {other:?}"
        )),
        None => Err("expected a GeoJSON Feature or FeatureCollection (no \"type\" member)".into()),
    }
}

pub(crate) fn parse_feature(
    index: usize,
    f: &Value,
    opts: ParseOptions,
) -> Result<ZoneDraft, FeatureError> {
    let id = match f.get("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(_) => {
            return Err(err(index, None, "\"id\" must be a string or number", None));
        }
    };
    let failc = |code: &'static str, reason: String, location: Option<[f64; 2]>| FeatureError {
        index,
        id: id.clone(),
        reason,
        code,
        location,
    };
    let fail =
        |reason: String, location: Option<[f64; 2]>| failc("invalid_feature", reason, location);
    if let Some(id) = &id {
        if !is_valid_id(id) {
            return Err(fail(
                format!("id {id:?} must be 1–64 characters of letters, digits, '_', '-' or '.'"),
                None,
            ));
        }
    }
    if f.get("type").and_then(Value::as_str) != Some("Feature") {
        return Err(fail("each element must be a GeoJSON Feature".into(), None));
    }
    let empty = Map::new();
    let props = match f.get("properties") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(m)) => m,
        Some(_) => return Err(fail("\"properties\" must be an object".into(), None)),
    };
    let kind = match props.get("kind") {
        Some(Value::String(s)) => s.parse::<ZoneKind>().map_err(|e| fail(e, None))?,
        None | Some(Value::Null) => opts.default_kind.ok_or_else(|| {
            fail(
                "properties.kind is missing; use one of responsibility, grid, patrol_route, hotspot, green_adoption".into(),
                None,
            )
        })?,
        Some(_) => return Err(fail("properties.kind must be a string".into(), None)),
    };
    let name = match props.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        _ => {
            return Err(failc(
                "zone_name_required",
                "properties.name must be a non-empty string".into(),
                None,
            ))
        }
    };
    if name.chars().count() > 200 {
        return Err(failc(
            "zone_name_too_long",
            "properties.name is longer than 200 characters".into(),
            None,
        ));
    }
    let owner = match props.get("owner") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            serde_json::from_value::<Owner>(v.clone())
                .map_err(|e| failc("zone_owner_invalid", format!("properties.owner: {e}"), None))?,
        ),
    };
    if let Some(o) = &owner {
        if o.name.trim().is_empty() {
            return Err(failc(
                "zone_owner_required",
                "properties.owner.name must not be empty".into(),
                None,
            ));
        }
    }
    if owner.is_none() && kind.requires_owner() {
        return Err(failc(
            "zone_owner_required",
            format!("a {kind} zone needs properties.owner {{\"name\", \"sector\", \"contact\"}}"),
            None,
        ));
    }
    let parent = match props.get("parent") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if is_valid_id(s) => Some(s.clone()),
        Some(_) => {
            return Err(fail(
                "properties.parent must be a zone id string".into(),
                None,
            ))
        }
    };
    let mut extra = match props.get("properties") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(fail("properties.properties must be an object".into(), None)),
    };
    let width_m = props
        .get("width_m")
        .or_else(|| extra.get("width_m"))
        .cloned();
    extra.remove("width_m");
    if let Some(cp) = props.get("checkpoints").cloned() {
        extra.insert("checkpoints".into(), cp);
    }
    if let Some(cp) = extra.get("checkpoints") {
        if !kind.is_route() {
            return Err(fail(
                "checkpoints belong to patrol_route zones only".into(),
                None,
            ));
        }
        crate::patrol::parse_checkpoints(Some(cp)).map_err(|e| fail(e, None))?;
    }

    let geometry = f
        .get("geometry")
        .filter(|g| !g.is_null())
        .ok_or_else(|| fail("the feature has no geometry".into(), None))?;
    let geometry = parse_geometry(kind, geometry, width_m.as_ref(), opts.max_vertices, true)
        .map_err(|e| failc(e.code, e.reason, e.location))?;
    Ok(ZoneDraft {
        id,
        kind,
        name,
        owner,
        parent,
        properties: extra,
        geometry,
    })
}

fn err(index: usize, id: Option<String>, reason: &str, location: Option<[f64; 2]>) -> FeatureError {
    FeatureError {
        index,
        id,
        reason: reason.into(),
        code: "invalid_feature",
        location,
    }
}

/// Parses a geometry that was validated when it was stored (no validity checks, no limits).
pub fn stored_geometry(
    kind: ZoneKind,
    g: &Value,
    width_m: Option<f64>,
) -> Result<ZoneGeometry, GeometryError> {
    let w = width_m.map(Value::from);
    parse_geometry(kind, g, w.as_ref(), usize::MAX, false)
}

fn parse_geometry(
    kind: ZoneKind,
    g: &Value,
    width_m: Option<&Value>,
    max_vertices: usize,
    validate: bool,
) -> Result<ZoneGeometry, GeometryError> {
    let ty = g
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| GeometryError::new("geometry has no \"type\""))?;
    let coords = g
        .get("coordinates")
        .ok_or_else(|| GeometryError::new(format!("{ty} geometry has no \"coordinates\"")))?;
    let mut budget = VertexBudget {
        left: max_vertices,
        max: max_vertices,
    };
    if kind.is_route() {
        let line = match ty {
            "LineString" => MultiLineString(vec![parse_line(coords, &mut budget)?]),
            "MultiLineString" => MultiLineString(
                array(coords, "MultiLineString coordinates")?
                    .iter()
                    .map(|l| parse_line(l, &mut budget))
                    .collect::<Result<_, _>>()?,
            ),
            other => {
                return Err(GeometryError::new(format!(
                    "a patrol_route must be a LineString or MultiLineString, not {other}"
                )))
            }
        };
        let width_m = match width_m {
            Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
            None => {
                return Err(GeometryError::new(
                    "a patrol_route needs properties.width_m, the corridor width in metres",
                ))
            }
            Some(_) => return Err(GeometryError::new("properties.width_m must be a number")),
        };
        if !(width_m.is_finite() && width_m > 0.0 && width_m <= 1000.0) {
            return Err(GeometryError::new(format!(
                "properties.width_m must be between 0 and 1000 metres, got {}",
                num(width_m)
            )));
        }
        if validate {
            validate_line(&line)?;
        }
        Ok(ZoneGeometry::Route { line, width_m })
    } else {
        let mp = match ty {
            "Polygon" => MultiPolygon(vec![parse_polygon(coords, &mut budget)?]),
            "MultiPolygon" => MultiPolygon(
                array(coords, "MultiPolygon coordinates")?
                    .iter()
                    .map(|p| parse_polygon(p, &mut budget))
                    .collect::<Result<_, _>>()?,
            ),
            other => {
                return Err(GeometryError::new(format!(
                    "a {kind} zone must be a Polygon or MultiPolygon, not {other}"
                )))
            }
        };
        Ok(ZoneGeometry::Area(if validate {
            validate_area(mp)?
        } else {
            mp
        }))
    }
}

struct VertexBudget {
    left: usize,
    max: usize,
}

impl VertexBudget {
    fn take(&mut self, n: usize) -> Result<(), GeometryError> {
        if n > self.left {
            return Err(GeometryError::new(format!(
                "geometry has more than the limit of {} vertices",
                self.max
            ))
            .coded("too_many_vertices"));
        }
        self.left -= n;
        Ok(())
    }
}

fn array<'a>(v: &'a Value, what: &str) -> Result<&'a Vec<Value>, GeometryError> {
    v.as_array()
        .ok_or_else(|| GeometryError::new(format!("{what} must be an array")))
}

fn parse_position(v: &Value) -> Result<Coord<f64>, GeometryError> {
    let arr = v
        .as_array()
        .filter(|a| a.len() >= 2 && a.len() <= 3)
        .ok_or_else(|| {
            GeometryError::new("a position must be [lon, lat] (optionally with altitude)")
        })?;
    let lon = arr[0]
        .as_f64()
        .ok_or_else(|| GeometryError::new("a position's longitude is not a number"))?;
    let lat = arr[1]
        .as_f64()
        .ok_or_else(|| GeometryError::new("a position's latitude is not a number"))?;
    if !lon.is_finite() || !lat.is_finite() {
        return Err(GeometryError::new("a position is NaN or infinite"));
    }
    if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
        let hint = if (-90.0..=90.0).contains(&lon) && (-180.0..=180.0).contains(&lat) {
            " (GeoJSON order is [lon, lat]; are they swapped?)"
        } else {
            ""
        };
        return Err(GeometryError {
            reason: format!(
                "position [{}, {}] is outside lon ±180 / lat ±90{hint}",
                num(lon),
                num(lat)
            ),
            location: None,
            code: "position_out_of_range",
        });
    }
    Ok(Coord { x: lon, y: lat })
}

fn parse_coords(v: &Value, budget: &mut VertexBudget) -> Result<Vec<Coord<f64>>, GeometryError> {
    let arr = array(v, "a ring or line")?;
    budget.take(arr.len())?;
    arr.iter().map(parse_position).collect()
}

fn parse_line(v: &Value, budget: &mut VertexBudget) -> Result<LineString<f64>, GeometryError> {
    Ok(LineString(parse_coords(v, budget)?))
}

fn parse_polygon(v: &Value, budget: &mut VertexBudget) -> Result<Polygon<f64>, GeometryError> {
    let rings = array(v, "Polygon coordinates")?;
    if rings.is_empty() {
        return Err(GeometryError::new(
            "a Polygon needs at least an exterior ring",
        ));
    }
    let mut parsed = Vec::with_capacity(rings.len());
    for (i, r) in rings.iter().enumerate() {
        let coords = parse_coords(r, budget)?;
        let role = if i == 0 {
            "exterior ring".to_string()
        } else {
            format!("hole {}", i - 1)
        };
        if coords.len() < 4 {
            return Err(GeometryError {
                reason: format!(
                    "{role} has {} positions; a ring needs at least 4 (3 corners and the first repeated)",
                    coords.len()
                ),
                location: coords.first().map(|c| [c.x, c.y]),
                code: "too_few_corners",
            });
        }
        if coords.first() != coords.last() {
            return Err(GeometryError {
                reason: format!("{role} is not closed: its last position must repeat the first"),
                location: coords.last().map(|c| [c.x, c.y]),
                code: "ring_not_closed",
            });
        }
        parsed.push(LineString(coords));
    }
    let exterior = parsed.remove(0);
    Ok(Polygon::new(exterior, parsed))
}

/// A zone's geometry as a GeoJSON geometry object (RFC 7946, `[lon, lat]`): a single polygon
/// or line is written as `Polygon` / `LineString`, several as the multi type.
pub fn geometry_to_geojson(g: &ZoneGeometry) -> geojson::Geometry {
    let value = match g {
        ZoneGeometry::Area(mp) if mp.0.len() == 1 => geojson::GeometryValue::from(&mp.0[0]),
        ZoneGeometry::Area(mp) => geojson::GeometryValue::from(mp),
        ZoneGeometry::Route { line, .. } if line.0.len() == 1 => {
            geojson::GeometryValue::from(&line.0[0])
        }
        ZoneGeometry::Route { line, .. } => geojson::GeometryValue::from(line),
    };
    geojson::Geometry::new(value)
}

/// [`geometry_to_geojson`] as JSON.
pub fn geometry_to_json(g: &ZoneGeometry) -> Value {
    serde_json::to_value(geometry_to_geojson(g)).unwrap_or(Value::Null)
}

/// A stored zone as a GeoJSON Feature (RFC 7946, `[lon, lat]`).
pub fn zone_to_geojson(z: &Zone) -> geojson::Feature {
    let mut props = Map::new();
    let mut put = |k: &str, v: Value| {
        props.insert(k.to_string(), v);
    };
    put("kind", json!(z.kind));
    put("name", json!(z.name));
    put("owner", json!(z.owner));
    put("parent", json!(z.parent));
    put("version", json!(z.version));
    put("properties", json!(z.properties));
    put("created_at", json!(crate::time::to_rfc3339(z.created_at)));
    put("created_by", json!(z.created_by));
    put("updated_at", json!(crate::time::to_rfc3339(z.updated_at)));
    put("updated_by", json!(z.updated_by));
    if let ZoneGeometry::Route { width_m, .. } = &z.geometry {
        put("width_m", json!(width_m));
    }
    if let Some(at) = z.retired_at {
        put("retired_at", json!(crate::time::to_rfc3339(at)));
        put("retired_by", json!(z.retired_by));
    }
    geojson::Feature {
        bbox: None,
        geometry: Some(geometry_to_geojson(&z.geometry)),
        id: Some(geojson::feature::Id::String(z.id.clone())),
        properties: Some(props),
        foreign_members: None,
    }
}

/// [`zone_to_geojson`] as JSON.
pub fn zone_to_feature(z: &Zone) -> Value {
    serde_json::to_value(zone_to_geojson(z)).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_numbers_are_short_in_errors() {
        assert_eq!(num(126.5), "126.5");
        assert_eq!(num(1e300), "1e300");
        assert_eq!(num(-1e-30), "-1e-30");
    }
}
