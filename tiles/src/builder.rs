//! [`TileBuilder`] and [`Layer`]: the per-tile pipeline from world geometry
//! to MVT commands.
//!
//! Polygons: world → tile coordinates → clip to tile + buffer
//! ([`crate::clip`]) → Douglas–Peucker at `tolerance` tile units
//! ([`crate::simplify`]) → round to the integer grid and repair into valid,
//! MVT-wound polygons ([`crate::repair`]) → commands. Lines: clip into parts →
//! simplify → round. Points: kept when inside tile + buffer.

use crate::clip::{clip_line, clip_ring, ClipSquare};
use crate::error::TileError;
use crate::mvt::{
    command, encode_tile, zigzag, FeatureRec, GeomType, LayerData, CMD_CLOSE_PATH, CMD_LINE_TO,
    CMD_MOVE_TO,
};
use crate::repair::{twice_area, Repairer, TilePoint};
use crate::simplify::Simplifier;
use crate::tile::{lonlat_to_world, TileCoord};
use crate::value::Value;
use crate::world::{WorldBounds, WorldLine, WorldPolygon, WorldRing};
use geo::{Coord, MultiLineString, MultiPolygon, Point};

/// Settings of a tile; every field's doc states its default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TileConfig {
    /// Tile units along one side of the tile. Default 4096.
    pub extent: u32,
    /// Tile units of geometry kept beyond each tile edge, so renderers can
    /// draw strokes across tile seams. Default 64.
    pub buffer: u32,
    /// Simplification tolerance in tile units (Douglas–Peucker); 0 disables
    /// simplification. Default 1.0, i.e. one unit of the 4096 grid, which is
    /// below what a 512-px display tile can show (8 units per screen pixel).
    pub tolerance: f64,
}

impl TileConfig {
    /// Buffer as a fraction of the tile width (`buffer / extent`), for
    /// [`crate::tiles_covering_buffered`] when invalidating cached tiles.
    pub fn buffer_fraction(&self) -> f64 {
        f64::from(self.buffer) / f64::from(self.extent)
    }
}

impl Default for TileConfig {
    fn default() -> Self {
        Self {
            extent: 4096,
            buffer: 64,
            tolerance: 1.0,
        }
    }
}

/// Scratch state shared by every layer of one tile.
struct Pipeline {
    scale: f64,
    origin_x: f64,
    origin_y: f64,
    square: ClipSquare,
    clip_world: WorldBounds,
    tolerance: f64,
    a: Vec<Coord<f64>>,
    b: Vec<Coord<f64>>,
    c: Vec<Coord<f64>>,
    ints: Vec<TilePoint>,
    simplifier: Simplifier,
    repairer: Repairer,
}

impl Pipeline {
    fn new(coord: TileCoord, cfg: &TileConfig) -> Self {
        let mut p = Self {
            scale: 1.0,
            origin_x: 0.0,
            origin_y: 0.0,
            square: ClipSquare { min: 0.0, max: 0.0 },
            clip_world: WorldBounds {
                min_x: 0.0,
                min_y: 0.0,
                max_x: 0.0,
                max_y: 0.0,
            },
            tolerance: cfg.tolerance,
            a: Vec::new(),
            b: Vec::new(),
            c: Vec::new(),
            ints: Vec::new(),
            simplifier: Simplifier::default(),
            repairer: Repairer::default(),
        };
        p.retarget(coord, cfg);
        p
    }

    /// Points the pipeline at another tile, keeping its scratch buffers.
    fn retarget(&mut self, coord: TileCoord, cfg: &TileConfig) {
        let extent = f64::from(cfg.extent);
        let scale = f64::from(coord.tiles_per_axis()) * extent;
        let origin_x = f64::from(coord.x) * extent;
        let origin_y = f64::from(coord.y) * extent;
        let buffer = f64::from(cfg.buffer);
        let square = ClipSquare {
            min: -buffer,
            max: extent + buffer,
        };
        let clip_world = WorldBounds {
            min_x: (origin_x - buffer) / scale,
            min_y: (origin_y - buffer) / scale,
            max_x: (origin_x + extent + buffer) / scale,
            max_y: (origin_y + extent + buffer) / scale,
        };
        self.scale = scale;
        self.origin_x = origin_x;
        self.origin_y = origin_y;
        self.square = square;
        self.clip_world = clip_world;
        self.tolerance = cfg.tolerance;
    }

