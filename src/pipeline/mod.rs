//! The pipeline, top-down: load usage → checks → spans → resolve → join →
//! price (with the usage) → attribute → round → reconcile and gates →
//! answers. It computes a [`Month`]; writing it is [`crate::write`]'s, and
//! the commands in [`crate::cmd`] only connect the two.

pub mod config;
pub mod spans;
pub mod usage;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::answers::budget::{self, BudgetRow, Budgets};
use crate::answers::changes::{changes, Change, Rule};
use crate::answers::distribution::{distribution, outliers, Outlier, Spread};
use crate::answers::focus::{focus, Focus};
use crate::answers::outcome::{by_outcome, OutcomeRow};
use crate::answers::steps::{by_step, StepRow};
use crate::answers::{self, run_group_costs, RunLabel};
use crate::attribute::{attribute, Ledger, NONE};
use crate::charges::{self, Lines};
use crate::checks::Checks;
use crate::error::Result;
use crate::hash::FastMap;
use crate::join::{join, Fingerprint, Joined};
use crate::ledger::{check_conservation, column_totals, find, round_all, Report};
use crate::model::Cost;
use crate::money::Micros;
use crate::read::outcomes;
use crate::read::span::AttrKeys;
use crate::read::InputKind;
use crate::reconcile::Names;
use crate::sanity::{self, Facts};
use crate::summary::{Summary, TotalsJson};
use crate::tree::Resolved;

use config::{AnswerConfig, CheckConfig, MonthConfig};
use usage::Usage;

/// What the pipeline needs beside usage and spans: the invoice and coverage
/// checks, budgets and outcomes, read before the spans so that a bad file
/// stops the run early.
pub struct Prepared {
    checks: Checks,
    budgets: Option<Budgets>,
    outcomes: Option<FastMap<u128, String>>,
}

impl Prepared {
    /// Read budgets and outcomes, and run the checks.
    pub fn new(config: &MonthConfig, usage: &mut Usage) -> Result<Prepared> {
        let answers = &config.answers;
        let budgets = answers.budgets.as_deref().map(Budgets::load).transpose()?;
        let outcomes = answers
            .outcomes
            .as_deref()
            .map(outcomes::read)
            .transpose()?;
        let checks = usage.check(&config.checks)?;
        Ok(Prepared {
            checks,
            budgets,
            outcomes,
        })
    }
}

/// A month, computed: the usage with its costs, the resolved calls and
/// their join, the ledger and its rounded reports, the checks, budgets and
/// gates, and `summary.json`. [`Month::answers`] computes the standing
/// answers from it.
pub struct Month {
    /// The usage, its inputs, names and skips.
    pub usage: Usage,
    /// The resolved calls.
    pub resolved: Resolved,
    /// Which call each record joined, and the calls without a record.
    pub joined: Joined,
    /// The exact sums.
    pub ledger: Ledger,
    /// Every `by_*` report, rounded.
    pub reports: Vec<Report>,
    /// Per dimension, its values' totals per UTC day, rounded (`by_day.csv`).
    pub days: Vec<Report>,
    /// The rounded grand total per cost column.
    pub columns: [Micros; crate::ledger::COLUMNS],
    /// Under `--true-up`: each record's invoiced cost.
    pub billed: Option<Vec<Cost>>,
    /// Under `--true-up`: invoiced usage no record makes up.
    pub invoice_only: Option<Decimal>,
    /// Under `--true-up`: the rounded billed total.
    pub billed_target: Option<Micros>,
    /// The reconciliation and coverage.
    pub checks: Checks,
    /// Each budget against its report row.
    pub budget_rows: Option<Vec<BudgetRow>>,
    /// `summary.json`, failed gates and warnings included.
    pub summary: Summary,
    outcomes: Option<FastMap<u128, String>>,
}

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

