//! Report counts per bin of the `reports` layer, kept as reports come, so a tile of count bins
//! costs the same whatever the number of reports under it.
//!
//! A bin of a zoom-`z` tile is a cell of the Z-order grid at level `z + 4` (16 bins a side, see
//! [`super::BIN_PX`]), and the cells of one tile are one contiguous run of that level's codes.
//! Each level from [`MIN_LEVEL`] to [`MAX_LEVEL`] keeps a count per cell and per node of a time
//! hierarchy: spans of 1, 8, 64 and 512 city days, aligned to multiples of their length. A window
//! of whole days is covered by the fewest nodes (at most seven a level at each end), so a tile
//! reads at most a few dozen runs of at most 256 counts: no report is read.
//!
//! The same counts, read over any box of cells of a kept level, are the grid the heatmap blurs
//! (a heatmap tile of zoom `z` on cells of one world pixel is level `z + 8`).
//!
//! Two families of counts are kept: every report, and the unfinished ones (a status with a
//! time-limit stage: to dispatch, handle or verify), the office's default map. A report moves in
//! or out of the second as its status changes.
//!
//! It answers a filter with no category or scope, with every status or exactly the unfinished
//! ones, whose ends are city midnights (or open): the office's map of the last *n* days. Anything
//! else returns `None`, and the tile counts the reports themselves.

use super::report_points::{deinterleave, interleave};
use super::{CellBox, ReportFilter};
use crate::deadlines::Stage;
use crate::report::Status;
use crate::time::{city_day, DAY_MS};
use std::collections::BTreeMap;

/// The finest level kept: the bins of a zoom-14 tile (~150 m at the equator, ~110 m in Jilin).
pub const MAX_LEVEL: u32 = 18;
/// The coarsest level kept: the bins of a zoom-6 tile. Tiles further out count their reports.
pub const MIN_LEVEL: u32 = 10;
/// Levels of the time hierarchy: nodes of 8^t days.
const TIME_LEVELS: u32 = 4;
const CELL_BITS: u32 = 2 * MAX_LEVEL;
const NODE_BITS: u32 = 61 - CELL_BITS;
const LAST_DAY: i64 = (1 << NODE_BITS) - 1;
/// The family of every report's counts, and of the unfinished ones'.
const ALL: u64 = 0;
const UNFINISHED: u64 = 1;
// A tile's bins are the cells four levels down: 16 a side.
const _: () = assert!(super::BIN_PX == 16);

/// The key of a count: time level, family, node, cell (in that order, so the cells of one tile
/// and one node are one run of keys).
fn key(t: u32, family: u64, node: u64, cell: u64) -> u64 {
    (u64::from(t) << 62) | (family << 61) | (node << CELL_BITS) | cell
}

/// Whether a report in `status` is still to be dispatched, handled or verified (the office's
/// default filter, "open" in the web client).
pub fn unfinished(status: Status) -> bool {
    Stage::of(status).is_some()
}

/// The counts of every level, and the days they span.
#[derive(Debug)]
pub struct CountGrid {
    /// Added to a Unix ms time to give the city's wall clock (its days start at midnight).
    offset_ms: i64,
    /// One map per level from [`MIN_LEVEL`].
    levels: Vec<BTreeMap<u64, u32>>,
    /// The first and last city day of any report counted.
    days: Option<(i64, i64)>,
    /// A report fell outside the days the keys can hold: the grid answers nothing.
    overflow: bool,
}

impl Default for CountGrid {
    fn default() -> Self {
        CountGrid::new(0)
    }
}

impl CountGrid {
    /// An empty grid whose days start at midnight `offset_ms` ahead of UTC.
    pub fn new(offset_ms: i64) -> Self {
        CountGrid {
            offset_ms,
            levels: vec![BTreeMap::new(); (MAX_LEVEL - MIN_LEVEL + 1) as usize],
            days: None,
            overflow: false,
        }
    }

