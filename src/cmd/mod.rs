//! Subcommands: each module holds its arguments (with their help text) and
//! its `run`. What several commands share lives here: the usage flags and
//! their loading (read → dedupe → period → price), the invoice flags, and
//! output helpers.

pub mod merge;
pub mod pricing;
pub mod reconcile;
pub mod report;
pub mod simulate;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{DateTime, Datelike, Utc};
use rust_decimal::Decimal;

use crate::attribute::Totals;
use crate::coverage::{coverage, Coverage};
use crate::error::{Error, Result, Skips};
use crate::intern::Interner;
use crate::join::dedupe;
use crate::model::{Cost, Origin, UsageRecord};
use crate::price::{price_all, PriceTable};
use crate::read::invoice::{self, InvoiceFormat, InvoiceLine};
use crate::read::provider_usage::{self, ProviderUsage};
use crate::read::usage::{self, UsageFormat};
use crate::read::{self, InputFile};
use crate::reconcile::{reconcile, Names, Reconciliation, Tolerance};
use crate::write::coverage::{coverage_csv, terminal as coverage_terminal, CoverageJson};
use crate::write::reconciliation::{
    reconciliation_csv, terminal as reconciliation_terminal, ReconciliationJson,
};
use crate::write::summary::{Counts, PricingInfo, SkippedJson, Summary, TotalsJson};
use crate::write::{csv_bytes, Outputs};

/// What a command concluded: exit 0, or exit 1 when a check it ran failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Everything checked passed.
    Pass,
    /// The run completed, but a gate (drift, …) failed: one line per failed
    /// gate, printed on stderr even with `--quiet`.
    Fail(Vec<String>),
}

impl Outcome {
    /// Pass when no gate failed.
    pub fn of(failed: Vec<String>) -> Outcome {
        if failed.is_empty() {
            Outcome::Pass
        } else {
            Outcome::Fail(failed)
        }
    }
}

/// A UTC calendar month.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    year: i32,
    month: u32,
}

