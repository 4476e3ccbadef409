//! Web Mercator tile math: [`TileCoord`], world coordinates and tile covers.
//!
//! Three coordinate spaces are used in this crate:
//!
//! * **lon/lat**: WGS84 degrees, `x` = longitude, `y` = latitude (north positive).
//! * **world**: Web Mercator scaled to the unit square: `x` in `[0, 1]` from 180° W
//!   to 180° E, `y` in `[0, 1]` from 85.0511° N (`y = 0`) to 85.0511° S (`y = 1`),
//!   i.e. `y` grows southward like XYZ tile rows.
//! * **tile**: units of a tile's extent (default 4096) relative to its
//!   north-west corner, `y` growing southward; the tile itself is `[0, extent)²`.

use crate::error::TileError;
use geo::{coord, Rect};
use std::f64::consts::PI;

/// The largest zoom this crate accepts.
pub const MAX_ZOOM: u8 = 22;

/// Latitude limit of Web Mercator in degrees (`atan(sinh(π))`).
pub const MAX_LATITUDE: f64 = 85.051_128_779_806_59;

/// An XYZ tile address: zoom `z`, column `x` (eastward), row `y` (southward).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileCoord {
    /// Zoom, `0..=MAX_ZOOM`.
    pub z: u8,
    /// Column, `0..2^z`, west to east.
    pub x: u32,
    /// Row, `0..2^z`, north to south (XYZ, not TMS).
    pub y: u32,
}

impl TileCoord {
    /// Checked constructor: `z <= 22` and `x, y < 2^z`.
    ///
    /// ```
    /// use xuncha_tiles::TileCoord;
    /// assert!(TileCoord::new(1, 1, 1).is_ok());
    /// let err = TileCoord::new(1, 2, 0).unwrap_err();
    /// assert_eq!(err.to_string(), "tile 1/2/0 is out of range: at zoom 1 x and y must be in 0..=1");
    /// ```
    pub fn new(z: u8, x: u32, y: u32) -> Result<Self, TileError> {
        if z > MAX_ZOOM {
            return Err(TileError::ZoomOutOfRange { z, max: MAX_ZOOM });
        }
        let max = (1u32 << z) - 1;
        if x > max || y > max {
            return Err(TileError::TileOutOfRange { z, x, y, max });
        }
        Ok(Self { z, x, y })
    }

    /// Number of tiles along one axis at this zoom (`2^z`).
    pub fn tiles_per_axis(&self) -> u32 {
        1u32 << self.z
    }

    /// The tile's bounds in world coordinates (`min` is the north-west corner).
    pub fn bounds_world(&self) -> Rect<f64> {
        let n = f64::from(self.tiles_per_axis());
        Rect::new(
            coord! { x: f64::from(self.x) / n, y: f64::from(self.y) / n },
            coord! { x: f64::from(self.x + 1) / n, y: f64::from(self.y + 1) / n },
        )
    }

    /// The tile's bounds in lon/lat degrees (`x` = longitude, `y` = latitude).
    ///
    /// ```
    /// use xuncha_tiles::TileCoord;
    /// let b = TileCoord::new(0, 0, 0).unwrap().bounds_lonlat();
    /// assert_eq!(b.min().x, -180.0);
    /// assert!((b.max().y - 85.0511).abs() < 1e-4);
    /// ```
    pub fn bounds_lonlat(&self) -> Rect<f64> {
        let w = self.bounds_world();
        let (west, north) = world_to_lonlat(w.min().x, w.min().y);
        let (east, south) = world_to_lonlat(w.max().x, w.max().y);
        Rect::new(coord! { x: west, y: south }, coord! { x: east, y: north })
    }

    /// The tile containing a lon/lat point at zoom `z` (clamped into the world).
    pub fn containing(lon: f64, lat: f64, z: u8) -> Result<Self, TileError> {
        if z > MAX_ZOOM {
            return Err(TileError::ZoomOutOfRange { z, max: MAX_ZOOM });
        }
        let (wx, wy) = lonlat_to_world(lon, lat);
        let n = 1u32 << z;
        Ok(Self {
            z,
            x: world_to_index(wx, n),
            y: world_to_index(wy, n),
        })
    }

    /// The parent tile one zoom up, or `None` at zoom 0.
    pub fn parent(&self) -> Option<Self> {
        (self.z > 0).then(|| Self {
            z: self.z - 1,
            x: self.x / 2,
            y: self.y / 2,
        })
    }
}

