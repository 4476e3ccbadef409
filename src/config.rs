//! Server settings. Every field's doc states its default.

use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Config {
    /// Data folder holding the SQLite database (unless `database` is set) and photos.
    /// Default `./data`.
    pub data_dir: PathBuf,
    /// PostgreSQL URL (`postgres://user:password@host:port/db`) of a database shared by several
    /// servers; `None` (the default) keeps everything in SQLite in `data_dir`.
    pub database: Option<String>,
    /// Photos in S3-compatible object storage (`s3://bucket/prefix`; endpoint and credentials
    /// from the `AWS_*` variables); `None` keeps them under `data_dir/photos`.
    pub photos: Option<String>,
    /// First retry of a failed webhook delivery after this long, doubling each time (up to an
    /// hour, for a day). Default 5 000 ms.
    pub webhook_retry_base_ms: i64,
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
    /// Largest photo accepted, bytes. Default 20 MiB.
    pub max_photo_bytes: usize,
    /// Largest photo accepted, pixels (read from the header before decoding). Default 80 000 000.
    pub max_photo_pixels: u64,
    /// Most photos in one report or status change. Default 6.
    pub max_photos: usize,
    /// Metres between a photo's EXIF position and the pin above which the phone asks which is
    /// right. Default 100.
    pub exif_warn_m: f64,
    /// Slivers between neighbouring zones of the same kind narrower than this are reported as
    /// gaps when a zone is drawn, metres. Default 1.
    pub gap_width_m: f64,
    /// How close to an existing zone's vertex or edge the planner's cursor snaps onto it, screen
    /// pixels (the client's default; 0 turns snapping off). Default 10.
    pub snap_px: f64,
    /// Long side of the normalized JPEG served for a photo, pixels. Default 2048.
    pub photo_long_side: u32,
    /// Long side of a photo's thumbnail, pixels. Default 320.
    pub thumb_long_side: u32,
    /// Offset assumed for EXIF capture times that carry none, seconds east of UTC.
    /// Default 28 800 (UTC+8, China Standard Time).
    pub exif_utc_offset_s: i32,
    /// Radius within which an open report of the same category counts as a possible duplicate,
    /// metres. Default 50.
    pub duplicate_radius_m: f64,
    /// How far back possible duplicates are looked for, days. Default 7.
    pub duplicate_days: u32,
    /// Hotspot detection: DBSCAN neighbourhood radius, metres. Default 30.
    pub hotspot_eps_m: f64,
    /// Hotspot detection: reports within `hotspot_eps_m` (itself included) that make a dense
    /// place. Default 10.
    pub hotspot_min_points: usize,
    /// Margin drawn around a detected cluster's hull, metres. Default 10.
    pub hotspot_buffer_m: f64,
    /// Heatmap kernel radius on the ground, metres. Default 60.
    pub heatmap_radius_m: f64,
    /// Heatmap density (reports per hectare) at 63 % of the colour ramp. Default 20.
    pub heatmap_scale_per_ha: f64,
    /// Whether the zone collections of `/ogc` may be read without signing in (三包 zones are
    /// public information, posted on signs). Reports never are. Default false. (A command-line
    /// flag for now; it is meant to become an admin setting stored with the data.)
    pub public_zones: bool,
    /// Whether the public map (随手拍: zones with owners and contacts, open reports without
    /// names, thumbnails) answers anyone at `/api/public/…` and `/public`. Default false.
    pub public_map: bool,
    /// Requests a minute each client address may make to the public map (as a burst too).
    /// Default 600.
    pub public_map_per_minute: u32,
    /// Most reports a vector tile at or above the points zoom carries as single points; a tile
    /// holding more (a dense city centre at z14) carries count bins instead, as below that zoom.
    /// Default 5 000 (about 250 KB of points).
    pub tile_max_points: usize,
    /// The city's offset from UTC, seconds east, for datetimes shown to Open311 clients.
    /// Default 28 800 (+08:00, China Standard Time).
    pub city_utc_offset_s: i32,
    /// The Open311 `jurisdiction_id` this server answers for; when set, a request naming another
    /// one is refused. Default none (any or no `jurisdiction_id` is accepted).
    pub open311_jurisdiction_id: Option<String>,
    /// The server's public origin as browsers see it, like `https://xuncha.example.cn`
    /// (scheme, host and port; see [`normalize_public_url`]). Requests that change something
    /// with the session cookie must come from it; TileJSON and style URLs are built from it;
    /// `https` turns on HSTS. Default none: `http://` and the request's `Host`.
    pub public_url: Option<String>,
    /// Believe `X-Forwarded-For`, `X-Forwarded-Proto` and `X-Forwarded-Host` (set by a reverse
    /// proxy in front of the server) for the client address and the public origin. Default false.
    pub trust_proxy: bool,
    /// Time for a new connection's request headers, and for any request's headers from their
    /// first byte. Default 15 s.
    pub header_timeout: Duration,
    /// Time for a whole request body to arrive. Default 120 s (six full-size photos at
    /// about 1 Mbit/s).
    pub body_timeout: Duration,
    /// Time an idle keep-alive connection is kept, and the longest a response write may make no
    /// progress. Default 60 s.
    pub idle_timeout: Duration,
    /// Most connections open at once; at the cap, the longest-waiting idle one is closed for a
    /// new one. Default 4096.
    pub max_connections: usize,
    /// Largest body of `POST /api/login`, bytes. Default 4 KiB.
    pub max_login_body: usize,
    /// Largest JSON body of report submissions, status changes and other small edits, bytes.
    /// Default 64 KiB.
    pub max_json_body: usize,
    /// Password checks run at once (each argon2 hash takes 19 MiB of memory). Default 2.
    pub login_concurrency: usize,
    /// Failed-login throttling.
    pub login_throttle: crate::login::ThrottleSettings,
}

