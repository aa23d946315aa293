//! `tokenledger report`: the whole pipeline, read → tree → join → price →
//! attribute → (reconcile) → write.

use std::path::PathBuf;

use super::{
    print_stdout, summary_json, Billing, CheckArgs, Checks, Outcome, OutputArgs, Progress, Timings,
    UsageArgs,
};
use rust_decimal::Decimal;

use crate::answers::budget::{self, Budgets};
use crate::answers::distribution::{distribution, outliers};
use crate::answers::focus::focus;
use crate::answers::outcome::by_outcome;
use crate::answers::steps::by_step;
use crate::answers::{self, run_group_costs, RunLabel};
use crate::attribute::{attribute, Table, NONE};
use crate::error::{Error, Result};
use crate::hash::FastMap;
use crate::join::join;
use crate::money::Micros;
use crate::read::outcomes;
use crate::read::spans::AttrKeys;
use crate::read::{self, InputFile};
use crate::reconcile::Names;
use crate::sanity::{self, Facts};
use crate::shard::{self, Shard};
use crate::tree::{Forest, Resolved};
use crate::write::answers::{
    budget_csv, by_outcome_csv, by_step_csv, distribution_csv, focus_csv, outliers_csv,
};
use crate::write::html::{report_html, Page};
use crate::write::reports::{
    check_conservation, column_totals, report_csv, round_table, unattributed_csv, unbilled_csv,
    RoundedRow,
};
use crate::write::summary::{terminal_summary, TotalsJson};
use crate::write::{csv_bytes, printable, Outputs};

/// Attribute a month of billed usage to the spans that made it.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  tokenledger report --spans spans/ --usage usage.csv --period 2025-06 --out reports
  tokenledger report --spans spans/ --usage litellm/ --invoice invoices/ --true-up --period previous --out reports
  tokenledger report --config cron.toml --print tenant --quiet | column -ts,

Exit codes: 0 success; 1 a gate failed (drift, budget, coverage, --min-match, no usage in the period),
one line per gate on stderr; 2 an error (bad input or flags).")]
pub struct Args {
    /// Span files or directories (every *.json, *.jsonl inside): OTLP JSON
    /// lines or one OTLP JSON document per file.
    #[arg(long, required = true, num_args = 1.., value_name = "PATH", help_heading = "Inputs")]
    pub spans: Vec<PathBuf>,
    /// Span attribute keys naming the tenant, tried in order.
    #[arg(
        long,
        help_heading = "Attribution",
        value_name = "KEY",
        value_delimiter = ',',
        default_value = "tenant.id,gen_ai.conversation.id"
    )]
    pub tenant_attr: Vec<String>,
    /// Threads parsing span files [default: one per core]. Results are the
    /// same for any number.
    #[arg(long, value_name = "N", help_heading = "Scale")]
    pub threads: Option<usize>,
    /// Span attribute key naming the feature.
    #[arg(
        long,
        value_name = "KEY",
        default_value = "app.feature",
        help_heading = "Attribution"
    )]
    pub feature_attr: String,
    /// Span attributes holding the provider's request id, tried in order
    /// (e.g. gen_ai.response.id,aws.request_id).
    #[arg(
        long,
        help_heading = "Attribution",
        value_name = "KEY",
        value_delimiter = ',',
        default_value = "gen_ai.response.id"
    )]
    pub join_attr: Vec<String>,
    /// Root-span attribute naming a run's outcome (by_outcome.csv).
    #[arg(
        long,
        value_name = "KEY",
        default_value = "app.outcome",
        help_heading = "Attribution"
    )]
    pub outcome_attr: String,
    /// Process only the traces of shard I of N (by trace-id hash) and write a
    /// partial into --out, for `tokenledger merge`.
    #[arg(long, value_name = "I/N", value_parser = Shard::parse, requires = "out", help_heading = "Scale")]
    pub shard: Option<Shard>,
    /// Everything after the spans: usage, checks, answers, outputs.
    #[command(flatten)]
    pub pipeline: PipelineArgs,
}

