//! The Google Cloud billing export (the BigQuery standard or detailed usage
//! cost table), as BigQuery extracts it to newline-delimited JSON, or as a
//! query flattens it to CSV (`service.description` or `service_description`,
//! …, `credits` as its JSON text).
//!
//! Model rows are those of service `Vertex AI` or `Gemini API`, of a
//! per-model `Claude …` service, or of an `AI Dev Tools: Claude …` or
//! `Generate content …` SKU (whatever the service); the SKU
//! description says the model, token type and band. `cost` is after
//! discounts and before credits: each of a row's `credits` is a credit line
//! of its own. `cost_type` `tax`, `adjustment` and `rounding error` rows
//! are lines of their own. A bill in another currency than the table's is
//! converted at the row's own `currency_conversion_rate` (its currency per
//! US dollar) when the table is in USD, else at `--fx`. A flattened CSV
//! keeps `currency` and `credits`. Amounts are read from their literal text;
//! `usage.amount_in_pricing_units` in `count` is a token SKU's tokens (not
//! a character SKU's).

use serde::Deserialize;
use serde_json::value::RawValue;

use super::cloud::{self, BillRow, Kind};
use super::meters::Cloud;
use super::{Charge, Columns, InvoiceLine, Reader, RowError};
use crate::error::{Result, Skips};
use crate::money::parse_amount;

#[derive(Deserialize)]
struct Row<'a> {
    service: Named,
    sku: Named,
    usage_start_time: String,
    usage_end_time: Option<String>,
    #[serde(borrow)]
    cost: &'a RawValue,
    currency: String,
    #[serde(borrow)]
    currency_conversion_rate: Option<&'a RawValue>,
    #[serde(borrow, default)]
    credits: Vec<Credit<'a>>,
    cost_type: Option<String>,
    invoice: Option<Invoice>,
    #[serde(borrow)]
    usage: Option<Usage<'a>>,
}

/// A row's quantity in its pricing unit.
#[derive(Deserialize)]
struct Usage<'a> {
    #[serde(borrow)]
    amount_in_pricing_units: Option<&'a RawValue>,
    pricing_unit: Option<String>,
}

#[derive(Deserialize)]
struct Invoice {
    month: Option<String>,
}

#[derive(Deserialize)]
struct Named {
    description: String,
}

#[derive(Deserialize)]
struct Credit<'a> {
    name: Option<String>,
    #[serde(borrow)]
    amount: &'a RawValue,
}

/// What one export row holds, from JSON or CSV.
struct Fields<'r> {
    service: &'r str,
    sku: &'r str,
    start: &'r str,
    end: Option<&'r str>,
    cost: &'r str,
    currency: &'r str,
    rate: Option<&'r str>,
    cost_type: &'r str,
    credits: Vec<(String, String)>,
    invoice_month: Option<&'r str>,
    /// `usage.amount_in_pricing_units` and `usage.pricing_unit`.
    quantity: (Option<&'r str>, Option<&'r str>),
}

/// One JSON row (a line of the extract); a bad row is a record error.
pub(super) fn json_row(
    reader: &Reader,
    text: &str,
    line: u64,
    out: &mut Vec<InvoiceLine>,
    skips: &mut Skips,
) -> Result<()> {
    let lines =
        crate::read::json_field::from_json::<Row>(text, "a billing export row").and_then(|row| {
            let credits = row
                .credits
                .iter()
                .map(|c| {
                    (
                        c.name.clone().unwrap_or_default(),
                        number(c.amount).to_string(),
                    )
                })
                .collect();
            let fields = Fields {
                service: &row.service.description,
                sku: &row.sku.description,
                start: &row.usage_start_time,
                end: row.usage_end_time.as_deref(),
                cost: number(row.cost),
                currency: &row.currency,
                rate: row.currency_conversion_rate.map(number),
                cost_type: row.cost_type.as_deref().unwrap_or("regular"),
                credits,
                invoice_month: row.invoice.as_ref().and_then(|i| i.month.as_deref()),
                quantity: row.usage.as_ref().map_or((None, None), |u| {
                    (
                        u.amount_in_pricing_units.map(number),
                        u.pricing_unit.as_deref(),
                    )
                }),
            };
            lines_of(reader, fields, line)
        });
    match lines {
        Ok(lines) => out.extend(lines),
        Err((kind, message)) => skips.handle(reader.error(line, kind, message))?,
    }
    Ok(())
}

