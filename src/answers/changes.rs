//! When a level stepped up or down within the month (`changes.csv`).
//!
//! The rule, per dimension value (tenant, feature, agent, tool, model), on
//! each of its two daily series, requests and computed cost, over the
//! month's days (a day without requests is 0):
//!
//! 1. the split into a "before" and an "after" part that best separates two
//!    levels: the least sum of absolute deviations from each part's median
//!    (the earliest split of equal fit), each part at least
//!    [`Rule::min_days`] days long; a value that appears (or stops) splits
//!    on its first day with any (after its last);
//! 2. a step when the parts' medians differ clearly: by at least
//!    [`Rule::factor`] (up or down; from or to zero counts), by at least
//!    [`Rule::min_z`] robust standard errors (the days' median absolute
//!    deviation around their part's median: one heavy run or one odd day
//!    moves neither), with the days after apart from the days before as a
//!    whole (a rank-sum z-score of at least [`Rule::min_rank_z`]: a few
//!    heavy days are not a level), and, over the days after the split, by
//!    at least [`Rule::min_share`] of the month's requests (or cost).
//!
//! The request count steps first when both do (counts are less noisy than
//! heavy-tailed costs); the line gives that series' mean daily levels and
//! the cost's around the same split (and the cost's factor). An agent
//! whose calls per run step up
//! with its level is in a retry loop (`kind = loop`). The statistics only
//! decide whether a line is written; its amounts are exact daily means,
//! rounded half-to-even (requests to two places, money to the micro-dollar).

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::daily::{floats, mad, median, MonthTotals, Series};
use crate::hash::FastMap;
use crate::money::Micros;

/// What counts as a step change.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    /// The least ratio of the higher median to the lower.
    pub factor: f64,
    /// The fewest days on each side of the split.
    pub min_days: usize,
    /// The least difference of the medians, in robust standard errors.
    pub min_z: f64,
    /// The least change over the days after the split, as a fraction of
    /// the month's total requests (or cost).
    pub min_share: f64,
    /// The least rise in calls per run that makes an agent's step a loop.
    pub loop_factor: f64,
    /// The least rank-sum z-score of the days after against the days before.
    pub min_rank_z: f64,
}

impl Default for Rule {
    fn default() -> Rule {
        Rule {
            factor: 2.0,
            min_days: 3,
            min_z: 5.0,
            min_share: 0.005,
            loop_factor: 1.5,
            min_rank_z: 3.0,
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
    /// An agent's level up with its calls per run: a retry loop.
    Loop,
}

impl Kind {
    /// The name written in `changes.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Appeared => "appeared",
            Kind::Stopped => "stopped",
            Kind::Up => "up",
            Kind::Down => "down",
            Kind::Loop => "loop",
        }
    }
}

/// The daily series a step was found in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measure {
    /// Requests per day.
    Requests,
    /// Computed cost per day.
    Cost,
}

impl Measure {
    /// The name written in `changes.csv`'s `series` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Measure::Requests => "requests",
            Measure::Cost => "cost",
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
    /// The series that stepped.
    pub series: Measure,
    /// The first day of the new level.
    pub first_day: NaiveDate,
    /// Days before and from `first_day`.
    pub days: (usize, usize),
    /// The series' mean daily level before and after (requests to two
    /// places, cost to the micro-dollar).
    pub levels: (Decimal, Decimal),
    /// The mean daily cost before and after, rounded.
    pub daily: (Micros, Micros),
    /// The cost's after ÷ before, to two places (none when before is zero).
    pub factor: Option<Decimal>,
}

/// Each agent's distinct runs per day (over the same days as the series),
/// to tell a retry loop.
pub type RunsPerDay = FastMap<String, Vec<u64>>;

