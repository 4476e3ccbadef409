//! The map as vector tiles: which features go into tile z/x/y, cached and invalidated exactly.
//!
//! Layers: `zones` (every live polygon zone), `routes` (patrol routes as lines), `reports`
//! (aggregated bins with `count` below [`TileSet::aggregate_below`], raw points at and above),
//! and `basemap` (districts, river, roads from `geodata/`). The tile engine itself is the pure
//! crate `xuncha-tiles`; this module chooses the features and caches the bytes.

mod basemap;
mod cache;
mod count_grid;
pub mod export;
pub mod pack;
mod report_points;
pub mod style;

pub use basemap::Basemap;
pub use cache::{CachedTile, TileCache, TileKey};
pub use count_grid::MAX_LEVEL as KEPT_MAX_LEVEL;
pub use report_points::{world_cell, ReportPoints};

use crate::analytics::heatmap::{self, HeatStyle};
use crate::crs::Bbox;
use crate::index::{WorldGeometry, ZoneIndex};
use crate::report::{Category, Status};
use crate::zone::{ZoneGeometry, ZoneKind};
use geo::Point;
use std::sync::Arc;
use xuncha_tiles::{TileBuilder, TileCoord, Value};

/// Default zoom from which reports are raw points instead of counted bins.
pub const DEFAULT_AGGREGATE_BELOW: u8 = 14;
/// Default for [`TileSet::max_points`].
pub const DEFAULT_MAX_POINTS: usize = 5_000;
/// Size of a counting bin in 256-px tile pixels (a power of two).
pub const BIN_PX: u32 = 16;

/// A report as the tiles see it: 56 bytes, with nothing on the heap (a province holds millions).
#[derive(Debug, Clone, Copy)]
pub struct ReportPoint {
    pub id: i64,
    pub lon: f64,
    pub lat: f64,
    /// Its place in the Web Mercator unit square ([`xuncha_tiles::lonlat_to_world`]), worked
    /// out once instead of in every tile that draws it.
    pub world: [f64; 2],
    /// Unix ms (when the server received it).
    pub created_at: i64,
    /// Who may see it besides the unscoped: the number of its set of interned [`scope_tag`]s
    /// (the zones it matched and the organisations it concerns), kept by the [`ReportSource`].
    pub tags: u32,
    pub category: Category,
    pub status: Status,
}

/// The tag a report carries for a visibility: `z:` a matched zone, `o:` an owner.
pub fn scope_tag(v: &crate::scope::Visibility) -> Option<String> {
    match v {
        crate::scope::Visibility::All => None,
        crate::scope::Visibility::Zone(z) => Some(format!("z:{z}")),
        crate::scope::Visibility::Owner(o) => Some(format!("o:{o}")),
    }
}

/// Which reports a tile shows (`since`/`until` Unix ms, inclusive/exclusive).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ReportFilter {
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// Sorted, without repeats (the filter is part of the cache key); empty: every category.
    pub categories: Vec<Category>,
    /// Sorted by name, without repeats; empty: every status.
    pub statuses: Vec<Status>,
    /// Only reports carrying this [`scope_tag`] (a scoped office, a unit); `None`: all.
    pub scope: Option<String>,
}

impl ReportFilter {
    /// The filter's canonical form, part of a tile's cache key. The scope is in it: a scoped
    /// user's tile is never served to another.
    pub fn cache_key(&self) -> String {
        let names = |v: &mut dyn Iterator<Item = &'static str>| v.collect::<Vec<_>>().join(",");
        format!(
            "{}|{}|{}|{}|{}",
            self.since.map(|v| v.to_string()).unwrap_or_default(),
            self.until.map(|v| v.to_string()).unwrap_or_default(),
            names(&mut self.categories.iter().map(|c| c.as_str())),
            names(&mut self.statuses.iter().map(|s| s.as_str())),
            self.scope.as_deref().unwrap_or("")
        )
    }

