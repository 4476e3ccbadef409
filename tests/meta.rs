//! `GET /api/meta` against the domain it describes: every list, label, colour, transition and
//! limit comes from the same functions the server itself uses.

mod common;

use common::TestServer;
use reqwest::StatusCode;
use serde_json::Value;
use xuncha::auth::Role;
use xuncha::deadlines::Stage;
use xuncha::report::{check_transition, Category, RejectReason, Status};
use xuncha::tileset::style::{kind_colour, sector_colour, status_colour};
use xuncha::zone::{Sector, ZoneKind};

fn ids(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn meta_states_the_domain_for_every_role() {
    let s = TestServer::start_with(|c| {
        c.max_photos = 4;
        c.exif_warn_m = 250.0;
        c.max_photo_bytes = 3 << 20;
    })
    .await;
    for role in Role::ALL {
        let r = s.get(role, "/api/meta").send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{role}");
    }
    let r = s.http.get(s.url("/api/meta")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let m: Value = s
        .get(Role::Patrol, "/api/meta")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let cats = m["categories"].as_array().unwrap();
    assert_eq!(cats.len(), Category::ALL.len());
    for (c, j) in Category::ALL.iter().zip(cats) {
        assert_eq!(j["id"], c.as_str());
        assert_eq!(j["zh"], c.label_zh());
        assert_eq!(j["en"], c.label_en());
    }

    let kinds = &m["zone_kinds"];
    assert_eq!(ids(kinds), ZoneKind::ALL.map(ZoneKind::as_str));
    for (k, j) in ZoneKind::ALL.iter().zip(kinds.as_array().unwrap()) {
        assert_eq!(j["zh"], k.label_zh());
        assert_eq!(j["en"], k.label_en());
        assert_eq!(j["colour"], kind_colour(*k));
        assert_eq!(j["is_route"], k.is_route());
        assert_eq!(j["requires_owner"], k.requires_owner());
    }
    let sectors = &m["sectors"];
    assert_eq!(ids(sectors), Sector::ALL.map(Sector::as_str));
    for (k, j) in Sector::ALL.iter().zip(sectors.as_array().unwrap()) {
        assert_eq!(j["zh"], k.label_zh());
        assert_eq!(j["colour"], sector_colour(*k));
    }
    let statuses = &m["statuses"];
    assert_eq!(ids(statuses), Status::ALL.map(Status::as_str));
    for (st, j) in Status::ALL.iter().zip(statuses.as_array().unwrap()) {
        assert_eq!(j["zh"], st.label_zh());
        assert_eq!(j["en"], st.label_en());
        assert_eq!(j["colour"], status_colour(*st));
        assert_eq!(j["open"], st.is_open());
        assert_eq!(j["stage"], serde_json::json!(Stage::of(*st)));
    }

    // The transition table is exactly what check_transition allows, role by role, with the
    // reason and photo a change may need supplied.
    let t = &m["transitions"];
    for role in Role::ALL {
        for from in Status::ALL {
            for to in Status::ALL {
                let reason = (to == Status::Rejected).then_some(RejectReason::Invalid);
                let allowed = check_transition(from, to, role, reason, 1).is_ok();
                let listed = t[role.as_str()][from.as_str()]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|s| s == to.as_str()));
                assert_eq!(listed, allowed, "{role}: {from} → {to}");
            }
        }
    }
    assert_eq!(t["planner"], serde_json::json!({}));
    assert!(t["office"]["reported"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s == "dispatched"));

    assert_eq!(m["limits"]["max_photos"], 4);
    assert_eq!(m["limits"]["max_photo_bytes"], 3 << 20);
    assert_eq!(m["limits"]["exif_warn_m"], 250.0);
    assert_eq!(
        m["limits"]["max_note_chars"],
        s.state.reports.settings.max_note_chars
    );

    let stages = &m["stages"];
    assert_eq!(ids(stages), Stage::ALL.map(Stage::as_str));
    for (st, j) in Stage::ALL.iter().zip(stages.as_array().unwrap()) {
        assert_eq!(j["zh"], st.label_zh());
        for status in j["statuses"].as_array().unwrap() {
            let status: Status = status.as_str().unwrap().parse().unwrap();
            assert_eq!(Stage::of(status), Some(*st));
        }
    }
}

/// Every 4xx carries a stable `code` and its `params`, built where the mistake is found (not
/// recognised from the English text), so that clients word it in their user's language.
#[tokio::test]
async fn bad_requests_carry_a_code_and_its_parameters() {
    let s = TestServer::start().await;
    let cases: &[(Role, &str, u16, &str, Value)] = &[
        (
            Role::Office,
            "/api/stats?category=typo",
            400,
            "unknown_category",
            serde_json::json!({"value": "typo", "param": "category"}),
        ),
        (
            Role::Office,
            "/tiles/12/3486/1520.mvt?status=zz",
            400,
            "unknown_status",
            serde_json::json!({"value": "zz", "param": "status"}),
        ),
        (
            Role::Office,
            "/api/zones?bbox=1,2",
            400,
            "bad_bbox",
            serde_json::json!({"value": "1,2"}),
        ),
        (
            Role::Patrol,
            "/api/match?lon=41.94&lat=126.42",
            400,
            "lat_out_of_range",
            serde_json::json!({"value": 126.42, "swapped": true}),
        ),
        (
            Role::Patrol,
            "/api/match?lat=41.94",
            400,
            "missing_param",
            serde_json::json!({"param": "lon"}),
        ),
        (
            Role::Office,
            "/api/stats?since=2026-10-02T00:00:00Z&until=2026-10-01T00:00:00Z",
            400,
            "since_after_until",
            serde_json::json!({}),
        ),
        (
            Role::Patrol,
            "/api/stats",
            403,
            "forbidden_role",
            serde_json::json!({"roles": ["office", "admin"], "role": "patrol"}),
        ),
        (
            Role::Office,
            "/tiles/12/99999/1520.mvt",
            400,
            "bad_tile",
            serde_json::json!({"tile": "12/99999/1520"}),
        ),
        (
            Role::Office,
            "/heatmap/x/1/2.png",
            400,
            "bad_tile",
            serde_json::json!({"tile": "x/1/2"}),
        ),
        (
            Role::Office,
            "/api/reports/999999",
            404,
            "not_found",
            serde_json::json!({"what": "report", "id": "999999"}),
        ),
    ];
    for (role, path, status, code, params) in cases {
        let r = s.get(*role, path).send().await.unwrap();
        assert_eq!(r.status().as_u16(), *status, "{path}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["code"], *code, "{path}: {v}");
        for (k, want) in params.as_object().unwrap() {
            assert_eq!(&v["params"][k], want, "{path}: {k} in {v}");
        }
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
    }
    // A password the policy refuses says which rule, with the numbers.
    let r = s
        .post(Role::Office, "/api/me/password")
        .json(&serde_json::json!({"current": "office-pw", "password": "short"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], "password_too_short", "{v}");
    assert_eq!(v["params"]["min"], 10);
    // Something without a specific code still carries its kind.
    let r = s
        .get(Role::Office, "/api/no-such-thing")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], "not_found", "{v}");
}
