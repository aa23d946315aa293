//! Invoices, cost reports and cloud bills: what the provider charged.
//! Every format is normalised into [`InvoiceLine`]s in the pricing table's
//! currency, one module per format family:
//!
//! - [`tokenledger`]: tokenledger's invoice CSV;
//! - [`anthropic`]: the Admin API `cost_report` and `analytics/cost` pages
//!   and the Console cost CSV;
//! - [`openai`]: `/v1/organization/costs` pages and the dashboard CSV;
//! - [`aws_cur`]: AWS Cost and Usage Reports (CUR 2.0 and legacy);
//! - [`gcp_billing`]: the Google Cloud billing export (BigQuery, as JSON
//!   lines or CSV);
//! - [`azure_cost`]: Azure Cost Management exports (EA and MCA);
//! - [`focus`]: FOCUS exports of any of the three clouds.
//!
//! A cloud bill names a model's usage in its own meter words; [`meters`]
//! reads them. Model usage whose meter cannot be read is never dropped: it
//! is a line of its own (`Charge::Unmapped`), as are a model service's
//! fixed charges (`Charge::Fixed`) and the bill's other services
//! (`Charge::Service`).

mod anthropic;
mod aws_cur;
mod azure_cost;
mod cloud;
pub mod cur_manifest;
mod focus;
mod format;
mod gcp_billing;
pub mod meters;
mod openai;
mod reader;
mod tokenledger;

use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use super::report_pages::{BucketsSeen, PageSeen};
use super::usage::for_each_json;

use crate::error::{Result, Skips};
use crate::model::{Origin, TokenType};
use crate::money::parse_amount;

pub use format::InvoiceFormat;
use reader::Reader;

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
    /// A model service's charge that is not per token (provisioned
    /// throughput, capacity units, custom models): a line of its own.
    Fixed,
    /// Model usage whose meter the meter map cannot read: a line of its
    /// own, and a failed gate until the map learns it.
    Unmapped,
    /// Another service of a cloud bill (storage, compute): counted, not
    /// compared.
    Service,
}

impl Charge {
    /// Every charge, in the order reports list them.
    pub const ALL: [Charge; 7] = [
        Charge::Usage,
        Charge::Credit,
        Charge::Tax,
        Charge::Adjustment,
        Charge::Fixed,
        Charge::Unmapped,
        Charge::Service,
    ];

    /// The name used in the invoice CSV and reports.
    pub fn name(self) -> &'static str {
        match self {
            Charge::Usage => "usage",
            Charge::Credit => "credit",
            Charge::Tax => "tax",
            Charge::Adjustment => "adjustment",
            Charge::Fixed => "fixed",
            Charge::Unmapped => "unmapped",
            Charge::Service => "service",
        }
    }
}

/// The description of an invoice line that sums all of a provider's usage
/// (an OpenAI cost bucket without a `line_item`, an Anthropic cost report
/// fetched without `group_by[]=description`).
pub const ALL_USAGE: &str = "(all usage, not grouped)";

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
    /// The first day of the billing period the bill files the line under,
    /// when it says (FOCUS `BillingPeriodStart`, the CUR's
    /// `bill_billing_period_start_date`, Azure's `BillingPeriodStartDate`,
    /// Google's `invoice.month`): `--period` keeps a line by it, so a
    /// correction of an earlier month's usage stays on the bill that holds
    /// it, and Google's Pacific-time month keeps its rows dated in the next
    /// UTC month.
    pub billing_period: Option<NaiveDate>,
    /// Amount in the pricing table's currency (dollars, not cents).
    pub amount: Decimal,
    /// The amount at list prices, before a negotiated discount, when the
    /// bill states it (Anthropic's `list_amount`, FOCUS `ListCost`).
    pub list_amount: Option<Decimal>,
    /// Usage, credit, tax or adjustment.
    pub charge: Charge,
    /// The line's own description, for lines without a model.
    pub description: String,
    /// The rate's qualifiers the line states (Anthropic's `service_tier` and
    /// `context_window`: `batch 0-200k`), when it states them.
    pub qualifiers: Option<String>,
    /// The tokens the line bills, where the bill states its quantity and
    /// the unit it counts in (a cloud bill's usage amount in `1K tokens`):
    /// a drift at the table's own rate is then told as a count.
    pub quantity: Option<Decimal>,
    /// Where the line was read.
    pub origin: Origin,
}

