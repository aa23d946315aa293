//! The command line: clap's definitions of every flag, with their help,
//! converted once into the library's clap-free configurations (where the
//! flags are checked). `defaults` fills in flags from a config file first.

pub mod defaults;

use std::path::PathBuf;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::str::FromStr;

use tokenledger::cmd::pricing::ShowConfig;
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
use tokenledger::simulate::{parse_month, Export};
use tokenledger::write::printable;

/// Attribute a month of billed usage to the spans that made it.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  tokenledger report --spans spans/ --usage usage.csv --period 2025-06 --out reports
  tokenledger report --spans spans/ --usage litellm/ --invoice invoices/ --true-up --period previous --out reports
  tokenledger report --config cron.toml --print tenant --quiet | column -ts,

Exit codes: 0 success; 1 a gate failed (drift, budget, coverage, --min-match, no usage in the period),
one line per gate on stderr; 2 an error (bad input or flags).")]
pub struct ReportArgs {
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
    /// Memory bound for the span state: past a quarter of it, spans are
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
    /// allocated_usd to every report and writes allocation.csv. With
    /// --invoice it trues the usage up, as --true-up does.
    #[arg(long, value_name = "FILE", help_heading = "Allocation")]
    pub allocation: Option<PathBuf>,
    /// With --allocation: exit 1 when less than PCT % of the cost has a
    /// tenant, naming the largest unallocated labels.
    #[arg(long, value_name = "PCT", value_parser = percentage, requires = "allocation", help_heading = "Allocation")]
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
    #[arg(long, value_name = "FACTOR", value_parser = positive_decimal)]
    pub outlier_factor: Option<Decimal>,
    /// Monthly budgets per tenant, feature, agent, tool or model (TOML);
    /// writes budget.csv.
    #[arg(long, value_name = "FILE")]
    pub budgets: Option<PathBuf>,
    /// With --budgets: exit 1 when any budget is over.
    #[arg(long, requires = "budgets")]
    pub fail_on_budget: bool,
    /// Treat the month as running to this UTC day: writes forecast.csv
    /// (month to date and month-end forecast per value, against its
    /// budget) [default: with --period current (or this month), the last
    /// day with data].
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub as_of: Option<chrono::NaiveDate>,
    /// With --budgets: exit 1 when any budgeted value is forecast over its
    /// budget (a mid-month gate).
    #[arg(long, requires = "budgets")]
    pub fail_on_forecast: bool,
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

/// Cut span files by trace id into N partitions, one per shard, for
/// `report --shard I/N --whole-traces`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example (one run per group of span files, in parallel; then one report per partition):
  tokenledger partition --spans spans/2025-06-01 --into 16 --out parts
  tokenledger report --spans parts/part-00003-of-00016 --shard 3/16 --whole-traces --usage usage/ --out partials/3

Partition I of N is the directory OUT/part-IIIII-of-NNNNN/ (e.g. part-00003-of-00016), holding one
file per input file, named after it (so runs over input files of different names can share --out). Reads OTLP JSON (lines
or one document per file); a line the reader would refuse stops the run, naming it."
)]
pub struct PartitionArgs {
    /// Span files or directories (every *.json, *.jsonl inside, optionally
    /// .gz or .zst): OTLP JSON lines or one OTLP JSON document per file.
    #[arg(long, required = true, num_args = 1.., value_name = "PATH")]
    pub spans: Vec<PathBuf>,
    /// How many partitions (the shard count N of `report --shard I/N`).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=i64::from(tokenledger::partition::MAX_PARTITIONS)))]
    pub into: u32,
    /// The directory the partition directories go in (created if absent).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Threads cutting lines [default: one per core]. The files written are
    /// the same for any number.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

impl PartitionArgs {
    /// The `partition` configuration.
    pub fn config(&self) -> tokenledger::partition::Config {
        tokenledger::partition::Config {
            paths: self.spans.clone(),
            count: self.into,
            out: self.out.clone(),
            threads: self
                .threads
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        }
    }
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

/// Compare two months' `report --out` directories: what drove the change,
/// price versus volume.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  tokenledger diff reports/2025-05 reports/2025-06 --out reports/diff --fail-on-growth 25\n\n\
                        Exit codes: 0 success, 1 --fail-on-growth exceeded, 2 an error."
)]
pub struct DiffArgs {
    /// The previous month's output directory (of `report --out`).
    pub prev: PathBuf,
    /// This month's output directory.
    pub cur: PathBuf,
    /// Write diff_by_tenant.csv, diff_by_feature.csv, diff_by_agent.csv,
    /// diff_by_tool.csv, diff_by_model.csv and diff.html (the change on one
    /// page: a waterfall from price and volume) into this directory.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Exit 1 when the total grew by more than PCT percent.
    #[arg(long, value_name = "PCT", value_parser = non_negative)]
    pub fail_on_growth: Option<Decimal>,
    /// Write CSV cells exactly as they are: no quote before a cell that a
    /// spreadsheet would run as a formula.
    #[arg(long)]
    pub raw_csv: bool,
    /// Print nothing but errors and failed gates.
    #[arg(long, short)]
    pub quiet: bool,
}

