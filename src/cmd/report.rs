//! `tokenledger report`: the whole pipeline, read → tree → join → price →
//! attribute → write.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Utc};
use rust_decimal::Decimal;

use crate::attribute::{attribute, Table, REPORTS};
use crate::error::{Error, Result, Skips};
use crate::intern::Interner;
use crate::join::{dedupe, join};
use crate::model::{Origin, UsageRecord};
use crate::money::{apportion, Micros};
use crate::price::{price_all, PriceTable};
use crate::read::otlp::AttrKeys;
use crate::read::usage::UsageFormat;
use crate::read::{self, InputFile};
use crate::tree::{Call, Forest};
use crate::write::{self, Counts, PricingInfo, RoundedRow, SkippedJson, Summary, TotalsJson};

/// Attribute a month of billed usage to the spans that made it.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Span files or directories (every *.json, *.jsonl inside): OTLP JSON
    /// lines or one OTLP JSON document per file.
    #[arg(long, required = true, num_args = 1.., value_name = "PATH")]
    pub spans: Vec<PathBuf>,
    /// Billed usage files or directories (every *.csv inside), in the
    /// canonical usage CSV.
    #[arg(long, required = true, num_args = 1.., value_name = "PATH")]
    pub usage: Vec<PathBuf>,
    /// Pricing table [default: ./pricing.toml if present, else the built-in table].
    #[arg(long, value_name = "FILE")]
    pub pricing: Option<PathBuf>,
    /// Write every report, the listings and summary.json into DIR.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write one report as CSV to stdout (the summary then goes to stderr).
    #[arg(long, value_name = "REPORT", value_parser = REPORTS)]
    pub print: Option<String>,
    /// Keep only usage records in this UTC month (YYYY-MM).
    #[arg(long, value_name = "YYYY-MM", value_parser = Period::parse)]
    pub period: Option<Period>,
    /// Span attribute keys naming the tenant, tried in order.
    #[arg(
        long,
        value_name = "KEY",
        value_delimiter = ',',
        default_value = "tenant.id,gen_ai.conversation.id"
    )]
    pub tenant_attr: Vec<String>,
    /// Span attribute key naming the feature.
    #[arg(long, value_name = "KEY", default_value = "app.feature")]
    pub feature_attr: String,
    /// Span attribute holding the provider's request id.
    #[arg(long, value_name = "KEY", default_value = "gen_ai.response.id")]
    pub join_attr: String,
    /// Skip malformed records (counted in the summary) instead of stopping.
    #[arg(long)]
    pub lenient: bool,
    /// Print no summary.
    #[arg(long)]
    pub quiet: bool,
}

/// A UTC calendar month.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    year: i32,
    month: u32,
}

