//! Hotspot analytics for street offices: where the dirt keeps coming back, and who must fix it.
//!
//! - [`stats`]: counts by status, median time to close, share closed within 48 h, grouped by
//!   zone, owner, sector, category or day (following each report's stored match).
//! - [`dbscan`]: density clustering in metres with a grid for neighbour queries.
//! - [`hull`]: a cluster's buffered convex hull.
//! - [`hotspots`]: detection that stores clusters as `hotspot` zones, replacing the earlier
//!   detection of the same window.
//! - [`heatmap`]: kernel density raster tiles (radius in metres), seamless across tiles.
//! - [`draw`]: small raster helpers (polygons, lines, discs, text) for server-rendered sheets.
//! - [`workorder`]: the printable sheet for one responsible organisation (PNG and HTML).
//!
//! The SQL behind all of them is in [`crate::store::stats`].

pub mod dbscan;
pub mod draw;
pub mod heatmap;
pub mod hotspots;
pub mod html;
pub mod hull;
pub mod stats;
pub mod workorder;
