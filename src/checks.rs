//! The checks a run makes against what providers say, as data: the
//! reconciliation with the invoice and the coverage against provider usage
//! reports, their part of `summary.json`, and their gates.

use rust_decimal::Decimal;

use crate::coverage::{Coverage, CoverageJson};
use crate::reconcile::{Reconciliation, ReconciliationJson};
use crate::summary::Summary;

/// The checks a run made against what providers say: reconciliation with
/// the invoice and coverage against their usage reports.
pub struct Checks {
    /// The reconciliation, with `--invoice`.
    pub reconciliation: Option<Reconciliation>,
    /// The coverage, with `--provider-usage`.
    pub coverage: Option<Coverage>,
    /// `--min-coverage`: the coverage gate, percent.
    pub min_coverage: Option<Decimal>,
    /// The bills and reports read without their last page, each said in
    /// a sentence: a failed gate, since what they would add is unknown.
    pub cut_short: Vec<String>,
    /// What a reader should know of the bills, each said in a sentence
    /// (a usage line across the edge of the period): `summary.json`'s
    /// warnings.
    pub warnings: Vec<String>,
}

impl Checks {
    /// Add the checks' parts to `summary.json`.
    pub fn summarise(&self, summary: &mut Summary) {
        summary.reconciliation = self.reconciliation.as_ref().map(ReconciliationJson::new);
        summary.coverage = self
            .coverage
            .as_ref()
            .map(|c| CoverageJson::new(c, self.min_coverage));
    }

    /// The failed gates: the reconciliation drifts, or coverage is below
    /// the minimum.
    pub fn failed(&self) -> Vec<String> {
        let mut failed = Vec::new();
        if let Some(rec) = self.reconciliation.as_ref().filter(|r| r.failed()) {
            failed.push(format!(
                "reconciliation drift: {} beyond the tolerance (see reconciliation.csv)",
                rec.failing_summary()
            ));
        }
        if let (Some(coverage), Some(min)) = (&self.coverage, self.min_coverage) {
            let below = coverage.below(min);
            if below > 0 {
                failed.push(format!(
                    "coverage: {below} row(s) below --min-coverage {min} % (see coverage.csv)"
                ));
            }
        }
        failed.extend(
            self.cut_short
                .iter()
                .map(|why| format!("pages missing: {why}")),
        );
        failed
    }
}
