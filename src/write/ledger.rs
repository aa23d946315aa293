//! The files that let a month be compared later: `ledger.csv` (the exact
//! charge lines), `by_day.csv` (each dimension's values per UTC day) and
//! `changes.csv` (the step changes within the month).

use std::borrow::Cow;

use super::CsvOut;
use crate::answers::changes::Change;
use crate::charges::{speed, Lines, LEDGER_COLUMNS, SOURCE_COLUMN};
use crate::intern::Interner;
use crate::ledger::Report;
use crate::model::GLOBAL;

/// `ledger.csv`: one row per charge line, the cost exact and unrounded.
pub fn ledger_csv(w: &mut CsvOut, lines: &Lines, interner: &Interner) -> csv::Result<()> {
    let source = lines.sources.then_some(SOURCE_COLUMN);
    w.row(LEDGER_COLUMNS.into_iter().chain(source))?;
    for (key, sums) in &lines.lines {
        let source = lines.sources.then(|| match (key.rule, key.dims[0]) {
            (0, crate::dimension::Key::Unattributed) => Cow::Borrowed("unallocated"),
            (0, _) => Cow::Borrowed("span"),
            (rule, _) => Cow::Owned(format!("rule:{rule}")),
        });
        // Names are written as they are held; only numbers are formatted.
        let label = |k: crate::dimension::Key| Cow::Borrowed(k.label(interner));
        w.row(
            [
                Cow::Owned(key.day.to_string()),
                Cow::Borrowed(interner.get(key.provider)),
                Cow::Borrowed(interner.get(key.model)),
                Cow::Borrowed(key.charge.name(interner)),
                Cow::Borrowed(key.service.tier.key()),
                Cow::Borrowed(key.service.geo.map_or(GLOBAL, |g| interner.get(g))),
                Cow::Borrowed(speed(key.service.fast)),
                key.hours
                    .map_or(Cow::Borrowed(""), |w| Cow::Owned(w.label())),
                Cow::Borrowed(if key.long_context { "true" } else { "false" }),
                Cow::Owned(key.prompt_over.to_string()),
                label(key.dims[0]),
                label(key.dims[1]),
                label(key.dims[2]),
                label(key.dims[3]),
                Cow::Owned(sums.requests.to_string()),
                Cow::Owned(sums.quantity.to_string()),
                Cow::Borrowed(key.charge.unit()),
                Cow::Owned(sums.unit_price.normalize().to_string()),
                Cow::Owned(sums.cost.normalize().to_string()),
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
    for report in days {
        let mut rows: Vec<_> = report.rows.iter().collect();
        rows.sort_by(|a, b| a.keys.cmp(&b.keys));
        for row in rows {
            w.row([
                row.keys[0].clone(),
                report.table.name().to_string(),
                row.keys[1].clone(),
                row.totals.requests.to_string(),
                row.cost_usd.to_string(),
            ])?;
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
