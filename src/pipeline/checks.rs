//! Stage 6's inputs, read before the spans so that a bad file stops the
//! run early: the invoices and provider usage reports, compared with the
//! priced usage once ([`check`]), and under `--true-up` each record's
//! invoiced cost, from that one comparison.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::config::{CheckConfig, Period};
use super::intake::Intake;
use super::usage::Usage;
use crate::checks::Checks;
use crate::coverage::coverage;
use crate::error::{Error, Result};
use crate::model::Cost;
use crate::read::invoice::cur_manifest::{self, is_cur_manifest, CurManifests};
use crate::read::invoice::{self, Charge, InvoiceFormat, InvoiceLine};
use crate::read::provider_usage::{self, ProviderUsage};
use crate::read::{self, report_pages, InputFile, InputKind};
use crate::reconcile::{reconcile, Names};

/// The checks whose inputs were given, and under `--true-up` each
/// record's invoiced cost.
pub fn check(
    config: &CheckConfig,
    usage: &Usage,
    intake: &mut Intake,
) -> Result<(Checks, Option<Vec<Cost>>)> {
    let (invoice, mut cut_short, warnings) = read_invoices(config, usage, intake)?;
    let (provider_usage, reports_cut) = read_provider_usage(&config.provider_usage, usage, intake)?;
    let names = Names::new(&usage.records, &usage.pricing, &usage.interner);
    let (records, costs, table) = (&usage.records, &usage.costs, &usage.pricing);
    let reconciliation = (!config.invoices.is_empty())
        .then(|| reconcile(records, costs, &invoice, table, &names, config.tolerance));
    let coverage = (!config.provider_usage.is_empty())
        .then(|| coverage(records, &names, table, &provider_usage));
    let billed = reconciliation
        .as_ref()
        .filter(|_| config.true_up)
        .map(|rec| rec.billed(records, costs, &names, table));
    cut_short.extend(reports_cut);
    let checks = Checks {
        reconciliation,
        coverage,
        min_coverage: config.min_coverage,
        cut_short,
        warnings,
    };
    Ok((checks, billed))
}

/// Read every invoice file; lines outside the period are dropped and
/// counted. Model usage is compared with the usage of the period's UTC days,
/// so its lines are kept by the day they start on, and a line across the
/// period's edge is warned of; every other line (credits, tax, corrections,
/// fixed charges) by the billing period the bill files it under where it
/// says, since it may be dated in another month. Returns the lines, the
/// bills read without their last page, and the warnings.
fn read_invoices(
    config: &CheckConfig,
    usage: &Usage,
    intake: &mut Intake,
) -> Result<(Vec<InvoiceLine>, Vec<String>, Vec<String>)> {
    let (mut lines, mut warnings) = (Vec::new(), Vec::new());
    one_rate_per_currency(&config.fx)?;
    let context = invoice::Context::new(&usage.pricing.currency, &config.fx, &usage.pricing);
    let walked = read::expand(
        &config.invoices,
        &[".csv", ".json", ".jsonl"],
        intake.skips.is_lenient(),
    )?;
    intake.skipped_files.extend(walked.skipped);
    // Each bill's content, to refuse one given twice.
    let mut seen: HashMap<crate::manifest::Sha, PathBuf> = HashMap::new();
    let mut azure_rows = Vec::new();
    let (manifests, manifest_paths) = cur_manifests(&walked.files, intake)?;
    let mut cur_files = Vec::new();
    for path in walked.files {
        if manifest_paths.contains(&path) {
            continue;
        }
        let file = intake.inputs.len() as u32;
        let skipped_before = intake.skips.total();
        let text = read::read_text(&path)?;
        let format = invoice::format_of(&path, &text, config.invoice_format)?;
        if let Some(why) = passed_over(&manifests, &path, format) {
            intake.skip_file(path, why);
            continue;
        }
        if matches!(
            format,
            InvoiceFormat::AwsCur | InvoiceFormat::Focus | InvoiceFormat::AzureCost
        ) {
            cur_files.push(path.clone());
        }
        let parsed = invoice::parse_text(
            &path,
            &text,
            Some(format),
            file,
            &context,
            &mut intake.skips,
        );
        let (format, mut read) = parsed?;
        not_seen(&mut seen, &text, &path, read.is_empty(), "bill")?;
        if format == InvoiceFormat::AzureCost {
            azure_rows.push((path.clone(), row_keys(&text)));
        }
        let n = read.len() as u64;
        if let Some(period) = usage.period {
            warnings.extend(across_edge(&path, &read, &period));
            warnings.extend(filed_here_dated_elsewhere(&path, &read, &period));
            read.retain(|line| in_period(line, &period));
            intake.counts.invoice_lines_out_of_period += n - read.len() as u64;
        }
        lines.extend(read);
        intake.inputs.push(InputFile {
            path,
            kind: InputKind::Invoice,
            format: format.name(),
            records: n,
            skipped: intake.skips.total() - skipped_before,
            part_of: None,
            fingerprint: None,
        });
    }
    fetched_once(&lines, intake)?;
    manifests.check_complete(&cur_files)?;
    cur_manifest::check_one_version(&cur_files)?;
    rows_once(azure_rows)?;
    let cut_short = report_pages::cut_short(&context.pages.take(), days(usage));
    Ok((lines, cut_short, warnings))
}

