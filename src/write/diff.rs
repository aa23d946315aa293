//! `tokenledger diff`'s outputs: `diff_by_<dimension>.csv` and the terminal
//! answer (total before → after, price and volume, the top drivers, what
//! is new and gone, and the current month's step changes).

use super::CsvOut;
use crate::diff::{Diff, DiffRow, Status, StepChange, DIMENSIONS};
use crate::money::Micros;
use crate::terminal::escape;

/// `diff_by_<dimension>.csv` for the dimension at `index` of [`DIMENSIONS`].
pub fn diff_csv(w: &mut CsvOut, diff: &Diff, index: usize) -> csv::Result<()> {
    w.row([
        DIMENSIONS[index],
        "prev_usd",
        "cur_usd",
        "delta_usd",
        "delta_pct",
        "price_effect_usd",
        "volume_effect_usd",
        "status",
    ])?;
    for row in &diff.dimensions[index] {
        w.row([
            row.value.clone(),
            row.prev.to_string(),
            row.cur.to_string(),
            row.delta().to_string(),
            row.delta_pct()
                .map_or_else(String::new, |p| format!("{p:.1}")),
            row.price().to_string(),
            row.volume().to_string(),
            row.status.as_str().to_string(),
        ])?;
    }
    Ok(())
}

/// An amount with its sign: `+$1.250000`, `-$0.300000`.
pub fn signed(amount: Micros) -> String {
    if amount.0 < 0 {
        format!("-${}", Micros(-amount.0))
    } else {
        format!("+${amount}")
    }
}

/// How many drivers of each dimension the terminal lists.
const DRIVERS: usize = 2;

/// How many new (and gone) values the terminal lists.
const TOP: usize = 6;

/// One step change as the terminal says it.
fn step_change(c: &StepChange) -> String {
    let (dimension, value) = (escape(&c.dimension), escape(&c.value));
    let levels = format!(
        "${}/day → ${}/day",
        escape(&c.before_daily_usd),
        escape(&c.after_daily_usd)
    );
    match c.factor.as_str() {
        "" => format!(
            "{dimension} {value} {} on {} ({levels})",
            escape(&c.kind),
            escape(&c.first_day)
        ),
        factor => format!(
            "{dimension} {value} {} ×{} from {} ({levels})",
            escape(&c.kind),
            escape(factor),
            escape(&c.first_day)
        ),
    }
}

/// The terminal answer.
pub fn terminal(diff: &Diff) -> String {
    let t = &diff.total;
    let pct = t
        .delta_pct()
        .map_or_else(String::new, |p| format!(", {p:+.1} %"));
    let mut text = format!(
        "{} → {}: ${} → ${} ({}{pct})\n  price effect  {} ({} usage at the rates of {})\n  volume effect {}\n",
        diff.prev_month,
        diff.cur_month,
        t.prev,
        t.cur,
        signed(t.delta()),
        signed(t.price()),
        diff.cur_month,
        diff.rates_on,
        signed(t.volume()),
    );
    let drivers: Vec<(&str, &DiffRow)> = DIMENSIONS
        .iter()
        .zip(&diff.dimensions)
        .flat_map(|(d, rows)| {
            // Rows are sorted by the size of their change.
            let moved = rows.iter().filter(|r| r.delta().0 != 0);
            moved.take(DRIVERS).map(move |r| (*d, r))
        })
        .collect();
    if !drivers.is_empty() {
        text += "top drivers:\n";
    }
    for (dimension, row) in drivers {
        text += &format!(
            "  {dimension} {} {}: volume {}, price {}\n",
            escape(&row.value),
            signed(row.delta()),
            signed(row.volume()),
            signed(row.price())
        );
    }
    for (status, word) in [(Status::New, "new"), (Status::Gone, "gone")] {
        let mut listed: Vec<(&str, &DiffRow)> = DIMENSIONS
            .iter()
            .zip(&diff.dimensions)
            .flat_map(|(d, rows)| rows.iter().map(move |r| (*d, r)))
            .filter(|(_, r)| r.status == status)
            .collect();
        listed.sort_by_key(|(_, r)| std::cmp::Reverse(r.delta().0.abs()));
        let mut names: Vec<String> = listed
            .iter()
            .take(TOP)
            .map(|(d, r)| format!("{d} {} ({})", escape(&r.value), signed(r.delta())))
            .collect();
        if listed.len() > TOP {
            names.push(format!("and {} more (diff_by_*.csv)", listed.len() - TOP));
        }
        if !names.is_empty() {
            text += &format!("{word}: {}\n", names.join(", "));
        }
    }
    if !diff.changes.is_empty() {
        text += &format!("step changes in {} (changes.csv):\n", diff.cur_month);
        for change in &diff.changes {
            text += &format!("  {}\n", step_change(change));
        }
    }
    for u in &diff.unpriced {
        text += &format!(
            "no rate in {}'s table for {} {} ({} ledger lines, ${} this month): counted as volume\n",
            diff.prev_month,
            escape(&u.model.0),
            escape(&u.model.1),
            u.lines,
            Micros::round(u.cost)
        );
    }
    text
}
