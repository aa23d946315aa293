//! Provider usage reports: token aggregates per time bucket, with no
//! request ids, read for coverage (is a gateway log missing traffic that
//! bypassed it?).
//!
//! - OpenAI `GET /v1/organization/usage/completions` pages (`input_tokens`
//!   includes cached tokens; `input_uncached_tokens` where given) and the
//!   dashboard CSV (numbers written as floats, `batch` as `FALSE`, blank
//!   rows for empty buckets);
//! - Anthropic `GET /v1/organizations/usage_report/messages` pages and the
//!   Console usage CSV.
//!
//! Rows of a report not grouped by model compare against all the provider's
//! models that day. Each report's buckets are kept ([`BucketRead`]) for the
//! checks that count each provider's tokens once across reports
//! ([`check_buckets`]), and its pages for whether it was read to its last.

mod buckets;
mod once;

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::csv_error;
use super::csv_lines::next_csv_record;
use super::usage::{for_each_json, RowError};
use crate::error::{Error, Result, Skips};
use crate::model::{unix_seconds, MAX_TOKENS, UNIX_SECONDS};
use crate::read::csv_lines::check_header;
use crate::read::report_pages::PageSeen;

pub use buckets::{BucketRead, ResultRead};
pub use once::check_buckets;

/// Tokens a provider reports for one (day, model).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderUsage {
    /// `openai` or `anthropic`.
    pub provider: &'static str,
    /// The model, or `None` for a report not grouped by model.
    pub model: Option<String>,
    /// The UTC day the bucket starts on.
    pub day: NaiveDate,
    /// Tokens per type, indexed by [`crate::model::TokenType::index`]
    /// (a bucket may hold more than one record's [`MAX_TOKENS`]).
    pub tokens: [u64; 5],
}

/// The provider usage formats tokenledger reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    OpenAiPages,
    OpenAiCsv,
    AnthropicPages,
    AnthropicCsv,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::OpenAiPages => "openai-usage-completions",
            Format::OpenAiCsv => "openai-usage-csv",
            Format::AnthropicPages => "anthropic-usage-report",
            Format::AnthropicCsv => "anthropic-usage-csv",
        }
    }

    fn detect(path: &Path, text: &str) -> Result<Format> {
        let head = &text[..(0..=text.len().min(4096))
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0)];
        let first = head.lines().next().unwrap_or("");
        let json = head.trim_start().starts_with(['{', '[']);
        if json && head.contains("organization.usage.completions.result") {
            return Ok(Format::OpenAiPages);
        }
        // As a key: a cost report has "uncached_input_tokens" as a value.
        let key = |name: &str| {
            head.contains(&format!("\"{name}\":")) || head.contains(&format!("\"{name}\" :"))
        };
        if json && (key("uncached_input_tokens") || key("cache_read_input_tokens")) {
            return Ok(Format::AnthropicPages);
        }
        match crate::read::report_pages::no_results_page(head) {
            Some(true) => return Ok(Format::OpenAiPages),
            Some(false) => return Ok(Format::AnthropicPages),
            None => {}
        }
        if !json && first.contains("num_model_requests") && first.contains("input_cached_tokens") {
            return Ok(Format::OpenAiCsv);
        }
        if !json && first.contains("usage_input_tokens_no_cache") {
            return Ok(Format::AnthropicCsv);
        }
        Err(Error::fatal(format!(
            "{}: not a provider usage report tokenledger knows (OpenAI usage/completions pages or CSV, \
             Anthropic usage_report/messages pages or Console CSV)",
            path.display()
        )))
    }
}

/// Read a provider usage report from `text`; `path` names it in errors.
pub fn parse_text(path: &Path, text: &str, skips: &mut Skips) -> Result<Report> {
    let format = Format::detect(path, text)?;
    let mut report = Report {
        format: format.name(),
        ..Report::default()
    };
    let mut push = |line: u64, result: std::result::Result<PageRead, RowError>| match result {
        Ok((rows, buckets, page)) => {
            report.rows.extend(rows);
            report.buckets.extend(buckets);
            report.pages.extend(page);
            Ok(())
        }
        Err((kind, message)) => skips.handle(Error::record(path, line, kind, message)),
    };
    let (provider, kind, tokens_of): (_, _, TokensOf) = match format {
        Format::OpenAiPages => ("openai", "OpenAI usage", openai_result),
        Format::AnthropicPages => ("anthropic", "Anthropic usage_report", anthropic_result),
        Format::OpenAiCsv | Format::AnthropicCsv => {
            let buckets = csv_rows(path, text, format, &mut |line, row| {
                push(line, row.map(|r| (vec![r], Vec::new(), None)))
            })?;
            report.buckets = buckets;
            return Ok(report);
        }
    };
    for_each_json(text.as_bytes(), path, &mut |line, json| {
        let page = json.and_then(|json| page_rows(json, (provider, kind), line, tokens_of));
        push(line, page)
    })?;
    Ok(report)
}

