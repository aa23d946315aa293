//! The standing answers of a month, computed from it once every report is
//! rounded: distribution and outliers of run costs, the per-step curve,
//! cost per outcome, FOCUS, step changes and the charge lines.

use chrono::NaiveDate;

use super::config::AnswerConfig;
use super::Month;
use crate::answers::changes::{changes, Change, Rule};
use crate::answers::distribution::{distribution, outliers, Outlier, Spread};
use crate::answers::focus::{focus, Focus};
use crate::answers::outcome::{by_outcome, OutcomeRow};
use crate::answers::steps::{by_step, StepRow};
use crate::answers::{self, run_group_costs, RunLabel};
use crate::charges::{self, Lines};
use crate::error::Result;
use crate::money::Micros;

/// The standing answers of a month.
pub struct Answers<'m> {
    /// Every run's cost.
    pub run_costs: Vec<Micros>,
    /// Cost-per-run distribution per feature and root agent.
    pub spreads: Vec<Spread>,
    /// Runs above their threshold.
    pub outliers: Vec<Outlier<'m>>,
    /// The per-step curve.
    pub steps: Vec<StepRow>,
    /// Cost per outcome per feature.
    pub by_outcome: Vec<OutcomeRow>,
    /// The FOCUS rows.
    pub focus: Focus<'m>,
    /// The step changes within the month.
    pub changes: Vec<Change>,
    /// The charge lines (`ledger.csv`).
    pub lines: Lines,
}

impl Month {
    /// The standing answers: distribution and outliers of run costs, the
    /// per-step curve, cost per outcome, the FOCUS rows, the step changes
    /// and the charge lines.
    pub fn answers(&self, config: &AnswerConfig) -> Result<Answers<'_>> {
        let by_run = &self.runs().rows;
        let runs = answers::runs(by_run, &self.resolved.calls);
        let feature_costs = run_group_costs(by_run, RunLabel::Feature, &self.columns)?;
        let agent_costs = run_group_costs(by_run, RunLabel::RootAgent, &self.columns)?;
        let interner = &self.usage.interner;
        let outcome_of = |trace: u128| {
            self.outcomes
                .as_ref()
                .and_then(|o| o.get(&trace).map(String::as_str))
                .or_else(|| self.resolved.outcomes.get(&trace).map(|&o| interner.get(o)))
        };
        let postings = self.postings();
        let table = &self.usage.pricing;
        // FOCUS rows, which go over every record, are grouped on a second
        // core while this one does the rest (the charge lines go over every
        // record too).
        std::thread::scope(|scope| {
            let focus = scope.spawn(|| {
                focus(
                    &postings,
                    table,
                    interner,
                    self.invoice_only,
                    self.billed_target,
                )
            });
            let lines = charges::lines(&postings, table, interner);
            let answers = Answers {
                run_costs: runs.iter().map(|r| r.cost).collect(),
                spreads: distribution(&runs, &feature_costs, &agent_costs),
                outliers: outliers(&runs, config.outlier_factor),
                steps: by_step(&postings)?,
                by_outcome: by_outcome(&runs, outcome_of, &config.success_outcome, &feature_costs),
                focus: focus.join().expect("the FOCUS thread")?,
                lines: lines?,
                changes: self.day_range().map_or_else(Vec::new, |(first, last)| {
                    changes(&self.days, first, last, &Rule::default())
                }),
            };
            Ok(answers)
        })
    }

    /// The month's days with data: from the first record's day to the
    /// last's (within `--period`, which holds every record). Days before the
    /// fleet's first record or after its last are not $0 days: a month read
    /// before its end has no stop on the day its data ends.
    pub fn day_range(&self) -> Option<(NaiveDate, NaiveDate)> {
        let days = self.usage.records.iter().map(|r| r.timestamp.date_naive());
        Some((days.clone().min()?, days.max()?))
    }

    /// The days a daily chart shows: `--period`'s, else those with data.
    pub fn chart_days(&self) -> Option<(NaiveDate, NaiveDate)> {
        match &self.usage.period {
            Some(period) => Some((period.first_day(), period.last_day())),
            None => self.day_range(),
        }
    }
}
