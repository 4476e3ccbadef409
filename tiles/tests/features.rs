//! Hand-made geometry with known answers, decoded with `mvt-reader` and the
//! raw command parser in `common`.

mod common;

use common::*;
use geo::{Area, LineString, MultiLineString, MultiPolygon, Point, Polygon};
use mvt_reader::feature::Value as ReadValue;
use mvt_reader::Reader;
use xuncha_tiles::{aggregate_points, world_to_lonlat, TileBuilder, TileCoord, Value};

const T: TileCoord = TileCoord {
    z: 14,
    x: 13_945,
    y: 6_087,
};

/// Tile units of `T` → lon/lat, so expectations can be written in tile units.
fn ll(px: f64, py: f64) -> (f64, f64) {
    let n = 4096.0 * f64::from(1u32 << T.z);
    world_to_lonlat(
        (f64::from(T.x) * 4096.0 + px) / n,
        (f64::from(T.y) * 4096.0 + py) / n,
    )
}

fn ring(pts: &[(f64, f64)]) -> LineString<f64> {
    LineString::from(pts.iter().map(|&(x, y)| ll(x, y)).collect::<Vec<_>>())
}

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Vec<(f64, f64)> {
    vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
}

type Rings = Vec<Vec<(i64, i64)>>;

/// The only feature of the only layer, as (raw feature, rings, multipolygon).
fn single_polygon(bytes: &[u8]) -> (RawFeature, Rings, MultiPolygon<f64>) {
    let layers = raw_layers(bytes);
    assert_eq!(layers.len(), 1);
    assert_eq!(layers[0].features.len(), 1);
    let f = layers[0].features[0].clone();
    assert_eq!(f.geom_type, 3);
    let (rings, _) = polygon_rings(&f.geometry);
    let mp = rings_to_multipolygon(&rings);
    assert_valid(&mp, "single polygon");
    (f, rings, mp)
}

#[test]
fn concave_polygon_leaving_and_reentering_is_split_not_bridged() {
    // A U lying on its side: the base is east of tile + buffer, both arms reach into the tile.
    let u = vec![
        (3000.0, 1000.0),
        (4400.0, 1000.0),
        (4400.0, 3000.0),
        (3000.0, 3000.0),
        (3000.0, 2500.0),
        (4300.0, 2500.0),
        (4300.0, 1500.0),
        (3000.0, 1500.0),
        (3000.0, 1000.0),
    ];
    let mut b = TileBuilder::new(T);
    b.layer("zones")
        .add_polygon(&MultiPolygon(vec![Polygon::new(ring(&u), vec![])]), &[])
        .expect("in tile");
    let (_, rings, mp) = single_polygon(&b.encode());
    assert_eq!(
        mp.0.len(),
        2,
        "two arms, no zero-width bridge along the buffer edge: {rings:?}"
    );
    for p in &mp.0 {
        assert!(p.exterior().0.iter().all(|c| c.x <= 4160.0));
    }
    // Each arm is 1160 × 500 tile units; rounding moves edges by at most half a unit.
    assert!(
        (mp.unsigned_area() - 2.0 * 1160.0 * 500.0).abs() < 2.0 * 1660.0,
        "{}",
        mp.unsigned_area()
    );
}

#[test]
fn hole_follows_its_exterior_with_opposite_winding() {
    let p = Polygon::new(
        ring(&rect(100.0, 100.0, 2000.0, 2000.0)),
        vec![ring(&rect(500.0, 500.0, 1000.0, 1000.0))],
    );
    let mut b = TileBuilder::new(T);
    b.layer("zones")
        .add_polygon(&MultiPolygon(vec![p]), &[])
        .expect("in tile");
    let bytes = b.encode();
    let (f, rings, mp) = single_polygon(&bytes);
    let (_, cmds) = polygon_rings(&f.geometry);
    assert_eq!((cmds.move_to, cmds.line_to, cmds.close_path), (2, 2, 2));
    assert_eq!(rings.len(), 2);
    assert!(ring_area(&rings[0]) > 0 && ring_area(&rings[1]) < 0);
    assert_eq!(mp.0.len(), 1);
    assert_eq!(mp.0[0].interiors().len(), 1);
    assert!(
        (mp.unsigned_area() - (1900.0f64.powi(2) - 500.0f64.powi(2))).abs() < 2.0 * 2.0 * 1900.0
    );
    // mvt-reader agrees: one polygon with one hole.
    let r = Reader::new(bytes).unwrap();
    match &r.get_features(0).unwrap()[0].geometry {
        geo::Geometry::Polygon(p) => assert_eq!(p.interiors().len(), 1),
        geo::Geometry::MultiPolygon(m) if m.0.len() == 1 => assert_eq!(m.0[0].interiors().len(), 1),
        g => panic!("expected one polygon, got {g:?}"),
    }
}

