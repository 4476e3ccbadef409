//! Query-string parsing with errors that say which parameter is wrong and how to fix it.

use super::error::{ApiError, ApiResult};
use crate::crs::Bbox;
use crate::problem::Problem;
use std::collections::HashMap;

/// A request's query parameters.
pub struct Params(pub HashMap<String, String>);

impl Params {
    pub fn from_query(q: Option<&str>) -> ApiResult<Self> {
        let mut map = HashMap::new();
        for (k, v) in form_urlencoded(q.unwrap_or("")) {
            map.insert(k, v);
        }
        Ok(Params(map))
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    pub fn f64(&self, key: &str) -> ApiResult<Option<f64>> {
        match self.str(key) {
            None => Ok(None),
            Some(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .map(Some)
                .ok_or_else(|| {
                    ApiError::invalid(
                        Problem::new("bad_number", format!("{key}={s:?} is not a number"))
                            .with("param", key)
                            .with("value", s),
                    )
                }),
        }
    }

    pub fn required_f64(&self, key: &str) -> ApiResult<f64> {
        self.f64(key)?.ok_or_else(|| missing(key))
    }

    /// `lon` and `lat` in WGS84 degrees, range-checked.
    pub fn lon_lat(&self) -> ApiResult<(f64, f64)> {
        let lon = self.required_f64("lon")?;
        let lat = self.required_f64("lat")?;
        check_lon_lat(lon, lat)?;
        Ok((lon, lat))
    }

    /// `bbox=minLon,minLat,maxLon,maxLat`.
    pub fn bbox(&self) -> ApiResult<Option<Bbox>> {
        self.str("bbox")
            .map(Bbox::parse)
            .transpose()
            .map_err(ApiError::invalid)
    }

    /// An integer parameter in `range` with a default.
    pub fn int(
        &self,
        key: &str,
        default: i64,
        range: std::ops::RangeInclusive<i64>,
    ) -> ApiResult<i64> {
        match self.str(key) {
            None => Ok(default),
            Some(s) => s
                .parse::<i64>()
                .ok()
                .filter(|v| range.contains(v))
                .ok_or_else(|| {
                    ApiError::invalid(
                        Problem::new(
                            "out_of_range",
                            format!(
                                "{key}={s:?} must be a whole number from {} to {}",
                                range.start(),
                                range.end()
                            ),
                        )
                        .with("param", key)
                        .with("value", s)
                        .with("min", range.start())
                        .with("max", range.end()),
                    )
                }),
        }
    }
}

/// 400 `missing_param`: a required query parameter is absent.
pub fn missing(key: &str) -> ApiError {
    ApiError::invalid(
        Problem::new(
            "missing_param",
            format!("the query parameter {key} is required"),
        )
        .with("param", key),
    )
}

/// Checks WGS84 ranges, hinting at swapped axes (400 `lat_out_of_range` / `lon_out_of_range`).
pub fn check_lon_lat(lon: f64, lat: f64) -> ApiResult<()> {
    if !(-90.0..=90.0).contains(&lat) {
        let swapped = (-90.0..=90.0).contains(&lon);
        let hint = if swapped {
            " (are lon and lat swapped?)"
        } else {
            ""
        };
        return Err(ApiError::invalid(
            Problem::new(
                "lat_out_of_range",
                format!("lat={lat} is outside -90..90{hint}"),
            )
            .with("value", lat)
            .with("swapped", swapped),
        ));
    }
    if !(-180.0..=180.0).contains(&lon) {
        return Err(ApiError::invalid(
            Problem::new(
                "lon_out_of_range",
                format!("lon={lon} is outside -180..180"),
            )
            .with("value", lon),
        ));
    }
    Ok(())
}

fn form_urlencoded(q: &str) -> impl Iterator<Item = (String, String)> + '_ {
    q.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(k), decode(v))
    })
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_percent_and_plus() {
        let p = Params::from_query(Some("name=%E7%99%BD%E5%B1%B1+x&bbox=1,2,3,4&bad=%zz")).unwrap();
        assert_eq!(p.str("name"), Some("白山 x"));
        assert_eq!(p.bbox().unwrap(), Some(Bbox::new(1.0, 2.0, 3.0, 4.0)));
        assert_eq!(p.str("bad"), Some("%zz"));
    }

    #[test]
    fn swapped_axes_hint() {
        let p = Params::from_query(Some("lon=41.9&lat=126.4")).unwrap();
        let (status, m, _) = p.lon_lat().unwrap_err().parts();
        assert_eq!(status, 400);
        assert!(m.contains("swapped"), "{m}");
    }
}
