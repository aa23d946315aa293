//! What every cloud bill's reader shares: a row, as each reader sees it
//! ([`BillRow`]), becomes an invoice line here: its meter read by the
//! cloud's grammar ([`super::meters`]), its model named as the pricing
//! table names it, its amount in the table's currency.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;

use super::meters::{self, Cloud, Read};
use super::{Charge, Columns, InvoiceLine, Meter, Reader, RowError};

/// What a bill row's charge category says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// Usage: what the meter says.
    Usage,
    /// A purchase (a reservation, a commitment): a model service's is a
    /// fixed charge, never per-token usage.
    Purchase,
    /// A credit or refund.
    Credit,
    /// Tax.
    Tax,
    /// An adjustment, a fee, a rounding, a commitment.
    Adjustment,
}

/// Whether an AWS product code is Bedrock's (its models, its service
/// offer, Marketplace's foundation models, and any code of its name but
/// AgentCore's, whose charges are not a model's).
pub(super) fn bedrock_code(code: &str) -> bool {
    code.starts_with("AmazonBedrock") && code != "AmazonBedrockAgentCore"
}

/// Whether an Azure row's category, subcategory or product (any of
/// `what`, in any case) names a model service.
pub(super) fn azure_model_service<'a>(mut what: impl Iterator<Item = &'a str>) -> bool {
    const WORDS: [&str; 6] = [
        "openai",
        "foundry models",
        "ai foundry",
        "deepseek",
        "grok",
        "models as a service",
    ];
    what.any(|w| {
        let w = w.to_ascii_lowercase();
        WORDS.iter().any(|s| w.contains(s))
    })
}

/// Whether a Google row of `service` and `sku` is a model service's:
/// Vertex AI's, the Gemini API's (its service, or a SKU of its grammar),
/// or a Claude model's on Vertex (a service, or Marketplace's SKU).
pub(super) fn gcp_model_service(service: &str, sku: &str) -> bool {
    service == "Vertex AI"
        || service == "Gemini API"
        || service.starts_with("Claude ")
        || sku.starts_with("AI Dev Tools: Claude")
        || meters::gcp::is_gemini_api(&sku.to_ascii_lowercase())
}

/// One row of a cloud bill.
pub(super) struct BillRow<'r> {
    /// The cloud it is of.
    pub cloud: Cloud,
    /// Its charge category.
    pub kind: Kind,
    /// The meter's text: an AWS usage type, a Google SKU description, an
    /// Azure meter name.
    pub meter: &'r str,
    /// A Marketplace product's name (AWS), where the model is named; the
    /// service (Google Cloud).
    pub product: Option<&'r str>,
    /// Whether the row is of a model service (Bedrock, Vertex AI, Azure
    /// OpenAI / Foundry models): a meter it cannot read is then unmapped
    /// model usage, not another service.
    pub model_service: bool,
    /// Whether the row names a service that is not a model service (EC2,
    /// Compute Engine): its credits, tax and adjustments are that
    /// service's, on its `(other services)` line, never the models'.
    pub other_service: bool,
    /// The first and last UTC day it covers.
    pub days: Option<(NaiveDate, NaiveDate)>,
    /// The first day of the billing period it is billed in, when the bill
    /// says.
    pub billing_period: Option<NaiveDate>,
    /// The amount, in `currency`.
    pub amount: Decimal,
    /// The amount at list prices, where the bill states it.
    pub list: Option<Decimal>,
    /// The tokens it bills, from its usage amount in its pricing unit,
    /// where the bill states both ([`tokens_in`]).
    pub quantity: Option<Decimal>,
    /// The bill's currency.
    pub currency: &'r str,
    /// The exchange rate the bill states: units of `currency` per unit of
    /// the pricing table's.
    pub rate: Option<Decimal>,
    /// The row's description, for lines that are not a model's usage.
    pub description: &'r str,
    /// Its line in the file.
    pub line: u64,
}

