//! Server settings. Every field's doc states its default.

use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Config {
    /// Data folder holding the database and photos. Default `./data`.
    pub data_dir: PathBuf,
    /// Built web client served at `/`. Default `web/dist`.
    pub web_dir: PathBuf,
    /// Most vertices accepted in one zone geometry. Default 100 000.
    pub max_vertices: usize,
    /// Largest request body for zone uploads, bytes. Default 64 MiB.
    pub max_zone_body: usize,
    /// Demo data folder; its districts, river and roads form the `basemap` tile layer when it
    /// exists. Default `geodata/baishan`.
    pub geodata_dir: PathBuf,
    /// Memory for cached encoded tiles, bytes. Default 256 MiB.
    pub tile_cache_bytes: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("data"),
            web_dir: PathBuf::from("web/dist"),
            max_vertices: crate::zone::DEFAULT_MAX_VERTICES,
            max_zone_body: 64 << 20,
            geodata_dir: PathBuf::from("geodata/baishan"),
            tile_cache_bytes: 256 << 20,
        }
    }
}
