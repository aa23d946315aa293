//! The flags of the commands that run the month: `report`, `merge` and
//! `reconcile`, converted into their configurations.

use std::path::PathBuf;

use rust_decimal::Decimal;

use tokenledger::cmd::OutputConfig;
use tokenledger::cmd::{merge::MergeConfig, reconcile::ReconcileConfig, report::ReportConfig};
use tokenledger::error::{Error, Result};
use tokenledger::model::Shard;
use tokenledger::pipeline::config::{
    AnswerConfig, CheckConfig, MonthConfig, Period, SpanConfig, UsageConfig,
};
use tokenledger::read::invoice::InvoiceFormat;
use tokenledger::read::span::AttrKeys;
use tokenledger::read::usage::UsageFormat;
use tokenledger::reconcile::Tolerance;
use tokenledger::write::printable;

use super::{
    attribute_key, coverage_gate, default_memory_limit, exchange_rate, memory_size, non_negative,
    percentage, positive_decimal, stdin_once, thread_count,
};

/// Attribute a month of billed usage to the spans that made it.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  tokenledger report --spans spans/ --usage usage.csv --period 2025-06 --out reports
  tokenledger report --spans spans/ --usage litellm/ --invoice invoices/ --true-up --period previous --out reports
  tokenledger report --config cron.toml --print tenant --quiet | column -ts,

Exit codes: 0 success; 1 a gate failed (drift, budget, coverage, --min-match, no usage in the period),
one line per gate on stderr; 2 an error (bad input or flags).")]
// A shard reads the spans alone: `--usage` is the merge's.
#[command(mut_arg("usage", |usage| usage.required(false).required_unless_present("shard")))]
pub struct ReportArgs {
    /// Span files or directories (every *.json, *.jsonl inside, optionally
    /// .gz or .zst): OTLP JSON (lines or one document per file), flat
    /// one-span-per-line JSON or Jaeger JSON, detected per file.
    #[arg(long, required = true, num_args = 1.., value_name = "PATH", help_heading = "Inputs")]
    pub spans: Vec<PathBuf>,
    /// Span attribute keys naming the tenant, tried in order.
    #[arg(
        long,
        help_heading = "Attribution",
        value_name = "KEY",
        value_delimiter = ',',
        value_parser = attribute_key,
        default_value = "tenant.id,gen_ai.conversation.id"
    )]
    pub tenant_attr: Vec<String>,
    /// Threads that parse span and usage files, resolve traces, look up
    /// the join's ids and roll up the postings [default: one per core].
    /// Results are the same for any number.
    #[arg(long, value_name = "N", value_parser = thread_count, help_heading = "Scale")]
    pub threads: Option<usize>,
    /// Memory bound for the span state: past a sixth of it, spans are
    /// spilled by trace to temporary files under TMPDIR and resolved a
    /// range at a time. A size in bytes with an optional K, M, G or T
    /// (powers of 1024), e.g. 2G [default: half the machine's memory, or of
    /// its cgroup's limit].
    #[arg(long, value_name = "SIZE", value_parser = memory_size, help_heading = "Scale")]
    pub memory_limit: Option<u64>,
    /// Span attribute key naming the feature.
    #[arg(
        long,
        value_name = "KEY",
        value_parser = attribute_key,
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
        value_parser = attribute_key,
        default_value = "gen_ai.response.id"
    )]
    pub join_attr: Vec<String>,
    /// Root-span attribute naming a run's outcome (by_outcome.csv).
    #[arg(
        long,
        value_name = "KEY",
        value_parser = attribute_key,
        default_value = "app.outcome",
        help_heading = "Attribution"
    )]
    pub outcome_attr: String,
    /// Process only the traces of shard I of N (by trace-id hash) and write a
    /// partial into --out, for `tokenledger merge`.
    #[arg(long, value_name = "I/N", value_parser = Shard::parse, requires = "out", help_heading = "Scale")]
    pub shard: Option<Shard>,
    /// With --shard: the span files hold whole traces of this shard only
    /// (partition I of `tokenledger partition --into N`, or files routed by
    /// trace id upstream), so every span read is kept (no hash filter).
    #[arg(long, requires = "shard", help_heading = "Scale")]
    pub whole_traces: bool,
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
    /// With --invoice: add billed_usd to the by_tenant, by_feature, by_agent,
    /// by_tool, by_model and by_run reports, each invoice line's residual
    /// spread over its rows pro rata to computed cost.
    #[arg(
        long,
        overrides_with = "no_true_up",
        requires = "invoice",
        help_heading = "Checks"
    )]
    pub true_up: bool,
    /// Turn off --true-up (set by a config file).
    #[arg(
        long,
        overrides_with = "true_up",
        hide_short_help = true,
        help_heading = "Checks"
    )]
    pub no_true_up: bool,
    /// Invoice and coverage checks.
    #[command(flatten, next_help_heading = "Checks")]
    pub check: CheckArgs,
    /// Exit 1 when less than PCT % of the billed cost joins a span (a wrong
    /// --join-attr, the wrong span files); 0 turns the gate off.
    #[arg(long, value_name = "PCT", default_value = "50", value_parser = percentage, allow_negative_numbers = true, help_heading = "Checks")]
    pub min_match: Decimal,
    /// A call with no id, or whose id matches no record, joins the billed
    /// record of the same model and token counts nearest in time within
    /// SECS of its start (never a tie); 0 turns the fingerprint join off.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 300,
        help_heading = "Attribution"
    )]
    pub fingerprint_window: u64,
    /// Outcomes, outliers and budgets.
    #[command(flatten, next_help_heading = "Answers")]
    pub answers: AnswerArgs,
    /// Allocation rules and splits (TOML): owners for the usage no span
    /// saw, by its labels, and the bill's unexplained lines spread; adds
    /// allocated_usd to by_tenant, by_feature, by_agent, by_tool and by_model
    /// and writes allocation.csv. With
    /// --invoice it trues the usage up, as --true-up does.
    #[arg(long, value_name = "FILE", help_heading = "Allocation")]
    pub allocation: Option<PathBuf>,
    /// With --allocation: exit 1 when less than PCT % of the cost has a
    /// tenant, naming the largest unallocated labels.
    #[arg(long, value_name = "PCT", value_parser = percentage, allow_negative_numbers = true, requires = "allocation", help_heading = "Allocation")]
    pub min_allocated: Option<Decimal>,
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
    #[arg(long, value_name = "FACTOR", value_parser = positive_decimal, allow_negative_numbers = true)]
    pub outlier_factor: Option<Decimal>,
    /// Monthly budgets per tenant, feature, agent, tool or model (TOML);
    /// writes budget.csv.
    #[arg(long, value_name = "FILE")]
    pub budgets: Option<PathBuf>,
    /// With --budgets: exit 1 when any budget is over.
    #[arg(long, overrides_with = "no_fail_on_budget", requires = "budgets")]
    pub fail_on_budget: bool,
    /// Turn off --fail-on-budget (set by a config file).
    #[arg(long, overrides_with = "fail_on_budget", hide_short_help = true)]
    pub no_fail_on_budget: bool,
    /// Treat the month as running to this UTC day: writes forecast.csv
    /// (month to date and month-end forecast per value, against its
    /// budget) [default: with --period current (or this month), the last
    /// day with data].
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub as_of: Option<chrono::NaiveDate>,
    /// With --budgets: exit 1 when any budgeted value is forecast over its
    /// budget (a mid-month gate).
    #[arg(long, overrides_with = "no_fail_on_forecast", requires = "budgets")]
    pub fail_on_forecast: bool,
    /// Turn off --fail-on-forecast (set by a config file).
    #[arg(long, overrides_with = "fail_on_forecast", hide_short_help = true)]
    pub no_fail_on_forecast: bool,
}

