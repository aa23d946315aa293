//! Reconciliation output: `reconciliation.csv` and the terminal table.

use rust_decimal::Decimal;

use super::CsvOut;
use crate::money::{ratio, Micros};
use crate::reconcile::{Line, Reconciliation, Status};
use crate::terminal::escape;

/// The CSV columns of `reconciliation.csv`.
const HEADER: [&str; 10] = [
    "provider",
    "model",
    "token_type",
    "day",
    "computed_usd",
    "invoiced_usd",
    "delta_usd",
    "delta_pct",
    "status",
    "diagnosis",
];

/// One output row: the four labels (provider, model, token type, day),
/// money rounded half-to-even, delta from the rounded sides.
fn row(
    labels: [&str; 4],
    computed: Option<Decimal>,
    invoiced: Decimal,
    status: &str,
    diagnosis: &str,
) -> [String; 10] {
    let invoiced_m = Micros::round(invoiced);
    let (computed_cell, delta, pct) = match computed {
        None => (String::new(), String::new(), String::new()),
        Some(c) => {
            let computed_m = Micros::round(c);
            let delta = Micros(computed_m.0 - invoiced_m.0);
            let pct = ratio(c - invoiced, invoiced.abs(), 100, 2)
                .map_or_else(String::new, |p| format!("{p:.2}"));
            (computed_m.to_string(), delta.to_string(), pct)
        }
    };
    let [provider, model, token_type, day] = labels.map(str::to_string);
    [
        provider,
        model,
        token_type,
        day,
        computed_cell,
        invoiced_m.to_string(),
        delta,
        pct,
        status.into(),
        diagnosis.into(),
    ]
}

fn line_row(line: &Line) -> [String; 10] {
    let k = &line.key;
    let day = k.day.map_or_else(String::new, |d| d.to_string());
    row(
        [&k.provider, &k.model, k.meter.name(), &day],
        Some(line.computed),
        line.invoiced,
        line.status.name(),
        &line.diagnosis,
    )
}

/// Every row of `reconciliation.csv`: usage lines, then credits, tax and
/// adjustments, then the usage total (the gate) and the invoice total.
fn rows(rec: &Reconciliation) -> Vec<[String; 10]> {
    let mut rows: Vec<[String; 10]> = rec.lines.iter().map(line_row).collect();
    for l in &rec.other {
        let day = l.day.map_or_else(String::new, |d| d.to_string());
        let labels = [l.provider.as_str(), &l.label, "", &day];
        rows.push(row(
            labels,
            None,
            l.amount,
            l.status().name(),
            &l.diagnosis(),
        ));
    }
    let status = rec.total_status.name();
    rows.push(row(
        ["(usage total)", "", "", ""],
        Some(rec.computed_total),
        rec.invoiced_usage,
        status,
        "",
    ));
    let invoice_total = rec.invoice_total();
    let note = "usage and every other line of the bill";
    rows.push(row(
        ["(invoice total)", "", "", ""],
        None,
        invoice_total,
        Status::NotUsage.name(),
        note,
    ));
    rows
}

/// Write `reconciliation.csv`; where the invoice states list prices
/// (before a negotiated discount), a `list_usd` column after
/// `invoiced_usd` shows them per compared line.
pub fn reconciliation_csv(w: &mut CsvOut, rec: &Reconciliation) -> csv::Result<()> {
    if !rec.lines.iter().any(|l| l.list.is_some()) {
        w.row(HEADER)?;
        for r in rows(rec) {
            w.row(r)?;
        }
        return Ok(());
    }
    let with_list = |row: [String; 10], list: String| {
        let mut cells = row.to_vec();
        cells.insert(LIST_AT, list);
        cells
    };
    w.row(with_list(HEADER.map(str::to_string), "list_usd".into()))?;
    let lists = rec
        .lines
        .iter()
        .map(|l| l.list.map(|d| Micros::round(d).to_string()));
    let mut lists = lists.chain(std::iter::repeat(None));
    for r in rows(rec) {
        w.row(with_list(r, lists.next().flatten().unwrap_or_default()))?;
    }
    Ok(())
}

/// Where `list_usd` goes: after `invoiced_usd`.
const LIST_AT: usize = 6;

/// The human table: the totals and every line that is not ok, names
/// escaped for the terminal.
pub fn terminal(rec: &Reconciliation) -> String {
    use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
    let all = rows(rec);
    // Every line that is not ok, and the usage total (the gate) always.
    let shown: Vec<&[String; 10]> = all
        .iter()
        .filter(|r| r[8] != Status::Ok.name() || r[0] == "(usage total)")
        .collect();
    let mut grid = Table::new();
    // The CSV's columns but delta_pct and diagnosis (told below the table).
    let header = HEADER[..7].iter().chain(&HEADER[8..9]);
    grid.load_preset(UTF8_FULL_CONDENSED).set_header(header);
    for r in &shown {
        grid.add_row(
            r[..7]
                .iter()
                .chain(std::iter::once(&r[8]))
                .map(|c| escape(c)),
        );
    }
    let mut text = format!(
        "tokenledger: reconciliation {} ({} lines compared{}, tolerance {} % and ${})\n{grid}\n",
        if rec.failed() { "DRIFT" } else { "ok" },
        rec.lines.len(),
        if rec.daily { " per UTC day" } else { "" },
        rec.tolerance.pct.normalize(),
        rec.tolerance.usd.normalize(),
    );
    let diagnosed: Vec<_> = rec
        .lines
        .iter()
        .filter(|l| !l.diagnosis.is_empty())
        .collect();
    for line in diagnosed.iter().take(DIAGNOSES_SHOWN) {
        let k = &line.key;
        let day = k.day.map_or_else(String::new, |d| format!(" {d}"));
        let t = k.meter.name();
        text += &format!(
            "  {} {} {t}{day}: {}\n",
            escape(&k.provider),
            escape(&k.model),
            escape(&line.diagnosis)
        );
    }
    if diagnosed.len() > DIAGNOSES_SHOWN {
        text += &format!(
            "  … and {} more diagnosed lines in reconciliation.csv\n",
            diagnosed.len() - DIAGNOSES_SHOWN
        );
    }
    text
}

/// How many diagnosed lines the terminal shows.
const DIAGNOSES_SHOWN: usize = 10;
