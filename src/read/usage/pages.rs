//! LiteLLM `/spend/logs/v2` pages (`{"data": [...], "total": …, "page": …,
//! "page_size": …, "total_pages": …}`), and the check that every page of a
//! listing was read: a page left out of the files given would lose its logs
//! without a word, and the pages say how many there are.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

/// Where a page sits in its listing: a listing is one query's pages, told
/// apart by what every page of it states (`total`, `page_size`,
/// `total_pages`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PageNumber {
    /// The listing's logs (`total`).
    pub total: u64,
    /// Logs per page (`page_size`).
    pub page_size: u64,
    /// The listing's pages (`total_pages`).
    pub total_pages: u64,
    /// This page's number, from 1 (`page`).
    pub page: u64,
}

/// A v2 page of `text`: its `data` array's text, the line that array
/// starts on within `text` (0 for the first), and where the page sits in
/// its listing (`None` where it does not say: a page without `total_pages`
/// cannot be checked).
pub fn page_of(text: &str) -> Option<(&str, u64, Option<PageNumber>)> {
    #[derive(Deserialize)]
    struct Page<'a> {
        #[serde(borrow)]
        data: &'a serde_json::value::RawValue,
        page: serde_json::Value,
        total: Option<u64>,
        page_size: Option<u64>,
        total_pages: Option<u64>,
    }
    if !text.contains("\"page\"") {
        return None;
    }
    let page = serde_json::from_str::<Page>(text).ok()?;
    let logs = page.data.get();
    let at = logs.as_ptr() as usize - text.as_ptr() as usize;
    let line = memchr::memchr_iter(b'\n', &text.as_bytes()[..at]).count() as u64;
    let number = match (page.page.as_u64(), page.total_pages) {
        (Some(number), Some(total_pages)) => Some(PageNumber {
            total: page.total.unwrap_or(0),
            page_size: page.page_size.unwrap_or(0),
            total_pages,
            page: number,
        }),
        _ => None,
    };
    logs.starts_with('[').then_some((logs, line, number))
}

/// Fail unless every listing whose pages were read (each page with the
/// file it was read from) was read whole: pages 1 to `total_pages`, each
/// at least once (a page read twice repeats its logs, which the
/// de-duplication drops). A page past the last is read only if empty (a
/// loop that stops at an empty page saves one).
pub fn check_listings(pages: &[(PathBuf, PageNumber, bool)]) -> Result<()> {
    let mut listings: BTreeMap<(u64, u64, u64), BTreeMap<u64, &Path>> = BTreeMap::new();
    for (path, number, empty) in pages {
        if number.page > number.total_pages && !empty || number.page == 0 {
            let what = if *empty {
                "a page of no logs"
            } else {
                "a page of logs"
            };
            return Err(Error::fatal(format!(
                "{}: a LiteLLM /spend/logs/v2 page numbered {} of {}, {what}: a page's number \
                 runs from 1 to total_pages (a page past the last may be empty)",
                path.display(),
                number.page,
                number.total_pages
            )));
        }
        let key = (number.total, number.page_size, number.total_pages);
        let listing = listings.entry(key).or_default();
        listing.entry(number.page).or_insert(path);
    }
    for ((total, page_size, total_pages), read) in listings {
        let missing: BTreeSet<u64> = (1..=total_pages)
            .filter(|p| !read.contains_key(p))
            .collect();
        if let Some(first) = missing.first() {
            let read: Vec<String> = (read.iter())
                .filter(|(page, _)| **page <= total_pages)
                .map(|(page, path)| format!("{page} ({})", path.display()))
                .collect();
            return Err(Error::fatal(format!(
                "LiteLLM /spend/logs/v2 listing of {total} logs ({total_pages} pages of \
                 {page_size}): page {first} of {total_pages} was not given ({} missing; read: \
                 {}): its logs would be lost; fetch every page of the listing",
                missing.len(),
                read.join(", ")
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(page: u64) -> PageNumber {
        PageNumber {
            total: 6,
            page_size: 2,
            total_pages: 3,
            page,
        }
    }

    #[test]
    fn a_listing_is_whole_with_every_page_and_refused_without_one() {
        let read = |pages: &[(u64, bool)]| {
            let pages: Vec<_> = (pages.iter())
                .map(|&(p, empty)| (PathBuf::from(format!("p{p}.json")), number(p), empty))
                .collect();
            check_listings(&pages).map_err(|e| e.to_string())
        };
        assert!(read(&[(3, false), (1, false), (2, false), (2, false)]).is_ok());
        assert!(read(&[(1, false), (2, false), (3, false), (4, true)]).is_ok());
        let missing = read(&[(1, false), (3, false)]).unwrap_err();
        assert!(
            missing
                .contains("page 2 of 3 was not given (1 missing; read: 1 (p1.json), 3 (p3.json))"),
            "{missing}"
        );
        assert!(read(&[(1, false), (2, false), (3, false), (4, false)]).is_err());
        // Two listings (another query's pages) are checked each on its own.
        let other = PageNumber {
            total: 1,
            page_size: 50,
            total_pages: 1,
            page: 1,
        };
        let both = [
            (PathBuf::from("a.json"), other, false),
            (PathBuf::from("b.json"), number(1), false),
        ];
        assert!(check_listings(&both).is_err());
        assert!(check_listings(&both[..1]).is_ok());
    }

    #[test]
    fn a_v2_page_is_its_logs_each_at_its_line() {
        let page = "{\n  \"data\": [\n    {\"request_id\": \"a\"},\n\n    {\"request_id\": \"b\"}\n  ],\n  \"total\": 2, \"page\": 1, \"page_size\": 50, \"total_pages\": 1\n}\n";
        let (logs, at, _) = page_of(page).unwrap();
        let mut seen = Vec::new();
        let mut each = |line, text: Result<&str, super::super::RowError>| {
            seen.push((line, text.unwrap().to_string()));
            Ok(())
        };
        super::super::for_each_in_array(logs, 1 + at, Path::new("p.json"), &mut each).unwrap();
        let at_lines = [(3, r#"{"request_id": "a"}"#), (5, r#"{"request_id": "b"}"#)];
        assert_eq!(seen, at_lines.map(|(l, t)| (l, t.to_string())));
    }

    #[test]
    fn a_page_says_where_it_sits_and_an_empty_one_is_a_page() {
        let page = r#"{"data": [], "total": 0, "page": 1, "page_size": 50, "total_pages": 0}"#;
        let (logs, at, number) = page_of(page).unwrap();
        assert_eq!((logs, at), ("[]", 0));
        assert_eq!(number.unwrap().total_pages, 0);
        let unnumbered = r#"{"data": [], "page": 1}"#;
        assert_eq!(page_of(unnumbered).unwrap().2, None);
        assert!(page_of(r#"{"request_id": "a", "data": []}"#).is_none());
        assert!(page_of(r#"{"data": null, "page": 1}"#).is_none());
    }
}
