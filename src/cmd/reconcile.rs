//! `tokenledger reconcile`: price the billed usage and compare it with the
//! invoice, line by line. Needs no spans. Exit 1 on drift: a CI gate.

use std::path::PathBuf;

use super::{
    print_stdout, summary_json, Billing, CheckArgs, Checks, Outcome, OutputArgs, UsageArgs,
};
use crate::error::Result;
use crate::write::reports::column_totals;
use crate::write::summary::TotalsJson;
use crate::write::Outputs;

/// Compare the computed cost of billed usage with the invoice; exit 1 on drift.
#[derive(Debug, clap::Args)]
pub struct Args {
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

/// Reconcile.
pub fn run(args: &Args) -> Result<Outcome> {
    let mut billing = Billing::load(&args.usage)?;
    let checks = Checks::run(&mut billing, &args.invoice, &args.check)?;
    let total = billing.total(None);
    let mut summary = billing.summary(TotalsJson::new(
        &total,
        &column_totals(&total)?,
        billing.reported_cost(),
    ));
    checks.summarise(&mut summary);
    summary.config = args.output.config.as_ref().map(|c| c.display().to_string());
    let mut outputs = Outputs::new(args.output.out.as_deref(), None)?;
    checks.write(&mut outputs, args.output.raw_csv)?;
    outputs.put("summary.json", &summary_json(&summary)?)?;
    outputs.finish()?;
    if args.output.json {
        print_stdout(&summary_json(&summary)?)?;
    } else if !args.output.quiet {
        print_stdout(checks.terminal(&summary).as_bytes())?;
    }
    Ok(Outcome::of(checks.failed()))
}