/// Why a bill file is passed over: an AWS file of another version than a
/// manifest over it lists. A manifest lists AWS's files: another
/// provider's bill beside them is read whatever it says.
fn passed_over(manifests: &CurManifests, path: &Path, format: InvoiceFormat) -> Option<String> {
    let aws = matches!(format, InvoiceFormat::AwsCur | InvoiceFormat::Focus);
    manifests.passed_over(path).filter(|_| aws)
}

/// Refuse a bill (or report: `what`) whose content was read already
/// (`x.csv` beside its `x.csv.gz`): summed, it would double the invoice.
/// Two alike but `empty` (a header, a page of no data) are two empty months.
fn not_seen(
    seen: &mut HashMap<crate::manifest::Sha, PathBuf>,
    text: &str,
    path: &Path,
    empty: bool,
    what: &str,
) -> Result<()> {
    match seen.insert(content_sha(text), path.to_path_buf()) {
        Some(other) if !empty => Err(Error::fatal(format!(
            "{}: the same {what} as {} (the same content): give one of them",
            path.display(),
            other.display()
        ))),
        _ => Ok(()),
    }
}

/// Each row of a CSV bill by its content, with its line (the first, for a
/// row the file repeats).
fn row_keys(text: &str) -> HashMap<u128, u64> {
    use sha2::{Digest, Sha256};
    let mut keys = HashMap::new();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    // A row the reader cannot read was refused (or skipped) as the bill
    // was read.
    for record in reader.byte_records().filter_map(|r| r.ok()) {
        let mut hasher = Sha256::new();
        for field in &record {
            hasher.update((field.len() as u64).to_le_bytes());
            hasher.update(field);
        }
        let key = u128::from_le_bytes(hasher.finalize()[..16].try_into().expect("16 bytes"));
        let line = record.position().map_or(0, |p| p.line());
        keys.entry(key).or_insert(line);
    }
    keys
}

/// Refuse an Azure cost row given in two files (an actual-cost and an
/// amortized export of one scope, exports of two scopes that overlap, a
/// month-to-date export renamed beside its month's): summed, its cost
/// would count twice. Rows are compared whole; one file may repeat a row.
fn rows_once(files: Vec<(PathBuf, HashMap<u128, u64>)>) -> Result<()> {
    let mut seen: HashMap<u128, (&Path, u64)> = HashMap::new();
    for (path, keys) in &files {
        let mut rows: Vec<(u64, u128)> = keys.iter().map(|(&key, &line)| (line, key)).collect();
        rows.sort_unstable();
        if let Some((line, (other, at))) = rows.iter().find_map(|(l, k)| Some((l, seen.get(k)?))) {
            return Err(Error::fatal(format!(
                "{}:{line}: the same Azure cost row as {}:{at}: an actual-cost and an amortized \
                 export of one scope, or two exports that overlap? summed, its cost would count \
                 twice: give one of them",
                path.display(),
                other.display()
            )));
        }
        seen.extend(
            rows.into_iter()
                .map(|(line, key)| (key, (path.as_path(), line))),
        );
    }
    Ok(())
}

