//! A polygon prepared for fast, exact point-in-polygon tests and distance queries.
//!
//! The edges of all rings are bucketed into horizontal bands (an edge index in CSR form), so a
//! test looks only at the edges of the point's band instead of every edge: a county of 2 000
//! vertices costs a handful of edge tests. Orientation uses Shewchuk's robust predicate, so the
//! answer is exact, and points on the boundary are reported as covered.
//!
//! Polygons with more than a few dozen edges also get a classification grid over their bounding
//! box: each cell is *inside*, *outside* or *boundary* (some edge comes near it). A point in an
//! inside or outside cell is answered by one memory read; only points in boundary cells run the
//! band test. A cell is called inside or outside only when no edge comes within a small margin
//! of it (tested exactly), and the margin is far wider than the rounding of the cell-index
//! arithmetic, so the grid never changes an answer, on boundaries and holes included.

use crate::crs::geodesy::LocalMetres;
use geo::{Coord, MultiPolygon};

#[derive(Debug, Clone, Copy)]
pub(crate) struct Edge {
    ax: f64,
    ay: f64,
    bx: f64,
    by: f64,
}

/// Where a point lies relative to a prepared area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Inside,
    Boundary,
    Outside,
}

/// How a rectangle lies relative to an area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RectClass {
    /// Every point of the rectangle is outside.
    Disjoint,
    /// Every point of the rectangle is strictly inside.
    Inside,
    /// Could not be shown to be either (an edge may come near).
    Boundary,
}

/// Edges looked at, at most, to classify a rectangle exactly where the grid cannot.
const CLASSIFY_MAX_EDGES: usize = 256;

/// A MultiPolygon with an edge index.
#[derive(Debug, Clone)]
pub struct PreparedArea {
    min_x: f64,
    max_x: f64,
    min_y: f64,
    max_y: f64,
    inv_band_h: f64,
    bands: usize,
    /// `band_start[k]..band_start[k + 1]` indexes `band_edges` for band `k`.
    band_start: Vec<u32>,
    band_edges: Vec<Edge>,
    grid: Option<Box<Grid>>,
}

/// Polygons with more edges than this get a classification grid.
const GRID_MIN_EDGES: usize = 24;
/// Grid cells per edge (capped by `GRID_MAX_CELLS`).
const GRID_CELLS_PER_EDGE: usize = 32;
const GRID_MAX_CELLS: usize = 1 << 17;

const CELL_BOUNDARY: u8 = 0;
const CELL_INSIDE: u8 = 1;
const CELL_OUTSIDE: u8 = 2;

/// Where a classification grid lies, and its resolution.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GridParams {
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
    inv_w: f64,
    inv_h: f64,
    nx: u32,
    ny: u32,
}

impl GridParams {
    /// Locates a point from the grid's `cells` alone: `None` when it falls in a boundary cell
    /// (then only the edge test can tell).
    #[inline]
    pub(crate) fn locate(&self, cells: &[u8], x: f64, y: f64) -> Option<Location> {
        if !(x >= self.x0 && x <= self.x1 && y >= self.y0 && y <= self.y1) {
            return Some(Location::Outside);
        }
        let k = self.cell(x, y);
        match (cells[k >> 2] >> ((k & 3) * 2)) & 3 {
            CELL_INSIDE => Some(Location::Inside),
            CELL_OUTSIDE => Some(Location::Outside),
            _ => None,
        }
    }

    /// The cell of a point inside the bounding box. The same arithmetic is used to build and
    /// to query, and building allows for its rounding with a margin.
    #[inline]
    fn cell(&self, x: f64, y: f64) -> usize {
        let i = (((x - self.x0) * self.inv_w) as usize).min(self.nx as usize - 1);
        let j = (((y - self.y0) * self.inv_h) as usize).min(self.ny as usize - 1);
        j * self.nx as usize + i
    }
}

/// Inside / outside / boundary cells over the bounding box, two bits a cell.
#[derive(Debug, Clone)]
struct Grid {
    params: GridParams,
    cells: Vec<u8>,
}

