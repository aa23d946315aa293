//! AWS Cost and Usage Reports: CUR 2.0 Data Exports (`line_item_usage_type`,
//! …) and the legacy CUR's spelling of the same columns
//! (`lineItem/UsageType`, …), as CSV.
//!
//! Bedrock's rows are those of its product codes (`AmazonBedrock`,
//! `AmazonBedrockService`, `AmazonBedrockFoundationModels`, any other
//! `AmazonBedrock…` but `AmazonBedrockAgentCore`), of a Marketplace
//! product `… (Amazon Bedrock Edition)`, or of a `-mantle-` usage type. The
//! usage type says the model, token type, tier and scope; the amount is
//! `line_item_net_unblended_cost` where the export has it, else
//! `line_item_unblended_cost`; the day is `line_item_usage_start_date`'s.
//! `Tax`, `Credit`, `Refund`, `SavingsPlan*` and fee line items are lines
//! of their own. `line_item_usage_amount` in `pricing_unit` `1K tokens` is
//! the tokens a line bills (for the diagnosis of a count).

use super::cloud::{self, BillRow, Kind};
use super::meters::Cloud;
use super::{Columns, InvoiceLine, Reader, RowError};

const USAGE_TYPE: [&str; 2] = ["line_item_usage_type", "lineItem/UsageType"];
const PRODUCT_CODE: [&str; 4] = [
    "line_item_product_code",
    "lineItem/ProductCode",
    "product_servicecode",
    "product/servicecode",
];
const ITEM_TYPE: [&str; 2] = ["line_item_line_item_type", "lineItem/LineItemType"];
const START: [&str; 2] = ["line_item_usage_start_date", "lineItem/UsageStartDate"];
const END: [&str; 2] = ["line_item_usage_end_date", "lineItem/UsageEndDate"];
const COST: [&str; 4] = [
    "line_item_net_unblended_cost",
    "lineItem/NetUnblendedCost",
    "line_item_unblended_cost",
    "lineItem/UnblendedCost",
];
const CURRENCY: [&str; 2] = ["line_item_currency_code", "lineItem/CurrencyCode"];
const DESCRIPTION: [&str; 2] = [
    "line_item_line_item_description",
    "lineItem/LineItemDescription",
];
const BILLING_PERIOD: [&str; 2] = [
    "bill_billing_period_start_date",
    "bill/BillingPeriodStartDate",
];
const USAGE_AMOUNT: [&str; 2] = ["line_item_usage_amount", "lineItem/UsageAmount"];
const PRICING_UNIT: [&str; 2] = ["pricing_unit", "pricing/unit"];
const ENTITY: [&str; 2] = ["bill_billing_entity", "bill/BillingEntity"];
const PRODUCT_NAME: [&str; 2] = ["product_product_name", "product/ProductName"];

/// A Marketplace model's product name ends so.
const BEDROCK_EDITION: &str = "(Amazon Bedrock Edition)";

/// One CUR row.
pub(super) fn row(
    reader: &Reader,
    c: &Columns,
    r: &csv::StringRecord,
    line: u64,
) -> Result<Option<InvoiceLine>, RowError> {
    let usage_type = c.any(r, &USAGE_TYPE).unwrap_or("");
    let code = c.any(r, &PRODUCT_CODE).unwrap_or("");
    let product = product_name(c, r);
    let marketplace = c.any(r, &ENTITY) == Some("AWS Marketplace")
        && product
            .as_deref()
            .is_some_and(|p| p.ends_with(BEDROCK_EDITION));
    let (name, v) = c.need_named(r, &START)?;
    let start = cloud::parse_day(v).ok_or_else(|| cloud::bad_day(name, v))?;
    let (end, midnight) = cloud::end_of(c.any_named(r, &END))?;
    let model_service = cloud::bedrock_code(code) || marketplace || usage_type.contains("-mantle-");
    let row = BillRow {
        cloud: Cloud::Aws,
        kind: kind(c.any(r, &ITEM_TYPE).unwrap_or("Usage"))?,
        meter: usage_type,
        product: product.as_deref(),
        model_service,
        other_service: !code.is_empty() && !model_service,
        days: Some(cloud::days(start, end, midnight)),
        billing_period: cloud::billing_period(c, r, &BILLING_PERIOD, cloud::written_day)?,
        amount: c.any_amount(r, &COST)?,
        list: None,
        quantity: cloud::tokens_in(c.any(r, &USAGE_AMOUNT), c.any(r, &PRICING_UNIT)),
        currency: c.any(r, &CURRENCY).unwrap_or(""),
        rate: None,
        description: c.any(r, &DESCRIPTION).unwrap_or(""),
        line,
    };
    cloud::line(reader, row).map(Some)
}

/// A line item type's kind.
fn kind(item_type: &str) -> Result<Kind, RowError> {
    Ok(match item_type {
        "Usage" | "DiscountedUsage" => Kind::Usage,
        "Tax" => Kind::Tax,
        "Credit" | "Refund" => Kind::Credit,
        t if t.starts_with("SavingsPlan") || t.ends_with("Fee") || t.ends_with("Discount") => {
            Kind::Adjustment
        }
        "RIFee" | "EdpDiscount" | "PrivateRateDiscount" | "BundledDiscount" => Kind::Adjustment,
        other => {
            return Err((
                "bad-charge",
                format!("line_item_line_item_type: unexpected \"{other}\""),
            ))
        }
    })
}

/// The product's name: its own column, or the `product` map column's
/// `product_name` key (CUR 2.0).
fn product_name(c: &Columns, r: &csv::StringRecord) -> Option<String> {
    if let Some(name) = c.any(r, &PRODUCT_NAME) {
        return Some(name.to_string());
    }
    let map = c.any(r, &["product"])?;
    let value: serde_json::Value = serde_json::from_str(map).ok()?;
    value.get("product_name")?.as_str().map(str::to_string)
}
