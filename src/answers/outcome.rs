//! Cost per outcome (`by_outcome.csv`): what a feature's run costs, and what
//! a successful one costs once the failures it took are paid for.

use std::collections::BTreeMap;

use super::{GroupCosts, RunCost};
use crate::dimension::UNATTRIBUTED;
use crate::money::Micros;

/// One row of `by_outcome.csv`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutcomeRow {
    /// The feature (`(unattributed)` for records that joined no run).
    pub feature: String,
    /// Runs of the feature.
    pub runs: u64,
    /// Runs whose outcome counts as a success.
    pub successful_runs: u64,
    /// All the feature's runs together.
    pub cost: Micros,
    /// `cost / runs`, half to even; `None` without runs.
    pub cost_per_run: Option<Micros>,
    /// `cost / successful_runs`: failures are part of what success costs;
    /// `None` without a success.
    pub cost_per_successful_run: Option<Micros>,
}

/// Per feature: runs, successes (`outcome_of` the run is one of `success`,
/// compared without case) and cost (from `feature_costs`, see
/// [`super::run_group_costs`]), the costliest feature first; the cost of
/// records that joined no run in a last row, so the `cost_usd` column sums
/// to the month's total.
pub fn by_outcome<'o>(
    runs: &[RunCost],
    outcome_of: impl Fn(u128) -> Option<&'o str>,
    success: &[String],
    feature_costs: &GroupCosts,
) -> Vec<OutcomeRow> {
    let mut groups: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for run in runs {
        let group = groups.entry(run.feature()).or_default();
        group.0 += 1;
        let succeeded = outcome_of(run.trace())
            .is_some_and(|o| success.iter().any(|s| s.eq_ignore_ascii_case(o.trim())));
        group.1 += u64::from(succeeded);
    }
    let per = |cost: Micros, n: u64| (n > 0).then(|| super::mean(cost, n));
    let mut rows: Vec<OutcomeRow> = groups
        .into_iter()
        .map(|(feature, (runs, successes))| {
            let cost = feature_costs.runs(feature);
            OutcomeRow {
                feature: feature.to_string(),
                runs,
                successful_runs: successes,
                cost,
                cost_per_run: per(cost, runs),
                cost_per_successful_run: per(cost, successes),
            }
        })
        .collect();
    rows.sort_by(|a, b| b.cost.cmp(&a.cost).then_with(|| a.feature.cmp(&b.feature)));
    if let Some(cost) = feature_costs.unattributed().filter(|c| c.0 != 0) {
        rows.push(OutcomeRow {
            feature: UNATTRIBUTED.to_string(),
            runs: 0,
            successful_runs: 0,
            cost,
            cost_per_run: None,
            cost_per_successful_run: None,
        });
    }
    rows
}
