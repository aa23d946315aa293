//! Billed usage, one record per request, from every source a fleet has.
//! Each adapter normalises its source into the same [`UsageRecord`]: input
//! split into uncached, cache read and cache writes (OpenAI-shaped sources
//! count cached tokens inside their prompt count; Anthropic-shaped ones do
//! not), the provider and model as priced, and the ids a span may carry.
//!
//! - [`canonical`]: tokenledger's usage CSV;
//! - [`litellm`]: LiteLLM proxy spend logs (`/spend/logs` JSON, JSON lines,
//!   or a CSV dump of `LiteLLM_SpendLogs`);
//! - [`openrouter`]: OpenRouter generation records (`/api/v1/generation`);
//! - [`bedrock`]: Amazon Bedrock model invocation logs.

pub mod bedrock;
pub mod canonical;
pub mod litellm;
pub mod openrouter;

use std::io::{BufRead, Read};
use std::path::Path;

use chrono::{DateTime, NaiveDateTime, Utc};
use rust_decimal::Decimal;

use crate::error::{Error, Result, Skips};
use crate::intern::Interner;
use crate::model::{UsageRecord, MAX_TOKENS};
use crate::money::parse_amount;

/// The usage formats tokenledger reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum UsageFormat {
    /// tokenledger's canonical usage CSV.
    Canonical,
    /// LiteLLM proxy spend logs (JSON array, JSON lines or CSV).
    Litellm,
    /// OpenRouter generation records (JSON or JSON lines).
    Openrouter,
    /// Amazon Bedrock model invocation logs (JSON lines, usually gzipped).
    Bedrock,
}

impl UsageFormat {
    /// The name shown in the summary.
    pub fn name(self) -> &'static str {
        match self {
            UsageFormat::Canonical => "canonical-csv",
            UsageFormat::Litellm => "litellm-spend-logs",
            UsageFormat::Openrouter => "openrouter-generations",
            UsageFormat::Bedrock => "bedrock-invocation-logs",
        }
    }

    /// Detect a file's format from its CSV header or its JSON keys.
    pub fn detect(path: &Path) -> Result<UsageFormat> {
        let mut head = Vec::with_capacity(8192);
        super::open(path)?
            .take(8192)
            .read_to_end(&mut head)
            .map_err(|e| Error::io(path, e))?;
        let head = String::from_utf8_lossy(&head);
        let trimmed = head.trim_start();
        if trimmed.is_empty() {
            return Err(super::empty(path));
        }
        let has = |key: &str| head.contains(&format!("\"{key}\""));
        if trimmed.starts_with(['{', '[']) {
            if has("schemaType") || has("inputTokenCount") {
                return Ok(UsageFormat::Bedrock);
            }
            if has("native_tokens_prompt") || has("upstream_id") {
                return Ok(UsageFormat::Openrouter);
            }
            if has("request_id") && has("prompt_tokens") {
                return Ok(UsageFormat::Litellm);
            }
        } else {
            let header: Vec<&str> = head
                .lines()
                .next()
                .unwrap_or("")
                .split(',')
                .map(|h| h.trim().trim_matches('"'))
                .collect();
            let column = |name: &str| header.contains(&name);
            if column("request_id") && column("uncached_input_tokens") {
                return Ok(UsageFormat::Canonical);
            }
            if column("request_id") && column("prompt_tokens") {
                return Ok(UsageFormat::Litellm);
            }
        }
        Err(Error::fatal(format!(
            "{}: not a usage file tokenledger knows (canonical CSV, LiteLLM spend logs, OpenRouter \
             generations, Bedrock invocation logs); use --usage-format to force one",
            path.display()
        )))
    }
}

/// What one usage file held.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Billed records read.
    pub records: u64,
    /// Rows the source logged but that were not billed (failed calls).
    pub not_billed: u64,
}

