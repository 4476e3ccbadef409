//! Who answers for a point, and who is next up when they do not (闭环: responsibility never
//! falls through).
//!
//! In order: the smallest 三包 `responsibility` zone covering the point; else a `green_adoption`
//! area covering it; else the nearest 三包 zone within `max(accuracy_m, 30 m)`; else the owner of
//! the deepest `grid` cell covering it (grid cell → community → street office through `parent`,
//! the first with an owner); else nobody (outside every grid).
//!
//! The escalation chain is the grid above the point: the owners of the covering grid cell, its
//! community and its street office, deepest first, without the responsible owner itself. A
//! report overdue at one level goes to the next.

use crate::index::{MatchResult, ZoneIndex, ZoneMatch};
use crate::zone::{Owner, Zone, ZoneKind};
use geo::Area;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Which rule named the responsible party.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    Responsibility,
    GreenAdoption,
    Nearest,
    Grid,
}

/// The organisation that must answer for a point, and the zone that made it so.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Responsible {
    /// The organisation's key: its name, as `unit` accounts are bound to it.
    pub id: String,
    pub zone_id: String,
    pub zone_name: String,
    pub owner: Owner,
    pub via: Via,
    /// Metres from the zone when `via` is `nearest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<f64>,
}

/// One level of the escalation chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Level {
    pub zone_id: String,
    pub zone_name: String,
    pub owner: Owner,
}

/// The answer for a point.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Answer {
    pub responsible: Option<Responsible>,
    /// Who is next up, deepest first.
    pub chain: Vec<Level>,
}

/// Everything the API says about a point: the zones it matched, who answers and who is next.
#[derive(Debug, Clone, Serialize)]
pub struct PointAnswer {
    pub matches: Vec<ZoneMatch>,
    pub responsible: Option<Responsible>,
    /// The point is within its accuracy of two or more 三包 zones.
    pub ambiguous: bool,
    /// Who is next up when the responsible party runs late, deepest first.
    pub escalation: Vec<Level>,
}

/// Matches `[lon, lat]` and applies the rules.
pub fn answer(index: &ZoneIndex, lon: f64, lat: f64, accuracy_m: f64) -> PointAnswer {
    let m = index.match_point(lon, lat, accuracy_m);
    let Answer { responsible, chain } = resolve(index, &m);
    PointAnswer {
        matches: m.matches,
        responsible,
        ambiguous: m.ambiguous,
        escalation: chain,
    }
}

fn area_of(z: &Zone) -> f64 {
    match &z.geometry {
        crate::zone::ZoneGeometry::Area(mp) => mp.unsigned_area(),
        crate::zone::ZoneGeometry::Route { .. } => f64::INFINITY,
    }
}

/// The smallest zone among `ms` (ties by id, so the answer does not depend on index order).
fn smallest<'a>(ms: impl Iterator<Item = &'a ZoneMatch>) -> Option<&'a ZoneMatch> {
    ms.min_by(|a, b| {
        area_of(&a.zone)
            .total_cmp(&area_of(&b.zone))
            .then_with(|| a.zone.id.cmp(&b.zone.id))
    })
}

fn responsible(z: &Zone, owner: Owner, via: Via, distance_m: Option<f64>) -> Responsible {
    Responsible {
        id: owner.name.clone(),
        zone_id: z.id.clone(),
        zone_name: z.name.clone(),
        owner,
        via,
        distance_m,
    }
}

/// How many `parent` steps lead from `z` to the top of its grid (cycles cut off).
fn depth(index: &ZoneIndex, z: &Zone) -> usize {
    let mut d = 0;
    let mut p = z.parent.clone();
    while let Some(id) = p {
        d += 1;
        if d > 32 {
            break;
        }
        p = index.get(&id).and_then(|e| e.zone.parent.clone());
    }
    d
}

/// `z` and its ancestors through `parent`, deepest first.
fn lineage(index: &ZoneIndex, z: &Arc<Zone>) -> Vec<Arc<Zone>> {
    let mut out = vec![z.clone()];
    let mut p = z.parent.clone();
    while let Some(id) = p {
        if out.len() > 32 || out.iter().any(|o| o.id == id) {
            break;
        }
        let Some(e) = index.get(&id) else { break };
        out.push(e.zone.clone());
        p = e.zone.parent.clone();
    }
    out
}