impl DiffArgs {
    /// The `diff` configuration.
    pub fn config(&self) -> tokenledger::cmd::diff::DiffConfig {
        tokenledger::cmd::diff::DiffConfig {
            prev: self.prev.clone(),
            cur: self.cur.clone(),
            out: self.out.clone(),
            fail_on_growth: self.fail_on_growth,
            raw_csv: self.raw_csv,
            quiet: self.quiet,
        }
    }
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
    /// `previous` is the last complete month.
    #[arg(long, value_name = "YYYY-MM", value_parser = Period::parse)]
    pub period: Option<Period>,
    /// Skip malformed records (counted in the summary) instead of stopping.
    #[arg(long)]
    pub lenient: bool,
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
    #[arg(long, value_name = "PCT", default_value = "0.5", value_parser = non_negative)]
    pub tolerance: Decimal,
    /// A line drifts when |computed − invoiced| exceeds this many USD (and --tolerance).
    #[arg(long, value_name = "USD", default_value = "0.01", value_parser = non_negative)]
    pub tolerance_usd: Decimal,
    /// Provider usage reports (OpenAI usage/completions, Anthropic
    /// usage_report/messages, JSON pages or CSV) to check the per-request
    /// usage against; writes coverage.csv.
    #[arg(long, num_args = 1.., value_name = "PATH")]
    pub provider_usage: Vec<PathBuf>,
    /// With --provider-usage: exit 1 when any (provider, model, day, token
    /// type) is covered below PCT percent.
    #[arg(long, value_name = "PCT", value_parser = non_negative, requires = "provider_usage")]
    pub min_coverage: Option<Decimal>,
}

fn exchange_rate(text: &str) -> std::result::Result<(String, Decimal), String> {
    let bad = || {
        format!("expected CUR=RATE (EUR=0.92: units of CUR per unit of the pricing table's currency), got \"{text}\"")
    };
    let (currency, rate) = text.split_once('=').ok_or_else(bad)?;
    let currency = currency.trim().to_ascii_uppercase();
    let rate = Decimal::from_str(rate.trim()).map_err(|_| bad())?;
    let code = currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase());
    if !code || rate <= Decimal::ZERO {
        return Err(bad());
    }
    Ok((currency, rate))
}

fn non_negative(text: &str) -> std::result::Result<Decimal, String> {
    match Decimal::from_str(text) {
        Ok(d) if d >= Decimal::ZERO => Ok(d),
        _ => Err(format!(
            "expected a non-negative decimal number, got \"{text}\""
        )),
    }
}

/// Flags of every command that writes reports.
#[derive(Debug, clap::Args)]
pub struct OutputArgs {
    /// Write the outputs into DIR, replacing it as a whole once every file is
    /// complete (it must be new, empty, or an earlier tokenledger output).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write CSV cells as they are, without neutralising leading = + - @ (formula injection).
    #[arg(long)]
    pub raw_csv: bool,
    /// Print no summary and no warnings (a failed gate is still named).
    #[arg(long)]
    pub quiet: bool,
    /// Print summary.json to stdout instead of the human summary.
    #[arg(long)]
    pub json: bool,
}

/// Show or check the pricing table.
#[derive(Debug, clap::Subcommand)]
pub enum PricingCommand {
    /// Every model in the usage has a price on every date used (exit 1 on a
    /// gap); rates that differ from the genai-prices catalog are listed.
    Check(PricingCheckArgs),
    /// The entry that prices MODEL on a date, with every rate.
    Show(ShowArgs),
    /// What the table prices: one row per entry (optionally only those
    /// whose names contain PATTERN), with the file and line it comes from.
    List(ListArgs),
}

