//! The standing answers of a month, computed from it once every report is
//! rounded: those about its runs ([`RunAnswers`]: distribution and outliers
//! of run costs, cost per outcome) and those from its postings
//! ([`CallAnswers`]: the per-step curve, step changes, anomalous days);
//! and its two largest tables, the
//! FOCUS rows and the charge lines, each made where its file is written
//! ([`Month::focus`], [`Month::lines`]).

use chrono::{Datelike, NaiveDate};
use rust_decimal::prelude::ToPrimitive;

use super::config::AnswerConfig;
use super::Month;
use crate::answers::anomalies::{anomalies, Anomaly, Rule as AnomalyRule};
use crate::answers::changes::{changes, Change, Rule, RunsPerDay};
use crate::answers::daily::{series_where, Series};
use crate::answers::distribution::{distribution, outliers, Outlier, Spread};
use crate::answers::focus::{focus, Focus, InvoiceOnly};
use crate::answers::outcome::{by_outcome, OutcomeRow};
use crate::answers::steps::{by_step, StepRow};
use crate::answers::{self, run_group_costs, RunCost, RunLabel};
use crate::charges::{self, Lines};
use crate::dimension::{Dimension, NONE, UNATTRIBUTED};
use crate::error::Result;
use crate::intern::TextOrder;
use crate::model::UsageRecord;
use crate::money::Micros;
use crate::reconcile::Names;

/// The first and last UTC day of `records`.
pub fn record_days(records: &[crate::model::UsageRecord]) -> Option<(NaiveDate, NaiveDate)> {
    // Times order as their days do: two dates made, not two a record.
    let times = records.iter().map(|r| r.timestamp);
    Some((times.clone().min()?.date_naive(), times.max()?.date_naive()))
}

/// The standing answers of a month about its runs, read from the runs'
/// rows (`by_run.csv`).
pub struct RunAnswers<'m> {
    /// Every run's cost, the least first.
    pub run_costs: Vec<Micros>,
    /// Cost-per-run distribution per feature and root agent.
    pub spreads: Vec<Spread>,
    /// Runs above their threshold.
    pub outliers: Vec<Outlier<'m>>,
    /// Cost per outcome per feature.
    pub by_outcome: Vec<OutcomeRow>,
}

/// The standing answers of a month read from its postings and days, not
/// its runs' rows: they can be computed once those are released.
pub struct CallAnswers {
    /// The per-step curve.
    pub steps: Vec<StepRow>,
    /// The step changes within the month.
    pub changes: Vec<Change>,
    /// The days far outside a value's recent behaviour.
    pub anomalies: Vec<Anomaly>,
}

/// The costs of the runs of `by_run.csv` (`rows`, the costliest first),
/// the least first.
fn ascending_costs(rows: &[crate::ledger::RoundedRow]) -> Vec<Micros> {
    let mut costs: Vec<Micros> = answers::runs(rows).rev().map(|r| r.cost()).collect();
    if !costs.is_sorted() {
        costs.sort_unstable();
    }
    costs
}