/// Read every usage record of one file in `format`, passing each to `sink`.
pub fn read_file(
    path: &Path,
    format: UsageFormat,
    file: u32,
    interner: &mut Interner,
    skips: &mut Skips,
    sink: &mut dyn FnMut(UsageRecord),
) -> Result<ReadStats> {
    read_from(
        super::open(path)?,
        path,
        format,
        file,
        interner,
        skips,
        sink,
    )
}

/// Read usage records in `format` from `source`; `path` names it in errors.
pub fn read_from(
    source: impl BufRead,
    path: &Path,
    format: UsageFormat,
    file: u32,
    interner: &mut Interner,
    skips: &mut Skips,
    sink: &mut dyn FnMut(UsageRecord),
) -> Result<ReadStats> {
    let mut stats = ReadStats::default();
    let mut keep = |record: Option<UsageRecord>| match record {
        Some(r) => {
            stats.records += 1;
            sink(r)
        }
        None => stats.not_billed += 1,
    };
    let mut row = |line: u64, result: Result<Option<UsageRecord>, RowError>| match result {
        Ok(record) => {
            keep(record);
            Ok(())
        }
        Err((kind, message)) => skips.handle(Error::record(path, line, kind, message)),
    };
    match format {
        UsageFormat::Canonical => canonical::read(source, path, file, interner, &mut row)?,
        UsageFormat::Litellm => litellm::read(source, path, file, interner, &mut row)?,
        UsageFormat::Openrouter => for_each_json(source, path, &mut |line, json| {
            row(
                line,
                json.and_then(|json| openrouter::parse(json, file, line, interner)),
            )
        })?,
        UsageFormat::Bedrock => for_each_json(source, path, &mut |line, json| {
            row(
                line,
                json.and_then(|json| bedrock::parse(json, file, line, interner)),
            )
        })?,
    }
    Ok(stats)
}

/// A record-level problem: its kind (counted under `--lenient`) and message.
pub type RowError = (&'static str, String);

/// Where an adapter sends each row: its line and what it made of it (`None`
/// for a row that was not billed).
pub type RowSink<'s> = dyn FnMut(u64, Result<Option<UsageRecord>, RowError>) -> Result<()> + 's;

/// Where [`for_each_json`] sends each record: its line and its JSON text (or
/// what was wrong with it).
pub type JsonSink<'s> = dyn FnMut(u64, Result<&str, RowError>) -> Result<()> + 's;

/// A CSV reading error: record-level when it has a position.
pub fn csv_error(path: &Path, e: csv::Error) -> Error {
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("row has {len} fields, the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { err, .. } => format!("invalid UTF-8 in field {}", err.field() + 1),
        _ => e.to_string(),
    };
    match e.position() {
        Some(p) => Error::record(path, p.line(), "bad-csv", message),
        None => Error::fatal(format!("{}: {message}", path.display())),
    }
}

/// A token count from text: a whole, non-negative, plausible number;
/// empty means 0.
pub fn parse_count(value: &str, name: &str) -> Result<u64, RowError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(0);
    }
    match value.parse::<u64>() {
        Ok(n) => count(Some(n), name),
        Err(_) => Err((
            "bad-token-count",
            format!("{name}: expected a whole non-negative number of tokens, got \"{value}\""),
        )),
    }
}

/// A token count from a number field (absent means 0), within the plausible range.
pub fn count(value: Option<u64>, name: &str) -> Result<u64, RowError> {
    match value.unwrap_or(0) {
        n if n <= MAX_TOKENS => Ok(n),
        n => Err((
            "bad-token-count",
            format!(
                "{name}: {n} tokens in one request is beyond the plausible maximum of {MAX_TOKENS}"
            ),
        )),
    }
}

/// `total` minus the cached parts it includes, for sources whose prompt
/// count includes cache reads and writes.
pub fn uncached(total: u64, cached: u64, name: &str) -> Result<u64, RowError> {
    total.checked_sub(cached).ok_or_else(|| {
        (
            "bad-token-count",
            format!("{name} is {total}, fewer than the {cached} cached tokens it includes"),
        )
    })
}

