//! Days far outside a value's own recent behaviour (`anomalies.csv`).
//!
//! The rule, per dimension value and per series (daily cost, daily
//! requests), for each day with at least [`Rule::window`] days before it:
//! the expected level is the median of the previous [`Rule::window`] days,
//! its spread their median absolute deviation (×1.4826, and at least a
//! tenth of the median); the day is an anomaly when it is above the
//! expected level by more than [`Rule::min_z`] spreads, at least
//! [`Rule::factor`] times the level, and by at least [`Rule::min_share`] of
//! the month's total — and the days after it come back below halfway
//! between the level and the day (a lasting level change is a step, in
//! `changes.csv`, not a string of anomalies). The month's last day, with nothing after it, is judged on
//! itself. Only rises are anomalies: a quiet day is no alarm.

use chrono::NaiveDate;
use rust_decimal::prelude::FromPrimitive;
use rust_decimal::Decimal;

use super::changes::Measure;
use super::daily::{floats, mad, median, MonthTotals, Series};

/// What counts as an anomaly.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    /// The days before a day that set its expected level.
    pub window: usize,
    /// The least excess over the level, in spreads.
    pub min_z: f64,
    /// The least ratio of the day to its level.
    pub factor: f64,
    /// The least excess, as a fraction of the month's total of the series.
    pub min_share: f64,
}

impl Default for Rule {
    fn default() -> Rule {
        Rule {
            window: 7,
            min_z: 6.0,
            factor: 3.0,
            min_share: 0.005,
        }
    }
}

/// One anomalous day.
#[derive(Clone, Debug, PartialEq)]
pub struct Anomaly {
    /// The dimension.
    pub dimension: &'static str,
    /// The value.
    pub value: String,
    /// The day.
    pub day: NaiveDate,
    /// Its index in the series.
    pub index: usize,
    /// The series.
    pub series: Measure,
    /// What the day had (requests, or exact cost).
    pub observed: Decimal,
    /// The expected level and its range (estimates).
    pub expected: (Decimal, Decimal, Decimal),
    /// The top agent, model and tool under the value that day.
    pub drivers: [String; 3],
}

/// Every anomalous day of `all`, by dimension, value, day and series.
pub fn anomalies(
    (all, totals): (&[Series], &MonthTotals),
    first: NaiveDate,
    rule: &Rule,
) -> Vec<Anomaly> {
    let mut found = Vec::new();
    for s in all {
        let t = totals.of(s.dimension);
        let requests: Vec<f64> = s.requests.iter().map(|&r| r as f64).collect();
        for (measure, x, month) in [
            (Measure::Cost, floats(&s.cost), t[1]),
            (Measure::Requests, requests, t[0]),
        ] {
            for (index, expected) in days(&x, month, rule) {
                let observed = match measure {
                    Measure::Cost => s.cost[index],
                    Measure::Requests => Decimal::from(s.requests[index]),
                };
                found.push(Anomaly {
                    dimension: s.dimension,
                    value: s.value.clone(),
                    day: first + chrono::Days::new(index as u64),
                    index,
                    series: measure,
                    observed,
                    expected,
                    drivers: Default::default(),
                });
            }
        }
    }
    found
}

impl Rule {
    /// Whether a value whose month sums to `sum` (a non-negative series)
    /// can have no anomalous day against its dimension's `month`: no day
    /// of it reaches the rule's share.
    pub fn negligible(&self, sum: f64, month: f64) -> bool {
        sum < self.min_share * month * (1.0 - 1e-6)
    }
}

/// The anomalous days of one series, with their expected level and range.
fn days(x: &[f64], month: f64, rule: &Rule) -> Vec<(usize, (Decimal, Decimal, Decimal))> {
    let w = rule.window;
    let mut out = Vec::new();
    // A day's rise over a non-negative level is at most the day itself.
    if x.iter().all(|v| *v >= 0.0 && *v < rule.min_share * month) {
        return out;
    }
    for i in w..x.len() {
        let before = &x[i - w..i];
        let level = median(before);
        let spread = mad(before, level).max(0.1 * level);
        let bound = level + rule.min_z * spread;
        let high = x[i] > bound && x[i] >= rule.factor * level.max(f64::MIN_POSITIVE);
        if !high || x[i] - level < rule.min_share * month {
            continue;
        }
        // The days after staying halfway up or more: a new level, not a day.
        let after = &x[i + 1..x.len().min(i + 4)];
        if !after.is_empty() && median(after) > level + (x[i] - level) / 2.0 {
            continue;
        }
        let d = |v: f64| {
            Decimal::from_f64(v.max(0.0))
                .unwrap_or_default()
                .round_dp(6)
        };
        out.push((i, (d(level), d(level - rule.min_z * spread), d(bound))));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runaway_day_is_an_anomaly_and_a_new_level_is_not() {
        let mut x: Vec<f64> = (0..30)
            .map(|d| if d % 2 == 0 { 11.0 } else { 9.0 })
            .collect();
        x[17] = 200.0;
        let month: f64 = x.iter().sum();
        let found = days(&x, month, &Rule::default());
        assert_eq!(found.iter().map(|(i, _)| *i).collect::<Vec<_>>(), vec![17]);
        let step: Vec<f64> = (0..30).map(|d| if d < 15 { 10.0 } else { 60.0 }).collect();
        assert!(days(&step, step.iter().sum(), &Rule::default()).is_empty());
        // The runaway day in a dimension 40× larger: a sliver of it, which
        // the month's shortcut drops, and no anomaly either way.
        let rule = Rule::default();
        let sum: f64 = x.iter().sum();
        assert!(!rule.negligible(sum, month));
        assert!(rule.negligible(sum, 40.0 * month * 10.0));
        assert!(days(&x, 40.0 * month * 10.0, &rule).is_empty());
    }
}
