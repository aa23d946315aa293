//! The ledger between attribution and every output: the rounding rule
//! (exact sums to micro-dollar rows that add up exactly), the run's record
//! [`Counts`], and the conservation check that guards every write.

use rust_decimal::Decimal;
use serde::Serialize;

use crate::attribute::{Keys, Table, TableRow, Totals};
use crate::error::{Error, Result};
use crate::model::Cost;
use crate::money::{apportion, split, Micros};
use crate::rounding::controlled;

/// How many cost columns a report has.
pub const COLUMNS: usize = 5;

/// Cost columns of every report, in order: cache writes of both lifetimes
/// are one column; per-request fees the last (written only in a month that
/// has some: [`has_fees`]).
pub const COST_COLUMNS: [&str; COLUMNS] = [
    "cost_input_usd",
    "cost_cache_read_usd",
    "cost_cache_write_usd",
    "cost_output_usd",
    "cost_requests_usd",
];

/// The position of the fees column in [`COST_COLUMNS`].
pub const FEES: usize = 4;

/// A cost split into the report columns.
pub fn components(cost: &Cost) -> [Decimal; COLUMNS] {
    let c = cost.tokens;
    [c[0], c[1], c[2] + c[3], c[4], cost.fees]
}

/// Whether a month (its grand total) has per-request charges, so its
/// reports show the fees column and the request counts.
pub fn has_fees(total: &Totals) -> bool {
    !total.charges().is_empty()
}

/// The cost columns shown in a month with (or without) fees.
pub fn cost_columns(fees: bool) -> &'static [&'static str] {
    if fees {
        &COST_COLUMNS
    } else {
        &COST_COLUMNS[..FEES]
    }
}

/// The rounded grand total split over the cost columns: every report's
/// columns sum to these.
pub fn column_totals(total: &Totals) -> Result<[Micros; COLUMNS]> {
    split(components(&total.cost))
}

/// A report row after rounding.
#[derive(Clone, Debug)]
pub struct RoundedRow {
    /// Label columns.
    pub keys: Keys,
    /// Exact sums (tokens, requests, exact cost for ratios). Never changed
    /// once the row is rounded: its cells are made from its exact cost.
    pub totals: Totals,
    /// Rounded `cost_usd` (the sum of the cost columns), in micro-dollars,
    /// where the row's cells are made from its exact cost and `ups`, and it
    /// fits in 64 bits; else zero, the row's amounts holding the cells.
    cost_usd: i64,
    /// Which cost columns of the exact cost rounded up, a bit each: the
    /// cells are the exact cost floored and these
    /// ([`crate::rounding::cells`]), made again when asked for (a byte, not
    /// 40 in each of a million run rows).
    ups: u8,
    /// The amounts only some reports have, behind one pointer: `None` for
    /// a row with none of them (a million run rows without a true-up).
    amounts: Option<Box<Amounts>>,
}

/// A rounded row's amounts that only some reports have.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Amounts {
    /// Rounded inclusive cost (agents only).
    pub inclusive: Option<Micros>,
    /// Rounded trued-up cost (under `--true-up` only).
    pub billed: Option<Micros>,
    /// Rounded allocated cost (under `--allocation` only).
    pub allocated: Option<Micros>,
    /// The cost columns and `cost_usd` of a row whose cells are not made
    /// from its exact cost (a row given its own) or whose `cost_usd` is
    /// beyond 64 bits of micro-dollars (over 9.2 trillion dollars), boxed
    /// apart.
    pub wide: Option<Box<([Micros; COLUMNS], Micros)>>,
}

impl RoundedRow {
    /// A row with its `amounts` (held only when it has one).
    pub fn new(
        keys: Keys,
        totals: Totals,
        cost: ([Micros; COLUMNS], Micros),
        amounts: Amounts,
    ) -> RoundedRow {
        let ups = crate::rounding::ups_of(&components(&totals.cost), &cost.0);
        RoundedRow::with_ups(keys, totals, (cost, ups), amounts)
    }

