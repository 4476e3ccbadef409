//! GDAL's MVT driver (`ogrinfo`, Debian `gdal-bin`) must read our tiles
//! without warnings. Skipped with a message when `ogrinfo` is not installed
//! (install it with `apt-get install gdal-bin`).

use geo::{LineString, MultiLineString, MultiPolygon, Point, Polygon};
use std::process::Command;
use xuncha_tiles::{world_to_lonlat, TileBuilder, TileCoord, Value};

const T: TileCoord = TileCoord {
    z: 14,
    x: 13_945,
    y: 6_087,
};

fn ll(px: f64, py: f64) -> (f64, f64) {
    let n = 4096.0 * f64::from(1u32 << T.z);
    world_to_lonlat(
        (f64::from(T.x) * 4096.0 + px) / n,
        (f64::from(T.y) * 4096.0 + py) / n,
    )
}

#[test]
fn ogrinfo_lists_layers_and_features_without_warnings() {
    if Command::new("ogrinfo").arg("--version").output().is_err() {
        // In CI the test command installs gdal-bin, so a missing ogrinfo there is a failure.
        assert!(
            std::env::var_os("CI").is_none(),
            "ogrinfo is missing in CI: install gdal-bin"
        );
        eprintln!("SKIPPED: ogrinfo not installed (apt-get install gdal-bin)");
        return;
    }
    let ring = |pts: &[(f64, f64)]| {
        LineString::from(pts.iter().map(|&(x, y)| ll(x, y)).collect::<Vec<_>>())
    };
    let zone = MultiPolygon(vec![Polygon::new(
        ring(&[
            (-500.0, 100.0),
            (2000.0, 100.0),
            (2000.0, 2000.0),
            (-500.0, 2000.0),
        ]),
        vec![ring(&[
            (500.0, 500.0),
            (500.0, 900.0),
            (900.0, 900.0),
            (900.0, 500.0),
        ])],
    )]);
    let route = MultiLineString(vec![ring(&[(100.0, 3000.0), (5000.0, 3100.0)])]);
    let (lon, lat) = ll(3000.0, 3000.0);

    let mut b = TileBuilder::new(T);
    b.layer("zones")
        .add_polygon(
            &zone,
            &[
                ("name", Value::from("浑江区 门前三包")),
                ("sector", Value::from("社区")),
            ],
        )
        .expect("in tile")
        .set_id(1);
    b.layer("routes")
        .add_line(
            &route,
            &[
                ("name", Value::from("沿江公园巡逻")),
                ("width_m", Value::from(6.5)),
            ],
        )
        .expect("in tile")
        .set_id(2);
    b.layer("reports")
        .add_point(
            &Point::new(lon, lat),
            &[
                ("category", Value::from("litter")),
                ("count", Value::Int(3)),
            ],
        )
        .expect("in tile")
        .set_id(3);
    let bytes = b.encode();

    let dir = std::env::temp_dir().join(format!("xuncha-tiles-ogr-{}", std::process::id()));
    let path = dir.join(format!("{}/{}/{}.pbf", T.z, T.x, T.y));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, &bytes).unwrap();
    let out = Command::new("ogrinfo")
        .arg("-ro")
        .arg("-al")
        .arg(&path)
        .output()
        .expect("ogrinfo runs");
    std::fs::remove_dir_all(&dir).ok();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "ogrinfo failed: {stderr}");
    assert!(stderr.trim().is_empty(), "ogrinfo warned: {stderr}");
    for needle in [
        "Layer name: zones",
        "Layer name: routes",
        "Layer name: reports",
        "Feature Count: 1",
        "浑江区 门前三包",
        "沿江公园巡逻",
        "width_m (Real) = 6.5",
        "MULTIPOLYGON",
        "LINESTRING",
        "POINT",
    ] {
        assert!(
            stdout.contains(needle),
            "ogrinfo output lacks {needle:?}:\n{stdout}"
        );
    }
    // GDAL georeferences the tile from its z/x/y path and (CLIP=YES, its
    // default) cuts the buffer away: the zone reaches west of the tile, so
    // its extent starts at the tile's west edge, in metres of EPSG:3857.
    let wx = f64::from(T.x) / f64::from(1u32 << T.z);
    let east_m = (wx - 0.5) * 2.0 * std::f64::consts::PI * 6_378_137.0;
    let zones_extent = stdout
        .split("Layer name: zones")
        .nth(1)
        .and_then(|s| s.split("Extent: (").nth(1))
        .and_then(|s| s.split(',').next())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .expect("zones extent");
    assert!(
        (zones_extent - east_m).abs() < 1.0,
        "{zones_extent} vs {east_m}"
    );
}