impl Grid {
    #[cfg(test)]
    fn class(&self, k: usize) -> u8 {
        (self.cells[k >> 2] >> ((k & 3) * 2)) & 3
    }

    fn build(area: &PreparedArea, edges: &[Edge]) -> Grid {
        let (w, h) = (area.max_x - area.min_x, area.max_y - area.min_y);
        let target = (edges.len() * GRID_CELLS_PER_EDGE).min(GRID_MAX_CELLS) as f64;
        let nx = ((target * w / h).sqrt().round() as usize).clamp(1, 4096);
        let ny = ((target / nx as f64).ceil() as usize).clamp(1, 4096);
        let (cw, ch) = (w / nx as f64, h / ny as f64);
        let mut g = Grid {
            params: GridParams {
                x0: area.min_x,
                y0: area.min_y,
                x1: area.max_x,
                y1: area.max_y,
                inv_w: nx as f64 / w,
                inv_h: ny as f64 / h,
                nx: nx as u32,
                ny: ny as u32,
            },
            cells: vec![0; (nx * ny).div_ceil(4)],
        };
        // Far wider than the rounding of `cell()` and of the cell corners computed here.
        let (mx, my) = (cw / 1024.0 + 1e-11, ch / 1024.0 + 1e-11);
        let cell_rect = |i: usize, j: usize| {
            [
                area.min_x + i as f64 * cw - mx,
                area.min_y + j as f64 * ch - my,
                area.min_x + (i + 1) as f64 * cw + mx,
                area.min_y + (j + 1) as f64 * ch + my,
            ]
        };
        let mut boundary = vec![false; nx * ny];
        let index = |v: f64, lo: f64, inv: f64, n: usize| -> usize {
            (((v - lo) * inv).max(0.0) as usize).min(n - 1)
        };
        for e in edges {
            let (i0, i1) = (
                index(e.ax.min(e.bx) - mx, area.min_x, g.params.inv_w, nx),
                index(e.ax.max(e.bx) + mx, area.min_x, g.params.inv_w, nx),
            );
            let (j0, j1) = (
                index(e.ay.min(e.by) - my, area.min_y, g.params.inv_h, ny),
                index(e.ay.max(e.by) + my, area.min_y, g.params.inv_h, ny),
            );
            for j in j0..=j1 {
                for i in i0..=i1 {
                    if !boundary[j * nx + i] && segment_meets_rect(e, cell_rect(i, j)) {
                        boundary[j * nx + i] = true;
                    }
                }
            }
        }
        // Adjacent cells that no edge comes near lie in one face: locate the first of each run.
        for j in 0..ny {
            let mut run: Option<u8> = None;
            for i in 0..nx {
                let k = j * nx + i;
                let class = if boundary[k] {
                    run = None;
                    CELL_BOUNDARY
                } else {
                    *run.get_or_insert_with(|| {
                        let c = Coord {
                            x: area.min_x + (i as f64 + 0.5) * cw,
                            y: area.min_y + (j as f64 + 0.5) * ch,
                        };
                        match area.locate_by_bands(c) {
                            Location::Inside => CELL_INSIDE,
                            Location::Outside => CELL_OUTSIDE,
                            Location::Boundary => CELL_BOUNDARY,
                        }
                    })
                };
                g.cells[k >> 2] |= class << ((k & 3) * 2);
            }
        }
        g
    }

    fn heap_bytes(&self) -> usize {
        self.cells.capacity()
    }
}

/// Whether the segment `a`–`b` meets the closed rectangle `[x0, y0, x1, y1]`.
pub(crate) fn segment_meets_rect_xy(a: Coord<f64>, b: Coord<f64>, r: [f64; 4]) -> bool {
    segment_meets_rect(
        &Edge {
            ax: a.x,
            ay: a.y,
            bx: b.x,
            by: b.y,
        },
        r,
    )
}