    /// [`RoundedRow::new`], given the bits that make its cells from its
    /// exact cost, if any do.
    fn with_ups(
        keys: Keys,
        totals: Totals,
        ((cost, cost_usd), ups): (([Micros; COLUMNS], Micros), Option<u8>),
        mut amounts: Amounts,
    ) -> RoundedRow {
        let narrow = i64::try_from(cost_usd.0).ok();
        let (cost_usd, ups) = match ups.zip(narrow) {
            Some((ups, narrow)) => (narrow, ups),
            None => {
                amounts.wide = Some(Box::new((cost, cost_usd)));
                (0, 0)
            }
        };
        RoundedRow {
            keys,
            totals,
            cost_usd,
            ups,
            amounts: (amounts != Amounts::default()).then(|| Box::new(amounts)),
        }
    }

    fn amounts(&self) -> Option<&Amounts> {
        self.amounts.as_deref()
    }

    /// The cost columns and `cost_usd` of a row holding them whole (see
    /// [`Amounts::wide`]).
    fn wide(&self) -> Option<&([Micros; COLUMNS], Micros)> {
        self.amounts()?.wide.as_deref()
    }

    /// Rounded cost columns.
    pub fn cost(&self) -> [Micros; COLUMNS] {
        match self.wide() {
            Some((cost, _)) => *cost,
            None => crate::rounding::cells(&components(&self.totals.cost), self.ups),
        }
    }

    /// Rounded `cost_usd`: the sum of [`RoundedRow::cost`].
    pub fn cost_usd(&self) -> Micros {
        match self.wide() {
            Some((_, cost_usd)) => *cost_usd,
            None => Micros(self.cost_usd.into()),
        }
    }

    /// Rounded inclusive cost (agents only).
    pub fn inclusive(&self) -> Option<Micros> {
        self.amounts()?.inclusive
    }

    /// Rounded trued-up cost (under `--true-up` only).
    pub fn billed(&self) -> Option<Micros> {
        self.amounts()?.billed
    }

    /// Rounded allocated cost (under `--allocation` only).
    pub fn allocated(&self) -> Option<Micros> {
        self.amounts()?.allocated
    }

    /// What the row spent: its trued-up cost under `--true-up`, else its
    /// computed cost.
    pub fn spend(&self) -> Micros {
        self.billed().unwrap_or(self.cost_usd())
    }
}

/// One report after rounding: its table (name and label columns) and its
/// rows, costliest first.
#[derive(Debug)]
pub struct Report {
    /// The report's name and label columns (its rows moved to `rows`).
    pub table: Table,
    /// The rounded rows.
    pub rows: Vec<RoundedRow>,
}

/// Round every table (see [`round_rows`]).
pub fn round_all(
    mut tables: Vec<Table>,
    targets: &[Micros; COLUMNS],
    billed_target: Option<Micros>,
) -> Result<Vec<Report>> {
    let round = |mut table: Table| {
        let rows = round_rows(std::mem::take(&mut table.rows), targets, billed_target)?;
        Ok(Report { table, rows })
    };
    // The largest table (by run: a row per trace) is rounded on a second
    // core while this one rounds the others; the first problem in table
    // order is the one returned.
    let Some(largest) = (0..tables.len()).max_by_key(|&i| tables[i].rows.len()) else {
        return Ok(Vec::new());
    };
    let big = tables.remove(largest);
    std::thread::scope(|scope| {
        let second = scope.spawn(|| round(big));
        let mut reports: Vec<Result<Report>> = tables.into_iter().map(round).collect();
        reports.insert(largest, second.join().expect("the rounding thread"));
        reports.into_iter().collect()
    })
}

/// The report called `name`.
pub fn find<'r>(reports: &'r [Report], name: &str) -> &'r Report {
    reports
        .iter()
        .find(|r| r.table.name() == name)
        .expect("every report is built")
}