/// The flags of everything after the span trees, shared by `report` and
/// `merge`.
#[derive(Debug, clap::Args)]
pub struct PipelineArgs {
    /// Usage inputs, pricing and period.
    #[command(flatten, next_help_heading = "Inputs")]
    pub usage: UsageArgs,
    /// Where and how the outputs are written.
    #[command(flatten, next_help_heading = "Outputs")]
    pub output: OutputArgs,
    /// Write one CSV to stdout (a report's dimension such as `tenant`, or
    /// any CSV file the run writes, such as `focus.csv`); the summary then
    /// goes to stderr.
    #[arg(long, value_name = "CSV", value_parser = printable, conflicts_with = "json", help_heading = "Outputs")]
    pub print: Option<String>,
    /// Invoices or cost reports to reconcile against (writes reconciliation.csv).
    #[arg(long, num_args = 1.., value_name = "PATH", help_heading = "Checks")]
    pub invoice: Vec<PathBuf>,
    /// With --invoice: add billed_usd to every report, each invoice line's
    /// residual spread over its rows pro rata to computed cost.
    #[arg(long, requires = "invoice", help_heading = "Checks")]
    pub true_up: bool,
    /// Invoice and coverage checks.
    #[command(flatten, next_help_heading = "Checks")]
    pub check: CheckArgs,
    /// Exit 1 when less than PCT % of the billed cost joins a span (a wrong
    /// --join-attr, the wrong span files); 0 turns the gate off.
    #[arg(long, value_name = "PCT", default_value = "50", value_parser = percentage, help_heading = "Checks")]
    pub min_match: Decimal,
    /// Outcomes, outliers and budgets.
    #[command(flatten, next_help_heading = "Answers")]
    pub answers: AnswerArgs,
}

/// Flags of the answers: cost per outcome, outliers and budgets.
#[derive(Debug, clap::Args)]
pub struct AnswerArgs {
    /// CSV with columns run_id,outcome; overrides the root spans' outcomes.
    #[arg(long, value_name = "FILE")]
    pub outcomes: Option<PathBuf>,
    /// Outcomes that count as a success, compared without case.
    #[arg(
        long,
        value_name = "VALUE",
        value_delimiter = ',',
        default_value = "success"
    )]
    pub success_outcome: Vec<String>,
    /// Outliers are the runs above this many times their feature's median
    /// cost [default: above their feature's p99].
    #[arg(long, value_name = "FACTOR", value_parser = positive_decimal)]
    pub outlier_factor: Option<Decimal>,
    /// Monthly budgets per tenant, feature, agent, tool or model (TOML);
    /// writes budget.csv.
    #[arg(long, value_name = "FILE")]
    pub budgets: Option<PathBuf>,
    /// With --budgets: exit 1 when any budget is over.
    #[arg(long, requires = "budgets")]
    pub fail_on_budget: bool,
}

fn percentage(text: &str) -> std::result::Result<Decimal, String> {
    text.parse::<Decimal>()
        .ok()
        .filter(|d| (Decimal::ZERO..=Decimal::ONE_HUNDRED).contains(d))
        .ok_or_else(|| format!("expected a percentage from 0 to 100, got \"{text}\""))
}

fn positive_decimal(text: &str) -> std::result::Result<Decimal, String> {
    text.parse::<Decimal>()
        .ok()
        .filter(|d| *d > Decimal::ZERO)
        .ok_or_else(|| format!("expected a number above 0, got \"{text}\""))
}

/// Run the pipeline (or, with --shard, its span half).
pub fn run(args: &Args) -> Result<Outcome> {
    if args.tenant_attr.len() > usize::from(u8::MAX) {
        return Err(Error::fatal("--tenant-attr: at most 255 keys"));
    }
    let mut timings = Timings::start();
    let pipeline = &args.pipeline;
    let mut billing = Billing::load(&pipeline.usage)?;
    timings.phase("read and price usage");
    // A shard reads what the merge will read before the spans too: its
    // span files then count from the same place, and bad inputs stop every
    // shard early.
    let prepared = Prepared::new(pipeline, &mut billing)?;
    timings.phase("checks");
    if let Some(shard) = args.shard {
        let before_spans = billing.skips.clone();
        let resolved = read_spans(args, &mut billing, Some(shard), &mut timings)?;
        let out = pipeline
            .output
            .out
            .as_deref()
            .expect("--shard requires --out");
        shard::write_partial(out, shard, &keys(args), &billing, &before_spans, &resolved)?;
        return Ok(Outcome::Pass);
    }
    let resolved = read_spans(args, &mut billing, None, &mut timings)?;
    finish(pipeline, &keys(args), billing, prepared, resolved, timings)
}

