//! Metres on the ground. Distances are computed in a local tangent-plane projection around the
//! query point using the WGS84 ellipsoid's radii of curvature there; over the few hundred
//! metres that matching looks at, the error is far below GPS accuracy.

use geo::Coord;

const WGS84_A: f64 = 6_378_137.0;
const WGS84_E2: f64 = 6.694_379_990_14e-3;

/// A local east/north projection in metres around an origin `[lon, lat]`.
#[derive(Debug, Clone, Copy)]
pub struct LocalMetres {
    origin: Coord<f64>,
    /// Metres per degree of longitude at the origin.
    pub m_per_deg_lon: f64,
    /// Metres per degree of latitude at the origin.
    pub m_per_deg_lat: f64,
}

impl LocalMetres {
    pub fn new(lon: f64, lat: f64) -> Self {
        let phi = lat.to_radians();
        let s2 = phi.sin() * phi.sin();
        let w = (1.0 - WGS84_E2 * s2).sqrt();
        let n = WGS84_A / w; // prime vertical radius
        let m = WGS84_A * (1.0 - WGS84_E2) / (w * w * w); // meridional radius
        LocalMetres {
            origin: Coord { x: lon, y: lat },
            m_per_deg_lon: n * phi.cos() * std::f64::consts::PI / 180.0,
            m_per_deg_lat: m * std::f64::consts::PI / 180.0,
        }
    }

    /// Projects `[lon, lat]` to metres east and north of the origin.
    #[inline]
    pub fn project(&self, c: Coord<f64>) -> Coord<f64> {
        Coord {
            x: (c.x - self.origin.x) * self.m_per_deg_lon,
            y: (c.y - self.origin.y) * self.m_per_deg_lat,
        }
    }

    /// The inverse of [`LocalMetres::project`]: `[lon, lat]` of a point metres east and north.
    #[inline]
    pub fn unproject(&self, m: Coord<f64>) -> Coord<f64> {
        Coord {
            x: self.origin.x + m.x / self.m_per_deg_lon,
            y: self.origin.y + m.y / self.m_per_deg_lat,
        }
    }

    /// Degrees of longitude and latitude that certainly cover `metres` around the origin.
    pub fn degrees_for(&self, metres: f64) -> (f64, f64) {
        let lon = if self.m_per_deg_lon > 1e-6 {
            (metres / self.m_per_deg_lon * 1.01).min(360.0)
        } else {
            360.0
        };
        (lon, metres / self.m_per_deg_lat * 1.01)
    }

    /// Distance in metres from the origin to the segment `a`–`b` (both `[lon, lat]`).
    #[inline]
    pub fn distance_to_segment_m(&self, a: Coord<f64>, b: Coord<f64>) -> f64 {
        let a = self.project(a);
        let b = self.project(b);
        let d = b - a;
        let len2 = d.x * d.x + d.y * d.y;
        let t = if len2 > 0.0 {
            ((-a.x * d.x - a.y * d.y) / len2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let px = a.x + t * d.x;
        let py = a.y + t * d.y;
        (px * px + py * py).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_degree_of_latitude_near_baishan() {
        // At 42°N a degree of latitude is about 111.1 km and of longitude about 82.9 km.
        let lm = LocalMetres::new(126.42, 42.0);
        assert!(
            (lm.m_per_deg_lat - 111_136.0).abs() < 200.0,
            "{}",
            lm.m_per_deg_lat
        );
        assert!(
            (lm.m_per_deg_lon - 82_876.0).abs() < 200.0,
            "{}",
            lm.m_per_deg_lon
        );
    }

    #[test]
    fn distance_to_segment_is_metres() {
        let lm = LocalMetres::new(126.42, 41.94);
        // A north-south segment 0.001° of longitude east of the origin: about 83 m away.
        let d = lm.distance_to_segment_m(
            Coord {
                x: 126.421,
                y: 41.93,
            },
            Coord {
                x: 126.421,
                y: 41.95,
            },
        );
        assert!((d - 82.9).abs() < 0.5, "{d}");
    }
}
