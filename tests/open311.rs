//! Open311 GeoReport v2 against the real server on 127.0.0.1:0 (issue 13): a hotline files a
//! request with a form, Xuncha dispatches and closes it, the hotline sees it closed; every route
//! in JSON and XML; refusals with `[{"code", "description"}]`; retries that must not duplicate.

mod common;

use common::*;
use reqwest::multipart::Form;
use serde_json::{json, Value};
use std::collections::HashMap;

const V2: &str = "/open311/v2";

async fn get(s: &Srv, path: &str) -> (u16, String, String) {
    let r = s.http.get(s.url(path)).send().await.unwrap();
    let st = r.status().as_u16();
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    (st, ct, r.text().await.unwrap())
}

async fn get_json(s: &Srv, path: &str) -> (u16, Value) {
    let (st, ct, body) = get(s, path).await;
    assert_eq!(ct, "application/json; charset=utf-8", "{path}");
    (st, serde_json::from_str(&body).unwrap())
}

/// An XML response as a tree of element name → text (children as repeated elements).
#[derive(Debug)]
struct El {
    name: String,
    text: String,
    children: Vec<El>,
}

impl El {
    fn child(&self, name: &str) -> &El {
        self.children
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("<{}> has no <{name}>: {self:?}", self.name))
    }
    fn all(&self, name: &str) -> Vec<&El> {
        self.children.iter().filter(|c| c.name == name).collect()
    }
}

fn tree(n: roxmltree::Node) -> El {
    El {
        name: n.tag_name().name().to_string(),
        text: n.text().unwrap_or("").to_string(),
        children: n.children().filter(|c| c.is_element()).map(tree).collect(),
    }
}

