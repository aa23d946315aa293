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

use std::path::Path;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::usage::for_each_json;

use crate::error::{Error, Result, Skips};
use crate::model::{Origin, TokenType, REQUESTS_SUFFIX};
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
            reader.csv(text, skips, &mut lines, Reader::tokenledger_row)?
        }
        InvoiceFormat::AnthropicCsv => {
            reader.csv(text, skips, &mut lines, Reader::anthropic_row)?
        }
        InvoiceFormat::OpenaiCsv => reader.csv(text, skips, &mut lines, Reader::openai_row)?,
        InvoiceFormat::AnthropicCostReport => {
            for_each_json(text.as_bytes(), path, &mut |line, json| {
                reader.anthropic_page(reader.page(line, json)?, line, &mut lines)
            })?
        }
        InvoiceFormat::OpenaiCosts => for_each_json(text.as_bytes(), path, &mut |line, json| {
            reader.openai_page(reader.page(line, json)?, line, &mut lines)
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

    fn of(token_type: Option<TokenType>) -> Meter {
        token_type.map_or(Meter::Other, Meter::Tokens)
    }
}

/// Anthropic's server tools billed per request (`cost_type` and the
/// usage's `server_tool_use` counts); code execution is billed by time.
const ANTHROPIC_PER_REQUEST: [&str; 2] = ["web_search", "web_fetch"];

/// The charge an Anthropic cost report's `cost_type` names: tokens (with
/// `token_type`), a per-request charge (`web_search`), or another line
/// (`code_execution`, billed by container time).
fn anthropic_meter(cost_type: Option<&str>, token_type: Option<&str>) -> Meter {
    match cost_type {
        None | Some("" | "tokens") => Meter::of(token_type.and_then(token_type_named)),
        Some(charge) if ANTHROPIC_PER_REQUEST.contains(&charge) => {
            Meter::Requests(charge.to_string())
        }
        Some(_) => Meter::Other,
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
fn bucket_days(start: DateTime<Utc>, end: DateTime<Utc>) -> Option<(NaiveDate, NaiveDate)> {
    let last = end - chrono::Duration::nanoseconds(1);
    (end > start).then(|| (start.date_naive(), last.date_naive()))
}

/// The day a bucket covers, when it is exactly one UTC day.
fn bucket_day(start: DateTime<Utc>, end: DateTime<Utc>) -> Option<NaiveDate> {
    (end - start == chrono::Duration::days(1) && start.time() == chrono::NaiveTime::MIN)
        .then(|| start.date_naive())
}

#[derive(Deserialize)]
struct AnthropicPage {
    data: Vec<AnthropicBucket>,
}

#[derive(Deserialize)]
struct AnthropicBucket {
    starting_at: DateTime<Utc>,
    ending_at: DateTime<Utc>,
    results: Vec<AnthropicCost>,
}

#[derive(Deserialize)]
struct AnthropicCost {
    amount: String,
    currency: String,
    cost_type: Option<String>,
    token_type: Option<String>,
    model: Option<String>,
    description: Option<String>,
    service_tier: Option<String>,
    context_window: Option<String>,
    inference_geo: Option<String>,
}

#[derive(Deserialize)]
struct OpenAiPage {
    data: Vec<OpenAiBucket>,
}

#[derive(Deserialize)]
struct OpenAiBucket {
    start_time: i64,
    end_time: i64,
    results: Vec<OpenAiCost>,
}

#[derive(Deserialize)]
struct OpenAiCost {
    amount: OpenAiAmount,
    line_item: Option<String>,
}

#[derive(Deserialize)]
struct OpenAiAmount {
    value: Box<RawValue>,
    currency: String,
}

type RowError = (&'static str, String);

/// Turns one CSV record (at a line) into an invoice line.
type RowReader<'r> =
    fn(&Reader<'r>, &Columns, &csv::StringRecord, u64) -> Result<Option<InvoiceLine>, RowError>;

struct Reader<'a> {
    path: &'a Path,
    file: u32,
    currency: &'a str,
}

impl<'a> Reader<'a> {
    fn error(&self, line: u64, kind: &'static str, message: String) -> Error {
        Error::record(self.path, line, kind, message)
    }

    fn check_currency(&self, currency: &str) -> Result<(), RowError> {
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
    fn page<T: for<'de> Deserialize<'de>>(
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

    fn anthropic_page(
        &self,
        page: AnthropicPage,
        line: u64,
        out: &mut Vec<InvoiceLine>,
    ) -> Result<()> {
        for bucket in page.data {
            let day = bucket_day(bucket.starting_at, bucket.ending_at);
            let covers = bucket_days(bucket.starting_at, bucket.ending_at);
            for cost in bucket.results {
                let fail = |(kind, message): RowError| self.error(line, kind, message);
                self.check_currency(&cost.currency).map_err(fail)?;
                let cents = parse_amount(&cost.amount).ok_or_else(|| {
                    fail((
                        "bad-amount",
                        format!(
                            "amount \"{}\" is not a decimal number of cents",
                            cost.amount
                        ),
                    ))
                })?;
                let meter = anthropic_meter(cost.cost_type.as_deref(), cost.token_type.as_deref());
                let description = cost.description.or(cost.cost_type).unwrap_or_default();
                let qualifiers = qualifiers(
                    cost.service_tier.as_deref(),
                    cost.context_window.as_deref(),
                    cost.inference_geo.as_deref(),
                );
                out.push(InvoiceLine {
                    provider: "anthropic".into(),
                    model: cost.model,
                    meter,
                    day,
                    covers,
                    amount: cents / Decimal::ONE_HUNDRED,
                    charge: Charge::Usage,
                    description,
                    qualifiers,
                    origin: Origin {
                        file: self.file,
                        line,
                    },
                });
            }
        }
        Ok(())
    }

    fn openai_page(&self, page: OpenAiPage, line: u64, out: &mut Vec<InvoiceLine>) -> Result<()> {
        for bucket in page.data {
            let time = |t: i64| DateTime::<Utc>::from_timestamp(t, 0);
            let bounds = time(bucket.start_time).zip(time(bucket.end_time));
            let day = bounds.and_then(|(s, e)| bucket_day(s, e));
            let covers = bounds.and_then(|(s, e)| bucket_days(s, e));
            for cost in bucket.results {
                let fail = |(kind, message): RowError| self.error(line, kind, message);
                self.check_currency(&cost.amount.currency).map_err(fail)?;
                let raw = cost.amount.value.get();
                let amount = parse_amount(raw).ok_or_else(|| {
                    fail((
                        "bad-amount",
                        format!("amount.value {raw} is not a number of dollars"),
                    ))
                })?;
                let mut item = self.openai_line(cost.line_item.as_deref(), day, amount, line);
                item.covers = covers;
                out.push(item);
            }
        }
        Ok(())
    }

    /// An OpenAI line: `line_item` is `"<model>, <kind>"` for token costs,
    /// anything else (web search, storage) is a line of its own.
    fn openai_line(
        &self,
        line_item: Option<&str>,
        day: Option<NaiveDate>,
        amount: Decimal,
        line: u64,
    ) -> InvoiceLine {
        let item = line_item.unwrap_or("").trim();
        let (model, meter) = match (item.rsplit_once(", "), item.split_once(" | ")) {
            (Some((model, kind)), _) => {
                let kind = kind.trim().trim_start_matches("batch ");
                (Some(model.to_string()), Meter::of(token_type_named(kind)))
            }
            // "web search tool calls | gpt-4o": a per-request charge.
            (None, Some((what, model))) => match what.trim().strip_suffix(" tool calls") {
                Some(tool) => (
                    Some(model.trim().to_string()),
                    Meter::Requests(tool.trim().replace(' ', "_")),
                ),
                None => (Some(model.trim().to_string()), Meter::Other),
            },
            (None, None) => (None, Meter::Other),
        };
        InvoiceLine {
            provider: "openai".into(),
            model,
            meter,
            day,
            covers: day.map(|d| (d, d)),
            amount,
            charge: Charge::Usage,
            qualifiers: None,
            description: if item.is_empty() {
                "(all usage, not grouped by line_item)".into()
            } else {
                item.into()
            },
            origin: Origin {
                file: self.file,
                line,
            },
        }
    }

    /// Read a CSV invoice with `row` turning each record into a line.
    fn csv(
        &self,
        text: &str,
        skips: &mut Skips,
        out: &mut Vec<InvoiceLine>,
        row: RowReader<'a>,
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

    fn tokenledger_row(
        &self,
        c: &Columns,
        r: &csv::StringRecord,
        line: u64,
    ) -> Result<Option<InvoiceLine>, RowError> {
        let provider = c.required(r, "provider")?;
        let amount = c.amount(r, "amount_usd")?;
        if let Some(currency) = c.get(r, "currency").filter(|s| !s.is_empty()) {
            self.check_currency(currency)?;
        }
        let meter = match c.get(r, "token_type").unwrap_or("") {
            "" => Meter::Other,
            name => match name.strip_suffix(REQUESTS_SUFFIX) {
                Some(charge) if !charge.is_empty() => Meter::Requests(charge.to_string()),
                _ => Meter::Tokens(TokenType::ALL.into_iter().find(|t| t.key() == name).ok_or_else(|| {
                    ("bad-token-type", format!("token_type: expected input, cache_read, cache_write_5m, cache_write_1h, output, <charge>_requests or empty, got \"{name}\""))
                })?),
            },
        };
        let charge = match c
            .get(r, "charge_category")
            .unwrap_or("")
            .to_ascii_lowercase()
            .as_str()
        {
            "" | "usage" => Charge::Usage,
            "credit" => Charge::Credit,
            "tax" => Charge::Tax,
            "adjustment" => Charge::Adjustment,
            other => {
                return Err((
                    "bad-charge",
                    format!(
                    "charge_category: expected usage, credit, tax or adjustment, got \"{other}\""
                ),
                ))
            }
        };
        let date = |name: &str| -> Result<Option<NaiveDate>, RowError> {
            match c.get(r, name).unwrap_or("") {
                "" => Ok(None),
                v => NaiveDate::from_str(v).map(Some).map_err(|_| {
                    (
                        "bad-date",
                        format!("{name}: expected a date like 2025-06-01, got \"{v}\""),
                    )
                }),
            }
        };
        // A line covering one day (period_end exclusive, or equal to start) is daily.
        let (start, end) = (date("period_start")?, date("period_end")?);
        let day = match (start, end) {
            (Some(s), Some(e)) if e < s => {
                return Err((
                    "bad-date",
                    format!("period_end {e} precedes period_start {s}"),
                ))
            }
            (Some(s), Some(e)) if e == s || e == s.succ_opt().unwrap_or(s) => Some(s),
            _ => None,
        };
        // period_end is exclusive (2025-06-01 to 2025-07-01 is June) or, if
        // written inclusive, at most one day late: either way a line whose
        // days all fall outside the month is told apart.
        let covers = match (start, end) {
            (Some(s), Some(e)) => Some((s, e.pred_opt().filter(|l| *l >= s).unwrap_or(s))),
            (Some(s), None) => Some((s, s)),
            _ => None,
        };
        Ok(Some(InvoiceLine {
            provider: provider.to_string(),
            model: c
                .get(r, "model")
                .filter(|m| !m.is_empty())
                .map(str::to_string),
            meter,
            day,
            covers,
            amount,
            charge,
            description: c.get(r, "description").unwrap_or("").to_string(),
            qualifiers: None,
            origin: Origin {
                file: self.file,
                line,
            },
        }))
    }

    fn anthropic_row(
        &self,
        c: &Columns,
        r: &csv::StringRecord,
        line: u64,
    ) -> Result<Option<InvoiceLine>, RowError> {
        let day = c.required(r, "usage_date_utc")?;
        let day = NaiveDate::from_str(day.get(..10).unwrap_or(day)).map_err(|_| {
            (
                "bad-date",
                format!("usage_date_utc: expected a date, got \"{day}\""),
            )
        })?;
        let cost_type = c.get(r, "cost_type").unwrap_or("tokens");
        let meter = anthropic_meter(Some(cost_type), c.get(r, "token_type"));
        Ok(Some(InvoiceLine {
            provider: "anthropic".into(),
            model: c
                .get(r, "model")
                .filter(|m| !m.is_empty())
                .map(str::to_string),
            meter,
            day: Some(day),
            covers: Some((day, day)),
            amount: c.amount(r, "cost_usd")?,
            charge: Charge::Usage,
            description: cost_type.to_string(),
            qualifiers: qualifiers(
                c.get(r, "service_tier"),
                c.get(r, "context_window"),
                c.get(r, "inference_geo"),
            ),
            origin: Origin {
                file: self.file,
                line,
            },
        }))
    }

    fn openai_row(
        &self,
        c: &Columns,
        r: &csv::StringRecord,
        line: u64,
    ) -> Result<Option<InvoiceLine>, RowError> {
        if let Some(currency) = c.get(r, "amount_currency").filter(|s| !s.is_empty()) {
            self.check_currency(currency)?;
        }
        let time = |name: &str| -> Result<DateTime<Utc>, RowError> {
            let v = c.required(r, name)?;
            // Whole seconds, sometimes written as a float ("1730419200.0").
            let whole = v.strip_suffix(".0").unwrap_or(v);
            whole
                .parse::<i64>()
                .ok()
                .and_then(|t| DateTime::<Utc>::from_timestamp(t, 0))
                .ok_or_else(|| {
                    (
                        "bad-date",
                        format!("{name}: expected unix seconds, got \"{v}\""),
                    )
                })
        };
        let day = bucket_day(time("start_time")?, time("end_time")?);
        let amount = c.amount(r, "amount_value")?;
        Ok(Some(self.openai_line(
            c.get(r, "line_item"),
            day,
            amount,
            line,
        )))
    }
}

/// A CSV header, to find fields by name.
struct Columns(Vec<String>);

impl Columns {
    fn get<'r>(&self, r: &'r csv::StringRecord, name: &str) -> Option<&'r str> {
        let i = self.0.iter().position(|h| h == name)?;
        r.get(i).map(str::trim)
    }

    fn required<'r>(&self, r: &'r csv::StringRecord, name: &str) -> Result<&'r str, RowError> {
        match self.get(r, name) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(("missing-field", format!("{name} is missing or empty"))),
        }
    }

    fn amount(&self, r: &csv::StringRecord, name: &str) -> Result<Decimal, RowError> {
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
    fn cost_types_are_tokens_per_request_charges_or_other_lines() {
        assert_eq!(
            anthropic_meter(Some("tokens"), Some("output_tokens")),
            Meter::Tokens(TokenType::Output)
        );
        assert_eq!(
            anthropic_meter(Some("web_search"), None),
            Meter::Requests("web_search".into())
        );
        assert_eq!(anthropic_meter(Some("code_execution"), None), Meter::Other);
    }

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
