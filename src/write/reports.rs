//! The `by_*.csv` reports and the listings of what could not be attributed
//! or billed.

use rust_decimal::Decimal;

use super::CsvOut;
use crate::attribute::{Of, Table, Totals};
use crate::cells::Cells;
use crate::dimension::Dimension;

use crate::intern::Interner;
use crate::intern::Sym;
use crate::join::Unbilled;
use crate::ledger::{cost_columns, has_fees, RoundedRow};
use crate::model::{Modality, TokenType, UsageRecord, REASONING_COLUMN, REQUESTS_SUFFIX};
use crate::money::{ratio, round_column};
use crate::read::InputFile;
use crate::tree::Call;

/// Write one report as CSV.
pub fn report_csv(
    w: &mut CsvOut,
    table: &Table,
    rows: &[RoundedRow],
    grand_total: &Totals,
    interner: &Interner,
) -> csv::Result<()> {
    let fees = has_fees(grand_total);
    let charges = charge_names(grand_total, interner);
    let is_run = table.of == Of::Run;
    // Audio and image tokens, in a month that has some.
    let modalities: Vec<Modality> = Modality::ALL
        .into_iter()
        .filter(|&m| grand_total.modality(m) > 0)
        .collect();
    let charge_columns: Vec<String> = charges
        .iter()
        .map(|(_, name)| format!("{name}{REQUESTS_SUFFIX}"))
        .collect();
    w.row(header(table, rows, &modalities, &charge_columns, fees))?;
    let total_cost = grand_total.cost.total();
    let shown = cost_columns(fees).len();
    let mut cells = Cells::default();
    for row in rows {
        let totals = &row.totals;
        cells.clear();
        cells.push(format_args!("{}", totals.requests));
        for tokens in totals.tokens() {
            cells.push(format_args!("{tokens}"));
        }
        cells.push(format_args!("{}", totals.reasoning()));
        for &m in &modalities {
            cells.push(format_args!("{}", totals.modality(m)));
        }
        for &(charge, _) in &charges {
            cells.push(format_args!("{}", totals.charge(charge)));
        }
        for cost in &row.cost()[..shown] {
            cells.push(format_args!("{cost}"));
        }
        cells.push(format_args!("{}", row.cost_usd()));
        if !is_run {
            let share = ratio(totals.cost.total(), total_cost, 100, 2).unwrap_or_default();
            cells.push(format_args!("{share:.2}"));
            match cache_hit_ratio(totals) {
                Some(ratio) => cells.push(format_args!("{ratio:.4}")),
                None => cells.push(format_args!("")),
            }
        }
        for amount in [row.inclusive(), row.billed(), row.allocated()]
            .into_iter()
            .flatten()
        {
            cells.push(format_args!("{amount}"));
        }
        w.row(row.keys.iter().chain(cells.iter()))?;
    }
    Ok(())
}

/// A report's header: its labels, the counts, the cost columns, and the
/// amounts only some of its rows have (inclusive, billed, allocated).
fn header<'a>(
    table: &Table,
    rows: &[RoundedRow],
    modalities: &[Modality],
    charge_columns: &'a [String],
    fees: bool,
) -> Vec<&'a str> {
    let mut header: Vec<&str> = table.key_columns.to_vec();
    header.push("requests");
    header.extend(TokenType::ALL.map(TokenType::tokens_column));
    header.push(REASONING_COLUMN);
    header.extend(modalities.iter().map(|m| m.column()));
    header.extend(charge_columns.iter().map(String::as_str));
    header.extend(cost_columns(fees));
    header.push("cost_usd");
    if table.of != Of::Run {
        header.extend(["share_pct", "cache_hit_ratio"]);
    }
    let optional = [
        (
            "inclusive_cost_usd",
            rows.iter().any(|r| r.inclusive().is_some()),
        ),
        ("billed_usd", rows.iter().any(|r| r.billed().is_some())),
        (
            "allocated_usd",
            rows.iter().any(|r| r.allocated().is_some()),
        ),
    ];
    header.extend(optional.iter().filter(|(_, has)| *has).map(|(c, _)| *c));
    header
}