impl std::fmt::Display for TileCoord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.z, self.x, self.y)
    }
}

fn world_to_index(w: f64, n: u32) -> u32 {
    // Truncation is the floor here because `w * n` is clamped non-negative.
    ((w * f64::from(n)).floor().max(0.0) as u32).min(n - 1)
}

/// Projects lon/lat degrees to world coordinates in `[0, 1]²` (y southward).
/// Latitude is clamped to ±[`MAX_LATITUDE`]; longitude is not wrapped.
///
/// ```
/// use xuncha_tiles::lonlat_to_world;
/// assert_eq!(lonlat_to_world(0.0, 0.0), (0.5, 0.5));
/// let (_, y) = lonlat_to_world(0.0, 89.0);
/// assert!(y.abs() < 1e-12);
/// ```
#[inline]
pub fn lonlat_to_world(lon: f64, lat: f64) -> (f64, f64) {
    let x = lon / 360.0 + 0.5;
    let lat = lat.clamp(-MAX_LATITUDE, MAX_LATITUDE).to_radians();
    let y = 0.5 - (PI / 4.0 + lat / 2.0).tan().ln() / (2.0 * PI);
    (x, y.clamp(0.0, 1.0))
}

/// Inverse of [`lonlat_to_world`]: world coordinates to lon/lat degrees.
#[inline]
pub fn world_to_lonlat(x: f64, y: f64) -> (f64, f64) {
    let lon = (x - 0.5) * 360.0;
    let lat = (PI * (1.0 - 2.0 * y)).sinh().atan().to_degrees();
    (lon, lat)
}

/// Every tile at zoom `z` that intersects a lon/lat rectangle, row by row
/// from the north-west. Points on a shared tile edge count for both tiles, so
/// a cache invalidation using this never misses a tile. Zooms above
/// [`MAX_ZOOM`] are clamped to it.
///
/// ```
/// use geo::{coord, Rect};
/// use xuncha_tiles::tiles_covering;
/// let world = Rect::new(coord! { x: -180.0, y: -85.0 }, coord! { x: 180.0, y: 85.0 });
/// assert_eq!(tiles_covering(world, 2).count(), 16);
/// ```
pub fn tiles_covering(rect_lonlat: Rect<f64>, z: u8) -> impl Iterator<Item = TileCoord> {
    tiles_covering_buffered(rect_lonlat, z, 0.0)
}

/// Every tile at zoom `z` whose area *including its buffer* intersects a
/// lon/lat rectangle: the tiles to invalidate when geometry inside the
/// rectangle changes, because a feature just outside a tile is still drawn
/// in that tile's buffer. `buffer_fraction` is buffer / extent (64 / 4096
/// by default, see [`crate::TileConfig::buffer_fraction`]).
///
/// ```
/// use geo::{coord, Rect};
/// use xuncha_tiles::{tiles_covering, tiles_covering_buffered, TileCoord};
/// let b = TileCoord::new(10, 871, 380).unwrap().bounds_lonlat();
/// // A point just inside the west edge of 871 is also in the buffer of 870.
/// let p = coord! { x: b.min().x + 1e-5, y: (b.min().y + b.max().y) / 2.0 };
/// let r = Rect::new(p, p);
/// assert_eq!(tiles_covering(r, 10).count(), 1);
/// let xs: Vec<u32> = tiles_covering_buffered(r, 10, 64.0 / 4096.0).map(|t| t.x).collect();
/// assert_eq!(xs, vec![870, 871]);
/// ```
pub fn tiles_covering_buffered(
    rect_lonlat: Rect<f64>,
    z: u8,
    buffer_fraction: f64,
) -> impl Iterator<Item = TileCoord> {
    let z = z.min(MAX_ZOOM);
    let n = 1u32 << z;
    let nf = f64::from(n);
    let pad = buffer_fraction.max(0.0) / nf;
    let (wx0, wy0) = lonlat_to_world(rect_lonlat.min().x, rect_lonlat.max().y);
    let (wx1, wy1) = lonlat_to_world(rect_lonlat.max().x, rect_lonlat.min().y);
    let range = |lo: f64, hi: f64| {
        let first = world_to_index((lo - pad).clamp(0.0, 1.0), n);
        // A rectangle ending exactly on a tile edge also touches the next tile.
        let last_f = ((hi + pad).clamp(0.0, 1.0) * nf).floor();
        let last = (last_f.max(0.0) as u32).min(n - 1);
        (first, last.max(first))
    };
    let (x0, x1) = range(wx0, wx1);
    let (y0, y1) = range(wy0, wy1);
    (y0..=y1).flat_map(move |y| (x0..=x1).map(move |x| TileCoord { z, x, y }))
}