    fn day(&self, created_at: i64) -> i64 {
        city_day(created_at, self.offset_ms)
    }

    /// Notes the day of a report; whether the keys can hold it.
    fn note_day(&mut self, day: i64) -> bool {
        if !(0..=LAST_DAY).contains(&day) {
            self.overflow = true;
            return false;
        }
        self.days = Some(match self.days {
            None => (day, day),
            Some((a, b)) => (a.min(day), b.max(day)),
        });
        true
    }

    /// The grid of `reports` (`(Z-order code at level 24, created_at, unfinished)`), built in
    /// bulk: one sort per time level, the coarser cells summed from the finer ones in order.
    pub fn build(offset_ms: i64, reports: &[(u64, i64, bool)]) -> Self {
        let mut grid = CountGrid::new(offset_ms);
        let days: Vec<i64> = reports.iter().map(|&(_, at, _)| grid.day(at)).collect();
        let kept: Vec<(u64, u64, bool)> = reports
            .iter()
            .zip(&days)
            .filter(|&(_, &day)| grid.note_day(day))
            .map(|(&(code, _, open), &day)| (code >> (2 * (24 - MAX_LEVEL)), day as u64, open))
            .collect();
        let mut entries: Vec<Vec<(u64, u32)>> = vec![Vec::new(); grid.levels.len()];
        for t in 0..TIME_LEVELS {
            let mut keys: Vec<u64> = Vec::with_capacity(kept.len() * 2);
            for &(cell, day, open) in &kept {
                keys.push(key(t, ALL, day >> (3 * t), cell));
                if open {
                    keys.push(key(t, UNFINISHED, day >> (3 * t), cell));
                }
            }
            keys.sort_unstable();
            let mut run = run_lengths(keys.into_iter().map(|k| (k, 1)));
            for level in (MIN_LEVEL..=MAX_LEVEL).rev() {
                if level < MAX_LEVEL {
                    // Same node, cell one level up: the keys stay in order.
                    let up = |k: u64| {
                        let cell = k & ((1 << CELL_BITS) - 1);
                        (k & !((1 << CELL_BITS) - 1)) | (cell >> 2)
                    };
                    run = run_lengths(run.into_iter().map(|(k, n)| (up(k), n)));
                }
                entries[(level - MIN_LEVEL) as usize].extend_from_slice(&run);
            }
        }
        for (map, e) in grid.levels.iter_mut().zip(entries) {
            // Time levels were appended in order and the time level leads the key: sorted.
            *map = e.into_iter().collect();
        }
        grid
    }

    /// Counts one more report (at Z-order `code`, level 24), in the unfinished ones too when
    /// `unfinished`.
    pub fn add(&mut self, code: u64, created_at: i64, unfinished: bool) {
        let day = self.day(created_at);
        if !self.note_day(day) {
            return;
        }
        self.bump(ALL, code, day, true);
        if unfinished {
            self.bump(UNFINISHED, code, day, true);
        }
    }

    /// A counted report's status moved into the unfinished ones (`now`) or out of them.
    pub fn restage(&mut self, code: u64, created_at: i64, now: bool) {
        let day = self.day(created_at);
        // A report the grid could not count (`overflow`) is not in it either way.
        if (0..=LAST_DAY).contains(&day) {
            self.bump(UNFINISHED, code, day, now);
        }
    }

    /// One more (`up`) or one fewer report in `family` at `code` on `day`, at every level and
    /// time span; a count that falls to zero goes.
    fn bump(&mut self, family: u64, code: u64, day: i64, up: bool) {
        for level in MIN_LEVEL..=MAX_LEVEL {
            let cell = code >> (2 * (24 - level));
            let map = &mut self.levels[(level - MIN_LEVEL) as usize];
            for t in 0..TIME_LEVELS {
                let k = key(t, family, (day as u64) >> (3 * t), cell);
                if up {
                    *map.entry(k).or_insert(0) += 1;
                } else if let std::collections::btree_map::Entry::Occupied(mut e) = map.entry(k) {
                    *e.get_mut() -= 1;
                    if *e.get() == 0 {
                        e.remove();
                    }
                }
            }
        }
    }

