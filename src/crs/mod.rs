//! Coordinate reference systems: WGS84 boxes, GCJ-02 ↔ WGS84 at the edge,
//! metres on the ground.

pub mod bbox;
pub mod gcj02;
pub mod geodesy;

pub use bbox::Bbox;
