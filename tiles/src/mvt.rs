//! A small MVT 2.1 protobuf encoder (`vector_tile.proto`, version 2).
//!
//! Each layer keeps its features' command integers and tag pairs in two flat
//! buffers so adding a feature allocates nothing once the buffers have grown.

use crate::value::Value;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;

/// FNV-1a: the value table is hashed for every property of every feature,
/// and SipHash's DoS resistance buys nothing for data we produce ourselves.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type FnvMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;

/// MVT geometry type of a feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeomType {
    /// `POINT` (1).
    Point = 1,
    /// `LINESTRING` (2).
    LineString = 2,
    /// `POLYGON` (3).
    Polygon = 3,
}

/// Command id: MoveTo.
pub const CMD_MOVE_TO: u32 = 1;
/// Command id: LineTo.
pub const CMD_LINE_TO: u32 = 2;
/// Command id: ClosePath.
pub const CMD_CLOSE_PATH: u32 = 7;

/// `CommandInteger = (id & 0x7) | (count << 3)`.
#[inline]
pub fn command(id: u32, count: u32) -> u32 {
    (id & 0x7) | (count << 3)
}

/// ZigZag-encodes a delta so small negative numbers stay small.
#[inline]
pub fn zigzag(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

#[derive(Debug, Clone)]
pub(crate) struct FeatureRec {
    pub(crate) id: Option<u64>,
    pub(crate) kind: GeomType,
    pub(crate) tags: Range<usize>,
    pub(crate) geometry: Range<usize>,
}

/// One layer's tables and features, ready to encode.
#[derive(Debug, Clone)]
pub(crate) struct LayerData {
    pub(crate) name: String,
    pub(crate) extent: u32,
    keys: Vec<String>,
    values: Vec<Value>,
    /// Value hash → indices into `values` with that hash.
    value_index: FnvMap<u64, Vec<u32>>,
    pub(crate) features: Vec<FeatureRec>,
    tags: Vec<u32>,
    pub(crate) geometry: Vec<u32>,
}

impl LayerData {
    pub(crate) fn new(name: &str, extent: u32) -> Self {
        Self {
            name: name.to_owned(),
            extent,
            keys: Vec::new(),
            values: Vec::new(),
            value_index: FnvMap::default(),
            features: Vec::new(),
            tags: Vec::new(),
            geometry: Vec::new(),
        }
    }

    /// Commits a feature whose commands were appended to `self.geometry`
    /// from `geometry_start`. Empty geometry is discarded.
    pub(crate) fn commit(
        &mut self,
        kind: GeomType,
        geometry_start: usize,
        props: &[(&str, Value)],
    ) -> bool {
        if self.geometry.len() == geometry_start {
            return false;
        }
        let tag_start = self.tags.len();
        for (k, v) in props {
            // Layers have a handful of keys: a scan beats hashing.
            let ki = match self.keys.iter().position(|x| x == k) {
                Some(i) => i as u32,
                None => {
                    self.keys.push((*k).to_owned());
                    (self.keys.len() - 1) as u32
                }
            };
            let h = hash_value(v);
            let slot = self.value_index.entry(h).or_default();
            let vi = match slot
                .iter()
                .find(|&&i| same_value(&self.values[i as usize], v))
            {
                Some(&i) => i,
                None => {
                    let i = self.values.len() as u32;
                    self.values.push(v.clone());
                    slot.push(i);
                    i
                }
            };
            self.tags.push(ki);
            self.tags.push(vi);
        }
        self.features.push(FeatureRec {
            id: None,
            kind,
            tags: tag_start..self.tags.len(),
            geometry: geometry_start..self.geometry.len(),
        });
        true
    }

    fn encode_into(&self, out: &mut Vec<u8>, scratch: &mut Vec<u8>) {
        // Layer fields in the order of vector_tile.proto.
        write_bytes(out, 1, self.name.as_bytes());
        for f in &self.features {
            let tags = &self.tags[f.tags.clone()];
            let geom = &self.geometry[f.geometry.clone()];
            let mut len = 0;
            if let Some(id) = f.id {
                len += 1 + varint_len(id);
            }
            if !tags.is_empty() {
                let l = packed_len(tags);
                len += 1 + varint_len(l as u64) + l;
            }
            len += 2;
            let l = packed_len(geom);
            len += 1 + varint_len(l as u64) + l;

            write_key(out, 2, 2);
            write_varint(out, len as u64);
            if let Some(id) = f.id {
                write_key(out, 1, 0);
                write_varint(out, id);
            }
            if !tags.is_empty() {
                write_packed(out, 2, tags);
            }
            write_key(out, 3, 0);
            write_varint(out, f.kind as u64);
            write_packed(out, 4, geom);
        }
        for k in &self.keys {
            write_bytes(out, 3, k.as_bytes());
        }
        for v in &self.values {
            scratch.clear();
            match v {
                Value::String(s) => write_bytes(scratch, 1, s.as_bytes()),
                Value::Float(f) => {
                    write_key(scratch, 3, 1);
                    scratch.extend_from_slice(&f.to_le_bytes());
                }
                Value::Int(i) if *i >= 0 => {
                    write_key(scratch, 5, 0);
                    write_varint(scratch, *i as u64);
                }
                Value::Int(i) => {
                    write_key(scratch, 6, 0);
                    write_varint(scratch, ((*i << 1) ^ (*i >> 63)) as u64);
                }
                Value::Bool(b) => {
                    write_key(scratch, 7, 0);
                    write_varint(scratch, u64::from(*b));
                }
            }
            write_bytes(out, 4, scratch);
        }
        write_key(out, 5, 0);
        write_varint(out, u64::from(self.extent));
        write_key(out, 15, 0);
        write_varint(out, 2);
    }
}

/// Encodes the non-empty layers as a `Tile` message; no features → empty.
pub(crate) fn encode_tile(layers: &[LayerData]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut layer_buf = Vec::new();
    let mut scratch = Vec::new();
    for layer in layers.iter().filter(|l| !l.features.is_empty()) {
        layer_buf.clear();
        layer.encode_into(&mut layer_buf, &mut scratch);
        write_bytes(&mut out, 3, &layer_buf);
    }
    out
}

fn hash_value(v: &Value) -> u64 {
    let mut h = Fnv::default();
    match v {
        Value::String(s) => {
            h.write(&[1]);
            h.write(s.as_bytes());
        }
        Value::Int(i) => {
            h.write(&[2]);
            h.write(&i.to_le_bytes());
        }
        Value::Float(f) => {
            h.write(&[3]);
            h.write(&f.to_bits().to_le_bytes());
        }
        Value::Bool(b) => h.write(&[4, u8::from(*b)]),
    }
    h.finish()
}

/// Equality for de-duplication: floats by bit pattern (so NaN dedups, and 0.0 ≠ -0.0).
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        _ => a == b,
    }
}