/// What reading a bill needs beside its text: the pricing table's
/// currency, the exchange rates the user gives (`--fx`), and the names the
/// table gives cloud bills' models.
pub struct Context<'a> {
    /// The pricing table's currency: every amount is converted into it.
    pub currency: &'a str,
    /// `--fx CUR=RATE`: units of CUR per unit of the table's currency, for
    /// a bill that states no rate of its own.
    pub fx: &'a [(String, Decimal)],
    /// Resolves a cloud bill's model names.
    pub names: &'a dyn meters::ModelNames,
    /// Every cost report page read: its kind, whether it says more follow
    /// (`has_more`) and the day its latest bucket starts on.
    pub pages: std::cell::RefCell<Vec<PageSeen>>,
    /// A cost report's buckets read so far (a page given twice, in one
    /// file or two, is refused).
    pub buckets: std::cell::RefCell<BucketsSeen>,
    /// A cost report's lines of a project or workspace read so far, by
    /// times (one given twice with other amounts is refused).
    pub grouped_lines: std::cell::RefCell<BucketsSeen>,
}

impl<'a> Context<'a> {
    /// The context of a run's bills: amounts in `currency`, converted at
    /// `fx` where a bill states no rate, model names resolved by `names`.
    pub fn new(
        currency: &'a str,
        fx: &'a [(String, Decimal)],
        names: &'a dyn meters::ModelNames,
    ) -> Context<'a> {
        Context {
            currency,
            fx,
            names,
            pages: Default::default(),
            buckets: Default::default(),
            grouped_lines: Default::default(),
        }
    }
}

/// The format of the bill `text` (`forced` if given, else detected from
/// its head); `path` names it in errors.
pub fn format_of(path: &Path, text: &str, forced: Option<InvoiceFormat>) -> Result<InvoiceFormat> {
    match forced {
        Some(f) => Ok(f),
        None => {
            let head = (0..=text.len().min(8192))
                .rev()
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(0);
            InvoiceFormat::detect(path, &text[..head])
        }
    }
}

