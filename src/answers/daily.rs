//! Each dimension value's daily series (requests and cost, from the
//! per-day reports), and the robust statistics the step, forecast and
//! anomaly rules use: medians and the median absolute deviation, which one
//! heavy run or one outlying day does not move.

use chrono::NaiveDate;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use crate::hash::FastMap;
use crate::ledger::Report;

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

/// Every dimension value's series over `first..=last`, by dimension (in
/// the reports' order), then value.
pub fn series(days: &[Report], first: NaiveDate, last: NaiveDate) -> Vec<Series> {
    let length = usize::try_from((last - first).num_days() + 1).unwrap_or(0);
    let mut out = Vec::new();
    for report in days {
        let mut by_value: FastMap<&str, Series> = FastMap::default();
        for row in &report.rows {
            let day = row.keys[0].parse::<NaiveDate>().ok();
            let index = day.and_then(|d| usize::try_from((d - first).num_days()).ok());
            let Some(i) = index.filter(|&i| i < length) else {
                continue;
            };
            let s = by_value.entry(&row.keys[1]).or_insert_with(|| Series {
                dimension: report.table.name(),
                value: row.keys[1].clone(),
                requests: vec![0; length],
                cost: vec![Decimal::ZERO; length],
            });
            s.requests[i] += row.totals.requests;
            s.cost[i] += row.totals.cost.total();
        }
        let mut values: Vec<Series> = by_value.into_values().collect();
        values.sort_by(|a, b| a.value.cmp(&b.value));
        out.extend(values);
    }
    out
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
