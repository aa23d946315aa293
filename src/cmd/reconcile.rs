//! `tokenledger reconcile`: price the billed usage and compare it with the
//! invoice, line by line. Needs no spans. Exit 1 on drift, or on no usage
//! record in the period: a CI gate.

use std::path::PathBuf;

use super::{print_stdout, print_warnings, Outcome, OutputConfig};
use crate::error::Result;
use crate::ledger::column_totals;
use crate::pipeline::checks::check;
use crate::pipeline::config::{priced_inputs, CheckConfig, UsageConfig};
use crate::pipeline::output::{checks_terminal, write_checks};
use crate::pipeline::usage::Usage;
use crate::sanity::no_usage;
use crate::summary::TotalsJson;
use crate::write::summary::{not_read, summary_json};
use crate::write::{OutputKind, Outputs};

/// What `reconcile` is asked to do.
#[derive(Clone, Debug)]
pub struct ReconcileConfig {
    /// The usage.
    pub usage: UsageConfig,
    /// The invoices (at least one) and coverage.
    pub checks: CheckConfig,
    /// The outputs.
    pub output: OutputConfig,
    /// The config file the defaults came from, for the summary.
    pub config_file: Option<PathBuf>,
}

/// Reconcile.
pub fn run(config: &ReconcileConfig) -> Result<Outcome> {
    let (mut usage, mut intake) = Usage::read(&config.usage)?;
    usage.price(&intake)?;
    let (checks, _) = check(&config.checks, &usage, &mut intake)?;
    let total = usage.total();
    let totals = TotalsJson::new(&total, &column_totals(&total)?, usage.reported_cost());
    let mut summary = intake.summary(&usage.pricing, usage.period, totals);
    checks.summarise(&mut summary);
    summary.failed_gates = checks.failed();
    summary.warnings = checks.warnings.clone();
    // Nothing compared is no pass: a mistyped --period, or the month's
    // exports not landed yet.
    if summary.counts.usage_records == 0 {
        let period = usage.period.map(|p| p.to_string());
        (summary.failed_gates).insert(0, no_usage(period.as_deref(), &intake.months));
    }
    summary.config = config.config_file.as_ref().map(|c| c.display().to_string());
    summary.raw_csv = config.output.raw_csv;
    summary
        .warnings
        .extend(crate::pipeline::skipped_warning(&summary.skipped));
    let inputs = priced_inputs(&config.usage, &config.checks, config.config_file.as_ref());
    let outputs = Outputs::new(
        config.output.out.as_deref(),
        None,
        &inputs,
        OutputKind::Reconciliation,
    )?;
    write_checks(&checks, &outputs, config.output.raw_csv)?;
    outputs.put("summary.json", &summary_json(&summary)?)?;
    outputs.finish()?;
    if config.output.json {
        print_stdout(&summary_json(&summary)?)?;
    } else if !config.output.quiet {
        let text = checks_terminal(&checks, &summary) + &not_read(&summary);
        print_stdout(text.as_bytes())?;
    }
    if !config.output.quiet {
        print_warnings(&summary.warnings);
    }
    Ok(Outcome::of(summary.failed_gates))
}
