//! Stage 7, write: round the exact ledger to micro-dollars (see
//! [`crate::money`]), and write the CSV reports, the listings of what could
//! not be attributed or billed, `summary.json` and the terminal summary.
//! Files are written atomically: a temporary file in the output directory,
//! then a rename.

use std::io::Write;
use std::path::Path;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::attribute::{Table, Totals};
use crate::error::{Error, Result};
use crate::model::{Cost, TokenType};
use crate::money::{apportion, ratio, split, Micros};

/// Cost columns of every report, in order: cache writes of both lifetimes
/// are one column.
pub const COST_COLUMNS: [&str; 4] = [
    "cost_input_usd",
    "cost_cache_read_usd",
    "cost_cache_write_usd",
    "cost_output_usd",
];

/// A cost split into the four report columns.
pub fn components(cost: &Cost) -> [Decimal; 4] {
    let c = cost.0;
    [c[0], c[1], c[2] + c[3], c[4]]
}

/// The rounded grand total split over the four cost columns: every report's
/// columns sum to these.
pub fn column_totals(total: &Totals) -> Result<[Micros; 4]> {
    split(components(&total.cost))
}

/// A report row after rounding.
#[derive(Clone, Debug)]
pub struct RoundedRow {
    /// Label columns.
    pub keys: Vec<String>,
    /// Exact sums (tokens, requests, exact cost for ratios).
    pub totals: Totals,
    /// Rounded cost columns.
    pub cost: [Micros; 4],
    /// Rounded `cost_usd`: the sum of `cost`.
    pub cost_usd: Micros,
    /// Rounded inclusive cost (agents only).
    pub inclusive: Option<Micros>,
}

/// Round a table's rows so that each cost column sums to `targets`, and sort
/// them by cost descending, then labels ascending.
pub fn round_table(table: &Table, targets: &[Micros; 4]) -> Result<Vec<RoundedRow>> {
    let mut rows = table.rows.clone();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let mut columns = Vec::with_capacity(4);
    for (k, target) in targets.iter().enumerate() {
        let exact: Vec<Decimal> = rows
            .iter()
            .map(|(_, t, _)| components(&t.cost)[k])
            .collect();
        columns.push(apportion(&exact, *target)?);
    }
    let mut rounded: Vec<RoundedRow> = rows
        .into_iter()
        .enumerate()
        .map(|(i, (keys, totals, inclusive))| {
            let cost = [0, 1, 2, 3].map(|k| columns[k][i]);
            let cost_usd: Micros = cost.iter().copied().sum();
            // Inclusive = this row's own rounded cost + the rounded cost of the
            // sub-agents below it, so it is never below cost_usd.
            let inclusive = inclusive
                .map(|incl| Micros(cost_usd.0 + Micros::round(incl - totals.cost.total()).0));
            RoundedRow {
                keys,
                totals,
                cost,
                cost_usd,
                inclusive,
            }
        })
        .collect();
    rounded.sort_by(|a, b| {
        b.cost_usd
            .cmp(&a.cost_usd)
            .then_with(|| a.keys.cmp(&b.keys))
    });
    Ok(rounded)
}

/// Write one report as CSV.
pub fn report_csv(
    out: impl Write,
    table: &Table,
    rows: &[RoundedRow],
    grand_total: &Totals,
) -> csv::Result<()> {
    let is_run = table.name == "run";
    let has_inclusive = rows.iter().any(|r| r.inclusive.is_some());
    let mut w = csv::Writer::from_writer(out);
    let mut header: Vec<&str> = table.key_columns.to_vec();
    header.push("requests");
    header.extend(TokenType::ALL.map(TokenType::tokens_column));
    header.extend(COST_COLUMNS);
    header.push("cost_usd");
    if !is_run {
        header.extend(["share_pct", "cache_hit_ratio"]);
    }
    if has_inclusive {
        header.push("inclusive_cost_usd");
    }
    w.write_record(&header)?;
    let total_cost = grand_total.cost.total();
    for row in rows {
        let mut record: Vec<String> = row.keys.clone();
        record.push(row.totals.requests.to_string());
        record.extend(row.totals.tokens.iter().map(u128::to_string));
        record.extend(row.cost.iter().map(Micros::to_string));
        record.push(row.cost_usd.to_string());
        if !is_run {
            let share = ratio(row.totals.cost.total(), total_cost, 100, 2).unwrap_or_default();
            record.push(format!("{share:.2}"));
            record
                .push(cache_hit_ratio(&row.totals).map_or_else(String::new, |r| format!("{r:.4}")));
        }
        if let Some(inclusive) = row.inclusive {
            record.push(inclusive.to_string());
        }
        w.write_record(&record)?;
    }
    w.flush()?;
    Ok(())
}

/// Cache reads as a share of all input tokens, 4 places; `None` without input.
pub fn cache_hit_ratio(totals: &Totals) -> Option<Decimal> {
    let prompt: u128 = totals.tokens[..4].iter().sum();
    let read = totals.tokens[TokenType::CacheRead.index()];
    ratio(Decimal::from(read), Decimal::from(prompt), 1, 4)
}

/// Write `bytes` to `dir/name` atomically: a temporary file in `dir`, synced,
/// then renamed over the target.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let target = dir.join(name);
    let temp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, &target)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        Error::io(&target, e)
    })
}

/// Render rows with `csv` into bytes.
pub fn csv_bytes(write: impl FnOnce(&mut Vec<u8>) -> csv::Result<()>) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    write(&mut bytes).map_err(|e| Error::fatal(format!("writing CSV: {e}")))?;
    Ok(bytes)
}

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
#[derive(Debug, Default, Serialize)]
pub struct Counts {
    /// Spans read.
    pub spans: u64,
    /// Distinct traces (runs).
    pub traces: u64,
    /// Inference calls among the spans.
    pub calls: u64,
    /// Usage records read, before dedupe and period filter.
    pub usage_records_read: u64,
    /// Exact repeats of an earlier usage record, dropped.
    pub duplicate_usage_records: u64,
    /// Records outside `--period`, left out of every total.
    pub out_of_period: u64,
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
    pub by_kind: std::collections::BTreeMap<&'static str, u64>,
    /// The first few, with file and line.
    pub first: Vec<String>,
}

/// The human summary: totals, coverage, top tenants and features.
pub fn terminal_summary(
    summary: &Summary,
    tenants: &[RoundedRow],
    features: &[RoundedRow],
) -> String {
    use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, Table as Grid};
    let c = &summary.counts;
    let t = &summary.totals;
    let mut out = format!(
        "tokenledger: {} usage records{}, priced with {} (version {})\n",
        c.usage_records,
        summary
            .period
            .as_ref()
            .map_or(String::new(), |p| format!(" in {p}")),
        summary.pricing.source,
        summary.pricing.version
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
                Cell::new(&row.keys[0]),
                Cell::new(row.cost_usd).set_alignment(CellAlignment::Right),
                Cell::new(share).set_alignment(CellAlignment::Right),
            ]);
        }
        out.push_str(&grid.to_string());
        out.push('\n');
    }
    out
}
