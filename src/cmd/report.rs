//! `tokenledger report`: the whole pipeline, read → tree → join → price →
//! attribute → (reconcile) → write.

use std::path::PathBuf;

use super::{
    print_stdout, summary_json, Billing, CheckArgs, Checks, Outcome, OutputArgs, Timings, UsageArgs,
};
use crate::attribute::{attribute, Table, REPORTS};
use crate::error::{Error, Result};
use crate::join::join;
use crate::money::Micros;
use crate::read::spans::AttrKeys;
use crate::read::{self, InputFile};
use crate::reconcile::Names;
use crate::tree::Forest;
use crate::write::reports::{
    check_conservation, column_totals, report_csv, round_table, unattributed_csv, unbilled_csv,
    RoundedRow,
};
use crate::write::summary::{terminal_summary, TotalsJson};
use crate::write::{csv_bytes, OutDir};

/// Attribute a month of billed usage to the spans that made it.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Span files or directories (every *.json, *.jsonl inside): OTLP JSON
    /// lines or one OTLP JSON document per file.
    #[arg(long, required = true, num_args = 1.., value_name = "PATH")]
    pub spans: Vec<PathBuf>,
    /// Usage inputs, pricing and period.
    #[command(flatten)]
    pub usage: UsageArgs,
    /// Where and how the outputs are written.
    #[command(flatten)]
    pub output: OutputArgs,
    /// Write one report as CSV to stdout (the summary then goes to stderr).
    #[arg(long, value_name = "REPORT", value_parser = REPORTS)]
    pub print: Option<String>,
    /// Span attribute keys naming the tenant, tried in order.
    #[arg(
        long,
        value_name = "KEY",
        value_delimiter = ',',
        default_value = "tenant.id,gen_ai.conversation.id"
    )]
    pub tenant_attr: Vec<String>,
    /// Threads parsing span files [default: one per core]. Results are the
    /// same for any number.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Span attribute key naming the feature.
    #[arg(long, value_name = "KEY", default_value = "app.feature")]
    pub feature_attr: String,
    /// Span attributes holding the provider's request id, tried in order
    /// (e.g. gen_ai.response.id,aws.request_id).
    #[arg(
        long,
        value_name = "KEY",
        value_delimiter = ',',
        default_value = "gen_ai.response.id"
    )]
    pub join_attr: Vec<String>,
    /// Invoices or cost reports to reconcile against (writes reconciliation.csv).
    #[arg(long, num_args = 1.., value_name = "PATH")]
    pub invoice: Vec<PathBuf>,
    /// With --invoice: add billed_usd to every report, each invoice line's
    /// residual spread over its rows pro rata to computed cost.
    #[arg(long, requires = "invoice")]
    pub true_up: bool,
    /// Invoice and coverage checks.
    #[command(flatten)]
    pub check: CheckArgs,
}

