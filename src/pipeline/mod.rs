//! The pipeline, top-down: read the usage ([`usage`]) → price it → read the
//! invoices and provider usage and compare ([`checks`]) → read and resolve
//! the spans ([`spans`]) → join, the postings, attribute, round, allocate
//! ([`allocation`]) and judge, in [`month`] → the standing
//! answers ([`answers`]). It computes a [`Month`]; writing it is
//! [`crate::write`]'s, and the commands in [`crate::cmd`] only connect the
//! two. What the run read and counted flows alongside in an
//! [`intake::Intake`].

pub mod allocation;
pub mod answers;
pub mod checks;
pub mod config;
pub mod forecast;
pub mod intake;
pub mod output;
pub mod spans;
pub mod timings;
pub mod usage;

use std::collections::HashSet;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::answers::budget::{self, BudgetRow, Budgets};
use crate::attribute::{attribute, Ledger, Of};
use crate::checks::Checks;
use crate::dimension::{Dimension, NONE};
use crate::error::Result;
use crate::hash::{FastBuild, FastMap};
use crate::join::{join, twins, Fingerprint, Joined};
use crate::ledger::{check_conservation, column_totals, round_all, Report};
use crate::model::Cost;
use crate::money::Micros;
use crate::posting::Postings;
use crate::read::outcomes;
use crate::read::span::AttrKeys;
use crate::read::InputKind;
use crate::sanity::{self, Facts};
use crate::summary::{Summary, TotalsJson};
use crate::tree::Resolved;

pub use answers::{CallAnswers, RunAnswers};
pub use timings::{peak_rss, proc_kib, Timings};

use config::{AnswerConfig, MonthConfig};
use intake::Intake;
use usage::Usage;

/// What the pipeline needs beside usage and spans: the invoice and coverage
/// checks (and the true-up they give), budgets and outcomes, read before
/// the spans so that a bad file stops the run early.
pub struct Prepared {
    checks: Checks,
    allocation: Option<crate::allocate::Declared>,
    billed: Option<Vec<Cost>>,
    budgets: Option<Budgets>,
    outcomes: Option<FastMap<u128, String>>,
}

impl Prepared {
    /// Read budgets and outcomes, and run the checks.
    pub fn new(config: &MonthConfig, usage: &Usage, intake: &mut Intake) -> Result<Prepared> {
        let answers = &config.answers;
        let budgets = answers.budgets.as_deref().map(Budgets::load).transpose()?;
        let outcomes = answers
            .outcomes
            .as_deref()
            .map(outcomes::read)
            .transpose()?;
        let (mut checks, billed) = checks::check(&config.checks, usage, intake)?;
        let allocation = allocation::declare(answers, &mut checks)?;
        if let Some((budgets, _)) = budgets.as_ref().zip(allocation.as_ref()) {
            budgets.owned_keys(answers.budgets.as_deref())?;
        }
        Ok(Prepared {
            checks,
            allocation,
            billed,
            budgets,
            outcomes,
        })
    }

    /// The month's usage read and priced, and what the checks need read
    /// before the spans: the first steps of `report` and `merge`.
    pub fn read_and_price(
        config: &MonthConfig,
        timings: &mut Timings,
    ) -> Result<(Usage, Intake, Prepared)> {
        let (mut usage, mut intake) = Usage::read(&config.usage)?;
        usage.price(&intake)?;
        timings.phase("read and price usage");
        let prepared = Prepared::new(config, &usage, &mut intake)?;
        timings.phase("checks");
        Ok((usage, intake, prepared))
    }
}

/// A month, computed: the usage with its costs, the resolved calls and
/// their join, the ledger and its rounded reports, the checks, budgets and
/// gates, and `summary.json`. [`Month::run_answers`] and
/// [`Month::call_answers`] compute the standing answers from it.
pub struct Month {
    /// The priced usage.
    pub usage: Usage,
    /// What the run read, skipped and counted.
    pub intake: Intake,
    /// The resolved calls.
    pub resolved: Resolved,
    /// Which call each record joined, and the calls without a record.
    pub joined: Joined,
    /// The exact sums.
    pub ledger: Ledger,
    /// Every `by_*` report, rounded: each dimension's, then the runs'
    /// (where memory is tight, the runs' rows are released once written
    /// and answered: [`Month::release_runs`]).
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
    /// With `--allocation`: every dimension's owners.
    pub allocation: Option<crate::allocate::Allocation>,
    /// Under `--as-of`: each value's month to date and forecast.
    pub forecast: Option<Vec<crate::answers::forecast::Forecast>>,
    /// The day the month is seen as of (`--as-of`, or the last day with
    /// data of the month running now).
    pub as_of: Option<chrono::NaiveDate>,
    /// With `--allocation`: the owners its rules gave records.
    pub rule_owners: Option<crate::posting::RuleOwners>,
    outcomes: Option<FastMap<u128, String>>,
}

