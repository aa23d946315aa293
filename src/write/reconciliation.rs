//! Reconciliation output: `reconciliation.csv` and the terminal table.
//! Each money column is rounded by largest remainder ([`apportion`]), so
//! the usage lines sum exactly to `(usage total)`, and every line to
//! `(invoice total)`, as in every other report.

use rust_decimal::Decimal;

use super::CsvOut;
use crate::money::{apportion, ratio, round_column, Micros};
use crate::read::invoice::Charge;
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

/// An exact amount and its rounded cell.
type Amount = (Decimal, Micros);

/// One output row: the four labels (provider, model, token type, day),
/// money as rounded, delta from the rounded sides, its percentage from the
/// exact ones.
fn row(
    labels: [&str; 4],
    computed: Option<Amount>,
    (invoiced, invoiced_m): Amount,
    status: &str,
    diagnosis: &str,
) -> [String; 10] {
    let (computed_cell, delta, pct) = match computed {
        None => (String::new(), String::new(), String::new()),
        Some((c, computed_m)) => {
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

/// The rounded cells of the money columns, in row order: each line's
/// computed cost, summing to the computed total's; the invoiced amounts of
/// the compared lines, summing to the invoiced usage's, then of the split
/// lines and every other line, summing to the rest of the invoice total's.
struct Rounded {
    computed: Vec<Micros>,
    invoiced: Vec<Micros>,
    other: Vec<Micros>,
    totals: [Micros; 3],
}

fn rounded(rec: &Reconciliation) -> Rounded {
    let mut totals =
        [rec.computed_total, rec.invoiced_usage, rec.invoice_total()].map(Micros::round);
    let computed: Vec<Decimal> = rec.lines.iter().map(|l| l.computed).collect();
    let computed = fit(&computed, totals[0]);
    let sum = |cells: &[Micros]| cells.iter().copied().sum::<Micros>();
    totals[0] = sum(&computed);
    let compared = |l: &&Line| l.status != Status::Split;
    let usage: Vec<Decimal> = (rec.lines.iter().filter(compared))
        .map(|l| l.invoiced)
        .collect();
    let usage = fit(&usage, totals[1]);
    totals[1] = sum(&usage);
    let mut usage = usage.into_iter();
    let split = (rec.lines.iter().filter(|l| !compared(l))).map(|l| l.invoiced);
    let rest: Vec<Decimal> = split.chain(rec.other.iter().map(|l| l.amount)).collect();
    let rest = fit(&rest, Micros(totals[2].0 - totals[1].0));
    // Each total's cell is its rows' sum: its own rounding, but where a
    // column cannot be split to it (the invoice total and the usage total
    // both rounding a half alike): then a micro-dollar apart.
    totals[2] = Micros(totals[1].0 + sum(&rest).0);
    let mut rest = rest.into_iter();
    let invoiced = (rec.lines.iter())
        .map(|l| match compared(&l) {
            true => usage.next(),
            false => rest.next(),
        })
        .collect::<Option<Vec<Micros>>>()
        .expect("a cell per line");
    Rounded {
        computed,
        invoiced,
        other: rest.collect(),
        totals,
    }
}

/// `exact` rounded by largest remainder to `target` where that is a
/// rounding of their sum, else to their own sum's rounding.
fn fit(exact: &[Decimal], target: Micros) -> Vec<Micros> {
    apportion(exact, target).unwrap_or_else(|_| round_column(exact))
}

/// Every row of `reconciliation.csv`: usage lines, then credits, tax and
/// adjustments, then the usage total (the gate) and the invoice total.
fn rows(rec: &Reconciliation) -> Vec<[String; 10]> {
    let r = rounded(rec);
    let mut rows = Vec::with_capacity(rec.lines.len() + rec.other.len() + 2);
    for (i, line) in rec.lines.iter().enumerate() {
        let k = &line.key;
        let day = k.day.map_or_else(String::new, |d| d.to_string());
        rows.push(row(
            [&k.provider, &k.model, k.meter.name(), &day],
            Some((line.computed, r.computed[i])),
            (line.invoiced, r.invoiced[i]),
            line.status.name(),
            &line.diagnosis,
        ));
    }
    for (l, &amount) in rec.other.iter().zip(&r.other) {
        let day = l.day.map_or_else(String::new, |d| d.to_string());
        let labels = [l.provider.as_str(), &l.label, "", &day];
        let (status, diagnosis) = (l.status().name(), l.diagnosis());
        rows.push(row(labels, None, (l.amount, amount), status, &diagnosis));
    }
    rows.push(row(
        ["(usage total)", "", "", ""],
        Some((rec.computed_total, r.totals[0])),
        (rec.invoiced_usage, r.totals[1]),
        rec.total_status.name(),
        &rec.total_diagnosis,
    ));
    rows.push(row(
        ["(invoice total)", "", "", ""],
        None,
        (rec.invoice_total(), r.totals[2]),
        Status::NotUsage.name(),
        "usage and every other line of the bill",
    ));
    rows
}

/// Write `reconciliation.csv`; where the invoice states list prices
/// (before a negotiated discount), a `list_usd` column after
/// `invoiced_usd` shows them per compared line.
pub fn reconciliation_csv(w: &mut CsvOut, rec: &Reconciliation) -> csv::Result<()> {
    let rows = rows(rec);
    if !rec.lines.iter().any(|l| l.list.is_some()) {
        w.row(HEADER)?;
        for r in rows {
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
    // The listed lines' list prices, rounded to their sum's rounding.
    let listed: Vec<Decimal> = rec.lines.iter().filter_map(|l| l.list).collect();
    let mut listed = round_column(&listed).into_iter();
    let lists = rec
        .lines
        .iter()
        .map(|l| l.list.and_then(|_| listed.next()).map(|m| m.to_string()));
    let mut lists = lists.chain(std::iter::repeat(None));
    for r in rows {
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
        match (rec.failed(), rec.lines.is_empty()) {
            (true, _) => "DRIFT",
            // Nothing compared is no agreement.
            (false, true) => "empty",
            (false, false) => "ok",
        },
        rec.lines.len(),
        if rec.daily { " per UTC day" } else { "" },
        rec.tolerance.pct.normalize(),
        rec.tolerance.usd.normalize(),
    );
    if !rec.total_diagnosis.is_empty() {
        text += &format!("  (usage total): {}\n", escape(&rec.total_diagnosis));
    }
    let diagnosed = diagnoses(rec);
    for line in diagnosed.iter().take(DIAGNOSES_SHOWN) {
        text += &format!("  {line}\n");
    }
    if diagnosed.len() > DIAGNOSES_SHOWN {
        text += &format!(
            "  … and {} more diagnosed lines in reconciliation.csv\n",
            diagnosed.len() - DIAGNOSES_SHOWN
        );
    }
    text
}

/// The terminal's diagnoses, escaped: each compared line's, then each
/// line not compared that is of a model (two credits of one name on two
/// models' rows look alike in the table).
fn diagnoses(rec: &Reconciliation) -> Vec<String> {
    let compared = rec
        .lines
        .iter()
        .filter(|l| !l.diagnosis.is_empty())
        .map(|line| {
            let k = &line.key;
            let day = k.day.map_or_else(String::new, |d| format!(" {d}"));
            let (provider, model) = (escape(&k.provider), escape(&k.model));
            let t = k.meter.name();
            format!("{provider} {model} {t}{day}: {}", escape(&line.diagnosis))
        });
    let of_model = (rec.other.iter())
        .filter(|l| l.model.is_some() && l.charge != Charge::Unmapped)
        .map(|line| {
            let day = line.day.map_or_else(String::new, |d| format!(" {d}"));
            let (provider, label) = (escape(&line.provider), escape(&line.label));
            format!("{provider} {label}{day}: {}", escape(&line.diagnosis()))
        });
    compared.chain(of_model).collect()
}

/// How many diagnosed lines the terminal shows.
const DIAGNOSES_SHOWN: usize = 10;