/// Run the pipeline.
pub fn run(args: &Args) -> Result<Outcome> {
    if args.tenant_attr.len() > usize::from(u8::MAX) {
        return Err(Error::fatal("--tenant-attr: at most 255 keys"));
    }
    let mut timings = Timings::start();
    let mut billing = Billing::load(&args.usage)?;
    timings.phase("read and price usage");
    let checks = Checks::run(&mut billing, &args.invoice, &args.check)?;
    timings.phase("checks");

    // read: spans, then tree
    let keys = AttrKeys {
        tenant: args.tenant_attr.clone(),
        feature: args.feature_attr.clone(),
        join: args.join_attr.clone(),
    };
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mut forest = Forest::default();
    for path in read::expand(&args.spans, &[".json", ".jsonl"])? {
        let file = billing.inputs.len() as u32;
        let (n, dialect) = read::spans::read_file(
            &path,
            file,
            &keys,
            threads,
            &mut billing.interner,
            &mut billing.skips,
            &mut |s| forest.insert(s),
        )?;
        billing.counts.spans += n;
        billing.inputs.push(InputFile {
            path,
            kind: "spans",
            format: dialect.name(),
            records: n,
        });
    }
    timings.phase("read spans");
    let resolved = forest.resolve(super::describe(&billing.inputs), &mut billing.skips)?;
    timings.phase("resolve trees");
    let counts = &mut billing.counts;
    counts.traces = resolved.traces;
    counts.calls = resolved.calls.len() as u64;
    counts.orphan_spans = resolved.orphan_spans;
    counts.duplicate_spans = resolved.duplicate_spans;
    counts.wrapper_spans = resolved.wrapper_spans;

    // join, reconcile, attribute
    let joined = join(&resolved.calls, &billing.records);
    let names = Names::new(&billing.records, &billing.pricing, &billing.interner);
    let rec = checks.reconciliation.as_ref();
    let billed = match (rec, args.true_up) {
        (Some(rec), true) => Some(rec.billed(&billing.records, &billing.costs, &names)),
        _ => None,
    };
    let ledger = attribute(
        &billing.records,
        &billing.costs,
        billed.as_deref(),
        &resolved.calls,
        &joined,
    );
    billing.counts.matched = ledger.matched;
    billing.counts.unattributed = ledger.unattributed.len() as u64;
    billing.counts.unbilled_calls = joined.unbilled.len() as u64;

    timings.phase("join and attribute");
    // write
    let columns = column_totals(&ledger.total)?;
    let invoice_only = billed.as_ref().and(rec).map(|r| r.invoice_only);
    let billed_target = invoice_only.map(|only| Micros::round(ledger.total.billed + only));
    let mut tables = ledger.tables(&billing.interner, invoice_only);
    let mut rounded = Vec::with_capacity(tables.len());
    for table in &mut tables {
        rounded.push(round_table(table, &columns, billed_target)?);
    }
    let rounded: Vec<(&Table, Vec<RoundedRow>)> = tables.iter().zip(rounded).collect();
    let mut summary = billing.summary(TotalsJson::new(
        &ledger.total,
        &columns,
        billing.reported_cost(),
    ));
    checks.summarise(&mut summary);

    check_conservation(&rounded, &summary.counts, &columns, billed_target)?;

    let raw = args.output.raw_csv;
    if let Some(target) = &args.output.out {
        let dir = OutDir::create(target)?;
        for (table, rows) in &rounded {
            let bytes = csv_bytes(raw, |w| report_csv(w, table, rows, &ledger.total))?;
            dir.write(&format!("by_{}.csv", table.name), &bytes)?;
        }
        let unattributed: Vec<_> = ledger
            .unattributed
            .iter()
            .map(|&i| &billing.records[i])
            .collect();
        let costs: Vec<_> = ledger
            .unattributed
            .iter()
            .map(|&i| billing.costs[i].total())
            .collect();
        let (interner, inputs) = (&billing.interner, &billing.inputs);
        let bytes = csv_bytes(raw, |w| {
            unattributed_csv(w, &unattributed, &costs, interner, inputs)
        })?;
        dir.write("unattributed.csv", &bytes)?;
        let bytes = csv_bytes(raw, |w| {
            unbilled_csv(w, &resolved.calls, &joined.unbilled, interner, inputs)
        })?;
        dir.write("unbilled_spans.csv", &bytes)?;
        checks.write(&dir, raw)?;
        dir.write("summary.json", &summary_json(&summary)?)?;
        dir.commit()?;
    }

    let find = |name: &str| {
        rounded
            .iter()
            .find(|(t, _)| t.name == name)
            .expect("every report is built")
    };
    if let Some(name) = &args.print {
        let (table, rows) = find(name);
        print_stdout(&csv_bytes(raw, |w| {
            report_csv(w, table, rows, &ledger.total)
        })?)?;
    }
    if !args.output.quiet {
        let mut text = terminal_summary(&summary, &find("tenant").1, &find("feature").1);
        text += &checks.terminal(&summary);
        if args.print.is_some() {
            eprint!("{text}");
        } else {
            print_stdout(text.as_bytes())?;
        }
    }
    timings.phase("write");
    let outcome = checks.outcome();
    // The process ends next and the system takes its memory back at once;
    // freeing millions of small allocations one by one would take a
    // noticeable share of a large run.
    std::mem::forget(rounded);
    std::mem::forget((tables, ledger, joined, resolved, billing));
    Ok(outcome)
}