/// Whether segment `e` meets the closed rectangle `[x0, y0, x1, y1]` (separating axes: the
/// rectangle's two and the segment's normal, the last with the exact orientation predicate).
fn segment_meets_rect(e: &Edge, r: [f64; 4]) -> bool {
    if e.ax.max(e.bx) < r[0]
        || e.ax.min(e.bx) > r[2]
        || e.ay.max(e.by) < r[1]
        || e.ay.min(e.by) > r[3]
    {
        return false;
    }
    let (a, b) = (
        robust::Coord { x: e.ax, y: e.ay },
        robust::Coord { x: e.bx, y: e.by },
    );
    let side = |x: f64, y: f64| robust::orient2d(a, b, robust::Coord { x, y });
    let s = [
        side(r[0], r[1]),
        side(r[2], r[1]),
        side(r[2], r[3]),
        side(r[0], r[3]),
    ];
    !(s.iter().all(|&v| v > 0.0) || s.iter().all(|&v| v < 0.0))
}

impl PreparedArea {
    pub fn new(mp: &MultiPolygon<f64>) -> Self {
        let mut edges = Vec::new();
        for p in &mp.0 {
            for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                for w in ring.0.windows(2) {
                    if w[0] != w[1] {
                        edges.push(Edge {
                            ax: w[0].x,
                            ay: w[0].y,
                            bx: w[1].x,
                            by: w[1].y,
                        });
                    }
                }
            }
        }
        let (min_y, max_y) = edges
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), e| {
                (lo.min(e.ay.min(e.by)), hi.max(e.ay.max(e.by)))
            });
        let (min_x, max_x) = edges
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), e| {
                (lo.min(e.ax.min(e.bx)), hi.max(e.ax.max(e.bx)))
            });
        // About four edges per band keeps each test to a few edge checks.
        let bands = (edges.len() / 4).clamp(1, 1 << 16);
        let height = (max_y - min_y).max(f64::MIN_POSITIVE);
        let inv_band_h = bands as f64 / height;
        let mut area = PreparedArea {
            min_x,
            max_x,
            min_y,
            max_y,
            inv_band_h,
            bands,
            band_start: Vec::new(),
            band_edges: Vec::new(),
            grid: None,
        };
        let mut counts = vec![0u32; bands + 1];
        for e in &edges {
            let (lo, hi) = area.band_range(e.ay.min(e.by), e.ay.max(e.by));
            for k in lo..=hi {
                counts[k + 1] += 1;
            }
        }
        for k in 0..bands {
            counts[k + 1] += counts[k];
        }
        let mut fill = counts.clone();
        let mut slots = vec![
            Edge {
                ax: 0.0,
                ay: 0.0,
                bx: 0.0,
                by: 0.0
            };
            counts[bands] as usize
        ];
        for e in &edges {
            let (lo, hi) = area.band_range(e.ay.min(e.by), e.ay.max(e.by));
            for slot in fill.iter_mut().take(hi + 1).skip(lo) {
                slots[*slot as usize] = *e;
                *slot += 1;
            }
        }
        area.band_start = counts;
        area.band_edges = slots;
        if edges.len() > GRID_MIN_EDGES && max_x > min_x && max_y > min_y {
            area.grid = Some(Box::new(Grid::build(&area, &edges)));
        }
        area
    }

    /// Classifies the closed rectangle `[x0, y0, x1, y1]`: exactly from the edges for small
    /// areas and small rectangles, from the classification grid otherwise (conservatively:
    /// `Boundary` whenever in doubt).
    pub(crate) fn classify_rect(&self, r: [f64; 4]) -> RectClass {
        if r[2] < self.min_x || r[0] > self.max_x || r[3] < self.min_y || r[1] > self.max_y {
            return RectClass::Disjoint;
        }
        let within_bbox =
            r[0] >= self.min_x && r[2] <= self.max_x && r[1] >= self.min_y && r[3] <= self.max_y;
        if let Some(g) = &self.grid {
            let p = &g.params;
            let i0 = p.cell(r[0].max(p.x0), p.y0) % p.nx as usize;
            let i1 = p.cell(r[2].min(p.x1), p.y0) % p.nx as usize;
            let j0 = p.cell(p.x0, r[1].max(p.y0)) / p.nx as usize;
            let j1 = p.cell(p.x0, r[3].min(p.y1)) / p.nx as usize;
            let (mut inside, mut outside, mut boundary) = (false, false, false);
            'scan: for j in j0..=j1 {
                for i in i0..=i1 {
                    let k = j * p.nx as usize + i;
                    match (g.cells[k >> 2] >> ((k & 3) * 2)) & 3 {
                        CELL_INSIDE => inside = true,
                        CELL_OUTSIDE => outside = true,
                        _ => boundary = true,
                    }
                    if boundary || (inside && outside) {
                        break 'scan;
                    }
                }
            }
            if !boundary && !inside {
                return RectClass::Disjoint;
            }
            if !boundary && !outside && within_bbox {
                return RectClass::Inside;
            }
        }
        // Exactly: no edge meets the rectangle, so all of it lies in the face of its centre.
        let (lo, hi) = self.band_range(r[1].max(self.min_y), r[3].min(self.max_y));
        let mut looked = 0;
        for k in lo..=hi {
            for e in self.band(k) {
                looked += 1;
                if looked > CLASSIFY_MAX_EDGES || segment_meets_rect(e, r) {
                    return RectClass::Boundary;
                }
            }
        }
        let c = Coord {
            x: (r[0] + r[2]) / 2.0,
            y: (r[1] + r[3]) / 2.0,
        };
        match self.locate_by_bands(c) {
            Location::Inside if within_bbox => RectClass::Inside,
            Location::Outside => RectClass::Disjoint,
            _ => RectClass::Boundary,
        }
    }

    /// The classification grid, if this area has one.
    pub(crate) fn grid(&self) -> Option<(GridParams, &[u8])> {
        self.grid.as_ref().map(|g| (g.params, g.cells.as_slice()))
    }

    /// Heap bytes held by the edge index and the grid.
    pub fn heap_bytes(&self) -> usize {
        self.band_start.capacity() * 4
            + self.band_edges.capacity() * std::mem::size_of::<Edge>()
            + self
                .grid
                .as_ref()
                .map_or(0, |g| std::mem::size_of::<Grid>() + g.heap_bytes())
    }

    #[inline]
    fn band_of(&self, y: f64) -> usize {
        // Monotone in y, so an edge spanning y always lies in y's band.
        let k = ((y - self.min_y) * self.inv_band_h) as isize;
        k.clamp(0, self.bands as isize - 1) as usize
    }

    #[inline]
    fn band_range(&self, lo: f64, hi: f64) -> (usize, usize) {
        (self.band_of(lo), self.band_of(hi))
    }

    #[inline]
    fn band(&self, k: usize) -> &[Edge] {
        &self.band_edges[self.band_start[k] as usize..self.band_start[k + 1] as usize]
    }

    /// Locates `[lon, lat]` exactly (boundary included).
    #[inline]
    pub fn locate(&self, p: Coord<f64>) -> Location {
        if !(p.y >= self.min_y && p.y <= self.max_y && p.x >= self.min_x && p.x <= self.max_x) {
            return Location::Outside;
        }
        if let Some(g) = &self.grid {
            if let Some(l) = g.params.locate(&g.cells, p.x, p.y) {
                return l;
            }
        }
        self.locate_by_bands(p)
    }

    /// The exact crossing test over the edges of the point's band.
    fn locate_by_bands(&self, p: Coord<f64>) -> Location {
        if !(p.y >= self.min_y && p.y <= self.max_y) {
            return Location::Outside;
        }
        locate_by_edges(self.band(self.band_of(p.y)), p)
    }

    /// The edges of an area small enough to be tested edge by edge (`None` when it has more
    /// than `max`); every edge once.
    pub(crate) fn small_edges(&self, max: usize) -> Option<Vec<Edge>> {
        if self.band_edges.len() > 2 * max {
            return None;
        }
        // Bands repeat an edge that spans several of them.
        let mut out: Vec<Edge> = Vec::new();
        for e in &self.band_edges {
            let same = |o: &Edge| o.ax == e.ax && o.ay == e.ay && o.bx == e.bx && o.by == e.by;
            if !out.iter().any(same) {
                out.push(*e);
            }
        }
        (out.len() <= max).then_some(out)
    }

    /// Whether `[lon, lat]` is inside or on the boundary.
    #[inline]
    pub fn covers(&self, p: Coord<f64>) -> bool {
        self.locate(p) != Location::Outside
    }
}