/// The invoice line of a cloud bill's row.
pub(super) fn line(reader: &Reader, row: BillRow) -> Result<InvoiceLine, RowError> {
    let amount = reader.convert(row.amount, row.currency, row.rate)?;
    let list = row
        .list
        .map(|l| reader.convert(l, row.currency, row.rate))
        .transpose()?;
    let day = row
        .days
        .filter(|(first, last)| first == last)
        .map(|(d, _)| d);
    let mut line = InvoiceLine {
        provider: row.cloud.name().to_string(),
        model: None,
        meter: Meter::Other,
        day,
        covers: row.days,
        billing_period: row.billing_period,
        amount,
        list_amount: list,
        charge: Charge::Service,
        description: if row.meter.is_empty() {
            row.description.to_string()
        } else {
            row.meter.to_string()
        },
        qualifiers: None,
        quantity: None,
        origin: reader.origin(row.line),
    };
    line.charge = match row.kind {
        Kind::Credit | Kind::Tax | Kind::Adjustment if row.other_service => Charge::Service,
        Kind::Credit => Charge::Credit,
        Kind::Tax => Charge::Tax,
        Kind::Adjustment => Charge::Adjustment,
        Kind::Usage | Kind::Purchase if !row.model_service => Charge::Service,
        Kind::Purchase => {
            line.provider = row.cloud.provider().to_string();
            Charge::Fixed
        }
        Kind::Usage => return Ok(usage(reader, &row, line)),
    };
    if line.charge != Charge::Service && !row.description.is_empty() {
        line.description = row.description.to_string();
    }
    if line.charge != Charge::Service && row.model_service {
        line.model = named_model(reader, &row);
    }
    Ok(line)
}

/// The model a model service's line not charged per token is of (a fixed
/// charge, a credit or tax on a model's row), as the table names it: the
/// model its meter names as usage, else the longest run of the meter's
/// leading words the table resolves ([`meters::model_names`]); none where
/// no run resolves (`ProvisionedThroughput-ModelUnits`).
fn named_model(reader: &Reader, row: &BillRow) -> Option<String> {
    // A month's credit or reservation is of a model priced on its first
    // day or, for a model priced from later in its days, on its last.
    let (first, last) = row.days.unwrap_or((NaiveDate::MIN, NaiveDate::MIN));
    let resolve = |name: &str, qualifiers: &[String]| {
        let on = |day| reader.model(row.cloud, name, qualifiers, day);
        on(first).or_else(|| on(last)).map(|(_, model)| model)
    };
    match read_meter(row) {
        Read::Usage {
            model, qualifiers, ..
        } => resolve(&model, &qualifiers),
        Read::Requests(_) => None,
        Read::Fixed | Read::Unknown => meters::model_names(row.cloud, row.meter, row.product)
            .iter()
            .find_map(|name| resolve(name, &[])),
    }
}

/// A row's meter, read by its cloud's grammar.
fn read_meter(row: &BillRow) -> Read {
    match row.cloud {
        Cloud::Aws => meters::aws(row.meter, row.product),
        Cloud::Gcp => meters::gcp(row.meter, row.product),
        Cloud::Azure => meters::azure(row.meter),
    }
}

/// A model service's usage row: its meter read and its model named, else
/// a fixed charge or unmapped usage. The meter's rate words (`global`,
/// `batch`) pick the model's profile; the cost of each rate is then the
/// line's, compared per (model, token type, day) with the usage's.
fn usage(reader: &Reader, row: &BillRow, mut line: InvoiceLine) -> InvoiceLine {
    let day = row.days.map_or(NaiveDate::MIN, |(first, _)| first);
    line.provider = row.cloud.provider().to_string();
    line.charge = match read_meter(row) {
        Read::Fixed => {
            line.model = named_model(reader, row);
            Charge::Fixed
        }
        Read::Unknown => Charge::Unmapped,
        Read::Requests(charge) => {
            line.meter = Meter::Requests(charge);
            Charge::Usage
        }
        Read::Usage {
            model,
            meter,
            qualifiers,
        } => {
            if matches!(meter, Meter::Tokens(_) | Meter::CacheWrites) {
                line.quantity = row.quantity;
            }
            line.meter = meter;
            match reader.model(row.cloud, &model, &qualifiers, day) {
                Some((provider, model)) => {
                    line.provider = provider;
                    line.model = Some(model);
                    Charge::Usage
                }
                None => {
                    line.model = Some(model);
                    Charge::Unmapped
                }
            }
        }
    };
    line
}

/// A UTC day from a bill's date or timestamp: `2025-06-01`,
/// `2025-06-01T00:00:00.000Z`, `2026-03-14 09:00:00 UTC`, a time with an
/// offset (`2028-02-29T20:00:00-08:00` is March 1st in UTC), or a query's
/// `20250601`; never a slashed date (Azure's month first is
/// [`azure_day`]'s).
pub(super) fn parse_day(text: &str) -> Option<NaiveDate> {
    parse_utc(text)
        .map(|time| time.date())
        .or_else(|| bare_day(text))
}

/// A date written alone (`2026-11-02`, `20261102`): a time after it that
/// [`parse_utc`] cannot read (a zone by name, `PDT`, `GMT-7`) is no UTC
/// day, and is refused rather than read as its local date.
fn bare_day(text: &str) -> Option<NaiveDate> {
    written_day(text).filter(|_| matches!(text.trim().len(), 8 | 10))
}