#[test]
fn polygon_covering_the_tile_becomes_the_buffered_square() {
    let p = Polygon::new(ring(&rect(-5000.0, -5000.0, 9000.0, 9000.0)), vec![]);
    let mut b = TileBuilder::new(T);
    b.layer("zones")
        .add_polygon(&MultiPolygon(vec![p]), &[])
        .expect("covers tile");
    let (_, rings, _) = single_polygon(&b.encode());
    assert_eq!(rings.len(), 1);
    let mut corners = rings[0].clone();
    corners.sort_unstable();
    assert_eq!(
        corners,
        vec![(-64, -64), (-64, 4160), (4160, -64), (4160, 4160)]
    );
}

#[test]
fn hole_crossing_the_tile_edge_becomes_a_notch() {
    let p = Polygon::new(
        ring(&rect(1000.0, 1000.0, 8000.0, 3000.0)),
        vec![ring(&rect(3000.0, 1500.0, 7000.0, 2500.0))],
    );
    let mut b = TileBuilder::new(T);
    b.layer("zones")
        .add_polygon(&MultiPolygon(vec![p]), &[])
        .expect("in tile");
    let (_, rings, mp) = single_polygon(&b.encode());
    assert_eq!(
        rings.len(),
        1,
        "the hole is open to the clip edge, so it is part of the exterior"
    );
    let expected = 3160.0 * 2000.0 - 1160.0 * 1000.0;
    assert!(
        (mp.unsigned_area() - expected).abs() < 10_000.0,
        "{}",
        mp.unsigned_area()
    );
}

#[test]
fn self_intersecting_input_is_repaired() {
    let bow = vec![
        (100.0, 100.0),
        (2000.0, 2000.0),
        (2000.0, 100.0),
        (100.0, 2000.0),
        (100.0, 100.0),
    ];
    let mut b = TileBuilder::new(T);
    b.layer("zones")
        .add_polygon(&MultiPolygon(vec![Polygon::new(ring(&bow), vec![])]), &[])
        .expect("in tile");
    let (_, _, mp) = single_polygon(&b.encode());
    assert_eq!(mp.0.len(), 2);
}

#[test]
fn polygon_below_the_grid_is_dropped_and_empty_tiles_are_empty() {
    let tiny = Polygon::new(ring(&rect(100.0, 100.0, 100.3, 100.2)), vec![]);
    let mut b = TileBuilder::new(T);
    assert!(b
        .layer("zones")
        .add_polygon(&MultiPolygon(vec![tiny]), &[])
        .is_none());
    let far = Polygon::new(ring(&rect(9000.0, 9000.0, 9500.0, 9500.0)), vec![]);
    assert!(b
        .layer("zones")
        .add_polygon(&MultiPolygon(vec![far]), &[])
        .is_none());
    assert!(b.is_empty());
    assert!(b.encode().is_empty());
    assert!(TileBuilder::new(T).encode().is_empty());
}

