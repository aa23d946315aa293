//! When a cost stepped up or down within the month (`changes.csv`).
//!
//! The rule, per dimension value (tenant, feature, agent, tool, model), on
//! its daily computed cost over the month's days (a day without requests
//! costs 0):
//!
//! 1. the split into a "before" and an "after" part that best separates two
//!    levels (the least sum of squared deviations from each part's mean),
//!    each part at least [`Rule::min_days`] days long;
//! 2. reported when the two levels differ clearly: by at least
//!    [`Rule::factor`] (up or down; from or to zero counts), by at least
//!    [`Rule::min_t`] standard errors of the difference (the spread of the
//!    days around their part's mean: day-to-day noise is no step), and by
//!    at least [`Rule::min_share`] of the month's total cost over the days
//!    after the split.
//!
//! The statistic decides only whether a line is written; the amounts on it
//! are exact daily means, rounded half-to-even to the micro-dollar.

use chrono::NaiveDate;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use crate::hash::FastMap;
use crate::ledger::Report;
use crate::money::Micros;

/// What counts as a step change.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    /// The least ratio of the higher level to the lower.
    pub factor: Decimal,
    /// The fewest days on each side of the split.
    pub min_days: usize,
    /// The least difference of the levels, in standard errors.
    pub min_t: f64,
    /// The least change over the days after the split, as a fraction of the
    /// month's total cost.
    pub min_share: Decimal,
}

impl Default for Rule {
    fn default() -> Rule {
        Rule {
            factor: Decimal::TWO,
            min_days: 3,
            min_t: 4.5,
            min_share: Decimal::new(5, 3),
        }
    }
}

/// Which way a level moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// From nothing to a level.
    Appeared,
    /// From a level to nothing.
    Stopped,
    /// To a higher level.
    Up,
    /// To a lower level.
    Down,
}

impl Kind {
    /// The name written in `changes.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Appeared => "appeared",
            Kind::Stopped => "stopped",
            Kind::Up => "up",
            Kind::Down => "down",
        }
    }
}

/// One step change of one dimension value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// `tenant`, `feature`, `agent`, `tool` or `model`.
    pub dimension: &'static str,
    /// The value that changed.
    pub value: String,
    /// Which way.
    pub kind: Kind,
    /// The first day of the new level.
    pub first_day: NaiveDate,
    /// Days before and from `first_day`.
    pub days: (usize, usize),
    /// The mean daily cost before and after, rounded.
    pub daily: (Micros, Micros),
    /// After ÷ before, to two places (none when before is zero).
    pub factor: Option<Decimal>,
}

/// The step changes of every dimension value of the per-day reports
/// `days`, over the days `first..=last`, ordered by dimension (as the
/// reports are), first day and value.
pub fn changes(days: &[Report], first: NaiveDate, last: NaiveDate, rule: &Rule) -> Vec<Change> {
    let length = usize::try_from((last - first).num_days() + 1).unwrap_or(0);
    let total: Decimal = days.first().map_or(Decimal::ZERO, |r| {
        r.rows.iter().map(|row| row.totals.cost.total()).sum()
    });
    let mut found = Vec::new();
    for report in days {
        let mut series: FastMap<&str, Vec<Decimal>> = FastMap::default();
        for row in &report.rows {
            let day = row.keys[0].parse::<NaiveDate>().ok();
            let index = day.and_then(|d| usize::try_from((d - first).num_days()).ok());
            if let Some(i) = index.filter(|&i| i < length) {
                let days = series
                    .entry(&row.keys[1])
                    .or_insert_with(|| vec![Decimal::ZERO; length]);
                days[i] += row.totals.cost.total();
            }
        }
        let mut values: Vec<_> = series.into_iter().collect();
        values.sort_by(|a, b| a.0.cmp(b.0));
        for (value, costs) in values {
            if let Some(change) = step(&costs, rule, total) {
                let (split, kind, daily, factor) = change;
                found.push(Change {
                    dimension: report.table.name(),
                    value: value.to_string(),
                    kind,
                    first_day: first + chrono::Days::new(split as u64),
                    days: (split, length - split),
                    daily,
                    factor,
                });
            }
        }
    }
    found.sort_by(|a, b| {
        let order = |c: &Change| days.iter().position(|r| r.table.name() == c.dimension);
        (order(a), a.first_day, &a.value).cmp(&(order(b), b.first_day, &b.value))
    });
    found
}

/// The step of one daily series: the split, the kind, the rounded means
/// and the factor, when the rule reports one.
type Step = (usize, Kind, (Micros, Micros), Option<Decimal>);