/// Refuse a provider's day billed both in one line and in grouped lines of
/// the same amount: one cost report fetched twice, grouped and not.
fn fetched_once(lines: &[InvoiceLine], intake: &Intake) -> Result<()> {
    let Some((whole, grouped)) = crate::reconcile::fetched_twice(lines) else {
        return Ok(());
    };
    let at = |l: &InvoiceLine| {
        let path = intake.inputs[l.origin.file as usize].path.display();
        let line = l.origin.line;
        format!("{path}:{line}")
    };
    Err(Error::fatal(format!(
        "{}: the {} usage of {} is billed not grouped ({}) and grouped ({}, …) for the same \
         amount: one cost report fetched twice, grouped and not? give one of them",
        at(whole),
        whole.provider,
        whole.day.map_or(String::new(), |d| d.to_string()),
        whole.amount,
        at(grouped)
    )))
}

/// The run's period as its first and last day, if it has one.
fn days(usage: &Usage) -> Option<(chrono::NaiveDate, chrono::NaiveDate)> {
    usage.period.map(|p| (p.first_day(), p.last_day()))
}

/// Refuse two `--fx` rates for one currency: which one converts the bill
/// would be an accident of the flags' order.
fn one_rate_per_currency(fx: &[(String, rust_decimal::Decimal)]) -> Result<()> {
    for (i, (currency, rate)) in fx.iter().enumerate() {
        if let Some((_, other)) = fx[..i].iter().find(|(c, r)| c == currency && r != rate) {
            return Err(Error::fatal(format!(
                "--fx gives {currency} two rates, {other} and {rate}: give one"
            )));
        }
    }
    Ok(())
}

/// The SHA-256 of a bill's text with its line endings as `\n`: a copy
/// saved with Windows line endings is the same bill.
fn content_sha(text: &str) -> crate::manifest::Sha {
    let mut hasher = crate::manifest::Hasher::default();
    for (i, line) in text.split("\r\n").enumerate() {
        if i > 0 {
            hasher.update(b"\n");
        }
        hasher.update(line.as_bytes());
    }
    hasher.finish()
}

/// Warn of the usage lines of `path` that cover days on both sides of the
/// period's edge (a 24-hour bucket fetched from local midnight, a bill
/// line over two months): each is counted whole in the month it starts in
/// (never in both), so usage on the other side of the edge shows as a
/// drift, which is not a wrong rate.
fn across_edge(path: &Path, lines: &[InvoiceLine], period: &Period) -> Option<String> {
    let across: Vec<String> = (lines.iter())
        .filter(|line| matches!(line.charge, Charge::Usage | Charge::Unmapped))
        .filter_map(|line| line.covers.map(|covers| (line, covers)))
        .filter(|(_, (first, last))| period.contains_day(*first) != period.contains_day(*last))
        .map(|(line, (first, last))| {
            let at = { line.origin.line };
            format!("line {at} ({first} to {last})")
        })
        .collect();
    let first = across.first()?;
    Some(format!(
        "{}: {} usage line(s) across the edge of {period}, the first {first}: each is counted \
         whole in the month it starts in, so usage on the other side shows as a drift, not a \
         wrong rate; export the bill by UTC day (cost report buckets from UTC midnight) or by \
         month",
        path.display(),
        across.len()
    ))
}

