//! Invoices and cost reports: what the provider charged. Every format is
//! normalised into [`InvoiceLine`]s in the pricing table's currency.
//!
//! - tokenledger's invoice CSV (`provider,model,token_type,amount_usd`, …);
//! - Anthropic's Admin API `cost_report` JSON pages (`amount` is a string in
//!   **cents**) and the Console cost CSV;
//! - OpenAI's `/v1/organization/costs` JSON pages (`amount.value` in dollars,
//!   read from its literal text, never through f64) and the dashboard CSV,
//!   whose `line_item` (`"gpt-4.1-2025-04-14, cached input"`) carries model
//!   and token type.

mod anthropic;
mod openai;
mod tokenledger;

use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::usage::for_each_json;

use crate::error::{Error, Result, Skips};
use crate::model::{Origin, TokenType};
use crate::money::parse_amount;
use crate::read::csv_lines::check_header;

/// What kind of charge an invoice line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Charge {
    /// Usage: compared with the computed cost.
    Usage,
    /// A credit applied (usually negative).
    Credit,
    /// Tax.
    Tax,
    /// Any other adjustment.
    Adjustment,
}

impl Charge {
    /// The name used in the invoice CSV and reports.
    pub fn name(self) -> &'static str {
        match self {
            Charge::Usage => "usage",
            Charge::Credit => "credit",
            Charge::Tax => "tax",
            Charge::Adjustment => "adjustment",
        }
    }
}

/// One line of what a provider charged.
#[derive(Clone, Debug, PartialEq)]
pub struct InvoiceLine {
    /// Provider (`anthropic`, `openai`, …).
    pub provider: String,
    /// Model as the invoice names it; `None` for lines not about a model.
    pub model: Option<String>,
    /// Token type; `None` for lines not per token type (web search, tax…).
    pub meter: Meter,
    /// The UTC day the line covers, when it covers exactly one day.
    pub day: Option<NaiveDate>,
    /// The first and last UTC day the line covers, when it says.
    pub covers: Option<(NaiveDate, NaiveDate)>,
    /// Amount in the pricing table's currency (dollars, not cents).
    pub amount: Decimal,
    /// Usage, credit, tax or adjustment.
    pub charge: Charge,
    /// The line's own description, for lines without a model.
    pub description: String,
    /// The rate's qualifiers the line states (Anthropic's `service_tier` and
    /// `context_window`: `batch 0-200k`), when it states them.
    pub qualifiers: Option<String>,
    /// Where the line was read.
    pub origin: Origin,
}

/// The invoice formats tokenledger reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum InvoiceFormat {
    /// tokenledger's invoice CSV.
    Tokenledger,
    /// Anthropic Admin API cost_report JSON pages.
    AnthropicCostReport,
    /// Anthropic Console cost CSV.
    AnthropicCsv,
    /// OpenAI /v1/organization/costs JSON pages.
    OpenaiCosts,
    /// OpenAI dashboard cost CSV.
    OpenaiCsv,
}

impl InvoiceFormat {
    /// The name shown in the summary.
    pub fn name(self) -> &'static str {
        match self {
            InvoiceFormat::Tokenledger => "tokenledger-invoice-csv",
            InvoiceFormat::AnthropicCostReport => "anthropic-cost-report",
            InvoiceFormat::AnthropicCsv => "anthropic-cost-csv",
            InvoiceFormat::OpenaiCosts => "openai-costs",
            InvoiceFormat::OpenaiCsv => "openai-cost-csv",
        }
    }

    /// Detect a file's format from its first bytes: a CSV header, or the
    /// keys of a JSON page.
    pub fn detect(path: &Path, head: &str) -> Result<InvoiceFormat> {
        let trimmed = head.trim_start();
        if trimmed.starts_with('{') || trimmed.starts_with('[') {
            if head.contains("organization.costs.result") || head.contains("\"line_item\"") {
                return Ok(InvoiceFormat::OpenaiCosts);
            }
            if head.contains("\"cost_type\"") || head.contains("\"starting_at\"") {
                return Ok(InvoiceFormat::AnthropicCostReport);
            }
        } else {
            let header = head.lines().next().unwrap_or("");
            let has = |col: &str| header.split(',').any(|h| h.trim().trim_matches('"') == col);
            if has("amount_usd") && has("token_type") {
                return Ok(InvoiceFormat::Tokenledger);
            }
            if has("line_item") && has("amount_value") {
                return Ok(InvoiceFormat::OpenaiCsv);
            }
            if has("usage_date_utc") && has("cost_usd") {
                return Ok(InvoiceFormat::AnthropicCsv);
            }
        }
        Err(Error::fatal(format!(
            "{}: not an invoice format tokenledger knows (tokenledger invoice CSV, Anthropic cost_report \
             JSON or Console CSV, OpenAI costs JSON or dashboard CSV); use --invoice-format to force one",
            path.display()
        )))
    }
}