impl Period {
    fn parse(text: &str) -> std::result::Result<Period, String> {
        let bad = || format!("expected a month as YYYY-MM (e.g. 2025-06), got \"{text}\"");
        let (y, m) = text.split_once('-').ok_or_else(bad)?;
        let (year, month) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if y.len() != 4 || m.len() != 2 || !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Period { year, month })
    }

    fn contains(&self, t: &DateTime<Utc>) -> bool {
        t.year() == self.year && t.month() == self.month
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Run the pipeline.
pub fn run(args: &Args) -> Result<()> {
    if args.tenant_attr.len() > usize::from(u8::MAX) {
        return Err(Error::fatal("--tenant-attr: at most 255 keys"));
    }
    let pricing = PriceTable::resolve(args.pricing.as_deref())?;
    let mut interner = Interner::default();
    let mut skips = Skips::new(args.lenient);
    let mut inputs: Vec<InputFile> = Vec::new();
    let mut counts = Counts::default();

    // read: usage
    let mut records: Vec<UsageRecord> = Vec::new();
    for path in read::expand(&args.usage, &[".csv"])? {
        let format = UsageFormat::detect(&path)?;
        let file = inputs.len() as u32;
        let n = read::usage::read_file(&path, format, file, &mut interner, &mut skips, &mut |r| {
            records.push(r)
        })?;
        inputs.push(InputFile {
            path,
            kind: "usage",
            format: format.name(),
            records: n,
        });
    }
    counts.usage_records_read = records.len() as u64;
    let describe = |o: Origin| format!("{}:{}", inputs[o.file as usize].path.display(), o.line);
    counts.duplicate_usage_records = dedupe(&mut records, describe)?;
    if let Some(period) = args.period {
        records.retain(|r| period.contains(&r.timestamp));
        counts.out_of_period =
            counts.usage_records_read - counts.duplicate_usage_records - records.len() as u64;
    }
    counts.usage_records = records.len() as u64;

    // price
    let costs = price_all(&pricing, &records, &interner)?;

    // read: spans, then tree
    let keys = AttrKeys {
        tenant: args.tenant_attr.clone(),
        feature: args.feature_attr.clone(),
        join: args.join_attr.clone(),
    };
    let mut forest = Forest::default();
    for path in read::expand(&args.spans, &[".json", ".jsonl"])? {
        let file = inputs.len() as u32;
        let n = read::otlp::read_file(&path, file, &keys, &mut interner, &mut skips, &mut |s| {
            forest.insert(s)
        })?;
        counts.spans += n;
        inputs.push(InputFile {
            path,
            kind: "spans",
            format: "otlp-json",
            records: n,
        });
    }
    let describe = |o: Origin| format!("{}:{}", inputs[o.file as usize].path.display(), o.line);
    let resolved = forest.resolve(describe)?;
    counts.traces = resolved.traces;
    counts.calls = resolved.calls.len() as u64;
    counts.orphan_spans = resolved.orphan_spans;
    counts.duplicate_spans = resolved.duplicate_spans;
    counts.wrapper_spans = resolved.wrapper_spans;

    // join, attribute
    let joined = join(&resolved.calls, &records);
    let ledger = attribute(&records, &costs, &resolved.calls, &joined);
    counts.matched = ledger.matched;
    counts.unattributed = ledger.unattributed.len() as u64;
    counts.unbilled_calls = joined.unbilled.len() as u64;
    counts.skipped = skips.total();

    // write
    let columns = write::column_totals(&ledger.total)?;
    let tables = ledger.tables(&interner);
    let rounded = tables
        .iter()
        .map(|t| write::round_table(t, &columns).map(|rows| (t, rows)))
        .collect::<Result<Vec<(&Table, Vec<RoundedRow>)>>>()?;
    let reported: Option<Decimal> = records.iter().map(|r| r.reported_cost_usd).sum();
    let summary = Summary {
        tokenledger_version: env!("CARGO_PKG_VERSION"),
        pricing: PricingInfo {
            source: pricing.source.clone(),
            version: pricing.version.clone(),
            currency: pricing.currency.clone(),
        },
        period: args.period.map(|p| p.to_string()),
        totals: TotalsJson::new(&ledger.total, &columns, reported),
        counts,
        skipped: SkippedJson {
            by_kind: skips.by_kind.clone(),
            first: skips.first.clone(),
        },
        inputs: inputs.clone(),
    };

    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        for (table, rows) in &rounded {
            let bytes = write::csv_bytes(|out| write::report_csv(out, table, rows, &ledger.total))?;
            write::write_atomic(dir, &format!("by_{}.csv", table.name), &bytes)?;
        }
        let unattributed: Vec<&UsageRecord> =
            ledger.unattributed.iter().map(|&i| &records[i]).collect();
        let unattributed_costs: Vec<_> = ledger
            .unattributed
            .iter()
            .map(|&i| costs[i].total())
            .collect();
        let bytes = write::csv_bytes(|out| {
            unattributed_csv(out, &unattributed, &unattributed_costs, &interner, &inputs)
        })?;
        write::write_atomic(dir, "unattributed.csv", &bytes)?;
        let bytes = write::csv_bytes(|out| {
            unbilled_csv(out, &resolved.calls, &joined.unbilled, &interner, &inputs)
        })?;
        write::write_atomic(dir, "unbilled_spans.csv", &bytes)?;
        let mut json =
            serde_json::to_vec_pretty(&summary).map_err(|e| Error::fatal(e.to_string()))?;
        json.push(b'\n');
        write::write_atomic(dir, "summary.json", &json)?;
    }

    let find = |name: &str| {
        rounded
            .iter()
            .find(|(t, _)| t.name == name)
            .expect("every report is built")
    };
    if let Some(name) = &args.print {
        let (table, rows) = find(name);
        let bytes = write::csv_bytes(|out| write::report_csv(out, table, rows, &ledger.total))?;
        print_stdout(&bytes)?;
    }
    if !args.quiet {
        let text = write::terminal_summary(&summary, &find("tenant").1, &find("feature").1);
        if args.print.is_some() {
            eprint!("{text}");
        } else {
            print_stdout(text.as_bytes())?;
        }
    }
    Ok(())
}

