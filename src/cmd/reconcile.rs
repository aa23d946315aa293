//! `tokenledger reconcile`: price the billed usage and compare it with the
//! invoice, line by line. Needs no spans. Exit 1 on drift: a CI gate.

use std::path::PathBuf;

use super::{print_stdout, write_summary, Billing, CheckArgs, Outcome, UsageArgs};
use crate::error::{Error, Result};
use crate::reconcile::{reconcile, Names};
use crate::write::reconciliation::{reconciliation_csv, terminal, ReconciliationJson};
use crate::write::reports::column_totals;
use crate::write::summary::TotalsJson;
use crate::write::{csv_bytes, write_atomic};

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
    /// Write reconciliation.csv and summary.json into DIR.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print no table.
    #[arg(long)]
    pub quiet: bool,
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
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        write_atomic(
            dir,
            "reconciliation.csv",
            &csv_bytes(|out| reconciliation_csv(out, &rec))?,
        )?;
        let total = billing.total(None);
        let reported = billing.records.iter().map(|r| r.reported_cost_usd).sum();
        let mut summary =
            billing.summary(TotalsJson::new(&total, &column_totals(&total)?, reported));
        summary.reconciliation = Some(ReconciliationJson::new(&rec));
        write_summary(dir, &summary)?;
    }
    if !args.quiet {
        print_stdout(terminal(&rec).as_bytes())?;
    }
    Ok(if rec.failed() {
        Outcome::Fail
    } else {
        Outcome::Pass
    })
}