/// The step changes of every series, over the days from `first`, ordered
/// by dimension (as the series are), first day and value.
pub fn changes(
    (all, totals): (&[Series], &MonthTotals),
    first: NaiveDate,
    runs: &RunsPerDay,
    rule: &Rule,
) -> Vec<Change> {
    let dims: Vec<&str> = dimension_order(all);
    let mut found = Vec::new();
    for d in &dims {
        let [requests, cost] = totals.of(d);
        for s in all.iter().filter(|s| s.dimension == *d) {
            found.extend(change_of(s, first, (requests, cost), runs, rule));
        }
    }
    found.sort_by(|a, b| {
        let order = |c: &Change| dims.iter().position(|d| *d == c.dimension);
        (order(a), a.first_day, &a.value).cmp(&(order(b), b.first_day, &b.value))
    });
    found
}

/// The dimensions of `all`, in their order.
fn dimension_order(all: &[Series]) -> Vec<&'static str> {
    let mut dims: Vec<&'static str> = Vec::new();
    for s in all {
        if !dims.contains(&s.dimension) {
            dims.push(s.dimension);
        }
    }
    dims
}

/// One value's change: its request count's step, else its cost's.
fn change_of(
    s: &Series,
    first: NaiveDate,
    totals: (f64, f64),
    runs: &RunsPerDay,
    rule: &Rule,
) -> Option<Change> {
    let requests: Vec<f64> = s.requests.iter().map(|&r| r as f64).collect();
    let cost = floats(&s.cost);
    let (series, split, kind) = match step(&requests, rule, totals.0) {
        Some((split, kind)) => (Measure::Requests, split, kind),
        None => {
            let (split, kind) = step(&cost, rule, totals.1)?;
            (Measure::Cost, split, kind)
        }
    };
    let mean = |part: &[Decimal]| part.iter().sum::<Decimal>() / Decimal::from(part.len().max(1));
    let counts: Vec<Decimal> = s.requests.iter().map(|&r| Decimal::from(r)).collect();
    let (levels, places) = match series {
        Measure::Requests => (&counts, 2),
        Measure::Cost => (&s.cost, 6),
    };
    let (before, after) = (mean(&levels[..split]), mean(&levels[split..]));
    let (cost_before, cost_after) = (mean(&s.cost[..split]), mean(&s.cost[split..]));
    let kind = match kind {
        Kind::Up if s.dimension == "agent" && is_loop(s, runs.get(&s.value), split, rule) => {
            Kind::Loop
        }
        kind => kind,
    };
    Some(Change {
        dimension: s.dimension,
        value: s.value.clone(),
        kind,
        series,
        first_day: first + chrono::Days::new(split as u64),
        days: (split, s.cost.len() - split),
        levels: (before.round_dp(places), after.round_dp(places)),
        daily: (Micros::round(cost_before), Micros::round(cost_after)),
        factor: (!cost_before.is_zero()).then(|| (cost_after / cost_before).round_dp(2)),
    })
}

/// Whether an agent's calls per run rose by [`Rule::loop_factor`] at `split`.
fn is_loop(s: &Series, runs: Option<&Vec<u64>>, split: usize, rule: &Rule) -> bool {
    let Some(runs) = runs else {
        return false;
    };
    let per_run = |range: std::ops::Range<usize>| {
        let calls: u64 = s.requests[range.clone()].iter().sum();
        let runs: u64 = runs.get(range).map_or(0, |r| r.iter().sum());
        (runs > 0).then(|| calls as f64 / runs as f64)
    };
    match (per_run(0..split), per_run(split..s.requests.len())) {
        (Some(before), Some(after)) => after >= before * rule.loop_factor,
        _ => false,
    }
}

impl Rule {
    /// Whether a value whose month sums to `sum` (of a non-negative
    /// series over `days` days) can have no step against its dimension's
    /// `total`: [`too_small`] of any such series, with room for the
    /// rounding of a sum taken in another order.
    pub fn negligible(&self, sum: f64, total: f64, days: usize) -> bool {
        self.most_moved(sum, days) * (1.0 + 1e-6) < total * self.min_share
    }