    /// The tiles' form of the filter every report endpoint parses: the same time window,
    /// categories and statuses, and the visibility as a [`scope_tag`].
    pub fn of(f: &crate::store::stats::ReportFilter) -> Self {
        let mut categories = f.categories.clone();
        categories.sort();
        categories.dedup();
        let mut statuses = f.statuses.clone();
        statuses.sort_by_key(|s| s.as_str());
        statuses.dedup();
        ReportFilter {
            since: f.since,
            until: f.until,
            categories,
            statuses,
            scope: scope_tag(&f.visibility),
        }
    }

    /// Whether `r` passes the time, category and status conditions (the scope is checked by
    /// the [`ReportSource`], which knows the interned tags).
    pub fn accepts(&self, r: &ReportPoint) -> bool {
        self.since.is_none_or(|s| r.created_at >= s)
            && self.until.is_none_or(|u| r.created_at < u)
            && (self.categories.is_empty() || self.categories.contains(&r.category))
            && (self.statuses.is_empty() || self.statuses.contains(&r.status))
    }
}

/// Where report points come from (the report store's in-memory index).
pub trait ReportSource: Send + Sync {
    /// Calls `f` for every report inside `bbox` that `filter` accepts.
    fn for_each_in(&self, bbox: Bbox, filter: &ReportFilter, f: &mut dyn FnMut(&ReportPoint));

    /// The reports of `filter` in each of the 16 × 16 count bins of `coord` (row by row from the
    /// north-west), from counts kept as reports come, or `None` when the source keeps none for
    /// this zoom and filter (then the tile counts the reports of [`Self::for_each_in`]).
    fn count_bins(&self, _coord: TileCoord, _filter: &ReportFilter) -> Option<Vec<u64>> {
        None
    }

    /// Calls `f(column, row, reports)` for every cell of the Z-order grid at `level` (2^level
    /// cells a side over the Web Mercator square) inside `cells` that holds reports of
    /// `filter`, from counts kept as reports come; `false`, having called nothing, when the
    /// source keeps none for this level and filter (then the caller counts the reports of
    /// [`Self::for_each_in`], each in the cell of [`world_cell`]).
    fn count_cells(
        &self,
        _level: u32,
        _cells: CellBox,
        _filter: &ReportFilter,
        _f: &mut dyn FnMut(u32, u32, u64),
    ) -> bool {
        false
    }
}

/// A box of cells of one Z-order level: columns `x0..x1`, rows `y0..y1` (rows grow southward).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellBox {
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
}

impl CellBox {
    pub fn contains(&self, x: u32, y: u32) -> bool {
        (self.x0..self.x1).contains(&x) && (self.y0..self.y1).contains(&y)
    }
}

/// Which layers a tile carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Layers {
    pub zones: bool,
    pub routes: bool,
    pub reports: bool,
    pub basemap: bool,
    /// Whether the zones layer keeps hotspot zones (the office's working notes; the public map
    /// leaves them out).
    pub hotspots: bool,
}

impl Layers {
    pub const ALL: Layers = Layers {
        zones: true,
        routes: true,
        reports: true,
        basemap: true,
        hotspots: true,
    };
    /// What an offline archive carries: everything but the live reports.
    pub const OFFLINE: Layers = Layers {
        zones: true,
        routes: true,
        reports: false,
        basemap: true,
        hotspots: true,
    };