/// Join, reconcile, attribute, round and judge: everything after the span
/// trees, the same for `report` and `merge`.
pub fn month(
    config: &MonthConfig,
    keys: &AttrKeys,
    mut usage: Usage,
    prepared: Prepared,
    resolved: Resolved,
    timings: &mut Timings,
) -> Result<Month> {
    let Prepared {
        checks,
        budgets,
        outcomes,
    } = prepared;
    usage.counts.traces = resolved.traces;
    usage.counts.calls = resolved.calls.len() as u64;
    usage.counts.orphan_spans = resolved.orphan_spans;
    usage.counts.duplicate_spans = resolved.duplicate_spans;
    usage.counts.wrapper_spans = resolved.wrapper_spans;
    let fingerprint = (config.fingerprint_window > 0).then(|| {
        let window_ns = i64::try_from(config.fingerprint_window)
            .unwrap_or(i64::MAX / 1_000_000_000)
            .saturating_mul(1_000_000_000);
        (Fingerprint { window_ns }, &usage.interner)
    });
    let joined = join(
        &resolved.calls,
        &usage.records,
        &usage.outside_period,
        fingerprint,
    );
    let billed = true_up(&config.checks, &checks, &usage);
    let mut ledger = attribute(
        &usage.records,
        &usage.costs,
        billed.as_deref(),
        &resolved.calls,
        &joined,
    );
    usage.counts.matched = ledger.matched;
    usage.counts.matched_by_fingerprint = joined.by_fingerprint;
    usage.counts.repeated_call_spans = joined.repeats;
    usage.counts.calls -= joined.repeats;
    usage.counts.unattributed = ledger.unattributed.len() as u64;
    usage.counts.unbilled_calls = joined.unbilled.len() as u64;
    timings.phase("join and attribute");
    let columns = column_totals(&ledger.total)?;
    let invoice_only = billed
        .as_ref()
        .and(checks.reconciliation.as_ref())
        .map(|r| r.invoice_only);
    let billed_target = invoice_only.map(|only| Micros::round(ledger.total.billed + only));
    let reports = round_all(
        ledger.take_tables(&usage.interner, invoice_only),
        &columns,
        billed_target,
    )?;
    let days = round_all(ledger.take_day_tables(&usage.interner), &columns, None)?;
    let mut summary = usage.summary(TotalsJson::new(
        &ledger.total,
        &columns,
        usage.reported_cost(),
    ));
    checks.summarise(&mut summary);
    summary.config = config.config_file.as_ref().map(|c| c.display().to_string());
    check_conservation(&reports, &summary.counts, &columns, billed_target)?;
    let budget_rows = budgets.as_ref().map(|b| budget::check(b, &reports));
    let mut month = Month {
        usage,
        resolved,
        joined,
        ledger,
        reports,
        days,
        columns,
        billed,
        invoice_only,
        billed_target,
        checks,
        budget_rows,
        summary,
        outcomes,
    };
    month.judge(keys, &config.answers);
    Ok(month)
}

/// Under `--true-up`, each record's invoiced cost.
fn true_up(config: &CheckConfig, checks: &Checks, usage: &Usage) -> Option<Vec<Cost>> {
    let rec = checks.reconciliation.as_ref().filter(|_| config.true_up)?;
    let names = Names::new(&usage.records, &usage.pricing, &usage.interner);
    Some(rec.billed(&usage.records, &usage.costs, &names, &usage.pricing))
}

impl Month {
    /// The report called `name`.
    pub fn report(&self, name: &str) -> &Report {
        find(&self.reports, name)
    }

