//! A static, flat R-tree of boxes (packed along the Hilbert curve, like flatbush).
//!
//! Built once from `[min_x, min_y, max_x, max_y]` boxes in O(n log n); queried by point or box.
//! Each node holds the boxes of its 16 children side by side (structure of arrays, `f32` rounded
//! outward, so a node is four cache lines and the comparisons vectorise), and the children of
//! node `k` are nodes `16k .. 16k + 16` of the level below: no pointers to chase. Being `f32`,
//! a box may be up to one `f32` step (≈ 1.5 m at 130°E) larger than the original; callers test
//! candidates exactly.

/// Children per node.
const B: usize = 16;

#[derive(Debug, Clone)]
struct Node {
    min_x: [f32; B],
    min_y: [f32; B],
    max_x: [f32; B],
    max_y: [f32; B],
}

impl Node {
    const EMPTY: Node = Node {
        min_x: [f32::INFINITY; B],
        min_y: [f32::INFINITY; B],
        max_x: [f32::NEG_INFINITY; B],
        max_y: [f32::NEG_INFINITY; B],
    };

    fn set(&mut self, i: usize, b: [f32; 4]) {
        self.min_x[i] = b[0];
        self.min_y[i] = b[1];
        self.max_x[i] = b[2];
        self.max_y[i] = b[3];
    }

    fn bounds(&self) -> [f32; 4] {
        let mut b = [
            f32::INFINITY,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NEG_INFINITY,
        ];
        for i in 0..B {
            b[0] = b[0].min(self.min_x[i]);
            b[1] = b[1].min(self.min_y[i]);
            b[2] = b[2].max(self.max_x[i]);
            b[3] = b[3].max(self.max_y[i]);
        }
        b
    }

    /// Bit `i` set when child `i`'s box contains `(x, y)` (boundary included).
    #[inline]
    fn contains_mask(&self, x: f32, y: f32) -> u32 {
        let mut m = 0u32;
        for i in 0..B {
            let hit = (self.min_x[i] <= x)
                & (x <= self.max_x[i])
                & (self.min_y[i] <= y)
                & (y <= self.max_y[i]);
            m |= u32::from(hit) << i;
        }
        m
    }

    /// Bit `i` set when child `i`'s box intersects `q` (boundary included).
    #[inline]
    fn intersects_mask(&self, q: [f32; 4]) -> u32 {
        let mut m = 0u32;
        for i in 0..B {
            let hit = (self.min_x[i] <= q[2])
                & (q[0] <= self.max_x[i])
                & (self.min_y[i] <= q[3])
                & (q[1] <= self.max_y[i]);
            m |= u32::from(hit) << i;
        }
        m
    }
}

/// The next `f32` towards +∞ (`f32::next_up`, which needs Rust 1.86).
fn f32_up(f: f32) -> f32 {
    if f.is_nan() || f == f32::INFINITY {
        f
    } else if f == 0.0 {
        f32::from_bits(1)
    } else if f > 0.0 {
        f32::from_bits(f.to_bits() + 1)
    } else {
        f32::from_bits(f.to_bits() - 1)
    }
}

fn f32_down(f: f32) -> f32 {
    -f32_up(-f)
}

/// `f32` box that certainly contains the `f64` box.
fn outward(b: [f64; 4]) -> [f32; 4] {
    let down = |v: f64| {
        let f = v as f32;
        if f64::from(f) > v {
            f32_down(f)
        } else {
            f
        }
    };
    let up = |v: f64| {
        let f = v as f32;
        if f64::from(f) < v {
            f32_up(f)
        } else {
            f
        }
    };
    [down(b[0]), down(b[1]), up(b[2]), up(b[3])]
}

/// Rounding to nearest is monotone, so a point inside an `f64` box stays inside its outward
/// `f32` box after this conversion.
#[inline]
fn point32(x: f64, y: f64) -> (f32, f32) {
    (x as f32, y as f32)
}

/// A flat R-tree over items `0..n` (the positions of the boxes it was built from).
#[derive(Debug, Clone, Default)]
pub struct PackedTree {
    /// `levels[0]` are the leaves (children are items), the last level is the root.
    levels: Vec<Vec<Node>>,
    /// Item ids in leaf order; `items[16k + i]` is child `i` of leaf `k`.
    items: Vec<u32>,
    len: usize,
}