/// The span attributes the readers look for.
fn keys(args: &Args) -> AttrKeys {
    AttrKeys {
        tenant: args.tenant_attr.clone(),
        feature: args.feature_attr.clone(),
        join: args.join_attr.clone(),
        outcome: args.outcome_attr.clone(),
        shard: None,
    }
}

/// Read the span files (only `shard`'s traces, if given) and resolve the trees.
fn read_spans(
    args: &Args,
    billing: &mut Billing,
    shard: Option<Shard>,
    timings: &mut Timings,
) -> Result<Resolved> {
    let keys = AttrKeys {
        shard,
        ..keys(args)
    };
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mut forest = Forest::default();
    // Every shard reads every line and meets the same malformed ones: the
    // first shard alone counts them.
    let skips_before = shard
        .is_some_and(|shard| shard.index != 0)
        .then(|| billing.skips.clone());
    let span_files = read::expand(&args.spans, &[".json", ".jsonl"])?;
    let mut progress = Progress::new(&span_files, args.pipeline.output.quiet);
    for path in span_files {
        let file = billing.inputs.len() as u32;
        let skipped_before = billing.skips.total();
        // Under --shard, `kept` counts this shard's spans only.
        let (kept, dialect) = read::spans::read_file(
            &path,
            file,
            &keys,
            threads,
            &mut billing.interner,
            &mut billing.skips,
            &mut |s| {
                progress.span(&path);
                forest.insert(s)
            },
        )?;
        progress.file_done(&path);
        billing.counts.spans += kept;
        billing.inputs.push(InputFile {
            path,
            kind: "spans",
            format: dialect.name(),
            records: kept,
            skipped: billing.skips.total() - skipped_before,
        });
    }
    progress.finish();
    if let Some(skips) = skips_before {
        billing.skips = skips;
    }
    timings.phase("read spans");
    let resolved = forest.resolve(super::describe(&billing.inputs), &mut billing.skips)?;
    timings.phase("resolve trees");
    Ok(resolved)
}

/// What the pipeline needs beside usage and spans: the invoice and coverage
/// checks, budgets and outcomes, read before the spans so that a bad file
/// stops the run early.
pub struct Prepared<'a> {
    checks: Checks<'a>,
    budgets: Option<Budgets>,
    outcomes: Option<FastMap<u128, String>>,
}