/// Merge shard partials into the month's reports.
#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// The partial directories, one per shard (written by `report --shard I/N --out DIR`).
    #[arg(required = true, num_args = 1.., value_name = "DIR")]
    pub partials: Vec<PathBuf>,
    /// The same usage, checks, answers and output flags as `report`.
    #[command(flatten)]
    pub pipeline: PipelineArgs,
}

/// Compare the computed cost of billed usage with the invoice; exit 1 on drift.
#[derive(Debug, clap::Args)]
pub struct ReconcileArgs {
    /// Usage inputs, pricing and period.
    #[command(flatten, next_help_heading = "Inputs")]
    pub usage: UsageArgs,
    /// Invoices or cost reports (files or directories of *.csv, *.json, *.jsonl).
    #[arg(long, required = true, num_args = 1.., value_name = "PATH")]
    pub invoice: Vec<PathBuf>,
    /// Invoice and coverage checks.
    #[command(flatten, next_help_heading = "Checks")]
    pub check: CheckArgs,
    /// Where and how the outputs are written.
    #[command(flatten, next_help_heading = "Outputs")]
    pub output: OutputArgs,
}

/// Flags of every command that reads billed usage.
#[derive(Debug, clap::Args)]
pub struct UsageArgs {
    /// Billed usage files or directories (every *.csv, *.json, *.jsonl,
    /// *.log inside, optionally .gz or .zst): canonical CSV, LiteLLM spend
    /// logs, OpenRouter generations or Bedrock invocation logs.
    #[arg(long, required = true, num_args = 1.., value_name = "PATH")]
    pub usage: Vec<PathBuf>,
    /// Read every usage file in this format instead of detecting it.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub usage_format: Option<UsageFormat>,
    /// Pricing table [default: ./pricing.toml if present, else the built-in table].
    #[arg(long, value_name = "FILE")]
    pub pricing: Option<PathBuf>,
    /// Keep only usage records (and invoice days) in this UTC month;
    /// `previous` is the last complete month, `current` the month running.
    #[arg(long, value_name = "YYYY-MM", value_parser = Period::parse)]
    pub period: Option<Period>,
    /// Skip malformed records (counted in the summary) instead of stopping.
    #[arg(long, overrides_with = "no_lenient")]
    pub lenient: bool,
    /// Turn off --lenient (set by a config file).
    #[arg(long, overrides_with = "lenient", hide_short_help = true)]
    pub no_lenient: bool,
}

