//! When a request was billed, in 8 bytes.

use chrono::{DateTime, Utc};

/// When a request was billed: nanoseconds since 1970 (UTC) in 64 bits, 8
/// bytes, not chrono's 12 (a month holds millions of records). It spans
/// 1677-09-21 to 2262-04-11 and holds no leap second; the readers refuse
/// a time it cannot hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// The unix times (seconds) a reader takes from a count: 2000-01-01 up to
/// 2100-01-01, UTC. A count outside is in another unit (milliseconds read
/// as seconds are centuries away, as nanoseconds the first hour of 1970)
/// and would file a record in another month: refused, never guessed.
pub const UNIX_SECONDS: std::ops::Range<i64> = 946_684_800..4_102_444_800;

/// `seconds` since 1970, if within [`UNIX_SECONDS`].
pub fn unix_seconds(seconds: i64) -> Option<DateTime<Utc>> {
    UNIX_SECONDS
        .contains(&seconds)
        .then(|| DateTime::from_timestamp(seconds, 0))
        .flatten()
}

/// `nanos` nanoseconds since 1970, if within [`UNIX_SECONDS`].
pub fn unix_nanos(nanos: i64) -> Option<Timestamp> {
    UNIX_SECONDS
        .contains(&nanos.div_euclid(1_000_000_000))
        .then_some(Timestamp(nanos))
}

/// Nanoseconds in a UTC day (UTC days have no leap second here).
const NANOS_A_DAY: i128 = 86_400_000_000_000;

impl Timestamp {
    /// `time`, if within the range.
    pub fn new(time: DateTime<Utc>) -> Option<Timestamp> {
        time.timestamp_nanos_opt().map(Timestamp)
    }

    /// `nanos` nanoseconds since 1970.
    pub fn from_nanos(nanos: i64) -> Timestamp {
        Timestamp(nanos)
    }

    /// The time.
    pub fn get(self) -> DateTime<Utc> {
        DateTime::from_timestamp_nanos(self.0)
    }

    /// Nanoseconds since 1970.
    pub fn nanos(self) -> i64 {
        self.0
    }

    /// The UTC day. Each thread keeps the last day it made: records come
    /// about in time order, and a month's answers ask each record's day
    /// several times (making a date from a day number was 3 % of their
    /// time).
    pub fn date_naive(self) -> chrono::NaiveDate {
        use std::cell::Cell;
        thread_local! {
            static LAST: Cell<(i64, chrono::NaiveDate)> =
                const { Cell::new((i64::MIN, chrono::NaiveDate::MIN)) };
        }
        let day = self.0.div_euclid(NANOS_A_DAY as i64);
        LAST.with(|last| match last.get() {
            (held, date) if held == day => date,
            _ => {
                let date = self.get().date_naive();
                last.set((day, date));
                date
            }
        })
    }

    /// The UTC month: (year, month).
    pub fn year_month(self) -> (i32, u32) {
        use chrono::Datelike;
        let day = self.date_naive();
        (day.year(), day.month())
    }

    /// A UTC month's times as nanoseconds since 1970, from its first
    /// instant to the next month's (as `i128`: a month's ends may lie
    /// beyond what a `Timestamp` holds). A time is in the month when its
    /// [`Timestamp::nanos`] is in the range: one comparison a record, not a
    /// date made for each.
    pub fn month_range(year: i32, month: u32) -> Option<std::ops::Range<i128>> {
        let first = chrono::NaiveDate::from_ymd_opt(year, month, 1)?;
        let next = first.checked_add_months(chrono::Months::new(1))?;
        let nanos = |day: chrono::NaiveDate| {
            i128::from(
                day.signed_duration_since(chrono::NaiveDate::default())
                    .num_days(),
            ) * NANOS_A_DAY
        };
        Some(nanos(first)..nanos(next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_is_in_its_months_range_and_no_other() {
        use chrono::Datelike;
        let times = [
            "2025-05-31T23:59:59.999999999Z",
            "2025-06-01T00:00:00Z",
            "2024-02-29T12:00:00Z",
            "1969-12-31T23:59:59Z",
            "1677-09-21T00:12:44Z",
            "2262-04-11T23:47:16Z",
        ];
        for text in times {
            let t = Timestamp::new(DateTime::parse_from_rfc3339(text).unwrap().to_utc()).unwrap();
            let nanos = i128::from(t.nanos());
            // The day each thread keeps gives way to the next one asked.
            for same in [t, t, Timestamp::from_nanos(t.nanos() - 1), t] {
                assert_eq!(same.date_naive(), same.get().date_naive(), "{text}");
            }
            let (year, month) = t.year_month();
            let range = Timestamp::month_range(year, month).unwrap();
            assert!(range.contains(&nanos), "{text}");
            let (before, after) = (range.start - 1, range.end);
            let month_of = |n: i64| DateTime::from_timestamp_nanos(n).month();
            for outside in [before, after] {
                if let Ok(n) = i64::try_from(outside) {
                    assert_ne!(month_of(n), month, "{text}");
                }
            }
        }
    }
}