    #[inline]
    fn to_tile(&self, p: Coord<f64>) -> Coord<f64> {
        Coord {
            x: p.x * self.scale - self.origin_x,
            y: p.y * self.scale - self.origin_y,
        }
    }

    /// Transforms, clips and simplifies one ring and hands it to the repairer.
    fn push_ring(&mut self, ring: &WorldRing) {
        let tol = self.tolerance;
        let b = &ring.bounds;
        if (b.max_x - b.min_x) * self.scale < tol && (b.max_y - b.min_y) * self.scale < tol {
            // Smaller than the simplification tolerance: it would collapse anyway.
            return;
        }
        // Transform, dropping vertices closer than the tolerance to the last
        // kept one (a radial pre-pass that makes Douglas–Peucker cheap at low zoom).
        // Half the tolerance: the pass cuts chords without the error bound of
        // Douglas–Peucker, and a full tolerance loses visible area at z0-1.
        let tol2 = tol * tol / 4.0;
        self.a.clear();
        for p in &ring.points {
            let q = Coord {
                x: p.x * self.scale - self.origin_x,
                y: p.y * self.scale - self.origin_y,
            };
            let far_enough = self.a.last().is_none_or(|l| {
                let (dx, dy) = (q.x - l.x, q.y - l.y);
                dx * dx + dy * dy >= tol2
            });
            if far_enough {
                self.a.push(q);
            }
        }
        if !ring.bounds.within(&self.clip_world) {
            clip_ring(&self.square, &self.a, &mut self.b, &mut self.c);
            std::mem::swap(&mut self.a, &mut self.b);
        }
        if self.a.len() < 3 {
            return;
        }
        self.simplifier.ring(&self.a, self.tolerance, &mut self.b);
        self.repairer.push_ring(&self.b);
    }
}

/// Builds one tile: add features to named layers, then [`TileBuilder::encode`].
pub struct TileBuilder {
    coord: TileCoord,
    config: TileConfig,
    layers: Vec<LayerData>,
    pipeline: Pipeline,
}

impl TileBuilder {
    /// A builder with the default [`TileConfig`] (extent 4096, buffer 64, tolerance 1).
    pub fn new(coord: TileCoord) -> Self {
        Self::with_config(coord, TileConfig::default()).expect("the default config is valid")
    }

    /// A builder with a custom config; extent must be in `256..=65536` and
    /// `buffer <= extent`.
    pub fn with_config(coord: TileCoord, config: TileConfig) -> Result<Self, TileError> {
        if !(256..=65_536).contains(&config.extent) || config.buffer > config.extent {
            return Err(TileError::InvalidExtent {
                extent: config.extent,
                buffer: config.buffer,
            });
        }
        Ok(Self {
            coord,
            pipeline: Pipeline::new(coord, &config),
            config,
            layers: Vec::new(),
        })
    }

    /// Starts over on another tile with the same config, keeping the
    /// scratch buffers (cheaper than a new builder when exporting many tiles).
    pub fn reset(&mut self, coord: TileCoord) {
        self.coord = coord;
        self.layers.clear();
        self.pipeline.retarget(coord, &self.config);
    }

    /// The tile being built.
    pub fn coord(&self) -> TileCoord {
        self.coord
    }

    /// The config in use.
    pub fn config(&self) -> &TileConfig {
        &self.config
    }

    /// The layer called `name`, created on first use. Layers are encoded in
    /// the order they were first asked for; a layer without features is omitted.
    pub fn layer(&mut self, name: &str) -> Layer<'_> {
        let i = match self.layers.iter().position(|l| l.name == name) {
            Some(i) => i,
            None => {
                self.layers.push(LayerData::new(name, self.config.extent));
                self.layers.len() - 1
            }
        };
        Layer {
            data: &mut self.layers[i],
            pipe: &mut self.pipeline,
        }
    }

    /// True when no layer has a feature.
    pub fn is_empty(&self) -> bool {
        self.layers.iter().all(|l| l.features.is_empty())
    }

    /// Encodes the tile as an MVT 2.1 protobuf (uncompressed). A tile
    /// without features encodes to an empty `Vec`.
    pub fn encode(&self) -> Vec<u8> {
        encode_tile(&self.layers)
    }
}