    /// The most any split of a non-negative series of `days` days summing
    /// to `sum` can move: a split's move is at most the larger of its
    /// parts' means times the days after it, so at most the sum times the
    /// most days after a split per day before it, or the sum.
    fn most_moved(&self, sum: f64, days: usize) -> f64 {
        let m = self.min_days.max(1);
        let ratio = days.saturating_sub(m) as f64 / m as f64;
        sum * ratio.max(1.0)
    }
}

/// Whether no split of `x` can move the rule's share of `total`
/// ([`Rule::most_moved`], for a non-negative series). Checked first, so
/// that the many values with a sliver of the month (a million tenants of
/// one call each) cost a sum.
fn too_small(x: &[f64], rule: &Rule, total: f64) -> bool {
    x.iter().all(|v| *v >= 0.0) && rule.negligible(x.iter().sum(), total, x.len())
}

/// The step of one daily series, when the rule reports one: its split and
/// which way it moved. `total` is the month's total of the series over
/// the dimension's values.
fn step(x: &[f64], rule: &Rule, total: f64) -> Option<(usize, Kind)> {
    match too_small(x, rule, total) {
        true => None,
        false => any_step(x, rule, total),
    }
}

/// [`step`] without its shortcut.
fn any_step(x: &[f64], rule: &Rule, total: f64) -> Option<(usize, Kind)> {
    let n = x.len();
    let m = rule.min_days.max(1);
    if n < 2 * m {
        return None;
    }
    let cost_at = |k: usize| sad(&x[..k]) + sad(&x[k..]);
    let splits = m..=n - m;
    let first = x.iter().position(|v| *v != 0.0);
    let end = x.iter().rposition(|v| *v != 0.0).map(|i| i + 1);
    let edge = [first, end]
        .into_iter()
        .flatten()
        .find(|k| *k > 0 && *k < n && splits.contains(k));
    let best = splits
        .map(|k| (k, cost_at(k)))
        .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))?;
    let split = edge.unwrap_or(best.0);
    let (before, after) = (&x[..split], &x[split..]);
    let (mb, ma) = (median(before), median(after));
    let (low, high) = (mb.min(ma), mb.max(ma));
    if high <= 0.0 || high < low * rule.factor {
        return None;
    }
    let mean = |p: &[f64]| p.iter().sum::<f64>() / p.len() as f64;
    if (mean(after) - mean(before)).abs() * ((n - split) as f64) < total * rule.min_share {
        return None;
    }
    let residuals: Vec<f64> = before
        .iter()
        .map(|v| v - mb)
        .chain(after.iter().map(|v| v - ma))
        .collect();
    let scale = mad(&residuals, 0.0);
    // The standard error of a difference of medians of normal noise.
    let se = scale * 1.2533 * (1.0 / split as f64 + 1.0 / (n - split) as f64).sqrt();
    if se > 0.0 && (high - low) / se < rule.min_z {
        return None;
    }
    // And the days after sit apart from the days before as a whole, not
    // by a few heavy days: the rank-sum test.
    if rank_z(before, after).abs() < rule.min_rank_z {
        return None;
    }
    let kind = match (mb == 0.0, ma == 0.0, ma > mb) {
        (true, _, _) => Kind::Appeared,
        (_, true, _) => Kind::Stopped,
        (_, _, true) => Kind::Up,
        _ => Kind::Down,
    };
    Some((split, kind))
}