    /// Parses `zones,routes,reports,basemap` (any subset).
    pub fn parse(s: &str) -> Result<Layers, String> {
        let mut l = Layers {
            zones: false,
            routes: false,
            reports: false,
            basemap: false,
            hotspots: true,
        };
        for name in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name {
                "zones" => l.zones = true,
                "routes" => l.routes = true,
                "reports" => l.reports = true,
                "basemap" => l.basemap = true,
                other => {
                    return Err(format!(
                        "unknown layer {other:?}; layers are zones, routes, reports, basemap"
                    ))
                }
            }
        }
        Ok(l)
    }

    /// Canonical form for cache keys.
    pub fn key(&self) -> String {
        let mut v = Vec::new();
        for (on, n) in [
            (self.zones, "zones"),
            (self.routes, "routes"),
            (self.reports, "reports"),
            (self.basemap, "basemap"),
        ] {
            if on {
                v.push(n);
            }
        }
        if self.zones && !self.hotspots {
            v.push("no-hotspots");
        }
        v.join(",")
    }
}

/// The tile set and its cache, as the server holds them.
pub struct Tiles {
    pub set: TileSet,
    pub cache: Arc<TileCache>,
    pub report_points: Arc<ReportPoints>,
}

impl Tiles {
    fn key(coord: TileCoord, filter_key: &str, layers: Layers) -> TileKey {
        TileKey {
            z: coord.z,
            x: coord.x,
            y: coord.y,
            filter: Arc::from(format!("{}|{filter_key}", layers.key()).as_str()),
        }
    }

    /// Tile `coord` if the cache holds it (a lookup, no rendering: cheap on any thread).
    pub fn cached(
        &self,
        coord: TileCoord,
        filter_key: &str,
        layers: Layers,
    ) -> Option<Arc<CachedTile>> {
        self.cache.get(&Self::key(coord, filter_key, layers))
    }

    /// Tile `coord` from the cache, or rendered from `index` and cached. `filter_key` names the
    /// filter in the cache ([`ReportFilter::cache_key`], or a fixed name for a fixed filter).
    pub fn get_or_render(
        &self,
        index: &ZoneIndex,
        coord: TileCoord,
        filter: &ReportFilter,
        filter_key: &str,
        layers: Layers,
    ) -> Arc<CachedTile> {
        self.cached_or(Self::key(coord, filter_key, layers), || {
            CachedTile::new(self.set.render(index, coord, filter, layers))
        })
    }

    /// The cache key of a heatmap tile: its own namespace, the kernel radius, the filter.
    fn heatmap_key(coord: TileCoord, filter_key: &str, style: &HeatStyle) -> TileKey {
        TileKey {
            z: coord.z,
            x: coord.x,
            y: coord.y,
            filter: Arc::from(
                format!(
                    "heatmap:{}:{}|{filter_key}",
                    style.radius_m, style.scale_per_ha
                )
                .as_str(),
            ),
        }
    }

    /// Heatmap tile `coord` as PNG if the cache holds it.
    pub fn cached_heatmap(
        &self,
        coord: TileCoord,
        filter_key: &str,
        style: &HeatStyle,
    ) -> Option<Arc<CachedTile>> {
        self.cache.get(&Self::heatmap_key(coord, filter_key, style))
    }

    /// Heatmap tile `coord` as PNG from the cache, or drawn from the report points and cached;
    /// a report landing within the kernel's reach of the tile drops it again.
    pub fn heatmap_or_render(
        &self,
        coord: TileCoord,
        filter: &ReportFilter,
        filter_key: &str,
        style: &HeatStyle,
    ) -> Arc<CachedTile> {
        self.cached_or(Self::heatmap_key(coord, filter_key, style), || {
            CachedTile::image(
                heatmap::encode_png(&heatmap::render(
                    self.report_points.as_ref(),
                    coord,
                    filter,
                    style,
                )),
                heatmap::fetch_bbox(coord, style),
            )
        })
    }

    /// The cached tile under `key`, or `render`'s, cached. A change landing while it renders
    /// bumps the cache's epoch, so the stale tile is not kept.
    fn cached_or(&self, key: TileKey, render: impl FnOnce() -> CachedTile) -> Arc<CachedTile> {
        if let Some(t) = self.cache.get(&key) {
            return t;
        }
        let epoch = self.cache.epoch();
        let t = Arc::new(render());
        self.cache.insert(key, t.clone(), epoch);
        t
    }
}

