//! The flags of `partition`, `diff`, `pricing` and `simulate`, converted
//! into their configurations.

use std::path::PathBuf;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use tokenledger::cmd::pricing::ShowConfig;
use tokenledger::pipeline::config::{Period, UsageConfig};
use tokenledger::read::usage::UsageFormat;
use tokenledger::simulate::{parse_month, Export};

use super::non_negative;

/// Cut span files by trace id into N partitions, one per shard, for
/// `report --shard I/N --whole-traces`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example (one run per group of span files, in parallel; then one report per partition):
  tokenledger partition --spans spans/2025-06-01 --into 16 --out parts
  tokenledger report --spans parts/part-00003-of-00016 --shard 3/16 --whole-traces --out partials/3

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
    #[arg(long, value_name = "N", required_unless_present = "list", value_parser = clap::value_parser!(u32).range(1..=i64::from(tokenledger::partition::MAX_PARTITIONS)))]
    pub into: Option<u32>,
    /// The directory the partition directories go in (created if absent).
    #[arg(long, value_name = "DIR", required_unless_present = "list")]
    pub out: Option<PathBuf>,
    /// Cut nothing: print the span files the paths hold, as `report` reads
    /// them, as a JSON array on stdout (the Spark job's list of files).
    #[arg(long, conflicts_with_all = ["into", "out"])]
    pub list: bool,
    /// Threads cutting lines [default: one per core]. The files written are
    /// the same for any number.
    #[arg(long, value_name = "N", value_parser = super::thread_count)]
    pub threads: Option<usize>,
    /// Print nothing but errors.
    #[arg(long, short, overrides_with = "no_quiet")]
    pub quiet: bool,
    /// Turn off --quiet (set by a config file).
    #[arg(long, overrides_with = "quiet", hide_short_help = true)]
    pub no_quiet: bool,
}

impl PartitionArgs {
    /// Whether to print nothing but errors.
    pub fn quiet(&self) -> bool {
        self.quiet && !self.no_quiet
    }

    /// The `partition` configuration; none under `--list`.
    pub fn config(&self) -> Option<tokenledger::partition::Config> {
        Some(tokenledger::partition::Config {
            paths: self.spans.clone(),
            count: self.into?,
            out: self.out.clone()?,
            threads: self.threads.unwrap_or_else(super::month::available_threads),
        })
    }
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
    #[arg(long, value_name = "PCT", value_parser = non_negative, allow_negative_numbers = true)]
    pub fail_on_growth: Option<Decimal>,
    /// Write CSV cells exactly as they are: no quote before a cell that a
    /// spreadsheet would run as a formula.
    #[arg(long, overrides_with = "no_raw_csv")]
    pub raw_csv: bool,
    /// Turn off --raw-csv (set by a config file).
    #[arg(long, overrides_with = "raw_csv", hide_short_help = true)]
    pub no_raw_csv: bool,
    /// Print nothing but errors and failed gates.
    #[arg(long, short, overrides_with = "no_quiet")]
    pub quiet: bool,
    /// Turn off --quiet (set by a config file).
    #[arg(long, overrides_with = "quiet", hide_short_help = true)]
    pub no_quiet: bool,
}

impl DiffArgs {
    /// The `diff` configuration.
    pub fn config(&self) -> tokenledger::cmd::diff::DiffConfig {
        tokenledger::cmd::diff::DiffConfig {
            prev: self.prev.clone(),
            cur: self.cur.clone(),
            out: self.out.clone(),
            fail_on_growth: self.fail_on_growth,
            raw_csv: self.raw_csv && !self.no_raw_csv,
            quiet: self.quiet && !self.no_quiet,
        }
    }
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

impl PricingCheckArgs {
    /// The usage `pricing check` reads (none: every entry is checked).
    pub fn config(&self) -> UsageConfig {
        UsageConfig {
            paths: self.usage.clone(),
            format: self.usage_format,
            pricing: self.pricing.clone(),
            period: self.period,
            lenient: false,
            threads: super::month::available_threads(),
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