/// The Mann-Whitney rank-sum statistic of `after` against `before`, as a
/// z-score (ties at their mean rank): how far the days after sit above
/// (or below) the days before, whatever their tails.
fn rank_z(before: &[f64], after: &[f64]) -> f64 {
    let mut all: Vec<(f64, bool)> = before
        .iter()
        .map(|&v| (v, false))
        .chain(after.iter().map(|&v| (v, true)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < all.len() {
        let j = (i..all.len())
            .find(|&j| all[j].0 != all[i].0)
            .unwrap_or(all.len());
        let mid = (i + j + 1) as f64 / 2.0;
        rank_sum += mid * all[i..j].iter().filter(|(_, after)| *after).count() as f64;
        i = j;
    }
    let (n1, n2) = (before.len() as f64, after.len() as f64);
    let u = rank_sum - n2 * (n2 + 1.0) / 2.0;
    let sd = (n1 * n2 * (n1 + n2 + 1.0) / 12.0).sqrt();
    (u - n1 * n2 / 2.0) / sd
}

/// The sum of absolute deviations from the median.
fn sad(x: &[f64]) -> f64 {
    let m = median(x);
    x.iter().map(|v| (v - m).abs()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shortcut_never_hides_a_step() {
        // Pseudo-random months of every shape (a level, a step, a spike,
        // zeros), against totals from a sliver to the whole: wherever the
        // shortcut says no step, the full search finds none.
        let rule = Rule::default();
        let mut seed = 7u64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as f64 / (1u64 << 31) as f64
        };
        let mut shortcuts = 0;
        for case in 0..4000 {
            let split = 1 + (next() * 29.0) as usize;
            let (a, b) = (next() * 10.0, next() * 100.0);
            let x: Vec<f64> = (0..30)
                .map(|d| match case % 3 {
                    0 => {
                        if d < split {
                            a
                        } else {
                            b
                        }
                    }
                    1 => {
                        if d == split {
                            b
                        } else {
                            0.0
                        }
                    }
                    _ => (next() * a).floor(),
                })
                .collect();
            let sum: f64 = x.iter().sum();
            let total = sum * (1.0 + next() * 2000.0);
            let full = any_step(&x, &rule, total);
            if step(&x, &rule, total).is_none() && full.is_some() {
                panic!("{x:?} of {total}: {full:?}");
            }
            // A value the month's shortcut drops has no step either.
            if rule.negligible(sum, total, x.len()) {
                assert!(full.is_none(), "{x:?} of {total}: {full:?}");
            }
            shortcuts += usize::from(too_small(&x, &rule, total));
        }
        assert!(shortcuts > 100, "{shortcuts}");
    }

    fn noisy(levels: &[(usize, f64)]) -> Vec<f64> {
        // Alternating ±10 % noise around each level.
        let mut out = Vec::new();
        for &(days, level) in levels {
            for d in 0..days {
                out.push(level * if d % 2 == 0 { 1.1 } else { 0.9 });
            }
        }
        out
    }

    #[test]
    fn a_sixfold_step_is_found_on_its_first_day() {
        let x = noisy(&[(10, 10.0), (20, 60.0)]);
        let total: f64 = x.iter().sum();
        assert_eq!(step(&x, &Rule::default(), total), Some((10, Kind::Up)));
    }

    #[test]
    fn a_launch_appears_and_a_steady_series_does_not_move() {
        let launch = noisy(&[(8, 0.0), (22, 40.0)]);
        let total: f64 = launch.iter().sum();
        assert_eq!(
            step(&launch, &Rule::default(), total),
            Some((8, Kind::Appeared))
        );
        let mut partial = launch.clone();
        partial[8] = 1.0;
        assert_eq!(
            step(&partial, &Rule::default(), total),
            Some((8, Kind::Appeared))
        );
        let stopped = noisy(&[(20, 40.0), (10, 0.0)]);
        assert_eq!(
            step(&stopped, &Rule::default(), total),
            Some((20, Kind::Stopped))
        );
        assert_eq!(step(&noisy(&[(30, 40.0)]), &Rule::default(), total), None);
    }

    #[test]
    fn heavy_tails_and_single_days_are_no_step() {
        // A steady level with one run in five costing twenty times the rest.
        let heavy: Vec<f64> = (0..30)
            .map(|d| if d % 5 == 3 { 200.0 } else { 10.0 })
            .collect();
        let total: f64 = heavy.iter().sum();
        assert_eq!(step(&heavy, &Rule::default(), total), None);
        // One runaway day.
        let mut spike = noisy(&[(30, 10.0)]);
        spike[17] = 500.0;
        assert_eq!(step(&spike, &Rule::default(), total), None);
        // Doubling, but a sliver of the month.
        assert_eq!(
            step(&noisy(&[(15, 1.0), (15, 2.0)]), &Rule::default(), 100_000.0),
            None
        );
    }
}