/// Everything a tile is made of.
pub struct TileSet {
    pub basemap: Basemap,
    pub reports: Option<Arc<dyn ReportSource>>,
    pub aggregate_below: u8,
    /// Most reports a tile at or above `aggregate_below` carries as points; more, and it
    /// carries count bins like the tiles below (a point tile of a dense centre would be megabytes).
    pub max_points: usize,
}

impl TileSet {
    pub fn new(basemap: Basemap) -> Self {
        TileSet {
            basemap,
            reports: None,
            aggregate_below: DEFAULT_AGGREGATE_BELOW,
            max_points: DEFAULT_MAX_POINTS,
        }
    }

    /// Encodes tile `coord`; an empty tile is an empty vector.
    pub fn render(
        &self,
        index: &ZoneIndex,
        coord: TileCoord,
        filter: &ReportFilter,
        layers: Layers,
    ) -> Vec<u8> {
        let mut tile = TileBuilder::new(coord);
        let bbox = query_bbox(coord);
        if layers.zones || layers.routes {
            let mut zones: Vec<_> = index.in_bbox(bbox).collect();
            // Larger areas first, so small 三包 zones draw on top of their grid cells.
            zones.sort_by(|a, b| {
                a.zone
                    .kind
                    .as_str()
                    .cmp(b.zone.kind.as_str())
                    .then(a.zone.id.cmp(&b.zone.id))
            });
            for e in zones {
                let z = &e.zone;
                if !layers.hotspots && z.kind == ZoneKind::Hotspot {
                    continue;
                }
                let owner_name = z.owner.as_ref().map(|o| o.name.as_str()).unwrap_or("");
                let sector = z.owner.as_ref().map(|o| o.sector.as_str()).unwrap_or("");
                match (e.world(), &z.geometry) {
                    (WorldGeometry::Area(wp), _) if layers.zones => {
                        let level = z
                            .properties
                            .get("level")
                            .and_then(|v| v.as_str())
                            .unwrap_or("");
                        tile.layer("zones").add_world_polygon(
                            wp,
                            &[
                                ("id", Value::from(z.id.as_str())),
                                ("kind", Value::from(z.kind.as_str())),
                                ("name", Value::from(z.name.as_str())),
                                ("owner_name", Value::from(owner_name)),
                                ("sector", Value::from(sector)),
                                ("level", Value::from(level)),
                            ],
                        );
                        // One label point per zone, in the one tile that holds it: a polygon
                        // labelled in every tile it crosses shows its name twice.
                        if let Some((lon, lat)) = e.label_point().filter(|p| in_tile(coord, *p)) {
                            tile.layer("zone_labels").add_point(
                                &geo::Point::new(lon, lat),
                                &[
                                    ("id", Value::from(z.id.as_str())),
                                    ("kind", Value::from(z.kind.as_str())),
                                    ("name", Value::from(z.name.as_str())),
                                    ("level", Value::from(level)),
                                ],
                            );
                        }
                    }
                    (WorldGeometry::Line(wl), ZoneGeometry::Route { width_m, .. })
                        if layers.routes =>
                    {
                        tile.layer("routes").add_world_line(
                            wl,
                            &[
                                ("id", Value::from(z.id.as_str())),
                                ("name", Value::from(z.name.as_str())),
                                ("width_m", Value::Float(*width_m)),
                                ("owner_name", Value::from(owner_name)),
                            ],
                        );
                    }
                    _ => {}
                }
            }
        }
        for f in self.basemap.in_bbox(bbox).filter(|_| layers.basemap) {
            let props = [
                ("class", Value::from(f.class.as_str())),
                ("name", Value::from(f.name.as_str())),
            ];
            let mut layer = tile.layer("basemap");
            match &f.geom {
                basemap::BaseGeom::Area(wp) => {
                    layer.add_world_polygon(wp, &props);
                }
                basemap::BaseGeom::Line(wl) => {
                    layer.add_world_line(wl, &props);
                }
            }
        }
        if let (true, Some(src)) = (layers.reports, &self.reports) {
            self.add_reports(&mut tile, src.as_ref(), coord, bbox, filter);
        }
        tile.encode()
    }