/// Applies the rules to a point's matches (from [`ZoneIndex::match_point`]).
pub fn resolve(index: &ZoneIndex, m: &MatchResult) -> Answer {
    let inside = |kind: ZoneKind| {
        m.matches
            .iter()
            .filter(move |z| z.inside && z.zone.kind == kind)
    };
    // The deepest covering grid cell (ties: the smaller, then by id) and its lineage.
    let cell = inside(ZoneKind::Grid).min_by(|a, b| {
        depth(index, &b.zone)
            .cmp(&depth(index, &a.zone))
            .then_with(|| area_of(&a.zone).total_cmp(&area_of(&b.zone)))
            .then_with(|| a.zone.id.cmp(&b.zone.id))
    });
    let grid: Vec<Arc<Zone>> = cell.map(|c| lineage(index, &c.zone)).unwrap_or_default();

    let responsible = if let Some(z) =
        smallest(inside(ZoneKind::Responsibility)).and_then(|z| Some((z, z.zone.owner.clone()?)))
    {
        Some(responsible(&z.0.zone, z.1, Via::Responsibility, None))
    } else if let Some((z, o)) =
        smallest(inside(ZoneKind::GreenAdoption)).and_then(|z| Some((z, z.zone.owner.clone()?)))
    {
        Some(responsible(&z.zone, o, Via::GreenAdoption, None))
    } else if let Some((z, o)) = m
        .matches
        .iter()
        .filter(|z| !z.inside && z.zone.kind == ZoneKind::Responsibility)
        .min_by(|a, b| {
            a.distance_m
                .total_cmp(&b.distance_m)
                .then_with(|| a.zone.id.cmp(&b.zone.id))
        })
        .and_then(|z| Some((z, z.zone.owner.clone()?)))
    {
        let d = (z.distance_m * 10.0).round() / 10.0;
        Some(responsible(&z.zone, o, Via::Nearest, Some(d)))
    } else {
        grid.iter()
            .find_map(|g| Some((g, g.owner.clone()?)))
            .map(|(g, o)| responsible(g, o, Via::Grid, None))
    };
    let mut chain: Vec<Level> = Vec::new();
    for g in &grid {
        let Some(owner) = g.owner.clone() else {
            continue;
        };
        let taken = responsible
            .as_ref()
            .is_some_and(|r| r.owner.name == owner.name)
            || chain.iter().any(|l| l.owner.name == owner.name);
        if !taken {
            chain.push(Level {
                zone_id: g.id.clone(),
                zone_name: g.name.clone(),
                owner,
            });
        }
    }
    Answer { responsible, chain }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::{Sector, ZoneDraft, ZoneGeometry};
    use geo::{polygon, MultiPolygon};

    fn rect(
        id: &str,
        kind: ZoneKind,
        parent: Option<&str>,
        owner: Option<&str>,
        [x0, y0, x1, y1]: [f64; 4],
    ) -> Zone {
        let p = polygon![(x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1), (x: x0, y: y0)];
        ZoneDraft {
            id: Some(id.into()),
            kind,
            name: format!("{id}-name"),
            owner: owner.map(|n| Owner {
                name: n.into(),
                sector: Sector::Community,
                contact: Some("0439".into()),
            }),
            parent: parent.map(String::from),
            properties: Default::default(),
            geometry: ZoneGeometry::Area(MultiPolygon(vec![p])),
        }
        .into_zone(id.into(), "t", 0)
    }

    fn city() -> ZoneIndex {
        ZoneIndex::from_zones([
            rect(
                "street",
                ZoneKind::Grid,
                None,
                Some("街道办"),
                [126.0, 41.0, 126.1, 41.1],
            ),
            rect(
                "comm",
                ZoneKind::Grid,
                Some("street"),
                Some("居委会"),
                [126.0, 41.0, 126.05, 41.05],
            ),
            rect(
                "cell",
                ZoneKind::Grid,
                Some("comm"),
                None,
                [126.0, 41.0, 126.02, 41.02],
            ),
            rect(
                "shop",
                ZoneKind::Responsibility,
                Some("cell"),
                Some("商店"),
                [126.010, 41.010, 126.011, 41.0105],
            ),
            rect(
                "green",
                ZoneKind::GreenAdoption,
                None,
                Some("认养单位"),
                [126.03, 41.03, 126.04, 41.04],
            ),
        ])
    }

    fn at(index: &ZoneIndex, lon: f64, lat: f64) -> Answer {
        resolve(index, &index.match_point(lon, lat, 5.0))
    }

    #[test]
    fn each_rule_in_order() {
        let i = city();
        let a = at(&i, 126.0105, 41.0102);
        let r = a.responsible.unwrap();
        assert_eq!(
            (r.via, r.owner.name.as_str()),
            (Via::Responsibility, "商店")
        );
        // The cell has no owner: the chain starts at the community.
        let chain: Vec<&str> = a.chain.iter().map(|l| l.owner.name.as_str()).collect();
        assert_eq!(chain, ["居委会", "街道办"]);

        let r = at(&i, 126.035, 41.035).responsible.unwrap();
        assert_eq!(
            (r.via, r.owner.name.as_str()),
            (Via::GreenAdoption, "认养单位")
        );

        // 20 m north of the shop (0.00018° of latitude ≈ 20 m).
        let r = at(&i, 126.0105, 41.0105 + 0.00018).responsible.unwrap();
        assert_eq!(r.via, Via::Nearest);
        assert!((r.distance_m.unwrap() - 20.0).abs() < 1.0, "{r:?}");

        // In the cell far from the shop: the cell has no owner, so its community answers.
        let a = at(&i, 126.019, 41.001);
        let r = a.responsible.unwrap();
        assert_eq!(
            (r.via, r.owner.name.as_str(), r.zone_id.as_str()),
            (Via::Grid, "居委会", "comm")
        );
        let chain: Vec<&str> = a.chain.iter().map(|l| l.owner.name.as_str()).collect();
        assert_eq!(chain, ["街道办"]);

        assert_eq!(at(&i, 127.0, 42.0), Answer::default());
    }
}
