//! Point aggregation for low zooms: counts per square bin of a world pixel grid.
//!
//! Bins are `cell_px` pixels of a 256-px tile wide and aligned to the grid of
//! the whole world at that zoom, so no bin straddles two tiles and every point
//! is counted in exactly one tile (no buffer, no double counting at edges).

use crate::error::TileError;
use crate::tile::{lonlat_to_world, world_to_lonlat, TileCoord};
use geo::Point;

/// Counts lon/lat points per bin of `cell_px` × `cell_px` pixels (of a
/// 256-px tile) inside `coord`. Returns `(bin centre in lon/lat, count)` for
/// every non-empty bin, north-west first. `cell_px` must be a power of two in
/// `1..=256`.
///
/// ```
/// use geo::Point;
/// use xuncha_tiles::{aggregate_points, TileCoord};
/// let t = TileCoord::new(0, 0, 0).unwrap();
/// let bins = aggregate_points(t, [Point::new(126.42, 41.94), Point::new(126.43, 41.95)], 64).unwrap();
/// assert_eq!(bins.len(), 1);
/// assert_eq!(bins[0].1, 2);
/// ```
pub fn aggregate_points(
    coord: TileCoord,
    points: impl IntoIterator<Item = Point<f64>>,
    cell_px: u32,
) -> Result<Vec<(Point<f64>, u64)>, TileError> {
    aggregate_world_points(
        coord,
        points.into_iter().map(|p| {
            let (x, y) = lonlat_to_world(p.x(), p.y());
            Point::new(x, y)
        }),
        cell_px,
    )
}

/// As [`aggregate_points`], with points already in world coordinates.
pub fn aggregate_world_points(
    coord: TileCoord,
    points: impl IntoIterator<Item = Point<f64>>,
    cell_px: u32,
) -> Result<Vec<(Point<f64>, u64)>, TileError> {
    if !cell_px.is_power_of_two() || cell_px > 256 {
        return Err(TileError::InvalidCellSize { cell_px });
    }
    let per_tile = u64::from(256 / cell_px);
    let world_bins = u64::from(coord.tiles_per_axis()) * per_tile;
    let scale = world_bins as f64;
    let (x0, y0) = (u64::from(coord.x) * per_tile, u64::from(coord.y) * per_tile);
    let mut counts = vec![0u64; (per_tile * per_tile) as usize];
    for p in points {
        let (fx, fy) = (p.x() * scale, p.y() * scale);
        if !(fx >= 0.0 && fy >= 0.0) {
            continue;
        }
        // The south and east world edges belong to the last bin.
        let bx = (fx as u64).min(world_bins - 1);
        let by = (fy as u64).min(world_bins - 1);
        if bx < x0 || by < y0 || bx >= x0 + per_tile || by >= y0 + per_tile || fx > scale {
            continue;
        }
        counts[((by - y0) * per_tile + (bx - x0)) as usize] += 1;
    }
    bins_of_counts(coord, &counts, cell_px)
}

/// The non-empty bins of `counts` (the tile's bins of `cell_px` pixels, row by row from the
/// north-west, as [`aggregate_world_points`] counts them) as `(bin centre in lon/lat, count)`.
/// For counts kept elsewhere, such as a grid maintained as reports come.
pub fn bins_of_counts(
    coord: TileCoord,
    counts: &[u64],
    cell_px: u32,
) -> Result<Vec<(Point<f64>, u64)>, TileError> {
    if !cell_px.is_power_of_two() || cell_px > 256 {
        return Err(TileError::InvalidCellSize { cell_px });
    }
    let per_tile = u64::from(256 / cell_px);
    if counts.len() as u64 != per_tile * per_tile {
        return Err(TileError::BinCounts {
            expected: (per_tile * per_tile) as usize,
            got: counts.len(),
        });
    }
    let scale = (u64::from(coord.tiles_per_axis()) * per_tile) as f64;
    let (x0, y0) = (u64::from(coord.x) * per_tile, u64::from(coord.y) * per_tile);
    let mut out = Vec::new();
    for (i, &n) in counts.iter().enumerate() {
        if n == 0 {
            continue;
        }
        let (bx, by) = (x0 + i as u64 % per_tile, y0 + i as u64 / per_tile);
        let (lon, lat) = world_to_lonlat((bx as f64 + 0.5) / scale, (by as f64 + 0.5) / scale);
        out.push((Point::new(lon, lat), n));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tile::tiles_covering;

    #[test]
    fn counts_are_conserved_across_tiles_and_edges() {
        // Points on a lattice that puts many exactly on tile and bin edges.
        let t = TileCoord::new(10, 871, 380).unwrap();
        let b = t.bounds_lonlat();
        let mut pts = Vec::new();
        for i in 0..=40 {
            for j in 0..=40 {
                pts.push(Point::new(
                    b.min().x + (b.max().x - b.min().x) * f64::from(i) / 20.0
                        - 0.5 * (b.max().x - b.min().x),
                    b.min().y + (b.max().y - b.min().y) * f64::from(j) / 20.0
                        - 0.5 * (b.max().y - b.min().y),
                ));
            }
        }
        let mut rect = b;
        rect.set_min(geo::coord! { x: b.min().x - 2.0, y: b.min().y - 2.0 });
        rect.set_max(geo::coord! { x: b.max().x + 2.0, y: b.max().y + 2.0 });
        for z in [8u8, 10, 11, 13] {
            let total: u64 = tiles_covering(rect, z)
                .flat_map(|t| aggregate_points(t, pts.iter().copied(), 16).unwrap())
                .map(|(_, n)| n)
                .sum();
            assert_eq!(total, pts.len() as u64, "zoom {z}");
        }
    }

    #[test]
    fn bin_centres_lie_in_their_tile() {
        let t = TileCoord::new(12, 3487, 1522).unwrap();
        let b = t.bounds_lonlat();
        let c = Point::new((b.min().x + b.max().x) / 2.0, (b.min().y + b.max().y) / 2.0);
        let bins = aggregate_points(t, [c, c, c], 32).unwrap();
        assert_eq!(bins.len(), 1);
        assert_eq!(bins[0].1, 3);
        let p = bins[0].0;
        assert!(b.min().x < p.x() && p.x() < b.max().x && b.min().y < p.y() && p.y() < b.max().y);
    }

    #[test]
    fn invalid_cell_size_is_rejected() {
        let t = TileCoord::new(0, 0, 0).unwrap();
        let e = aggregate_points(t, [], 48).unwrap_err();
        assert!(e.to_string().contains("power of two"));
        assert!(aggregate_points(t, [], 512).is_err());
    }
}