impl<'a> Prepared<'a> {
    /// Read budgets and outcomes, and run the checks.
    pub fn new(args: &'a PipelineArgs, billing: &mut Billing) -> Result<Prepared<'a>> {
        let answers = &args.answers;
        let budgets = answers.budgets.as_deref().map(Budgets::load).transpose()?;
        let outcomes = answers
            .outcomes
            .as_deref()
            .map(outcomes::read)
            .transpose()?;
        let checks = Checks::run(billing, &args.invoice, &args.check)?;
        Ok(Prepared {
            checks,
            budgets,
            outcomes,
        })
    }
}

/// Join, reconcile, attribute, answer and write: everything after the span
/// trees, the same for `report` and `merge`.
pub fn finish(
    args: &PipelineArgs,
    keys: &AttrKeys,
    mut billing: Billing,
    prepared: Prepared,
    resolved: Resolved,
    mut timings: Timings,
) -> Result<Outcome> {
    let Prepared {
        checks,
        budgets,
        outcomes,
    } = prepared;
    let counts = &mut billing.counts;
    counts.traces = resolved.traces;
    counts.calls = resolved.calls.len() as u64;
    counts.orphan_spans = resolved.orphan_spans;
    counts.duplicate_spans = resolved.duplicate_spans;
    counts.wrapper_spans = resolved.wrapper_spans;

    // join, reconcile, attribute
    let joined = join(&resolved.calls, &billing.records, &billing.outside_period);
    let names = Names::new(&billing.records, &billing.pricing, &billing.interner);
    let rec = checks.reconciliation.as_ref();
    let billed = match (rec, args.true_up) {
        (Some(rec), true) => Some(rec.billed(&billing.records, &billing.costs, &names)),
        _ => None,
    };
    let ledger = attribute(
        &billing.records,
        &billing.costs,
        billed.as_deref(),
        &resolved.calls,
        &joined,
    );
    billing.counts.matched = ledger.matched;
    billing.counts.unattributed = ledger.unattributed.len() as u64;
    billing.counts.unbilled_calls = joined.unbilled.len() as u64;

    timings.phase("join and attribute");
    // write
    let columns = column_totals(&ledger.total)?;
    let invoice_only = billed.as_ref().and(rec).map(|r| r.invoice_only);
    let billed_target = invoice_only.map(|only| Micros::round(ledger.total.billed + only));
    let mut tables = ledger.tables(&billing.interner, invoice_only);
    let mut rounded = Vec::with_capacity(tables.len());
    for table in &mut tables {
        rounded.push(round_table(table, &columns, billed_target)?);
    }
    let rounded: Vec<(&Table, Vec<RoundedRow>)> = tables.iter().zip(rounded).collect();
    let mut summary = billing.summary(TotalsJson::new(
        &ledger.total,
        &columns,
        billing.reported_cost(),
    ));
    checks.summarise(&mut summary);
    summary.config = args.output.config.as_ref().map(|c| c.display().to_string());

    check_conservation(&rounded, &summary.counts, &columns, billed_target)?;

    let budget_rows = budgets.as_ref().map(|b| budget::check(b, &rounded));
    let verdict = sanity::judge(&Facts {
        period: summary.period.clone(),
        months: &billing.months,
        usage_records: billing.counts.usage_records,
        spans: billing.counts.spans,
        calls: (
            resolved.calls.len() as u64,
            resolved
                .calls
                .iter()
                .filter(|c| c.info.join_key.is_some())
                .count() as u64,
        ),
        cost: (
            ledger.total.cost.total(),
            ledger
                .unattributed
                .iter()
                .map(|&i| billing.costs[i].total())
                .sum(),
        ),
        none_cost: (
            none_cost(&rounded, "tenant"),
            none_cost(&rounded, "feature"),
        ),
        keys,
        span_files: billing
            .inputs
            .iter()
            .filter(|i| i.kind == "spans")
            .map(|i| i.path.clone())
            .collect(),
        min_match: args.min_match,
    });
    let mut failed = checks.failed();
    if args.answers.fail_on_budget {
        let over = budget_rows
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
    summary.failed_gates = failed;
    summary.warnings = verdict.warnings;

    let raw = args.output.raw_csv;
    let mut outputs = Outputs::new(args.output.out.as_deref(), args.print.as_deref())?;
    if outputs.wanted() {
        // answers: only written, so only made, when a file is wanted
        let by_run = &find(&rounded, "run").1;
        let runs = answers::runs(by_run, &resolved.calls);
        let feature_costs = run_group_costs(by_run, RunLabel::Feature, &columns)?;
        let agent_costs = run_group_costs(by_run, RunLabel::RootAgent, &columns)?;
        let spreads = distribution(&runs, &feature_costs, &agent_costs);
        let outliers = outliers(&runs, args.answers.outlier_factor);
        let steps = by_step(&billing.records, &billing.costs, &resolved.calls, &joined)?;
        let interner = &billing.interner;
        let outcome_of = |trace: u128| {
            outcomes
                .as_ref()
                .and_then(|o| o.get(&trace).map(String::as_str))
                .or_else(|| resolved.outcomes.get(&trace).map(|&o| interner.get(o)))
        };
        let by_outcome = by_outcome(
            &runs,
            outcome_of,
            &args.answers.success_outcome,
            &feature_costs,
        );
        let focus = focus(
            &billing.records,
            &billing.costs,
            billed.as_deref(),
            &resolved.calls,
            &joined,
            interner,
            invoice_only,
            billed_target,
        )?;
        timings.phase("answers");
        for (table, rows) in &rounded {
            let bytes = csv_bytes(raw, |w| report_csv(w, table, rows, &ledger.total))?;
            outputs.put(&format!("by_{}.csv", table.name), &bytes)?;
        }
        let unattributed: Vec<_> = ledger
            .unattributed
            .iter()
            .map(|&i| &billing.records[i])
            .collect();
        let costs: Vec<_> = ledger
            .unattributed
            .iter()
            .map(|&i| billing.costs[i].total())
            .collect();
        let (interner, inputs) = (&billing.interner, &billing.inputs);
        let bytes = csv_bytes(raw, |w| {
            unattributed_csv(w, &unattributed, &costs, interner, inputs)
        })?;
        outputs.put("unattributed.csv", &bytes)?;
        let bytes = csv_bytes(raw, |w| {
            unbilled_csv(w, &resolved.calls, &joined.unbilled, interner, inputs)
        })?;
        outputs.put("unbilled_spans.csv", &bytes)?;
        checks.write(&mut outputs, raw)?;
        outputs.put(
            "distribution.csv",
            &csv_bytes(raw, |w| distribution_csv(w, &spreads))?,
        )?;
        outputs.put(
            "outliers.csv",
            &csv_bytes(raw, |w| outliers_csv(w, &outliers))?,
        )?;
        outputs.put("by_step.csv", &csv_bytes(raw, |w| by_step_csv(w, &steps))?)?;
        outputs.put(
            "by_outcome.csv",
            &csv_bytes(raw, |w| by_outcome_csv(w, &by_outcome))?,
        )?;
        if let Some(rows) = &budget_rows {
            outputs.put("budget.csv", &csv_bytes(raw, |w| budget_csv(w, rows))?)?;
        }
        outputs.put("focus.csv", &csv_bytes(raw, |w| focus_csv(w, &focus))?)?;
        #[cfg(feature = "parquet")]
        if args.output.out.is_some() {
            let table = crate::write::parquet::CallsTable {
                records: &billing.records,
                costs: &billing.costs,
                billed: billed.as_deref(),
                calls: &resolved.calls,
                joined: &joined,
                interner: &billing.interner,
            };
            outputs.put("calls.parquet", &table.to_parquet()?)?;
        }
        let page = Page {
            summary: &summary,
            tenants: &find(&rounded, "tenant").1,
            features: &find(&rounded, "feature").1,
            models: &find(&rounded, "model").1,
            budgets: budget_rows.as_deref(),
            billed_total: billed_target,
            run_costs: runs.iter().map(|r| r.cost).collect(),
            steps: &steps,
        };
        outputs.put("report.html", report_html(&page).as_bytes())?;
        outputs.put("summary.json", &summary_json(&summary)?)?;
    }
    if let Some(bytes) = outputs.finish()? {
        print_stdout(&bytes)?;
    }
    if args.output.json {
        print_stdout(&summary_json(&summary)?)?;
    } else if !args.output.quiet {
        let (tenants, features) = (&find(&rounded, "tenant").1, &find(&rounded, "feature").1);
        let mut text = terminal_summary(&summary, tenants, features);
        text += &checks.terminal(&summary);
        let basis = if billed_target.is_some() {
            "billed"
        } else {
            "computed"
        };
        text += &budget_rows
            .as_deref()
            .map_or_else(String::new, |rows| budget_terminal(rows, basis));
        if args.print.is_some() {
            eprint!("{text}");
        } else {
            print_stdout(text.as_bytes())?;
        }
    }
    timings.phase("write");
    if !args.output.quiet {
        for warning in &summary.warnings {
            eprintln!("tokenledger: warning: {warning}");
        }
    }
    let outcome = Outcome::of(std::mem::take(&mut summary.failed_gates));
    // The process ends next and the system takes its memory back at once;
    // freeing millions of small allocations one by one would take a
    // noticeable share of a large run.
    std::mem::forget(rounded);
    std::mem::forget((tables, ledger, joined, resolved, billing));
    Ok(outcome)
}

/// The exact cost of a report's `(none)` row.
fn none_cost(rounded: &[(&Table, Vec<RoundedRow>)], name: &str) -> Decimal {
    find(rounded, name)
        .1
        .iter()
        .filter(|r| r.keys.first().is_some_and(|k| k == NONE))
        .map(|r| r.totals.cost.total())
        .sum()
}

/// The report called `name` with its rounded rows.
fn find<'r, 't>(
    rounded: &'r [(&'t Table, Vec<RoundedRow>)],
    name: &str,
) -> &'r (&'t Table, Vec<RoundedRow>) {
    rounded
        .iter()
        .find(|(t, _)| t.name == name)
        .expect("every report is built")
}

/// The budgets' line of the terminal summary (keys escaped for the terminal).
fn budget_terminal(rows: &[budget::BudgetRow], basis: &str) -> String {
    let count = |status| rows.iter().filter(|r| r.status == status).count();
    let mut text = format!(
        "budgets (on {basis} cost): {} over, {} at warning, {} ok\n",
        count(budget::Status::Over),
        count(budget::Status::Warn),
        count(budget::Status::Ok)
    );
    for r in rows.iter().filter(|r| r.status != budget::Status::Ok) {
        text += &format!(
            "  {} {} {}: ${} {basis} of ${} ({} %)\n",
            r.status.as_str(),
            r.budget.dimension,
            crate::terminal::escape(&r.budget.key),
            r.spend,
            crate::money::Micros::round(r.budget.usd),
            r.pct_used
        );
    }
    text
}
