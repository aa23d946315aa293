//! The invoice formats tokenledger reads, and how a file's format is told
//! from its first bytes: a CSV header's columns, or a JSON page's keys.

use std::path::Path;

use crate::error::{Error, Result};

/// The invoice formats tokenledger reads. `--invoice-format` takes each
/// by its value name or by the name the summary shows ([`InvoiceFormat::name`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum InvoiceFormat {
    /// tokenledger's invoice CSV.
    #[value(alias = "tokenledger-invoice-csv")]
    Tokenledger,
    /// Anthropic Admin API cost_report JSON pages.
    AnthropicCostReport,
    /// Anthropic Admin API analytics/cost JSON pages.
    #[value(alias = "anthropic-analytics-cost")]
    AnthropicAnalytics,
    /// Anthropic Console cost CSV.
    #[value(alias = "anthropic-cost-csv")]
    AnthropicCsv,
    /// OpenAI /v1/organization/costs JSON pages.
    OpenaiCosts,
    /// OpenAI dashboard cost CSV.
    #[value(alias = "openai-cost-csv")]
    OpenaiCsv,
    /// AWS Cost and Usage Report (CUR 2.0 Data Exports, or legacy CUR) CSV.
    AwsCur,
    /// Google Cloud billing export to BigQuery, extracted as JSON lines.
    #[value(alias = "gcp-billing-export")]
    GcpBilling,
    /// Google Cloud billing export, flattened to CSV by a query.
    #[value(alias = "gcp-billing-export-csv")]
    GcpBillingCsv,
    /// Azure Cost Management cost details export CSV (EA or MCA).
    #[value(alias = "azure-cost-export")]
    AzureCost,
    /// A FOCUS 1.0–1.3 cost export (AWS, Microsoft or Google).
    Focus,
}

impl InvoiceFormat {
    /// The name shown in the summary.
    pub fn name(self) -> &'static str {
        match self {
            InvoiceFormat::Tokenledger => "tokenledger-invoice-csv",
            InvoiceFormat::AnthropicCostReport => "anthropic-cost-report",
            InvoiceFormat::AnthropicAnalytics => "anthropic-analytics-cost",
            InvoiceFormat::AnthropicCsv => "anthropic-cost-csv",
            InvoiceFormat::OpenaiCosts => "openai-costs",
            InvoiceFormat::OpenaiCsv => "openai-cost-csv",
            InvoiceFormat::AwsCur => "aws-cur",
            InvoiceFormat::GcpBilling => "gcp-billing-export",
            InvoiceFormat::GcpBillingCsv => "gcp-billing-export-csv",
            InvoiceFormat::AzureCost => "azure-cost-export",
            InvoiceFormat::Focus => "focus",
        }
    }

    /// Detect a file's format from its first bytes: a CSV header, or the
    /// keys of a JSON page.
    pub fn detect(path: &Path, head: &str) -> Result<InvoiceFormat> {
        let trimmed = head.trim_start();
        let found = if trimmed.starts_with('{') || trimmed.starts_with('[') {
            json_format(head)
        } else {
            // A line ends at `\n`, `\r\n` or (a classic Mac save) `\r` alone,
            // which the reader then refuses naming it.
            let header = head.split(['\n', '\r']).next().unwrap_or("");
            let columns: Vec<String> = header
                .split(',')
                .map(|h| {
                    h.trim()
                        .trim_matches('"')
                        .trim_start_matches('\u{feff}')
                        .trim()
                        .to_string()
                })
                .collect();
            csv_format(&columns)
        };
        found.ok_or_else(|| {
            Error::fatal(format!(
                "{}: not an invoice format tokenledger knows (tokenledger invoice CSV; Anthropic \
                 cost_report or analytics JSON or Console CSV; OpenAI costs JSON or dashboard CSV; \
                 an AWS CUR, a Google Cloud billing export, an Azure cost export or a FOCUS \
                 export); use --invoice-format to force one",
                path.display()
            ))
        })
    }
}

/// A JSON page's format, from its keys.
fn json_format(head: &str) -> Option<InvoiceFormat> {
    let has = |key: &str| head.contains(&format!("\"{key}\""));
    if head.contains("organization.costs.result") || has("line_item") {
        return Some(InvoiceFormat::OpenaiCosts);
    }
    if has("list_amount") {
        return Some(InvoiceFormat::AnthropicAnalytics);
    }
    if has("billing_account_id") || (has("sku") && has("usage_start_time")) {
        return Some(InvoiceFormat::GcpBilling);
    }
    if has("cost_type") || has("starting_at") {
        return Some(InvoiceFormat::AnthropicCostReport);
    }
    // A page of no results: no lines, of its envelope's provider.
    crate::read::report_pages::no_results_page(head).map(|openai| match openai {
        true => InvoiceFormat::OpenaiCosts,
        false => InvoiceFormat::AnthropicCostReport,
    })
}

/// A CSV header's format, from its columns, named in any case (warehouse
/// extracts upper-case them: `LINE_ITEM_USAGE_TYPE`).
fn csv_format(columns: &[String]) -> Option<InvoiceFormat> {
    let has = |col: &str| columns.iter().any(|c| c.eq_ignore_ascii_case(col));
    if has("amount_usd") && has("token_type") {
        return Some(InvoiceFormat::Tokenledger);
    }
    if has("line_item") && has("amount_value") {
        return Some(InvoiceFormat::OpenaiCsv);
    }
    if has("usage_date_utc") && has("cost_usd") {
        return Some(InvoiceFormat::AnthropicCsv);
    }
    if has("BilledCost") && has("ChargeCategory") {
        return Some(InvoiceFormat::Focus);
    }
    if has("line_item_usage_type") || has("lineItem/UsageType") {
        return Some(InvoiceFormat::AwsCur);
    }
    if has("MeterName")
        && ["Cost", "CostInBillingCurrency", "PreTaxCost"]
            .iter()
            .any(|c| has(c))
    {
        return Some(InvoiceFormat::AzureCost);
    }
    let gcp_sku = has("sku.description") || has("sku_description");
    if gcp_sku && (has("usage_start_time") || has("cost")) {
        return Some(InvoiceFormat::GcpBillingCsv);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_headers_are_told_in_any_case() {
        let format = |header: &str| {
            let columns: Vec<String> = header.split(',').map(str::to_string).collect();
            csv_format(&columns)
        };
        let cur = "LINE_ITEM_USAGE_TYPE,LINE_ITEM_UNBLENDED_COST";
        assert_eq!(format(cur), Some(InvoiceFormat::AwsCur));
        assert_eq!(
            format("billedcost,chargecategory"),
            Some(InvoiceFormat::Focus)
        );
        let azure = "Date,MeterName,PreTaxCost";
        assert_eq!(format(azure), Some(InvoiceFormat::AzureCost));
        assert_eq!(format("Date,MeterName,Quantity"), None);
    }
}
