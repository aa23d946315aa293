//! The `by_*.csv` reports and the listings of what could not be attributed
//! or billed.

use rust_decimal::Decimal;

use super::summary::Counts;
use super::CsvOut;
use crate::attribute::{Table, Totals};
use crate::error::{Error, Result};
use crate::intern::Interner;
use crate::join::Unbilled;
use crate::model::{Cost, TokenType, UsageRecord};
use crate::money::{apportion, ratio, split, Micros};
use crate::read::InputFile;
use crate::tree::Call;

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
    /// Rounded trued-up cost (under `--true-up` only).
    pub billed: Option<Micros>,
}

impl RoundedRow {
    /// What the row spent: its trued-up cost under `--true-up`, else its
    /// computed cost.
    pub fn spend(&self) -> Micros {
        self.billed.unwrap_or(self.cost_usd)
    }
}

/// Round a table's rows so that each cost column sums to `targets` (and,
/// under a true-up, `billed_usd` to `billed_target`), and sort them by cost
/// descending, then labels ascending. The rows move out of the table (the
/// largest, by run, can hold a row per trace).
pub fn round_table(
    table: &mut Table,
    targets: &[Micros; 4],
    billed_target: Option<Micros>,
) -> Result<Vec<RoundedRow>> {
    let mut rows = std::mem::take(&mut table.rows);
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let column = |value: &dyn Fn(&Totals) -> Decimal, target: Micros| {
        let exact: Vec<Decimal> = rows.iter().map(|(_, t, _)| value(t)).collect();
        apportion(&exact, target)
    };
    let mut columns = Vec::with_capacity(4);
    for (k, target) in targets.iter().enumerate() {
        columns.push(column(&|t| components(&t.cost)[k], *target)?);
    }
    let billed = billed_target
        .map(|target| column(&|t| t.billed, target))
        .transpose()?;
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
            let billed = billed.as_ref().map(|b| b[i]);
            RoundedRow {
                keys,
                totals,
                cost,
                cost_usd,
                inclusive,
                billed,
            }
        })
        .collect();
    rounded.sort_by(|a, b| {
        b.cost_usd
            .cmp(&a.cost_usd)
            .then_with(|| b.billed.cmp(&a.billed))
            .then_with(|| a.keys.cmp(&b.keys))
    });
    Ok(rounded)
}

/// Write one report as CSV.
pub fn report_csv(
    w: &mut CsvOut,
    table: &Table,
    rows: &[RoundedRow],
    grand_total: &Totals,
) -> csv::Result<()> {
    let is_run = table.name == "run";
    let has_inclusive = rows.iter().any(|r| r.inclusive.is_some());
    let has_billed = rows.iter().any(|r| r.billed.is_some());
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
    if has_billed {
        header.push("billed_usd");
    }
    w.row(header)?;
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
        record.extend(row.inclusive.map(|m| m.to_string()));
        record.extend(row.billed.map(|m| m.to_string()));
        w.row(record)?;
    }
    Ok(())
}

/// Cache reads as a share of all input tokens, 4 places; `None` without input.
pub fn cache_hit_ratio(totals: &Totals) -> Option<Decimal> {
    let prompt: u128 = totals.tokens[..4].iter().sum();
    let read = totals.tokens[TokenType::CacheRead.index()];
    ratio(Decimal::from(read), Decimal::from(prompt), 1, 4)
}

/// `unattributed.csv`: every usage record that joined no span.
pub fn unattributed_csv(
    w: &mut CsvOut,
    records: &[&UsageRecord],
    costs: &[Decimal],
    interner: &Interner,
    inputs: &[InputFile],
) -> csv::Result<()> {
    let rounded = apportion(costs, Micros::round(costs.iter().sum()))
        .expect("a rounding of the sum always splits");
    let mut header = vec!["request_id", "timestamp", "provider", "model"];
    header.extend(TokenType::ALL.map(|t| t.tokens_column()));
    header.extend([
        "batch",
        "cost_usd",
        "reported_cost_usd",
        "tenant_hint",
        "source",
    ]);
    w.row(header)?;
    for (r, cost) in records.iter().zip(rounded) {
        let mut row = vec![
            r.request_id.to_string(),
            r.timestamp
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            interner.get(r.provider).to_string(),
            interner.get(r.model).to_string(),
        ];
        row.extend(r.tokens.0.iter().map(u64::to_string));
        row.push(r.batch.to_string());
        row.push(cost.to_string());
        row.push(
            r.reported_cost_usd
                .map_or_else(String::new, |c| c.to_string()),
        );
        row.push(
            r.tenant_hint
                .map_or_else(String::new, |h| interner.get(h).to_string()),
        );
        row.push(format!(
            "{}:{}",
            inputs[r.origin.file as usize].path.display(),
            r.origin.line
        ));
        w.row(row)?;
    }
    Ok(())
}