/// A feature just added to a layer; lets the caller set its id.
pub struct AddedFeature<'a>(&'a mut FeatureRec);

impl AddedFeature<'_> {
    /// Sets the feature's MVT `id` (optional in MVT; unique within the layer by convention).
    pub fn set_id(self, id: u64) {
        self.0.id = Some(id);
    }
}

/// One layer of a [`TileBuilder`]. Geometry comes either in lon/lat
/// (`add_polygon`, `add_line`, `add_point`: projected on every call) or
/// pre-projected in world coordinates (`add_world_*`: faster when a
/// geometry is drawn into many tiles).
///
/// Each `add_*` returns `None` when nothing of the geometry is left in this
/// tile (outside, or collapsed below the grid at this zoom).
pub struct Layer<'a> {
    data: &'a mut LayerData,
    pipe: &'a mut Pipeline,
}

impl Layer<'_> {
    /// Adds a lon/lat multipolygon (projects it first; see [`Layer::add_world_polygon`]).
    pub fn add_polygon(
        &mut self,
        geom: &MultiPolygon<f64>,
        props: &[(&str, Value)],
    ) -> Option<AddedFeature<'_>> {
        self.add_world_polygon(&WorldPolygon::from_lonlat(geom), props)
    }

    /// Adds a lon/lat multilinestring (projects it first; see [`Layer::add_world_line`]).
    pub fn add_line(
        &mut self,
        geom: &MultiLineString<f64>,
        props: &[(&str, Value)],
    ) -> Option<AddedFeature<'_>> {
        self.add_world_line(&WorldLine::from_lonlat(geom), props)
    }

    /// Adds a lon/lat point; kept when inside the tile plus buffer.
    pub fn add_point(
        &mut self,
        p: &Point<f64>,
        props: &[(&str, Value)],
    ) -> Option<AddedFeature<'_>> {
        let (x, y) = lonlat_to_world(p.x(), p.y());
        self.add_world_point(&Point::new(x, y), props)
    }

    /// Adds a polygon in world coordinates: clipped, simplified, snapped,
    /// repaired and wound for MVT.
    pub fn add_world_polygon(
        &mut self,
        geom: &WorldPolygon,
        props: &[(&str, Value)],
    ) -> Option<AddedFeature<'_>> {
        let pipe = &mut *self.pipe;
        if geom.is_empty() || !geom.bounds().intersects(&pipe.clip_world) {
            return None;
        }
        pipe.repairer.clear();
        for part in &geom.parts {
            if !part.exterior.bounds.intersects(&pipe.clip_world) {
                continue;
            }
            pipe.push_ring(&part.exterior);
            for hole in &part.holes {
                if hole.bounds.intersects(&pipe.clip_world) {
                    pipe.push_ring(hole);
                }
            }
        }
        if pipe.repairer.is_empty() {
            return None;
        }
        let shapes = pipe.repairer.resolve();
        let start = self.data.geometry.len();
        let geometry = &mut self.data.geometry;
        let mut cursor = (0i32, 0i32);
        for shape in &shapes {
            for (i, ring) in shape.iter().enumerate() {
                if ring.len() < 3 {
                    continue;
                }
                // The overlay already orients rings; this guard keeps the MVT
                // rule (exterior positive, holes negative) even if it did not.
                let want_positive = i == 0;
                let reverse = (twice_area(ring) > 0) != want_positive;
                let mut emit = |k: usize, p: &TilePoint| {
                    if k == 0 {
                        geometry.push(command(CMD_MOVE_TO, 1));
                    } else if k == 1 {
                        geometry.push(command(CMD_LINE_TO, (ring.len() - 1) as u32));
                    }
                    geometry.push(zigzag(p.x - cursor.0));
                    geometry.push(zigzag(p.y - cursor.1));
                    cursor = (p.x, p.y);
                };
                if reverse {
                    // Keep the start vertex, walk the rest backwards.
                    emit(0, &ring[0]);
                    for (k, p) in ring[1..].iter().rev().enumerate() {
                        emit(k + 1, p);
                    }
                } else {
                    for (k, p) in ring.iter().enumerate() {
                        emit(k, p);
                    }
                }
                geometry.push(command(CMD_CLOSE_PATH, 1));
            }
        }
        self.commit(GeomType::Polygon, start, props)
    }

    /// Adds a line in world coordinates: clipped into parts, simplified and snapped.
    pub fn add_world_line(
        &mut self,
        geom: &WorldLine,
        props: &[(&str, Value)],
    ) -> Option<AddedFeature<'_>> {
        let pipe = &mut *self.pipe;
        if !geom.bounds().intersects(&pipe.clip_world) {
            return None;
        }
        let start = self.data.geometry.len();
        let geometry = &mut self.data.geometry;
        let mut cursor = (0i32, 0i32);
        for part in &geom.parts {
            if !part.bounds.intersects(&pipe.clip_world) {
                continue;
            }
            pipe.a.clear();
            let (s, ox, oy) = (pipe.scale, pipe.origin_x, pipe.origin_y);
            pipe.a.extend(part.points.iter().map(|p| Coord {
                x: p.x * s - ox,
                y: p.y * s - oy,
            }));
            let within = part.bounds.within(&pipe.clip_world);
            let Pipeline {
                a,
                b,
                c,
                ints,
                simplifier,
                square,
                tolerance,
                ..
            } = &mut *pipe;
            let mut emit_part = |pts: &[Coord<f64>]| {
                simplifier.line(pts, *tolerance, c);
                ints.clear();
                for p in c.iter() {
                    let q = TilePoint::new(p.x.round() as i32, p.y.round() as i32);
                    if ints.last() != Some(&q) {
                        ints.push(q);
                    }
                }
                if ints.len() < 2 {
                    return;
                }
                geometry.push(command(CMD_MOVE_TO, 1));
                for (k, p) in ints.iter().enumerate() {
                    if k == 1 {
                        geometry.push(command(CMD_LINE_TO, (ints.len() - 1) as u32));
                    }
                    geometry.push(zigzag(p.x - cursor.0));
                    geometry.push(zigzag(p.y - cursor.1));
                    cursor = (p.x, p.y);
                }
            };
            if within {
                emit_part(a);
            } else {
                clip_line(square, a, b, emit_part);
            }
        }
        self.commit(GeomType::LineString, start, props)
    }

    /// Adds a point in world coordinates; kept when inside the tile plus buffer.
    pub fn add_world_point(
        &mut self,
        p: &Point<f64>,
        props: &[(&str, Value)],
    ) -> Option<AddedFeature<'_>> {
        let t = self.pipe.to_tile(p.0);
        let (x, y) = (t.x.round(), t.y.round());
        let sq = self.pipe.square;
        if !(x >= sq.min && x <= sq.max && y >= sq.min && y <= sq.max) {
            return None;
        }
        let start = self.data.geometry.len();
        self.data
            .geometry
            .extend([command(CMD_MOVE_TO, 1), zigzag(x as i32), zigzag(y as i32)]);
        self.commit(GeomType::Point, start, props)
    }

    /// Adds aggregated bins (see [`crate::aggregate_points`]) as points, each
    /// with a `count` property followed by `props`.
    pub fn add_point_bins(&mut self, bins: &[(Point<f64>, u64)], props: &[(&str, Value)]) -> usize {
        let mut all: Vec<(&str, Value)> = Vec::with_capacity(props.len() + 1);
        all.push(("count", Value::Int(0)));
        all.extend(props.iter().cloned());
        let mut added = 0;
        for (p, n) in bins {
            all[0].1 = Value::Int(i64::try_from(*n).unwrap_or(i64::MAX));
            added += usize::from(self.add_point(p, &all).is_some());
        }
        added
    }

    /// Number of features in this layer so far.
    pub fn len(&self) -> usize {
        self.data.features.len()
    }

    /// True when the layer has no feature yet.
    pub fn is_empty(&self) -> bool {
        self.data.features.is_empty()
    }

    fn commit(
        &mut self,
        kind: GeomType,
        start: usize,
        props: &[(&str, Value)],
    ) -> Option<AddedFeature<'_>> {
        if self.data.commit(kind, start, props) {
            self.data.features.last_mut().map(AddedFeature)
        } else {
            None
        }
    }
}
