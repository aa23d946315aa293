//! Usage timestamps as a record holds them ([`Timestamp`]): RFC 3339, or
//! a source's naive UTC time, refused where 64-bit nanoseconds cannot hold
//! them.

use chrono::{DateTime, NaiveDateTime, Utc};

use super::RowError;
use crate::model::Timestamp;

/// An RFC 3339 timestamp with an explicit offset, converted to UTC.
pub fn parse_timestamp(value: &str) -> Result<Timestamp, RowError> {
    let time = DateTime::parse_from_rfc3339(value.trim()).map_err(|_| {
        (
            "bad-timestamp",
            format!("timestamp: expected RFC 3339 with a time zone (2025-06-01T12:00:00Z), got \"{value}\""),
        )
    })?;
    within_range(time.with_timezone(&Utc), "timestamp", value)
}

/// `time` as a record holds it: an error naming `name` and `value` when it
/// lies outside the years 1677-2262 ([`Timestamp`]), or is a leap second
/// (`23:59:60`), which 64-bit nanoseconds since 1970 cannot tell from the
/// next day's first second (no usage source writes one: cloud providers
/// smear them).
fn within_range(time: DateTime<Utc>, name: &str, value: &str) -> Result<Timestamp, RowError> {
    use chrono::Timelike;
    if time.nanosecond() >= 1_000_000_000 {
        let message = format!("{name}: \"{value}\" is a leap second, which is not held");
        return Err(("bad-timestamp", message));
    }
    Timestamp::new(time).ok_or_else(|| {
        (
            "bad-timestamp",
            format!(
                "{name}: \"{value}\" lies outside 1677-09-21T00:12:43.145224192Z to \
                 2262-04-11T23:47:16.854775807Z"
            ),
        )
    })
}

/// A timestamp from a source that writes UTC without saying so (LiteLLM's
/// database): RFC 3339, or a naive date-time taken as UTC.
pub fn parse_utc_timestamp(value: &str, name: &str) -> Result<Timestamp, RowError> {
    let value = value.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return within_range(t.with_timezone(&Utc), name, value);
    }
    let time = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(value, f).ok())
        .map(|t| t.and_utc())
        .ok_or_else(|| {
            (
                "bad-timestamp",
                format!("{name}: expected a date and time, got \"{value}\""),
            )
        })?;
    within_range(time, name, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_a_record_cannot_hold_are_refused_and_the_rest_kept_to_the_nanosecond() {
        let at = parse_timestamp("2025-06-01T12:00:00.123456789+02:00").unwrap();
        assert_eq!(at.get().to_rfc3339(), "2025-06-01T10:00:00.123456789+00:00");
        let half = parse_utc_timestamp("2025-06-01 10:00:00.5", "t").unwrap();
        assert_eq!(half.nanos() % 1_000_000_000, 500_000_000);
        let (_, leap) = parse_timestamp("2016-12-31T23:59:60Z").unwrap_err();
        assert!(leap.contains("leap second"), "{leap}");
        assert!(parse_utc_timestamp("2016-12-31 23:59:60", "t").is_err());
        for late in ["2262-04-12T00:00:00Z", "1600-01-01T00:00:00Z"] {
            let (kind, message) = parse_timestamp(late).unwrap_err();
            assert_eq!(kind, "bad-timestamp");
            assert!(message.contains(late) && message.contains("2262-04-11"));
            let (_, message) = parse_utc_timestamp(late, "startTime").unwrap_err();
            assert!(message.starts_with("startTime"));
        }
    }
}
