//! The work behind the command line: import, export, bulk matching, users.

use crate::index::ZoneIndex;
use crate::state::AppState;
use crate::store;
use crate::zone::registry::RegistryError;
use crate::zone::registry::{EarlierBatch, Indexing};
use crate::zone::{zone_to_feature, FeatureError, ParseOptions, ZoneKind};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::Arc;

/// Errors of command-line work.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
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

/// Zones stored per transaction by [`import`].
pub const IMPORT_BATCH: usize = 500;

/// Batches [`import`] writes at once on PostgreSQL (one connection each).
const IMPORT_WRITERS: usize = 2;

/// Imports a GeoJSON file, read one feature at a time (memory holds one batch of
/// [`IMPORT_BATCH`] zones, not the file). Valid features are stored in batches as they come,
/// with a progress bar (features/s); with `strict`, the valid drafts are held until the end of
/// the file and stored in one transaction, and nothing is stored when anything was rejected.
/// `indexing` says whether this process's zone index follows the import.
pub async fn import(
    state: &AppState,
    path: &Path,
    kind: Option<ZoneKind>,
    strict: bool,
    user: &str,
    indexing: Indexing,
) -> Result<ImportReport, CliError> {
    let actor = crate::audit::Actor::system(user);
    let p = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| CliError::Read {
        path: p.clone(),
        source,
    })?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let opts = ParseOptions {
        default_kind: kind,
        max_vertices: state.config.max_vertices,
    };
    let bar = ProgressBar::new(size).with_style(
        ProgressStyle::with_template("importing {bar:40} {bytes}/{total_bytes} {msg} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    // The parser runs on a blocking thread and hands over full batches; the store writes them
    // here, one transaction each, while the next batch is parsed.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<crate::zone::ZoneDraft>>(2);
    let counted = bar.clone();
    let parse = tokio::task::spawn_blocking(move || {
        let mut rejected = Vec::new();
        let mut batch = Vec::new();
        let mut held = Vec::new();
        let mut seen = 0u64;
        let started = std::time::Instant::now();
        let reader = counted.wrap_read(file);
        let result = crate::zone::for_each_feature(reader, opts, |r| {
            seen += 1;
            match r {
                Ok(d) if strict => held.push(d),
                Ok(d) => {
                    batch.push(d);
                    if batch.len() == IMPORT_BATCH {
                        tx.blocking_send(std::mem::take(&mut batch))
                            .map_err(|_| "the import stopped".to_string())?;
                    }
                }
                Err(e) => rejected.push(e),
            }
            if seen % 1000 == 0 {
                let rate = seen as f64 / started.elapsed().as_secs_f64().max(1e-3);
                counted.set_message(format!("{seen} features, {rate:.0}/s"));
            }
            Ok(())
        });
        if strict {
            // All or nothing: every zone in one transaction, so a write the store refuses
            // (an id already taken) leaves nothing behind either.
            if rejected.is_empty() && result.is_ok() && !held.is_empty() {
                let _ = tx.blocking_send(held);
            }
            return (result, rejected);
        }
        while !batch.is_empty() {
            let rest = batch.split_off(batch.len().min(IMPORT_BATCH));
            if tx
                .blocking_send(std::mem::replace(&mut batch, rest))
                .is_err()
            {
                break;
            }
        }
        (result, rejected)
    });
    let mut report = ImportReport::default();
    let mut failed = None;
    // PostgreSQL runs each batch's transaction in a backend process of its own, so two batches
    // in flight keep both the database and this process busy instead of taking turns; SQLite
    // has one writer, so one batch at a time.
    let writers = if state.zones.side_by_side(indexing) {
        IMPORT_WRITERS
    } else {
        1
    };
    let mut writing = futures_util::stream::FuturesUnordered::new();
    let mut open = true;
    // The batch before the next: its ids, and word of its commit. Batches commit in order.
    let mut last: Option<EarlierBatch> = None;
    loop {
        tokio::select! {
            chunk = rx.recv(), if open && writing.len() < writers => match chunk {
                Some(chunk) if failed.is_none() => {
                    let ids: HashSet<String> = chunk.iter().filter_map(|d| d.id.clone()).collect();
                    let (done, committed) = tokio::sync::oneshot::channel();
                    let earlier = last.replace(EarlierBatch {
                        ids: Arc::new(ids),
                        committed,
                    });
                    let actor = &actor;
                    writing.push(async move {
                        let stored = state.zones.import(chunk, actor, indexing, earlier).await;
                        if stored.is_ok() {
                            let _ = done.send(());
                        }
                        stored
                    });
                }
                Some(_) => {} // drain: the parser is told to stop when the channel closes
                None => open = false,
            },
            Some(done) = futures_util::StreamExt::next(&mut writing) => match done {
                Ok(zones) => report.imported += zones.len(),
                Err(e) => {
                    failed.get_or_insert(e);
                    rx.close();
                }
            },
            else => break,
        }
    }
    let (result, rejected) = parse.await.map_err(|e| CliError::GeoJson {
        path: p.clone(),
        reason: format!("the reader stopped: {e}"),
    })?;
    bar.finish_and_clear();
    if let Some(e) = failed {
        return Err(e.into());
    }
    result.map_err(|reason| CliError::GeoJson {
        path: p,
        reason: if report.imported > 0 {
            format!(
                "{reason} ({} zones read before it were imported; --strict imports all or nothing)",
                report.imported
            )
        } else {
            reason
        },
    })?;
    report.rejected = rejected;
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
        let answer = crate::zone::responsibility::resolve(index, &r);
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
