//! `summary.json` and the human summary printed after a run.

use rust_decimal::Decimal;
use serde::Serialize;

use super::reports::{RoundedRow, COST_COLUMNS};
use crate::attribute::Totals;
use crate::model::TokenType;
use crate::money::{ratio, Micros};
use crate::terminal::escape;

/// `summary.json`: totals, counts and inputs of one run.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// The tokenledger version that wrote the file.
    pub tokenledger_version: &'static str,
    /// The pricing table used.
    pub pricing: PricingInfo,
    /// `--period`, if given.
    pub period: Option<String>,
    /// Totals over every usage record in period.
    pub totals: TotalsJson,
    /// Record counts.
    pub counts: Counts,
    /// What `--lenient` skipped.
    pub skipped: SkippedJson,
    /// Every input file with its detected format and record count.
    pub inputs: Vec<crate::read::InputFile>,
    /// The comparison with the invoice, when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reconciliation: Option<super::reconciliation::ReconciliationJson>,
    /// The comparison with provider usage reports, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<super::coverage::CoverageJson>,
    /// The config file whose defaults the run used, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
    /// One line per gate that failed (the run exits 1).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed_gates: Vec<String>,
    /// One line per warning.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
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
    pub fn new(total: &Totals, columns: &[Micros; 4], reported: Option<Decimal>) -> TotalsJson {
        let mut cost: Vec<(&'static str, String)> = COST_COLUMNS
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
                    .map(|t| (t.tokens_column(), total.tokens[t.index()]))
                    .collect(),
            ),
            cost: Ordered(cost),
            reported_cost_usd: reported.map(|r| Micros::round(r).to_string()),
        }
    }
}

/// Record counts of one run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Counts {
    /// Spans read.
    pub spans: u64,
    /// Distinct traces (runs).
    pub traces: u64,
    /// Inference calls among the spans.
    pub calls: u64,
    /// Usage records read, before dedupe and period filter.
    pub usage_records_read: u64,
    /// Rows a usage source logged but that were not billed (failed calls).
    pub usage_rows_not_billed: u64,
    /// Exact repeats of an earlier usage record, dropped.
    pub duplicate_usage_records: u64,
    /// Records outside `--period`, left out of every total.
    pub out_of_period: u64,
    /// Invoice lines dated outside `--period`, left out of the comparison.
    pub invoice_lines_out_of_period: u64,
    /// Provider usage report rows dated outside `--period`, left out of coverage.
    pub provider_usage_rows_out_of_period: u64,
    /// Records priced and reported.
    pub usage_records: u64,
    /// Records joined to a call.
    pub matched: u64,
    /// Records that joined no call.
    pub unattributed: u64,
    /// Calls with no usage record.
    pub unbilled_calls: u64,
    /// Spans whose parent never appeared.
    pub orphan_spans: u64,
    /// Spans read more than once.
    pub duplicate_spans: u64,
    /// Inference spans that only wrap another inference span (not calls).
    pub wrapper_spans: u64,
    /// Records skipped under `--lenient`.
    pub skipped: u64,
}

/// What `--lenient` skipped.
#[derive(Debug, Default, Serialize)]
pub struct SkippedJson {
    /// Count per kind of error.
    pub by_kind: std::collections::BTreeMap<String, u64>,
    /// The first few, with file and line.
    pub first: Vec<String>,
}

/// The human summary: totals, coverage, top tenants and features, with
/// every name escaped for the terminal.
pub fn terminal_summary(
    summary: &Summary,
    tenants: &[RoundedRow],
    features: &[RoundedRow],
) -> String {
    use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, Table as Grid};
    let c = &summary.counts;
    let t = &summary.totals;
    let mut out = format!(
        "tokenledger: {} usage records{}, priced with {} (version {}){}\n",
        c.usage_records,
        summary
            .period
            .as_ref()
            .map_or(String::new(), |p| format!(" in {p}")),
        escape(&summary.pricing.source),
        escape(&summary.pricing.version),
        summary
            .config
            .as_ref()
            .map_or(String::new(), |c| format!("; defaults from {}", escape(c)))
    );
    let pct = |part: u64, whole: u64| {
        ratio(Decimal::from(part), Decimal::from(whole), 100, 1)
            .map_or("-".to_string(), |r| format!("{r:.1} %"))
    };
    let mut grid = Grid::new();
    grid.load_preset(UTF8_FULL_CONDENSED)
        .set_header(["total", "value"]);
    for (name, value) in [
        (
            "cost_usd",
            t.cost.get("cost_usd").cloned().unwrap_or_default(),
        ),
        ("requests", t.requests.to_string()),
        (
            "matched to spans",
            format!("{} ({})", c.matched, pct(c.matched, c.usage_records)),
        ),
        ("unattributed records", c.unattributed.to_string()),
        ("unbilled calls", c.unbilled_calls.to_string()),
        ("out of period", c.out_of_period.to_string()),
        ("skipped (lenient)", c.skipped.to_string()),
    ] {
        grid.add_row([
            Cell::new(name),
            Cell::new(value).set_alignment(CellAlignment::Right),
        ]);
    }
    if let Some(reported) = &t.reported_cost_usd {
        let cell = Cell::new(reported).set_alignment(CellAlignment::Right);
        grid.add_row([Cell::new("reported by source"), cell]);
    }
    for column in COST_COLUMNS {
        let value = t.cost.get(column).map_or("", String::as_str);
        grid.add_row([
            Cell::new(column),
            Cell::new(value).set_alignment(CellAlignment::Right),
        ]);
    }
    out.push_str(&grid.to_string());
    out.push('\n');
    for (title, rows) in [("tenant", tenants), ("feature", features)] {
        let mut grid = Grid::new();
        grid.load_preset(UTF8_FULL_CONDENSED).set_header([
            format!("top {title}"),
            "cost_usd".into(),
            "share".into(),
        ]);
        let whole: Micros = rows.iter().map(|r| r.cost_usd).sum();
        for row in rows.iter().take(5) {
            let share = ratio(row.cost_usd.to_decimal(), whole.to_decimal(), 100, 1)
                .map_or("-".into(), |r| format!("{r:.1} %"));
            grid.add_row([
                Cell::new(escape(&row.keys[0])),
                Cell::new(row.cost_usd).set_alignment(CellAlignment::Right),
                Cell::new(share).set_alignment(CellAlignment::Right),
            ]);
        }
        out.push_str(&grid.to_string());
        out.push('\n');
    }
    out
}