/// Flags of every command that compares with an invoice.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Read every invoice file in this format instead of detecting it.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub invoice_format: Option<InvoiceFormat>,
    /// Exchange rate for a bill in another currency than the pricing
    /// table's, when the bill states none: units of CUR per unit of the
    /// table's currency (`--fx EUR=0.92`). Repeatable.
    #[arg(long, value_name = "CUR=RATE", value_parser = exchange_rate)]
    pub fx: Vec<(String, Decimal)>,
    /// A line drifts when |computed − invoiced| exceeds this percent of the
    /// invoiced amount (and --tolerance-usd).
    #[arg(long, value_name = "PCT", default_value = "0.5", value_parser = non_negative, allow_negative_numbers = true)]
    pub tolerance: Decimal,
    /// A line drifts when |computed − invoiced| exceeds this many USD (and --tolerance).
    #[arg(long, value_name = "USD", default_value = "0.01", value_parser = non_negative, allow_negative_numbers = true)]
    pub tolerance_usd: Decimal,
    /// Provider usage reports (OpenAI usage/completions, Anthropic
    /// usage_report/messages, JSON pages or CSV) to check the per-request
    /// usage against; writes coverage.csv.
    #[arg(long, num_args = 1.., value_name = "PATH")]
    pub provider_usage: Vec<PathBuf>,
    /// With --provider-usage: exit 1 when any (provider, model, day, token
    /// type) is covered below PCT percent.
    #[arg(long, value_name = "PCT", value_parser = coverage_gate, allow_negative_numbers = true, requires = "provider_usage")]
    pub min_coverage: Option<Decimal>,
}

/// Flags of every command that writes reports.
#[derive(Debug, clap::Args)]
pub struct OutputArgs {
    /// Write the outputs into DIR, replacing it as a whole once every file is
    /// complete (it must be new, empty, or an earlier tokenledger output).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write CSV cells as they are, without neutralising leading = + - @ (formula injection).
    #[arg(long, overrides_with = "no_raw_csv")]
    pub raw_csv: bool,
    /// Turn off --raw-csv (set by a config file).
    #[arg(long, overrides_with = "raw_csv", hide_short_help = true)]
    pub no_raw_csv: bool,
    /// Print no summary and no warnings (a failed gate is still named).
    #[arg(long, overrides_with = "no_quiet")]
    pub quiet: bool,
    /// Turn off --quiet (set by a config file).
    #[arg(long, overrides_with = "quiet", hide_short_help = true)]
    pub no_quiet: bool,
    /// Print summary.json to stdout instead of the human summary.
    #[arg(long, overrides_with = "no_json")]
    pub json: bool,
    /// Turn off --json (set by a config file).
    #[arg(long, overrides_with = "json", hide_short_help = true)]
    pub no_json: bool,
}

impl PipelineArgs {
    /// The input flags after the spans, for [`stdin_once`].
    fn inputs(&self) -> Vec<(&'static str, &[PathBuf])> {
        vec![
            ("--usage", &self.usage.usage),
            ("--invoice", &self.invoice),
            ("--provider-usage", &self.check.provider_usage),
            ("--pricing", self.usage.pricing.as_slice()),
            ("--budgets", self.answers.budgets.as_slice()),
            ("--outcomes", self.answers.outcomes.as_slice()),
            ("--allocation", self.allocation.as_slice()),
        ]
    }
}