/// Round a table's rows by [`controlled`] rounding, so that each cost
/// column sums to `targets`, each cell and each row's `cost_usd` being its
/// exact value rounded down or up (and, under a true-up, `billed_usd` sums
/// to `billed_target` by largest remainder), and sort them by cost
/// descending, then labels ascending. The rows move out of the table (the
/// largest, by run, can hold a row per trace).
pub fn round_rows(
    rows: Vec<TableRow>,
    targets: &[Micros; COLUMNS],
    billed_target: Option<Micros>,
) -> Result<Vec<RoundedRow>> {
    // Controlled rounding breaks its ties by row order: the rows in label
    // order (a sort of indexes by the labels' first bytes), each row's
    // place in it, and its cells found by that place. The rows themselves
    // move once, into rounded rows, and once more, into their final order.
    let by_label = label_order(&rows);
    let mut place = vec![0u32; rows.len()];
    for (at, &i) in by_label.iter().enumerate() {
        place[i as usize] = at as u32;
    }
    let totals_of = |i: &u32| &rows[*i as usize].1;
    // The floors found on two threads (a million-run table's took most of
    // its rounding's time).
    let parts = crate::threads::runs(by_label.len(), 2, crate::threads::MIN_SHARE);
    let exact = parts
        .into_iter()
        .map(|run| (by_label[run].iter()).map(|i| components(&totals_of(i).cost)));
    let rounding = controlled(exact.collect(), targets)?;
    let billed = billed_target
        .map(|target| {
            let exact: Vec<Decimal> = by_label.iter().map(|i| totals_of(i).billed).collect();
            apportion(&exact, target)
        })
        .transpose()?;
    drop(by_label);
    let mut rounded = crate::shrink::convert(rows, |i, (keys, totals, inclusive)| {
        let at = place[i] as usize;
        let ups = rounding.ups(at);
        let cost = crate::rounding::cells(&components(&totals.cost), ups);
        let cost_usd: Micros = cost.iter().copied().sum();
        let own = totals.cost.total();
        let inclusive = inclusive.map(|incl| inclusive_cell(incl, own, cost_usd));
        let amounts = Amounts {
            inclusive,
            billed: billed.as_ref().map(|b| b[at]),
            allocated: None,
            wide: None,
        };
        RoundedRow::with_ups(keys, totals, ((cost, cost_usd), Some(ups)), amounts)
    });
    let order = cost_order(&rounded, &place);
    drop(place);
    crate::shrink::permute(&mut rounded, order);
    Ok(rounded)
}

/// The order of `rounded` by cost descending, billed descending, then
/// place in label order (`place`, distinct). Where no row has a billed
/// amount and every cost is within 64 bits (a million-run table without a
/// true-up), by one number a row (cost, place and index): a sort of one
/// array, not of indexes comparing rows read from all over memory (about
/// five times faster).
fn cost_order(rounded: &[RoundedRow], place: &[u32]) -> Vec<u32> {
    let key = |(i, row): (usize, &RoundedRow)| {
        let cost = i64::try_from(row.cost_usd().0).ok()?;
        // The costliest first: the cost's order (sign bit flipped), reversed.
        let descending = !((cost as u64) ^ (1 << 63));
        let key = u128::from(descending) << 64 | u128::from(place[i]) << 32 | i as u128;
        row.billed().is_none().then_some(key)
    };
    if let Some(mut keys) = rounded
        .iter()
        .enumerate()
        .map(key)
        .collect::<Option<Vec<u128>>>()
    {
        keys.sort_unstable();
        return keys.into_iter().map(|k| k as u32).collect();
    }
    let mut order: Vec<u32> = (0..rounded.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| {
        let (ra, rb) = (&rounded[a as usize], &rounded[b as usize]);
        (rb.cost_usd(), rb.billed(), place[a as usize]).cmp(&(
            ra.cost_usd(),
            ra.billed(),
            place[b as usize],
        ))
    });
    order
}