/// Each budget against the reports: on the allocated amounts under
/// `--allocation`.
fn judge_budgets(
    budgets: Option<&Budgets>,
    reports: &[Report],
    allocation: Option<&crate::allocate::Allocation>,
) -> Option<Vec<BudgetRow>> {
    let exact =
        |d: Dimension, key: &str| allocation.map_or(Decimal::ZERO, |a| a.allocated_to(d, key));
    let allocated = allocation.is_some().then_some(&exact as budget::Allocated);
    budgets.map(|b| budget::check(b, reports, allocated))
}

/// Join, attribute, round and judge: everything after the span trees, the
/// same for `report` and `merge`.
pub fn month(
    config: &MonthConfig,
    keys: &AttrKeys,
    (mut usage, mut intake): (Usage, Intake),
    prepared: Prepared,
    mut resolved: Resolved,
    timings: &mut Timings,
) -> Result<Month> {
    let Prepared {
        checks,
        allocation,
        billed,
        budgets,
        outcomes,
    } = prepared;
    let joined = join_calls(config, &mut usage, &mut resolved, &mut intake)?;
    let postings = Postings::new(
        &usage.records,
        &usage.costs,
        billed.as_deref(),
        &resolved.calls,
        &joined,
    );
    let mut ledger = attribute(&postings, config.usage.threads);
    (intake.counts.matched, intake.counts.unattributed) =
        (ledger.matched, ledger.unattributed.len() as u64);
    timings.phase("join and attribute");
    let columns = column_totals(&ledger.total)?;
    let (invoice_only, billed_target) = true_up(billed.is_some(), &checks, &ledger);
    let tables = ledger.take_tables(&usage.interner, invoice_only);
    let mut reports = round_all(tables, &columns, billed_target)?;
    let allocation = allocation
        .map(|a| allocation::apply(&a, &postings, &checks, &usage, &mut reports))
        .transpose()?;
    let days = round_all(ledger.take_day_tables(&usage.interner), &columns, None)?;
    let rule_owners = allocation
        .as_ref()
        .map(|a| a.rule_owners(&mut usage.interner));
    let range = answers::record_days(&usage.records);
    let (as_of, at) = forecast::as_of(&config.answers, usage.period, range, &usage.records)?;
    let owned = postings.with_owners(rule_owners.as_ref());
    let owned = allocation.is_some().then_some((&owned, &usage.interner));
    let of = (&days[..], owned, billed_target.is_some());
    let forecast = forecast::month_forecast(of, at, budgets.as_ref());
    let totals = TotalsJson::new(&ledger.total, &columns, usage.reported_cost());
    let summary = summarise(
        config,
        (&usage, &intake),
        (totals, as_of, range),
        &checks,
        &ledger,
        &allocation,
    );
    check_conservation(&reports, &summary.counts, &columns, billed_target)?;
    let budget_rows = judge_budgets(budgets.as_ref(), &reports, allocation.as_ref());
    let mut month = Month {
        usage,
        intake,
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
        allocation,
        rule_owners,
        forecast,
        as_of,
        outcomes,
    };
    month.judge(keys, &config.answers);
    timings.phase("round, allocate and judge");
    Ok(month)
}

/// What `--lenient` left out, said as a warning (the terminal's one count
/// is easy to miss when most of a month was skipped): how many, of which
/// kinds, and the first.
pub(crate) fn skipped_warning(skipped: &crate::summary::SkippedJson) -> Option<String> {
    let total: u64 = skipped.by_kind.values().sum();
    let first = skipped.first.first()?;
    let kinds: Vec<String> = (skipped.by_kind.iter())
        .map(|(kind, n)| format!("{n} {kind}"))
        .collect();
    Some(format!(
        "--lenient skipped {total} bad line(s) or record(s) ({}; the first: {first}): the \
         reports leave them out",
        kinds.join(", ")
    ))
}

