//! The pages of the providers' Admin API reports (OpenAI's and Anthropic's
//! cost and usage reports): each says whether a page follows
//! (`has_more`). Whether a report was read to its last page, and whether
//! a bucket was read twice (a page fetched or saved again) are told here,
//! for the bills and the usage reports alike.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

/// A report page read.
#[derive(Clone, Copy, Debug)]
pub struct PageSeen {
    /// The kind of report (`OpenAI costs`).
    pub kind: &'static str,
    /// Whether it says a page follows (`has_more`).
    pub more: bool,
    /// The UTC day its latest bucket starts on; `None` for a page of none.
    pub latest: Option<NaiveDate>,
}

/// Whether the JSON text `head` begins a report page of no results (idle
/// days, a pagination loop's empty last page), and if so whether its
/// envelope is OpenAI's (`"object": "page"`, buckets as objects) rather
/// than Anthropic's. A page with any result (a count, an amount, a result
/// object) is not one.
pub fn no_results_page(head: &str) -> Option<bool> {
    let has = |key: &str| head.contains(&format!("\"{key}\""));
    let json = head.trim_start().starts_with(['{', '[']);
    let results = ["organization.", "_tokens", "\"amount\"", "\"cost\""];
    let empty = !results.iter().any(|r| head.contains(r));
    (json && has("has_more") && has("data") && empty).then(|| has("object"))
}

/// The reports read without their last page, each said in a sentence:
/// of one kind's pages with a bucket, the latest (of those from the
/// period's first day on, given the period's `days`) says `has_more: true`,
/// and its latest bucket is within the period (a listing that runs on past
/// the period's end was read through it). Pages all before the period are
/// another month's listing, and end nothing of this one's; a page of no
/// buckets tells nothing.
pub fn cut_short(pages: &[PageSeen], days: Option<(NaiveDate, NaiveDate)>) -> Vec<String> {
    let kinds: BTreeSet<&str> = pages.iter().map(|p| p.kind).collect();
    let mut notes = Vec::new();
    for kind in kinds {
        let from = |d: NaiveDate| days.is_none_or(|(first, _)| d >= first);
        let dated = (pages.iter())
            .filter(|p| p.kind == kind)
            .filter_map(|p| p.latest.filter(|d| from(*d)).map(|d| (d, p.more)));
        let Some(latest) = dated.clone().map(|(d, _)| d).max() else {
            continue;
        };
        let last = dated.filter(|(d, _)| *d == latest).any(|(_, more)| !more);
        let within = days.is_none_or(|(_, end)| latest <= end);
        if !last && within {
            notes.push(format!(
                "the {kind} pages read end with a bucket of {latest} and say has_more: true: the \
                 pages after it are missing (fetch the pages until has_more is false)"
            ));
        }
    }
    notes
}

/// The buckets of a run's reports read so far, by their times and
/// content: the file and line each was read on.
#[derive(Debug, Default)]
pub struct BucketsSeen(HashMap<String, (PathBuf, u64)>);

impl BucketsSeen {
    /// `None` for a bucket (`key`: its times, groups and content) not read
    /// before, now noted as read at `path`:`line`; else where it was read
    /// first, said as `on line N` (the same file) or `in FILE:N`.
    pub fn again(&mut self, key: String, path: &Path, line: u64) -> Option<String> {
        match self.0.get(&key) {
            Some(first) => Some(place(first, path)),
            None => {
                self.0.insert(key, (path.to_path_buf(), line));
                None
            }
        }
    }

    /// Where `key` was read first, said from `path` as [`BucketsSeen::again`]
    /// says it; `None` if it was not, or only on `path`:`line` itself.
    pub fn seen_elsewhere(&self, key: &str, path: &Path, line: u64) -> Option<String> {
        let first = self.0.get(key)?;
        (*first != (path.to_path_buf(), line)).then(|| place(first, path))
    }
}

/// A place read first, said from `path`: `on line N` (the same file) or
/// `in FILE:N`.
fn place((first_path, first): &(PathBuf, u64), path: &Path) -> String {
    match first_path == path {
        true => format!("on line {first}"),
        false => format!("in {}:{first}", first_path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(more: bool, day: Option<u32>) -> PageSeen {
        PageSeen {
            kind: "OpenAI costs",
            more,
            latest: day.map(|d| NaiveDate::from_ymd_opt(2025, 9, d).unwrap()),
        }
    }

    #[test]
    fn a_report_is_cut_short_when_its_latest_page_in_the_days_says_more() {
        // The days: September 2nd to 20th.
        let day = |d: u32| NaiveDate::from_ymd_opt(2025, 9, d).unwrap();
        let cut = |pages: &[PageSeen]| cut_short(pages, Some((day(2), day(20)))).len();
        assert_eq!(cut(&[page(true, Some(2)), page(false, Some(3))]), 0);
        assert_eq!(cut(&[page(false, Some(3)), page(true, Some(2))]), 0);
        assert_eq!(cut(&[page(true, Some(2)), page(true, Some(3))]), 1);
        // The end of a listing of days before them ends nothing.
        assert_eq!(cut(&[page(true, Some(3)), page(false, Some(1))]), 1);
        // A page of none tells nothing; pages all before the days are none of it.
        assert_eq!(cut(&[page(true, Some(3)), page(false, None)]), 1);
        assert_eq!(cut(&[page(true, Some(1))]), 0);
        // A listing read through the last day, its last page beyond it.
        assert_eq!(cut(&[page(true, Some(19)), page(false, Some(21))]), 0);
        assert_eq!(cut(&[page(true, Some(19)), page(true, Some(21))]), 0);
        assert_eq!(cut_short(&[page(true, Some(19))], None).len(), 1);
    }

    #[test]
    fn a_bucket_read_again_names_where_it_was_read_first() {
        let mut seen = BucketsSeen::default();
        assert_eq!(seen.again("k".into(), Path::new("a.json"), 1), None);
        assert_eq!(seen.again("j".into(), Path::new("a.json"), 2), None);
        let same = seen.again("k".into(), Path::new("a.json"), 3);
        assert_eq!(same.as_deref(), Some("on line 1"));
        let other = seen.again("k".into(), Path::new("b.json"), 1);
        assert_eq!(other.as_deref(), Some("in a.json:1"));
    }
}
