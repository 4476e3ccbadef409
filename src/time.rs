//! Timestamps: stored as Unix milliseconds (UTC), shown as RFC 3339.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

/// The city day (days since 1970-01-01 on the city's wall clock) that holds Unix milliseconds
/// `ms`, for a city `offset_ms` ahead of UTC.
pub fn city_day(ms: i64, offset_ms: i64) -> i64 {
    (ms + offset_ms).div_euclid(DAY_MS)
}

/// Unix milliseconds of the city midnight that starts city day `day` (see [`city_day`]).
pub fn city_midnight(day: i64, offset_ms: i64) -> i64 {
    day * DAY_MS - offset_ms
}

/// Current time in Unix milliseconds.
pub fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Formats Unix milliseconds as RFC 3339 UTC, e.g. `2026-11-30T06:14:24.123Z`.
pub fn to_rfc3339(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// Parses an RFC 3339 timestamp (any offset) into Unix milliseconds.
pub fn parse_rfc3339(s: &str) -> Result<i64, String> {
    OffsetDateTime::parse(s, &Rfc3339)
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        .map_err(|e| {
            format!("{s:?} is not an RFC 3339 timestamp like 2026-11-30T08:00:00+08:00 ({e})")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_city_day_starts_at_the_city_midnight() {
        let off = 8 * 3_600_000;
        // 2026-12-01T00:00:00+08:00 is 2026-11-30T16:00:00Z.
        let midnight = parse_rfc3339("2026-12-01T00:00:00+08:00").unwrap();
        let day = city_day(midnight, off);
        assert_eq!(city_midnight(day, off), midnight);
        assert_eq!(city_day(midnight - 1, off), day - 1);
        assert_eq!(city_day(midnight + DAY_MS - 1, off), day);
        assert_eq!(
            to_rfc3339(city_midnight(day + 1, off)),
            "2026-12-01T16:00:00Z"
        );
    }

    #[test]
    fn round_trip_with_offset() {
        let ms = parse_rfc3339("2026-11-30T08:00:00+08:00").unwrap();
        assert_eq!(to_rfc3339(ms), "2026-11-30T00:00:00Z");
    }
}
