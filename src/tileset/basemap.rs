//! The basemap layer: district boundaries, the river and roads from `geodata/`, projected once.

use crate::crs::Bbox;
use geo::{MultiLineString, MultiPolygon};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};
use serde_json::Value as Json;
use std::path::Path;
use xuncha_tiles::{WorldLine, WorldPolygon};

/// One basemap feature in world coordinates.
pub enum BaseGeom {
    Area(WorldPolygon),
    Line(WorldLine),
}

pub struct BaseFeature {
    /// `district`, `river`, `river_centerline`, `road`.
    pub class: String,
    pub name: String,
    pub geom: BaseGeom,
    pub bbox: Bbox,
}

/// The basemap features with an R-tree over their bounding boxes.
#[derive(Default)]
pub struct Basemap {
    features: Vec<BaseFeature>,
    tree: RTree<GeomWithData<Rectangle<[f64; 2]>, u32>>,
}

impl Basemap {
    /// Loads `districts.geojson`, `river.geojson` and `roads.geojson` from `dir` (any that exist).
    pub fn load(dir: &Path) -> Result<Self, String> {
        let mut features = Vec::new();
        for (file, default_class) in [
            ("districts.geojson", "district"),
            ("river.geojson", "river"),
            ("roads.geojson", "road"),
        ] {
            let path = dir.join(file);
            if !path.exists() {
                continue;
            }
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let doc: Json =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            for f in doc["features"].as_array().into_iter().flatten() {
                let props = &f["properties"];
                let mut class = props["class"]
                    .as_str()
                    .or_else(|| props["layer"].as_str())
                    .unwrap_or(default_class)
                    .to_string();
                if file == "roads.geojson" {
                    class = format!("road_{class}");
                }
                let name = props["name"].as_str().unwrap_or("").to_string();
                if let Some((geom, bbox)) = parse(&f["geometry"]) {
                    let class = if matches!(geom, BaseGeom::Line(_)) && class == "river" {
                        "river_centerline".to_string()
                    } else {
                        class
                    };
                    features.push(BaseFeature {
                        class,
                        name,
                        geom,
                        bbox,
                    });
                }
            }
        }
        let tree = RTree::bulk_load(
            features
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    GeomWithData::new(
                        Rectangle::from_corners(
                            [f.bbox.west, f.bbox.south],
                            [f.bbox.east, f.bbox.north],
                        ),
                        i as u32,
                    )
                })
                .collect(),
        );
        Ok(Basemap { features, tree })
    }

    pub fn len(&self) -> usize {
        self.features.len()
    }

    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// The bounding box of everything.
    pub fn bbox(&self) -> Option<Bbox> {
        self.features.iter().map(|f| f.bbox).reduce(Bbox::union)
    }

    pub fn in_bbox(&self, bbox: Bbox) -> impl Iterator<Item = &BaseFeature> {
        let env = AABB::from_corners([bbox.west, bbox.south], [bbox.east, bbox.north]);
        self.tree
            .locate_in_envelope_intersecting(env)
            .map(|g| &self.features[g.data as usize])
    }
}

fn coords(v: &Json) -> Option<Vec<geo::Coord<f64>>> {
    v.as_array()?
        .iter()
        .map(|p| {
            Some(geo::Coord {
                x: p[0].as_f64()?,
                y: p[1].as_f64()?,
            })
        })
        .collect()
}

fn polygon(v: &Json) -> Option<geo::Polygon<f64>> {
    let mut rings = v.as_array()?.iter().map(|r| coords(r).map(geo::LineString));
    let ext = rings.next()??;
    Some(geo::Polygon::new(ext, rings.collect::<Option<Vec<_>>>()?))
}

fn parse(g: &Json) -> Option<(BaseGeom, Bbox)> {
    use geo::BoundingRect;
    let c = &g["coordinates"];
    let (geom, rect) = match g["type"].as_str()? {
        "Polygon" => {
            let mp = MultiPolygon(vec![polygon(c)?]);
            let r = mp.bounding_rect()?;
            (BaseGeom::Area(WorldPolygon::from_lonlat(&mp)), r)
        }
        "MultiPolygon" => {
            let mp = MultiPolygon(c.as_array()?.iter().map(polygon).collect::<Option<_>>()?);
            let r = mp.bounding_rect()?;
            (BaseGeom::Area(WorldPolygon::from_lonlat(&mp)), r)
        }
        "LineString" => {
            let ml = MultiLineString(vec![geo::LineString(coords(c)?)]);
            let r = ml.bounding_rect()?;
            (BaseGeom::Line(WorldLine::from_lonlat(&ml)), r)
        }
        "MultiLineString" => {
            let ml = MultiLineString(
                c.as_array()?
                    .iter()
                    .map(|l| coords(l).map(geo::LineString))
                    .collect::<Option<_>>()?,
            );
            let r = ml.bounding_rect()?;
            (BaseGeom::Line(WorldLine::from_lonlat(&ml)), r)
        }
        _ => return None,
    };
    Some((
        geom,
        Bbox::new(rect.min().x, rect.min().y, rect.max().x, rect.max().y),
    ))
}
