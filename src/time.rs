//! Timestamps: stored as Unix milliseconds (UTC), shown as RFC 3339.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

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
    fn round_trip_with_offset() {
        let ms = parse_rfc3339("2026-11-30T08:00:00+08:00").unwrap();
        assert_eq!(to_rfc3339(ms), "2026-11-30T00:00:00Z");
    }
}
