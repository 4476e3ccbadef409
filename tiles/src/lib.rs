//! # xuncha-tiles
//!
//! The pure tile engine of Xuncha (巡查): Web Mercator tile math, clipping,
//! per-zoom simplification, repair into valid polygons, point aggregation and
//! MVT 2.1 encoding. No I/O, no async, no HTTP: the server calls it from a
//! blocking pool and caches the bytes.
//!
//! ## Coordinates and units
//! * Input geometry is WGS84 (CGCS2000 is the same within centimetres) in
//!   degrees, `x` = longitude, `y` = latitude.
//! * World coordinates are Web Mercator scaled to the unit square, `y`
//!   southward ([`lonlat_to_world`], [`world_to_lonlat`]); project once with
//!   [`WorldPolygon`] / [`WorldLine`] and reuse for every tile.
//! * Tiles are XYZ ([`TileCoord`], `y` southward, zoom `0..=22`); tile
//!   coordinates are integers in `[0, extent)` from the tile's north-west
//!   corner, extent 4096 and buffer 64 by default ([`TileConfig`]).
//!
//! ## Example
//! ```
//! use geo::{polygon, MultiPolygon};
//! use xuncha_tiles::{TileBuilder, TileCoord, Value};
//!
//! let zone = MultiPolygon(vec![polygon![
//!     (x: 126.40, y: 41.93), (x: 126.44, y: 41.93), (x: 126.44, y: 41.95), (x: 126.40, y: 41.95),
//! ]]);
//! let mut tile = TileBuilder::new(TileCoord::new(10, 871, 380)?);
//! tile.layer("zones")
//!     .add_polygon(&zone, &[("name", Value::from("浑江区 门前三包 1"))])
//!     .expect("the zone is in this tile")
//!     .set_id(1);
//! let bytes = tile.encode();
//! assert!(!bytes.is_empty());
//! # Ok::<(), xuncha_tiles::TileError>(())
//! ```
//!
//! ## Layout
//! * [`tile`](crate::tile): `TileCoord`, world projection, tile covers.
//! * `world`: geometry pre-projected to world coordinates.
//! * `clip`: Sutherland–Hodgman ring clipping, Liang–Barsky line clipping.
//! * `simplify`: Douglas–Peucker in tile units.
//! * `repair`: snap to the integer grid, resolve into OGC-valid, MVT-wound
//!   polygons with `i_overlay`'s integer overlay.
//! * `mvt`: the protobuf encoder (layers, key/value tables, commands).
//! * `builder`: [`TileBuilder`] and [`Layer`], the per-tile pipeline.
//! * `aggregate`: point counts on a world-aligned pixel grid.
//! * `value`: feature property values.
//! * `error`: [`TileError`], the crate's one error type.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod aggregate;
mod builder;
mod clip;
mod error;
mod mvt;
mod repair;
mod simplify;
pub mod tile;
mod value;
mod world;

pub use aggregate::{aggregate_points, aggregate_world_points, bins_of_counts};
pub use builder::{AddedFeature, Layer, TileBuilder, TileConfig};
pub use error::TileError;
pub use mvt::{command, zigzag, GeomType, CMD_CLOSE_PATH, CMD_LINE_TO, CMD_MOVE_TO};
pub use tile::{
    lonlat_to_world, tiles_covering, tiles_covering_buffered, world_to_lonlat, TileCoord,
    MAX_LATITUDE, MAX_ZOOM,
};
pub use value::Value;
pub use world::{
    project_line, project_point, project_polygon, WorldBounds, WorldLine, WorldPolygon,
};