/// The columns an OpenAI usage CSV must have: its time and every count read.
const OPENAI_CSV_COLUMNS: [&str; 4] = [
    "start_time",
    "input_tokens",
    "input_cached_tokens",
    "output_tokens",
];

/// The columns an Anthropic Console usage CSV must have (its cache writes
/// as `usage_input_tokens_cache_write_5m` and `_1h`, or, in an export of
/// before 1-hour caching, one `usage_input_tokens_cache_write`).
const ANTHROPIC_CSV_COLUMNS: [&str; 4] = [
    "usage_date_utc",
    "usage_input_tokens_no_cache",
    "usage_input_tokens_cache_read",
    "usage_output_tokens",
];

/// An Anthropic Console CSV's cache write columns: both lifetimes, or the
/// one of an export of before 1-hour caching (5-minute writes).
const ANTHROPIC_CACHE_WRITES: [&str; 3] = [
    "usage_input_tokens_cache_write_5m",
    "usage_input_tokens_cache_write_1h",
    "usage_input_tokens_cache_write",
];

/// Each row of a usage CSV (`format`), with its line, to `each`; its rows
/// of one time, as buckets.
fn csv_rows(
    path: &Path,
    text: &str,
    format: Format,
    each: &mut dyn FnMut(u64, std::result::Result<ProviderUsage, RowError>) -> Result<()>,
) -> Result<Vec<BucketRead>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut headers = reader
        .headers()
        .map_err(|e| csv_error(path, text, e))?
        .clone();
    // A padded header is its column's name (trimmed once, not per lookup).
    headers.trim();
    let line = reader.position().line().saturating_sub(1).max(1);
    check_header(path, line, headers.iter().map(str::as_bytes))?;
    let required = match format {
        Format::OpenAiCsv => &OPENAI_CSV_COLUMNS[..],
        _ => &ANTHROPIC_CSV_COLUMNS[..],
    };
    let has = |name: &str| headers.iter().any(|h| h == name);
    let mut missing: Vec<&str> = required.iter().copied().filter(|n| !has(n)).collect();
    let [five, hour, one] = ANTHROPIC_CACHE_WRITES;
    if format == Format::AnthropicCsv && !(has(five) && has(hour) || has(one)) {
        missing.extend([five, hour]);
    }
    if !missing.is_empty() {
        return Err(Error::fatal(format!(
            "{}:{line}: the usage CSV's header lacks {}: a count without its column would read \
             as 0",
            path.display(),
            missing.join(", ")
        )));
    }
    let mut buckets: BTreeMap<_, BucketRead> = BTreeMap::new();
    let mut record = csv::StringRecord::new();
    let source = (path, text, headers.len());
    while let Some((line, unclosed)) = next_csv_record(source, &mut reader, &mut record)? {
        if let Some(why) = unclosed {
            return Err(Error::fatal(format!("{}:{line}: {why}", path.display())));
        }
        if record.iter().all(|f| f.trim().is_empty()) {
            continue; // an empty bucket
        }
        let row = CsvRow {
            headers: &headers,
            record: &record,
        };
        let usage = match format {
            Format::OpenAiCsv => openai_csv_row(&row),
            _ => anthropic_csv_row(&row),
        };
        if let Ok(usage) = &usage {
            let times = row.times(usage.day);
            let bucket = buckets.entry(times).or_insert_with(|| BucketRead {
                provider: usage.provider,
                times,
                content: String::new(),
                line,
                results: Vec::new(),
            });
            bucket.content += &(record.iter().collect::<Vec<_>>().join(",") + "\n");
            let value = |name: &str| Some(row.get(row.column(name)).to_string());
            bucket.results.push(ResultRead::new(value, usage.tokens));
        }
        each(line, usage)?;
    }
    Ok(buckets.into_values().collect())
}

