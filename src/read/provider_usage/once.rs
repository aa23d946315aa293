//! Each provider's tokens counted once across the usage reports given: a
//! bucket read again (a page fetched or saved twice), buckets of two widths
//! over the same hours (one report fetched by day and by hour), or one
//! day's report given both grouped by model and not with the same tokens
//! (one report fetched twice) would each count tokens twice, and blame
//! the gateway for traffic it never missed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use super::{BucketRead, ProviderUsage};
use crate::error::{Error, Result};
use crate::read::report_pages::BucketsSeen;

/// Fail for a bucket read twice, or two buckets of one provider over
/// overlapping times but not the same (each bucket with the file it was
/// read from). Buckets of the same times and other results are summed:
/// two organisations' reports.
pub fn check_buckets(buckets: &[(PathBuf, BucketRead)]) -> Result<()> {
    let mut seen = BucketsSeen::default();
    for (path, b) in buckets {
        let key = format!("{} {:?} {}", b.provider, b.times, b.results);
        if let Some(place) = seen.again(key, path, b.line) {
            return Err(Error::record(
                path,
                b.line,
                "repeated-bucket",
                format!(
                    "the {} usage bucket of {} to {} is given again, result for result, as \
                     {place}: a page fetched or saved twice? give each page once",
                    b.provider, b.times.0, b.times.1
                ),
            ));
        }
    }
    let mut by_time: Vec<&(PathBuf, BucketRead)> = buckets.iter().collect();
    by_time.sort_by_key(|(_, b)| (b.provider, b.times));
    let mut reach: Option<&(PathBuf, BucketRead)> = None;
    for bucket in by_time {
        let (path, b) = bucket;
        if let Some((first_path, first)) = reach.filter(|(_, r)| r.provider == b.provider) {
            if b.times.0 < first.times.1 && b.times != first.times {
                return Err(overlap((first_path, first), (path, b)));
            }
            if first.times.1 >= b.times.1 {
                continue;
            }
        }
        reach = Some(bucket);
    }
    Ok(())
}

/// The error for two buckets over overlapping times.
fn overlap((first_path, first): (&Path, &BucketRead), (path, b): (&Path, &BucketRead)) -> Error {
    Error::record(
        path,
        b.line,
        "overlapping-buckets",
        format!(
            "the {} usage bucket of {} to {} overlaps the bucket of {} to {} read at {}:{}: one \
             report fetched at two bucket widths? give one",
            b.provider,
            b.times.0,
            b.times.1,
            first.times.0,
            first.times.1,
            first_path.display(),
            first.line
        ),
    )
}

/// Fail for a provider's day reported both grouped by model and not, the
/// two saying the same tokens (one report fetched twice, grouped and not);
/// other tokens are two reports (two organisations'), compared summed.
pub fn check_split(rows: &[ProviderUsage]) -> Result<()> {
    type Sides = ([u64; 5], [u64; 5], bool, bool);
    let mut days: BTreeMap<(&str, NaiveDate), Sides> = BTreeMap::new();
    for row in rows {
        let (unsplit, split, has_unsplit, has_split) =
            days.entry((row.provider, row.day)).or_default();
        let (side, has) = match row.model {
            None => (unsplit, has_unsplit),
            Some(_) => (split, has_split),
        };
        for (sum, n) in side.iter_mut().zip(row.tokens) {
            *sum = sum.saturating_add(n);
        }
        *has = true;
    }
    let same = days.iter().find(|(_, (a, b, x, y))| *x && *y && a == b);
    match same {
        Some(((provider, day), _)) => Err(Error::fatal(format!(
            "the {provider} usage of {day} is given both grouped by model and not, and the two \
             say the same tokens: one report fetched twice? give one of them"
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;

    fn bucket(start_hour: i64, hours: i64, results: &str) -> (PathBuf, BucketRead) {
        let at = |h: i64| DateTime::<Utc>::from_timestamp(1_756_684_800 + h * 3_600, 0).unwrap();
        let read = BucketRead {
            provider: "openai",
            times: (at(start_hour), at(start_hour + hours)),
            results: results.into(),
            line: 1,
        };
        (PathBuf::from(format!("{results}.json")), read)
    }

    #[test]
    fn buckets_are_read_once_and_at_one_width() {
        let day = bucket(0, 24, "a");
        let next = bucket(24, 24, "b");
        assert!(check_buckets(&[day.clone(), next.clone(), bucket(0, 24, "c")]).is_ok());
        let repeat = (PathBuf::from("again.json"), bucket(0, 24, "a").1);
        let again = check_buckets(&[day.clone(), next.clone(), repeat]);
        assert!(again.unwrap_err().to_string().contains("as in a.json:1"));
        let hour = check_buckets(&[next, bucket(5, 1, "h"), day]);
        assert!(hour
            .unwrap_err()
            .to_string()
            .contains("overlaps the bucket of"));
    }

    #[test]
    fn a_day_grouped_and_not_is_refused_only_when_the_tokens_agree() {
        let day = NaiveDate::from_ymd_opt(2025, 9, 1).unwrap();
        let row = |model: Option<&str>, input: u64| ProviderUsage {
            provider: "openai",
            model: model.map(str::to_string),
            day,
            tokens: [input, 0, 0, 0, input / 10],
        };
        let twice = [row(None, 30), row(Some("a"), 10), row(Some("b"), 20)];
        assert!(check_split(&twice).is_err());
        let two_orgs = [row(None, 30), row(Some("a"), 10)];
        assert!(check_split(&two_orgs).is_ok());
    }
}