fn step(costs: &[Decimal], rule: &Rule, total: Decimal) -> Option<Step> {
    let n = costs.len();
    if n < 2 * rule.min_days.max(1) {
        return None;
    }
    let x: Vec<f64> = costs.iter().map(|c| c.to_f64().unwrap_or(0.0)).collect();
    let sse_at = |k: usize| sse(&x[..k]) + sse(&x[k..]);
    let splits = rule.min_days.max(1)..=n - rule.min_days.max(1);
    // A value that appears (or stops) changes on its first (after its last)
    // day with a cost, whatever split fits best around a partial day.
    let first = costs.iter().position(|c| !c.is_zero());
    let end = costs.iter().rposition(|c| !c.is_zero()).map(|i| i + 1);
    let edge = [first, end]
        .into_iter()
        .flatten()
        .find(|k| *k > 0 && *k < n && splits.contains(k));
    let best = splits
        .map(|k| (k, sse_at(k)))
        .min_by(|a, b| a.1.total_cmp(&b.1))?;
    let (split, sse) = edge.map_or(best, |k| (k, sse_at(k)));
    let mean = |part: &[Decimal]| part.iter().sum::<Decimal>() / Decimal::from(part.len());
    let (before, after) = (mean(&costs[..split]), mean(&costs[split..]));
    let (low, high) = (before.min(after), before.max(after));
    if high.is_zero() || high < low * rule.factor {
        return None;
    }
    if (high - low) * Decimal::from(n - split) < total * rule.min_share {
        return None;
    }
    let difference = (high - low).to_f64().unwrap_or(0.0);
    let spread = (sse / (n - 2) as f64 * (1.0 / split as f64 + 1.0 / (n - split) as f64)).sqrt();
    if spread > 0.0 && difference / spread < rule.min_t {
        return None;
    }
    let kind = match (before.is_zero(), after.is_zero(), after > before) {
        (true, _, _) => Kind::Appeared,
        (_, true, _) => Kind::Stopped,
        (_, _, true) => Kind::Up,
        _ => Kind::Down,
    };
    let factor = (!before.is_zero()).then(|| (after / before).round_dp(2));
    Some((
        split,
        kind,
        (Micros::round(before), Micros::round(after)),
        factor,
    ))
}

/// The sum of squared deviations from the mean.
fn sse(x: &[f64]) -> f64 {
    let mean = x.iter().sum::<f64>() / x.len() as f64;
    x.iter().map(|v| (v - mean) * (v - mean)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(levels: &[(usize, i64)]) -> Vec<Decimal> {
        // Alternating ±10 % noise around each level.
        let mut out = Vec::new();
        for &(days, level) in levels {
            for d in 0..days {
                let noise = if d % 2 == 0 { 11 } else { 9 };
                out.push(Decimal::new(level * noise, 1));
            }
        }
        out
    }

    #[test]
    fn a_sixfold_step_is_found_on_its_first_day() {
        let costs = series(&[(10, 10), (20, 60)]);
        let total: Decimal = costs.iter().sum();
        let (split, kind, daily, factor) = step(&costs, &Rule::default(), total).unwrap();
        assert_eq!((split, kind), (10, Kind::Up));
        assert_eq!(daily, (Micros(10_000_000), Micros(60_000_000)));
        assert_eq!(factor, Some(Decimal::new(600, 2)));
    }

    #[test]
    fn a_launch_appears_and_a_steady_series_does_not_move() {
        let launch = series(&[(8, 0), (22, 40)]);
        let total: Decimal = launch.iter().sum();
        let found = step(&launch, &Rule::default(), total).unwrap();
        assert_eq!((found.0, found.1, found.3), (8, Kind::Appeared, None));
        // Launched late on its first day: that day is still the first.
        let mut partial = launch.clone();
        partial[8] = Decimal::ONE;
        let found = step(&partial, &Rule::default(), total).unwrap();
        assert_eq!((found.0, found.1), (8, Kind::Appeared));
        // Switched off after day 20.
        let stopped = series(&[(20, 40), (10, 0)]);
        let found = step(&stopped, &Rule::default(), total).unwrap();
        assert_eq!(
            (found.0, found.1, found.3),
            (20, Kind::Stopped, Some(Decimal::ZERO))
        );
        let steady = series(&[(30, 40)]);
        assert_eq!(step(&steady, &Rule::default(), total), None);
    }

    #[test]
    fn a_small_or_noisy_step_is_no_change() {
        // Doubling, but worth less than half a percent of the month.
        let small = series(&[(15, 1), (15, 2)]);
        assert_eq!(step(&small, &Rule::default(), Decimal::from(100_000)), None);
        // Sparse: one expensive day in three, with the first days empty.
        let sparse: Vec<Decimal> = (0..30)
            .map(|d| Decimal::from(if d % 3 == 2 { 90 } else { 0 }))
            .collect();
        assert_eq!(step(&sparse, &Rule::default(), Decimal::from(900)), None);
    }
}
