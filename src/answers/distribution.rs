//! Cost per run, per feature and per root agent (`distribution.csv`), and
//! the runs that cost far more than their feature's usual (`outliers.csv`).

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::{mean, percentile, GroupCosts, RunCost, RunLabel};
use crate::money::Micros;

/// One row of `distribution.csv`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spread {
    /// `feature` or `agent` (the root agent).
    pub dimension: &'static str,
    /// The feature or agent.
    pub key: String,
    /// Runs in the group.
    pub runs: u64,
    /// Mean cost per run.
    pub mean: Micros,
    /// Median (nearest rank).
    pub p50: Micros,
    /// 95th percentile (nearest rank).
    pub p95: Micros,
    /// 99th percentile (nearest rank).
    pub p99: Micros,
    /// The most expensive run.
    pub max: Micros,
    /// All the group's runs together.
    pub total: Micros,
}

/// The distribution of run costs per feature, then per root agent; within a
/// dimension, the costliest group first. A group's total (and so its mean)
/// is its cost in `feature_costs` / `agent_costs` (see
/// [`super::run_group_costs`]), so it agrees with `by_outcome.csv`.
pub fn distribution(
    runs: &[RunCost],
    feature_costs: &GroupCosts,
    agent_costs: &GroupCosts,
) -> Vec<Spread> {
    let mut out = Vec::new();
    let dimensions = [
        ("feature", RunLabel::Feature, feature_costs),
        ("agent", RunLabel::RootAgent, agent_costs),
    ];
    for (dimension, label, group_costs) in dimensions {
        let mut rows: Vec<Spread> = percentiles(runs, label, [50, 95, 99])
            .into_iter()
            .map(|(key, group)| {
                let total = group_costs.runs(key);
                let [p50, p95, p99] = group.at;
                Spread {
                    dimension,
                    key: key.to_string(),
                    runs: group.runs,
                    mean: mean(total, group.runs),
                    p50,
                    p95,
                    p99,
                    max: group.max,
                    total,
                }
            })
            .collect();
        rows.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.key.cmp(&b.key)));
        out.extend(rows);
    }
    out
}

/// A group of runs' costs: how many, the largest, and the nearest-rank
/// percentiles asked for.
struct Group<const P: usize> {
    runs: u64,
    max: Micros,
    at: [Micros; P],
}

/// Each group of `runs` by `label`, with the percentiles `ps` of its
/// costs. Runs listed costliest first (as `by_run.csv` lists them) are
/// taken in that order twice, once to count each group and once to pick
/// its percentiles, holding no group's costs (a million runs' would take
/// 16 MiB); otherwise each group's costs are gathered and sorted.
fn percentiles<'a, const P: usize>(
    runs: &[RunCost<'a>],
    label: RunLabel,
    ps: [usize; P],
) -> BTreeMap<&'a str, Group<P>> {
    if !runs.is_sorted_by(|a, b| a.cost() >= b.cost()) {
        let mut groups: BTreeMap<&str, Vec<Micros>> = BTreeMap::new();
        for run in runs {
            groups.entry(run.label(label)).or_default().push(run.cost());
        }
        return (groups.into_iter())
            .map(|(key, mut costs)| {
                costs.sort_unstable();
                let group = Group {
                    runs: costs.len() as u64,
                    max: *costs.last().expect("groups are not empty"),
                    at: ps.map(|p| percentile(&costs, p)),
                };
                (key, group)
            })
            .collect();
    }
    let mut counts: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for run in runs {
        counts.entry(run.label(label)).or_default().0 += 1;
    }
    let mut groups: BTreeMap<&str, Group<P>> = BTreeMap::new();
    for run in runs {
        let key = run.label(label);
        let (n, seen) = counts.get_mut(key).expect("counted");
        // The costliest first: ascending rank r is place n - r here.
        let place = *seen;
        *seen += 1;
        let group = groups.entry(key).or_insert_with(|| Group {
            runs: *n,
            max: run.cost(),
            at: [Micros(0); P],
        });
        for (at, p) in group.at.iter_mut().zip(ps) {
            let rank = (p as u64 * *n).div_ceil(100).max(1);
            if place == *n - rank {
                *at = run.cost();
            }
        }
    }
    groups
}

/// One row of `outliers.csv`: a run above its feature's threshold.
#[derive(Clone, Debug)]
pub struct Outlier<'a> {
    /// The run.
    pub run: RunCost<'a>,
    /// The highest step of any of the run's calls (set by the caller:
    /// [`super::highest_steps`]).
    pub steps: u32,
    /// The threshold it exceeded: the feature's p99, or `--outlier-factor`
    /// × its median, rounded half-to-even to the micro-dollar.
    pub threshold: Micros,
}

/// Runs costing more than their feature's p99 or, with `factor`, more than
/// `factor` × the feature's median; the most expensive first.
pub fn outliers<'a>(runs: &[RunCost<'a>], factor: Option<Decimal>) -> Vec<Outlier<'a>> {
    let thresholds: BTreeMap<&str, Decimal> = percentiles(runs, RunLabel::Feature, [50, 99])
        .into_iter()
        .map(|(feature, group)| {
            let [p50, p99] = group.at;
            let threshold = match factor {
                Some(f) => p50.to_decimal() * f,
                None => p99.to_decimal(),
            };
            (feature, threshold)
        })
        .collect();
    let mut out: Vec<Outlier> = runs
        .iter()
        .filter_map(|run| {
            let threshold = thresholds[run.feature()];
            (run.cost().to_decimal() > threshold).then(|| Outlier {
                run: *run,
                steps: 0,
                threshold: Micros::round(threshold),
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.run
            .cost()
            .cmp(&a.run.cost())
            .then_with(|| a.run.id().cmp(b.run.id()))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribute::Totals;
    use crate::ledger::{Amounts, RoundedRow, COLUMNS};

    #[test]
    fn runs_costliest_first_give_the_percentiles_of_their_sorted_costs() {
        let rows: Vec<RoundedRow> = (0..500u64)
            .map(|i| {
                let cost = Micros(i128::from((i * 7919) % 263));
                let feature = ["a", "b", "c"][(i % 3) as usize];
                let mut cells = [Micros(0); COLUMNS];
                cells[0] = cost;
                let keys = vec!["id".into(), "agent".into(), "t".into(), feature.into()];
                RoundedRow::new(
                    keys.into(),
                    Totals::default(),
                    (cells, cost),
                    Amounts::default(),
                )
            })
            .collect();
        let runs: Vec<RunCost> = (rows.iter()).map(|row| RunCost { row }).collect();
        let mut costliest_first = runs.clone();
        costliest_first.sort_by_key(|run| std::cmp::Reverse(run.cost()));
        let of = |runs: &[RunCost]| {
            let groups = percentiles(runs, RunLabel::Feature, [1, 50, 95, 99, 100]);
            (groups.into_iter())
                .map(|(key, g)| (key.to_string(), g.runs, g.max, g.at))
                .collect::<Vec<_>>()
        };
        assert!(!runs.is_sorted_by(|a, b| a.cost() >= b.cost()));
        assert_eq!(of(&runs), of(&costliest_first));
        assert_eq!(of(&runs[..1])[0].3, [Micros(0); 5]);
    }
}
