//! Stage 7, answers: the standing questions read every month, built on the
//! attributed ledger. Run-level answers (cost distribution, outliers, cost
//! per outcome) start from the rounded `by_run.csv` rows, so a run's cost is
//! the same micro-dollar figure in every file; call-level answers (the
//! per-step curve, the FOCUS export) go back to the priced records.
//!
//! Statistics of money are exact: percentiles are nearest-rank (always one
//! of the runs' own costs) and means are rounded half-to-even to the
//! micro-dollar.

pub mod anomalies;
pub mod budget;
pub mod changes;
pub mod daily;
pub mod distribution;
pub mod focus;
pub mod forecast;
pub mod outcome;
pub mod steps;

use rust_decimal::Decimal;

use crate::attribute::Totals;
use crate::dimension::{INVOICE_ONLY, UNATTRIBUTED};
use crate::error::Result;
use crate::hash::FastMap;
use crate::ledger::{round_rows, RoundedRow};
use crate::money::Micros;
use crate::tree::Call;

/// One run (trace) as the run-level answers see it: its `by_run.csv` row,
/// held by reference (a month has a million runs), 8 bytes.
#[derive(Clone, Copy, Debug)]
pub struct RunCost<'a> {
    /// Its `by_run.csv` row: the trace id as 32 hex digits, the root agent,
    /// tenant and feature, then the totals.
    row: &'a RoundedRow,
}

impl<'a> RunCost<'a> {
    /// The trace id.
    pub fn trace(&self) -> u128 {
        u128::from_str_radix(self.id(), 16).expect("by_run ids are hex trace ids")
    }

    /// The trace id as `by_run.csv` writes it, 32 hex digits.
    pub fn id(&self) -> &'a str {
        &self.row.keys[0]
    }

    /// The outermost agent.
    pub fn root_agent(&self) -> &'a str {
        self.label(RunLabel::RootAgent)
    }

    /// The run's tenant (or `(mixed)`, `(none)`).
    pub fn tenant(&self) -> &'a str {
        &self.row.keys[2]
    }

    /// The run's feature.
    pub fn feature(&self) -> &'a str {
        self.label(RunLabel::Feature)
    }

    /// Billed calls.
    pub fn calls(&self) -> u64 {
        self.row.totals.requests
    }

    /// The run's rounded `cost_usd`.
    pub fn cost(&self) -> Micros {
        self.row.cost_usd()
    }

    /// The run's `label`.
    pub fn label(&self, label: RunLabel) -> &'a str {
        &self.row.keys[label as usize]
    }
}

/// The highest step of any of the calls of each of `traces` (0 for a
/// trace without calls), in one pass over `calls`: asked only for the
/// outliers' runs, a few in a thousand.
pub fn highest_steps(traces: impl Iterator<Item = u128>, calls: &[Call]) -> FastMap<u128, u32> {
    let mut highest: FastMap<u128, u32> = traces.map(|trace| (trace, 0)).collect();
    for call in calls {
        if let Some(max) = highest.get_mut(&call.trace_id) {
            *max = (*max).max(call.step);
        }
    }
    highest
}

/// The runs of `by_run.csv` (`rows`), without the `(unattributed)` and
/// `(invoice only)` rows.
pub fn runs(rows: &[RoundedRow]) -> impl DoubleEndedIterator<Item = RunCost<'_>> {
    rows.iter()
        .filter(|row| is_run(row))
        .map(|row| RunCost { row })
}

/// Whether a `by_run.csv` row is a run: not the `(unattributed)` or
/// `(invoice only)` row, whose id column holds that marker.
fn is_run(row: &RoundedRow) -> bool {
    row.keys[0] != *UNATTRIBUTED && row.keys[0] != *INVOICE_ONLY
}

/// Which label of a `by_run.csv` row groups runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunLabel {
    /// `root_agent`.
    RootAgent = 1,
    /// `feature`.
    Feature = 3,
}

/// The cost of every group of `by_run.csv` rows (`rows`, the unattributed
/// row included) sharing a `label`, rounded the way the `by_*.csv` reports
/// round theirs, to the same column totals (`columns`): a group holding the
/// same calls as a report row (no `(mixed)` run) costs the same micro-dollars
/// in both files, and the groups sum to the month's total. A row that is
/// no run (`(unattributed)`, `(invoice only)`) is a group of its own, apart
/// from runs whose label reads the same (a feature named `(unattributed)`).
pub fn run_group_costs(
    rows: &[RoundedRow],
    label: RunLabel,
    columns: &[Micros; crate::ledger::COLUMNS],
) -> Result<GroupCosts> {
    let mut groups: FastMap<(&str, &str), Totals> = FastMap::default();
    for row in rows {
        let marker = if is_run(row) { "" } else { &row.keys[0] };
        groups
            .entry((&row.keys[label as usize], marker))
            .or_default()
            .merge(&row.totals);
    }
    let rows = groups
        .into_iter()
        .map(|((key, marker), totals)| (vec![key.into(), marker.into()].into(), totals, None))
        .collect();
    let costs = round_rows(rows, columns, None)?.into_iter().map(|row| {
        let group = (row.keys[1].is_empty(), row.keys[0].to_string());
        (group, row.cost_usd())
    });
    Ok(GroupCosts(costs.collect()))
}

/// What [`run_group_costs`] gives: the cost of each group of runs, and of
/// each row that is no run.
pub struct GroupCosts(FastMap<(bool, String), Micros>);

impl GroupCosts {
    /// The cost of the runs labelled `label` (one of them at least).
    pub fn runs(&self, label: &str) -> Micros {
        self.0[&(true, label.to_string())]
    }

    /// The cost of the row of records that joined no run (`(unattributed)`),
    /// if there is one.
    pub fn unattributed(&self) -> Option<Micros> {
        self.0.get(&(false, UNATTRIBUTED.to_string())).copied()
    }
}

/// The nearest-rank `p`-th percentile of ascending `sorted` (not empty):
/// the smallest value with at least `p` % of the values at or below it.
pub fn percentile(sorted: &[Micros], p: usize) -> Micros {
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// `total / n` rounded half-to-even to the micro-dollar (`n` > 0).
pub fn mean(total: Micros, n: u64) -> Micros {
    Micros::round(total.to_decimal() / Decimal::from(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<Micros> = (1..=10).map(|v| Micros(v * 1_000_000)).collect();
        assert_eq!(percentile(&values, 50), Micros(5_000_000));
        assert_eq!(percentile(&values, 95), Micros(10_000_000));
        assert_eq!(percentile(&values, 90), Micros(9_000_000));
        assert_eq!(percentile(&values[..1], 99), Micros(1_000_000));
        let hundred: Vec<Micros> = (1..=100).map(Micros).collect();
        assert_eq!(percentile(&hundred, 99), Micros(99));
        assert_eq!(mean(Micros(10), 4), Micros(2)); // 2.5 -> 2, half to even
        assert_eq!(mean(Micros(14), 4), Micros(4)); // 3.5 -> 4
    }
}
