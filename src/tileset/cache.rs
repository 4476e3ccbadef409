//! Encoded tiles in a bounded in-memory cache (moka), with a strong ETag and a gzip copy.
//!
//! Never stale: a change names the boxes it touched, and every cached tile (any zoom, any report
//! filter) whose buffered bounds meet one of them is dropped. A tile rendered while a change was
//! being applied is served but not cached (the epoch check), so an old render cannot land after
//! the invalidation.

use super::query_bbox;
use crate::crs::Bbox;
use axum::body::Bytes;
use moka::sync::Cache;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use xuncha_tiles::TileCoord;

/// A cache key: the tile and the canonical report filter of its URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TileKey {
    pub z: u8,
    pub x: u32,
    pub y: u32,
    pub filter: Arc<str>,
}

/// An encoded tile ready to send.
#[derive(Debug)]
pub struct CachedTile {
    pub body: Bytes,
    pub gzip: Bytes,
    /// Strong validator: a hash of the uncompressed body, quoted.
    pub etag: String,
    /// The box whose changes change this tile when it is wider than the tile's buffered bounds
    /// (a heatmap tile reads reports one kernel radius around itself).
    pub reach: Option<Bbox>,
}

fn etag_of(body: &[u8]) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut h);
    format!("\"{:016x}-{:x}\"", h.finish(), body.len())
}

impl CachedTile {
    /// A vector tile, with its gzip copy.
    pub fn new(body: Vec<u8>) -> Self {
        let etag = etag_of(&body);
        let mut gz = flate2::write::GzEncoder::new(
            Vec::with_capacity(body.len() / 2),
            flate2::Compression::fast(),
        );
        let gzip = gz
            .write_all(&body)
            .and_then(|_| gz.finish())
            .unwrap_or_default();
        CachedTile {
            body: Bytes::from(body),
            gzip: Bytes::from(gzip),
            etag,
            reach: None,
        }
    }

    /// An image tile (already compressed: no gzip copy) that changes with whatever lands in
    /// `reach`.
    pub fn image(body: Vec<u8>, reach: Bbox) -> Self {
        CachedTile {
            etag: etag_of(&body),
            body: Bytes::from(body),
            gzip: Bytes::new(),
            reach: Some(reach),
        }
    }
}

pub struct TileCache {
    cache: Cache<TileKey, Arc<CachedTile>>,
    epoch: AtomicU64,
}

impl TileCache {
    /// A cache holding about `max_bytes` of encoded tiles.
    pub fn new(max_bytes: u64) -> Self {
        TileCache {
            cache: Cache::builder()
                .weigher(|_k: &TileKey, v: &Arc<CachedTile>| {
                    (v.body.len() + v.gzip.len() + 64).min(u32::MAX as usize) as u32
                })
                .max_capacity(max_bytes)
                .build(),
            epoch: AtomicU64::new(0),
        }
    }

    pub fn get(&self, key: &TileKey) -> Option<Arc<CachedTile>> {
        self.cache.get(key)
    }

    /// The current epoch, to pass to [`TileCache::insert`] after rendering.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Caches a tile unless something changed since `epoch` was read.
    pub fn insert(&self, key: TileKey, tile: Arc<CachedTile>, epoch: u64) {
        if self.epoch.load(Ordering::Acquire) == epoch {
            self.cache.insert(key, tile);
        }
    }

    /// Drops every cached tile whose buffered bounds (or [`CachedTile::reach`]) meet one of
    /// `boxes`.
    pub fn invalidate(&self, boxes: &[Bbox]) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        let hit = |k: &TileKey, v: &CachedTile| {
            let t = match v.reach {
                Some(r) => r,
                None => match TileCoord::new(k.z, k.x, k.y) {
                    Ok(c) => query_bbox(c),
                    Err(_) => return true,
                },
            };
            boxes.iter().any(|b| b.intersects(&t))
        };
        let doomed: Vec<TileKey> = self
            .cache
            .iter()
            .filter(|(k, v)| hit(k, v))
            .map(|(k, _)| (*k).clone())
            .collect();
        for k in doomed {
            self.cache.invalidate(&k);
        }
    }

    pub fn entry_count(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.entry_count()
    }
}
