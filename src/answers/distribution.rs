//! Cost per run, per feature and per root agent (`distribution.csv`), and
//! the runs that cost far more than their feature's usual (`outliers.csv`).

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::{mean, percentile, RunCost};
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
/// dimension, the costliest group first.
pub fn distribution(runs: &[RunCost]) -> Vec<Spread> {
    let mut out = Vec::new();
    for (dimension, key) in [
        (
            "feature",
            (|r: &RunCost| r.feature.to_string()) as fn(&RunCost) -> String,
        ),
        ("agent", |r: &RunCost| r.root_agent.to_string()),
    ] {
        let mut rows: Vec<Spread> = group(runs, key)
            .into_iter()
            .map(|(key, mut costs)| {
                costs.sort_unstable();
                let total: Micros = costs.iter().copied().sum();
                Spread {
                    dimension,
                    key,
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

fn group(runs: &[RunCost], key: fn(&RunCost) -> String) -> BTreeMap<String, Vec<Micros>> {
    let mut groups: BTreeMap<String, Vec<Micros>> = BTreeMap::new();
    for run in runs {
        groups.entry(key(run)).or_default().push(run.cost);
    }
    groups
}

/// One row of `outliers.csv`: a run above its feature's threshold.
#[derive(Clone, Debug, PartialEq, Eq)]
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
    let thresholds: BTreeMap<String, Decimal> = group(runs, |r| r.feature.to_string())
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
            let threshold = thresholds[run.feature];
            (run.cost.to_decimal() > threshold).then(|| Outlier {
                run: run.clone(),
                threshold: Micros::round(threshold),
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.run
            .cost
            .cmp(&a.run.cost)
            .then_with(|| a.run.id.cmp(b.run.id))
    });
    out
}
