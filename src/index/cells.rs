//! Point location over a base's zones: a linear quadtree of cells, each listing the zones that
//! reach into it, and which of them cover the whole cell.
//!
//! The extent is split into quadrants until a cell has at most [`LEAF_BOUNDARY_MAX`] zones whose
//! boundary may pass through it (or splitting stops helping). The leaves are stored in Z-order
//! (Morton codes, no pointers), with a radix table on the top bits of the code, so a point finds
//! its leaf with one table read and a short binary search. A zone that covers the whole cell is
//! flagged and matches without any further test; a zone that does not reach the cell at all is
//! not listed. This is what lets most points skip the per-zone tests entirely (the idea of
//! S2's shape index, on a plain quadtree of degrees).
//!
//! Every classification is made for the cell widened by a margin far larger than the rounding
//! of the cell arithmetic, so a point is always answered for a cell that really contains it.

use super::prepared::RectClass;

/// Leaves split while more zones than this may have their boundary in them.
pub(crate) const LEAF_BOUNDARY_MAX: usize = 4;
/// Bits per axis of the finest cells (65 536 × 65 536 over the extent: about 100 m over all
/// of China, 15 m over a province, centimetres over a city).
const BITS: u32 = 16;
const CELLS: u64 = 1 << BITS;
/// A leaf's payload with this bit holds its only zone inline; otherwise it is an offset into
/// `lists` (count first), or `EMPTY`.
const INLINE: u32 = 1 << 31;
const EMPTY: u32 = u32::MAX;

#[derive(Debug, Default)]
pub(crate) struct CellIndex {
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
    /// Finest cells per degree.
    sx: f64,
    sy: f64,
    radix_shift: u32,
    /// `radix[r]`: the leaf holding code `r << radix_shift`.
    radix: Vec<u32>,
    /// Per leaf, ascending: the Morton code of its first finest cell (the leaves tile the
    /// extent) and its payload: no zone, one zone inline, or an offset into `lists`.
    leaves: Vec<(u32, u32)>,
    /// Zone lists of leaves with several: a count, then `entry << 1 | covers_whole_cell` each.
    lists: Vec<u32>,
}

/// Spreads the low 32 bits of `v` to the even bits.
#[inline]
fn spread(v: u64) -> u64 {
    let mut x = v & 0xFFFF_FFFF;
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    x = (x | (x << 1)) & 0x5555_5555_5555_5555;
    x
}

#[inline]
fn morton(qx: u64, qy: u64) -> u32 {
    (spread(qx) | (spread(qy) << 1)) as u32
}

struct Builder<'a, F> {
    index: CellIndex,
    classify: &'a F,
}

impl CellIndex {
    /// Indexes `n` entries with envelopes `envelopes[i]` inside `extent`; `classify(i, rect)`
    /// tells how entry `i` lies relative to a rectangle (conservatively).
    pub(crate) fn new<F>(extent: [f64; 4], envelopes: &[[f64; 4]], classify: &F) -> Self
    where
        F: Fn(u32, [f64; 4]) -> RectClass,
    {
        // A little wider than the extent, so that no envelope touches its far edges exactly.
        let (w, h) = (
            (extent[2] - extent[0]).max(1e-9),
            (extent[3] - extent[1]).max(1e-9),
        );
        let (x0, y0) = (extent[0] - w * 1e-6, extent[1] - h * 1e-6);
        let (x1, y1) = (extent[2] + w * 1e-6, extent[3] + h * 1e-6);
        let mut b = Builder {
            index: CellIndex {
                x0,
                y0,
                x1,
                y1,
                sx: CELLS as f64 / (x1 - x0),
                sy: CELLS as f64 / (y1 - y0),
                ..Default::default()
            },
            classify,
        };
        let all: Vec<u32> = (0..envelopes.len() as u32).map(|i| i << 1).collect();
        b.split(0, 0, 0, all, 0);
        let mut index = b.index;
        // Radix table over the top bits: about one slot per leaf, at most 2^16.
        let leaves = index.leaves.len().max(1);
        let bits = (usize::BITS - leaves.leading_zeros()).clamp(2, 18);
        index.radix_shift = 2 * BITS - bits;
        let slots = 1u64 << bits;
        let mut radix = Vec::with_capacity(slots as usize + 1);
        let mut k = 0usize;
        for r in 0..=slots {
            let code = (r << index.radix_shift).min((CELLS * CELLS) - 1) as u32;
            while k + 1 < index.leaves.len() && index.leaves[k + 1].0 <= code {
                k += 1;
            }
            radix.push(k as u32);
        }
        index.radix = radix;
        index.leaves.shrink_to_fit();
        index.lists.shrink_to_fit();
        index
    }

    /// Calls `f(entry, covers_whole_cell)` for every zone listed in the leaf holding `[x, y]`.
    #[inline]
    pub(crate) fn at_point(&self, x: f64, y: f64, mut f: impl FnMut(u32, bool)) {
        if !(x >= self.x0 && x <= self.x1 && y >= self.y0 && y <= self.y1) {
            return;
        }
        let qx = (((x - self.x0) * self.sx) as u64).min(CELLS - 1);
        let qy = (((y - self.y0) * self.sy) as u64).min(CELLS - 1);
        let code = morton(qx, qy);
        let r = (code >> self.radix_shift) as usize;
        let (lo, hi) = (self.radix[r] as usize, self.radix[r + 1] as usize);
        let leaf = lo + self.leaves[lo..=hi].partition_point(|&(s, _)| s <= code) - 1;
        let payload = self.leaves[leaf].1;
        if payload == EMPTY {
        } else if payload & INLINE != 0 {
            let c = payload & !INLINE;
            f(c >> 1, c & 1 == 1);
        } else {
            let at = payload as usize;
            let n = self.lists[at] as usize;
            for &c in &self.lists[at + 1..at + 1 + n] {
                f(c >> 1, c & 1 == 1);
            }
        }
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.radix.capacity() * 4 + self.leaves.capacity() * 8 + self.lists.capacity() * 4
    }