/// `unbilled_spans.csv`: every inference call that joined no usage record,
/// with the tokens the span itself reported (counted in no total).
pub fn unbilled_csv(
    w: &mut CsvOut,
    calls: &[Call],
    unbilled: &[(u32, Unbilled)],
    interner: &Interner,
    inputs: &[InputFile],
) -> csv::Result<()> {
    w.row([
        "trace_id",
        "span_id",
        "span_name",
        "model",
        "join_id",
        "tenant",
        "feature",
        "agent",
        "tool",
        "span_input_tokens",
        "span_output_tokens",
        "reason",
        "source",
    ])?;
    let name = |sym: Option<crate::intern::Sym>| {
        sym.map_or(crate::attribute::NONE, |s| interner.get(s))
            .to_string()
    };
    let count = |n: Option<u64>| n.map_or_else(String::new, |n| n.to_string());
    for &(ci, reason) in unbilled {
        let call = &calls[ci as usize];
        let info = &call.info;
        w.row([
            format!("{:032x}", call.trace_id),
            format!("{:016x}", call.span_id),
            interner.get(info.name).to_string(),
            name(info.model),
            info.join_key.as_deref().unwrap_or("").to_string(),
            name(call.dims.tenant),
            name(call.dims.feature),
            name(call.dims.agent),
            name(call.dims.tool),
            count(info.input_tokens),
            count(info.output_tokens),
            reason.as_str().to_string(),
            format!(
                "{}:{}",
                inputs[call.origin.file as usize].path.display(),
                call.origin.line
            ),
        ])?;
    }
    Ok(())
}

/// Check, before anything is written, that nothing was lost or counted
/// twice: every usage record read is in period, out of period or a
/// duplicate; every one in period is matched or unattributed; and every
/// report has each record exactly once and sums exactly to the totals.
pub fn check_conservation(
    tables: &[(&Table, Vec<RoundedRow>)],
    counts: &Counts,
    columns: &[Micros; 4],
    billed: Option<Micros>,
) -> Result<()> {
    let fail = |what: String| {
        Err(Error::fatal(format!(
            "internal error: conservation check failed: {what}; nothing was written (please report this bug)"
        )))
    };
    let c = counts;
    if c.usage_records_read != c.usage_records + c.out_of_period + c.duplicate_usage_records {
        return fail(format!(
            "{} usage records read but {} in period + {} out of period + {} duplicates",
            c.usage_records_read, c.usage_records, c.out_of_period, c.duplicate_usage_records
        ));
    }
    if c.matched + c.unattributed != c.usage_records {
        return fail(format!(
            "{} matched + {} unattributed != {} records",
            c.matched, c.unattributed, c.usage_records
        ));
    }
    let total: Micros = columns.iter().copied().sum();
    for (table, rows) in tables {
        let name = table.name;
        let requests: u64 = rows.iter().map(|r| r.totals.requests).sum();
        if requests != c.usage_records {
            return fail(format!(
                "by_{name} holds {requests} requests, not {}",
                c.usage_records
            ));
        }
        for (k, column) in COST_COLUMNS.iter().enumerate() {
            let sum: Micros = rows.iter().map(|r| r.cost[k]).sum();
            if sum != columns[k] {
                return fail(format!(
                    "by_{name}.{column} sums to {sum}, not {}",
                    columns[k]
                ));
            }
        }
        let sum: Micros = rows.iter().map(|r| r.cost_usd).sum();
        if sum != total {
            return fail(format!("by_{name}.cost_usd sums to {sum}, not {total}"));
        }
        if let Some(billed) = billed {
            let sum: Micros = rows.iter().filter_map(|r| r.billed).sum();
            if sum != billed {
                return fail(format!("by_{name}.billed_usd sums to {sum}, not {billed}"));
            }
        }
    }
    Ok(())
}
