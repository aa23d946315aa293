//! Each dimension value's daily series (requests and cost, from the
//! per-day reports), and the robust statistics the step, forecast and
//! anomaly rules use: medians and the median absolute deviation, which one
//! heavy run or one outlying day does not move.

use chrono::NaiveDate;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use crate::attribute::Totals;
use crate::hash::FastMap;
use crate::ledger::{Report, RoundedRow};

/// One dimension value's days, from the first day of the range on (a day
/// without requests is 0).
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// `tenant`, `feature`, `agent`, `tool` or `model`.
    pub dimension: &'static str,
    /// The value.
    pub value: String,
    /// Requests per day.
    pub requests: Vec<u64>,
    /// Exact cost per day.
    pub cost: Vec<Decimal>,
}

/// Each dimension's month total over the series' days, `[requests, cost]`
/// as floating-point numbers: what the step and anomaly rules measure a
/// value's share against.
#[derive(Clone, Debug, Default)]
pub struct MonthTotals(Vec<(&'static str, [f64; 2])>);

impl MonthTotals {
    /// The totals of `dimension` (zero for one with no rows).
    pub fn of(&self, dimension: &str) -> [f64; 2] {
        self.0
            .iter()
            .find(|(d, _)| *d == dimension)
            .map_or([0.0; 2], |(_, t)| *t)
    }
}

/// Every dimension value's series over `first..=last`, by dimension (in
/// the reports' order), then value; its cost the trued-up (billed) one
/// when `billed`, as budgets measure spend.
pub fn series(days: &[Report], (first, last): (NaiveDate, NaiveDate), billed: bool) -> Vec<Series> {
    series_of(days, (first, last), |t| t.spend(billed), |_, _, _| true).0
}

/// The series of the values `keep` takes, given its dimension's totals
/// and the value's month of requests and cost (so a value that cannot
/// matter costs no series), and every dimension's totals over all values;
/// the cost computed at the table's rates.
pub fn series_where(
    days: &[Report],
    range: (NaiveDate, NaiveDate),
    keep: impl Fn([f64; 2], u64, Decimal) -> bool,
) -> (Vec<Series>, MonthTotals) {
    series_of(days, range, |t| t.cost.total(), keep)
}

/// [`series_where`], each row's cost read by `amount`.
fn series_of(
    days: &[Report],
    (first, last): (NaiveDate, NaiveDate),
    amount: impl Fn(&Totals) -> Decimal,
    keep: impl Fn([f64; 2], u64, Decimal) -> bool,
) -> (Vec<Series>, MonthTotals) {
    let length = usize::try_from((last - first).num_days() + 1).unwrap_or(0);
    let index_of = |key: &str| {
        let day = key.parse::<NaiveDate>().ok()?;
        usize::try_from((day - first).num_days())
            .ok()
            .filter(|&i| i < length)
    };
    let mut out = Vec::new();
    let mut totals = MonthTotals::default();
    for report in days {
        let dimension = report.table.name();
        // Each row's day, read once: its place in the series.
        let placed: Vec<(usize, &RoundedRow)> = report
            .rows
            .iter()
            .filter_map(|row| Some((index_of(&row.keys[0])?, row)))
            .collect();
        let mut sums: FastMap<&str, (u64, Decimal)> = FastMap::default();
        for (_, row) in &placed {
            let sum = sums.entry(&row.keys[1]).or_default();
            sum.0 += row.totals.requests;
            sum.1 += amount(&row.totals);
        }
        let requests: u64 = sums.values().map(|s| s.0).sum();
        let cost: Decimal = sums.values().map(|s| s.1).sum();
        let month = [requests as f64, floats(&[cost])[0]];
        totals.0.push((dimension, month));
        let mut by_value: FastMap<&str, Series> = FastMap::default();
        for &(i, row) in &placed {
            let (requests, cost) = sums[&row.keys[1]];
            if !keep(month, requests, cost) {
                continue;
            }
            let s = by_value.entry(&row.keys[1]).or_insert_with(|| Series {
                dimension,
                value: row.keys[1].to_string(),
                requests: vec![0; length],
                cost: vec![Decimal::ZERO; length],
            });
            s.requests[i] += row.totals.requests;
            s.cost[i] += amount(&row.totals);
        }
        let mut values: Vec<Series> = by_value.into_values().collect();
        values.sort_by(|a, b| a.value.cmp(&b.value));
        out.extend(values);
    }
    (out, totals)
}

/// A series as floating-point numbers, for the statistics (which only
/// decide what is reported; reported amounts stay exact).
pub fn floats(values: &[Decimal]) -> Vec<f64> {
    values.iter().map(|v| v.to_f64().unwrap_or(0.0)).collect()
}

/// The median (the mean of the two middle values of an even count).
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n % 2 {
        1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The median absolute deviation from `center`, scaled by 1.4826 to
/// estimate a standard deviation of normal noise.
pub fn mad(values: &[f64], center: f64) -> f64 {
    let deviations: Vec<f64> = values.iter().map(|v| (v - center).abs()).collect();
    1.4826 * median(&deviations)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_mad_ignore_one_outlier() {
        let days = [10.0, 11.0, 9.0, 10.0, 500.0];
        assert_eq!(median(&days), 10.0);
        assert!((mad(&days, 10.0) - 1.4826).abs() < 1e-9);
        assert_eq!(median(&[1.0, 2.0, 3.0, 4.0]), 2.5);
    }
}
