//! tokenledger's own invoice CSV: `provider,model,token_type,amount_usd`,
//! with optional `charge_category`, `period_start`, `period_end`,
//! `currency` and `description`.

use std::str::FromStr;

use chrono::NaiveDate;

use super::{Charge, Columns, InvoiceLine, Meter, Reader, RowError};
use crate::model::{Origin, TokenType, REQUESTS_SUFFIX};

pub(super) fn tokenledger_row(
    reader: &Reader,
    c: &Columns,
    r: &csv::StringRecord,
    line: u64,
) -> Result<Option<InvoiceLine>, RowError> {
    let provider = c.required(r, "provider")?;
    let currency = c.get(r, "currency").unwrap_or("");
    let amount = reader.convert(c.amount(r, "amount_usd")?, currency, None)?;
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
    let (day, covers) = days(c, r)?;
    Ok(Some(InvoiceLine {
        provider: provider.to_string(),
        model: c
            .get(r, "model")
            .filter(|m| !m.is_empty())
            .map(str::to_string),
        meter,
        day,
        covers,
        billing_period: None,
        amount,
        charge,
        list_amount: None,
        description: c.get(r, "description").unwrap_or("").to_string(),
        qualifiers: None,
        quantity: None,
        origin: Origin {
            file: reader.file,
            line,
        },
    }))
}

/// A line's day (when it covers one) and the days it covers, from
/// `period_start` and `period_end`.
type Days = (Option<NaiveDate>, Option<(NaiveDate, NaiveDate)>);

fn days(c: &Columns, r: &csv::StringRecord) -> Result<Days, RowError> {
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
    Ok((day, covers))
}
