//! OpenAI's costs: `/v1/organization/costs` JSON pages (`amount.value` in
//! dollars, read from its literal text, never through f64) and the
//! dashboard CSV, whose `line_item` (`"gpt-4.1-2025-04-14, cached input"`)
//! carries model and token type.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::reader::times_text;
use super::{
    bucket_day, bucket_days, token_type_named, Charge, Columns, InvoiceLine, Meter, Reader,
    RowError, ALL_USAGE,
};
use crate::error::Result;
use crate::model::{unix_seconds, Origin};
use crate::money::parse_amount;

#[derive(Deserialize)]
pub(super) struct OpenAiPage {
    data: Vec<OpenAiBucket>,
    has_more: Option<bool>,
}

#[derive(Deserialize)]
pub(super) struct OpenAiBucket {
    start_time: i64,
    end_time: i64,
    results: Vec<OpenAiCost>,
}

#[derive(Deserialize)]
pub(super) struct OpenAiCost {
    amount: OpenAiAmount,
    line_item: Option<String>,
    project_id: Option<String>,
    api_key_id: Option<String>,
}

impl OpenAiCost {
    /// Its grouping ids (project, API key), where grouped by either.
    fn group(&self) -> Option<String> {
        group_of([self.project_id.as_deref(), self.api_key_id.as_deref()])
    }
}

/// A cost line's grouping ids (project, API key) as one, where it has any.
fn group_of(ids: [Option<&str>; 2]) -> Option<String> {
    let given: Vec<&str> = (ids.into_iter().flatten())
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .collect();
    (!given.is_empty()).then(|| given.join(" "))
}

#[derive(Deserialize)]
pub(super) struct OpenAiAmount {
    value: Box<RawValue>,
    currency: String,
}

pub(super) fn openai_page(
    reader: &Reader,
    page: OpenAiPage,
    line: u64,
    out: &mut Vec<InvoiceLine>,
) -> Result<()> {
    let latest = (page.data.iter())
        .filter_map(|b| unix_seconds(b.start_time))
        .max();
    reader.page_read(
        "OpenAI costs",
        page.has_more,
        latest.map(|t| t.date_naive()),
    );
    for bucket in page.data {
        let before = out.len();
        let groups: Vec<Option<String>> = bucket.results.iter().map(OpenAiCost::group).collect();
        let (start, end) = (bucket.start_time, bucket.end_time);
        let Some((s, e)) = unix_seconds(start).zip(unix_seconds(end)) else {
            let why = "expected unix seconds, times from 2000 to 2099";
            let message = format!("bucket start_time {start}, end_time {end}: {why}");
            return Err(reader.error(line, "bad-date", message));
        };
        let (day, covers, times) = (bucket_day(s, e), bucket_days(s, e), times_text(s, e));
        for cost in bucket.results {
            let fail = |(kind, message): RowError| reader.error(line, kind, message);
            let raw = cost.amount.value.get();
            let bad = || match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
                Some(text) => fail((
                    "bad-amount",
                    format!("amount.value: expected a JSON number, got the string \"{text}\""),
                )),
                None => fail(super::bad_amount("amount.value", raw)),
            };
            let amount = parse_amount(raw).ok_or_else(bad)?;
            let amount = reader
                .convert(amount, &cost.amount.currency, None)
                .map_err(fail)?;
            let mut item = openai_line(reader, cost.line_item.as_deref(), day, amount, line);
            item.covers = covers;
            out.push(item);
        }
        reader.bucket_and_lines_once((&times, &groups), &out[before..], line)?;
    }
    Ok(())
}

/// An OpenAI line: `line_item` is `"<model>, <kind>"` for token costs,
/// anything else (web search, storage) is a line of its own.
fn openai_line(
    reader: &Reader,
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
        (None, Some((what, model))) => match tool_of(what) {
            Some(tool) => (Some(model.trim().to_string()), Meter::Requests(tool)),
            None => (Some(model.trim().to_string()), Meter::Other),
        },
        // "web search tool calls": a per-request charge of every model.
        (None, None) => match tool_of(item) {
            Some(tool) => (None, Meter::Requests(tool)),
            None => (None, Meter::Other),
        },
    };
    InvoiceLine {
        provider: "openai".into(),
        model,
        meter,
        day,
        covers: day.map(|d| (d, d)),
        billing_period: None,
        amount,
        charge: Charge::Usage,
        list_amount: None,
        qualifiers: None,
        description: if item.is_empty() {
            ALL_USAGE.into()
        } else {
            item.into()
        },
        quantity: None,
        origin: Origin {
            file: reader.file,
            line,
        },
    }
}

/// The per-request charge a line item names (`web search tool calls`, in
/// any case: `web_search`).
fn tool_of(what: &str) -> Option<String> {
    let what = what.trim().to_ascii_lowercase();
    let tool = what.strip_suffix(" tool calls")?.trim();
    (!tool.is_empty()).then(|| tool.replace(' ', "_"))
}

pub(super) fn openai_row(
    reader: &Reader,
    c: &Columns,
    r: &csv::StringRecord,
    line: u64,
) -> Result<Option<InvoiceLine>, RowError> {
    let time = |name: &str| -> Result<DateTime<Utc>, RowError> {
        let v = c.required(r, name)?;
        // Whole seconds, sometimes written as a float ("1730419200.0").
        let whole = v.strip_suffix(".0").unwrap_or(v);
        whole
            .parse::<i64>()
            .ok()
            .and_then(unix_seconds)
            .ok_or_else(|| {
                (
                    "bad-date",
                    format!("{name}: expected unix seconds, a time from 2000 to 2099, got \"{v}\""),
                )
            })
    };
    let (start, end) = (time("start_time")?, time("end_time")?);
    let blank = |name| c.get(r, name).is_none_or(|v| v.trim().is_empty());
    if ["amount_value", "amount_currency", "line_item"]
        .iter()
        .all(|n| blank(n))
    {
        return Ok(None); // a bucket without costs: the day had none
    }
    let currency = c.get(r, "amount_currency").unwrap_or("");
    let amount = reader.convert(c.amount(r, "amount_value")?, currency, None)?;
    let day = bucket_day(start, end);
    let mut item = openai_line(reader, c.get(r, "line_item"), day, amount, line);
    item.covers = bucket_days(start, end);
    let times = times_text(start, end);
    let group = group_of([c.get(r, "project_id"), c.get(r, "api_key_id")]);
    reader.line_once((&times, group.as_deref()), &item, line)?;
    Ok(Some(item))
}
