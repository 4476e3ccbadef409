//! The work behind the command line: import, export, bulk matching, users.

use crate::index::ZoneIndex;
use crate::registry::RegistryError;
use crate::state::AppState;
use crate::store;
use crate::zone::{parse_features, zone_to_feature, FeatureError, ParseOptions, ZoneKind};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{BufRead, Write};
use std::path::Path;

/// Errors of command-line work.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not valid JSON: {source}")]
    Json {
        path: String,
        source: serde_json::Error,
    },
    #[error("{path}: {reason}")]
    GeoJson { path: String, reason: String },
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("output failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("line {line}: {reason}")]
    Csv { line: u64, reason: String },
}

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportReport {
    pub imported: usize,
    pub rejected: Vec<FeatureError>,
}

/// Imports a GeoJSON file. Valid features are stored unless `strict` and something was rejected.
pub async fn import(
    state: &AppState,
    path: &Path,
    kind: Option<ZoneKind>,
    strict: bool,
    user: &str,
) -> Result<ImportReport, CliError> {
    let actor = crate::audit::Actor::system(user);
    let p = path.display().to_string();
    let text = std::fs::read(path).map_err(|source| CliError::Read {
        path: p.clone(),
        source,
    })?;
    let doc: serde_json::Value =
        serde_json::from_slice(&text).map_err(|source| CliError::Json {
            path: p.clone(),
            source,
        })?;
    let opts = ParseOptions {
        default_kind: kind,
        max_vertices: state.config.max_vertices,
    };
    let results =
        parse_features(&doc, opts).map_err(|reason| CliError::GeoJson { path: p, reason })?;
    let mut report = ImportReport::default();
    let mut drafts = Vec::new();
    for r in results {
        match r {
            Ok(d) => drafts.push(d),
            Err(e) => report.rejected.push(e),
        }
    }
    if strict && !report.rejected.is_empty() {
        return Ok(report);
    }
    let bar = ProgressBar::new(drafts.len() as u64).with_style(
        ProgressStyle::with_template("importing {bar:40} {pos}/{len} zones {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    // In chunks, so the progress bar moves and one transaction never grows unbounded.
    let mut chunks = Vec::new();
    while !drafts.is_empty() {
        let rest = drafts.split_off(drafts.len().min(500));
        chunks.push(std::mem::replace(&mut drafts, rest));
    }
    for chunk in chunks {
        let n = chunk.len();
        let (zones, _) = state.zones.create_unchecked_overlaps(chunk, &actor).await?;
        report.imported += zones.len();
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    Ok(report)
}

/// Writes live zones (optionally of one kind) as a FeatureCollection.
pub fn export(
    state: &AppState,
    kind: Option<ZoneKind>,
    out: &mut impl Write,
) -> Result<usize, CliError> {
    let zones = state
        .store
        .read_sync(|c| store::zones::list_live(c, kind))?;
    writeln!(out, "{{\"type\":\"FeatureCollection\",\"features\":[")?;
    for (i, z) in zones.iter().enumerate() {
        let sep = if i + 1 < zones.len() { "," } else { "" };
        writeln!(out, "{}{sep}", zone_to_feature(z))?;
    }
    writeln!(out, "]}}")?;
    Ok(zones.len())
}

/// Streams `lon,lat` lines to `lon,lat,responsible_zone_id,all_matched_zone_ids` lines.
/// `all_matched_zone_ids` are the zones containing the point, `;`-separated; the responsible zone
/// may be the nearest 三包 zone within 30 m when none contains it. A first line that is not
/// numeric is taken as a header. Returns the number of points.
pub fn match_csv(
    index: &ZoneIndex,
    input: impl BufRead,
    out: &mut impl Write,
) -> Result<u64, CliError> {
    let mut n = 0u64;
    let mut line_no = 0u64;
    let mut ids = String::new();
    for line in input.lines() {
        let line = line?;
        line_no += 1;
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        let mut parts = t.split(',');
        let (lon, lat) = match (
            parts.next().and_then(|s| s.trim().parse::<f64>().ok()),
            parts.next().and_then(|s| s.trim().parse::<f64>().ok()),
        ) {
            (Some(lon), Some(lat)) => (lon, lat),
            _ if line_no == 1 => {
                writeln!(out, "lon,lat,responsible_zone_id,all_matched_zone_ids")?;
                continue;
            }
            _ => {
                return Err(CliError::Csv {
                    line: line_no,
                    reason: format!("expected lon,lat numbers, got {t:?}"),
                })
            }
        };
        if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
            return Err(CliError::Csv {
                line: line_no,
                reason: format!("lon {lon} / lat {lat} is outside WGS84 ranges (is it lat,lon?)"),
            });
        }
        let r = index.match_point(lon, lat, 0.0);
        ids.clear();
        for m in r.matches.iter().filter(|m| m.inside) {
            if !ids.is_empty() {
                ids.push(';');
            }
            ids.push_str(&m.zone.id);
        }
        let answer = crate::responsibility::resolve(index, &r);
        let resp = answer
            .responsible
            .as_ref()
            .map(|r| r.zone_id.as_str())
            .unwrap_or("");
        writeln!(out, "{},{},{resp},{ids}", parts_lon(t), parts_lat(t))?;
        n += 1;
    }
    out.flush()?;
    Ok(n)
}

fn parts_lon(t: &str) -> &str {
    t.split(',').next().unwrap_or("").trim()
}

fn parts_lat(t: &str) -> &str {
    t.split(',').nth(1).unwrap_or("").trim()
}
