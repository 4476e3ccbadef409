//! Request parts parsed once, into types, by axum extractors: a tile's coordinates from its
//! path, a point from the query, the query itself. A bad part is a 400 (or 404 for a path of
//! the wrong shape) with a code, the same on every route that takes it.

use super::error::ApiError;
use super::params::Params;
use crate::problem::Problem;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use xuncha_tiles::TileCoord;

/// The query string's parameters.
pub struct QueryParams(pub Params);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(QueryParams(Params::from_query(parts.uri.query())?))
    }
}

/// `lon` and `lat` (WGS84 degrees) from the query, range-checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LonLat {
    pub lon: f64,
    pub lat: f64,
}

impl<S: Send + Sync> FromRequestParts<S> for LonLat {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let (lon, lat) = Params::from_query(parts.uri.query())?.lon_lat()?;
        Ok(LonLat { lon, lat })
    }
}

/// A vector tile's `/{z}/{x}/{y}.mvt`.
pub struct MvtTile(pub TileCoord);
/// A raster tile's `/{z}/{x}/{y}.png`.
pub struct PngTile(pub TileCoord);

/// `z`, `x` and `y` of a tile path whose last part ends in `ext`.
async fn tile_path<S: Send + Sync>(
    parts: &mut Parts,
    state: &S,
    ext: &str,
) -> Result<TileCoord, ApiError> {
    let Path((z, x, y)) = Path::<(String, String, String)>::from_request_parts(parts, state)
        .await
        .map_err(|e| {
            ApiError::NotFound(format!("tiles are served as /{{z}}/{{x}}/{{y}}{ext}: {e}"))
        })?;
    let y = y.strip_suffix(ext).ok_or_else(|| {
        ApiError::NotFound(format!("tiles are served as /{{z}}/{{x}}/{{y}}{ext}"))
    })?;
    let bad = |why: String| {
        ApiError::invalid(Problem::new("bad_tile", why).with("tile", format!("{z}/{x}/{y}")))
    };
    let num = |s: &str| s.parse::<u32>().ok();
    let (Some(zz), Some(xx), Some(yy)) = (num(&z), num(&x), num(y)) else {
        return Err(bad(format!(
            "tile {z}/{x}/{y}: z, x and y must be whole numbers"
        )));
    };
    let zz = u8::try_from(zz).map_err(|_| bad(format!("tile {z}/{x}/{y}: z is too large")))?;
    TileCoord::new(zz, xx, yy).map_err(|e| bad(format!("tile {z}/{x}/{y} is out of range: {e}")))
}

impl<S: Send + Sync> FromRequestParts<S> for MvtTile {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        tile_path(parts, state, ".mvt").await.map(MvtTile)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PngTile {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        tile_path(parts, state, ".png").await.map(PngTile)
    }
}