/// Under `--true-up`: the invoiced usage no record makes up, and the
/// rounded billed total the reports are trued up to.
fn true_up(billed: bool, checks: &Checks, ledger: &Ledger) -> (Option<Decimal>, Option<Micros>) {
    let invoice_only = checks
        .reconciliation
        .as_ref()
        .filter(|_| billed)
        .map(|r| r.invoice_only());
    let target = invoice_only.map(|only| Micros::round(ledger.total.billed + only));
    (invoice_only, target)
}

/// `summary.json` before the gates: the run's counts and totals, the
/// checks, the labels carrying most unattributed cost, the allocation.
fn summarise(
    config: &MonthConfig,
    (usage, intake): (&Usage, &Intake),
    (totals, as_of, range): (
        TotalsJson,
        Option<NaiveDate>,
        Option<(NaiveDate, NaiveDate)>,
    ),
    checks: &Checks,
    ledger: &Ledger,
    allocation: &Option<crate::allocate::Allocation>,
) -> Summary {
    let mut summary = intake.summary(&usage.pricing, usage.period, totals);
    // A month to date holds nothing after its day; with records after it
    // (a backtest over a whole month), the reports are the whole month's.
    let to_date = as_of.filter(|&day| range.is_none_or(|(_, last)| last <= day));
    summary.month_to_date = to_date.map(|day| day.to_string());
    summary.month_to_date_open = to_date.is_some_and(|day| day == config::today());
    checks.summarise(&mut summary);
    let unattributed = ledger.unattributed.iter().map(|&i| {
        (
            usage.interner.labels(usage.records[i].labels),
            usage.costs.get(i).total(),
        )
    });
    let labels = crate::allocate::top_labels(unattributed, &usage.interner, 5);
    summary.unattributed_labels = crate::allocate::LabelJson::list(&labels);
    if let Some(a) = allocation {
        allocation::summarise(a, &mut summary);
    }
    summary.config = config.config_file.as_ref().map(|c| c.display().to_string());
    summary
}

/// Join the calls to the records (by id, then by fingerprint), counting
/// what the join found; the unbilled calls that released their span facts
/// as they were read (a spilled month's ranges, a merge's partials) take
/// them back ([`Resolved::restore_infos`]).
/// Where memory is tight (the spans spilled, or
/// `merge`: [`crate::tree::Resolved::memory_tight`]), then release what only the join
/// reads (the joined calls' span facts; the joined records' ids, but with
/// the `parquet` feature, whose `calls.parquet` lists them) and hand the
/// memory back (on the 1,000,000-run month, 500 MiB less at the peak for
/// about 0.7 s).
fn join_calls(
    config: &MonthConfig,
    usage: &mut Usage,
    resolved: &mut Resolved,
    intake: &mut Intake,
) -> Result<Joined> {
    let fingerprint = (config.fingerprint_window > 0).then(|| {
        let window_ns = i64::try_from(config.fingerprint_window)
            .unwrap_or(i64::MAX / 1_000_000_000)
            .saturating_mul(1_000_000_000);
        (Fingerprint { window_ns }, &usage.interner, &usage.pricing)
    });
    let found = resolved.found.take();
    let joined = join(
        &resolved.calls,
        (&usage.records, &usage.ids),
        (&usage.outside_period, config.usage.threads, found),
        fingerprint,
    );
    let unbilled = joined.unbilled.iter().map(|&(ci, _)| ci);
    resolved.restore_infos(unbilled, &mut usage.interner)?;
    let counts = &mut intake.counts;
    counts.traces = resolved.traces;
    counts.calls = resolved.calls.len() as u64 - joined.repeats;
    counts.orphan_spans = resolved.orphan_spans;
    counts.duplicate_spans = resolved.duplicate_spans;
    counts.wrapper_spans = resolved.wrapper_spans;
    counts.join_ids_not_calls = resolved.ids_not_calls;
    counts.matched_by_fingerprint = joined.by_fingerprint;
    counts.repeated_call_spans = joined.repeats;
    counts.unbilled_calls = joined.unbilled.len() as u64;
    if resolved.memory_tight {
        resolved.release_infos(joined.unbilled.iter().map(|&(ci, _)| ci));
        usage.release_ids(&joined.call_of);
        crate::shrink::return_freed();
    }
    Ok(joined)
}