/// The largest token count one bucket of a provider report may hold: a
/// thousand of the largest plausible requests ([`MAX_TOKENS`]). Anything
/// larger is corruption; the bound is also below 2^53, so a count written
/// as a float is exact.
pub const MAX_BUCKET_TOKENS: u64 = 1_000 * MAX_TOKENS;

/// A count written as an integer or a float (`59200.0`), within range.
fn count(value: Option<&Value>, name: &str) -> std::result::Result<u64, RowError> {
    let v = match value {
        None | Some(Value::Null) => return Ok(0),
        Some(Value::String(s)) => return text_count(s, name),
        Some(v) => v,
    };
    if let Some(n) = v.as_u64() {
        return in_range(n, &v.to_string(), name);
    }
    match v.as_f64() {
        Some(f) if f.fract() == 0.0 && f >= 0.0 && f <= MAX_BUCKET_TOKENS as f64 => Ok(f as u64),
        Some(f) if f.fract() == 0.0 && f >= 0.0 => Err(too_large(&v.to_string(), name)),
        _ => Err((
            "bad-token-count",
            format!("{name}: expected a whole number of tokens, got {v}"),
        )),
    }
}

/// A count as text (`59200`, `59200.0`, empty for 0), within range.
fn text_count(text: &str, name: &str) -> std::result::Result<u64, RowError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(0);
    }
    match text.strip_suffix(".0").unwrap_or(text).parse::<u64>() {
        Ok(n) => in_range(n, text, name),
        Err(e) if *e.kind() == std::num::IntErrorKind::PosOverflow => Err(too_large(text, name)),
        Err(_) => Err((
            "bad-token-count",
            format!("{name}: expected a whole number of tokens, got \"{text}\""),
        )),
    }
}

/// `n` (written as `text`) if at most [`MAX_BUCKET_TOKENS`].
fn in_range(n: u64, text: &str, name: &str) -> std::result::Result<u64, RowError> {
    match n {
        n if n <= MAX_BUCKET_TOKENS => Ok(n),
        _ => Err(too_large(text, name)),
    }
}

fn too_large(text: &str, name: &str) -> RowError {
    (
        "bad-token-count",
        format!(
            "{name}: {text} tokens in one bucket is beyond the plausible maximum of {MAX_BUCKET_TOKENS}"
        ),
    )
}

/// OpenAI's split: `input_tokens` includes cache reads (and writes, where
/// reported); `input_uncached_tokens` is used when present.
fn openai_tokens(
    input: u64,
    cached: u64,
    written: u64,
    uncached: Option<u64>,
    output: u64,
) -> std::result::Result<[u64; 5], RowError> {
    let uncached = match uncached {
        Some(u) => u,
        None => input.checked_sub(cached + written).ok_or_else(|| {
            ("bad-token-count", format!("input_tokens {input} is fewer than its {cached} cached and {written} written tokens"))
        })?,
    };
    Ok([uncached, cached, written, 0, output])
}

#[derive(Deserialize)]
struct Page {
    data: Vec<Bucket>,
    has_more: Option<bool>,
}

#[derive(Deserialize)]
struct Bucket {
    #[serde(alias = "starting_at")]
    start_time: Value,
    #[serde(alias = "ending_at")]
    end_time: Option<Value>,
    results: Vec<serde_json::Map<String, Value>>,
}

/// What one provider usage report held.
#[derive(Debug, Default)]
pub struct Report {
    /// Its format's name.
    pub format: &'static str,
    /// Its rows.
    pub rows: Vec<ProviderUsage>,
    /// Its pages' buckets with results (JSON pages only).
    pub buckets: Vec<BucketRead>,
    /// Its pages (JSON pages that say `has_more`).
    pub pages: Vec<PageSeen>,
}

/// The rows, buckets and page of one JSON page.
type PageRead = (Vec<ProviderUsage>, Vec<BucketRead>, Option<PageSeen>);

/// A report result's tokens, read by its provider's rule.
type TokensOf = fn(&serde_json::Map<String, Value>) -> std::result::Result<[u64; 5], RowError>;

fn bucket_time(start: &Value) -> std::result::Result<DateTime<Utc>, RowError> {
    bucket_day(start).map(|(t, _)| t)
}