/// Write to stdout; a closed pipe (`| head`) ends the program quietly.
fn print_stdout(bytes: &[u8]) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        result => result.map_err(|e| Error::io(Path::new("<stdout>"), e)),
    }
}

/// `unattributed.csv`: every usage record that joined no span.
fn unattributed_csv(
    out: &mut Vec<u8>,
    records: &[&UsageRecord],
    costs: &[Decimal],
    interner: &Interner,
    inputs: &[InputFile],
) -> csv::Result<()> {
    let rounded = apportion(costs, Micros::round(costs.iter().sum()))
        .expect("a rounding of the sum always splits");
    let mut w = csv::Writer::from_writer(out);
    let mut header = vec!["request_id", "timestamp", "provider", "model"];
    header.extend(crate::model::TokenType::ALL.map(|t| t.tokens_column()));
    header.extend(["batch", "cost_usd", "reported_cost_usd", "source"]);
    w.write_record(&header)?;
    for (r, cost) in records.iter().zip(rounded) {
        let mut row = vec![
            r.request_id.to_string(),
            r.timestamp
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            interner.get(r.provider).to_string(),
            interner.get(r.model).to_string(),
        ];
        row.extend(r.tokens.0.iter().map(u64::to_string));
        row.push(r.batch.to_string());
        row.push(cost.to_string());
        row.push(
            r.reported_cost_usd
                .map_or_else(String::new, |c| c.to_string()),
        );
        row.push(format!(
            "{}:{}",
            inputs[r.origin.file as usize].path.display(),
            r.origin.line
        ));
        w.write_record(&row)?;
    }
    w.flush()?;
    Ok(())
}

/// `unbilled_spans.csv`: every inference call that joined no usage record,
/// with the tokens the span itself reported (counted in no total).
fn unbilled_csv(
    out: &mut Vec<u8>,
    calls: &[Call],
    unbilled: &[(u32, crate::join::Unbilled)],
    interner: &Interner,
    inputs: &[InputFile],
) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "trace_id",
        "span_id",
        "span_name",
        "model",
        "join_id",
        "tenant",
        "feature",
        "agent",
        "tool",
        "span_input_tokens",
        "span_output_tokens",
        "reason",
        "source",
    ])?;
    let name = |sym: Option<crate::intern::Sym>| {
        sym.map_or(crate::attribute::NONE, |s| interner.get(s))
            .to_string()
    };
    let count = |n: Option<u64>| n.map_or_else(String::new, |n| n.to_string());
    for &(ci, reason) in unbilled {
        let call = &calls[ci as usize];
        let info = &call.info;
        w.write_record([
            format!("{:032x}", call.trace_id),
            format!("{:016x}", call.span_id),
            info.name.to_string(),
            name(info.model),
            info.join_key.as_deref().unwrap_or("").to_string(),
            name(call.dims.tenant),
            name(call.dims.feature),
            name(call.dims.agent),
            name(call.dims.tool),
            count(info.input_tokens),
            count(info.output_tokens),
            reason.as_str().to_string(),
            format!(
                "{}:{}",
                inputs[call.origin.file as usize].path.display(),
                call.origin.line
            ),
        ])?;
    }
    w.flush()?;
    Ok(())
}