/// The indexes of `rows` in label order. Two rows may share a label (a
/// tenant named `(none)` and no tenant): their order in the table decides
/// then, as a stable sort would.
fn label_order(rows: &[TableRow]) -> Vec<u32> {
    let mut order: Vec<(u64, u32)> = (0..rows.len() as u32)
        .map(|i| (label_prefix(&rows[i as usize].0), i))
        .collect();
    order.sort_unstable_by(|(pa, a), (pb, b)| {
        pa.cmp(pb)
            .then_with(|| rows[*a as usize].0.cmp(&rows[*b as usize].0))
            .then(a.cmp(b))
    });
    order.into_iter().map(|(_, i)| i).collect()
}

/// Give a report's rows their allocated amounts (`allocated`: exact, by
/// row label), rounded by the same controlled rounding so they sum to
/// `target`. An owner with no row of its own (a rule's tenant, the
/// `(unallocated)` rest) gets one, with no usage, after the others in
/// label order; a row no amount reached gets zero.
pub fn add_allocated(
    report: &mut Report,
    allocated: &[(String, Decimal)],
    target: Micros,
) -> Result<()> {
    let exact: Vec<Decimal> = allocated.iter().map(|(_, a)| *a).collect();
    let rounded = apportion(&exact, target)?;
    let mut by_label: std::collections::HashMap<&str, Micros> = allocated
        .iter()
        .map(|(l, _)| l.as_str())
        .zip(rounded)
        .collect();
    let zero = |some: bool| some.then_some(Micros(0));
    let (inclusive, billed) = report.rows.first().map_or((false, false), |r| {
        (r.inclusive().is_some(), r.billed().is_some())
    });
    for row in &mut report.rows {
        let allocated = by_label.remove(&row.keys[0]).unwrap_or(Micros(0));
        row.amounts.get_or_insert_default().allocated = Some(allocated);
    }
    for (label, _) in allocated {
        if let Some(amount) = by_label.remove(label.as_str()) {
            let amounts = Amounts {
                inclusive: zero(inclusive),
                billed: zero(billed),
                allocated: Some(amount),
                wide: None,
            };
            let no_cost = ([Micros(0); COLUMNS], Micros(0));
            let keys = vec![label.as_str().into()].into();
            report
                .rows
                .push(RoundedRow::new(keys, Totals::default(), no_cost, amounts));
        }
    }
    Ok(())
}

/// The first 8 bytes of a label, zero-padded, as a number: ordered as the
/// labels are (byte by byte), ties left to the labels themselves.
fn label_prefix(keys: &Keys) -> u64 {
    let mut prefix = [0u8; 8];
    if let Some(first) = keys.first() {
        let bytes = first.as_bytes();
        let n = bytes.len().min(8);
        prefix[..n].copy_from_slice(&bytes[..n]);
    }
    u64::from_be_bytes(prefix)
}

/// An agent's inclusive cost: its own rounded cost when it has no
/// sub-agent cost (one figure for one amount; the `(none)` row sums no
/// sub-agents), else its exact value rounded half to even, or up when that
/// would fall below its own rounded cost (its exact value never does).
fn inclusive_cell(exact: Decimal, own: Decimal, cost_usd: Micros) -> Micros {
    if exact <= own {
        return cost_usd;
    }
    let nearest = Micros::round(exact);
    if nearest >= cost_usd {
        nearest
    } else {
        Micros(nearest.0 + 1)
    }
}

/// Record counts of one run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Counts {
    /// Spans read.
    pub spans: u64,
    /// Distinct traces (runs).
    pub traces: u64,
    /// Inference calls among the spans (a request written as several
    /// spans of one trace counted once).
    pub calls: u64,
    /// Inference spans that repeat a call of the same trace and id.
    pub repeated_call_spans: u64,
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
    /// Of those, the records joined by fingerprint (model, tokens, time)
    /// rather than by id.
    pub matched_by_fingerprint: u64,
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
    /// Spans carrying a join attribute that are no model call: never
    /// joined (an AWS API call's `aws.request_id`).
    #[serde(skip_serializing_if = "is_zero")]
    pub join_ids_not_calls: u64,
    /// Records skipped under `--lenient`.
    pub skipped: u64,
}