    /// The `reports` layer: one point per report from `aggregate_below` on while the tile holds
    /// at most `max_points` of them, else count bins (only bins whose centre is in this tile, so
    /// each report is counted in exactly one tile).
    fn add_reports(
        &self,
        tile: &mut TileBuilder,
        src: &dyn ReportSource,
        coord: TileCoord,
        bbox: Bbox,
        filter: &ReportFilter,
    ) {
        let points = coord.z >= self.aggregate_below;
        // Kept counts answer a bins tile without reading its reports; a point tile too when it
        // holds more than `max_points` (its buffer only adds to that).
        if let Some(counts) = src.count_bins(coord, filter) {
            if !points || counts.iter().sum::<u64>() > self.max_points as u64 {
                if let Ok(bins) = xuncha_tiles::bins_of_counts(coord, &counts, BIN_PX) {
                    tile.layer("reports").add_point_bins(&bins, &[]);
                }
                return;
            }
        }
        let b = coord.bounds_lonlat();
        let exact = Bbox::new(b.min().x, b.min().y, b.max().x, b.max().y);
        let mut world = Vec::new();
        let mut single: Vec<ReportPoint> = Vec::new();
        src.for_each_in(if points { bbox } else { exact }, filter, &mut |r| {
            world.push(Point::new(r.world[0], r.world[1]));
            if points && single.len() <= self.max_points {
                single.push(*r);
            }
        });
        if points && single.len() <= self.max_points {
            let mut layer = tile.layer("reports");
            for r in single {
                if let Some(f) = layer.add_point(
                    &Point::new(r.lon, r.lat),
                    &[
                        ("id", Value::Int(r.id)),
                        ("category", Value::from(r.category.as_str())),
                        ("status", Value::from(r.status.as_str())),
                        ("count", Value::Int(1)),
                    ],
                ) {
                    f.set_id(r.id as u64);
                }
            }
        } else if let Ok(bins) = xuncha_tiles::aggregate_world_points(coord, world, BIN_PX) {
            // Points of the buffer fall outside the tile's bins and are dropped here.
            tile.layer("reports").add_point_bins(&bins, &[]);
        }
    }
}

/// The lon/lat box of a tile plus its 64/4096 buffer, for picking candidate features.
/// Whether `[lon, lat]` lies in tile `coord` proper (its buffer left out; west and north
/// edges inclusive, so a point on a shared edge belongs to exactly one tile).
fn in_tile(coord: TileCoord, (lon, lat): (f64, f64)) -> bool {
    let n = f64::from(coord.tiles_per_axis());
    let (x, y) = xuncha_tiles::lonlat_to_world(lon, lat);
    let (tx, ty) = (x * n, y * n);
    tx >= f64::from(coord.x)
        && tx < f64::from(coord.x) + 1.0
        && ty >= f64::from(coord.y)
        && ty < f64::from(coord.y) + 1.0
}

pub fn query_bbox(coord: TileCoord) -> Bbox {
    let n = f64::from(coord.tiles_per_axis());
    let pad = 64.0 / 4096.0;
    let to_lonlat = |x: f64, y: f64| xuncha_tiles::world_to_lonlat(x / n, y / n);
    let (w, n_lat) = to_lonlat(
        f64::from(coord.x) - pad,
        (f64::from(coord.y) - pad).max(0.0),
    );
    let (e, s_lat) = to_lonlat(
        f64::from(coord.x) + 1.0 + pad,
        (f64::from(coord.y) + 1.0 + pad).min(n),
    );
    Bbox::new(w.max(-180.0), s_lat, e.min(180.0), n_lat)
}