async fn get_xml(s: &Srv, path: &str) -> (u16, El) {
    let (st, ct, body) = get(s, path).await;
    assert_eq!(ct, "text/xml; charset=utf-8", "{path}");
    let doc = roxmltree::Document::parse(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"));
    (st, tree(doc.root_element()))
}

async fn post(s: &Srv, ext: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let r = s
        .http
        .post(s.url(&format!("{V2}/requests.{ext}")))
        .form(fields)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn error_of(body: &str) -> (u64, String) {
    let v: Value = serde_json::from_str(body).unwrap();
    (
        v[0]["code"].as_u64().unwrap(),
        v[0]["description"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn a_hotline_files_a_request_and_sees_it_closed() {
    let s = start().await;
    let (lon, lat) = inside_zone("rz-0011");
    let (lon_s, lat_s) = (lon.to_string(), lat.to_string());
    let key = s.tokens["patrol"].clone();
    let (st, body) = post(
        &s,
        "json",
        &[
            ("api_key", &key),
            ("service_code", "garbage"),
            ("lat", &lat_s),
            ("long", &lon_s),
            ("description", "东兴小学门口垃圾堆积"),
            ("first_name", "李"),
            ("phone", "13800000000"),
            ("attribute[size]", "large"),
        ],
    )
    .await;
    assert_eq!(st, 201, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let id = v[0]["service_request_id"].as_str().unwrap().to_string();
    let token = v[0]["token"].as_str().unwrap().to_string();

    // The report in Xuncha's own API: right category, right place, the responsible school.
    let (st, r) = s.get_json("office", &format!("/api/reports/{id}")).await;
    assert_eq!(st, 200);
    assert_eq!(r["category"], "garbage");
    assert!((r["location"]["lon"].as_f64().unwrap() - lon).abs() < 1e-9);
    assert!((r["location"]["lat"].as_f64().unwrap() - lat).abs() < 1e-9);
    assert_eq!(r["responsible"]["zone_id"], "rz-0011");
    let owner = r["responsible"]["owner"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let note = r["note"].as_str().unwrap();
    assert!(
        note.starts_with("东兴小学门口垃圾堆积")
            && note.contains("size: large")
            && note.contains("13800000000"),
        "{note}"
    );

    let q = format!("{V2}/requests.json?api_key={key}&service_request_id={id}");
    let (st, open) = get_json(&s, &q).await;
    assert_eq!(st, 200);
    assert_eq!(open[0]["status"], "open");
    assert_eq!(open[0]["xuncha_status"], "reported");
    assert_eq!(open[0]["service_code"], "garbage");
    assert_eq!(open[0]["service_name"], "生活垃圾");
    assert_eq!(open[0]["agency_responsible"], owner.as_str());
    for k in ["requested_datetime", "updated_datetime"] {
        let t = open[0][k].as_str().unwrap();
        assert!(t.ends_with("+08:00"), "{k} = {t}");
        assert!(xuncha::time::parse_rfc3339(t).is_ok());
    }

    // Dispatched, handled and closed in Xuncha.
    let rid: i64 = id.parse().unwrap();
    for to in ["dispatched", "in_progress", "resolved", "closed"] {
        let (st, b) = s.patch_json("office", rid, json!({"status": to})).await;
        assert_eq!(st, 200, "{to}: {b}");
    }
    let (_, closed) = get_json(&s, &q).await;
    assert_eq!(closed[0]["status"], "closed");
    assert_eq!(closed[0]["xuncha_status"], "closed");
    let (_, closed_list) = get_json(
        &s,
        &format!("{V2}/requests.json?api_key={key}&status=closed"),
    )
    .await;
    assert_eq!(closed_list.as_array().unwrap().len(), 1);
    let (_, open_list) =
        get_json(&s, &format!("{V2}/requests.json?api_key={key}&status=open")).await;
    assert!(open_list.as_array().unwrap().is_empty());

    // The same request through every other route, in JSON and XML.
    let (st, one) = get_json(&s, &format!("{V2}/requests/{id}.json?api_key={key}")).await;
    assert_eq!((st, one[0]["status"].as_str()), (200, Some("closed")));
    let (st, x) = get_xml(&s, &format!("{V2}/requests/{id}.xml?api_key={key}")).await;
    assert_eq!(st, 200);
    assert_eq!(x.name, "service_requests");
    let req = x.child("request");
    assert_eq!(req.child("service_request_id").text, id);
    assert_eq!(req.child("status").text, "closed");
    assert_eq!(req.child("agency_responsible").text, owner);
    assert!(req.child("requested_datetime").text.ends_with("+08:00"));
    assert_eq!(req.child("lat").text.parse::<f64>().unwrap(), lat);
    let (_, x) = get_xml(&s, &format!("{V2}/requests.xml?api_key={key}")).await;
    assert_eq!(x.all("request").len(), 1);
    let (st, t) = get_json(&s, &format!("{V2}/tokens/{token}.json?api_key={key}")).await;
    assert_eq!(
        (st, t[0]["service_request_id"].as_str()),
        (200, Some(id.as_str()))
    );
    let (st, x) = get_xml(&s, &format!("{V2}/tokens/{token}.xml?api_key={key}")).await;
    assert_eq!(st, 200);
    assert_eq!(x.child("request").child("service_request_id").text, id);
    let (st, _) = get_json(&s, &format!("{V2}/tokens/no-such-token.json?api_key={key}")).await;
    assert_eq!(st, 404);
    let (st, _) = get_json(&s, &format!("{V2}/requests/999999.json?api_key={key}")).await;
    assert_eq!(st, 404);

    // POST answered in XML.
    let (st, body) = post(
        &s,
        "xml",
        &[
            ("api_key", &key),
            ("service_code", "weeds"),
            ("lat", &lat_s),
            ("long", &lon_s),
        ],
    )
    .await;
    assert_eq!(st, 201);
    let doc = roxmltree::Document::parse(&body).unwrap();
    let x = tree(doc.root_element());
    assert!(x
        .child("request")
        .child("service_request_id")
        .text
        .parse::<i64>()
        .is_ok());
}

#[tokio::test]
async fn discovery_and_services_in_json_and_xml() {
    let s = start().await;
    let (st, d) = get_json(&s, &format!("{V2}/discovery.json")).await;
    assert_eq!(st, 200);
    assert_eq!(d["endpoints"][0]["url"], format!("{}{V2}", s.base));
    assert_eq!(
        d["endpoints"][0]["formats"],
        json!(["text/xml", "application/json"])
    );
    let (_, x) = get_xml(&s, &format!("{V2}/discovery.xml")).await;
    assert_eq!(x.name, "discovery");
    let formats: Vec<&str> = x
        .child("endpoints")
        .child("endpoint")
        .child("formats")
        .all("format")
        .iter()
        .map(|f| f.text.as_str())
        .collect();
    assert_eq!(formats, ["text/xml", "application/json"]);

    let (st, services) = get_json(&s, &format!("{V2}/services.json")).await;
    assert_eq!(st, 200);
    let services = services.as_array().unwrap();
    assert_eq!(services.len(), xuncha::report::Category::ALL.len());
    for (svc, c) in services.iter().zip(xuncha::report::Category::ALL) {
        assert_eq!(svc["service_code"], c.as_str());
        assert_eq!(svc["service_name"], c.label_zh());
        assert!(svc["description"]
            .as_str()
            .unwrap()
            .starts_with(c.label_en()));
        assert!(!svc["group"].as_str().unwrap().is_empty());
        assert!(!svc["keywords"].as_str().unwrap().is_empty());
        assert_eq!(svc["type"], "realtime");
    }
    let (_, x) = get_xml(&s, &format!("{V2}/services.xml")).await;
    assert_eq!(x.name, "services");
    let codes: Vec<&str> = x
        .all("service")
        .iter()
        .map(|e| e.child("service_code").text.as_str())
        .collect();
    let want: Vec<&str> = xuncha::report::Category::ALL
        .iter()
        .map(|c| c.as_str())
        .collect();
    assert_eq!(codes, want);
    assert_eq!(
        x.all("service")[1].child("service_name").text,
        "小广告/牛皮癣"
    );

    let (st, def) = get_json(&s, &format!("{V2}/services/garbage.json")).await;
    assert_eq!((st, def["service_code"].as_str()), (200, Some("garbage")));
    assert!(def["attributes"].as_array().unwrap().is_empty());
    let (st, x) = get_xml(&s, &format!("{V2}/services/garbage.xml")).await;
    assert_eq!((st, x.name.as_str()), (200, "service_definition"));
    assert_eq!(x.child("service_code").text, "garbage");
    let (st, e) = get_json(&s, &format!("{V2}/services/nope.json")).await;
    assert_eq!(st, 404);
    assert_eq!(e[0]["code"], 404);
    let (st, x) = get_xml(&s, &format!("{V2}/services/nope.xml")).await;
    assert_eq!(st, 404);
    assert_eq!(x.name, "errors");
    assert_eq!(x.child("error").child("code").text, "404");
    let (st, _, _) = get(&s, &format!("{V2}/services.csv")).await;
    assert_eq!(st, 404);
}

#[tokio::test]
async fn refusals_say_what_to_fix() {
    let s = start().await;
    let (lon, lat) = inside_zone("rz-0011");
    let (lon_s, lat_s) = (lon.to_string(), lat.to_string());
    let patrol = s.tokens["patrol"].clone();
    let base = |key: &str| {
        vec![
            ("api_key".to_string(), key.to_string()),
            ("service_code".into(), "garbage".into()),
            ("lat".into(), lat_s.clone()),
            ("long".into(), lon_s.clone()),
        ]
    };
    let send = |fields: Vec<(String, String)>, ext: &'static str| {
        let s = &s;
        async move {
            let r = s
                .http
                .post(s.url(&format!("{V2}/requests.{ext}")))
                .form(&fields)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let before = s.report_count();
    // Bad, missing and wrong-role keys: 403.
    for key in ["xc_not-a-token", ""] {
        let (st, body) = send(base(key), "json").await;
        assert_eq!(st, 403, "{body}");
        assert_eq!(error_of(&body).0, 403);
    }
    let (st, body) = send(base(&s.tokens["planner"].clone()), "json").await;
    assert_eq!(st, 403, "{body}");
    assert!(error_of(&body).1.contains("patrol or office"));
    let (st, body) = send(base("xc_bad"), "xml").await;
    assert_eq!(st, 403);
    let doc = roxmltree::Document::parse(&body).unwrap();
    assert_eq!(
        tree(doc.root_element()).child("error").child("code").text,
        "403"
    );
    // Unknown service: 400 with a description.
    let mut f = base(&patrol);
    f[1].1 = "potholes".into();
    let (st, body) = send(f, "json").await;
    assert_eq!(st, 400);
    assert!(error_of(&body).1.contains("potholes"), "{body}");
    // No location, swapped axes, an unknown field.
    let no_loc: Vec<_> = base(&patrol)
        .into_iter()
        .filter(|(k, _)| k != "lat" && k != "long")
        .collect();
    let (st, body) = send(no_loc, "json").await;
    assert!(st == 400 && error_of(&body).1.contains("lat"), "{body}");
    let mut swapped = base(&patrol);
    swapped[2].1 = lon_s.clone();
    swapped[3].1 = lat_s.clone();
    let (st, body) = send(swapped, "json").await;
    assert!(st == 400 && error_of(&body).1.contains("swapped"), "{body}");
    let mut odd = base(&patrol);
    odd.push(("colour".into(), "red".into()));
    let (st, body) = send(odd, "json").await;
    assert!(st == 400 && error_of(&body).1.contains("colour"), "{body}");
    assert_eq!(s.report_count(), before, "nothing was stored");
    // Reading requests needs a key too.
    let (st, e) = get_json(&s, &format!("{V2}/requests.json")).await;
    assert_eq!((st, e[0]["code"].as_u64()), (403, Some(403)));
    let (st, _) = get_json(&s, &format!("{V2}/requests.json?api_key=xc_bad")).await;
    assert_eq!(st, 403);
    let (st, e) = get_json(
        &s,
        &format!("{V2}/requests.json?api_key={patrol}&status=maybe"),
    )
    .await;
    assert_eq!(st, 400, "{e}");
    let (st, _) = get_json(&s, &format!("{V2}/requests.json?api_key={patrol}&bogus=1")).await;
    assert_eq!(st, 400);
    // Bearer works instead of api_key.
    let r = s
        .get("office", &format!("{V2}/requests.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn a_retry_from_the_same_device_gets_the_same_request() {
    let s = start().await;
    let (lon, lat) = inside_zone("rz-0011");
    let (lon_s, lat_s) = (lon.to_string(), lat.to_string());
    let key = s.tokens["office"].clone();
    let fields = |desc: &'static str, device: &'static str| {
        vec![
            ("api_key", key.clone()),
            ("service_code", "illegal_ads".to_string()),
            ("lat", lat_s.clone()),
            ("long", lon_s.clone()),
            ("description", desc.to_string()),
            ("device_id", device.to_string()),
        ]
    };
    let send = |f: Vec<(&'static str, String)>| {
        let s = &s;
        async move {
            let r = s
                .http
                .post(s.url(&format!("{V2}/requests.json")))
                .form(&f)
                .send()
                .await
                .unwrap();
            let st = r.status().as_u16();
            let v: Value = r.json().await.unwrap();
            (st, v[0]["service_request_id"].as_str().unwrap().to_string())
        }
    };
    let (st1, first) = send(fields("电线杆上小广告", "phone-7")).await;
    let (st2, again) = send(fields("电线杆上小广告", "phone-7")).await;
    assert_eq!((st1, st2), (201, 200));
    assert_eq!(first, again);
    let (_, other_text) = send(fields("墙上小广告", "phone-7")).await;
    let (_, other_device) = send(fields("电线杆上小广告", "phone-8")).await;
    assert_ne!(other_text, first);
    assert_ne!(other_device, first);
    assert_eq!(s.report_count(), 3);
}

#[tokio::test]
async fn multipart_with_media_paging_and_jurisdiction() {
    let s = start_with(true, |c| {
        c.open311_jurisdiction_id = Some("baishan.jl.cn".into())
    })
    .await;
    let (lon, lat) = inside_zone("rz-0011");
    let key = s.tokens["patrol"].clone();
    let form = Form::new()
        .text("api_key", key.clone())
        .text("jurisdiction_id", "baishan.jl.cn")
        .text("service_code", "debris")
        .text("lat", lat.to_string())
        .text("long", lon.to_string())
        .text("description", "渣土")
        .part("media", photo_part(jpeg(640, 480, 3), "debris.jpg"));
    let r = s
        .http
        .post(s.url(&format!("{V2}/requests.json")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    let id = v[0]["service_request_id"].as_str().unwrap().to_string();
    let (_, rep) = s.get_json("office", &format!("/api/reports/{id}")).await;
    assert_eq!(rep["photos"].as_array().unwrap().len(), 1);
    let (_, got) = get_json(&s, &format!("{V2}/requests/{id}.json?api_key={key}")).await;
    let media = got[0]["media_url"].as_str().unwrap();
    assert!(
        media.starts_with(&s.base) && media.contains("/api/photos/"),
        "{media}"
    );

    // Another jurisdiction: refused; none given: fine.
    let (st, e) = get_json(&s, &format!("{V2}/services.json?jurisdiction_id=elsewhere")).await;
    assert_eq!(st, 404, "{e}");
    assert!(e[0]["description"]
        .as_str()
        .unwrap()
        .contains("baishan.jl.cn"));
    let (st, _) = post(
        &s,
        "json",
        &[
            ("api_key", &key),
            ("jurisdiction_id", "elsewhere"),
            ("service_code", "garbage"),
            ("lat", "41.93"),
            ("long", "126.44"),
        ],
    )
    .await;
    assert_eq!(st, 404);
    let (st, _) = get_json(
        &s,
        &format!("{V2}/services.json?jurisdiction_id=baishan.jl.cn"),
    )
    .await;
    assert_eq!(st, 200);

    // Paging: three more requests, newest first, page_size 2.
    for c in ["garbage", "weeds", "water"] {
        let (st, _) = post(
            &s,
            "json",
            &[
                ("api_key", &key),
                ("service_code", c),
                ("lat", &lat.to_string()),
                ("long", &lon.to_string()),
            ],
        )
        .await;
        assert_eq!(st, 201);
    }
    let page = |n: u32| {
        let s = &s;
        let key = key.clone();
        async move {
            let (_, v) = get_json(
                s,
                &format!("{V2}/requests.json?api_key={key}&page_size=2&page={n}"),
            )
            .await;
            v.as_array()
                .unwrap()
                .iter()
                .map(|r| r["service_code"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(page(1).await, ["water", "weeds"]);
    assert_eq!(page(2).await, ["garbage", "debris"]);
    assert!(page(3).await.is_empty());
    let (_, some) = get_json(
        &s,
        &format!("{V2}/requests.json?api_key={key}&service_code=weeds,water"),
    )
    .await;
    let codes: HashMap<String, ()> = some
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["service_code"].as_str().unwrap().to_string(), ()))
        .collect();
    assert_eq!(codes.len(), 2);
    // A window in the past that holds nothing (the default window is the last 90 days).
    let (_, old) = get_json(&s, &format!("{V2}/requests.json?api_key={key}&start_date=2000-01-01T00:00:00%2B08:00&end_date=2000-02-01T00:00:00%2B08:00")).await;
    assert!(old.as_array().unwrap().is_empty());
    let (st, _) = get_json(&s, &format!("{V2}/requests.json?api_key={key}&start_date=2000-02-01T00:00:00Z&end_date=2000-01-01T00:00:00Z")).await;
    assert_eq!(st, 400);
}
