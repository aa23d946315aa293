//! Azure Cost Management cost details exports (actual cost), EA and MCA,
//! as CSV. Column names differ by agreement and schema version (`Cost`,
//! `CostInBillingCurrency`, `costInBillingCurrency`, `costInUsd`; `Date`,
//! `date`; `MeterName`, `meterName`): each is found without case among its
//! spellings.
//!
//! Model rows are those of Azure OpenAI and AI Foundry models (their meter
//! category, sub-category or product names them); the meter name says the
//! model, token type and deployment type; `Quantity` in `UnitOfMeasure`
//! `1K` or `1M` the tokens. The amount is in the billing
//! currency; where the table is in USD and the export has `CostInUsd`, that
//! column is read instead; else, where an MCA export's `PricingCurrencyCode`
//! is the table's, its `CostInPricingCurrency`, or its billing amount at its
//! `ExchangeRatePricingToBilling`. `ChargeType` `Tax`, `Refund`/`Credit` and
//! rounding, reservation and savings-plan types are lines of their own.

use super::cloud::{self, BillRow, Kind};
use super::meters::Cloud;
use super::{Columns, InvoiceLine, Reader, RowError};

const METER: [&str; 1] = ["MeterName"];
const DATE: [&str; 3] = ["Date", "UsageDate", "UsageDateTime"];
const COST: [&str; 3] = ["CostInBillingCurrency", "Cost", "PreTaxCost"];
const COST_USD: [&str; 1] = ["CostInUsd"];
const CURRENCY: [&str; 3] = ["BillingCurrency", "BillingCurrencyCode", "Currency"];
const CHARGE_TYPE: [&str; 1] = ["ChargeType"];
const PRICING_CURRENCY: [&str; 2] = ["PricingCurrencyCode", "PricingCurrency"];
const WHAT: [&str; 5] = [
    "MeterCategory",
    "MeterSubCategory",
    "ProductName",
    "Product",
    "ConsumedService",
];

/// One cost export row.
pub(super) fn row(
    reader: &Reader,
    c: &Columns,
    r: &csv::StringRecord,
    line: u64,
) -> Result<Option<InvoiceLine>, RowError> {
    let meter = c.any(r, &METER).unwrap_or("");
    let date = c.need(r, &DATE)?;
    let day = cloud::azure_day(date).ok_or_else(|| cloud::bad_day("Date", date))?;
    let what: Vec<&str> = WHAT.iter().filter_map(|n| c.any(r, &[n])).collect();
    let model_service = cloud::azure_model_service(what.iter().copied());
    let usd = reader
        .in_usd()
        .then(|| c.any(r, &COST_USD))
        .flatten()
        .and_then(crate::money::parse_amount);
    // An MCA export priced in the table's currency states the amount in it.
    let table = reader.currency();
    let priced = (reader.priced_in_table((c, r), &PRICING_CURRENCY))
        .then(|| c.any(r, &["CostInPricingCurrency"]))
        .flatten()
        .and_then(crate::money::parse_amount);
    let own = usd.map(|a| (a, "USD")).or(priced.map(|a| (a, table)));
    let (amount, currency) = match own {
        Some(own) => own,
        None => (c.any_amount(r, &COST)?, c.any(r, &CURRENCY).unwrap_or("")),
    };
    let row = BillRow {
        cloud: Cloud::Azure,
        kind: kind(c.any(r, &CHARGE_TYPE).unwrap_or("Usage"))?,
        meter,
        product: None,
        model_service,
        other_service: !model_service && what.iter().any(|w| !w.trim().is_empty()),
        days: Some((day, day)),
        billing_period: cloud::billing_period(
            c,
            r,
            &["BillingPeriodStartDate"],
            cloud::azure_period,
        )?,
        amount,
        list: None,
        quantity: cloud::tokens_in(c.any(r, &["Quantity"]), c.any(r, &["UnitOfMeasure"])),
        currency,
        rate: reader.stated_rate(
            (c, r),
            "ExchangeRatePricingToBilling",
            &PRICING_CURRENCY,
            currency,
        )?,
        // A row without a meter (a purchase) by its product.
        description: match meter {
            "" => c.any(r, &["ProductName", "Product"]).unwrap_or(""),
            meter => meter,
        },
        line,
    };
    cloud::line(reader, row).map(Some)
}

/// A charge type's kind.
fn kind(charge_type: &str) -> Result<Kind, RowError> {
    Ok(match charge_type.to_ascii_lowercase().as_str() {
        "usage" => Kind::Usage,
        "purchase" => Kind::Purchase,
        "tax" => Kind::Tax,
        "refund" | "credit" => Kind::Credit,
        "roundingadjustment" | "unusedreservation" | "unusedsavingsplan" | "adjustment" => {
            Kind::Adjustment
        }
        _ => {
            return Err((
                "bad-charge",
                format!("ChargeType: unexpected \"{charge_type}\""),
            ))
        }
    })
}