/// `pricing list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only entries one of whose `match` names contains this (any case).
    pub pattern: Option<String>,
    /// Only this provider's entries.
    #[arg(long, value_name = "PROVIDER")]
    pub provider: Option<String>,
    /// Only entries in effect on this UTC date.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub at: Option<NaiveDate>,
    /// Pricing table [default: ./pricing.toml if present, else the built-in table].
    #[arg(long, value_name = "FILE")]
    pub pricing: Option<PathBuf>,
}

impl ListArgs {
    /// The `pricing list` configuration.
    pub fn config(&self) -> tokenledger::cmd::pricing::ListConfig {
        tokenledger::cmd::pricing::ListConfig {
            pattern: self.pattern.clone(),
            provider: self.provider.clone(),
            at: self.at,
            pricing: self.pricing.clone(),
        }
    }
}

/// `pricing check`.
#[derive(Debug, clap::Args)]
pub struct PricingCheckArgs {
    /// Pricing table [default: ./pricing.toml if present, else the built-in table].
    #[arg(long, value_name = "FILE")]
    pub pricing: Option<PathBuf>,
    /// Billed usage to check [default: check every entry of the table on
    /// its first day, or on --period's first day].
    #[arg(long, num_args = 1.., value_name = "PATH")]
    pub usage: Vec<PathBuf>,
    /// Read every usage file in this format instead of detecting it.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub usage_format: Option<UsageFormat>,
    /// Only usage in this UTC month.
    #[arg(long, value_name = "YYYY-MM", value_parser = Period::parse)]
    pub period: Option<Period>,
}

/// `pricing show`.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The model name as billed (a dated snapshot, a gateway slug, …).
    pub model: String,
    /// Only this provider's entries [default: every provider's].
    #[arg(long, value_name = "PROVIDER")]
    pub provider: Option<String>,
    /// The UTC date to price on [default: today].
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub at: Option<NaiveDate>,
    /// Pricing table [default: ./pricing.toml if present, else the built-in table].
    #[arg(long, value_name = "FILE")]
    pub pricing: Option<PathBuf>,
}