/// Read invoice lines from `text`; `path` names it in errors.
pub fn parse_text(
    path: &Path,
    text: &str,
    format: Option<InvoiceFormat>,
    file: u32,
    context: &Context,
    skips: &mut Skips,
) -> Result<(InvoiceFormat, Vec<InvoiceLine>)> {
    let format = format_of(path, text, format)?;
    let reader = Reader::new(path, file, context);
    let mut lines = Vec::new();
    let out = &mut lines;
    let json = |each: &mut dyn FnMut(u64, &str) -> Result<()>| {
        for_each_json(text.as_bytes(), path, &mut |line, json| {
            each(
                line,
                json.map_err(|(_, message)| reader.not_a_page(line, message))?,
            )
        })
    };
    match format {
        InvoiceFormat::Tokenledger => reader.csv(text, skips, out, tokenledger::tokenledger_row)?,
        InvoiceFormat::AnthropicCsv => reader.csv(text, skips, out, anthropic::anthropic_row)?,
        InvoiceFormat::OpenaiCsv => reader.csv(text, skips, out, openai::openai_row)?,
        InvoiceFormat::AwsCur => reader.csv(text, skips, out, aws_cur::row)?,
        InvoiceFormat::AzureCost => reader.csv(text, skips, out, azure_cost::row)?,
        InvoiceFormat::Focus => reader.csv(text, skips, out, focus::row)?,
        InvoiceFormat::GcpBillingCsv => reader.csv(text, skips, out, gcp_billing::csv_row)?,
        InvoiceFormat::AnthropicCostReport => json(&mut |line, page| {
            anthropic::anthropic_page(&reader, reader.page(line, Ok(page))?, line, out)
        })?,
        InvoiceFormat::AnthropicAnalytics => json(&mut |line, page| {
            anthropic::analytics_page(&reader, reader.page(line, Ok(page))?, line, out)
        })?,
        InvoiceFormat::OpenaiCosts => json(&mut |line, page| {
            openai::openai_page(&reader, reader.page(line, Ok(page))?, line, out)
        })?,
        InvoiceFormat::GcpBilling => {
            json(&mut |line, row| gcp_billing::json_row(&reader, row, line, out, skips))?
        }
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
    /// Cache writes of every time-to-live: a meter that does not say which
    /// (Bedrock's native `…-cache-write-input-token-count`), compared with
    /// the 5-minute and 1-hour writes together.
    CacheWrites,
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
            Meter::CacheWrites => "cache_write",
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

/// A CSV header, to find fields by name.
pub(super) struct Columns(Vec<String>);

impl Columns {
    /// The first of `names` (any case) the header has with a value in `r`.
    pub(super) fn any<'r>(&self, r: &'r csv::StringRecord, names: &[&str]) -> Option<&'r str> {
        self.any_named(r, names).map(|(_, v)| v)
    }

    /// [`Columns::any`], with the column's name as the header spells it.
    pub(super) fn any_named<'r>(
        &self,
        r: &'r csv::StringRecord,
        names: &[&str],
    ) -> Option<(&str, &'r str)> {
        names.iter().find_map(|name| {
            let i = self.0.iter().position(|h| h.eq_ignore_ascii_case(name))?;
            let value = r.get(i).map(str::trim).filter(|v| !v.is_empty())?;
            Some((self.0[i].as_str(), value))
        })
    }

    /// [`Columns::any`], required; the error names the columns of `names`
    /// the header has (empty in this row), or all of them when it has none.
    pub(super) fn need<'r>(
        &self,
        r: &'r csv::StringRecord,
        names: &[&str],
    ) -> Result<&'r str, RowError> {
        self.need_named(r, names).map(|(_, v)| v)
    }

    /// [`Columns::need`], with the column's name as the header spells it.
    pub(super) fn need_named<'r>(
        &self,
        r: &'r csv::StringRecord,
        names: &[&str],
    ) -> Result<(&str, &'r str), RowError> {
        self.any_named(r, names)
            .ok_or_else(|| ("missing-field", self.missing(names)))
    }

    /// Why none of `names` has a value: see [`Columns::need`].
    pub(super) fn missing(&self, names: &[&str]) -> String {
        let present: Vec<&str> = (self.0.iter())
            .filter(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
            .map(String::as_str)
            .collect();
        match present.as_slice() {
            [] if names.len() == 1 => format!("{} is missing", names[0]),
            [] => format!("none of {} is in the header", names.join(", ")),
            [one] => format!("{one} is empty"),
            many => format!("{} are all empty", many.join(", ")),
        }
    }

    /// An amount from the first of `names` present; an error names the
    /// column it was read from.
    pub(super) fn any_amount(
        &self,
        r: &csv::StringRecord,
        names: &[&str],
    ) -> Result<Decimal, RowError> {
        let (name, v) = self.need_named(r, names)?;
        parse_amount(v).ok_or_else(|| bad_amount(name, v))
    }

    /// The field `name` (any case, as formats are detected), trimmed.
    pub(super) fn get<'r>(&self, r: &'r csv::StringRecord, name: &str) -> Option<&'r str> {
        let i = self.0.iter().position(|h| h.eq_ignore_ascii_case(name))?;
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
        parse_amount(v).ok_or_else(|| bad_amount(name, v))
    }
}

/// A bill's amount `v` in field `name` that [`parse_amount`] refused, and why.
pub(super) fn bad_amount(name: &str, v: &str) -> RowError {
    let why = match crate::money::amount_problem(v) {
        Some(why) => format!("{name}: \"{v}\" is {why}"),
        None => format!("{name}: expected a decimal amount, got \"{v}\""),
    };
    ("bad-amount", why)
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