/// Standard slippy-map formula, kept independent of [`lonlat_to_world`] so
/// the tests compare two derivations.
#[cfg(test)]
fn slippy_tile(lon: f64, lat: f64, z: u8) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let lat_r = lat.to_radians();
    let x = ((lon + 180.0) / 360.0 * n).floor();
    let y = ((1.0 - (lat_r.tan() + 1.0 / lat_r.cos()).ln() / PI) / 2.0 * n).floor();
    (x as u32, y as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baishan_city_centre_at_z10() {
        // Baishan (白山) city centre, Hunjiang district: 126.42° E, 41.94° N.
        assert_eq!(slippy_tile(126.42, 41.94, 10), (871, 380));
        let t = TileCoord::containing(126.42, 41.94, 10).unwrap();
        assert_eq!(
            t,
            TileCoord {
                z: 10,
                x: 871,
                y: 380
            }
        );
        let b = t.bounds_lonlat();
        assert!(b.min().x <= 126.42 && 126.42 < b.max().x);
        assert!(b.min().y <= 41.94 && 41.94 < b.max().y);
        // The tile is north of the equator, so its row is in the top half.
        assert!(t.y < 512);
    }

    #[test]
    fn z0_covers_the_world() {
        let b = TileCoord::new(0, 0, 0).unwrap().bounds_lonlat();
        assert_eq!((b.min().x, b.max().x), (-180.0, 180.0));
        assert!((b.max().y - MAX_LATITUDE).abs() < 1e-9);
        assert!((b.min().y + MAX_LATITUDE).abs() < 1e-9);
    }

    #[test]
    fn y_grows_southward() {
        let north = TileCoord::new(1, 0, 0).unwrap().bounds_lonlat();
        let south = TileCoord::new(1, 0, 1).unwrap().bounds_lonlat();
        assert!(north.min().y >= south.max().y - 1e-12);
        assert!(north.max().y > 80.0 && south.min().y < -80.0);
    }

    #[test]
    fn out_of_range_is_rejected_with_the_range() {
        let e = TileCoord::new(23, 0, 0).unwrap_err();
        assert_eq!(e, TileError::ZoomOutOfRange { z: 23, max: 22 });
        assert!(e.to_string().contains("0..=22"));
        let e = TileCoord::new(3, 0, 8).unwrap_err();
        assert!(e.to_string().contains("0..=7"), "{e}");
        assert!(TileCoord::new(22, (1 << 22) - 1, (1 << 22) - 1).is_ok());
    }

    #[test]
    fn world_round_trip() {
        for &(lon, lat) in &[(126.42, 41.94), (-73.9, 40.7), (0.0, 0.0), (179.9, -84.0)] {
            let (x, y) = lonlat_to_world(lon, lat);
            let (lon2, lat2) = world_to_lonlat(x, y);
            assert!((lon - lon2).abs() < 1e-9 && (lat - lat2).abs() < 1e-9);
        }
        let (_, y_north) = lonlat_to_world(0.0, 60.0);
        let (_, y_south) = lonlat_to_world(0.0, -60.0);
        assert!(y_north < 0.5 && y_south > 0.5);
        assert_eq!(lonlat_to_world(0.0, 90.0).1, 0.0);
    }

    #[test]
    fn covering_contains_exactly_the_touched_tiles() {
        let t = TileCoord::new(10, 871, 380).unwrap();
        let b = t.bounds_lonlat();
        let inner = Rect::new(
            coord! { x: b.min().x + 0.01, y: b.min().y + 0.01 },
            coord! { x: b.max().x - 0.01, y: b.max().y - 0.01 },
        );
        assert_eq!(tiles_covering(inner, 10).collect::<Vec<_>>(), vec![t]);
        let wider = Rect::new(
            coord! { x: b.min().x - 0.01, y: b.min().y + 0.01 },
            coord! { x: b.max().x + 0.01, y: b.max().y - 0.01 },
        );
        let xs: Vec<u32> = tiles_covering(wider, 10).map(|t| t.x).collect();
        assert_eq!(xs, vec![870, 871, 872]);
        // Every tile's parent covers it.
        for c in tiles_covering(wider, 10) {
            assert!(tiles_covering(wider, 9).any(|p| Some(p) == c.parent()));
        }
    }
}