    #[cfg(test)]
    pub(crate) fn leaf_count(&self) -> usize {
        self.leaves.len()
    }
}

impl<F: Fn(u32, [f64; 4]) -> RectClass> Builder<'_, F> {
    /// The cell with corner `(qx, qy)` and side `size` finest cells, widened by a margin.
    fn rect(&self, qx: u64, qy: u64, size: u64) -> [f64; 4] {
        let ix = &self.index;
        let (w, h) = (size as f64 / ix.sx, size as f64 / ix.sy);
        let (mx, my) = (w / 1024.0 + 1e-11, h / 1024.0 + 1e-11);
        let x = ix.x0 + qx as f64 / ix.sx;
        let y = ix.y0 + qy as f64 / ix.sy;
        [x - mx, y - my, x + w + mx, y + h + my]
    }

    /// Splits the cell at level `level` with corner `(qx, qy)` listing `refs`, or makes it a leaf.
    /// `stalled` counts the levels above in a row where splitting separated nothing (every
    /// child kept every boundary zone, as along an edge shared by several zones).
    fn split(&mut self, level: u32, qx: u64, qy: u64, refs: Vec<u32>, stalled: u32) {
        let boundary = refs.iter().filter(|&&c| c & 1 == 0).count();
        if boundary <= LEAF_BOUNDARY_MAX || level == BITS || stalled >= 2 {
            let ix = &mut self.index;
            let payload = match refs[..] {
                [] => EMPTY,
                [c] => c | INLINE,
                _ => {
                    let at = ix.lists.len() as u32;
                    ix.lists.push(refs.len() as u32);
                    ix.lists.extend_from_slice(&refs);
                    at
                }
            };
            ix.leaves.push((morton(qx, qy), payload));
            return;
        }
        let half = 1u64 << (BITS - level - 1);
        let children: Vec<(u64, u64, Vec<u32>)> = [(0, 0), (1, 0), (0, 1), (1, 1)]
            .into_iter()
            .map(|(dx, dy)| {
                let (cx, cy) = (qx + dx * half, qy + dy * half);
                let r = self.rect(cx, cy, half);
                let child: Vec<u32> = refs
                    .iter()
                    .filter_map(|&c| {
                        if c & 1 == 1 {
                            return Some(c);
                        }
                        match (self.classify)(c >> 1, r) {
                            RectClass::Disjoint => None,
                            RectClass::Boundary => Some(c),
                            RectClass::Inside => Some(c | 1),
                        }
                    })
                    .collect();
                (cx, cy, child)
            })
            .collect();
        drop(refs);
        let separated = children
            .iter()
            .any(|(_, _, c)| c.iter().filter(|&&r| r & 1 == 0).count() < boundary);
        let stalled = if separated { 0 } else { stalled + 1 };
        for (cx, cy, child) in children {
            self.split(level + 1, cx, cy, child, stalled);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn morton_interleaves_x_in_even_bits() {
        assert_eq!(morton(1, 0), 1);
        assert_eq!(morton(0, 1), 2);
        assert_eq!(morton(3, 3), 15);
        assert_eq!(u64::from(morton(CELLS - 1, CELLS - 1)), CELLS * CELLS - 1);
    }

    #[test]
    fn boxes_as_zones() {
        // Zones that are their own envelopes: a point must be listed by every box containing it,
        // flagged when the leaf lies inside that box.
        let mut s = 11u64;
        let mut r = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let boxes: Vec<[f64; 4]> = (0..400)
            .map(|_| {
                let (x, y) = (r() * 10.0, r() * 10.0);
                [x, y, x + r() * 2.0, y + r() * 1.0]
            })
            .collect();
        let classify = |i: u32, q: [f64; 4]| {
            let b = boxes[i as usize];
            if q[2] < b[0] || q[0] > b[2] || q[3] < b[1] || q[1] > b[3] {
                RectClass::Disjoint
            } else if q[0] > b[0] && q[2] < b[2] && q[1] > b[1] && q[3] < b[3] {
                RectClass::Inside
            } else {
                RectClass::Boundary
            }
        };
        let ext = [0.0, 0.0, 12.0, 11.0];
        let ix = CellIndex::new(ext, &boxes, &classify);
        assert!(ix.leaf_count() > 50, "{}", ix.leaf_count());
        for _ in 0..5000 {
            let (x, y) = (r() * 12.5 - 0.2, r() * 11.5 - 0.2);
            let mut listed: Vec<(u32, bool)> = Vec::new();
            ix.at_point(x, y, |i, inside| listed.push((i, inside)));
            for (i, b) in boxes.iter().enumerate() {
                let contains = b[0] <= x && x <= b[2] && b[1] <= y && y <= b[3];
                let l = listed.iter().find(|(k, _)| *k == i as u32);
                if contains {
                    assert!(l.is_some(), "box {i} not listed at {x},{y}");
                }
                if let Some((_, true)) = l {
                    assert!(b[0] < x && x < b[2] && b[1] < y && y < b[3]);
                }
            }
        }
    }
}
