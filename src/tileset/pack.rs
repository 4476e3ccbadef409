//! Offline map packs: the tiles a phone stores to draw its area with no network.
//!
//! A pack is the zones, routes and basemap ([`super::Layers::OFFLINE`]) of a bounding box over a
//! zoom range. The server plans it (which tiles, how many bytes) so the phone can show the size
//! before it downloads anything; the phone then fetches the same tile URLs the map uses, and its
//! service worker keeps them.

use crate::crs::Bbox;
use geo::{coord, Rect};
use xuncha_tiles::{tiles_covering, TileCoord};

/// The most tiles one pack may hold (a city district at z12–17 is a few hundred).
pub const MAX_TILES: usize = 4000;
/// The zooms a pack covers unless asked otherwise.
pub const DEFAULT_ZOOMS: (u8, u8) = (12, 17);

/// Why a pack cannot be planned.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PackError {
    #[error("minzoom {min} is above maxzoom {max}")]
    ZoomOrder { min: u8, max: u8 },
    #[error("the area needs {count} tiles at z{min}–{max}, more than {MAX_TILES}; choose a smaller area or fewer zooms")]
    TooLarge { count: usize, min: u8, max: u8 },
}

/// Every tile of `bbox` at zooms `min..=max`, lowest
/// zoom first.
pub fn plan(bbox: Bbox, min: u8, max: u8) -> Result<Vec<TileCoord>, PackError> {
    if min > max {
        return Err(PackError::ZoomOrder { min, max });
    }
    let rect = Rect::new(
        coord! { x: bbox.west, y: bbox.south },
        coord! { x: bbox.east, y: bbox.north },
    );
    let mut tiles = Vec::new();
    for z in min..=max {
        tiles.extend(tiles_covering(rect, z));
        if tiles.len() > MAX_TILES {
            // Count the rest without keeping them, so the error says how far off the ask is.
            let count = tiles.len()
                + (z + 1..=max)
                    .map(|z| tiles_covering(rect, z).count())
                    .sum::<usize>();
            return Err(PackError::TooLarge { count, min, max });
        }
    }
    Ok(tiles)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 白山市 Baishan's centre, on the Hunjiang river.
    const BAISHAN: [f64; 2] = [126.4236, 41.9397];

    #[test]
    fn a_small_area_is_a_few_tiles_per_zoom() {
        let d = 0.005; // about 400 m east–west, 550 m north–south
        let b = Bbox::point(BAISHAN[0], BAISHAN[1]).grown(d);
        let tiles = plan(b, 12, 17).unwrap();
        assert!(tiles.iter().all(|t| (12..=17).contains(&t.z)));
        assert_eq!(tiles.iter().filter(|t| t.z == 12).count(), 1);
        // A z17 tile is about 228 m wide here: 0.01° (≈ 830 m east–west) needs 4–5 columns.
        let cols: std::collections::BTreeSet<u32> =
            tiles.iter().filter(|t| t.z == 17).map(|t| t.x).collect();
        assert!((4..=5).contains(&cols.len()), "{cols:?}");
        assert!(tiles.windows(2).all(|w| w[0].z <= w[1].z));
    }

    #[test]
    fn a_province_at_building_zoom_is_refused_with_its_size() {
        let jilin = Bbox::new(121.6, 40.8, 131.3, 46.3);
        match plan(jilin, 12, 17) {
            Err(PackError::TooLarge { count, .. }) => assert!(count > MAX_TILES * 10, "{count}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            plan(jilin, 14, 12),
            Err(PackError::ZoomOrder { min: 14, max: 12 })
        );
    }
}
