//! `tokenledger reconcile`: price the billed usage and compare it with the
//! invoice, line by line. Needs no spans. Exit 1 on drift: a CI gate.

use std::path::PathBuf;

use super::{print_stdout, summary_json, Billing, CheckArgs, Outcome, OutputArgs, UsageArgs};
use crate::error::Result;
use crate::reconcile::{reconcile, Names};
use crate::write::reconciliation::{reconciliation_csv, terminal, ReconciliationJson};
use crate::write::reports::column_totals;
use crate::write::summary::TotalsJson;
use crate::write::{csv_bytes, OutDir};

/// Compare the computed cost of billed usage with the invoice; exit 1 on drift.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub usage: UsageArgs,
    /// Invoices or cost reports (files or directories of *.csv, *.json, *.jsonl).
    #[arg(long, required = true, num_args = 1.., value_name = "PATH")]
    pub invoice: Vec<PathBuf>,
    #[command(flatten)]
    pub check: CheckArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Reconcile.
pub fn run(args: &Args) -> Result<Outcome> {
    let mut billing = Billing::load(&args.usage)?;
    let invoice = billing.read_invoices(&args.invoice, args.check.invoice_format)?;
    let names = Names::new(&billing.records, &billing.pricing, &billing.interner);
    let rec = reconcile(
        &billing.records,
        &billing.costs,
        &invoice,
        &billing.pricing,
        &names,
        args.check.tolerance(),
    );
    if let Some(target) = &args.output.out {
        let dir = OutDir::create(target)?;
        let raw = args.output.raw_csv;
        dir.write(
            "reconciliation.csv",
            &csv_bytes(raw, |w| reconciliation_csv(w, &rec))?,
        )?;
        let total = billing.total(None);
        let mut summary = billing.summary(TotalsJson::new(
            &total,
            &column_totals(&total)?,
            billing.reported_cost(),
        ));
        summary.reconciliation = Some(ReconciliationJson::new(&rec));
        dir.write("summary.json", &summary_json(&summary)?)?;
        dir.commit()?;
    }
    if !args.output.quiet {
        print_stdout(terminal(&rec).as_bytes())?;
    }
    Ok(if rec.failed() {
        Outcome::Fail
    } else {
        Outcome::Pass
    })
}