/// One row of a CSV the export was flattened to (one line per row and its
/// credits, so the reader takes the first).
pub(super) fn csv_row(
    reader: &Reader,
    c: &Columns,
    r: &csv::StringRecord,
    line: u64,
) -> Result<Option<InvoiceLine>, RowError> {
    // Google's cost is before credits: a flattened row that cannot show
    // its credits (none, as `[]`) would read the bill high.
    if !c.0.iter().any(|h| h.eq_ignore_ascii_case("credits")) {
        return Err((
            "missing-field",
            "no credits column: cost is before credits, so the bill would read high; keep \
             credits in the query (TO_JSON_STRING(credits) AS credits) or extract the export as \
             JSON lines"
                .into(),
        ));
    }
    let credits: Vec<(String, String)> = match c.any(r, &["credits"]) {
        None => Vec::new(),
        Some(text) => serde_json::from_str::<Vec<Credit>>(text)
            .map_err(|e| ("bad-json", format!("credits: {e}")))?
            .iter()
            .map(|cr| {
                (
                    cr.name.clone().unwrap_or_default(),
                    number(cr.amount).to_string(),
                )
            })
            .collect(),
    };
    let fields = Fields {
        service: c.need(r, &["service.description", "service_description"])?,
        sku: c.need(r, &["sku.description", "sku_description"])?,
        start: c.need(r, &["usage_start_time"])?,
        end: c.any(r, &["usage_end_time"]),
        cost: c.need(r, &["cost"])?,
        currency: c.need(r, &["currency"])?,
        rate: c.any(r, &["currency_conversion_rate"]),
        cost_type: c.any(r, &["cost_type"]).unwrap_or("regular"),
        credits,
        invoice_month: c.any(r, &["invoice.month", "invoice_month"]),
        quantity: (
            c.any(
                r,
                &[
                    "usage.amount_in_pricing_units",
                    "usage_amount_in_pricing_units",
                ],
            ),
            c.any(r, &["usage.pricing_unit", "usage_pricing_unit"]),
        ),
    };
    let mut lines = lines_of(reader, fields, line)?;
    // A CSV row's credits follow it: the reader keeps one line per row, so
    // a row with credits is refused rather than losing them.
    if lines.len() > 1 {
        return Err((
            "unsupported",
            "a CSV row with credits: extract the export as JSON lines instead".into(),
        ));
    }
    Ok(lines.pop())
}

/// A JSON number's text (or a string's content: BigQuery writes 64-bit
/// numbers as strings).
fn number(raw: &RawValue) -> &str {
    raw.get().trim().trim_matches('"')
}

/// The invoice lines of one export row: the row, then each credit.
fn lines_of(reader: &Reader, f: Fields, line: u64) -> Result<Vec<InvoiceLine>, RowError> {
    let start =
        cloud::parse_day(f.start).ok_or_else(|| cloud::bad_day("usage_start_time", f.start))?;
    let (end, midnight) = cloud::end_of(f.end.map(|end| ("usage_end_time", end)))?;
    let days = Some(cloud::days(start, end, midnight));
    let amount = |text: &str, what: &str| {
        parse_amount(text).ok_or_else(|| {
            (
                "bad-amount",
                format!("{what}: expected a number, got \"{text}\""),
            )
        })
    };
    // The rate is the bill currency's per US dollar: it converts into the
    // table's currency only when that is USD (else `--fx` does).
    let usd_table = reader.context.currency.eq_ignore_ascii_case("USD");
    let rate = (f.rate.filter(|_| usd_table))
        .map(|r| amount(r, "currency_conversion_rate"))
        .transpose()?;
    let sku = f.sku.to_ascii_lowercase();
    let model_service = cloud::gcp_model_service(f.service, f.sku);
    // A character-priced SKU counts characters, not tokens.
    let quantity = (!sku.contains("character"))
        .then(|| cloud::tokens_in(f.quantity.0, f.quantity.1))
        .flatten();
    let kind = match f.cost_type.to_ascii_lowercase().as_str() {
        "regular" | "" => Kind::Usage,
        "tax" => Kind::Tax,
        "adjustment" | "rounding error" | "rounding_error" => Kind::Adjustment,
        other => return Err(("bad-charge", format!("cost_type: unexpected \"{other}\""))),
    };
    let billing_period = f.invoice_month.map(invoice_month).transpose()?;
    let row = |kind, meter, amount, description| BillRow {
        cloud: Cloud::Gcp,
        kind,
        meter,
        product: Some(f.service),
        model_service,
        other_service: !model_service && !f.service.trim().is_empty(),
        days,
        billing_period,
        amount,
        list: None,
        quantity,
        currency: f.currency,
        rate,
        description,
        line,
    };
    let mut lines = vec![cloud::line(
        reader,
        row(kind, f.sku, amount(f.cost, "cost")?, f.service),
    )?];
    // A credit given on a row goes with it under `--period`: by its days
    // when the row's line is model usage, else by its billing period.
    let by_days = matches!(lines[0].charge, Charge::Usage | Charge::Unmapped);
    for (name, credit) in &f.credits {
        // Its meter is its row's SKU, which names the model a credit on a
        // model's row is of.
        let mut credit = row(Kind::Credit, f.sku, amount(credit, "credits.amount")?, name);
        // Another service's row (one naming no service too) has its credits.
        credit.other_service = lines[0].charge == Charge::Service;
        if by_days {
            credit.billing_period = None;
        }
        lines.push(cloud::line(reader, credit)?);
    }
    Ok(lines)
}

/// The first day of an `invoice.month` (`202506`: the billing account's
/// month, Pacific time for most accounts).
fn invoice_month(text: &str) -> Result<chrono::NaiveDate, RowError> {
    let text = text.trim();
    let day = (text.len() == 6)
        .then(|| cloud::written_day(&format!("{text}01")))
        .flatten();
    day.ok_or_else(|| {
        (
            "bad-date",
            format!("invoice.month: expected YYYYMM, got \"{text}\""),
        )
    })
}