#[test]
fn lines_are_split_at_the_clip_edge_and_simplified() {
    // In, out beyond the buffer, back in: two parts.
    let pts = [
        (1000.0, 1000.0),
        (5000.0, 1000.0),
        (5000.0, 2000.0),
        (1000.0, 2000.0),
    ];
    let line = MultiLineString(vec![LineString::from(
        pts.iter().map(|&(x, y)| ll(x, y)).collect::<Vec<_>>(),
    )]);
    // A wiggle of ±0.2 units: simplifies to its two ends.
    let wiggle: Vec<(f64, f64)> = (0..=1000)
        .map(|i| {
            ll(
                500.0 + f64::from(i),
                3000.0 + if i % 2 == 0 { 0.2 } else { -0.2 },
            )
        })
        .collect();
    let mut b = TileBuilder::new(T);
    let mut l = b.layer("routes");
    l.add_line(&line, &[("width_m", Value::from(4.5))])
        .expect("in tile");
    l.add_line(&MultiLineString(vec![LineString::from(wiggle)]), &[])
        .expect("in tile");
    let layers = raw_layers(&b.encode());
    let f = &layers[0].features[0];
    assert_eq!(f.geom_type, 2);
    // MoveTo(1) x y LineTo(1) x y, twice.
    assert_eq!(f.geometry.len(), 12, "{:?}", f.geometry);
    assert_eq!(
        [f.geometry[0], f.geometry[3], f.geometry[6], f.geometry[9]],
        [9, 10, 9, 10]
    );
    let g = &layers[0].features[1].geometry;
    assert_eq!(
        g.len(),
        6,
        "the wiggle is within a unit of a straight line: {g:?}"
    );
    let r = Reader::new(b.encode()).unwrap();
    match &r.get_features(0).unwrap()[0].geometry {
        geo::Geometry::MultiLineString(m) => {
            assert_eq!(m.0.len(), 2);
            assert_eq!(m.0[0].0[1].x, 4160.0);
            assert_eq!(m.0[1].0[0].x, 4160.0);
        }
        g => panic!("expected two lines, got {g:?}"),
    }
}

#[test]
fn points_are_kept_inside_tile_plus_buffer_only() {
    let mut b = TileBuilder::new(T);
    let mut l = b.layer("reports");
    let inside = ll(10.0, 10.0);
    let buffer = ll(-30.0, 4100.0);
    let outside = ll(-100.0, 10.0);
    assert!(l.add_point(&Point::new(inside.0, inside.1), &[]).is_some());
    assert!(l.add_point(&Point::new(buffer.0, buffer.1), &[]).is_some());
    assert!(l
        .add_point(&Point::new(outside.0, outside.1), &[])
        .is_none());
    let r = Reader::new(b.encode()).unwrap();
    let f = r.get_features(0).unwrap();
    assert_eq!(f.len(), 2);
    match &f[1].geometry {
        geo::Geometry::Point(p) => assert_eq!((p.x(), p.y()), (-30.0, 4100.0)),
        geo::Geometry::MultiPoint(m) if m.0.len() == 1 => {
            assert_eq!((m.0[0].x(), m.0[0].y()), (-30.0, 4100.0))
        }
        g => panic!("{g:?}"),
    }
}

#[test]
fn properties_ids_and_layers_round_trip() {
    let mut b = TileBuilder::new(T);
    let p = ll(100.0, 100.0);
    let props = [
        ("name", Value::from("江源区 门前三包")),
        ("neg", Value::Int(-5)),
        ("pos", Value::Int(7)),
        ("f", Value::Float(2.5)),
        ("ok", Value::Bool(true)),
    ];
    b.layer("empty");
    b.layer("reports")
        .add_point(&Point::new(p.0, p.1), &props)
        .expect("inside")
        .set_id(42);
    b.layer("reports")
        .add_point(&Point::new(p.0, p.1), &props[..2])
        .expect("inside");
    let bytes = b.encode();
    let raw = raw_layers(&bytes);
    assert_eq!(raw.len(), 1, "a layer without features is omitted");
    assert_eq!(raw[0].keys, ["name", "neg", "pos", "f", "ok"]);
    assert_eq!(raw[0].values, 5, "the second feature reuses values");
    let r = Reader::new(bytes).unwrap();
    assert_eq!(r.get_layer_names().unwrap(), ["reports"]);
    let f = r.get_features(0).unwrap();
    assert_eq!((f[0].id, f[1].id), (Some(42), None));
    let got = f[0].properties.as_ref().unwrap();
    assert_eq!(got["name"], ReadValue::String("江源区 门前三包".into()));
    assert_eq!(got["neg"], ReadValue::SInt(-5));
    assert_eq!(got["pos"], ReadValue::UInt(7));
    assert_eq!(got["f"], ReadValue::Double(2.5));
    assert_eq!(got["ok"], ReadValue::Bool(true));
}

