//! FOCUS cost exports (1.0 to 1.3), as AWS, Microsoft and Google emit them.
//! The cloud is told by `ServiceProviderName` (1.3) or `ProviderName`; the
//! meter is the cloud's own, in the column that cloud puts it in (`SkuMeter`
//! in 1.2 and later; AWS 1.0's `x_UsageType`, Microsoft's `x_SkuMeterName`,
//! Google's SKU in `ChargeDescription`), read by the same grammar as the
//! cloud's native export. The amount is `BilledCost` (Microsoft's
//! `x_BilledCostInUsd` when the table is in USD), the day
//! `ChargePeriodStart`'s; `ChargeCategory` `Tax`, `Credit` and
//! `Adjustment` rows, and `ChargeClass` `Correction` rows, are lines of
//! their own.

use super::cloud::{self, BillRow, Kind};
use super::meters::Cloud;
use super::{Columns, InvoiceLine, Reader, RowError};

const PROVIDER: [&str; 4] = [
    "HostProviderName",
    "ProviderName",
    "InvoiceIssuerName",
    "ServiceProviderName",
];
const SERVICE: [&str; 1] = ["ServiceName"];
const PRICING_CURRENCY: [&str; 2] = ["PricingCurrency", "x_PricingCurrency"];
const START: [&str; 1] = ["ChargePeriodStart"];
const END: [&str; 1] = ["ChargePeriodEnd"];

/// One FOCUS row.
pub(super) fn row(
    reader: &Reader,
    c: &Columns,
    r: &csv::StringRecord,
    line: u64,
) -> Result<Option<InvoiceLine>, RowError> {
    let cloud = cloud_of(c, r)?;
    let service = c.any(r, &SERVICE).unwrap_or("");
    let meter = match cloud {
        Cloud::Aws => c.any(r, &["SkuMeter", "x_UsageType"]),
        Cloud::Azure => c.any(r, &["x_SkuMeterName", "SkuMeter"]),
        Cloud::Gcp => c.any(r, &["SkuMeter", "ChargeDescription"]),
    }
    .unwrap_or("");
    let start = c.need(r, &START)?;
    let start_day =
        cloud::parse_day(start).ok_or_else(|| cloud::bad_day("ChargePeriodStart", start))?;
    let (end, midnight) = cloud::end_of(c.any_named(r, &END))?;
    let days = cloud::days(start_day, end, midnight);
    let usd = reader
        .in_usd()
        .then(|| c.any(r, &["x_BilledCostInUsd"]))
        .flatten();
    let (amount, currency) = match usd.and_then(crate::money::parse_amount) {
        Some(amount) => (amount, "USD"),
        None => (
            c.any_amount(r, &["BilledCost"])?,
            c.any(r, &["BillingCurrency"]).unwrap_or(""),
        ),
    };
    let model_service = model_service(cloud, c, r, service, meter);
    let row = BillRow {
        cloud,
        kind: kind(c, r)?,
        meter,
        product: Some(service),
        model_service,
        other_service: !model_service && !service.trim().is_empty(),
        days: Some(days),
        billing_period: cloud::billing_period(c, r, &["BillingPeriodStart"], cloud::written_day)?,
        amount,
        quantity: None,
        list: c
            .any(r, &["ListCost"])
            .and_then(crate::money::parse_amount)
            .filter(|_| usd.is_none()),
        currency,
        rate: reader.stated_rate((c, r), "x_BillingExchangeRate", &PRICING_CURRENCY, currency)?,
        description: c.any(r, &["ChargeDescription"]).unwrap_or(service),
        line,
    };
    cloud::line(reader, row).map(Some)
}

/// The cloud a row is of: the first of its provider columns that names
/// AWS, Microsoft or Google by a word of its own (`Amazon Web Services`,
/// not a reseller's `Dawson`). A FOCUS 1.3 Marketplace row's
/// `ServiceProviderName` (and `ProviderName`) is the seller (Anthropic), its
/// `HostProviderName` the cloud; FOCUS 1.0–1.2's `ProviderName` is the
/// cloud, and `InvoiceIssuerName` may be a reseller.
fn cloud_of(c: &Columns, r: &csv::StringRecord) -> Result<Cloud, RowError> {
    let named = |column: &str| {
        let provider = c.any(r, &[column])?.to_ascii_lowercase();
        let words: Vec<&str> = provider
            .split(|ch: char| !ch.is_ascii_alphanumeric())
            .collect();
        let is = |names: &[&str]| names.iter().any(|n| words.contains(n));
        match () {
            _ if is(&["aws", "amazon"]) => Some(Cloud::Aws),
            _ if is(&["microsoft", "azure"]) => Some(Cloud::Azure),
            _ if is(&["google"]) => Some(Cloud::Gcp),
            _ => None,
        }
    };
    if let Some(cloud) = PROVIDER.iter().find_map(|column| named(column)) {
        Ok(cloud)
    } else if c.any(r, &["x_ServiceCode", "x_UsageType"]).is_some() {
        Ok(Cloud::Aws)
    } else if c
        .any(r, &["x_SkuMeterName", "x_SkuMeterCategory"])
        .is_some()
    {
        Ok(Cloud::Azure)
    } else {
        let given = c.any_named(r, &PROVIDER);
        let (column, provider) = given.unwrap_or(("ProviderName", ""));
        Err((
            "bad-provider",
            format!("{column}: expected AWS, Microsoft or Google, got \"{provider}\""),
        ))
    }
}

/// Whether a row is of a model service of its cloud.
fn model_service(
    cloud: Cloud,
    c: &Columns,
    r: &csv::StringRecord,
    service: &str,
    meter: &str,
) -> bool {
    match cloud {
        Cloud::Aws => {
            cloud::bedrock_code(c.any(r, &["x_ServiceCode"]).unwrap_or(""))
                || service == "Amazon Bedrock"
                || service.ends_with("(Amazon Bedrock Edition)")
                || meter.contains("-mantle-")
        }
        Cloud::Azure => {
            let what = [
                Some(service),
                c.any(r, &["x_SkuMeterCategory"]),
                c.any(r, &["x_SkuMeterSubcategory"]),
            ];
            cloud::azure_model_service(what.into_iter().flatten())
        }
        Cloud::Gcp => cloud::gcp_model_service(service, meter),
    }
}

/// A row's kind: its `ChargeCategory`, a correction an adjustment.
fn kind(c: &Columns, r: &csv::StringRecord) -> Result<Kind, RowError> {
    if c.any(r, &["ChargeClass"]) == Some("Correction") {
        return Ok(Kind::Adjustment);
    }
    let category = c.any(r, &["ChargeCategory"]).unwrap_or("Usage");
    Ok(match category {
        "Usage" => Kind::Usage,
        "Purchase" => Kind::Purchase,
        "Tax" => Kind::Tax,
        "Credit" => Kind::Credit,
        "Adjustment" => Kind::Adjustment,
        other => {
            return Err((
                "bad-charge",
                format!("ChargeCategory: unexpected \"{other}\""),
            ))
        }
    })
}
