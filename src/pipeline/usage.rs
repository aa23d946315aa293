//! Stage 1 for usage: read every usage file, de-duplicate, keep the
//! period, price; then the invoices and provider usage reports, which
//! count their inputs and skips in the same place.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::Datelike;
use rust_decimal::Decimal;

use super::config::{CheckConfig, Period, UsageConfig};
use crate::attribute::Totals;
use crate::checks::Checks;
use crate::coverage::coverage;
use crate::error::{Result, Skips};
use crate::intern::Interner;
use crate::join::dedupe;
use crate::ledger::Counts;
use crate::model::{Cost, Origin, UsageRecord};
use crate::price::{apply_allowances, price_all, PriceTable};
use crate::read::invoice::{self, InvoiceFormat, InvoiceLine};
use crate::read::provider_usage::{self, ProviderUsage};
use crate::read::usage;
use crate::read::{self, InputFile, InputKind, SkippedFile};
use crate::reconcile::{reconcile, Names};
use crate::summary::{PricingInfo, SkippedJson, Summary, TotalsJson};

/// Billed usage read from every usage file, deduplicated, filtered to
/// the period and priced, with everything read so far.
pub struct Usage {
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
    pub months: BTreeMap<String, u64>,
    /// The ids (and alternative ids) of the records `--period` left out.
    pub outside_period: Vec<Box<str>>,
    /// Files of walked input directories not read.
    pub skipped_files: Vec<SkippedFile>,
}

impl Usage {
    /// Read, dedupe, filter and price the usage.
    pub fn load(config: &UsageConfig) -> Result<Usage> {
        let mut usage = Usage::read(config)?;
        apply_allowances(&usage.pricing, &mut usage.records, &mut usage.interner);
        usage.costs = price_all(&usage.pricing, &usage.records, &usage.interner)?;
        Ok(usage)
    }

    /// Read, dedupe and filter the usage, without pricing it (`costs` is empty).
    pub fn read(args: &UsageConfig) -> Result<Usage> {
        let pricing = PriceTable::resolve(args.pricing.as_deref())?;
        let mut interner = Interner::default();
        let mut skips = Skips::new(args.lenient);
        let mut inputs = Vec::new();
        let mut records = Vec::new();
        let mut not_billed = 0;
        let walked = read::expand(
            &args.paths,
            &[".csv", ".json", ".jsonl", ".log"],
            args.lenient,
        )?;
        for path in walked.files {
            let file = inputs.len() as u32;
            let skipped_before = skips.total();
            let (format, stats) = usage::read_file(
                &path,
                args.format,
                file,
                &mut interner,
                &mut skips,
                &mut |r| records.push(r),
            )?;
            not_billed += stats.not_billed;
            inputs.push(InputFile {
                path,
                kind: InputKind::Usage,
                format: format.name(),
                records: stats.records,
                skipped: skips.total() - skipped_before,
                part_of: None,
                fingerprint: None,
            });
        }
        let mut counts = Counts {
            usage_records_read: records.len() as u64,
            usage_rows_not_billed: not_billed,
            ..Counts::default()
        };
        let source = |o: Origin| {
            let name = inputs[o.file as usize].format;
            usage::UsageFormat::from_name(name).expect("a usage file's format")
        };
        counts.duplicate_usage_records = dedupe(&mut records, describe(&inputs), source)?;
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
        // Held to the end of the run: give back what growing the vector
        // left unused (up to half of it).
        records.shrink_to_fit();
        Ok(Usage {
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
            skipped_files: walked.skipped,
        })
    }

    /// Read the invoices and provider usage reports, and run the checks
    /// whose inputs were given.
    pub fn check(&mut self, config: &CheckConfig) -> Result<Checks> {
        let invoice = self.read_invoices(&config.invoices, config.invoice_format)?;
        let provider_usage = self.read_provider_usage(&config.provider_usage)?;
        let names = Names::new(&self.records, &self.pricing, &self.interner);
        let reconciliation = (!config.invoices.is_empty()).then(|| {
            reconcile(
                &self.records,
                &self.costs,
                &invoice,
                &self.pricing,
                &names,
                config.tolerance,
            )
        });
        let coverage = (!config.provider_usage.is_empty())
            .then(|| coverage(&self.records, &names, &self.pricing, &provider_usage));
        Ok(Checks {
            reconciliation,
            coverage,
            min_coverage: config.min_coverage,
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
        let walked = read::expand(paths, &[".csv", ".json", ".jsonl"], self.skips.is_lenient())?;
        self.skipped_files.extend(walked.skipped);
        for path in walked.files {
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
                kind: InputKind::Invoice,
                format: format.name(),
                records: n,
                skipped: self.skips.total() - skipped_before,
                part_of: None,
                fingerprint: None,
            });
        }
        Ok(lines)
    }

    /// Read every provider usage report; rows dated outside the period are
    /// dropped and counted.
    pub fn read_provider_usage(&mut self, paths: &[PathBuf]) -> Result<Vec<ProviderUsage>> {
        let mut rows = Vec::new();
        let walked = read::expand(paths, &[".csv", ".json", ".jsonl"], self.skips.is_lenient())?;
        self.skipped_files.extend(walked.skipped);
        for path in walked.files {
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
                kind: InputKind::ProviderUsage,
                format,
                records,
                skipped: self.skips.total() - skipped_before,
                part_of: None,
                fingerprint: None,
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
            skipped_files: self.skipped_files.clone(),
            reconciliation: None,
            coverage: None,
            config: None,
            failed_gates: Vec::new(),
            warnings: Vec::new(),
            raw_csv: false,
        }
    }
}

/// Records per UTC month (`YYYY-MM`).
fn months_of(records: &[UsageRecord]) -> BTreeMap<String, u64> {
    let mut by_month = BTreeMap::<(i32, u32), u64>::new();
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

/// Renders an [`Origin`] as `file:line`.
pub fn describe(inputs: &[InputFile]) -> impl Fn(Origin) -> String + '_ {
    |o: Origin| format!("{}:{}", inputs[o.file as usize].path.display(), o.line)
}