impl ReportArgs {
    /// The `report` configuration.
    pub fn config(&self, config_file: Option<PathBuf>) -> Result<ReportConfig> {
        if self.tenant_attr.len() > usize::from(u8::MAX) {
            return Err(Error::fatal("--tenant-attr: at most 255 keys"));
        }
        let mut inputs = self.pipeline.inputs();
        inputs.push(("--spans", &self.spans));
        stdin_once(&inputs)?;
        let output = self.pipeline.output.config(self.pipeline.print.clone());
        let threads = self.threads.unwrap_or_else(available_threads);
        let mut month = self.pipeline.config(config_file, &output);
        month.usage.threads = threads;
        Ok(ReportConfig {
            spans: SpanConfig {
                paths: self.spans.clone(),
                keys: AttrKeys {
                    tenant: self.tenant_attr.clone(),
                    feature: self.feature_attr.clone(),
                    join: join_keys(&self.join_attr),
                    outcome: self.outcome_attr.clone(),
                    shard: self.shard,
                },
                whole_traces: self.whole_traces,
                threads,
                progress: !output.quiet,
                memory_limit: self.memory_limit.unwrap_or_else(default_memory_limit),
            },
            month,
            output,
        })
    }
}

/// The threads a run uses unless `--threads` says: one per core.
pub fn available_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl PipelineArgs {
    /// Everything after the span trees.
    fn config(&self, config_file: Option<PathBuf>, output: &OutputConfig) -> MonthConfig {
        let a = &self.answers;
        MonthConfig {
            usage: self.usage.config(),
            checks: self.check.config(
                self.invoice.clone(),
                self.true_up && !self.no_true_up
                    || self.allocation.is_some() && !self.invoice.is_empty(),
            ),
            answers: AnswerConfig {
                outcomes: a.outcomes.clone(),
                success_outcome: a.success_outcome.clone(),
                outlier_factor: a.outlier_factor,
                budgets: a.budgets.clone(),
                fail_on_budget: a.fail_on_budget && !a.no_fail_on_budget,
                min_match: self.min_match,
                compute: output.out.is_some() || output.print.is_some(),
                allocation: self.allocation.clone(),
                min_allocated: self.min_allocated,
                as_of: a.as_of,
                fail_on_forecast: a.fail_on_forecast && !a.no_fail_on_forecast,
            },
            fingerprint_window: self.fingerprint_window,
            config_file,
        }
    }
}

impl MergeArgs {
    /// The `merge` configuration.
    pub fn config(&self, config_file: Option<PathBuf>) -> Result<MergeConfig> {
        stdin_once(&self.pipeline.inputs())?;
        let output = self.pipeline.output.config(self.pipeline.print.clone());
        Ok(MergeConfig {
            partials: self.partials.clone(),
            month: self.pipeline.config(config_file, &output),
            output,
        })
    }
}

impl ReconcileArgs {
    /// The `reconcile` configuration.
    pub fn config(&self, config_file: Option<PathBuf>) -> Result<ReconcileConfig> {
        stdin_once(&[
            ("--usage", &self.usage.usage),
            ("--invoice", &self.invoice),
            ("--provider-usage", &self.check.provider_usage),
            ("--pricing", self.usage.pricing.as_slice()),
        ])?;
        Ok(ReconcileConfig {
            usage: self.usage.config(),
            checks: self.check.config(self.invoice.clone(), false),
            output: self.output.config(None),
            config_file,
        })
    }
}

impl UsageArgs {
    fn config(&self) -> UsageConfig {
        UsageConfig {
            paths: self.usage.clone(),
            format: self.usage_format,
            pricing: self.pricing.clone(),
            period: self.period,
            lenient: self.lenient && !self.no_lenient,
            threads: available_threads(),
        }
    }
}

impl CheckArgs {
    fn config(&self, invoices: Vec<PathBuf>, true_up: bool) -> CheckConfig {
        CheckConfig {
            invoices,
            invoice_format: self.invoice_format,
            fx: self.fx.clone(),
            tolerance: Tolerance {
                pct: self.tolerance,
                usd: self.tolerance_usd,
            },
            provider_usage: self.provider_usage.clone(),
            min_coverage: self.min_coverage,
            true_up,
        }
    }
}

impl OutputArgs {
    fn config(&self, print: Option<String>) -> OutputConfig {
        OutputConfig {
            out: self.out.clone(),
            print,
            raw_csv: self.raw_csv && !self.no_raw_csv,
            quiet: self.quiet && !self.no_quiet,
            json: self.json && !self.no_json,
        }
    }
}

/// The `--join-attr` keys, an alias named as the key it is an alias of
/// (so it reads the key and every alias), each once, in order.
fn join_keys(keys: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for key in keys
        .iter()
        .map(|k| tokenledger::read::semconv::canonical(k))
    {
        if !out.iter().any(|k| k == key) {
            out.push(key.to_string());
        }
    }
    out
}