#[test]
fn aggregated_bins_carry_counts() {
    let t = TileCoord::new(10, 871, 380).unwrap();
    let b = t.bounds_lonlat();
    let c = |fx: f64, fy: f64| {
        Point::new(
            b.min().x + (b.max().x - b.min().x) * fx,
            b.max().y - (b.max().y - b.min().y) * fy,
        )
    };
    let pts = vec![c(0.1, 0.1), c(0.11, 0.1), c(0.9, 0.9), c(1.5, 0.5)];
    let bins = aggregate_points(t, pts, 16).unwrap();
    assert_eq!(bins.iter().map(|b| b.1).collect::<Vec<_>>(), [2, 1]);
    let mut tb = TileBuilder::new(t);
    assert_eq!(
        tb.layer("reports")
            .add_point_bins(&bins, &[("kind", Value::from("bin"))]),
        2
    );
    let r = Reader::new(tb.encode()).unwrap();
    let f = r.get_features(0).unwrap();
    let counts: Vec<&ReadValue> = f
        .iter()
        .map(|f| &f.properties.as_ref().unwrap()["count"])
        .collect();
    assert_eq!(counts, [&ReadValue::UInt(2), &ReadValue::UInt(1)]);
}

#[test]
fn reset_builder_equals_a_fresh_one() {
    let p = Polygon::new(ring(&rect(100.0, 100.0, 5000.0, 2000.0)), vec![]);
    let mp = MultiPolygon(vec![p]);
    let other = TileCoord { x: T.x + 1, ..T };
    let fresh = |t: TileCoord| {
        let mut b = TileBuilder::new(t);
        b.layer("zones").add_polygon(&mp, &[("a", Value::Int(1))]);
        b.encode()
    };
    let mut b = TileBuilder::new(T);
    b.layer("zones").add_polygon(&mp, &[("a", Value::Int(1))]);
    assert_eq!(b.encode(), fresh(T));
    b.reset(other);
    b.layer("zones").add_polygon(&mp, &[("a", Value::Int(1))]);
    let reused = b.encode();
    assert!(!reused.is_empty());
    assert_eq!(reused, fresh(other));
    assert_ne!(reused, fresh(T));
}

#[test]
fn buffered_cover_lists_every_tile_that_draws_a_feature() {
    use geo::BoundingRect;
    // A small zone hugging the south-east corner of T, inside T proper.
    let zone = MultiPolygon(vec![Polygon::new(
        ring(&rect(4050.0, 4060.0, 4090.0, 4094.0)),
        vec![],
    )]);
    let bbox = zone.bounding_rect().unwrap();
    let mut drawn = Vec::new();
    for dy in -1i64..=1 {
        for dx in -1i64..=1 {
            let t = TileCoord::new(
                T.z,
                (i64::from(T.x) + dx) as u32,
                (i64::from(T.y) + dy) as u32,
            )
            .unwrap();
            let mut b = TileBuilder::new(t);
            if b.layer("zones").add_polygon(&zone, &[]).is_some() {
                drawn.push(t);
            }
        }
    }
    assert_eq!(
        drawn.len(),
        4,
        "the tile and its east, south and south-east neighbours: {drawn:?}"
    );
    let cfg = xuncha_tiles::TileConfig::default();
    let buffered: Vec<TileCoord> =
        xuncha_tiles::tiles_covering_buffered(bbox, T.z, cfg.buffer_fraction()).collect();
    for t in &drawn {
        assert!(
            buffered.contains(t),
            "{t} draws the zone but would not be invalidated"
        );
    }
    assert_eq!(buffered.len(), 4);
    assert_eq!(xuncha_tiles::tiles_covering(bbox, T.z).count(), 1);
}