/// Whether a count is zero (left out of `summary.json`).
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Check, before anything is written, that nothing was lost or counted
/// twice: every usage record read is in period, out of period or a
/// duplicate; every one in period is matched or unattributed; and every
/// report has each record exactly once and sums exactly to the totals.
pub fn check_conservation(
    reports: &[Report],
    counts: &Counts,
    columns: &[Micros; COLUMNS],
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
    for Report { table, rows } in reports {
        let name = table.name();
        let requests: u64 = rows.iter().map(|r| r.totals.requests).sum();
        if requests != c.usage_records {
            return fail(format!(
                "by_{name} holds {requests} requests, not {}",
                c.usage_records
            ));
        }
        let mut sums = [Micros(0); COLUMNS];
        for row in rows {
            for (sum, cell) in sums.iter_mut().zip(row.cost()) {
                sum.0 += cell.0;
            }
        }
        for (k, column) in COST_COLUMNS.iter().enumerate() {
            let sum = sums[k];
            if sum != columns[k] {
                return fail(format!(
                    "by_{name}.{column} sums to {sum}, not {}",
                    columns[k]
                ));
            }
        }
        let sum: Micros = rows.iter().map(|r| r.cost_usd()).sum();
        if sum != total {
            return fail(format!("by_{name}.cost_usd sums to {sum}, not {total}"));
        }
        if let Some(billed) = billed {
            let sum: Micros = rows.iter().filter_map(RoundedRow::billed).sum();
            if sum != billed {
                return fail(format!("by_{name}.billed_usd sums to {sum}, not {billed}"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounded_rows_make_their_cells_from_their_exact_cost_or_hold_them_whole() {
        use std::str::FromStr;
        let d = |s: &str| Decimal::from_str(s).unwrap();
        let row = |exact: [&str; 5], cost: [Micros; COLUMNS]| {
            let mut totals = Totals::default();
            totals.cost.tokens = exact.map(d);
            let cost_usd = cost.iter().copied().sum();
            RoundedRow::new(
                Vec::new().into(),
                totals,
                (cost, cost_usd),
                Amounts::default(),
            )
        };
        // Floored, or one more: made again from the exact cost (cache
        // writes of both lifetimes are one column).
        let exact = ["0.0000015", "-0.0000025", "0.000001", "0.000002", "9000000"];
        let made = [
            Micros(2),
            Micros(-3),
            Micros(3),
            Micros(9_000_000_000_000),
            Micros(0),
        ];
        // Not made so: a cell two off, or a sum past 64 bits.
        let own = [
            Micros(4),
            Micros(-3),
            Micros(3),
            Micros(9_000_000_000_000),
            Micros(0),
        ];
        let huge = ["0", "0", "0", "0", "0"];
        let wide = [
            Micros(1),
            Micros(i128::from(i64::MAX) * 4),
            Micros(-7),
            Micros(0),
            Micros(2),
        ];
        for (exact, cost) in [(exact, made), (exact, own), (huge, wide)] {
            let rounded = row(exact, cost);
            assert_eq!(rounded.cost(), cost);
            assert_eq!(rounded.cost_usd(), cost.iter().copied().sum());
        }
        assert!(row(exact, made).amounts.is_none());
        assert!(row(exact, own).amounts.is_some());
        assert!(row(huge, wide).amounts.is_some());
    }

    #[test]
    fn label_prefixes_order_as_labels_do() {
        let labels = [
            "",
            "a",
            "ab",
            "ab\u{0}x",
            "abcdefgh",
            "abcdefghz",
            "b",
            "tenant-0001",
            "é",
        ];
        let prefix = |l: &str| label_prefix(&vec![l.into()].into());
        for pair in labels.windows(2) {
            assert!(
                pair[0] < pair[1] && prefix(pair[0]) <= prefix(pair[1]),
                "{pair:?}"
            );
        }
    }
}