    /// The family of counts and the days `[first, end)` of `filter`'s window, when the grid can
    /// answer it.
    fn window(&self, filter: &ReportFilter) -> Option<(u64, i64, i64)> {
        if self.overflow || filter.scope.is_some() || !filter.categories.is_empty() {
            return None;
        }
        // The filter's statuses are without repeats: as many unfinished ones as there are is
        // all of them.
        let family = match filter.statuses.as_slice() {
            s if s.is_empty() || s.len() == Status::ALL.len() => ALL,
            s if s.iter().all(|s| unfinished(*s))
                && s.len() == Status::ALL.iter().filter(|s| unfinished(**s)).count() =>
            {
                UNFINISHED
            }
            _ => return None,
        };
        let (first, last) = self.days.unwrap_or((0, -1));
        let midnight = |ms: i64| {
            let local = ms.checked_add(self.offset_ms)?;
            (local.rem_euclid(DAY_MS) == 0).then(|| local.div_euclid(DAY_MS))
        };
        let from = match filter.since {
            None => first,
            Some(s) => midnight(s)?.max(first),
        };
        let to = match filter.until {
            None => last + 1,
            Some(u) => midnight(u)?.min(last + 1),
        };
        // No count lies before the first report's day or after the last one's, so an end that
        // reaches either is moved out to a boundary of the longest nodes: an open end (all
        // time, the last 90 days) is then covered by long nodes, not by a string of short ones.
        let span = 1i64 << (3 * (TIME_LEVELS - 1));
        let from = if from == first {
            first.div_euclid(span) * span
        } else {
            from
        };
        let to = if to == last + 1 {
            (last + span).div_euclid(span) * span
        } else {
            to
        };
        Some((family, from, to.max(from)))
    }

    /// The counts of the 16 × 16 bins of tile `z/x/y` (row by row from the north-west) over
    /// `filter`'s window, or `None` when the grid cannot answer (see the module's comment).
    pub fn tile_bins(&self, z: u8, x: u32, y: u32, filter: &ReportFilter) -> Option<Vec<u64>> {
        // The bins are the tile's cells four levels down: one aligned block of 16 × 16.
        let cells = CellBox {
            x0: x * 16,
            y0: y * 16,
            x1: x * 16 + 16,
            y1: y * 16 + 16,
        };
        let mut counts = vec![0u64; 256];
        let answered = self.for_each_cell(u32::from(z) + 4, cells, filter, &mut |bx, by, n| {
            counts[(by - cells.y0) as usize * 16 + (bx - cells.x0) as usize] += n;
        });
        answered.then_some(counts)
    }

    /// Calls `f(column, row, reports)` for every cell of `level` inside `cells` that holds
    /// reports of `filter`'s window; `false`, having called nothing, when the grid cannot answer
    /// (a level not kept, or see the module's comment). The box is read as the aligned Z-order
    /// blocks that cover it, each one run of keys per node of the window.
    pub fn for_each_cell(
        &self,
        level: u32,
        cells: CellBox,
        filter: &ReportFilter,
        f: &mut dyn FnMut(u32, u32, u64),
    ) -> bool {
        if !(MIN_LEVEL..=MAX_LEVEL).contains(&level) {
            return false;
        }
        let Some((family, from, to)) = self.window(filter) else {
            return false;
        };
        let map = &self.levels[(level - MIN_LEVEL) as usize];
        let runs = block_runs(level, cells);
        for (t, node) in cover(from, to) {
            let base = key(t, family, node, 0);
            for &(lo, hi) in &runs {
                for (k, &n) in map.range(base + lo..base + hi) {
                    let (x, y) = deinterleave(k - base);
                    if cells.contains(x, y) {
                        f(x, y, u64::from(n));
                    }
                }
            }
        }
        true
    }