impl Period {
    fn parse(text: &str) -> std::result::Result<Period, String> {
        if text == "previous" {
            return Ok(Period::previous(std::time::SystemTime::now().into()));
        }
        let bad =
            || format!("expected a month as YYYY-MM (e.g. 2025-06) or `previous`, got \"{text}\"");
        let (y, m) = text.split_once('-').ok_or_else(bad)?;
        let (year, month) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if y.len() != 4 || m.len() != 2 || !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Period { year, month })
    }

    /// The last complete UTC month before `now`.
    pub fn previous(now: DateTime<Utc>) -> Period {
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

    /// Whether `t` falls in this month.
    pub fn contains(&self, t: &DateTime<Utc>) -> bool {
        t.year() == self.year && t.month() == self.month
    }

    fn contains_day(&self, day: chrono::NaiveDate) -> bool {
        day.year() == self.year && day.month() == self.month
    }

    /// Whether any day from `first` to `last` falls in this month.
    fn overlaps(&self, first: chrono::NaiveDate, last: chrono::NaiveDate) -> bool {
        let month_first = self.first_day();
        let month_last = month_first
            .checked_add_months(chrono::Months::new(1))
            .and_then(|d| d.pred_opt())
            .expect("a valid month");
        first <= month_last && last >= month_first
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

/// Records per UTC month (`YYYY-MM`).
fn months_of(records: &[UsageRecord]) -> std::collections::BTreeMap<String, u64> {
    let mut by_month = std::collections::BTreeMap::<(i32, u32), u64>::new();
    for r in records {
        *by_month
            .entry((r.timestamp.year(), r.timestamp.month()))
            .or_default() += 1;
    }
    by_month
        .into_iter()
        .map(|((y, m), n)| (format!("{y:04}-{m:02}"), n))
        .collect()
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

impl CheckArgs {
    /// Whether coverage fails the `--min-coverage` gate.
    /// The tolerance these flags set.
    pub fn tolerance(&self) -> Tolerance {
        Tolerance {
            pct: self.tolerance,
            usd: self.tolerance_usd,
        }
    }
}

fn non_negative(text: &str) -> std::result::Result<Decimal, String> {
    match Decimal::from_str(text) {
        Ok(d) if d >= Decimal::ZERO => Ok(d),
        _ => Err(format!(
            "expected a non-negative decimal number, got \"{text}\""
        )),
    }
}

/// Billed usage read from every `--usage` file, deduplicated, filtered to
/// the period and priced, with everything read so far.
pub struct Billing {
    /// The pricing table used.
    pub pricing: PriceTable,
    /// Interned names of every record (and later spans).
    pub interner: Interner,
    /// The strict/lenient policy and what it skipped.
    pub skips: Skips,
    /// Every input file read so far.
    pub inputs: Vec<InputFile>,
    /// Records in period.
    pub records: Vec<UsageRecord>,
    /// Exact cost of each record.
    pub costs: Vec<Cost>,
    /// Counts so far.
    pub counts: Counts,
    /// `--period`.
    pub period: Option<Period>,
    /// Billed usage records read per UTC month (`YYYY-MM`), before `--period`.
    pub months: std::collections::BTreeMap<String, u64>,
    /// The ids (and alternative ids) of the records `--period` left out.
    pub outside_period: Vec<Box<str>>,
}

impl Billing {
    /// Read, dedupe, filter and price the usage.
    pub fn load(args: &UsageArgs) -> Result<Billing> {
        let mut billing = Billing::read(args)?;
        billing.costs = price_all(&billing.pricing, &billing.records, &billing.interner)?;
        Ok(billing)
    }

    /// Read, dedupe and filter the usage, without pricing it (`costs` is empty).
    pub fn read(args: &UsageArgs) -> Result<Billing> {
        let pricing = PriceTable::resolve(args.pricing.as_deref())?;
        let mut interner = Interner::default();
        let mut skips = Skips::new(args.lenient);
        let mut inputs = Vec::new();
        let mut records = Vec::new();
        let mut not_billed = 0;
        for path in read::expand(&args.usage, &[".csv", ".json", ".jsonl", ".log"])? {
            let file = inputs.len() as u32;
            let skipped_before = skips.total();
            let (format, stats) = usage::read_file(
                &path,
                args.usage_format,
                file,
                &mut interner,
                &mut skips,
                &mut |r| records.push(r),
            )?;
            not_billed += stats.not_billed;
            inputs.push(InputFile {
                path,
                kind: "usage",
                format: format.name(),
                records: stats.records,
                skipped: skips.total() - skipped_before,
            });
        }
        let mut counts = Counts {
            usage_records_read: records.len() as u64,
            usage_rows_not_billed: not_billed,
            ..Counts::default()
        };
        counts.duplicate_usage_records = dedupe(&mut records, describe(&inputs))?;
        let months = months_of(&records);
        let mut outside_period = Vec::new();
        if let Some(period) = args.period {
            records.retain(|r| {
                let inside = period.contains(&r.timestamp);
                if !inside {
                    outside_period.push(r.request_id.clone());
                    outside_period.extend(r.alt_request_id.clone());
                }
                inside
            });
            counts.out_of_period =
                counts.usage_records_read - counts.duplicate_usage_records - records.len() as u64;
        }
        counts.usage_records = records.len() as u64;
        Ok(Billing {
            pricing,
            interner,
            skips,
            inputs,
            records,
            costs: Vec::new(),
            counts,
            period: args.period,
            months,
            outside_period,
        })
    }

    /// Read every invoice file; lines dated outside the period are dropped
    /// and counted.
    pub fn read_invoices(
        &mut self,
        paths: &[PathBuf],
        format: Option<InvoiceFormat>,
    ) -> Result<Vec<InvoiceLine>> {
        let mut lines = Vec::new();
        for path in read::expand(paths, &[".csv", ".json", ".jsonl"])? {
            let file = self.inputs.len() as u32;
            let skipped_before = self.skips.total();
            let (format, mut read) =
                invoice::read_file(&path, format, file, &self.pricing.currency, &mut self.skips)?;
            let n = read.len() as u64;
            if let Some(period) = self.period {
                read.retain(|l| l.covers.is_none_or(|(f, l)| period.overlaps(f, l)));
                self.counts.invoice_lines_out_of_period += n - read.len() as u64;
            }
            lines.extend(read);
            self.inputs.push(InputFile {
                path,
                kind: "invoice",
                format: format.name(),
                records: n,
                skipped: self.skips.total() - skipped_before,
            });
        }
        Ok(lines)
    }

    /// Read every provider usage report; rows dated outside the period are
    /// dropped and counted.
    pub fn read_provider_usage(&mut self, paths: &[PathBuf]) -> Result<Vec<ProviderUsage>> {
        let mut rows = Vec::new();
        for path in read::expand(paths, &[".csv", ".json", ".jsonl"])? {
            let skipped_before = self.skips.total();
            let (format, mut read) = provider_usage::read_file(&path, &mut self.skips)?;
            let records = read.len() as u64;
            if let Some(period) = self.period {
                read.retain(|r| period.contains_day(r.day));
                self.counts.provider_usage_rows_out_of_period += records - read.len() as u64;
            }
            rows.extend(read);
            self.inputs.push(InputFile {
                path,
                kind: "provider-usage",
                format,
                records,
                skipped: self.skips.total() - skipped_before,
            });
        }
        Ok(rows)
    }

    /// Totals over every record, with trued-up costs when given.
    pub fn total(&self, billed: Option<&[Decimal]>) -> Totals {
        let mut total = Totals::default();
        for (i, (r, c)) in self.records.iter().zip(&self.costs).enumerate() {
            total.add(r, c, billed.map_or(Decimal::ZERO, |b| b[i]));
        }
        total
    }

    /// The sum of the costs the usage sources reported themselves, over the
    /// records that carry one; `None` when none does.
    pub fn reported_cost(&self) -> Option<Decimal> {
        let mut reported = self
            .records
            .iter()
            .filter_map(|r| r.reported_cost_usd)
            .peekable();
        reported.peek().is_some().then(|| reported.sum())
    }

    /// `summary.json` for this run, from its rounded totals.
    pub fn summary(&self, totals: TotalsJson) -> Summary {
        let mut counts = self.counts.clone();
        counts.skipped = self.skips.total();
        Summary {
            tokenledger_version: env!("CARGO_PKG_VERSION"),
            pricing: PricingInfo {
                source: self.pricing.source.clone(),
                version: self.pricing.version.clone(),
                currency: self.pricing.currency.clone(),
            },
            period: self.period.map(|p| p.to_string()),
            totals,
            counts,
            skipped: SkippedJson {
                by_kind: self.skips.by_kind.clone(),
                first: self.skips.first.clone(),
            },
            inputs: self.inputs.clone(),
            reconciliation: None,
            coverage: None,
            config: None,
            failed_gates: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

/// Renders an [`Origin`] as `file:line`.
pub fn describe(inputs: &[InputFile]) -> impl Fn(Origin) -> String + '_ {
    |o: Origin| format!("{}:{}", inputs[o.file as usize].path.display(), o.line)
}

/// Write to stdout; a closed pipe (`| head`) ends the program quietly.
pub fn print_stdout(bytes: &[u8]) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        result => result.map_err(|e| Error::io(Path::new("<stdout>"), e)),
    }
}

/// `summary.json` as written: pretty JSON and a final newline.
pub fn summary_json(summary: &Summary) -> Result<Vec<u8>> {
    let mut json = serde_json::to_vec_pretty(summary).map_err(|e| Error::fatal(e.to_string()))?;
    json.push(b'\n');
    Ok(json)
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
    /// The config file the defaults came from (set by `main`, not a flag).
    #[arg(skip)]
    pub config: Option<PathBuf>,
}

/// The checks a run made against what providers say: reconciliation with
/// the invoice and coverage against their usage reports.
pub struct Checks<'a> {
    /// The reconciliation, with `--invoice`.
    pub reconciliation: Option<Reconciliation>,
    /// The coverage, with `--provider-usage`.
    pub coverage: Option<Coverage>,
    /// The flags that set the gates.
    pub args: &'a CheckArgs,
}

impl<'a> Checks<'a> {
    /// Run the checks whose inputs were given.
    pub fn run(
        billing: &mut Billing,
        invoices: &[PathBuf],
        args: &'a CheckArgs,
    ) -> Result<Checks<'a>> {
        let invoice = billing.read_invoices(invoices, args.invoice_format)?;
        let provider_usage = billing.read_provider_usage(&args.provider_usage)?;
        let names = Names::new(&billing.records, &billing.pricing, &billing.interner);
        let reconciliation = (!invoices.is_empty()).then(|| {
            reconcile(
                &billing.records,
                &billing.costs,
                &invoice,
                &billing.pricing,
                &names,
                args.tolerance(),
            )
        });
        let coverage = (!args.provider_usage.is_empty())
            .then(|| coverage(&billing.records, &names, &billing.pricing, &provider_usage));
        Ok(Checks {
            reconciliation,
            coverage,
            args,
        })
    }

    /// Add the checks' parts to `summary.json`.
    pub fn summarise(&self, summary: &mut Summary) {
        summary.reconciliation = self.reconciliation.as_ref().map(ReconciliationJson::new);
        summary.coverage = self
            .coverage
            .as_ref()
            .map(|c| CoverageJson::new(c, self.args.min_coverage));
    }

    /// Write `reconciliation.csv` and `coverage.csv`.
    pub fn write(&self, outputs: &mut Outputs, raw: bool) -> Result<()> {
        if let Some(rec) = &self.reconciliation {
            outputs.put(
                "reconciliation.csv",
                &csv_bytes(raw, |w| reconciliation_csv(w, rec))?,
            )?;
        }
        if let Some(coverage) = &self.coverage {
            outputs.put(
                "coverage.csv",
                &csv_bytes(raw, |w| coverage_csv(w, coverage))?,
            )?;
        }
        Ok(())
    }

    /// The checks' part of the terminal output.
    pub fn terminal(&self, summary: &Summary) -> String {
        let mut text = self
            .reconciliation
            .as_ref()
            .map_or_else(String::new, reconciliation_terminal);
        if let Some(coverage) = &summary.coverage {
            text += &coverage_terminal(coverage);
        }
        text
    }

    /// The failed gates: the reconciliation drifts, or coverage is below
    /// the minimum.
    pub fn failed(&self) -> Vec<String> {
        let mut failed = Vec::new();
        if let Some(rec) = self.reconciliation.as_ref().filter(|r| r.failed()) {
            failed.push(format!(
                "reconciliation drift: {} beyond the tolerance (see reconciliation.csv)",
                rec.failing_summary()
            ));
        }
        if let (Some(coverage), Some(min)) = (&self.coverage, self.args.min_coverage) {
            let below = coverage.below(min);
            if below > 0 {
                failed.push(format!(
                    "coverage: {below} row(s) below --min-coverage {min} % (see coverage.csv)"
                ));
            }
        }
        failed
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
                "tokenledger: timing {name}: {:.3}s (total {:.3}s)",
                (now - self.last).as_secs_f64(),
                (now - self.start).as_secs_f64()
            );
            self.last = now;
        }
    }
}