/// Generate a synthetic fleet month: OTLP JSON lines under DIR/spans/, the
/// billed usage as DIR/usage.csv and the providers' invoices under
/// DIR/invoices/.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// Agent runs (traces) to generate (with --changes, plus one more for each
    /// acme-corp run).
    #[arg(long, default_value_t = 400)]
    pub runs: u64,
    /// PRNG seed; the same seed and sizes give the same bytes.
    #[arg(long, default_value_t = 2025)]
    pub seed: u64,
    /// The UTC month to fill.
    #[arg(long, default_value = "2025-06", value_parser = parse_month)]
    pub month: (i32, u32),
    /// Span files to spread the export over.
    #[arg(long, default_value_t = 2)]
    pub span_files: u32,
    /// Typical bytes of message content on inference spans (0: none).
    #[arg(long, default_value_t = 0)]
    pub message_bytes: usize,
    /// How to export the billed usage.
    #[arg(long, value_enum, default_value = "canonical")]
    pub usage_format: Export,
    /// No batch requests and no cache writes: usage every gateway export can carry.
    #[arg(long)]
    pub plain: bool,
    /// Percent of inference spans exported without a response id.
    #[arg(long, value_name = "PCT", default_value_t = 0)]
    pub drop_ids: u32,
    /// With --usage-format litellm: LiteLLM's own request ids, not the
    /// provider's ids the spans carry.
    #[arg(long)]
    pub gateway_ids: bool,
    /// Add three usage changes to the month, for testing a month-over-month
    /// comparison against a month generated without them.
    ///
    /// 1. Tenant load: tenant acme-corp runs twice as often all month. Each of
    ///    its runs is followed by a second acme-corp run, so the month has more
    ///    than --runs runs; the other tenants' runs stay as they were.
    ///
    /// 2. Retry loop: from the 12th day of the month on, code-review runs
    ///    (agent review_agent) are caught in a retry loop and make 3x the model
    ///    calls: 6 to 15 steps instead of 2 to 5 (each step's prompt carries the
    ///    steps before it, so a run costs about 6x as much).
    ///
    /// 3. Feature launch: a new feature, contract-analysis (root agent
    ///    contract_analyst on claude-sonnet-4, tools clause_search and
    ///    fetch_contract, weighted as code-review), runs from the 9th day of the
    ///    month on, and never before.
    ///
    /// A run's start time (UTC) decides its day. Without --changes, the same
    /// arguments give the same bytes as they always did.
    #[arg(long)]
    pub changes: bool,
    /// Heavy-tailed run costs: each run's starting context times a Pareto
    /// draw (shape 1.2, at most 25x), as real agent runs are.
    #[arg(long)]
    pub heavy_tails: bool,
    /// One runaway run on this day of the month (30x its steps).
    #[arg(long, value_name = "DAY", value_parser = clap::value_parser!(u32).range(1..=31))]
    pub spike_day: Option<u32>,
    /// Lines of the bill beyond tokens, in the canonical usage CSV: o3
    /// reasoning tokens, Claude web searches (web_search lines on
    /// Anthropic's cost report), o3 flex and priority and gpt-4.1 priority
    /// calls, umbrella-health's US-only Claude calls, wayne-fin's Claude
    /// calls through Bedrock (us. and global. profiles, on
    /// bedrock-invoice.csv) and a voice feature with audio tokens.
    #[arg(long)]
    pub charges: bool,
    /// Spread the runs over N tenants (tenant-0001 …, the first ones
    /// busiest) instead of the six named ones, as a large fleet's month.
    #[arg(long, value_name = "N", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub tenants: u32,
    /// Give each tool N variants (kb_search-001 …), so the month has
    /// hundreds of tool names.
    #[arg(long, value_name = "N", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(0..=1_000))]
    pub tools: u32,
    /// Pricing table for the simulated invoices [default: ./pricing.toml if
    /// present, else the built-in table].
    #[arg(long, value_name = "FILE")]
    pub pricing: Option<PathBuf>,
    /// Output directory.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

fn percentage(text: &str) -> std::result::Result<Decimal, String> {
    text.parse::<Decimal>()
        .ok()
        .filter(|d| (Decimal::ZERO..=Decimal::ONE_HUNDRED).contains(d))
        .ok_or_else(|| format!("expected a percentage from 0 to 100, got \"{text}\""))
}

/// A size in bytes: digits with an optional K, M, G or T (powers of 1024),
/// which may be followed by `B` or `iB` (`512M`, `2GiB`, `1500000000`).
fn memory_size(text: &str) -> std::result::Result<u64, String> {
    let bad = || format!("expected a size such as 512M, 2G or 1500000000, got \"{text}\"");
    let upper = text.to_ascii_uppercase();
    let unit = ["IB", "B"]
        .iter()
        .find_map(|suffix| upper.strip_suffix(suffix))
        .unwrap_or(&upper);
    let shift = match unit.chars().last() {
        Some('K') => 10,
        Some('M') => 20,
        Some('G') => 30,
        Some('T') => 40,
        _ => 0,
    };
    let digits = if shift == 0 {
        unit
    } else {
        &unit[..unit.len() - 1]
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u64 = digits.parse().map_err(|_| bad())?;
    n.checked_mul(1 << shift)
        .filter(|&bytes| bytes > 0)
        .ok_or_else(bad)
}

/// Half the memory this process may use: the machine's (`MemTotal`), or
/// its cgroup's limit when lower; 4 GiB where neither can be read.
fn default_memory_limit() -> u64 {
    let machine =
        tokenledger::pipeline::proc_kib("/proc/meminfo", "MemTotal").map(|kib| kib * 1024);
    let total = [machine, cgroup_limit()]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(8 << 30);
    total / 2
}

/// The lowest memory limit of this process's cgroup and its parents
/// (cgroup v2's `memory.max` along the path `/proc/self/cgroup` names, or
/// v1's `memory.limit_in_bytes`).
fn cgroup_limit() -> Option<u64> {
    let read = |path: &std::path::Path| -> Option<u64> {
        std::fs::read_to_string(path).ok()?.trim().parse().ok()
    };
    let root = std::path::Path::new("/sys/fs/cgroup");
    let own = std::fs::read_to_string("/proc/self/cgroup")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("0::"))?;
            Some(root.join(line["0::".len()..].trim_start_matches('/')))
        });
    let v2 = own
        .iter()
        .flat_map(|dir| dir.ancestors().take_while(|d| d.starts_with(root)))
        .filter_map(|dir| read(&dir.join("memory.max")))
        .min();
    v2.or_else(|| read(&root.join("memory/memory.limit_in_bytes")))
}