/// Read one invoice file. `format` forces a format; `currency` is the pricing
/// table's, and a line in another currency is an error.
pub fn read_file(
    path: &Path,
    format: Option<InvoiceFormat>,
    file: u32,
    currency: &str,
    skips: &mut Skips,
) -> Result<(InvoiceFormat, Vec<InvoiceLine>)> {
    parse_text(
        path,
        &super::read_text(path)?,
        format,
        file,
        currency,
        skips,
    )
}

/// Read invoice lines from `text`; `path` names it in errors.
pub fn parse_text(
    path: &Path,
    text: &str,
    format: Option<InvoiceFormat>,
    file: u32,
    currency: &str,
    skips: &mut Skips,
) -> Result<(InvoiceFormat, Vec<InvoiceLine>)> {
    let format = match format {
        Some(f) => f,
        None => {
            let head = (0..=text.len().min(4096))
                .rev()
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(0);
            InvoiceFormat::detect(path, &text[..head])?
        }
    };
    let reader = Reader {
        path,
        file,
        currency,
    };
    let mut lines = Vec::new();
    match format {
        InvoiceFormat::Tokenledger => {
            reader.csv(text, skips, &mut lines, tokenledger::tokenledger_row)?
        }
        InvoiceFormat::AnthropicCsv => {
            reader.csv(text, skips, &mut lines, anthropic::anthropic_row)?
        }
        InvoiceFormat::OpenaiCsv => reader.csv(text, skips, &mut lines, openai::openai_row)?,
        InvoiceFormat::AnthropicCostReport => {
            for_each_json(text.as_bytes(), path, &mut |line, json| {
                anthropic::anthropic_page(&reader, reader.page(line, json)?, line, &mut lines)
            })?
        }
        InvoiceFormat::OpenaiCosts => for_each_json(text.as_bytes(), path, &mut |line, json| {
            openai::openai_page(&reader, reader.page(line, json)?, line, &mut lines)
        })?,
    }
    Ok((format, lines))
}

/// A rate's qualifiers as Anthropic's cost report states them
/// (`service_tier`, `context_window`, and `inference_geo` unless global),
/// joined: `batch 0-200k`, `standard 0-200k us`.
pub fn qualifiers(
    service_tier: Option<&str>,
    context_window: Option<&str>,
    inference_geo: Option<&str>,
) -> Option<String> {
    let geo = inference_geo.filter(|g| !matches!(*g, "global" | "not_available"));
    let parts: Vec<&str> = [service_tier, context_window, geo]
        .into_iter()
        .flatten()
        .filter(|p| !p.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// What a usage line charges for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Meter {
    /// Tokens of one type.
    Tokens(TokenType),
    /// Requests of a per-request charge (`web_search`), by name.
    Requests(String),
    /// Anything else: the line's description says what.
    Other,
}

impl Meter {
    /// The `token_type` column of `reconciliation.csv`: the token type or
    /// the charge's name; empty for other lines.
    pub fn name(&self) -> &str {
        match self {
            Meter::Tokens(t) => t.key(),
            Meter::Requests(name) => name,
            Meter::Other => "",
        }
    }

    /// The token type, for token lines.
    pub fn token_type(&self) -> Option<TokenType> {
        match self {
            Meter::Tokens(t) => Some(*t),
            _ => None,
        }
    }

    pub(super) fn of(token_type: Option<TokenType>) -> Meter {
        token_type.map_or(Meter::Other, Meter::Tokens)
    }
}

/// A token type from the names the exports use.
pub fn token_type_named(name: &str) -> Option<TokenType> {
    let name = name.trim().to_ascii_lowercase();
    let name = name.strip_suffix("_tokens").unwrap_or(&name);
    Some(match name {
        "input" | "uncached_input" | "input_no_cache" | "uncached input" => TokenType::Input,
        "cache_read" | "cache_read_input" | "cached input" | "cached_input" => TokenType::CacheRead,
        "cache_write_5m" | "cache_creation.ephemeral_5m_input" | "cache_write_5m_input" => {
            TokenType::CacheWrite5m
        }
        "cache_write_1h" | "cache_creation.ephemeral_1h_input" | "cache_write_1h_input" => {
            TokenType::CacheWrite1h
        }
        "output" => TokenType::Output,
        _ => return None,
    })
}

/// The first and last UTC day of a bucket (its end is exclusive).
pub(super) fn bucket_days(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Option<(NaiveDate, NaiveDate)> {
    let last = end - chrono::Duration::nanoseconds(1);
    (end > start).then(|| (start.date_naive(), last.date_naive()))
}

/// The day a bucket covers, when it is exactly one UTC day.
pub(super) fn bucket_day(start: DateTime<Utc>, end: DateTime<Utc>) -> Option<NaiveDate> {
    (end - start == chrono::Duration::days(1) && start.time() == chrono::NaiveTime::MIN)
        .then(|| start.date_naive())
}

pub(super) type RowError = (&'static str, String);

/// Turns one CSV record (at a line) into an invoice line.
type RowReader =
    fn(&Reader, &Columns, &csv::StringRecord, u64) -> Result<Option<InvoiceLine>, RowError>;

pub(super) struct Reader<'a> {
    path: &'a Path,
    file: u32,
    currency: &'a str,
}

impl<'a> Reader<'a> {
    pub(super) fn error(&self, line: u64, kind: &'static str, message: String) -> Error {
        Error::record(self.path, line, kind, message)
    }

    pub(super) fn check_currency(&self, currency: &str) -> Result<(), RowError> {
        if currency.trim().eq_ignore_ascii_case(self.currency) {
            Ok(())
        } else {
            Err((
                "bad-currency",
                format!(
                    "currency \"{currency}\", but the pricing table is in {}",
                    self.currency
                ),
            ))
        }
    }

    /// One page of a JSON export (whole document, array element or line,
    /// as [`for_each_json`] walks them). A broken page is a file-level error.
    pub(super) fn page<T: for<'de> Deserialize<'de>>(
        &self,
        line: u64,
        json: Result<&str, RowError>,
    ) -> Result<T> {
        let bad = |message: String| {
            Error::fatal(format!(
                "{}:{line}: not a cost report page: {message}",
                self.path.display()
            ))
        };
        serde_json::from_str(json.map_err(|(_, message)| bad(message))?)
            .map_err(|e| bad(e.to_string()))
    }

    /// Read a CSV invoice with `row` turning each record into a line.
    pub(super) fn csv(
        &self,
        text: &str,
        skips: &mut Skips,
        out: &mut Vec<InvoiceLine>,
        row: RowReader,
    ) -> Result<()> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| Error::fatal(format!("{}: {e}", self.path.display())))?;
        let columns = Columns(headers.iter().map(|h| h.trim().to_string()).collect());
        let line = reader.position().line().saturating_sub(1).max(1);
        check_header(self.path, line, columns.0.iter().map(|h| h.as_bytes()))?;
        for record in reader.records() {
            let record = record.map_err(|e| super::csv_error(self.path, text, e))?;
            let line = super::csv_line(text, record.position());
            if record.iter().all(|f| f.trim().is_empty()) {
                continue; // dashboard exports write empty buckets as blank rows
            }
            let result = if record.len() == columns.0.len() {
                row(self, &columns, &record, line)
            } else {
                Err((
                    "bad-csv",
                    format!(
                        "row has {} fields, the header has {}",
                        record.len(),
                        columns.0.len()
                    ),
                ))
            };
            match result {
                Ok(Some(l)) => out.push(l),
                Ok(None) => {}
                Err((kind, message)) => skips.handle(self.error(line, kind, message))?,
            }
        }
        Ok(())
    }
}