    /// Bytes the counts hold at least: a B-tree leaf keeps up to 11 keys and counts in 144
    /// bytes, full when built in bulk, fuller or emptier as reports come.
    pub fn heap_bytes(&self) -> usize {
        self.len() * 144 / 11
    }

    pub fn offset_ms(&self) -> i64 {
        self.offset_ms
    }

    /// Counts held (keys over every level), for the memory figures.
    pub fn len(&self) -> usize {
        self.levels.iter().map(BTreeMap::len).sum()
    }
}

/// Adjacent equal keys merged, their counts summed.
fn run_lengths(sorted: impl Iterator<Item = (u64, u32)>) -> Vec<(u64, u32)> {
    let mut out: Vec<(u64, u32)> = Vec::new();
    for (k, n) in sorted {
        match out.last_mut() {
            Some(last) if last.0 == k => last.1 += n,
            _ => out.push((k, n)),
        }
    }
    out
}

/// The nodes `(time level, node)` that together are exactly the days `[from, to)`: at each day,
/// the longest aligned span that starts there and fits.
fn cover(from: i64, to: i64) -> Vec<(u32, u64)> {
    let mut out = Vec::new();
    let mut d = from;
    while d < to {
        let t = (0..TIME_LEVELS)
            .rev()
            .find(|&t| {
                let span = 1i64 << (3 * t);
                d % span == 0 && d + span <= to
            })
            .unwrap_or(0);
        out.push((t, (d as u64) >> (3 * t)));
        d += 1 << (3 * t);
    }
    out
}

/// Smallest block side worth splitting: a block of 16 × 16 cells that the box only partly
/// covers is read whole (256 codes at most) rather than split into more runs.
const MIN_BLOCK_LOG: u32 = 4;

