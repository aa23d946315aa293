//! What a run is asked to do, free of the command line: the command layer
//! (`src/cli/` in the binary) builds these once, after checking every flag.

use std::path::PathBuf;

use chrono::{DateTime, Datelike, Utc};
use rust_decimal::Decimal;

use crate::read::invoice::InvoiceFormat;
use crate::read::span::AttrKeys;
use crate::read::usage::UsageFormat;
use crate::reconcile::Tolerance;

/// Today's UTC date, read from the clock once per run (`main` reads it as
/// the run starts): `--period current`, the running month and the month
/// to date's as-of day agree even when a run crosses midnight.
pub fn today() -> chrono::NaiveDate {
    static TODAY: std::sync::OnceLock<chrono::NaiveDate> = std::sync::OnceLock::new();
    *TODAY.get_or_init(|| DateTime::<Utc>::from(std::time::SystemTime::now()).date_naive())
}

/// A UTC calendar month.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    year: i32,
    month: u32,
}

impl Period {
    /// Parse `YYYY-MM`, `previous` (the last complete UTC month) or
    /// `current` (the UTC month running now).
    pub fn parse(text: &str) -> std::result::Result<Period, String> {
        if text == "previous" {
            return Ok(Period::previous(today()));
        }
        if text == "current" {
            return Ok(Period::of(today()));
        }
        let bad = || {
            format!("expected a month as YYYY-MM (e.g. 2025-06), `previous` or `current`, got \"{text}\"")
        };
        let (y, m) = text.split_once('-').ok_or_else(bad)?;
        let (year, month) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if y.len() != 4 || m.len() != 2 || !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Period { year, month })
    }

    /// The month of `day`.
    pub fn of(day: chrono::NaiveDate) -> Period {
        Period {
            year: day.year(),
            month: day.month(),
        }
    }

    /// The last complete UTC month before the day `now`.
    pub fn previous(now: chrono::NaiveDate) -> Period {
        match (now.year(), now.month()) {
            (year, 1) => Period {
                year: year - 1,
                month: 12,
            },
            (year, month) => Period {
                year,
                month: month - 1,
            },
        }
    }

    /// The month's times as nanoseconds since 1970
    /// ([`crate::model::Timestamp::month_range`]).
    pub fn nanos(&self) -> std::ops::Range<i128> {
        crate::model::Timestamp::month_range(self.year, self.month).expect("a period is a month")
    }

    /// Whether `day` falls in this month.
    pub fn contains_day(&self, day: chrono::NaiveDate) -> bool {
        day.year() == self.year && day.month() == self.month
    }

    /// The month's last day.
    pub fn last_day(&self) -> chrono::NaiveDate {
        self.first_day()
            .checked_add_months(chrono::Months::new(1))
            .and_then(|d| d.pred_opt())
            .expect("a valid month")
    }

    /// The month's first day.
    pub fn first_day(&self) -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("a valid month")
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// The billed usage to read.
#[derive(Clone, Debug)]
pub struct UsageConfig {
    /// Usage files or directories.
    pub paths: Vec<PathBuf>,
    /// A format forced on every file, else detected per file.
    pub format: Option<UsageFormat>,
    /// The pricing table, else `./pricing.toml` or the built-in one.
    pub pricing: Option<PathBuf>,
    /// Keep only this UTC month.
    pub period: Option<Period>,
    /// Skip malformed records (counted) instead of stopping.
    pub lenient: bool,
    /// The run's threads (`--threads`): they parse a usage file (the
    /// canonical CSV's blocks) and, later, build the join's index, look
    /// up the calls' ids and roll up the postings.
    pub threads: usize,
}