fn bucket_day(start: &Value) -> std::result::Result<(DateTime<Utc>, NaiveDate), RowError> {
    let day = match start {
        Value::Number(n) => n.as_i64().and_then(unix_seconds),
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc)),
        _ => None,
    };
    day.map(|t| (t, t.date_naive())).ok_or_else(|| {
        let why = "not a time (unix seconds from 2000 to 2099, or RFC 3339)";
        ("bad-date", format!("bucket time {start} is {why}"))
    })
}

fn page(json: &str) -> std::result::Result<Page, RowError> {
    crate::read::json_field::from_json(json, "a usage report page")
}

/// The rows of one page of `provider`'s report (`kind`), each result's
/// tokens read by `tokens_of`; its buckets with results, and the page.
fn page_rows(
    json: &str,
    (provider, kind): (&'static str, &'static str),
    line: u64,
    tokens_of: TokensOf,
) -> std::result::Result<PageRead, RowError> {
    let (page, mut rows, mut buckets) = (page(json)?, Vec::new(), Vec::new());
    let mut latest = None;
    for bucket in page.data {
        let (start, day) = bucket_day(&bucket.start_time)?;
        let end = bucket.end_time.as_ref().map(bucket_time).transpose()?;
        latest = latest.max(Some(day));
        let mut results = Vec::new();
        for r in &bucket.results {
            let (model, tokens) = (model_of(r), tokens_of(r)?);
            results.push(ResultRead::new(|name| buckets::json_value(r, name), tokens));
            rows.push(ProviderUsage {
                provider,
                model,
                day,
                tokens,
            });
        }
        if !bucket.results.is_empty() {
            buckets.push(BucketRead {
                provider,
                times: (start, end.unwrap_or(start)),
                content: serde_json::to_string(&bucket.results).unwrap_or_default(),
                line,
                results,
            });
        }
    }
    let seen = (page.has_more).map(|more| PageSeen { kind, more, latest });
    Ok((rows, buckets, seen))
}

/// A result's model, where the report is grouped by model.
fn model_of(result: &serde_json::Map<String, Value>) -> Option<String> {
    result
        .get("model")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .map(str::to_string)
}

/// An OpenAI usage result's tokens (`input_tokens` includes cached ones).
fn openai_result(r: &serde_json::Map<String, Value>) -> std::result::Result<[u64; 5], RowError> {
    if let Some(object) = r.get("object").and_then(Value::as_str) {
        if !object.starts_with("organization.usage.") {
            let why = format!(
                "a result of \"{object}\", not of a usage report (a cost report is a bill: give \
                 it to --invoice)"
            );
            return Err(("not-usage", why));
        }
    }
    let uncached = r
        .get("input_uncached_tokens")
        .filter(|v| !v.is_null())
        .map(|v| count(Some(v), "input_uncached_tokens"))
        .transpose()?;
    openai_tokens(
        count(r.get("input_tokens"), "input_tokens")?,
        count(r.get("input_cached_tokens"), "input_cached_tokens")?,
        count(
            r.get("input_cache_write_tokens"),
            "input_cache_write_tokens",
        )?,
        uncached,
        count(r.get("output_tokens"), "output_tokens")?,
    )
}

/// An Anthropic usage result's tokens (a result counting none is another
/// report's: a cost report's `amount`, say).
fn anthropic_result(r: &serde_json::Map<String, Value>) -> std::result::Result<[u64; 5], RowError> {
    let counts = [
        "uncached_input_tokens",
        "cache_read_input_tokens",
        "output_tokens",
    ];
    if !counts.iter().any(|k| r.contains_key(*k)) {
        let why = "a result without uncached_input_tokens, cache_read_input_tokens or \
                   output_tokens, not of a usage report (a cost report is a bill: give it to \
                   --invoice)";
        return Err(("not-usage", why.to_string()));
    }
    let creation = r.get("cache_creation");
    Ok([
        count(r.get("uncached_input_tokens"), "uncached_input_tokens")?,
        count(r.get("cache_read_input_tokens"), "cache_read_input_tokens")?,
        count(
            creation.and_then(|c| c.get("ephemeral_5m_input_tokens")),
            "ephemeral_5m_input_tokens",
        )?,
        count(
            creation.and_then(|c| c.get("ephemeral_1h_input_tokens")),
            "ephemeral_1h_input_tokens",
        )?,
        count(r.get("output_tokens"), "output_tokens")?,
    ])
}