/// Checks a public URL and returns its origin (`scheme://host[:port]`, lower case, no
/// trailing slash, default ports dropped).
pub fn normalize_public_url(url: &str) -> Result<String, String> {
    let url = url.trim().trim_end_matches('/');
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("{url:?} is not a URL; expected like https://xuncha.example.cn"))?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(format!("{url:?}: the scheme must be http or https"));
    }
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
        return Err(format!(
            "{url:?}: give only scheme, host and port (no path, query or user), like https://xuncha.example.cn"
        ));
    }
    let host = rest.to_ascii_lowercase();
    let default_port = if scheme == "http" { ":80" } else { ":443" };
    let host = host.strip_suffix(default_port).unwrap_or(&host);
    Ok(format!("{scheme}://{host}"))
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("data"),
            database: None,
            photos: None,
            webhook_retry_base_ms: 5_000,
            web_dir: PathBuf::from("web/dist"),
            max_vertices: crate::zone::DEFAULT_MAX_VERTICES,
            max_zone_body: 64 << 20,
            geodata_dir: PathBuf::from("geodata/baishan"),
            tile_cache_bytes: 256 << 20,
            max_photo_bytes: 20 << 20,
            max_photo_pixels: 80_000_000,
            max_photos: 6,
            exif_warn_m: 100.0,
            gap_width_m: 1.0,
            snap_px: 10.0,
            photo_long_side: 2048,
            thumb_long_side: 320,
            exif_utc_offset_s: 8 * 3600,
            duplicate_radius_m: 50.0,
            duplicate_days: 7,
            hotspot_eps_m: 30.0,
            hotspot_min_points: 10,
            hotspot_buffer_m: 10.0,
            heatmap_radius_m: 60.0,
            heatmap_scale_per_ha: 20.0,
            public_zones: false,
            public_map: false,
            public_map_per_minute: 600,
            tile_max_points: crate::tileset::DEFAULT_MAX_POINTS,
            city_utc_offset_s: 8 * 3600,
            open311_jurisdiction_id: None,
            public_url: None,
            trust_proxy: false,
            header_timeout: Duration::from_secs(15),
            body_timeout: Duration::from_secs(120),
            idle_timeout: Duration::from_secs(60),
            max_connections: 4096,
            max_login_body: 4 << 10,
            max_json_body: 64 << 10,
            login_concurrency: 2,
            login_throttle: crate::login::ThrottleSettings::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_url_is_an_origin() {
        assert_eq!(
            normalize_public_url("HTTPS://Xuncha.Example.cn/").unwrap(),
            "https://xuncha.example.cn"
        );
        assert_eq!(
            normalize_public_url("https://x.cn:443").unwrap(),
            "https://x.cn"
        );
        assert_eq!(
            normalize_public_url("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert!(normalize_public_url("https://x.cn/app").is_err());
        assert!(normalize_public_url("ftp://x.cn").is_err());
        assert!(normalize_public_url("x.cn").is_err());
    }
}