impl Month {
    /// The answers about runs: distribution and outliers of run costs,
    /// cost per outcome.
    pub fn run_answers(&self, config: &AnswerConfig) -> Result<RunAnswers<'_>> {
        let interner = &self.usage.interner;
        let by_run = &self.runs().rows;
        let runs: Vec<RunCost> = answers::runs(by_run).collect();
        let feature_costs = run_group_costs(by_run, RunLabel::Feature, &self.columns)?;
        let agent_costs = run_group_costs(by_run, RunLabel::RootAgent, &self.columns)?;
        let outcome_of = |trace: u128| {
            self.outcomes
                .as_ref()
                .and_then(|o| o.get(&trace).map(String::as_str))
                .or_else(|| self.resolved.outcomes.get(trace).map(|o| interner.get(o)))
        };
        let spreads = distribution(&runs, &feature_costs, &agent_costs);
        let outliers = self.outliers(&runs, config);
        let by_outcome = by_outcome(&runs, outcome_of, &config.success_outcome, &feature_costs);
        // The run list (8 bytes a run) goes before the costs (16) are listed.
        drop(runs);
        Ok(RunAnswers {
            run_costs: ascending_costs(by_run),
            spreads,
            outliers,
            by_outcome,
        })
    }

    /// The runs above their threshold, each with its step count.
    fn outliers<'m>(&'m self, runs: &[RunCost<'m>], config: &AnswerConfig) -> Vec<Outlier<'m>> {
        let mut found = outliers(runs, config.outlier_factor);
        let traces = found.iter().map(|o| o.run.trace());
        let steps = answers::highest_steps(traces, &self.resolved.calls);
        for outlier in &mut found {
            outlier.steps = steps[&outlier.run.trace()];
        }
        found
    }

    /// The answers read from every posting: the per-step curve, the step
    /// changes and the anomalous days.
    pub fn call_answers(&self) -> Result<CallAnswers> {
        let steps = by_step(&self.postings())?;
        let (changes, anomalies) = self.over_time();
        Ok(CallAnswers {
            steps,
            changes,
            anomalies,
        })
    }

    /// The order FOCUS rows and charge lines sort names in: the interner's
    /// text order with `(unattributed)` and `(none)`.
    pub fn text_order(&self) -> TextOrder<'_> {
        self.usage.interner.text_order(&[UNATTRIBUTED, NONE])
    }

    /// Under a true-up, the invoiced usage no record makes up, per
    /// provider, over the months it is filed under: the month of
    /// `--period`, else the earliest and latest its bill's usage lines are
    /// filed under, else the month of the first record.
    fn invoice_only_months(&self) -> Result<Vec<(InvoiceOnly<&str>, rust_decimal::Decimal)>> {
        let Some(r) = (self.checks.reconciliation.as_ref()).filter(|_| self.invoice_only.is_some())
        else {
            return Ok(Vec::new());
        };
        let period = self.usage.period.as_ref().map(|p| p.first_day());
        let first_record = || {
            let days = self.usage.records.iter().map(|r| r.timestamp.date_naive());
            days.min().and_then(|day| day.with_day(1))
        };
        let mut dated = Vec::new();
        for (provider, &amount) in r.invoice_only_of.iter().filter(|(_, a)| !a.is_zero()) {
            let months = (period.map(|p| (p, p)))
                .or_else(|| r.billed_months.get(provider).copied())
                .or_else(|| first_record().map(|m| (m, m)));
            let Some(months) = months else {
                return Err(crate::error::Error::fatal(format!(
                    "the {provider} usage invoiced but made up by no record cannot be dated \
                     for focus.csv: its lines name no day and no billing period; give --period"
                )));
            };
            dated.push(((provider.as_str(), months), amount));
        }
        Ok(dated)
    }

    /// The FOCUS rows (`focus.csv`), sorted by `text`.
    pub fn focus(&self, text: &TextOrder) -> Result<Focus<'_>> {
        let interner = &self.usage.interner;
        let table = &self.usage.pricing;
        let invoice_only = self.invoice_only_months()?;
        // Each charge's trued-up fee, from its invoice line's factor.
        let trued_up = (self.checks.reconciliation.as_ref()).filter(|_| self.billed.is_some());
        let names = trued_up.map(|r| (r, Names::new(&self.usage.records, table, interner)));
        let billed_fee = |record: &UsageRecord, charge, fee| match &names {
            Some((rec, names)) => rec.billed_fee(record, charge, fee, names),
            None => fee,
        };
        focus(
            &self.postings(),
            table,
            (interner, text),
            &invoice_only,
            (self.billed_target, &billed_fee),
        )
    }

    /// The charge lines (`ledger.csv`), sorted by `text`.
    pub fn lines(&self, text: &TextOrder) -> Result<Lines> {
        let (interner, table) = (&self.usage.interner, &self.usage.pricing);
        charges::lines(&self.postings(), table, (interner, text))
    }

    /// Each agent's distinct runs per day (the days of `all`'s series from
    /// `first`), from the joined calls: how a retry loop is told. Each
    /// joined record's (call, agent, day) is taken in call order, so a
    /// run's are together (the calls are sorted by trace): 12 bytes a
    /// joined record, each run's (agent, day) pairs counted once as the run
    /// ends.
    fn agent_runs(&self, first: NaiveDate, all: &[Series]) -> RunsPerDay {
        let length = all.first().map_or(0, |s| s.requests.len());
        let mut agents = AgentNumbers::default();
        let mut by_call: Vec<(u32, u32, u32)> = Vec::new();
        for p in self.postings().iter() {
            let day = usize::try_from((p.day() - first).num_days());
            let (Some(call), Ok(day)) = (self.joined.call_of.get(p.index), day) else {
                continue;
            };
            // Numbered in the order the records meet them (as the rows
            // below are then made).
            let at = agents.number(p.key(Dimension::Agent));
            if day < length {
                by_call.push((call, at as u32, day as u32));
            }
        }
        by_call.sort_unstable();
        let mut counts: Vec<Option<Vec<u64>>> = vec![None; agents.keys.len()];
        let mut run: Vec<(u32, u32)> = Vec::new();
        let mut count_run = |run: &mut Vec<(u32, u32)>| {
            run.sort_unstable();
            run.dedup();
            for &(at, day) in run.iter() {
                counts[at as usize].get_or_insert_with(|| vec![0; length])[day as usize] += 1;
            }
            run.clear();
        };
        let calls = &self.resolved.calls;
        let mut trace = None;
        for (call, at, day) in by_call {
            let this = calls[call as usize].trace_id;
            if trace != Some(this) {
                count_run(&mut run);
                trace = Some(this);
            }
            run.push((at, day));
        }
        count_run(&mut run);
        let interner = &self.usage.interner;
        let mut runs = RunsPerDay::default();
        for (key, days) in agents.keys.iter().zip(counts) {
            let Some(days) = days else { continue };
            let row = runs.entry(key.label(interner).to_string());
            let row = row.or_insert_with(|| vec![0; length]);
            row.iter_mut().zip(days).for_each(|(sum, n)| *sum += n);
        }
        runs
    }

    /// The month's step changes and anomalous days. A day a value's level
    /// steps on (or next to it) is the step's, not an anomaly.
    fn over_time(&self) -> (Vec<Change>, Vec<Anomaly>) {
        let Some((first, last)) = self.day_range() else {
            return (Vec::new(), Vec::new());
        };
        let (step_rule, odd_rule) = (Rule::default(), AnomalyRule::default());
        let n = usize::try_from((last - first).num_days() + 1).unwrap_or(0);
        // A value too small for either rule gets no series: a month of a
        // million one-call tenants holds none of theirs.
        let negligible = |sum: f64, month: f64| {
            step_rule.negligible(sum, month, n) && odd_rule.negligible(sum, month)
        };
        let (all, totals) = series_where(&self.days, (first, last), |month, requests, cost| {
            let cost = cost.to_f64().unwrap_or(f64::MAX);
            !(negligible(requests as f64, month[0]) && negligible(cost, month[1]))
        });
        let runs = self.agent_runs(first, &all);
        let steps = changes((&all, &totals), first, &runs, &step_rule);
        let mut found = anomalies((&all, &totals), first, &odd_rule);
        found.retain(|a| {
            !steps.iter().any(|c| {
                c.dimension == a.dimension
                    && c.value == a.value
                    && (c.first_day - a.day).num_days().abs() <= 1
            })
        });
        (steps, self.with_drivers(found, first))
    }

    /// `found` with each anomaly's top agent, model and tool that day (by
    /// cost; ties by name).
    fn with_drivers(&self, mut found: Vec<Anomaly>, first: NaiveDate) -> Vec<Anomaly> {
        if found.is_empty() {
            return found;
        }
        const DRIVERS: [Dimension; 3] = [Dimension::Agent, Dimension::Model, Dimension::Tool];
        let interner = &self.usage.interner;
        let mut flagged: crate::hash::FastMap<(&str, &str, usize), Vec<usize>> = Default::default();
        for (i, a) in found.iter().enumerate() {
            flagged
                .entry((a.dimension, a.value.as_str(), a.index))
                .or_default()
                .push(i);
        }
        let days: Vec<usize> = found.iter().map(|a| a.index).collect();
        let mut sums: Vec<[std::collections::BTreeMap<String, rust_decimal::Decimal>; 3]> =
            vec![Default::default(); found.len()];
        for p in self.postings().iter() {
            let Ok(day) = usize::try_from((p.day() - first).num_days()) else {
                continue;
            };
            if !days.contains(&day) {
                continue;
            }
            for d in Dimension::ALL {
                let label = p.key(d).label(interner);
                for &i in flagged.get(&(d.name(), label, day)).into_iter().flatten() {
                    for (k, driver) in DRIVERS.iter().enumerate() {
                        let by = p.key(*driver).label(interner).to_string();
                        *sums[i][k].entry(by).or_default() += p.cost.total();
                    }
                }
            }
        }
        for (a, sums) in found.iter_mut().zip(sums) {
            a.drivers = sums.map(|m| {
                let top = m
                    .into_iter()
                    .max_by(|x, y| x.1.cmp(&y.1).then(y.0.cmp(&x.0)));
                top.map(|(label, _)| label).unwrap_or_default()
            });
        }
        found
    }

    /// The month's days with data: from the first record's day to the
    /// last's (within `--period`, which holds every record). Days before the
    /// fleet's first record or after its last are not $0 days: a month read
    /// before its end has no stop on the day its data ends.
    pub fn day_range(&self) -> Option<(NaiveDate, NaiveDate)> {
        record_days(&self.usage.records)
    }

    /// The days a daily chart shows: `--period`'s, else those with data.
    pub fn chart_days(&self) -> Option<(NaiveDate, NaiveDate)> {
        match &self.usage.period {
            Some(period) => Some((period.first_day(), period.last_day())),
            None => self.day_range(),
        }
    }
}

/// Agents numbered in the order they are first met.
#[derive(Default)]
struct AgentNumbers {
    keys: Vec<crate::dimension::Key>,
    index: crate::hash::FastMap<crate::dimension::Key, usize>,
}

impl AgentNumbers {
    /// `key`'s number, given it when first met.
    fn number(&mut self, key: crate::dimension::Key) -> usize {
        *self.index.entry(key).or_insert_with(|| {
            self.keys.push(key);
            self.keys.len() - 1
        })
    }
}
