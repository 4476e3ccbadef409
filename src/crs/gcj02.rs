//! GCJ-02, the shifted datum of Chinese consumer map apps, converted to WGS84 at the edge.
//!
//! Only a client that says `crs=gcj02` goes through here; everything inside the server is WGS84.
//! The forward transform (WGS84 → GCJ-02) is the published obfuscation formula on the
//! Krasovsky 1940 ellipsoid; its inverse has no closed form, so [`to_wgs84`] iterates the forward
//! transform until the round trip is within about a millimetre.

use std::f64::consts::PI;

const A: f64 = 6_378_245.0;
const EE: f64 = 0.006_693_421_622_965_943;

/// Whether `[lon, lat]` is outside the rough box where GCJ-02 applies (outside China it equals
/// WGS84).
pub fn out_of_china(lon: f64, lat: f64) -> bool {
    !(72.004..=137.8347).contains(&lon) || !(0.8293..=55.8271).contains(&lat)
}

fn transform_lat(x: f64, y: f64) -> f64 {
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

fn transform_lon(x: f64, y: f64) -> f64 {
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}

/// WGS84 `[lon, lat]` → GCJ-02 `[lon, lat]`.
pub fn from_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    if out_of_china(lon, lat) {
        return (lon, lat);
    }
    let dlat = transform_lat(lon - 105.0, lat - 35.0);
    let dlon = transform_lon(lon - 105.0, lat - 35.0);
    let rad = lat / 180.0 * PI;
    let magic = 1.0 - EE * rad.sin() * rad.sin();
    let sq = magic.sqrt();
    let dlat = (dlat * 180.0) / ((A * (1.0 - EE)) / (magic * sq) * PI);
    let dlon = (dlon * 180.0) / (A / sq * rad.cos() * PI);
    (lon + dlon, lat + dlat)
}

/// GCJ-02 `[lon, lat]` → WGS84 `[lon, lat]`, by fixed-point iteration on [`from_wgs84`]
/// (converges to 1e-9° ≈ 0.1 mm in a handful of steps because the shift varies slowly).
pub fn to_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    if out_of_china(lon, lat) {
        return (lon, lat);
    }
    let (mut wlon, mut wlat) = (lon, lat);
    for _ in 0..30 {
        let (glon, glat) = from_wgs84(wlon, wlat);
        let (elon, elat) = (glon - lon, glat - lat);
        wlon -= elon;
        wlat -= elat;
        if elon.abs() < 1e-10 && elat.abs() < 1e-10 {
            break;
        }
    }
    (wlon, wlat)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Published pairs (wgs lat, wgs lon, gcj lat, gcj lon) used by the eviltransform test suites.
    const PAIRS: [(f64, f64, f64, f64); 3] = [
        (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215), // Shanghai
        (22.543847, 113.912316, 22.540796131694766, 113.9171764808363), // Shenzhen
        (39.911954, 116.377817, 39.91334545536069, 116.38404722455657), // Beijing
    ];

    #[test]
    fn forward_matches_known_pairs() {
        for (wlat, wlon, glat, glon) in PAIRS {
            let (lon, lat) = from_wgs84(wlon, wlat);
            assert!((lon - glon).abs() < 1e-9 && (lat - glat).abs() < 1e-9);
        }
    }

    #[test]
    fn inverse_recovers_wgs84_within_a_millimetre() {
        for (wlat, wlon, glat, glon) in PAIRS {
            let (lon, lat) = to_wgs84(glon, glat);
            // 1e-8° is about 1 mm.
            assert!((lon - wlon).abs() < 1e-8, "{lon} vs {wlon}");
            assert!((lat - wlat).abs() < 1e-8, "{lat} vs {wlat}");
        }
    }

    #[test]
    fn baishan_shift_is_hundreds_of_metres_and_outside_china_is_identity() {
        let (glon, glat) = from_wgs84(126.42, 41.94);
        let lm = crate::crs::geodesy::LocalMetres::new(126.42, 41.94);
        let d = lm.project(geo::Coord { x: glon, y: glat });
        let shift_m = (d.x * d.x + d.y * d.y).sqrt();
        assert!((200.0..1000.0).contains(&shift_m), "{shift_m}");
        assert_eq!(to_wgs84(2.35, 48.85), (2.35, 48.85));
    }
}