/// An Azure export's date: as [`parse_day`], or month first as Azure
/// writes it (`11/02/2026`). Only Azure's exports write dates so; another
/// bill's slashed date is a spreadsheet's, which may be day first.
pub(super) fn azure_day(text: &str) -> Option<NaiveDate> {
    let date = text.trim().split([' ', 'T']).next()?;
    // A time after it with a zone by name is no UTC day.
    let slashed = || NaiveDate::parse_from_str(date, "%m/%d/%Y").ok();
    parse_day(text).or_else(|| slashed().filter(|_| !zone_named(text)))
}

/// Whether the time after a bill's date (its first ten characters) names
/// a zone by name: a letter other than ISO's `T` and `Z`, in a word other
/// than AM, PM, UTC or GMT (`PDT`, `America/Los_Angeles`).
fn zone_named(text: &str) -> bool {
    let plain = |w: &str| {
        ["AM", "PM", "UTC", "GMT"]
            .iter()
            .any(|p| w.eq_ignore_ascii_case(p))
    };
    let lettered = |w: &str| w.contains(|c: char| c.is_ascii_alphabetic() && c != 'T' && c != 'Z');
    let time = text.trim().get(10..).unwrap_or("");
    time.split_whitespace().any(|w| !plain(w) && lettered(w))
}

/// The error for a date column `name` whose value `text` is not a date;
/// a date written otherwise than a bill writes it is named as a
/// spreadsheet's (`11/2/2026 0:00`, `02.11.2026`), never guessed.
pub(super) fn bad_day(name: &str, text: &str) -> RowError {
    let mut why = format!("{name}: expected a date, got \"{text}\"");
    if zone_named(text) && written_day(text).is_some() {
        why += " (a time in UTC or with a numeric offset, -07:00; a zone by name is not read)";
    } else if text.contains(['/', '.']) && !text.contains('T') {
        why += " (a bill writes YYYY-MM-DD: was it saved again by a spreadsheet? export it again)";
    }
    ("bad-date", why)
}

/// A row's exclusive end (column `name`), where it has one: a day, and
/// whether it is a midnight.
pub(super) fn end_of(end: Option<(&str, &str)>) -> Result<(Option<NaiveDate>, bool), RowError> {
    match end {
        None => Ok((None, false)),
        // The day as parse_day reads it, and whether the time is a UTC
        // midnight (an exclusive end that closes the day before; a date
        // alone is none), the time parsed once.
        Some((name, text)) => match parse_utc(text) {
            Some(time) => Ok((Some(time.date()), time.time() == chrono::NaiveTime::MIN)),
            None => bare_day(text)
                .map(|day| (Some(day), false))
                .ok_or_else(|| bad_day(name, text)),
        },
    }
}

/// The date a bill writes, as written, whatever time and offset follow: a
/// billing period's start is the label of a month, not an instant
/// (`2026-11-01T00:00:00+09:00` is November's).
pub(super) fn written_day(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    if let Some(day) = text.get(..10).and_then(|d| d.parse().ok()) {
        return Some(day);
    }
    if text.len() == 8 && text.bytes().all(|b| b.is_ascii_digit()) {
        return NaiveDate::parse_from_str(text, "%Y%m%d").ok();
    }
    None
}

/// A bill's date and time in UTC: an offset (`Z`, `+05:30`, `-0800`)
/// converted, ` UTC` or none taken as UTC (the exports write UTC).
fn parse_utc(text: &str) -> Option<NaiveDateTime> {
    // UTC named after the time or its offset (Go's `+0000 UTC`, `GMT`,
    // `[UTC]`) says no more than the offset or its absence.
    let text = ["[UTC]", "UTC", "GMT"]
        .iter()
        .find_map(|zone| text.trim().strip_suffix(zone))
        .unwrap_or(text)
        .trim();
    let with_offset = [
        "%Y-%m-%dT%H:%M:%S%.f%#z",
        "%Y-%m-%d %H:%M:%S%.f%#z",
        "%Y-%m-%dT%H:%M%#z",
        "%Y-%m-%d %H:%M%#z",
    ];
    if let Some(time) = with_offset
        .iter()
        .find_map(|f| DateTime::parse_from_str(text, f).ok())
    {
        return Some(time.naive_utc());
    }
    let naive = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ];
    naive
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
}

/// The billing period's first day from the first of `names` a row has,
/// read by `day` (see [`written_day`]; Azure's also month first: [`azure_period`]),
/// `None` when it has none; an error names the column.
pub(super) fn billing_period(
    c: &Columns,
    r: &csv::StringRecord,
    names: &[&str],
    day: fn(&str) -> Option<NaiveDate>,
) -> Result<Option<NaiveDate>, RowError> {
    c.any_named(r, names)
        .map(|(name, v)| day(v).ok_or_else(|| bad_day(name, v)))
        .transpose()
}