/// A progress line on stderr while span files are read, only when stderr
/// is a terminal (never in pipes, logs or with `--quiet`): the file, its
/// share of the bytes, and the spans read so far, redrawn in place.
pub struct Progress {
    on: bool,
    bytes_total: u64,
    bytes_done: u64,
    spans: u64,
    shown_at: std::time::Instant,
}

impl Progress {
    /// Progress over `files`, shown unless `quiet` or stderr is not a terminal.
    pub fn new(files: &[PathBuf], quiet: bool) -> Progress {
        use std::io::IsTerminal;
        let on = !quiet && std::io::stderr().is_terminal();
        let bytes_total = if on {
            files
                .iter()
                .filter_map(|f| std::fs::metadata(f).ok())
                .map(|m| m.len())
                .sum()
        } else {
            0
        };
        Progress {
            on,
            bytes_total,
            bytes_done: 0,
            spans: 0,
            shown_at: std::time::Instant::now(),
        }
    }

    /// One more span read; the line is redrawn at most ten times a second.
    pub fn span(&mut self, file: &Path) {
        self.spans += 1;
        if self.on && self.spans % 4096 == 0 && self.shown_at.elapsed().as_millis() >= 100 {
            self.show(file);
        }
    }

    /// A file read to its end.
    pub fn file_done(&mut self, file: &Path) {
        if self.on {
            self.bytes_done += std::fs::metadata(file).map_or(0, |m| m.len());
            self.show(file);
        }
    }

    fn show(&mut self, file: &Path) {
        let pct = (self.bytes_done * 100)
            .checked_div(self.bytes_total)
            .unwrap_or(0);
        eprint!(
            "\r\x1b[2Ktokenledger: reading spans: {pct:>3} % of {} MB, {} spans ({})",
            self.bytes_total / 1_000_000,
            self.spans,
            crate::terminal::escape(&file.display().to_string())
        );
        self.shown_at = std::time::Instant::now();
    }

    /// Clear the line once reading is over.
    pub fn finish(&self) {
        if self.on {
            eprint!("\r\x1b[2K");
        }
    }
}