/// Warn of the lines of `path` its bill files under `period` but that are
/// usage of another UTC month (Google's Pacific-time invoice month holds
/// the first hours of the next UTC month; a late row of the last month is
/// filed under this one): they are left out, as the usage they are
/// compared with is that month's, so only a run of that month given this
/// bill counts them.
fn filed_here_dated_elsewhere(
    path: &Path,
    lines: &[InvoiceLine],
    period: &Period,
) -> Option<String> {
    let elsewhere: Vec<&InvoiceLine> = (lines.iter())
        .filter(|line| {
            line.billing_period
                .is_some_and(|day| period.contains_day(day))
        })
        .filter(|line| !in_period(line, period))
        .collect();
    let first = elsewhere.first()?;
    let amount: rust_decimal::Decimal = elsewhere.iter().map(|line| line.amount).sum();
    let day = first
        .covers
        .map_or(String::new(), |(day, _)| format!(", {day}"));
    Some(format!(
        "{}: {} usage line(s) the bill files under {period} ({} in all, credits given on them \
         aside) are dated in another UTC month (the first line {}{day}): left out of {period}'s \
         total and allocation, as the usage they are compared with is that month's; a run of \
         that month given this bill too counts them",
        path.display(),
        elsewhere.len(),
        amount.normalize(),
        { first.origin.line }
    ))
}

/// Whether a bill line is `period`'s: a model-usage line (or one filed
/// under no billing period) by the UTC day it starts on, so a bucket cut
/// at another midnight, or a week, that crosses into the next month is
/// compared (and trued up) in one month, not two; another line by the
/// billing period it is filed under.
fn in_period(line: &InvoiceLine, period: &Period) -> bool {
    match (line.charge, line.billing_period) {
        (Charge::Usage | Charge::Unmapped, _) | (_, None) => line
            .covers
            .is_none_or(|(first, _)| period.contains_day(first)),
        (_, Some(first_day)) => period.contains_day(first_day),
    }
}

/// The AWS CUR manifests among the bill files (passed over with a note:
/// not bills), and their paths.
fn cur_manifests(files: &[PathBuf], intake: &mut Intake) -> Result<(CurManifests, Vec<PathBuf>)> {
    let (mut manifests, mut paths) = (CurManifests::default(), Vec::new());
    for path in files
        .iter()
        .filter(|p| p.to_string_lossy().ends_with(".json"))
    {
        let text = read::read_text(path)?;
        if is_cur_manifest(&text) {
            manifests.add(path, &text)?;
            let why = "an AWS bill delivery's manifest (it lists the report's files): not a bill";
            intake.skip_file(path.clone(), why.to_string());
            paths.push(path.clone());
        } else if let Some(why) = cur_manifest::other_delivery_file(&text) {
            intake.skip_file(path.clone(), why.to_string());
            paths.push(path.clone());
        }
    }
    Ok((manifests, paths))
}

/// The provider usage reports' rows of the period (rows dated outside it
/// dropped and counted), each provider's tokens counted once (a report
/// given twice, a bucket read again, one time at two widths or given twice
/// grouped otherwise is refused), and the reports read without their last
/// page, each said in a sentence.
fn read_provider_usage(
    paths: &[PathBuf],
    usage: &Usage,
    intake: &mut Intake,
) -> Result<(Vec<ProviderUsage>, Vec<String>)> {
    let (mut rows, mut buckets, mut pages) = (Vec::new(), Vec::new(), Vec::new());
    let walked = read::expand(
        paths,
        &[".csv", ".json", ".jsonl"],
        intake.skips.is_lenient(),
    )?;
    intake.skipped_files.extend(walked.skipped);
    let mut seen = HashMap::new();
    for path in walked.files {
        let skipped_before = intake.skips.total();
        let text = read::read_text(&path)?;
        let mut report = provider_usage::parse_text(&path, &text, &mut intake.skips)?;
        not_seen(&mut seen, &text, &path, report.rows.is_empty(), "report")?;
        let records = report.rows.len() as u64;
        if let Some(period) = usage.period {
            report.rows.retain(|r| period.contains_day(r.day));
            intake.counts.provider_usage_rows_out_of_period += records - report.rows.len() as u64;
        }
        rows.extend(report.rows);
        buckets.extend(report.buckets.into_iter().map(|b| (path.clone(), b)));
        pages.extend(report.pages);
        intake.inputs.push(InputFile {
            path,
            kind: InputKind::ProviderUsage,
            format: report.format,
            records,
            skipped: intake.skips.total() - skipped_before,
            part_of: None,
            fingerprint: None,
        });
    }
    provider_usage::check_buckets(&buckets)?;
    Ok((rows, report_pages::cut_short(&pages, days(usage))))
}
