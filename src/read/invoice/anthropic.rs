//! Anthropic's costs: the Admin API `cost_report` JSON pages and the
//! `analytics/cost` pages (amounts decimal strings in **cents**), and the
//! Console cost CSV.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::reader::times_text;
use super::{
    bucket_day, bucket_days, qualifiers, token_type_named, Charge, Columns, InvoiceLine, Meter,
    Reader, RowError, ALL_USAGE,
};
use crate::error::Result;
use crate::model::Origin;

#[derive(Deserialize)]
pub(super) struct AnthropicPage {
    data: Vec<AnthropicBucket>,
    has_more: Option<bool>,
}

#[derive(Deserialize)]
pub(super) struct AnthropicBucket {
    starting_at: DateTime<Utc>,
    ending_at: DateTime<Utc>,
    results: Vec<AnthropicCost>,
}

#[derive(Deserialize)]
pub(super) struct AnthropicCost {
    amount: String,
    currency: String,
    cost_type: Option<String>,
    token_type: Option<String>,
    model: Option<String>,
    description: Option<String>,
    service_tier: Option<String>,
    context_window: Option<String>,
    inference_geo: Option<String>,
    workspace_id: Option<String>,
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

pub(super) fn anthropic_page(
    reader: &Reader,
    page: AnthropicPage,
    line: u64,
    out: &mut Vec<InvoiceLine>,
) -> Result<()> {
    let latest = page.data.iter().map(|b| b.starting_at.date_naive()).max();
    reader.page_read("Anthropic cost_report", page.has_more, latest);
    for bucket in page.data {
        let before = out.len();
        let workspaces: Vec<Option<String>> = bucket
            .results
            .iter()
            .map(|c| c.workspace_id.clone())
            .collect();
        let day = bucket_day(bucket.starting_at, bucket.ending_at);
        let covers = bucket_days(bucket.starting_at, bucket.ending_at);
        let times = times_text(bucket.starting_at, bucket.ending_at);
        for cost in bucket.results {
            let fail = |(kind, message): RowError| reader.error(line, kind, message);
            let usd = cents(&cost.amount, "amount").map_err(fail)?;
            let meter = anthropic_meter(cost.cost_type.as_deref(), cost.token_type.as_deref());
            // Fetched without group_by[]=description (the API's default),
            // a result names no model, cost type, token type or
            // description: the day's whole usage in one line.
            let ungrouped = cost.model.is_none()
                && cost.cost_type.is_none()
                && cost.token_type.is_none()
                && cost.description.is_none();
            let description = match ungrouped {
                true => ALL_USAGE.to_string(),
                false => cost.description.or(cost.cost_type).unwrap_or_default(),
            };
            let qualifiers = qualifiers(
                cost.service_tier.as_deref(),
                cost.context_window.as_deref(),
                cost.inference_geo.as_deref(),
            );
            let item = InvoiceLine {
                provider: "anthropic".into(),
                model: cost.model,
                meter,
                day,
                covers,
                billing_period: None,
                amount: reader.convert(usd, &cost.currency, None).map_err(fail)?,
                charge: Charge::Usage,
                list_amount: None,
                description,
                qualifiers,
                quantity: None,
                origin: Origin {
                    file: reader.file,
                    line,
                },
            };
            out.push(item);
        }
        reader.bucket_and_lines_once((&times, &workspaces), &out[before..], line)?;
    }
    Ok(())
}

#[derive(Deserialize)]
pub(super) struct AnalyticsPage {
    data: Vec<AnalyticsItem>,
    has_more: Option<bool>,
}

#[derive(Deserialize)]
pub(super) struct AnalyticsItem {
    starting_at: DateTime<Utc>,
    ending_at: DateTime<Utc>,
    cost: AnalyticsCost,
    /// Its dimensions, kept whole: they tell two items of one time apart.
    group: Option<Box<serde_json::value::RawValue>>,
}

#[derive(Deserialize)]
pub(super) struct AnalyticsCost {
    amount: String,
    list_amount: Option<String>,
    currency: String,
}

/// The dimensions of an analytics item this reader uses (it is grouped by
/// up to 22; the others are the caller's to choose and do not change the
/// amount).
#[derive(Deserialize, Default)]
pub(super) struct AnalyticsGroup {
    model: Option<String>,
    cost_type: Option<String>,
    token_type: Option<String>,
    service_tier: Option<String>,
    context_window: Option<String>,
    inference_geo: Option<String>,
}

/// One `analytics/cost` page: `amount` post-discount and `list_amount` at
/// list price, both in fractional cents.
pub(super) fn analytics_page(
    reader: &Reader,
    page: AnalyticsPage,
    line: u64,
    out: &mut Vec<InvoiceLine>,
) -> Result<()> {
    let latest = page.data.iter().map(|i| i.starting_at.date_naive()).max();
    reader.page_read("Anthropic analytics cost", page.has_more, latest);
    for item in page.data {
        let fail = |(kind, message): RowError| reader.error(line, kind, message);
        let currency = &item.cost.currency;
        let in_table = |c| reader.convert(c, currency, None);
        let amount = cents(&item.cost.amount, "amount")
            .and_then(in_table)
            .map_err(fail)?;
        let list = item
            .cost
            .list_amount
            .as_deref()
            .map(|l| cents(l, "list_amount").and_then(in_table));
        let group_text = item.group.as_ref().map(|g| g.get().to_string());
        let group: AnalyticsGroup = match &group_text {
            Some(text) => serde_json::from_str(text)
                .map_err(|e| fail(("bad-json", format!("group: not an analytics group: {e}"))))?,
            None => AnalyticsGroup::default(),
        };
        let times = times_text(item.starting_at, item.ending_at);
        out.push(InvoiceLine {
            provider: "anthropic".into(),
            meter: anthropic_meter(group.cost_type.as_deref(), group.token_type.as_deref()),
            day: bucket_day(item.starting_at, item.ending_at),
            covers: bucket_days(item.starting_at, item.ending_at),
            billing_period: None,
            amount,
            list_amount: list.transpose().map_err(fail)?,
            charge: Charge::Usage,
            description: group.cost_type.unwrap_or_default(),
            qualifiers: qualifiers(
                group.service_tier.as_deref(),
                group.context_window.as_deref(),
                group.inference_geo.as_deref(),
            ),
            model: group.model,
            quantity: None,
            origin: reader.origin(line),
        });
        reader.bucket_once((&times, &[group_text]), &out[out.len() - 1..], line)?;
    }
    Ok(())
}

/// Dollars from a decimal string of cents: exactly, so at most 26 decimal
/// places of cents (28 of dollars).
fn cents(text: &str, field: &str) -> Result<Decimal, RowError> {
    let cents = crate::money::exact_decimal(text.trim()).ok_or_else(|| {
        let why = format!("{field} \"{text}\" is not a decimal number of cents");
        ("bad-amount", why)
    })?;
    if cents.scale() > 26 {
        let why = format!(
            "{field} \"{text}\": more decimal places than a dollar amount holds exactly (28)"
        );
        return Err(("bad-amount", why));
    }
    let usd = cents / Decimal::ONE_HUNDRED;
    match crate::money::plausible(usd) {
        true => Ok(usd),
        false => Err((
            "bad-amount",
            format!("{field} \"{text}\" cents is beyond the plausible maximum of $1000000000000"),
        )),
    }
}

pub(super) fn anthropic_row(
    reader: &Reader,
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
        billing_period: None,
        amount: c.amount(r, "cost_usd")?,
        charge: Charge::Usage,
        list_amount: None,
        description: cost_type.to_string(),
        qualifiers: qualifiers(
            c.get(r, "service_tier"),
            c.get(r, "context_window"),
            c.get(r, "inference_geo"),
        ),
        quantity: None,
        origin: Origin {
            file: reader.file,
            line,
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TokenType;

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
}