/// The month's per-request charges, by name.
pub fn charge_names<'i>(total: &Totals, interner: &'i Interner) -> Vec<(Sym, &'i str)> {
    let mut names: Vec<(Sym, &str)> = total
        .charges()
        .iter()
        .map(|(c, _)| (*c, interner.get(*c)))
        .collect();
    names.sort_by(|a, b| a.1.cmp(b.1));
    names
}

/// Cache reads as a share of all input tokens, 4 places; `None` without input.
pub fn cache_hit_ratio(totals: &Totals) -> Option<Decimal> {
    let tokens = totals.tokens();
    let prompt: u128 = tokens[..4].iter().sum();
    let read = tokens[TokenType::CacheRead.index()];
    ratio(Decimal::from(read), Decimal::from(prompt), 1, 4)
}

/// `unattributed.csv`: every usage record that joined no span.
pub fn unattributed_csv(
    w: &mut CsvOut,
    records: &[(&str, &UsageRecord)],
    costs: &[Decimal],
    interner: &Interner,
    inputs: &[InputFile],
) -> csv::Result<()> {
    let rounded = round_column(costs);
    let mut header = vec!["request_id", "timestamp", "provider", "model"];
    header.extend(TokenType::ALL.map(|t| t.tokens_column()));
    header.extend([
        REASONING_COLUMN,
        "batch",
        "cost_usd",
        "reported_cost_usd",
        "tenant_hint",
        "source",
    ]);
    // The records' labels, in a month whose records carry some.
    let labelled = records.iter().any(|(_, r)| !r.labels.is_empty());
    if labelled {
        header.push("labels");
    }
    w.row(header)?;
    for (&(id, r), cost) in records.iter().zip(rounded) {
        let mut row = vec![
            id.to_string(),
            r.timestamp
                .get()
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            interner.get(r.provider).to_string(),
            interner.get(r.model).to_string(),
        ];
        row.extend(r.tokens.counts().map(|n| n.to_string()));
        row.push(r.tokens.reasoning().to_string());
        row.push((r.service.tier == crate::model::Tier::Batch).to_string());
        row.push(cost.to_string());
        row.push(
            r.reported_cost_usd()
                .map_or_else(String::new, |c| c.to_string()),
        );
        row.push(
            r.tenant_hint
                .map_or_else(String::new, |h| interner.get(h).to_string()),
        );
        row.push(format!(
            "{}:{}",
            inputs[r.origin.file as usize].path.display(),
            { r.origin.line }
        ));
        if labelled {
            let labels: Vec<String> = (interner.labels(r.labels).iter())
                .map(|&(n, v)| crate::intern::label_text(interner.get(n), interner.get(v)))
                .collect();
            row.push(labels.join(";"));
        }
        w.row(row)?;
    }
    Ok(())
}

/// `unbilled_spans.csv`: every inference call that joined no usage record,
/// with the tokens the span itself reported (counted in no total).
pub fn unbilled_csv(
    w: &mut CsvOut,
    calls: &[Call],
    unbilled: &[(u32, Unbilled)],
    interner: &Interner,
    inputs: &[InputFile],
) -> csv::Result<()> {
    w.row([
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
        "span_reasoning_tokens",
        "reason",
        "source",
    ])?;
    let name = |sym: Option<crate::intern::Sym>| {
        sym.map_or(crate::dimension::NONE, |s| interner.get(s))
            .to_string()
    };
    let count = |n: Option<u64>| n.map_or_else(String::new, |n| n.to_string());
    for &(ci, reason) in unbilled {
        let call = &calls[ci as usize];
        let info = call.info();
        w.row([
            format!("{:032x}", call.trace_id),
            format!("{:016x}", call.span_id),
            interner.get(info.name).to_string(),
            name(info.model),
            info.join_key.as_deref().unwrap_or("").to_string(),
            name(call.dims.values[Dimension::Tenant]),
            name(call.dims.values[Dimension::Feature]),
            name(call.dims.values[Dimension::Agent]),
            name(call.dims.values[Dimension::Tool]),
            count(info.input_tokens),
            count(info.output_tokens),
            count(info.reasoning_tokens),
            reason.as_str().to_string(),
            format!("{}:{}", inputs[call.origin.file as usize].path.display(), {
                call.origin.line
            }),
        ])?;
    }
    Ok(())
}