    /// Which number the reports' spend is: `billed` under a true-up.
    pub fn basis(&self) -> &'static str {
        if self.billed_target.is_some() {
            "billed"
        } else {
            "computed"
        }
    }

    /// Record the failed gates and warnings in the summary: the checks',
    /// the budgets' (with `fail_on_budget`) and the sanity gates'.
    fn judge(&mut self, keys: &AttrKeys, config: &AnswerConfig) {
        let verdict = sanity::judge(&self.facts(keys, config.min_match));
        let mut failed = self.checks.failed();
        if config.fail_on_budget {
            let over = self
                .budget_rows
                .iter()
                .flatten()
                .filter(|r| r.status == budget::Status::Over)
                .count();
            if over > 0 {
                failed.push(format!(
                    "budgets: {over} over (--fail-on-budget; see budget.csv)"
                ));
            }
        }
        failed.extend(verdict.failed);
        self.summary.failed_gates = failed;
        self.summary.warnings = verdict.warnings;
    }

    /// What the sanity gates look at.
    fn facts<'a>(&'a self, keys: &'a AttrKeys, min_match: Decimal) -> Facts<'a> {
        let calls = &self.resolved.calls;
        Facts {
            period: self.summary.period.clone(),
            months: &self.usage.months,
            usage_records: self.usage.counts.usage_records,
            spans: self.usage.counts.spans,
            calls: (
                calls.len() as u64,
                calls.iter().filter(|c| c.info.join_key.is_some()).count() as u64,
            ),
            cost: (
                self.ledger.total.cost.total(),
                self.ledger
                    .unattributed
                    .iter()
                    .map(|&i| self.usage.costs[i].total())
                    .sum(),
            ),
            none_cost: (self.none_cost("tenant"), self.none_cost("feature")),
            keys,
            span_files: self
                .usage
                .inputs
                .iter()
                .filter(|i| i.kind == InputKind::Spans)
                .map(|i| i.path.clone())
                .collect(),
            min_match,
        }
    }

    /// The exact cost of a report's `(none)` row.
    fn none_cost(&self, name: &str) -> Decimal {
        self.report(name)
            .rows
            .iter()
            .filter(|r| r.keys.first().is_some_and(|k| k == NONE))
            .map(|r| r.totals.cost.total())
            .sum()
    }

    /// The standing answers: distribution and outliers of run costs, the
    /// per-step curve, cost per outcome and the FOCUS rows.
    pub fn answers(&self, config: &AnswerConfig) -> Result<Answers<'_>> {
        let by_run = &self.report("run").rows;
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
        let usage = &self.usage;
        // FOCUS rows, which go over every record, are grouped on a second
        // core while this one does the rest (the charge lines go over every
        // record too).
        std::thread::scope(|scope| {
            let focus = scope.spawn(|| {
                focus(
                    &usage.records,
                    &usage.costs,
                    self.billed.as_deref(),
                    &self.resolved.calls,
                    &self.joined,
                    &usage.pricing,
                    interner,
                    self.invoice_only,
                    self.billed_target,
                )
            });
            let lines = charges::lines(
                &usage.records,
                &usage.costs,
                &self.resolved.calls,
                &self.joined,
                &usage.pricing,
                interner,
            );
            let steps = by_step(
                &usage.records,
                &usage.costs,
                &self.resolved.calls,
                &self.joined,
            );
            let answers = Answers {
                run_costs: runs.iter().map(|r| r.cost).collect(),
                spreads: distribution(&runs, &feature_costs, &agent_costs),
                outliers: outliers(&runs, config.outlier_factor),
                steps: steps?,
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

/// Phase timings on stderr when `TOKENLEDGER_TIMINGS` is set: what the
/// benchmark reads to say where the time goes.
pub struct Timings {
    start: std::time::Instant,
    last: std::time::Instant,
    on: bool,
}

impl Timings {
    /// Start timing.
    pub fn start() -> Timings {
        let now = std::time::Instant::now();
        Timings {
            start: now,
            last: now,
            on: std::env::var_os("TOKENLEDGER_TIMINGS").is_some(),
        }
    }

    /// The end of a phase.
    pub fn phase(&mut self, name: &str) {
        if self.on {
            let now = std::time::Instant::now();
            eprintln!(
                "tokenledger: timing {name}: {:.3}s (total {:.3}s{})",
                (now - self.last).as_secs_f64(),
                (now - self.start).as_secs_f64(),
                peak_rss().map_or_else(String::new, |kib| format!(", peak RSS {} MiB", kib / 1024))
            );
            self.last = now;
        }
    }
}

/// The process's peak resident set so far, in KiB (Linux's `VmHWM`).
pub fn peak_rss() -> Option<u64> {
    proc_kib("/proc/self/status", "VmHWM")
}

/// A `field:  N kB` line's N in a Linux `/proc` file (`/proc/meminfo`'s
/// `MemTotal`); `None` where there is no such file or line.
pub fn proc_kib(file: &str, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    let line = text.lines().find(|l| {
        l.strip_prefix(field)
            .is_some_and(|rest| rest.starts_with(':'))
    })?;
    line.split_whitespace().nth(1)?.parse().ok()
}
