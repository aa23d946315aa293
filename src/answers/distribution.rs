//! Cost per run, per feature and per root agent (`distribution.csv`), and
//! the runs that cost far more than their feature's usual (`outliers.csv`).

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::{mean, percentile, RunCost, RunLabel};
use crate::hash::FastMap;
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
    feature_costs: &FastMap<String, Micros>,
    agent_costs: &FastMap<String, Micros>,
) -> Vec<Spread> {
    let mut out = Vec::new();
    let dimensions = [
        ("feature", RunLabel::Feature, feature_costs),
        ("agent", RunLabel::RootAgent, agent_costs),
    ];
    for (dimension, label, group_costs) in dimensions {
        let mut rows: Vec<Spread> = group(runs, label)
            .into_iter()
            .map(|(key, mut costs)| {
                costs.sort_unstable();
                let total = group_costs[key];
                Spread {
                    dimension,
                    key: key.to_string(),
                    runs: costs.len() as u64,
                    mean: mean(total, costs.len() as u64),
                    p50: percentile(&costs, 50),
                    p95: percentile(&costs, 95),
                    p99: percentile(&costs, 99),
                    max: *costs.last().expect("groups are not empty"),
                    total,
                }
            })
            .collect();
        rows.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.key.cmp(&b.key)));
        out.extend(rows);
    }
    out
}

/// The runs' costs by their `label`.
fn group<'a>(runs: &[RunCost<'a>], label: RunLabel) -> BTreeMap<&'a str, Vec<Micros>> {
    let mut groups: BTreeMap<&str, Vec<Micros>> = BTreeMap::new();
    for run in runs {
        groups.entry(run.label(label)).or_default().push(run.cost());
    }
    groups
}

/// One row of `outliers.csv`: a run above its feature's threshold.
#[derive(Clone, Debug)]
pub struct Outlier<'a> {
    /// The run.
    pub run: RunCost<'a>,
    /// The threshold it exceeded: the feature's p99, or `--outlier-factor`
    /// × its median, rounded half-to-even to the micro-dollar.
    pub threshold: Micros,
}

/// Runs costing more than their feature's p99 or, with `factor`, more than
/// `factor` × the feature's median; the most expensive first.
pub fn outliers<'a>(runs: &[RunCost<'a>], factor: Option<Decimal>) -> Vec<Outlier<'a>> {
    let thresholds: BTreeMap<&str, Decimal> = group(runs, RunLabel::Feature)
        .into_iter()
        .map(|(feature, mut costs)| {
            costs.sort_unstable();
            let threshold = match factor {
                Some(f) => percentile(&costs, 50).to_decimal() * f,
                None => percentile(&costs, 99).to_decimal(),
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