#[inline]
fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[inline]
fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

#[inline]
fn write_key(out: &mut Vec<u8>, field: u32, wire: u32) {
    write_varint(out, u64::from((field << 3) | wire));
}

fn write_bytes(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    write_key(out, field, 2);
    write_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn packed_len(vals: &[u32]) -> usize {
    vals.iter().map(|&v| varint_len(u64::from(v))).sum()
}

fn write_packed(out: &mut Vec<u8>, field: u32, vals: &[u32]) {
    write_key(out, field, 2);
    write_varint(out, packed_len(vals) as u64);
    for &v in vals {
        write_varint(out, u64::from(v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_zigzag() {
        for v in [
            0u64,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut b = Vec::new();
            write_varint(&mut b, v);
            assert_eq!(b.len(), varint_len(v), "{v}");
        }
        let mut b = Vec::new();
        write_varint(&mut b, 300);
        assert_eq!(b, [0xac, 0x02]);
        assert_eq!((zigzag(0), zigzag(-1), zigzag(1), zigzag(-2)), (0, 1, 2, 3));
        // The MVT spec's example: MoveTo(1) at (25, 17) is [9, 50, 34].
        assert_eq!(
            [command(CMD_MOVE_TO, 1), zigzag(25), zigzag(17)],
            [9, 50, 34]
        );
        assert_eq!(command(CMD_CLOSE_PATH, 1), 15);
    }

    #[test]
    fn tables_are_deduplicated_and_empty_tiles_are_empty() {
        let mut l = LayerData::new("zones", 4096);
        assert!(encode_tile(std::slice::from_ref(&l)).is_empty());
        for name in ["a", "b", "a"] {
            let start = l.geometry.len();
            l.geometry.extend([9, 0, 0]);
            assert!(l.commit(
                GeomType::Point,
                start,
                &[("name", Value::from(name)), ("n", Value::Int(1))]
            ));
        }
        assert_eq!(l.keys, ["name", "n"]);
        assert_eq!(l.values.len(), 3);
        assert!(!l.commit(GeomType::Point, l.geometry.len(), &[]));
        assert!(!encode_tile(&[l]).is_empty());
    }
}