/// The exact crossing test of `p` against `edges` (all edges whose y-range may hold `p.y`).
#[inline]
pub(crate) fn locate_by_edges(edges: &[Edge], p: Coord<f64>) -> Location {
    {
        let (px, py) = (p.x, p.y);
        let mut inside = false;
        for e in edges {
            let (ylo, yhi) = if e.ay < e.by {
                (e.ay, e.by)
            } else {
                (e.by, e.ay)
            };
            if py < ylo || py > yhi {
                continue;
            }
            let (xlo, xhi) = if e.ax < e.bx {
                (e.ax, e.bx)
            } else {
                (e.bx, e.ax)
            };
            if px > xhi {
                continue; // entirely left of the point: neither crossed by the ray nor touched
            }
            let straddles = (e.ay > py) != (e.by > py);
            if px < xlo {
                if straddles {
                    inside = !inside;
                }
                continue;
            }
            let o = robust::orient2d(
                robust::Coord { x: e.ax, y: e.ay },
                robust::Coord { x: e.bx, y: e.by },
                robust::Coord { x: px, y: py },
            );
            if o == 0.0 {
                return Location::Boundary;
            }
            if straddles && ((e.by > e.ay) == (o > 0.0)) {
                inside = !inside;
            }
        }
        if inside {
            Location::Inside
        } else {
            Location::Outside
        }
    }
}