impl PackedTree {
    /// Packs `(id, box)` pairs (boxes `[min_x, min_y, max_x, max_y]`).
    pub fn new(boxes: impl IntoIterator<Item = (u32, [f64; 4])>) -> Self {
        let v: Vec<(u32, [f32; 4])> = boxes.into_iter().map(|(i, b)| (i, outward(b))).collect();
        let len = v.len();
        if len == 0 {
            return PackedTree::default();
        }
        let keys = hilbert_keys(v.iter().map(|(_, b)| *b));
        let mut order: Vec<usize> = (0..len).collect();
        order.sort_unstable_by_key(|&k| (keys[k], v[k].0));
        let v: Vec<(u32, [f32; 4])> = order.into_iter().map(|k| v[k]).collect();
        let mut items = Vec::with_capacity(len.div_ceil(B) * B);
        let mut leaves = Vec::with_capacity(len.div_ceil(B));
        for chunk in v.chunks(B) {
            let mut n = Node::EMPTY;
            for (i, (id, b)) in chunk.iter().enumerate() {
                n.set(i, *b);
                items.push(*id);
            }
            items.resize(leaves.len() * B + B, u32::MAX);
            leaves.push(n);
        }
        let mut levels = vec![leaves];
        while levels.last().map_or(0, Vec::len) > 1 {
            let below = levels.last().map(Vec::as_slice).unwrap_or(&[]);
            let up: Vec<Node> = below
                .chunks(B)
                .map(|chunk| {
                    let mut n = Node::EMPTY;
                    for (i, c) in chunk.iter().enumerate() {
                        n.set(i, c.bounds());
                    }
                    n
                })
                .collect();
            levels.push(up);
        }
        PackedTree { levels, items, len }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Calls `f` with every item whose box may contain `[x, y]` (a superset: boxes are `f32`).
    #[inline]
    pub fn at_point(&self, x: f64, y: f64, mut f: impl FnMut(u32)) {
        if self.len == 0 {
            return;
        }
        let (x, y) = point32(x, y);
        let top = self.levels.len() - 1;
        self.visit(top, 0, &mut |n: &Node| n.contains_mask(x, y), &mut f);
    }

    /// Calls `f` with every item whose box may intersect `q` (a superset: boxes are `f32`).
    pub fn in_box(&self, q: [f64; 4], mut f: impl FnMut(u32)) {
        if self.len == 0 {
            return;
        }
        let q = outward(q);
        let top = self.levels.len() - 1;
        self.visit(top, 0, &mut |n: &Node| n.intersects_mask(q), &mut f);
    }

    #[inline]
    fn visit(
        &self,
        level: usize,
        node: usize,
        test: &mut impl FnMut(&Node) -> u32,
        f: &mut impl FnMut(u32),
    ) {
        let mut m = test(&self.levels[level][node]);
        while m != 0 {
            let i = m.trailing_zeros() as usize;
            m &= m - 1;
            let child = node * B + i;
            if level == 0 {
                f(self.items[child]);
            } else {
                self.visit(level - 1, child, test, f);
            }
        }
    }

    /// Bytes held (nodes and item ids).
    pub fn heap_bytes(&self) -> usize {
        self.levels
            .iter()
            .map(|l| l.capacity() * std::mem::size_of::<Node>())
            .sum::<usize>()
            + self.items.capacity() * 4
    }
}

/// The order in which [`PackedTree::new`] lays out these boxes (ties by position): indexing
/// entries in this order makes item `i` sit next to its tree neighbours in memory.
pub fn hilbert_order(boxes: &[[f64; 4]]) -> Vec<u32> {
    let keys = hilbert_keys(boxes.iter().map(|b| outward(*b)));
    let mut order: Vec<u32> = (0..boxes.len() as u32).collect();
    order.sort_unstable_by_key(|&k| (keys[k as usize], k));
    order
}

/// Hilbert keys of the boxes' centres over their common extent.
fn hilbert_keys(boxes: impl Iterator<Item = [f32; 4]> + Clone) -> Vec<u64> {
    let mut ext = [
        f32::INFINITY,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NEG_INFINITY,
    ];
    for b in boxes.clone() {
        ext[0] = ext[0].min(b[0]);
        ext[1] = ext[1].min(b[1]);
        ext[2] = ext[2].max(b[2]);
        ext[3] = ext[3].max(b[3]);
    }
    let (w, h) = (
        f64::from(ext[2] - ext[0]).max(f64::MIN_POSITIVE),
        f64::from(ext[3] - ext[1]).max(f64::MIN_POSITIVE),
    );
    let max = f64::from(u16::MAX);
    boxes
        .map(|b| {
            let cx = (f64::from(b[0]) + f64::from(b[2])) / 2.0 - f64::from(ext[0]);
            let cy = (f64::from(b[1]) + f64::from(b[3])) / 2.0 - f64::from(ext[1]);
            hilbert(
                (cx / w * max).clamp(0.0, max) as u32,
                (cy / h * max).clamp(0.0, max) as u32,
            )
        })
        .collect()
}

/// Position of `(x, y)` (16 bits each) along the Hilbert curve.
fn hilbert(x: u32, y: u32) -> u64 {
    let (mut x, mut y) = (x, y);
    let mut d: u64 = 0;
    let mut s: u32 = 1 << 15;
    while s > 0 {
        let rx = u32::from(x & s > 0);
        let ry = u32::from(y & s > 0);
        d += u64::from(s) * u64::from(s) * u64::from((3 * rx) ^ ry);
        if ry == 0 {
            if rx == 1 {
                x = 0xFFFF - x;
                y = 0xFFFF - y;
            }
            std::mem::swap(&mut x, &mut y);
        }
        s >>= 1;
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxes(n: usize) -> Vec<(u32, [f64; 4])> {
        let mut s = 7u64;
        let mut r = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        (0..n as u32)
            .map(|i| {
                let (x, y) = (120.0 + r() * 10.0, 40.0 + r() * 5.0);
                let (w, h) = (r() * 0.3, r() * 0.2);
                (i, [x, y, x + w, y + h])
            })
            .collect()
    }

    #[test]
    fn finds_exactly_what_a_scan_finds() {
        for n in [0, 1, 15, 16, 17, 255, 256, 257, 3000] {
            let b = boxes(n);
            let t = PackedTree::new(b.clone());
            assert_eq!(t.len(), n);
            let mut s = 99u64;
            for _ in 0..300 {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let x = 119.5 + (s >> 40) as f64 / (1u64 << 24) as f64 * 11.0;
                let y = 39.5 + ((s >> 16) & 0xFFFFFF) as f64 / (1u64 << 24) as f64 * 6.0;
                let mut got = Vec::new();
                t.at_point(x, y, |i| got.push(i));
                let want: Vec<u32> = b
                    .iter()
                    .filter(|(_, q)| q[0] <= x && x <= q[2] && q[1] <= y && y <= q[3])
                    .map(|(i, _)| *i)
                    .collect();
                // Every true hit is found; extra ones are within one f32 step of their box.
                for w in &want {
                    assert!(got.contains(w), "n={n} missed {w} at {x},{y}");
                }
                for g in &got {
                    let q = b[*g as usize].1;
                    let e = 2e-5;
                    assert!(q[0] - e <= x && x <= q[2] + e && q[1] - e <= y && y <= q[3] + e);
                }
                let qb = [x, y, x + 0.5, y + 0.3];
                let mut got = Vec::new();
                t.in_box(qb, |i| got.push(i));
                for (i, q) in &b {
                    if q[0] <= qb[2] && qb[0] <= q[2] && q[1] <= qb[3] && qb[1] <= q[3] {
                        assert!(got.contains(i));
                    }
                }
            }
        }
    }

    #[test]
    fn boxes_on_exact_coordinates_are_found() {
        // A degenerate (point) box and a box whose edge is not representable in f32.
        let t = PackedTree::new([
            (0, [126.42, 41.94, 126.42, 41.94]),
            (1, [0.1, 0.1, 0.3, 0.3]),
        ]);
        let mut got = Vec::new();
        t.at_point(126.42, 41.94, |i| got.push(i));
        t.at_point(0.3, 0.1, |i| got.push(i));
        assert_eq!(got, [0, 1]);
    }
}
