//! OGC API – Features against the real server on 127.0.0.1:0 with the Baishan demo city (issue
//! 13): Part 1 to the letter (landing page, OpenAPI, conformance, collections, paging, errors),
//! CQL2 filters with the exact zone ids each returns, Part 4 edits with ETags, auth for desktop
//! tools, and GDAL's OAPIF driver (`ogrinfo`, `ogr2ogr`) as a real client.

mod common;

use common::*;
use geo::GeodesicArea;
use reqwest::header::HeaderMap;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};

const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";

async fn demo_with_reports(tweak: impl FnOnce(&mut xuncha::Config)) -> Srv {
    let s = start_with(true, tweak).await;
    let st = s.state.clone();
    let n = tokio::task::spawn_blocking(move || {
        xuncha::demo::reports::load(&st, &geodata().join("reports.json"))
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(n, 400);
    s.state.tiles.report_points.reload(&s.state.store).unwrap();
    s
}

/// GET as `role` (or anonymously): status, headers, JSON body (Null when not JSON).
async fn get(s: &Srv, role: Option<&str>, path: &str) -> (u16, HeaderMap, Value) {
    let mut r = s.http.get(s.url(path));
    if let Some(role) = role {
        r = r.bearer_auth(&s.tokens[role]);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.bytes().await.unwrap();
    (
        status,
        headers,
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

fn ctype(h: &HeaderMap) -> &str {
    h.get("content-type").unwrap().to_str().unwrap()
}

fn link<'a>(doc: &'a Value, rel: &str) -> Option<&'a Value> {
    doc["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == rel)
}

fn ids(fc: &Value) -> BTreeSet<String> {
    fc["features"]
        .as_array()
        .unwrap_or_else(|| panic!("not a FeatureCollection: {fc}"))
        .iter()
        .map(|f| match &f["id"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn landing_page_openapi_and_conformance_follow_part_1() {
    let s = start().await;
    for path in ["/ogc", "/ogc/"] {
        let (st, h, doc) = get(&s, None, path).await;
        assert_eq!(st, 200, "{path}");
        assert!(ctype(&h).starts_with("application/json"));
        for rel in ["self", "service-desc", "conformance", "data"] {
            let l = link(&doc, rel).unwrap_or_else(|| panic!("no {rel} link in {doc}"));
            assert!(
                l["href"].as_str().unwrap().starts_with(&s.base),
                "links are absolute: {l}"
            );
        }
        assert_eq!(
            link(&doc, "service-desc").unwrap()["type"],
            "application/vnd.oai.openapi+json;version=3.0"
        );
    }
    let (_, _, landing) = get(&s, None, "/ogc").await;
    let api = link(&landing, "service-desc").unwrap()["href"]
        .as_str()
        .unwrap()
        .to_string();
    let r = s.http.get(&api).send().await.unwrap();
    assert_eq!(
        r.headers()["content-type"],
        "application/vnd.oai.openapi+json;version=3.0"
    );
    let doc: Value = r.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.0"));
    for p in [
        "/",
        "/conformance",
        "/collections",
        "/collections/{collectionId}",
        "/collections/{collectionId}/items",
        "/collections/{collectionId}/items/{featureId}",
    ] {
        assert!(doc["paths"][p].is_object(), "OpenAPI lacks {p}");
    }
    for m in ["post", "options"] {
        assert!(doc["paths"]["/collections/{collectionId}/items"][m].is_object());
    }
    for m in ["put", "patch", "delete"] {
        assert!(doc["paths"]["/collections/{collectionId}/items/{featureId}"][m].is_object());
    }
    assert_eq!(
        doc["components"]["parameters"]["limit"]["schema"]["maximum"],
        10000
    );
    // Self-contained: no reference leaves the document.
    let text = doc.to_string();
    assert!(!text.contains("\"$ref\":\"http"), "external $ref");

    let (st, _, conf) = get(&s, None, "/ogc/conformance").await;
    assert_eq!(st, 200);
    let got: BTreeSet<&str> = conf["conformsTo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let f1 = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/";
    let f3 = "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/";
    let f4 = "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/";
    let c2 = "http://www.opengis.net/spec/cql2/1.0/conf/";
    let mut want: BTreeSet<String> = BTreeSet::new();
    want.extend(["core", "oas30", "geojson"].map(|c| format!("{f1}{c}")));
    want.extend(
        [
            "queryables",
            "queryables-query-parameters",
            "filter",
            "features-filter",
        ]
        .map(|c| format!("{f3}{c}")),
    );
    want.extend(
        [
            "cql2-text",
            "cql2-json",
            "basic-cql2",
            "advanced-comparison-operators",
            "case-insensitive-comparison",
            "basic-spatial-functions",
            "basic-spatial-functions-plus",
            "temporal-functions",
        ]
        .map(|c| format!("{c2}{c}")),
    );
    want.extend(
        [
            "create-replace-delete",
            "update",
            "optimistic-locking-etags",
            "features",
        ]
        .map(|c| format!("{f4}{c}")),
    );
    let want: BTreeSet<&str> = want.iter().map(String::as_str).collect();
    assert_eq!(got, want, "declare exactly what is implemented");
    let (st, _, e) = get(&s, None, "/ogc/conformance?foo=1").await;
    assert_eq!(st, 400);
    assert_eq!(e["code"], "InvalidParameterValue");
    let (st, _, e) = get(&s, None, "/ogc/nothing/here").await;
    assert_eq!(st, 404);
    assert_eq!(e["code"], "NotFound");
}

#[tokio::test]
async fn collections_items_paging_and_errors() {
    let s = start().await;
    let (st, _, cols) = get(&s, Some("patrol"), "/ogc/collections").await;
    assert_eq!(st, 200);
    let names: Vec<&str> = cols["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "zones",
            "responsibility",
            "grid",
            "patrol_route",
            "hotspot",
            "green_adoption",
            "reports"
        ]
    );
    for c in cols["collections"].as_array().unwrap() {
        assert_eq!(c["itemType"], "feature");
        assert_eq!(c["crs"][0], CRS84);
        for rel in [
            "self",
            "items",
            "http://www.opengis.net/def/rel/ogc/1.0/queryables",
        ] {
            assert!(link(c, rel).is_some(), "{} has no {rel} link", c["id"]);
        }
        assert_eq!(link(c, "items").unwrap()["type"], "application/geo+json");
    }
    let resp = &cols["collections"][1];
    let bbox = resp["extent"]["spatial"]["bbox"][0].as_array().unwrap();
    assert!(
        (bbox[0].as_f64().unwrap() - 126.39).abs() < 0.05,
        "{bbox:?}"
    );

    // Default page of 10, then every page through `next`, then `prev`.
    let (st, h, page) = get(&s, Some("patrol"), "/ogc/collections/responsibility/items").await;
    assert_eq!(st, 200);
    assert_eq!(ctype(&h), "application/geo+json");
    assert_eq!(page["type"], "FeatureCollection");
    assert_eq!(page["numberMatched"], 340);
    assert_eq!(page["numberReturned"], 10);
    assert!(xuncha::time::parse_rfc3339(page["timeStamp"].as_str().unwrap()).is_ok());
    assert!(link(&page, "prev").is_none());
    let f = &page["features"][0];
    for col in [
        "kind",
        "name",
        "owner_name",
        "owner_sector",
        "owner_contact",
        "version",
    ] {
        assert!(f["properties"].get(col).is_some(), "no column {col}: {f}");
    }
    assert!(f["properties"].get("owner").is_none(), "owner is flat");
    assert_eq!(
        link(f, "self").unwrap()["href"],
        format!(
            "{}/ogc/collections/responsibility/items/{}",
            s.base,
            f["id"].as_str().unwrap()
        )
    );
    let mut seen = BTreeSet::new();
    let mut next = Some(format!(
        "{}/ogc/collections/responsibility/items?limit=50",
        s.base
    ));
    let mut pages = 0;
    while let Some(url) = next {
        let r = s
            .http
            .get(&url)
            .bearer_auth(&s.tokens["patrol"])
            .send()
            .await
            .unwrap();
        let p: Value = r.json().await.unwrap();
        assert_eq!(p["numberMatched"], 340);
        let got = ids(&p);
        assert!(got.is_disjoint(&seen), "pages overlap");
        seen.extend(got);
        if pages == 1 {
            let prev = link(&p, "prev").unwrap()["href"].as_str().unwrap();
            assert!(prev.contains("offset=0"), "{prev}");
        }
        next = link(&p, "next").map(|l| l["href"].as_str().unwrap().to_string());
        pages += 1;
    }
    assert_eq!((seen.len(), pages), (340, 7));

    // Over the maximum is capped, not refused; below 1 is refused.
    let (_, _, all) = get(
        &s,
        Some("patrol"),
        "/ogc/collections/zones/items?limit=20000",
    )
    .await;
    assert_eq!(
        (
            all["numberMatched"].as_u64(),
            all["numberReturned"].as_u64()
        ),
        (Some(439), Some(439))
    );
    for (q, why) in [
        ("limit=0", "limit"),
        ("limit=ten", "limit"),
        ("offset=-1", "offset"),
        ("bbox=1,2,3", "bbox"),
        ("bbox=126.4,95,126.5,96", "latitude"),
        ("bbox=126.4,41.95,126.5,41.9", "southern"),
        ("colour=red", "unknown query parameter"),
        ("kind=road", "kind"),
        ("datetime=yesterday", "datetime"),
        ("bbox-crs=EPSG:3857&bbox=1,2,3,4", "CRS84"),
        ("filter-crs=EPSG:4326&filter=kind%3D'grid'", "CRS84"),
        ("f=html", "f="),
        ("limit=5&limit=6", "more than once"),
    ] {
        let (st, _, e) = get(
            &s,
            Some("patrol"),
            &format!("/ogc/collections/zones/items?{q}"),
        )
        .await;
        assert_eq!(st, 400, "{q}: {e}");
        assert_eq!(e["code"], "InvalidParameterValue", "{q}");
        assert!(e["description"].as_str().unwrap().contains(why), "{q}: {e}");
    }
    for path in [
        "/ogc/collections/roads",
        "/ogc/collections/roads/items",
        "/ogc/collections/zones/items/no-such-zone",
        "/ogc/collections/grid/items/rz-0011",
        "/ogc/collections/reports/items/abc",
        "/ogc/collections/reports/items/999999",
    ] {
        let (st, _, e) = get(&s, Some("patrol"), path).await;
        assert_eq!(
            (st, e["code"].as_str()),
            (404, Some("NotFound")),
            "{path}: {e}"
        );
    }

    // bbox and simple property filters.
    let (_, _, b) = get(
        &s,
        Some("patrol"),
        "/ogc/collections/responsibility/items?bbox=126.41,41.935,126.415,41.94",
    )
    .await;
    assert_eq!(
        ids(&b),
        ["rz-0006", "rz-0065", "rz-0107", "rz-0196", "rz-0315"]
            .map(String::from)
            .into()
    );
    let (_, _, h) = get(
        &s,
        Some("patrol"),
        "/ogc/collections/responsibility/items?sector=hospital&limit=100",
    )
    .await;
    assert_eq!(h["numberMatched"], 23);
    let (_, _, one) = get(
        &s,
        Some("patrol"),
        &format!(
            "/ogc/collections/zones/items?owner={}",
            enc("白山市第一中学")
        ),
    )
    .await;
    for f in one["features"].as_array().unwrap() {
        assert_eq!(f["properties"]["owner_name"], "白山市第一中学");
    }

    // One feature, with its version as a strong ETag and its links.
    let (st, h, f) = get(
        &s,
        Some("patrol"),
        "/ogc/collections/responsibility/items/rz-0011",
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(ctype(&h), "application/geo+json");
    assert_eq!(h["etag"], "\"1\"");
    assert_eq!(f["properties"]["owner_sector"], "school");
    assert!(link(&f, "collection").is_some());

    // Queryables as JSON Schema.
    let (st, h, q) = get(&s, Some("patrol"), "/ogc/collections/zones/queryables").await;
    assert_eq!(st, 200);
    assert_eq!(ctype(&h), "application/schema+json");
    assert_eq!(q["type"], "object");
    assert_eq!(
        q["properties"]["geometry"]["x-ogc-role"],
        "primary-geometry"
    );
    assert_eq!(
        q["properties"]["owner_sector"]["enum"]
            .as_array()
            .unwrap()
            .len(),
        6
    );
    assert_eq!(q["properties"]["updated_at"]["format"], "date-time");
}

/// The CQL2 table: each filter, in text and (where written) JSON, and the exact zone ids.
#[tokio::test]
async fn cql2_filters_return_exactly_the_expected_zones() {
    let s = start().await;
    let hospitals = [
        "rz-0014", "rz-0019", "rz-0027", "rz-0031", "rz-0068", "rz-0094", "rz-0108", "rz-0126",
        "rz-0128", "rz-0146", "rz-0210", "rz-0236", "rz-0238", "rz-0252", "rz-0257", "rz-0262",
        "rz-0292", "rz-0293", "rz-0322", "rz-0323", "rz-0325", "rz-0327", "rz-0340",
    ];
    let hotspots = [
        "hotspot-market-lane",
        "hotspot-old-estate",
        "hotspot-riverside",
        "hotspot-station-wall",
    ];
    let table: Vec<(&str, Option<Value>, Vec<&str>)> = vec![
        ("kind = 'hotspot'", Some(json!({"op": "=", "args": [{"property": "kind"}, "hotspot"]})), hotspots.to_vec()),
        ("kind = 'responsibility' AND owner_sector = 'hospital'", None, hospitals.to_vec()),
        ("kind IN ('patrol_route', 'green_adoption')",
         Some(json!({"op": "in", "args": [{"property": "kind"}, ["patrol_route", "green_adoption"]]})),
         vec!["green-01", "green-02", "green-03", "green-04", "green-05", "green-06", "route-north-bank", "route-south-bank"]),
        ("kind = 'grid' AND parent IS NULL",
         Some(json!({"op": "and", "args": [{"op": "=", "args": [{"property": "kind"}, "grid"]}, {"op": "isNull", "args": [{"property": "parent"}]}]})),
         vec!["street-chengnan", "street-dongxing", "street-hongqi"]),
        ("name LIKE '%医院%'", None,
         vec!["rz-0014", "rz-0027", "rz-0068", "rz-0094", "rz-0108", "rz-0146", "rz-0210", "rz-0323", "rz-0340"]),
        ("width_m BETWEEN 36 AND 50", None, vec!["route-north-bank"]),
        ("width_m < 36 OR kind = 'hotspot' AND NOT name LIKE '%市场%'", None,
         vec!["hotspot-old-estate", "hotspot-riverside", "hotspot-station-wall", "route-south-bank"]),
        ("CASEI(kind) = CASEI('HOTSPOT')", None, hotspots.to_vec()),
        ("parent = 'street-hongqi' AND kind = 'grid'", None, vec!["comm-guangming", "comm-hongqi", "comm-minzhong"]),
        ("S_INTERSECTS(geometry, POINT(126.44649562989622 41.9332135))",
         Some(json!({"op": "s_intersects", "args": [{"property": "geometry"}, {"type": "Point", "coordinates": [126.44649562989622, 41.9332135]}]})),
         vec!["comm-xinjian", "grid-xinjian-04", "rz-0011", "street-chengnan"]),
        ("kind = 'responsibility' AND S_INTERSECTS(geometry, BBOX(126.41, 41.935, 126.415, 41.94))",
         Some(json!({"op": "and", "args": [{"op": "=", "args": [{"property": "kind"}, "responsibility"]},
             {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [126.41, 41.935, 126.415, 41.94]}]}]})),
         vec!["rz-0006", "rz-0065", "rz-0107", "rz-0196", "rz-0315"]),
        ("S_INTERSECTS(geometry, POLYGON((126.420 41.936, 126.425 41.936, 126.4225 41.939, 126.420 41.936)))", None,
         vec!["comm-jiangnan", "grid-jiangnan-01", "rz-0233", "street-chengnan"]),
        ("owner_sector = 'hospital' AND S_INTERSECTS(geometry, BBOX(126.41, 41.93, 126.43, 41.945))", None,
         vec!["rz-0014", "rz-0126", "rz-0293"]),
        ("kind = 'patrol_route' AND S_INTERSECTS(geometry, BBOX(126.40, 41.93, 126.46, 41.95))", None,
         vec!["route-north-bank", "route-south-bank"]),
        ("version > 1", None, vec![]),
        ("T_BEFORE(updated_at, TIMESTAMP('2000-01-01T00:00:00Z'))", None, vec![]),
    ];
    for (text, json_form, want) in table {
        let want: BTreeSet<String> = want.into_iter().map(String::from).collect();
        let (st, _, fc) = get(
            &s,
            Some("office"),
            &format!(
                "/ogc/collections/zones/items?limit=1000&filter={}",
                enc(text)
            ),
        )
        .await;
        assert_eq!(st, 200, "{text}: {fc}");
        assert_eq!(ids(&fc), want, "{text}");
        assert_eq!(
            fc["numberMatched"].as_u64(),
            Some(want.len() as u64),
            "{text}"
        );
        if let Some(j) = json_form {
            let (st, _, fc) = get(
                &s,
                Some("office"),
                &format!(
                    "/ogc/collections/zones/items?limit=1000&filter-lang=cql2-json&filter={}",
                    enc(&j.to_string())
                ),
            )
            .await;
            assert_eq!(st, 200, "{j}: {fc}");
            assert_eq!(ids(&fc), want, "{j}");
        }
    }
    // A filter and bbox together; and a filter on a kind collection.
    let (_, _, fc) = get(
        &s,
        Some("office"),
        &format!(
            "/ogc/collections/hotspot/items?filter={}",
            enc("name LIKE '%市场%'")
        ),
    )
    .await;
    assert_eq!(ids(&fc), ["hotspot-market-lane".to_string()].into());

    // Malformed filters: 400 with the parser's reason.
    for (filter, lang, why) in [
        ("kind ==", "cql2-text", "not valid CQL2 text"),
        ("kind = 'grid' AND", "cql2-text", "not valid CQL2 text"),
        (
            "{\"op\": \"=\", \"args\": [",
            "cql2-json",
            "not valid CQL2 JSON",
        ),
        ("colour = 'red'", "cql2-text", "not a queryable"),
        ("version = 'one'", "cql2-text", "cannot compare"),
        (
            "S_CROSSES(geometry, POINT(126.4 41.9))",
            "cql2-text",
            "S_INTERSECTS",
        ),
        (
            "S_INTERSECTS(geometry, POINT(41.9 126.4))",
            "cql2-text",
            "outside",
        ),
        (
            "T_AFTER(name, TIMESTAMP('2026-01-01T00:00:00Z'))",
            "cql2-text",
            "not a time",
        ),
        ("kind = 'grid'", "cql2-xml", "filter-lang"),
    ] {
        let (st, _, e) = get(
            &s,
            Some("office"),
            &format!(
                "/ogc/collections/zones/items?filter-lang={lang}&filter={}",
                enc(filter)
            ),
        )
        .await;
        assert_eq!(st, 400, "{filter}: {e}");
        assert!(
            e["description"].as_str().unwrap().contains(why),
            "{filter}: {e}"
        );
    }
}

#[tokio::test]
async fn reports_filter_by_capture_time_and_are_never_public() {
    let s = demo_with_reports(|c| c.public_zones = true).await;
    // Brute force: every report's capture time from /api/reports.
    let (_, _, all) = get(&s, Some("office"), "/api/reports?limit=1000").await;
    let mut times: Vec<(i64, i64)> = all["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["id"].as_i64().unwrap(),
                xuncha::time::parse_rfc3339(f["properties"]["captured_at"].as_str().unwrap())
                    .unwrap(),
            )
        })
        .collect();
    assert_eq!(times.len(), 400);
    times.sort_by_key(|t| t.1);
    let (a, b) = (times[100].1, times[300].1);
    let between: BTreeSet<String> = times
        .iter()
        .filter(|t| t.1 >= a && t.1 <= b)
        .map(|t| t.0.to_string())
        .collect();
    let before: BTreeSet<String> = times
        .iter()
        .filter(|t| t.1 < a)
        .map(|t| t.0.to_string())
        .collect();
    let after: BTreeSet<String> = times
        .iter()
        .filter(|t| t.1 > b)
        .map(|t| t.0.to_string())
        .collect();
    let ta = xuncha::time::to_rfc3339(a);
    let tb = xuncha::time::to_rfc3339(b);
    let items = |q: String| format!("/ogc/collections/reports/items?limit=1000&{q}");
    for (q, want) in [
        (format!("datetime={}", enc(&format!("{ta}/{tb}"))), &between),
        (
            format!("datetime={}", enc(&format!("../{ta}"))),
            &before
                .union(&[times[100].0.to_string()].into())
                .cloned()
                .collect(),
        ),
        (
            format!("datetime={}", enc(&format!("{tb}/.."))),
            &after
                .union(&[times[300].0.to_string()].into())
                .cloned()
                .collect(),
        ),
        (
            format!(
                "filter={}",
                enc(&format!(
                    "T_INTERSECTS(captured_at, INTERVAL('{ta}', '{tb}'))"
                ))
            ),
            &between,
        ),
        (
            format!(
                "filter={}",
                enc(&format!("T_BEFORE(captured_at, TIMESTAMP('{ta}'))"))
            ),
            &before,
        ),
        (
            format!(
                "filter={}",
                enc(&format!("T_AFTER(captured_at, TIMESTAMP('{tb}'))"))
            ),
            &after,
        ),
    ] {
        let (st, _, fc) = get(&s, Some("office"), &items(q.clone())).await;
        assert_eq!(st, 200, "{q}: {fc}");
        assert_eq!(&ids(&fc), want, "{q}");
    }
    let (_, _, instant) = get(&s, Some("office"), &items(format!("datetime={}", enc(&ta)))).await;
    assert!(ids(&instant).contains(&times[100].0.to_string()));
    let (_, _, garbage) = get(
        &s,
        Some("office"),
        "/ogc/collections/reports/items?limit=1000&category=garbage&status=closed",
    )
    .await;
    let want = all["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["properties"]["category"] == "garbage" && f["properties"]["status"] == "closed"
        })
        .count();
    assert_eq!(garbage["numberMatched"].as_u64(), Some(want as u64));
    let f = &garbage["features"][0];
    for col in [
        "responsible_name",
        "responsible_sector",
        "captured_at",
        "zone_ids",
    ] {
        assert!(f["properties"].get(col).is_some(), "no {col}: {f}");
    }

    // Zones are public on this server; reports are not, even listed.
    let (st, _, z) = get(&s, None, "/ogc/collections/responsibility/items?limit=1").await;
    assert_eq!((st, z["numberMatched"].as_u64()), (200, Some(340)));
    let (st, h, e) = get(&s, None, "/ogc/collections/reports/items").await;
    assert_eq!((st, e["code"].as_str()), (401, Some("Unauthorized")));
    assert!(h["www-authenticate"].to_str().unwrap().starts_with("Basic"));
    let (_, _, cols) = get(&s, None, "/ogc/collections").await;
    assert!(cols["collections"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["id"] != "reports"));
    let (st, _, _) = get(&s, None, "/ogc/collections/reports/items/1").await;
    assert_eq!(st, 401);
    // Reports are read-only, even for an admin.
    let r = s
        .http
        .post(s.url("/ogc/collections/reports/items"))
        .bearer_auth(&s.tokens["admin"])
        .json(&json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [126.4, 41.9]}, "properties": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn zones_are_private_unless_the_setting_says_so_and_basic_auth_takes_api_tokens() {
    let s = start().await;
    let (st, h, e) = get(&s, None, "/ogc/collections/zones/items").await;
    assert_eq!((st, e["code"].as_str()), (401, Some("Unauthorized")));
    assert!(h.contains_key("www-authenticate"));
    let (st, _, _) = get(&s, None, "/ogc/collections").await;
    assert_eq!(st, 401);
    // HTTP Basic: user name and an API token as the password (QGIS, GDAL_HTTP_USERPWD).
    let basic = |user: &str, pw: &str| {
        s.http
            .get(s.url("/ogc/collections/zones/items?limit=1"))
            .basic_auth(user, Some(pw))
    };
    let r = basic("planner", &s.tokens["planner"]).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = basic("office", &s.tokens["planner"]).send().await.unwrap();
    assert_eq!(r.status(), 401, "a token of another user");
    let r = basic("planner", "xc_wrong").send().await.unwrap();
    assert_eq!(r.status(), 401);
    // The session cookie works too.
    let r = s
        .http
        .get(s.url("/ogc/collections/zones/items?limit=1"))
        .header("cookie", format!("xuncha_session={}", s.tokens["patrol"]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// An edit to send and what it must answer: method, role, If-Match, body, status, OGC code.
type Step<'a> = (
    reqwest::Method,
    &'a str,
    Option<&'a str>,
    Option<&'a Value>,
    u16,
    Option<&'a str>,
);

async fn send(
    s: &Srv,
    method: reqwest::Method,
    role: &str,
    path: &str,
    if_match: Option<&str>,
    body: Option<&Value>,
) -> (u16, HeaderMap, Value) {
    let mut r = s
        .http
        .request(method, s.url(path))
        .bearer_auth(&s.tokens[role]);
    if let Some(m) = if_match {
        r = r.header("If-Match", m);
    }
    if let Some(b) = body {
        r = r
            .header("content-type", "application/geo+json")
            .body(b.to_string());
    }
    let r = r.send().await.unwrap();
    let st = r.status().as_u16();
    let h = r.headers().clone();
    let bytes = r.bytes().await.unwrap();
    (st, h, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn flat_zone(id: Option<&str>, name: &str) -> Value {
    let mut f = json!({
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [[[126.4300, 41.9500], [126.4310, 41.9500], [126.4310, 41.9504], [126.4300, 41.9504], [126.4300, 41.9500]]]},
        "properties": {"name": name, "owner_name": "白山市测试学校", "owner_sector": "school", "owner_contact": "0439-1111111", "extra": {"street": "测试路"}}
    });
    if let Some(id) = id {
        f["id"] = json!(id);
    }
    f
}

#[tokio::test]
async fn part_4_edits_with_etags_roles_and_history() {
    let s = start().await;
    let items = "/ogc/collections/responsibility/items";
    let count = |s: &Srv| s.state.zones.index().len();
    let before = count(&s);

    // Roles: a patrol may not edit; OPTIONS says what each may do.
    let (st, _, _) = send(
        &s,
        reqwest::Method::POST,
        "patrol",
        items,
        None,
        Some(&flat_zone(None, "x")),
    )
    .await;
    assert_eq!(st, 403);
    let item = format!("{items}/rz-0011");
    for (role, path, allow) in [
        ("patrol", items, "GET, HEAD, OPTIONS"),
        ("planner", items, "GET, HEAD, OPTIONS, POST"),
        (
            "planner",
            item.as_str(),
            "GET, HEAD, OPTIONS, PUT, PATCH, DELETE",
        ),
        ("office", item.as_str(), "GET, HEAD, OPTIONS"),
    ] {
        let (st, h, _) = send(&s, reqwest::Method::OPTIONS, role, path, None, None).await;
        assert_eq!(
            (st, h["allow"].to_str().unwrap()),
            (204, allow),
            "{role} {path}"
        );
    }

    // A self-intersecting polygon: 422 with the reason and where, nothing stored.
    let mut bowtie = flat_zone(Some("bowtie"), "蝴蝶结");
    bowtie["geometry"]["coordinates"] = json!([[
        [126.43, 41.95],
        [126.431, 41.9504],
        [126.431, 41.95],
        [126.43, 41.9504],
        [126.43, 41.95]
    ]]);
    let mut grid = flat_zone(None, "格");
    grid["properties"]["kind"] = json!("grid");
    let mut odd = flat_zone(None, "x");
    odd["properties"]["colour"] = json!("red");
    // A bowtie, a feature of the wrong kind for the collection, an unknown column.
    for (body, why) in [(&bowtie, "intersect"), (&grid, "kind"), (&odd, "colour")] {
        let post = reqwest::Method::POST;
        let (st, _, e) = send(&s, post, "planner", items, None, Some(body)).await;
        assert_eq!(
            (st, e["code"].as_str()),
            (422, Some("InvalidFeature")),
            "{e}"
        );
        let reason = e["details"][0]["reason"].as_str().unwrap();
        assert!(reason.contains(why), "{e}");
    }
    let (_, _, e) = send(
        &s,
        reqwest::Method::POST,
        "planner",
        items,
        None,
        Some(&bowtie),
    )
    .await;
    assert!(
        e["details"][0]["location"].is_array(),
        "where it intersects: {e}"
    );
    assert_eq!(count(&s), before, "nothing was stored");
    let (st, _, _) = get(&s, Some("planner"), &format!("{items}/bowtie")).await;
    assert_eq!(st, 404);

    // Create: 201, Location, ETag.
    let (st, h, created) = send(
        &s,
        reqwest::Method::POST,
        "planner",
        items,
        None,
        Some(&flat_zone(Some("ogc-1"), "测试学校门前")),
    )
    .await;
    assert_eq!(st, 201, "{created}");
    assert_eq!(
        h["location"],
        format!("{}/ogc/collections/responsibility/items/ogc-1", s.base)
    );
    assert_eq!(h["etag"], "\"1\"");
    assert_eq!(created["properties"]["owner_name"], "白山市测试学校");
    assert_eq!(created["properties"]["extra"]["street"], "测试路");
    let (st, h, got) = get(
        &s,
        Some("patrol"),
        "/ogc/collections/responsibility/items/ogc-1",
    )
    .await;
    assert_eq!((st, h["etag"].to_str().unwrap()), (200, "\"1\""));
    assert_eq!(got["properties"]["kind"], "responsibility");

    // Refusals that store nothing: no If-Match (428), stale or weak (412), a patrol (403), a
    // patch that breaks the geometry (422). Then the edits that pass, each with its new ETag.
    let path = format!("{items}/ogc-1");
    let renamed = flat_zone(Some("ogc-1"), "测试学校门前（改）");
    let patch = json!({"properties": {"owner_contact": "0439-2222222", "extra": {"street": null, "gate": "北门"}}});
    let bad = json!({"geometry": {"type": "Polygon", "coordinates": [[[126.43, 41.95], [126.431, 41.95]]]}});
    use reqwest::Method as M;
    let steps: Vec<Step> = vec![
        (
            M::PUT,
            "planner",
            None,
            Some(&renamed),
            428,
            Some("PreconditionRequired"),
        ),
        (
            M::PUT,
            "planner",
            Some("\"7\""),
            Some(&renamed),
            412,
            Some("PreconditionFailed"),
        ),
        (
            M::PUT,
            "planner",
            Some("W/\"1\""),
            Some(&renamed),
            412,
            Some("PreconditionFailed"),
        ),
        (
            M::PUT,
            "planner",
            Some("garbage"),
            Some(&renamed),
            412,
            Some("PreconditionFailed"),
        ),
        (M::PUT, "planner", Some("\"1\""), Some(&renamed), 200, None),
        (M::PUT, "planner", Some("\"1\""), Some(&renamed), 412, None),
        (M::PUT, "patrol", Some("\"2\""), Some(&renamed), 403, None),
        (M::PATCH, "planner", None, Some(&patch), 428, None),
        (M::PATCH, "planner", Some("\"2\""), Some(&patch), 200, None),
        (M::PATCH, "planner", Some("\"3\""), Some(&bad), 422, None),
        (M::DELETE, "planner", Some("\"2\""), None, 412, None),
    ];
    let mut last = Value::Null;
    for (m, role, if_match, body, want, code) in steps {
        let what = format!("{m} as {role} with If-Match {if_match:?}");
        let (st, h, b) = send(&s, m, role, &path, if_match, body).await;
        assert_eq!(st, want, "{what}: {b}");
        if let Some(code) = code {
            assert_eq!(b["code"], code, "{what}");
        }
        if st == 200 {
            let version = b["properties"]["version"].as_i64().unwrap();
            assert_eq!(h["etag"], format!("\"{version}\""), "{what}");
            last = b;
        }
    }
    assert_eq!(last["properties"]["owner_contact"], "0439-2222222");
    assert_eq!(
        last["properties"]["name"], "测试学校门前（改）",
        "the patch kept the replaced name"
    );
    assert_eq!(last["properties"]["extra"], json!({"gate": "北门"}));
    let (_, h, _) = get(&s, Some("planner"), &path).await;
    assert_eq!(h["etag"], "\"3\"", "the refused patch changed nothing");

    // Delete retires: gone from the collections, kept in history.
    let (st, _, _) = send(
        &s,
        reqwest::Method::DELETE,
        "planner",
        &path,
        Some("\"2\""),
        None,
    )
    .await;
    assert_eq!(st, 412);
    let (st, _, _) = send(
        &s,
        reqwest::Method::DELETE,
        "planner",
        &path,
        Some("\"3\""),
        None,
    )
    .await;
    assert_eq!(st, 204);
    let (st, _, _) = get(&s, Some("planner"), &path).await;
    assert_eq!(st, 404);
    let (st, _, hist) = get(&s, Some("planner"), "/api/zones/ogc-1/history").await;
    assert_eq!(st, 200);
    let actions: Vec<&str> = hist["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions.len(), 4, "{hist}");
    assert_eq!(count(&s), before);
}

async fn tool(program: &str, args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    let mut c = tokio::process::Command::new(program);
    c.args(args).env("CPL_DEBUG", "OFF");
    for (k, v) in envs {
        c.env(k, v);
    }
    c.output().await.unwrap_or_else(|e| {
        panic!("{program} must be installed (Debian gdal-bin; scripts/test.sh installs it): {e}")
    })
}

/// `ogrinfo OAPIF:…` lists every collection with its feature count (HTTP Basic with a token).
#[tokio::test]
async fn ogrinfo_lists_every_collection_with_its_count() {
    let s = demo_with_reports(|_| {}).await;
    let url = format!("OAPIF:{}/ogc", s.base);
    let userpwd = format!("office:{}", s.tokens["office"]);
    let out = tool(
        "ogrinfo",
        &["-ro", "-so", "-al", &url],
        &[("GDAL_HTTP_USERPWD", &userpwd)],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("ERROR"), "{stderr}");
    let mut counts: HashMap<String, u64> = HashMap::new();
    let mut layer = String::new();
    for line in stdout.lines() {
        if let Some(l) = line.strip_prefix("Layer name: ") {
            layer = l.trim().to_string();
        } else if let Some(n) = line.strip_prefix("Feature Count: ") {
            counts.insert(layer.clone(), n.trim().parse().unwrap());
        }
    }
    let want: HashMap<String, u64> = [
        ("zones", 439),
        ("responsibility", 340),
        ("grid", 87),
        ("patrol_route", 2),
        ("hotspot", 4),
        ("green_adoption", 6),
        ("reports", 400),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(counts, want, "{stdout}");
    // Without credentials GDAL is refused.
    let out = tool("ogrinfo", &["-ro", "-so", "-al", &url], &[]).await;
    assert!(!out.status.success() || !String::from_utf8_lossy(&out.stdout).contains("Layer name"));
}

/// `ogr2ogr -f GPKG` of the zones collection: every zone, the same geometry (areas agree),
/// the owner as columns.
#[tokio::test]
async fn ogr2ogr_copies_every_zone_to_a_geopackage() {
    let s = start().await;
    let dir = tempfile::tempdir().unwrap();
    let gpkg = dir.path().join("zones.gpkg");
    let gpkg = gpkg.to_str().unwrap();
    let url = format!("OAPIF:{}/ogc", s.base);
    let userpwd = format!("planner:{}", s.tokens["planner"]);
    let out = tool(
        "ogr2ogr",
        &["-f", "GPKG", gpkg, &url, "zones", "-nlt", "GEOMETRY"],
        &[("GDAL_HTTP_USERPWD", &userpwd)],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = tool("ogrinfo", &["-ro", "-so", gpkg, "zones"], &[]).await;
    let info = String::from_utf8_lossy(&out.stdout);
    assert!(info.contains("Feature Count: 439"), "{info}");
    for col in [
        "owner_name: String",
        "owner_sector: String",
        "owner_contact: String",
        "kind: String",
        "name: String",
        "updated_at: DateTime",
        "width_m: Real",
        "version: Integer",
    ] {
        assert!(info.contains(col), "no column {col} in {info}");
    }
    let out = tool(
        "ogr2ogr",
        &["-f", "GeoJSON", "/vsistdout/", gpkg, "zones"],
        &[],
    )
    .await;
    assert!(out.status.success());
    let fc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let index = s.state.zones.index();
    let mut seen = BTreeSet::new();
    for f in fc["features"].as_array().unwrap() {
        let id = f["properties"]["id"].as_str().unwrap();
        let zone = &index
            .get(id)
            .unwrap_or_else(|| panic!("{id} is not a zone"))
            .zone;
        seen.insert(id.to_string());
        let owner = zone.owner.as_ref().map(|o| o.name.as_str());
        assert_eq!(f["properties"]["owner_name"].as_str(), owner, "{id}");
        let parsed = xuncha::zone::stored_geometry(zone.kind, &f["geometry"], Some(1.0)).unwrap();
        match (&parsed, &zone.geometry) {
            (xuncha::zone::ZoneGeometry::Area(a), xuncha::zone::ZoneGeometry::Area(b)) => {
                let (a, b) = (a.geodesic_area_unsigned(), b.geodesic_area_unsigned());
                assert!((a - b).abs() <= 1e-6 * b.max(1.0), "{id}: {a} m² vs {b} m²");
            }
            (
                xuncha::zone::ZoneGeometry::Route { line: a, .. },
                xuncha::zone::ZoneGeometry::Route { line: b, .. },
            ) => {
                assert_eq!(a, b, "{id}");
            }
            _ => panic!("{id}: geometry type changed"),
        }
    }
    assert_eq!(seen.len(), 439);
}