/// The runs of Z-order codes at `level` (half-open, in order) of the aligned blocks that cover
/// `cells`: a block inside the box is one run, a block across its edge is split in four down to
/// 16 × 16.
fn block_runs(level: u32, cells: CellBox) -> Vec<(u64, u64)> {
    fn visit(bx: u32, by: u32, side_log: u32, cells: &CellBox, out: &mut Vec<(u64, u64)>) {
        let side = 1u64 << side_log;
        let (x, y) = (u64::from(bx), u64::from(by));
        if x >= u64::from(cells.x1)
            || y >= u64::from(cells.y1)
            || x + side <= u64::from(cells.x0)
            || y + side <= u64::from(cells.y0)
        {
            return;
        }
        let inside = x >= u64::from(cells.x0)
            && y >= u64::from(cells.y0)
            && x + side <= u64::from(cells.x1)
            && y + side <= u64::from(cells.y1);
        if inside || side_log <= MIN_BLOCK_LOG {
            let first = interleave(bx, by);
            match out.last_mut() {
                Some(last) if last.1 == first => last.1 = first + side * side,
                _ => out.push((first, first + side * side)),
            }
            return;
        }
        let half = 1u32 << (side_log - 1);
        // In Z-order (x first), so the runs come sorted.
        for (dx, dy) in [(0, 0), (half, 0), (0, half), (half, half)] {
            visit(bx + dx, by + dy, side_log - 1, cells, out);
        }
    }
    let mut out = Vec::new();
    visit(0, 0, level, &cells, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cover_is_exactly_its_days_in_few_nodes() {
        for (from, to) in [
            (0, 1),
            (0, 7),
            (8, 71),
            (3, 700),
            (20_400, 20_490),
            (5, 5),
            (511, 1_537),
        ] {
            let nodes = cover(from, to);
            let mut days = Vec::new();
            for &(t, node) in &nodes {
                let span = 1i64 << (3 * t);
                days.extend((node as i64 * span)..(node as i64 + 1) * span);
            }
            assert_eq!(days, (from..to).collect::<Vec<_>>(), "{from}..{to}");
            assert!(nodes.len() <= 2 * 7 * TIME_LEVELS as usize + (to - from) as usize / 512);
        }
        assert_eq!(cover(512, 1_024), vec![(3, 1)]);
    }

    #[test]
    fn a_z_order_code_splits_into_column_and_row() {
        for (x, y) in [
            (0, 0),
            (15, 3),
            (3, 15),
            (1 << 17, 5),
            ((1 << 18) - 1, (1 << 18) - 2),
        ] {
            assert_eq!(deinterleave(interleave(x, y)), (x, y));
        }
    }

    #[test]
    fn block_runs_cover_exactly_the_box_and_its_partial_blocks() {
        let level = 12;
        for cells in [
            CellBox {
                x0: 0,
                y0: 0,
                x1: 1,
                y1: 1,
            },
            CellBox {
                x0: 1_000,
                y0: 2_000,
                x1: 1_260,
                y1: 2_261,
            },
            CellBox {
                x0: 4_090,
                y0: 7,
                x1: 4_096,
                y1: 300,
            },
            CellBox {
                x0: 5,
                y0: 5,
                x1: 5,
                y1: 9,
            },
        ] {
            let runs = block_runs(level, cells);
            assert!(
                runs.windows(2).all(|w| w[0].1 < w[1].0),
                "{cells:?}: sorted, merged"
            );
            let held = |x: u32, y: u32| {
                let c = interleave(x, y);
                runs.iter().any(|&(lo, hi)| (lo..hi).contains(&c))
            };
            // Every cell of the box is in a run; a cell in a run is at most one 16-block out.
            for y in cells.y0.saturating_sub(40)..(cells.y1 + 40).min(1 << level) {
                for x in cells.x0.saturating_sub(40)..(cells.x1 + 40).min(1 << level) {
                    if cells.contains(x, y) {
                        assert!(held(x, y), "{cells:?} misses {x},{y}");
                    } else if held(x, y) {
                        let near = |v: u32, a: u32, b: u32| v + 16 > a && v < b + 16;
                        assert!(near(x, cells.x0, cells.x1) && near(y, cells.y0, cells.y1));
                    }
                }
            }
            assert!(runs.len() < 200, "{cells:?}: {} runs", runs.len());
        }
    }

    #[test]
    fn a_window_must_be_whole_city_days_and_unfiltered() {
        let off = 8 * 3_600_000;
        let mut g = CountGrid::new(off);
        g.add(0, 1_700_000_000_000, true);
        let midnight = crate::time::city_midnight(city_day(1_700_000_000_000, off), off);
        let f = |since: Option<i64>| ReportFilter {
            since,
            ..ReportFilter::default()
        };
        assert!(g.window(&f(Some(midnight))).is_some());
        assert!(g.window(&f(None)).is_some());
        assert!(g.window(&f(Some(midnight + 1))).is_none());
        let mut scoped = f(None);
        scoped.scope = Some("z:a".into());
        assert!(g.window(&scoped).is_none());
        let mut cat = f(None);
        cat.categories = vec![crate::report::Category::ALL[0]];
        assert!(g.window(&cat).is_none());
        // Every status, or exactly the unfinished ones (the office's default), or nothing.
        let statuses = |s: &[Status]| {
            let mut f = f(None);
            f.statuses = s.to_vec();
            g.window(&f).map(|w| w.0)
        };
        let open: Vec<Status> = Status::ALL.into_iter().filter(|s| unfinished(*s)).collect();
        assert_eq!(open.len(), 5);
        assert_eq!(statuses(&open), Some(UNFINISHED));
        assert_eq!(statuses(&[]), Some(ALL));
        assert_eq!(statuses(&open[1..]), None);
        assert_eq!(statuses(&[Status::Closed]), None);
        assert_eq!(statuses(&Status::ALL), Some(ALL));
    }
}