fn csv_day(text: &str, name: &str) -> std::result::Result<NaiveDate, RowError> {
    let whole = text.strip_suffix(".0").unwrap_or(text);
    whole
        .parse::<i64>()
        .ok()
        .and_then(unix_seconds)
        .map(|t| t.date_naive())
        .or_else(|| NaiveDate::parse_from_str(text.get(..10).unwrap_or(text), "%Y-%m-%d").ok())
        .ok_or_else(|| {
            (
                "bad-date",
                format!(
                    "{name}: expected a date or unix seconds from 2000 to 2099, got \"{text}\"{}",
                    match whole.parse::<i64>() {
                        Ok(n) if n < UNIX_SECONDS.start =>
                            " (a spreadsheet's serial date? write YYYY-MM-DD)",
                        Ok(_) => " (milliseconds?)",
                        Err(_) => "",
                    }
                ),
            )
        })
}

/// A CSV record with its header, to read fields by name.
struct CsvRow<'a> {
    headers: &'a csv::StringRecord,
    record: &'a csv::StringRecord,
}

impl<'a> CsvRow<'a> {
    /// The column a grouping field is in (the Console CSV's model is its
    /// `model_version`).
    fn column<'n>(&self, name: &'n str) -> &'n str {
        match name {
            "model" if self.headers.iter().any(|h| h == "model_version") => "model_version",
            name => name,
        }
    }

    /// The row's bucket: its `start_time` and `end_time` where given (unix
    /// seconds), else its UTC `day`.
    fn times(&self, day: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
        let time = |name: &str| {
            let text = self.get(name);
            let whole = text.strip_suffix(".0").unwrap_or(text).parse::<i64>().ok();
            whole.and_then(unix_seconds)
        };
        let start = day.and_time(chrono::NaiveTime::MIN).and_utc();
        match (time("start_time"), time("end_time")) {
            (Some(from), Some(to)) => (from, to),
            _ => (start, start + chrono::Duration::days(1)),
        }
    }

    fn get(&self, name: &str) -> &'a str {
        self.headers
            .iter()
            .position(|h| h == name)
            .and_then(|i| self.record.get(i))
            .unwrap_or("")
            .trim()
    }
}

fn openai_csv_row(row: &CsvRow) -> std::result::Result<ProviderUsage, RowError> {
    let get = |name: &str| row.get(name);
    let uncached = match get("input_uncached_tokens") {
        "" => None,
        v => Some(text_count(v, "input_uncached_tokens")?),
    };
    Ok(ProviderUsage {
        provider: "openai",
        model: Some(get("model").to_string()).filter(|m| !m.is_empty()),
        day: csv_day(get("start_time"), "start_time")?,
        tokens: openai_tokens(
            text_count(get("input_tokens"), "input_tokens")?,
            text_count(get("input_cached_tokens"), "input_cached_tokens")?,
            text_count(get("input_cache_write_tokens"), "input_cache_write_tokens")?,
            uncached,
            text_count(get("output_tokens"), "output_tokens")?,
        )?,
    })
}

fn anthropic_csv_row(row: &CsvRow) -> std::result::Result<ProviderUsage, RowError> {
    let get = |name: &str| row.get(name);
    Ok(ProviderUsage {
        provider: "anthropic",
        model: Some(get("model_version").to_string()).filter(|m| !m.is_empty()),
        day: csv_day(get("usage_date_utc"), "usage_date_utc")?,
        tokens: [
            text_count(
                get("usage_input_tokens_no_cache"),
                "usage_input_tokens_no_cache",
            )?,
            text_count(
                get("usage_input_tokens_cache_read"),
                "usage_input_tokens_cache_read",
            )?,
            match get("usage_input_tokens_cache_write_5m") {
                "" => text_count(
                    get("usage_input_tokens_cache_write"),
                    "usage_input_tokens_cache_write",
                )?,
                five => text_count(five, "usage_input_tokens_cache_write_5m")?,
            },
            text_count(
                get("usage_input_tokens_cache_write_1h"),
                "usage_input_tokens_cache_write_1h",
            )?,
            text_count(get("usage_output_tokens"), "usage_output_tokens")?,
        ],
    })
}