/// An RFC 3339 timestamp with an explicit offset, converted to UTC.
pub fn parse_timestamp(value: &str) -> Result<DateTime<Utc>, RowError> {
    DateTime::parse_from_rfc3339(value.trim()).map(|t| t.with_timezone(&Utc)).map_err(|_| {
        (
            "bad-timestamp",
            format!("timestamp: expected RFC 3339 with a time zone (2025-06-01T12:00:00Z), got \"{value}\""),
        )
    })
}

/// A timestamp from a source that writes UTC without saying so (LiteLLM's
/// database): RFC 3339, or a naive date-time taken as UTC.
pub fn parse_utc_timestamp(value: &str, name: &str) -> Result<DateTime<Utc>, RowError> {
    let value = value.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok(t.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(value, f).ok())
        .map(|t| t.and_utc())
        .ok_or_else(|| {
            (
                "bad-timestamp",
                format!("{name}: expected a date and time, got \"{value}\""),
            )
        })
}

/// A money amount from a JSON number or string's literal text, exactly.
pub fn parse_usd(raw: &str, name: &str) -> Result<Decimal, RowError> {
    parse_amount(raw.trim().trim_matches('"')).ok_or_else(|| {
        (
            "bad-cost",
            format!("{name}: expected a decimal number of USD, got {raw}"),
        )
    })
}

/// The provider name pricing uses, from the names gateways write.
pub fn provider_name(raw: &str) -> String {
    let lower = raw.trim().to_ascii_lowercase();
    match lower.as_str() {
        "vertex_ai" | "vertex_ai_beta" | "gemini" | "google ai studio" | "google vertex"
        | "gcp.gemini" | "gcp.vertex_ai" => "google".into(),
        "bedrock" | "amazon bedrock" | "aws.bedrock" => "aws.bedrock".into(),
        "azure" | "azure openai" | "azure.ai.openai" => "azure".into(),
        _ => lower,
    }
}

/// A model id without a `provider/` prefix (`anthropic/claude-sonnet-4`).
pub fn bare_model(model: &str) -> &str {
    model.rsplit_once('/').map_or(model, |(_, m)| m).trim()
}

/// Call `each` with every JSON record of a source (or the record's problem):
/// one JSON array of records, one document, or one record per line (read as
/// a stream).
pub fn for_each_json(mut source: impl BufRead, path: &Path, each: &mut JsonSink) -> Result<()> {
    let io = |e| Error::io(path, e);
    let mut first = String::new();
    let mut line_no = 0;
    while first.trim().is_empty() {
        first.clear();
        if source.read_line(&mut first).map_err(io)? == 0 {
            return Err(super::empty(path));
        }
        line_no += 1;
    }
    let whole_document = first.trim_start().starts_with('[')
        || serde_json::from_str::<serde::de::IgnoredAny>(first.trim()).is_err();
    if whole_document {
        let mut text = first;
        source.read_to_string(&mut text).map_err(io)?;
        let start = line_no - 1;
        if text.trim_start().starts_with('[') {
            let records: Vec<&serde_json::value::RawValue> =
                serde_json::from_str(&text).map_err(|e| {
                    Error::fatal(format!(
                        "{}:{}: not a JSON array of records: {e}",
                        path.display(),
                        start + e.line() as u64
                    ))
                })?;
            for raw in records {
                let offset = raw.get().as_ptr() as usize - text.as_ptr() as usize;
                let line = start + 1 + text[..offset].matches('\n').count() as u64;
                each(line, Ok(raw.get()))?;
            }
            return Ok(());
        }
        return each(start + 1, Ok(&text));
    }
    each(line_no, Ok(first.trim()))?;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if source.read_until(b'\n', &mut buf).map_err(io)? == 0 {
            return Ok(());
        }
        line_no += 1;
        match std::str::from_utf8(&buf) {
            Ok(line) if line.trim().is_empty() => {}
            Ok(line) => each(line_no, Ok(line.trim()))?,
            Err(e) => each(
                line_no,
                Err((
                    "invalid-utf8",
                    format!("invalid UTF-8 at byte {}", e.valid_up_to()),
                )),
            )?,
        }
    }
}
