//! Each provider's tokens counted once across the usage reports given: a
//! bucket read again (a page fetched or saved twice), buckets of two widths
//! over the same hours (one report fetched by day and by hour), one time's
//! report given under two groupings with the same tokens (by model and
//! not), or an organisation's project, key or workspace in two buckets of
//! one time would each count tokens twice, and blame the gateway for
//! traffic it never missed.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::BucketRead;
use crate::error::{Error, Result};
use crate::read::report_pages::BucketsSeen;

/// A bucket with the file it was read from.
type Placed = (PathBuf, BucketRead);

/// A provider and a bucket's times.
type Time<'b> = (&'b str, (DateTime<Utc>, DateTime<Utc>));

/// Tokens summed, and the first bucket that gave some of them.
type Summed<'b> = ([u64; 5], &'b Placed);

/// Fail for a bucket read twice, two buckets of one provider over
/// overlapping times but not the same, or one time's usage given twice
/// under two groupings or ids (each bucket with the file it was read
/// from). Buckets of the same times and other results are summed: two
/// organisations' reports.
pub fn check_buckets(buckets: &[Placed]) -> Result<()> {
    let mut seen = BucketsSeen::default();
    for (path, b) in buckets {
        let key = format!("{} {:?} {}", b.provider, b.times, b.content);
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
    let mut by_time: Vec<&Placed> = buckets.iter().collect();
    by_time.sort_by_key(|(_, b)| (b.provider, b.times));
    let mut reach: Option<&Placed> = None;
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
    check_groupings(buckets)
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

/// Fail for one time of a provider reported under two groupings with the
/// same tokens (one report fetched twice, grouped two ways: by model and
/// not, by key and not), or for an organisation's id (a project, an API
/// key, a workspace) in two buckets of one time (its usage given twice).
/// Buckets of one time and other tokens under other ids are two
/// organisations' reports, summed.
fn check_groupings(buckets: &[Placed]) -> Result<()> {
    let mut totals: BTreeMap<(Time, &[&str]), Summed> = BTreeMap::new();
    let mut ids: HashMap<(Time, &str), &Placed> = HashMap::new();
    for bucket in buckets {
        let time = (bucket.1.provider, bucket.1.times);
        for result in &bucket.1.results {
            let (sum, _) = totals
                .entry((time, &result.grouping))
                .or_insert(([0; 5], bucket));
            for (sum, n) in sum.iter_mut().zip(result.tokens) {
                *sum = sum.saturating_add(n);
            }
            for id in &result.ids {
                match ids.insert((time, id), bucket) {
                    Some(first) if !std::ptr::eq(first, bucket) => {
                        let why = format!("its {id} is in the bucket read at {} too", place(first));
                        return Err(twice(bucket, &why));
                    }
                    _ => {}
                }
            }
        }
    }
    let mut by_time: BTreeMap<Time, Vec<Summed>> = BTreeMap::new();
    for ((time, _), (sum, bucket)) in totals {
        let groupings = by_time.entry(time).or_default();
        if let Some((_, first)) = groupings.iter().find(|(other, _)| *other == sum) {
            let why = format!(
                "grouped otherwise, it says the same tokens as {}",
                place(first)
            );
            return Err(twice(bucket, &why));
        }
        groupings.push((sum, bucket));
    }
    Ok(())
}

/// Where a bucket was read: `FILE:LINE`.
fn place((path, bucket): &Placed) -> String {
    format!("{}:{}", path.display(), bucket.line)
}

/// The error for a bucket that gives usage given already, `why`.
fn twice((path, bucket): &Placed, why: &str) -> Error {
    Error::record(
        path,
        bucket.line,
        "repeated-usage",
        format!(
            "the {} usage of {} to {} is given twice: {why} (one report fetched twice? give one)",
            bucket.provider, bucket.times.0, bucket.times.1
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::super::ResultRead;
    use super::*;

    fn bucket(start_hour: i64, hours: i64, content: &str) -> (PathBuf, BucketRead) {
        let at = |h: i64| DateTime::<Utc>::from_timestamp(1_756_684_800 + h * 3_600, 0).unwrap();
        let read = BucketRead {
            provider: "openai",
            times: (at(start_hour), at(start_hour + hours)),
            content: content.into(),
            line: 1,
            results: Vec::new(),
        };
        (PathBuf::from(format!("{content}.json")), read)
    }

    /// A day's bucket of results, each its grouping field values and input.
    fn day(content: &str, results: &[(&[(&str, &str)], u64)]) -> (PathBuf, BucketRead) {
        let mut read = bucket(0, 24, content);
        for (fields, input) in results {
            let value = |name: &str| {
                fields
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            };
            read.1
                .results
                .push(ResultRead::new(value, [*input, 0, 0, 0, 0]));
        }
        read
    }

    #[test]
    fn buckets_are_read_once_and_at_one_width() {
        let first = bucket(0, 24, "a");
        let next = bucket(24, 24, "b");
        assert!(check_buckets(&[first.clone(), next.clone(), bucket(0, 24, "c")]).is_ok());
        let repeat = (PathBuf::from("again.json"), bucket(0, 24, "a").1);
        let again = check_buckets(&[first.clone(), next.clone(), repeat]);
        assert!(again.unwrap_err().to_string().contains("as in a.json:1"));
        let hour = check_buckets(&[next, bucket(5, 1, "h"), first]);
        assert!(hour
            .unwrap_err()
            .to_string()
            .contains("overlaps the bucket of"));
    }

    #[test]
    fn one_times_usage_under_two_groupings_or_one_id_twice_is_refused() {
        let by_model = day("m", &[(&[("model", "a")], 10), (&[("model", "b")], 20)]);
        let whole = day("w", &[(&[], 30)]);
        let by_key = day(
            "k",
            &[
                (&[("api_key_id", "key_1")], 12),
                (&[("api_key_id", "key_2")], 18),
            ],
        );
        let other_org = day("o", &[(&[], 7)]);
        assert!(check_buckets(&[by_model.clone(), other_org.clone()]).is_ok());
        let err = |b: &[(PathBuf, BucketRead)]| check_buckets(b).unwrap_err().to_string();
        assert!(err(&[by_model.clone(), whole.clone()]).contains("the same tokens as w.json:1"));
        assert!(err(&[whole, by_key.clone()]).contains("the same tokens as"));
        let refetch = day("r", &[(&[("api_key_id", "key_1")], 5)]);
        assert!(err(&[by_key, refetch]).contains("its api_key_id key_1 is in the bucket read at"));
    }
}
