//! `Bbox`: a box of WGS84 longitudes and latitudes, `[west, south, east, north]` on the wire.

use crate::problem::Problem;
use serde::{Serialize, Serializer};

/// A WGS84 box in degrees. `west ≤ east` and `south ≤ north` unless built otherwise; the four
/// numbers go over the wire as `[west, south, east, north]` (GeoJSON's and OGC's `bbox`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bbox {
    pub west: f64,
    pub south: f64,
    pub east: f64,
    pub north: f64,
}

impl Bbox {
    /// Every longitude and latitude.
    pub const WORLD: Bbox = Bbox::new(-180.0, -90.0, 180.0, 90.0);

    /// The whole Web Mercator world (latitudes to ±85.0511°).
    pub const WEB_MERCATOR: Bbox = Bbox {
        west: -180.0,
        south: -85.051_128_779_806_6,
        east: 180.0,
        north: 85.051_128_779_806_6,
    };

    pub const fn new(west: f64, south: f64, east: f64, north: f64) -> Self {
        Bbox {
            west,
            south,
            east,
            north,
        }
    }

    /// The box around one point.
    pub const fn point(lon: f64, lat: f64) -> Self {
        Bbox::new(lon, lat, lon, lat)
    }

    pub const fn to_array(self) -> [f64; 4] {
        [self.west, self.south, self.east, self.north]
    }

    /// Parses `minLon,minLat,maxLon,maxLat` (the API's `bbox=` parameter): four finite
    /// numbers, longitudes within ±180, latitudes within ±90, minimum first.
    pub fn parse(s: &str) -> Result<Bbox, Problem> {
        let bad = |why: String| Problem::new("bad_bbox", why).with("value", s);
        let v: Vec<f64> = s
            .split(',')
            .map(|p| p.trim().parse::<f64>().ok().filter(|x| x.is_finite()))
            .collect::<Option<_>>()
            .ok_or_else(|| {
                bad(format!(
                    "bbox={s:?} must be four numbers minLon,minLat,maxLon,maxLat"
                ))
            })?;
        let [west, south, east, north] = v[..] else {
            return Err(bad(format!(
                "bbox={s:?} must be four numbers minLon,minLat,maxLon,maxLat"
            )));
        };
        for lon in [west, east] {
            if !(-180.0..=180.0).contains(&lon) {
                return Err(bad(format!(
                    "bbox={s:?}: longitude {lon} is outside -180..180"
                )));
            }
        }
        for lat in [south, north] {
            if !(-90.0..=90.0).contains(&lat) {
                return Err(bad(format!(
                    "bbox={s:?}: latitude {lat} is outside -90..90 (the order is minLon,minLat,maxLon,maxLat)"
                )));
            }
        }
        if west > east || south > north {
            return Err(bad(format!(
                "bbox={s:?}: the minimum must come first (minLon,minLat,maxLon,maxLat)"
            )));
        }
        Ok(Bbox::new(west, south, east, north))
    }

    /// Whether the two boxes share at least a point (edges included).
    pub fn intersects(&self, o: &Bbox) -> bool {
        self.west <= o.east && o.west <= self.east && self.south <= o.north && o.south <= self.north
    }

    /// Whether `[lon, lat]` is inside or on the edge.
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        (self.west..=self.east).contains(&lon) && (self.south..=self.north).contains(&lat)
    }

    /// The smallest box holding both.
    pub fn union(self, o: Bbox) -> Bbox {
        Bbox::new(
            self.west.min(o.west),
            self.south.min(o.south),
            self.east.max(o.east),
            self.north.max(o.north),
        )
    }

    /// The centre `[lon, lat]` (of the degrees, not of the projected box).
    pub fn center(&self) -> [f64; 2] {
        [
            (self.west + self.east) / 2.0,
            (self.south + self.north) / 2.0,
        ]
    }

    /// The box grown by `deg` degrees on every side.
    pub fn grown(self, deg: f64) -> Bbox {
        Bbox::new(
            self.west - deg,
            self.south - deg,
            self.east + deg,
            self.north + deg,
        )
    }
}

impl From<[f64; 4]> for Bbox {
    fn from([west, south, east, north]: [f64; 4]) -> Self {
        Bbox::new(west, south, east, north)
    }
}

impl From<Bbox> for [f64; 4] {
    fn from(b: Bbox) -> Self {
        b.to_array()
    }
}

impl Serialize for Bbox {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_array().serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::Bbox;

    #[test]
    fn parses_the_api_form_and_refuses_with_a_code() {
        // Baishan's Hunjiang district lies around 126.42° E, 41.94° N.
        let b = Bbox::parse("126.3, 41.8,126.6,42.0").unwrap();
        assert_eq!(b.to_array(), [126.3, 41.8, 126.6, 42.0]);
        assert!(b.contains(126.42, 41.94));
        assert_eq!(
            serde_json::to_string(&b).unwrap(),
            "[126.3,41.8,126.6,42.0]"
        );
        for bad in [
            "1,2,3",
            "a,b,c,d",
            "126.6,41.8,126.3,42.0",
            "0,95,1,96",
            "181,0,182,1",
            "1,2,3,NaN",
        ] {
            let e = Bbox::parse(bad).unwrap_err();
            assert_eq!(e.code, "bad_bbox", "{bad}");
        }
    }

    #[test]
    fn intersects_union_and_centre() {
        let a = Bbox::new(0.0, 0.0, 1.0, 1.0);
        let b = Bbox::new(1.0, 1.0, 2.0, 2.0);
        assert!(a.intersects(&b), "shared corner");
        assert!(!a.intersects(&Bbox::new(1.5, 0.0, 2.0, 0.5)));
        assert_eq!(a.union(b).to_array(), [0.0, 0.0, 2.0, 2.0]);
        assert_eq!(a.union(b).center(), [1.0, 1.0]);
    }
}
