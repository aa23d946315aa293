//! The files that let a month be compared later: `ledger.csv` (the exact
//! charge lines), `by_day.csv` (each dimension's values per UTC day) and
//! `changes.csv` (the step changes within the month).

use std::borrow::Cow;

use super::CsvOut;
use crate::answers::changes::Change;
use crate::cells::Cells;
use crate::charges::{speed, Lines, LEDGER_COLUMNS, SOURCE_COLUMN};
use crate::intern::Interner;
use crate::ledger::Report;
use crate::model::GLOBAL;

/// `ledger.csv`: one row per charge line, the cost exact and unrounded.
pub fn ledger_csv(w: &mut CsvOut, lines: &Lines, interner: &Interner) -> csv::Result<()> {
    let source = lines.sources.then_some(SOURCE_COLUMN);
    w.row(LEDGER_COLUMNS.into_iter().chain(source))?;
    let mut cells = Cells::default();
    for (key, sums) in &lines.lines {
        let source = lines.sources.then(|| match (key.rule, key.dims[0]) {
            (0, crate::dimension::Key::Unattributed) => Cow::Borrowed("unallocated"),
            (0, _) => Cow::Borrowed("span"),
            (rule, _) => Cow::Owned(format!("rule:{rule}")),
        });
        // Names are written as they are held; only numbers are formatted,
        // into one buffer reused line after line.
        cells.clear();
        cells.push(format_args!("{}", key.day));
        match key.hours {
            Some(window) => cells.push(format_args!("{}", window.label())),
            None => cells.push(format_args!("")),
        }
        cells.push(format_args!("{}", key.prompt_over));
        cells.push(format_args!("{}", sums.requests));
        cells.push(format_args!("{}", sums.quantity));
        cells.push(format_args!("{}", sums.unit_price.normalize()));
        cells.push(format_args!("{}", sums.cost.normalize()));
        let label = |k: crate::dimension::Key| Cow::Borrowed(k.label(interner));
        let cell = |i| Cow::Borrowed(cells.get(i));
        w.row(
            [
                cell(0),
                Cow::Borrowed(interner.get(key.provider)),
                Cow::Borrowed(interner.get(key.model)),
                Cow::Borrowed(key.charge.name(interner)),
                Cow::Borrowed(key.service.tier.key()),
                Cow::Borrowed(key.service.geo.map_or(GLOBAL, |g| interner.get(g))),
                Cow::Borrowed(speed(key.service.fast)),
                cell(1),
                Cow::Borrowed(if key.long_context { "true" } else { "false" }),
                cell(2),
                label(key.dims[0]),
                label(key.dims[1]),
                label(key.dims[2]),
                label(key.dims[3]),
                cell(3),
                cell(4),
                Cow::Borrowed(key.charge.unit()),
                cell(5),
                cell(6),
            ]
            .into_iter()
            .chain(source),
        )?;
    }
    Ok(())
}

/// `by_day.csv`: per dimension, each value's requests and cost per UTC day,
/// in day and value order; each dimension's rows sum to the reports' total.
pub fn by_day_csv(w: &mut CsvOut, days: &[Report]) -> csv::Result<()> {
    w.row(["day", "dimension", "value", "requests", "cost_usd"])?;
    let mut cells = Cells::default();
    for report in days {
        let mut rows: Vec<_> = report.rows.iter().collect();
        rows.sort_by(|a, b| a.keys.cmp(&b.keys));
        for row in rows {
            cells.clear();
            cells.push(format_args!("{}", row.totals.requests));
            cells.push(format_args!("{}", row.cost_usd()));
            let (day, value) = (&row.keys[0], &row.keys[1]);
            w.row([day, report.table.name(), value, cells.get(0), cells.get(1)])?;
        }
    }
    Ok(())
}

/// The columns of `changes.csv`, in order.
pub const CHANGES_COLUMNS: [&str; 12] = [
    "dimension",
    "value",
    "kind",
    "series",
    "first_day",
    "days_before",
    "days_after",
    "before_daily",
    "after_daily",
    "before_daily_usd",
    "after_daily_usd",
    "factor",
];

/// `changes.csv`: the step changes within the month.
pub fn changes_csv(w: &mut CsvOut, changes: &[Change]) -> csv::Result<()> {
    w.row(CHANGES_COLUMNS)?;
    for c in changes {
        w.row([
            c.dimension.to_string(),
            c.value.clone(),
            c.kind.as_str().to_string(),
            c.series.as_str().to_string(),
            c.first_day.to_string(),
            c.days.0.to_string(),
            c.days.1.to_string(),
            c.levels.0.to_string(),
            c.levels.1.to_string(),
            c.daily.0.to_string(),
            c.daily.1.to_string(),
            c.factor.map_or_else(String::new, |f| format!("{f:.2}")),
        ])?;
    }
    Ok(())
}
