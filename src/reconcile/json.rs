//! The reconciliation part of `summary.json`.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::Reconciliation;
use crate::money::Micros;
use crate::read::invoice::Charge;

/// Credits, tax and adjustments.
const ADJUSTING: [Charge; 3] = [Charge::Credit, Charge::Tax, Charge::Adjustment];

/// The reconciliation part of `summary.json`.
#[derive(Debug, serde::Serialize)]
pub struct ReconciliationJson {
    /// `ok`, or `drift` when the gate fails (exit 1).
    pub status: &'static str,
    /// Whether lines were compared per UTC day.
    pub daily: bool,
    /// `--tolerance`, percent.
    pub tolerance_pct: String,
    /// `--tolerance-usd`.
    pub tolerance_usd: String,
    /// Computed cost of all usage.
    pub computed_usage_usd: String,
    /// Invoiced usage.
    pub invoiced_usage_usd: String,
    /// Computed − invoiced usage.
    pub delta_usd: String,
    /// Credits, tax and adjustments on the invoice.
    pub credits_tax_adjustments_usd: String,
    /// A model service's charges that are not per token, when billed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed_usd: Option<String>,
    /// Model usage under a meter or model nothing reads, when billed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unmapped_usd: Option<String>,
    /// A cloud bill's other services, when billed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_services_usd: Option<String>,
    /// The invoice's bottom line: usage and every other line.
    pub invoice_total_usd: String,
    /// Lines per status.
    pub lines: BTreeMap<&'static str, u64>,
}

impl ReconciliationJson {
    /// The summary of `rec`.
    pub fn new(rec: &Reconciliation) -> ReconciliationJson {
        let usd = |d: Decimal| Micros::round(d).to_string();
        let some = |charge: Charge| {
            let billed = rec.other.iter().any(|l| l.charge == charge);
            billed.then(|| usd(rec.other_total(&[charge])))
        };
        ReconciliationJson {
            status: if rec.failed() { "drift" } else { "ok" },
            daily: rec.daily,
            tolerance_pct: rec.tolerance.pct.normalize().to_string(),
            tolerance_usd: rec.tolerance.usd.normalize().to_string(),
            computed_usage_usd: usd(rec.computed_total),
            invoiced_usage_usd: usd(rec.invoiced_usage),
            // As in reconciliation.csv: the difference of the rounded sides,
            // so the three figures agree as printed.
            delta_usd: Micros(
                Micros::round(rec.computed_total).0 - Micros::round(rec.invoiced_usage).0,
            )
            .to_string(),
            credits_tax_adjustments_usd: usd(rec.other_total(&ADJUSTING)),
            fixed_usd: some(Charge::Fixed),
            unmapped_usd: some(Charge::Unmapped),
            other_services_usd: some(Charge::Service),
            invoice_total_usd: usd(rec.invoice_total()),
            lines: rec.counts(),
        }
    }
}