fn positive_decimal(text: &str) -> std::result::Result<Decimal, String> {
    text.parse::<Decimal>()
        .ok()
        .filter(|d| *d > Decimal::ZERO)
        .ok_or_else(|| format!("expected a number above 0, got \"{text}\""))
}

/// Refuse `-` (standard input) named by two input flags: it can be read
/// once.
fn stdin_once(inputs: &[(&str, &[PathBuf])]) -> Result<()> {
    let flags: Vec<&str> = inputs
        .iter()
        .flat_map(|(flag, paths)| {
            paths
                .iter()
                .filter(|p| p.as_os_str() == tokenledger::read::STDIN)
                .map(move |_| *flag)
        })
        .collect();
    if flags.len() > 1 {
        return Err(Error::fatal(format!(
            "`-` (standard input) is given to {}: standard input can be read once; give the \
             others files",
            flags.join(" and ")
        )));
    }
    Ok(())
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
        Ok(ReportConfig {
            spans: SpanConfig {
                paths: self.spans.clone(),
                keys: AttrKeys {
                    tenant: self.tenant_attr.clone(),
                    feature: self.feature_attr.clone(),
                    join: self.join_attr.clone(),
                    outcome: self.outcome_attr.clone(),
                    shard: self.shard,
                },
                whole_traces: self.whole_traces,
                threads: self
                    .threads
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
                progress: !output.quiet,
                memory_limit: self.memory_limit.unwrap_or_else(default_memory_limit),
            },
            month: self.pipeline.config(config_file, &output),
            output,
        })
    }
}

impl PipelineArgs {
    /// Everything after the span trees.
    fn config(&self, config_file: Option<PathBuf>, output: &OutputConfig) -> MonthConfig {
        let a = &self.answers;
        MonthConfig {
            usage: self.usage.config(),
            checks: self.check.config(
                self.invoice.clone(),
                self.true_up || self.allocation.is_some() && !self.invoice.is_empty(),
            ),
            answers: AnswerConfig {
                outcomes: a.outcomes.clone(),
                success_outcome: a.success_outcome.clone(),
                outlier_factor: a.outlier_factor,
                budgets: a.budgets.clone(),
                fail_on_budget: a.fail_on_budget,
                min_match: self.min_match,
                compute: output.out.is_some() || output.print.is_some(),
                allocation: self.allocation.clone(),
                min_allocated: self.min_allocated,
                as_of: a.as_of,
                fail_on_forecast: a.fail_on_forecast,
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
            lenient: self.lenient,
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
            raw_csv: self.raw_csv,
            quiet: self.quiet,
            json: self.json,
        }
    }
}

impl PricingCheckArgs {
    /// The usage `pricing check` reads (none: every entry is checked).
    pub fn config(&self) -> UsageConfig {
        UsageConfig {
            paths: self.usage.clone(),
            format: self.usage_format,
            pricing: self.pricing.clone(),
            period: self.period,
            lenient: false,
        }
    }
}

impl ShowArgs {
    /// The `pricing show` configuration.
    pub fn config(&self) -> ShowConfig {
        ShowConfig {
            model: self.model.clone(),
            provider: self.provider.clone(),
            at: self.at,
            pricing: self.pricing.clone(),
        }
    }
}

impl SimulateArgs {
    /// The simulator's configuration.
    pub fn config(&self) -> tokenledger::simulate::Config {
        tokenledger::simulate::Config {
            runs: self.runs,
            seed: self.seed,
            month: self.month,
            span_files: self.span_files,
            message_bytes: self.message_bytes,
            usage_format: self.usage_format,
            plain: self.plain,
            drop_ids: self.drop_ids,
            gateway_ids: self.gateway_ids,
            changes: self.changes,
            heavy_tails: self.heavy_tails,
            spike_day: self.spike_day,
            charges: self.charges,
            tenants: self.tenants,
            tools: self.tools,
        }
    }
}