impl PreparedArea {
    /// Distance in metres from `p` to the area: 0 when covered, else to the nearest edge.
    /// Only edges within `max_m` are looked at; returns `None` when none is that close.
    pub fn distance_m(&self, p: Coord<f64>, max_m: f64) -> Option<f64> {
        if self.covers(p) {
            return Some(0.0);
        }
        let lm = LocalMetres::new(p.x, p.y);
        let (_, dlat) = lm.degrees_for(max_m);
        if p.y + dlat < self.min_y || p.y - dlat > self.max_y {
            return None;
        }
        let (lo, hi) = self.band_range(p.y - dlat, p.y + dlat);
        let mut best = f64::INFINITY;
        for k in lo..=hi {
            for e in self.band(k) {
                let d = lm
                    .distance_to_segment_m(Coord { x: e.ax, y: e.ay }, Coord { x: e.bx, y: e.by });
                best = best.min(d);
            }
        }
        (best <= max_m).then_some(best)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{polygon, Contains, Intersects, LineString, MultiPolygon, Point, Polygon};

    fn ring_with_hole() -> MultiPolygon<f64> {
        MultiPolygon(vec![polygon!(
            exterior: [(x: 0., y: 0.), (x: 10., y: 0.), (x: 10., y: 10.), (x: 5., y: 12.), (x: 0., y: 10.), (x: 0., y: 0.)],
            interiors: [[(x: 3., y: 3.), (x: 3., y: 6.), (x: 6., y: 6.), (x: 6., y: 3.), (x: 3., y: 3.)]],
        )])
    }

    #[test]
    fn boundary_vertices_holes() {
        let mp = ring_with_hole();
        let a = PreparedArea::new(&mp);
        assert_eq!(a.locate(Coord { x: 1., y: 1. }), Location::Inside);
        assert_eq!(a.locate(Coord { x: 4., y: 4. }), Location::Outside); // in the hole
        assert_eq!(a.locate(Coord { x: 3., y: 4. }), Location::Boundary); // on the hole
        assert_eq!(a.locate(Coord { x: 0., y: 0. }), Location::Boundary); // a vertex
        assert_eq!(a.locate(Coord { x: 5., y: 12. }), Location::Boundary); // the apex
        assert_eq!(a.locate(Coord { x: 10., y: 5. }), Location::Boundary);
        assert_eq!(a.locate(Coord { x: 11., y: 5. }), Location::Outside);
        assert_eq!(a.locate(Coord { x: -1., y: 10. }), Location::Outside); // level with a vertex
        assert_eq!(a.locate(Coord { x: 2., y: 10. }), Location::Inside);
    }

    #[test]
    fn agrees_with_geo_on_a_grid() {
        let mp = ring_with_hole();
        let a = PreparedArea::new(&mp);
        for i in -4..=56 {
            for j in -4..=64 {
                let p = Point::new(i as f64 * 0.25, j as f64 * 0.25);
                let expect = mp.intersects(&p);
                assert_eq!(a.covers(p.0), expect, "{p:?}");
                if a.locate(p.0) == Location::Inside {
                    assert!(mp.contains(&p));
                }
            }
        }
    }

    /// A star with 60 points around a star-shaped hole, and a second part inside the hole:
    /// enough edges for a classification grid, with lattice points exactly on many edges.
    fn many_edges() -> MultiPolygon<f64> {
        let star = |r0: f64, r1: f64, n: usize, rot: f64| -> LineString<f64> {
            let mut v: Vec<(f64, f64)> = (0..2 * n)
                .map(|k| {
                    let a = rot + k as f64 * std::f64::consts::PI / n as f64;
                    let r = if k % 2 == 0 { r1 } else { r0 };
                    // Snap to a 1/8 lattice so lattice test points fall exactly on vertices.
                    (
                        ((a.cos() * r) * 8.0).round() / 8.0,
                        ((a.sin() * r) * 8.0).round() / 8.0,
                    )
                })
                .collect();
            v.push(v[0]);
            LineString::from(v)
        };
        MultiPolygon(vec![
            Polygon::new(star(30.0, 40.0, 60, 0.0), vec![star(8.0, 14.0, 20, 0.1)]),
            Polygon::new(
                LineString::from(vec![
                    (-2.0, -2.0),
                    (2.0, -2.0),
                    (2.0, 2.0),
                    (-2.0, 2.0),
                    (-2.0, -2.0),
                ]),
                vec![],
            ),
        ])
    }

    #[test]
    fn grid_never_changes_an_answer() {
        let mp = many_edges();
        let a = PreparedArea::new(&mp);
        let g = a.grid.as_ref().expect("a grid for this many edges");
        let n = (g.params.nx * g.params.ny) as usize;
        let classified = (0..n).filter(|&k| g.class(k) != CELL_BOUNDARY).count();
        assert!(classified * 2 > n, "most cells classified: {classified}");
        let mut points: Vec<Coord<f64>> = Vec::new();
        for i in -340..=340 {
            for j in -340..=340 {
                points.push(Coord {
                    x: i as f64 / 8.0,
                    y: j as f64 / 8.0,
                });
            }
        }
        for p in &mp.0 {
            for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                for w in ring.0.windows(2) {
                    let m = Coord {
                        x: (w[0].x + w[1].x) / 2.0,
                        y: (w[0].y + w[1].y) / 2.0,
                    };
                    points.extend([
                        w[0],
                        m,
                        Coord {
                            x: m.x + 1e-12,
                            y: m.y,
                        },
                        Coord {
                            x: m.x,
                            y: m.y - 1e-12,
                        },
                    ]);
                }
            }
        }
        let mut seen = [0usize; 3];
        for c in points {
            let p = Point(c);
            let got = a.locate(c);
            assert_eq!(got, a.locate_by_bands(c), "{c:?}");
            assert_eq!(got != Location::Outside, mp.intersects(&p), "{c:?}");
            if got == Location::Inside {
                assert!(mp.contains(&p), "{c:?}");
            }
            seen[got as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 100), "{seen:?}");
    }
}
