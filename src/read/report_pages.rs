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

/// The reports read without their last page, each said in a sentence: of
/// one kind's pages with buckets on days `counted` (the period's), the
/// latest says `has_more: true`, and no page of none says the listing
/// ended. A report whose pages all lie outside those days is another
/// month's, not this one's.
pub fn cut_short(pages: &[PageSeen], counted: impl Fn(NaiveDate) -> bool) -> Vec<String> {
    let kinds: BTreeSet<&str> = pages.iter().map(|p| p.kind).collect();
    let mut notes = Vec::new();
    for kind in kinds {
        let of_kind = || pages.iter().filter(|p| p.kind == kind);
        let ended = of_kind().any(|p| p.latest.is_none() && !p.more);
        let in_days = of_kind().filter_map(|p| p.latest.filter(|d| counted(*d)).map(|d| (d, p)));
        let Some(latest) = in_days.clone().map(|(d, _)| d).max() else {
            continue;
        };
        let last = in_days.filter(|(d, _)| *d == latest).any(|(_, p)| !p.more);
        if !last && !ended {
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
            Some((first_path, first)) if first_path == path => Some(format!("on line {first}")),
            Some((first_path, first)) => Some(format!("in {}:{first}", first_path.display())),
            None => {
                self.0.insert(key, (path.to_path_buf(), line));
                None
            }
        }
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
        let september = |d: NaiveDate| d >= NaiveDate::from_ymd_opt(2025, 9, 2).unwrap();
        let cut = |pages: &[PageSeen]| cut_short(pages, september).len();
        assert_eq!(cut(&[page(true, Some(2)), page(false, Some(3))]), 0);
        assert_eq!(cut(&[page(false, Some(3)), page(true, Some(2))]), 0);
        assert_eq!(cut(&[page(true, Some(2)), page(true, Some(3))]), 1);
        // The end of a listing of days outside them ends nothing.
        assert_eq!(cut(&[page(true, Some(3)), page(false, Some(1))]), 1);
        // An empty last page ends it; pages all outside the days are none of it.
        assert_eq!(cut(&[page(true, Some(3)), page(false, None)]), 0);
        assert_eq!(cut(&[page(true, Some(1))]), 0);
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