impl Month {
    /// The month's postings: every record, priced, with its call.
    pub fn postings(&self) -> Postings<'_> {
        Postings::new(
            &self.usage.records,
            &self.usage.costs,
            self.billed.as_deref(),
            &self.resolved.calls,
            &self.joined,
        )
        .with_owners(self.rule_owners.as_ref())
    }

    /// The report of `dimension`.
    pub fn report(&self, dimension: Dimension) -> &Report {
        self.table(Of::Dimension(dimension))
    }

    /// The runs' report (`by_run.csv`).
    pub fn runs(&self) -> &Report {
        self.table(Of::Run)
    }

    /// Release the runs' rows (a million in a large month) once
    /// `by_run.csv` and the run answers are written: nothing after needs
    /// them, and FOCUS and the charge lines are made in their room.
    pub fn release_runs(&mut self) {
        if let Some(report) = self.reports.iter_mut().find(|r| r.table.of == Of::Run) {
            drop(std::mem::take(&mut report.rows));
        }
    }

    fn table(&self, of: Of) -> &Report {
        self.reports
            .iter()
            .find(|r| r.table.of == of)
            .expect("every report is built")
    }

    /// Which number budgets judge: `allocated` under `--allocation`, else
    /// `billed` under a true-up, else `computed`.
    pub fn basis(&self) -> &'static str {
        if self.allocation.is_some() {
            "allocated"
        } else if self.billed_target.is_some() {
            "billed"
        } else {
            "computed"
        }
    }

    /// Record the failed gates and warnings in the summary: the checks',
    /// the budgets' (with `fail_on_budget`; and their own warnings) and the
    /// sanity gates'.
    fn judge(&mut self, keys: &AttrKeys, config: &AnswerConfig) {
        let verdict = sanity::judge(&self.facts(keys, config.min_match));
        let mut failed = self.checks.failed();
        // A complete month (no as-of day) is forecast at its spend: the
        // forecast gate judges the budgets as they stand.
        let complete = config.fail_on_forecast && self.forecast.is_none();
        if config.fail_on_budget || complete {
            let over = self
                .budget_rows
                .iter()
                .flatten()
                .filter(|r| r.status == budget::Status::Over)
                .count();
            let flag = match config.fail_on_budget {
                true => "--fail-on-budget",
                false => "--fail-on-forecast, the month complete: its forecast is its spend",
            };
            if over > 0 {
                failed.push(format!("budgets: {over} over ({flag}; see budget.csv)"));
            }
        }
        failed.extend(verdict.failed);
        let mut warnings = verdict.warnings;
        warnings.extend(self.checks.warnings.iter().cloned());
        match self.twins() {
            Some((true, message)) => failed.push(message),
            Some((false, message)) => warnings.push(message),
            None => {}
        }
        warnings.extend(self.look_alikes());
        warnings.extend(crate::read::unterminated(&self.intake.inputs));
        warnings.extend(self.outcomes_unmatched(config));
        warnings.extend(skipped_warning(&self.summary.skipped));
        if let Some(rows) = &self.budget_rows {
            warnings.extend(budget::warnings(rows));
        }
        if let Some(a) = &self.allocation {
            failed.extend(allocation::gate(a, config.min_allocated));
            warnings.extend(a.warnings.iter().cloned());
        }
        if let Some(forecasts) = &self.forecast {
            let as_of = self.as_of.expect("a forecast has its day");
            let after = forecast::after_as_of(&self.usage.records, as_of);
            // Over already: budget.csv's month, unless usage after the
            // as-of day (a backtest) is in it.
            let already: Vec<String> = (self.budget_rows.iter().flatten())
                .filter(|r| r.status == budget::Status::Over && after.is_none())
                .map(|r| format!("{} {}", r.budget.dimension.name(), r.budget.key))
                .collect();
            warnings.extend(after);
            failed.extend(forecast::gate(forecasts, &already, config));
            warnings.extend(
                forecasts
                    .iter()
                    .filter_map(crate::answers::forecast::Forecast::headline),
            );
        }
        self.summary.failed_gates = failed;
        self.summary.warnings = warnings;
    }

    /// A warning for each dimension the spans give whose report holds names
    /// that read alike on screen ([`sanity::look_alikes`]).
    fn look_alikes(&self) -> Vec<String> {
        let reports = self.reports.iter();
        let of_spans = reports.filter_map(|r| match r.table.of {
            Of::Dimension(d) if Dimension::FROM_SPANS.contains(&d) => Some((d, &r.rows)),
            _ => None,
        });
        of_spans
            .filter_map(|(d, rows)| {
                sanity::look_alikes(d.name(), rows.iter().filter_map(|r| r.keys.first()))
            })
            .collect()
    }

    /// Records no span joined that repeat a record of another usage format
    /// that did ([`twins`]): one request billed under two ids. A failed
    /// gate (`true`) where they cost 5 % of the month or more.
    fn twins(&self) -> Option<(bool, String)> {
        let records = &self.usage.records;
        let formats: Vec<&'static str> = self.intake.inputs.iter().map(|i| i.format).collect();
        let unjoined = (&self.ledger.unattributed[..], &self.joined.call_of);
        let (pricing, names) = (&self.usage.pricing, &self.usage.interner);
        let model_of = |r: &crate::model::UsageRecord| {
            let (provider, model) = (names.get(r.provider), names.get(r.model));
            crate::join::model_key(pricing.canonical_model(provider, model))
        };
        let pairs = twins::twins(records, unjoined, &formats, &model_of);
        let &(first, twin) = pairs.first()?;
        let cost: Decimal = (pairs.iter())
            .map(|&(i, _)| self.usage.costs.get(i).total())
            .sum();
        let total = self.ledger.total.cost.total();
        let describe = self.intake.describe();
        let message = format!(
            "{} usage record(s) no span joined (${cost:.6}) repeat the model and input and \
             output tokens of a record of another usage format that did, within {} s (the \
             first: {} and {}): one request billed twice under two ids (a gateway's own beside \
             the provider's)? Give each request in one source only",
            pairs.len(),
            twins::TWIN_WINDOW_NS / 1_000_000_000,
            describe(records[first].origin),
            describe(records[twin].origin),
        );
        Some((
            total > Decimal::ZERO && cost * Decimal::from(20) >= total,
            message,
        ))
    }

    /// The `--outcomes` file's run ids no call of the month has: a wrong
    /// id format, or another month's file, would else go unseen (a run that
    /// made no model call is counted with them: its trace is not kept).
    fn outcomes_unmatched(&self, config: &AnswerConfig) -> Option<String> {
        let (outcomes, path) = (self.outcomes.as_ref()?, config.outcomes.as_ref()?);
        let matched: HashSet<u128, FastBuild> = (self.resolved.calls.iter())
            .map(|call| call.trace_id)
            .filter(|trace| outcomes.contains_key(trace))
            .collect();
        let mut unmatched: Vec<u128> = (outcomes.keys())
            .filter(|t| !matched.contains(*t))
            .copied()
            .collect();
        unmatched.sort_unstable();
        let first = unmatched.first()?;
        Some(format!(
            "{}: {} of its {} run ids name no run that called a model this month (the first: \
             {first:032x}): another month's file, a wrong id (a run id is its trace id), or runs \
             that made no model call",
            path.display(),
            unmatched.len(),
            outcomes.len()
        ))
    }

    /// What the sanity gates look at.
    fn facts<'a>(&'a self, keys: &'a AttrKeys, min_match: Decimal) -> Facts<'a> {
        let calls = &self.resolved.calls;
        let unattributed = self.ledger.unattributed.iter();
        Facts {
            period: self.summary.period.clone(),
            months: &self.intake.months,
            usage_records: self.intake.counts.usage_records,
            spans: self.intake.counts.spans,
            calls: (calls.len() as u64, self.joined.keyed_calls),
            cost: (
                self.ledger.total.cost.total(),
                unattributed.map(|&i| self.usage.costs.get(i).total()).sum(),
            ),
            none_cost: (
                self.none_cost(Dimension::Tenant),
                self.none_cost(Dimension::Feature),
            ),
            keys,
            span_files: self
                .intake
                .inputs
                .iter()
                .filter(|i| i.kind == InputKind::Spans)
                .map(|i| i.path.clone())
                .collect(),
            min_match,
            allocated: self.allocation.is_some(),
        }
    }

    /// The exact cost of a report's `(none)` row.
    fn none_cost(&self, dimension: Dimension) -> Decimal {
        self.report(dimension)
            .rows
            .iter()
            .filter(|r| r.keys.first().is_some_and(|k| k == NONE))
            .map(|r| r.totals.cost.total())
            .sum()
    }
}