/// The checks against what providers say.
#[derive(Clone, Debug)]
pub struct CheckConfig {
    /// Invoices or cost reports to reconcile against.
    pub invoices: Vec<PathBuf>,
    /// A format forced on every invoice file.
    pub invoice_format: Option<InvoiceFormat>,
    /// `--fx`: exchange rates for bills in another currency.
    pub fx: Vec<(String, Decimal)>,
    /// When a line drifts.
    pub tolerance: Tolerance,
    /// Provider usage reports to check coverage against.
    pub provider_usage: Vec<PathBuf>,
    /// The coverage gate, percent.
    pub min_coverage: Option<Decimal>,
    /// Spread the invoice over the reports (`billed_usd`).
    pub true_up: bool,
}

/// The spans to read and how.
#[derive(Clone, Debug)]
pub struct SpanConfig {
    /// Span files or directories.
    pub paths: Vec<PathBuf>,
    /// The attribute keys to look for (and the shard's trace filter).
    pub keys: AttrKeys,
    /// With `keys.shard`: the span files hold whole traces of this shard
    /// only (written by `tokenledger partition`, or routed by trace id
    /// upstream), so every span read is kept and no hash filter applies.
    pub whole_traces: bool,
    /// Threads parsing span files.
    pub threads: usize,
    /// Show a progress line on a terminal.
    pub progress: bool,
    /// `--memory-limit`, in bytes: once the span state takes a sixth of
    /// it, the spans are spilled to temporary files.
    pub memory_limit: u64,
}

/// The answers asked for.
#[derive(Clone, Debug, Default)]
pub struct AnswerConfig {
    /// `run_id,outcome` overrides.
    pub outcomes: Option<PathBuf>,
    /// Outcomes that count as a success (compared without case).
    pub success_outcome: Vec<String>,
    /// Outliers above this many times their feature's median.
    pub outlier_factor: Option<Decimal>,
    /// Monthly budgets.
    pub budgets: Option<PathBuf>,
    /// Exit 1 when a budget is over.
    pub fail_on_budget: bool,
    /// The least share (%) of the billed cost that must join a span.
    pub min_match: Decimal,
    /// Compute the standing answers (they are only written, so only made
    /// when a file is wanted).
    pub compute: bool,
    /// `--allocation`: rules and splits that give every dollar an owner.
    pub allocation: Option<PathBuf>,
    /// `--min-allocated`: the least share (%) of the cost with a tenant.
    pub min_allocated: Option<Decimal>,
    /// `--as-of`: the month runs to this day (`forecast.csv`).
    pub as_of: Option<chrono::NaiveDate>,
    /// `--fail-on-forecast`: exit 1 when a budgeted value is forecast over.
    pub fail_on_forecast: bool,
}

/// Everything after the span trees, for `report` and `merge`.
#[derive(Clone, Debug)]
pub struct MonthConfig {
    /// The usage.
    pub usage: UsageConfig,
    /// The checks.
    pub checks: CheckConfig,
    /// The answers.
    pub answers: AnswerConfig,
    /// The fingerprint join's window in seconds (0: no fingerprint join).
    pub fingerprint_window: u64,
    /// The config file the defaults came from, for the summary.
    pub config_file: Option<PathBuf>,
}

impl MonthConfig {
    /// Every input path after the spans (usage, pricing, invoices, provider
    /// usage, outcomes, budgets, allocation, the config file): an output
    /// never goes into one.
    pub fn inputs(&self) -> Vec<PathBuf> {
        let mut inputs = priced_inputs(&self.usage, &self.checks, self.config_file.as_ref());
        inputs.extend(self.answers.outcomes.clone());
        inputs.extend(self.answers.budgets.clone());
        inputs.extend(self.answers.allocation.clone());
        inputs
    }
}

/// The usage, pricing, invoice and provider-usage paths and the config
/// file: the inputs every command that prices the usage reads.
pub fn priced_inputs(
    usage: &UsageConfig,
    checks: &CheckConfig,
    config_file: Option<&PathBuf>,
) -> Vec<PathBuf> {
    let mut inputs = usage.paths.clone();
    inputs.extend(usage.pricing.clone());
    inputs.extend(checks.invoices.iter().cloned());
    inputs.extend(checks.provider_usage.iter().cloned());
    inputs.extend(config_file.cloned());
    inputs
}