/// A CSV header, to find fields by name.
pub(super) struct Columns(Vec<String>);

impl Columns {
    pub(super) fn get<'r>(&self, r: &'r csv::StringRecord, name: &str) -> Option<&'r str> {
        let i = self.0.iter().position(|h| h == name)?;
        r.get(i).map(str::trim)
    }

    pub(super) fn required<'r>(
        &self,
        r: &'r csv::StringRecord,
        name: &str,
    ) -> Result<&'r str, RowError> {
        match self.get(r, name) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(("missing-field", format!("{name} is missing or empty"))),
        }
    }

    pub(super) fn amount(&self, r: &csv::StringRecord, name: &str) -> Result<Decimal, RowError> {
        let v = self.required(r, name)?;
        parse_amount(v).ok_or_else(|| {
            (
                "bad-amount",
                format!("{name}: expected a decimal amount, got \"{v}\""),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_report_qualifiers_name_the_rate() {
        assert_eq!(
            qualifiers(Some("batch"), Some("0-200k"), Some("global")).as_deref(),
            Some("batch 0-200k")
        );
        assert_eq!(
            qualifiers(Some("standard"), Some("200k-1M"), Some("us")).as_deref(),
            Some("standard 200k-1M us")
        );
        assert_eq!(qualifiers(None, None, Some("not_available")), None);
    }

    #[test]
    fn token_type_names_across_exports() {
        assert_eq!(
            token_type_named("uncached_input_tokens"),
            Some(TokenType::Input)
        );
        assert_eq!(
            token_type_named("cache_creation.ephemeral_1h_input_tokens"),
            Some(TokenType::CacheWrite1h)
        );
        assert_eq!(token_type_named("cached input"), Some(TokenType::CacheRead));
        assert_eq!(token_type_named("web search"), None);
    }

    #[test]
    fn amounts_keep_every_digit() {
        assert_eq!(parse_amount("123.78912"), Some(Decimal::new(12378912, 5)));
        assert_eq!(parse_amount("1e-7"), Some(Decimal::new(1, 7)));
        assert_eq!(
            parse_amount("0.1").unwrap() + parse_amount("0.2").unwrap(),
            Decimal::new(3, 1)
        );
    }
}