/// An Azure export's billing period start: as written, else month first.
pub(super) fn azure_period(text: &str) -> Option<NaiveDate> {
    written_day(text).or_else(|| azure_day(text))
}

/// The days from `start` to `end`, where `end` is a row's exclusive end
/// (its last day is the day before, unless it starts that day).
pub(super) fn days(
    start: NaiveDate,
    end: Option<NaiveDate>,
    end_is_midnight: bool,
) -> (NaiveDate, NaiveDate) {
    let last = match end {
        Some(e) if end_is_midnight && e > start => e.pred_opt().unwrap_or(e),
        Some(e) if e >= start => e,
        _ => start,
    };
    (start, last)
}

/// The tokens an `amount` of `unit` counts (`1K tokens`, `1M`, Google's
/// `count` of one token); `None` for a unit read as no count of tokens (an
/// hour; Marketplace's `Units`, whose size its description gives) or an
/// amount no number.
pub(super) fn tokens_in(amount: Option<&str>, unit: Option<&str>) -> Option<Decimal> {
    let unit = unit?.trim().to_ascii_lowercase();
    let per = match unit.strip_suffix(" tokens").unwrap_or(&unit) {
        "1k" => 1_000,
        "1m" => 1_000_000,
        "count" | "tokens" => 1,
        _ => return None,
    };
    let amount = crate::money::parse_amount(amount?)?;
    amount.checked_mul(Decimal::from(per))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bill_time_is_read_as_its_utc_day() {
        let day = |t| parse_day(t).map(|d| d.to_string());
        let cases = [
            ("2025-06-01T00:00:00.000Z", "2025-06-01"),
            ("2028-02-29T20:00:00-08:00", "2028-03-01"),
            ("2028-03-01T01:00:00+05:30", "2028-02-29"),
            ("2028-03-01 01:00:00+0530", "2028-02-29"),
            ("2026-03-14 09:00:00 UTC", "2026-03-14"),
            ("2025-06-01", "2025-06-01"),
            ("20250601", "2025-06-01"),
        ];
        for (text, utc) in cases {
            assert_eq!(day(text).as_deref(), Some(utc), "{text}");
        }
        // Month first is Azure's alone; elsewhere a slashed date is refused.
        assert_eq!(day("06/01/2025"), None);
        assert_eq!(
            azure_day("06/01/2025").map(|d| d.to_string()).as_deref(),
            Some("2025-06-01")
        );
        assert_eq!(day("2028-02-29T16:00-08:00").as_deref(), Some("2028-03-01"));
        // A zone by name is no UTC day: refused, not read as the local date.
        for local in [
            "2025-06-30 20:00:00 America/Los_Angeles",
            "2025-06-30 20:00:00 PDT",
        ] {
            assert_eq!(day(local), None, "{local}");
            assert!(end_of(Some(("end", local))).is_err(), "{local}");
        }
        assert_eq!(day("2025-06-30").as_deref(), Some("2025-06-30"));
        // UTC named after the time or its offset is UTC.
        for utc in [
            "2026-11-02 23:00:00 +0000 UTC",
            "2026-11-02 23:00:00 GMT",
            "2026-11-02 23:00:00[UTC]",
        ] {
            assert_eq!(day(utc).as_deref(), Some("2026-11-02"), "{utc}");
        }
        assert_eq!(azure_day("11/02/2026 23:00:00 PST"), None);
        assert!(azure_day("11/02/2026 12:00:00 AM").is_some());
        assert!(azure_day("11/02/2026 12:00:00 am").is_some());
        assert!(azure_day("11/02/2026 00:00:00 UTC").is_some());
        let (_, why) = bad_day("start", "2025-06-30 20:00:00 PDT");
        assert!(why.contains("a zone by name is not read"), "{why}");
        // A billing period is the month it is written in.
        let period = written_day("2026-11-01T00:00:00+09:00").unwrap();
        assert_eq!(period.to_string(), "2026-11-01");
        // An end at a UTC midnight closes the day before; a date alone not.
        let is_midnight = |end| end_of(Some(("end", end))).is_ok_and(|(_, midnight)| midnight);
        assert!(is_midnight("2025-06-02T00:00:00Z"));
        assert!(is_midnight("2025-06-02T00:00Z"));
        assert!(is_midnight("2025-06-01T16:00:00-08:00"));
        assert!(!is_midnight("2025-06-02T00:00:00-08:00"));
        assert!(!is_midnight("2025-06-02"));
    }
}
