//! `summary.json`'s shape: the totals, counts, inputs, checks and gates of
//! one run, as data. [`crate::write::summary`] renders it.

use rust_decimal::Decimal;
use serde::Serialize;

use crate::attribute::Totals;
use crate::ledger::{cost_columns, has_fees, Counts};
use crate::model::{TokenType, REASONING_COLUMN};
use crate::money::Micros;

/// `summary.json`: totals, counts and inputs of one run.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// The tokenledger version that wrote the file.
    pub tokenledger_version: &'static str,
    /// The pricing table used.
    pub pricing: PricingInfo,
    /// `--period`, if given.
    pub period: Option<String>,
    /// The as-of day of a month to date (`--as-of`, or the running month's
    /// last day with data): its reports hold part of the month.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub month_to_date: Option<String>,
    /// Whether the as-of day was not over (the clock's UTC today): the
    /// forecast read it as the share of the day its records cover.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub month_to_date_open: bool,
    /// Totals over every usage record in period.
    pub totals: TotalsJson,
    /// Record counts.
    pub counts: Counts,
    /// What `--lenient` skipped.
    pub skipped: SkippedJson,
    /// Every input file with its detected format and record count.
    pub inputs: Vec<crate::read::InputFile>,
    /// Files of walked input directories that were not read, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped_files: Vec<crate::read::SkippedFile>,
    /// The comparison with the invoice, when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reconciliation: Option<crate::reconcile::ReconciliationJson>,
    /// The comparison with provider usage reports, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<crate::coverage::CoverageJson>,
    /// The labels carrying the most of the unattributed records' cost,
    /// where they carry labels.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unattributed_labels: Vec<crate::allocate::LabelJson>,
    /// With `--allocation`: who owns what.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allocation: Option<crate::allocate::AllocationJson>,
    /// The config file whose defaults the run used, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
    /// One line per gate that failed (the run exits 1).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed_gates: Vec<String>,
    /// One line per warning.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The CSV files were written with `--raw-csv` (cells not neutralised):
    /// `diff` then reads them as they are.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub raw_csv: bool,
}

/// Which pricing table was used.
#[derive(Debug, Serialize)]
pub struct PricingInfo {
    /// A path, or `built-in`.
    pub source: String,
    /// The table's `version`.
    pub version: String,
    /// The table's `currency`.
    pub currency: String,
}

/// Named values serialised as a JSON object in the order given.
#[derive(Debug)]
pub struct Ordered<T>(pub Vec<(&'static str, T)>);

impl<T: Serialize> Serialize for Ordered<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl<T> Ordered<T> {
    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&T> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

/// Grand totals; money as decimal strings with 6 places.
#[derive(Debug, Serialize)]
pub struct TotalsJson {
    /// Usage records.
    pub requests: u64,
    /// Tokens per type, keyed like the CSV columns, in column order.
    pub tokens: Ordered<u128>,
    /// Rounded cost per column, then `cost_usd`.
    pub cost: Ordered<String>,
    /// Sum of the usage source's own reported costs, where given.
    pub reported_cost_usd: Option<String>,
}

impl TotalsJson {
    /// Totals from the grand total and its rounded column split.
    pub fn new(
        total: &Totals,
        columns: &[Micros; crate::ledger::COLUMNS],
        reported: Option<Decimal>,
    ) -> TotalsJson {
        let mut cost: Vec<(&'static str, String)> = cost_columns(has_fees(total))
            .iter()
            .zip(columns)
            .map(|(c, m)| (*c, m.to_string()))
            .collect();
        cost.push((
            "cost_usd",
            columns.iter().copied().sum::<Micros>().to_string(),
        ));
        TotalsJson {
            requests: total.requests,
            tokens: Ordered(
                TokenType::ALL
                    .iter()
                    .map(|t| (t.tokens_column(), total.tokens()[t.index()]))
                    .chain([(REASONING_COLUMN, total.reasoning())])
                    .collect(),
            ),
            cost: Ordered(cost),
            reported_cost_usd: reported.map(|r| Micros::round(r).to_string()),
        }
    }
}

/// What `--lenient` skipped.
#[derive(Debug, Default, Serialize)]
pub struct SkippedJson {
    /// Count per kind of error.
    pub by_kind: std::collections::BTreeMap<String, u64>,
    /// The first few, with file and line.
    pub first: Vec<String>,
}
