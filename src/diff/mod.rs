//! Month over month (`tokenledger diff`): two `report --out` directories
//! compared through their `ledger.csv`, no span re-read. Each dimension
//! value's change is split into a price and a volume effect:
//!
//! - **price effect** = this month's cost − this month's usage repriced at
//!   the rates in force on the last day of the previous month (from the
//!   `pricing.toml` saved beside the previous month's reports);
//! - **volume effect** = that repriced cost − last month's cost.
//!
//! So price + volume = the change, per row and in total. A charge line the
//! previous table cannot price is all volume, and is listed.

pub mod saved;
pub mod write;

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::dimension::Dimension;
use crate::error::{Error, Result};
use crate::model::{TokenType, GLOBAL};
use crate::money::{apportion, apportion_beside, ratio, Micros};
use crate::pipeline::config::Period;
use crate::price::{PriceEntry, PriceTable, Qualifiers, FREE_SUFFIX};
use saved::{unit_size, Charged, Line, Saved, WRITER};

pub use saved::StepChange;

/// The dimensions compared, in output order: every [`Dimension`]'s name.
pub const DIMENSIONS: [&str; Dimension::ALL.len()] = {
    let mut names = [""; Dimension::ALL.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = Dimension::ALL[i].name();
        i += 1;
    }
    names
};

/// Whether a value is in one month, the other, or both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Only this month.
    New,
    /// Only the previous month.
    Gone,
    /// Both months.
    Changed,
}

impl Status {
    /// The name written in the `status` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Gone => "gone",
            Status::Changed => "changed",
        }
    }
}

/// One dimension value's change, rounded: `delta = cur − prev`,
/// `price = cur − repriced`, `volume = repriced − prev`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiffRow {
    /// The dimension value.
    pub value: String,
    /// Last month's cost.
    pub prev: Micros,
    /// This month's usage at last month's rates.
    pub repriced: Micros,
    /// This month's cost.
    pub cur: Micros,
    /// Whether the value is new, gone or in both months.
    pub status: Status,
}

impl DiffRow {
    /// This month's cost − last month's.
    pub fn delta(&self) -> Micros {
        Micros(self.cur.0 - self.prev.0)
    }

    /// The part of the change due to prices.
    pub fn price(&self) -> Micros {
        Micros(self.cur.0 - self.repriced.0)
    }

    /// The part of the change due to usage.
    pub fn volume(&self) -> Micros {
        Micros(self.repriced.0 - self.prev.0)
    }

    /// The change in percent of last month's cost, to one place (none when
    /// last month's cost is zero).
    pub fn delta_pct(&self) -> Option<Decimal> {
        ratio(self.delta().to_decimal(), self.prev.to_decimal(), 100, 1)
    }
}

/// A charge line the previous month's table has no rate for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unpriced {
    /// Provider and model as billed.
    pub model: (String, String),
    /// Ledger lines.
    pub lines: u64,
    /// Their cost this month, counted as volume.
    pub cost: Decimal,
    /// The previous table prices the model by time of day, and the lines
    /// fell in no window of its (a flat price now, windows moved): the
    /// ledger keeps no hour to reprice by, so a price change hides in the
    /// volume.
    pub by_hours: bool,
}

/// The comparison of two months.
#[derive(Debug)]
pub struct Diff {
    /// The previous month (`YYYY-MM`).
    pub prev_month: String,
    /// This month.
    pub cur_month: String,
    /// The day whose rates reprice this month.
    pub rates_on: NaiveDate,
    /// The totals, as a row.
    pub total: DiffRow,
    /// Per dimension (in [`DIMENSIONS`] order), the rows by size of change.
    pub dimensions: Vec<Vec<DiffRow>>,
    /// This month's lines the previous table cannot price.
    pub unpriced: Vec<Unpriced>,
    /// This month's step changes, as its `changes.csv` lists them.
    pub changes: Vec<StepChange>,
    /// A month to date compared (part of a month against a whole one).
    pub warnings: Vec<String>,
}

/// The exact sums of one dimension value.
#[derive(Clone, Copy, Debug, Default)]
struct Sums {
    prev: Decimal,
    repriced: Decimal,
    cur: Decimal,
    in_prev: bool,
    in_cur: bool,
}

/// A line's quantity at `entry`'s rates (its tier, region, speed and
/// prompt size kept), if `entry` prices it: `entry`'s long-context tier
/// applies by the prompt size the line records against `bounds`, the
/// current table's prompt bounds.
/// A Bedrock `global.` profile the entry prices as its in-region model
/// (`global`) takes its `[model.geo.global]`, as pricing does.
fn reprice(entry: &PriceEntry, line: &Line, bounds: &[u64], global: bool) -> Option<Decimal> {
    let qualifiers = qualifiers(line, global);
    let long_context = entry.is_long_above(line.prompt_over, bounds)?;
    let per_unit = |rate: Decimal| line.quantity * rate / unit_size(&line.charge);
    match &line.charge {
        Charged::Tokens(t) => {
            let rate = entry.unit_price(*t, &qualifiers, long_context).ok()?;
            Some(per_unit(rate))
        }
        Charged::Modality(m) => {
            let rate = entry.modal_unit_price(*m, &qualifiers, long_context).ok()?;
            Some(per_unit(rate))
        }
        Charged::Requests(name) => {
            // Free requests under a table without that allowance cost
            // what the charge costs there.
            let price = match (entry.request_price(name), name.strip_suffix(FREE_SUFFIX)) {
                (Some(price), _) => price,
                (None, Some(charge)) => entry.request_price(charge)?,
                (None, None) => return None,
            };
            Some(per_unit(price))
        }
    }
}

/// A line's qualifiers as the pricing table reads them (`global`: a
/// Bedrock `global.` profile the entry prices as its in-region model).
fn qualifiers(line: &Line, global: bool) -> Qualifiers<'_> {
    Qualifiers {
        tier: line.tier,
        geo: if global {
            Some(GLOBAL)
        } else {
            line.geo.as_deref()
        },
        fast: line.fast,
        hours: line.hours,
    }
}

/// Two months are compared in one currency.
fn one_currency((prev, a): (&Path, &Saved), (cur, b): (&Path, &Saved)) -> Result<()> {
    if a.currency == b.currency {
        return Ok(());
    }
    Err(Error::fatal(format!(
        "{} was priced in {} and {} in {}: two months are compared in one currency",
        prev.display(),
        a.currency,
        cur.display(),
        b.currency
    )))
}

/// Refuse two months given the other way round: a later month first, or,
/// of one month, the later part of it first (the whole month before a
/// month to date of it, a month to date before an earlier one).
fn in_order((prev, prev_saved): (&Path, &Saved), (cur, cur_saved): (&Path, &Saved)) -> Result<()> {
    let upto = |saved: &Saved| {
        let day = saved.month_to_date.clone();
        day.unwrap_or_else(|| saved.period.last_day().to_string())
    };
    let (first, cur_first) = (prev_saved.period.first_day(), cur_saved.period.first_day());
    let later = first > cur_first || (first == cur_first && upto(prev_saved) > upto(cur_saved));
    if !later {
        return Ok(());
    }
    let held = |saved: &Saved| match &saved.month_to_date {
        Some(day) => format!("{} to {day}", saved.period),
        None => saved.period.to_string(),
    };
    Err(Error::fatal(format!(
        "{} holds {}, later than {}'s {}: give the previous month first (tokenledger diff \
         PREV CUR)",
        prev.display(),
        held(prev_saved),
        cur.display(),
        held(cur_saved)
    )))
}

/// Compare the month in `cur` with the month in `prev`.
pub fn diff(prev: &Path, cur: &Path) -> Result<Diff> {
    let (prev_saved, cur_saved) = (Saved::open(prev)?, Saved::open(cur)?);
    one_currency((prev, &prev_saved), (cur, &cur_saved))?;
    let table = prev_saved.pricing()?;
    let cur_table = cur_saved.pricing()?;
    // The prompt bounds this month's ledger was written with.
    let bounds = cur_table.prompt_bounds();
    let (prev_month, cur_month) = (prev_saved.period, cur_saved.period);
    in_order((prev, &prev_saved), (cur, &cur_saved))?;
    let rates_on = prev_month.last_day();
    let mut sums: Vec<BTreeMap<String, Sums>> = vec![BTreeMap::new(); DIMENSIONS.len()];
    let mut totals = Sums::default();
    let mut corrected = Corrected::new(&cur_table, table.prompt_bounds());
    prev_saved.lines(|line| {
        priced_as_saved(&table, &table.prompt_bounds(), &line)?;
        corrected.check(&line);
        for (dimension, value) in sums.iter_mut().zip(line.values) {
            let s = dimension.entry(value).or_default();
            s.prev += line.cost;
            s.in_prev = true;
        }
        totals.prev += line.cost;
        Ok(())
    })?;
    let mut unpriced: BTreeMap<(String, String), Unpriced> = BTreeMap::new();
    cur_saved.lines(|line| {
        priced_as_saved(&cur_table, &bounds, &line)?;
        let repriced = repriced_or_listed(&table, &line, (rates_on, &bounds), &mut unpriced);
        for (dimension, value) in sums.iter_mut().zip(line.values) {
            let s = dimension.entry(value).or_default();
            s.cur += line.cost;
            s.repriced += repriced;
            s.in_cur = true;
        }
        totals.cur += line.cost;
        totals.repriced += repriced;
        Ok(())
    })?;
    let total = DiffRow {
        value: "total".to_string(),
        prev: Micros::round(totals.prev),
        repriced: Micros::round(totals.repriced),
        cur: Micros::round(totals.cur),
        status: Status::Changed,
    };
    let dimensions = sums
        .into_iter()
        .map(|values| rows(values, &total))
        .collect::<Result<Vec<_>>>()?;
    Ok(Diff {
        prev_month: prev_month.to_string(),
        cur_month: cur_month.to_string(),
        rates_on,
        total,
        dimensions,
        changes: cur_saved.changes()?,
        warnings: (warnings(&[(prev, &prev_saved), (cur, &cur_saved)]).into_iter())
            .chain(corrected.warning(prev_month, cur))
            .collect(),
        unpriced: unpriced.into_values().collect(),
    })
}

/// Refuse a ledger line that the pricing table saved beside it prices
/// otherwise (`bounds`: that table's prompt bounds): the table or the
/// ledger is not what `report` wrote, and the price effect would be
/// computed from a table the month was not priced by. A line the table
/// cannot price tells nothing, and nor does a free allowance's (priced at
/// 0 by the allowance, which is no rate).
fn priced_as_saved(table: &PriceTable, bounds: &[u64], line: &Line) -> Result<()> {
    if matches!(&line.charge, Charged::Requests(name) if name.ends_with(FREE_SUFFIX)) {
        return Ok(());
    }
    match priced_on_its_day(table, line, bounds) {
        Some(again) if again != line.cost => Err(Error::fatal(format!(
            "{}: {} {} {} costs ${} by the pricing.toml saved beside it, not the ${} it was \
             priced at: the table or the ledger is not what {WRITER} wrote",
            line.at,
            line.provider,
            line.model,
            line.charge.name(),
            again.normalize(),
            line.cost.normalize()
        ))),
        _ => Ok(()),
    }
}

/// `line` at `table`'s rates on its own day (`bounds`: the prompt bounds
/// its ledger was written with), if the table prices it.
fn priced_on_its_day(table: &PriceTable, line: &Line, bounds: &[u64]) -> Option<Decimal> {
    let found = table.find_priced(&line.provider, &line.model, line.day);
    found.and_then(|(entry, global)| reprice(entry, line, bounds, global))
}

/// `line` at `table`'s rates on `rates_on` (`bounds`: the prompt bounds
/// its ledger was written with); a line the table cannot price is all
/// volume (its own cost), and is listed in `unpriced`.
fn repriced_or_listed(
    table: &PriceTable,
    line: &Line,
    (rates_on, bounds): (NaiveDate, &[u64]),
    unpriced: &mut BTreeMap<(String, String), Unpriced>,
) -> Decimal {
    let found = table.find_priced(&line.provider, &line.model, rates_on);
    if let Some(cost) = found.and_then(|(entry, global)| reprice(entry, line, bounds, global)) {
        return cost;
    }
    let model = (line.provider.clone(), line.model.clone());
    let u = unpriced.entry(model.clone()).or_insert(Unpriced {
        model,
        lines: 0,
        cost: Decimal::ZERO,
        by_hours: false,
    });
    u.lines += 1;
    u.cost += line.cost;
    // The hours the cause: the entry has no window for the line's.
    let by_hours = |(entry, global): (&PriceEntry, bool)| {
        let priced = entry.unit_price(TokenType::Input, &qualifiers(line, global), false);
        priced == Err(crate::price::Unpriced::NoHours)
    };
    u.by_hours |= found.is_some_and(by_hours);
    line.cost
}

/// The previous month's lines priced again by this month's table, at
/// each line's own day: where that differs from what they were priced at,
/// a rate was corrected between the two runs (an effective date, a rate
/// the table had wrong), or changed in place, and the difference shows as
/// a price effect.
struct Corrected<'a> {
    table: &'a PriceTable,
    /// The prompt bounds the previous ledger was written with.
    bounds: Vec<u64>,
    lines: u64,
    priced: Decimal,
    again: Decimal,
}

impl<'a> Corrected<'a> {
    fn new(table: &'a PriceTable, bounds: Vec<u64>) -> Self {
        let zero = Decimal::ZERO;
        Corrected {
            table,
            bounds,
            lines: 0,
            priced: zero,
            again: zero,
        }
    }

    /// Price `line` again (a line this table cannot price tells nothing).
    fn check(&mut self, line: &Line) {
        let again = priced_on_its_day(self.table, line, &self.bounds);
        if let Some(again) = again.filter(|&again| again != line.cost) {
            self.lines += 1;
            self.priced += line.cost;
            self.again += again;
        }
    }

    fn warning(&self, prev_month: Period, cur: &Path) -> Option<String> {
        (self.lines > 0).then(|| {
            format!(
                "{} of {prev_month}'s ledger lines cost ${} by {}'s pricing.toml, not the ${} \
                 they were priced at: a rate was corrected between the two runs, or changed in \
                 place, not in an entry of its own from its first day; either way the \
                 difference shows as a price effect (a correction: report {prev_month} again \
                 with this month's table; a provider's new price: give it its own entry with \
                 its effective_from)",
                self.lines,
                Micros::round(self.again),
                cur.display(),
                Micros::round(self.priced)
            )
        })
    }
}

/// A warning for each month to date compared (its volume is part of a
/// month's), for each month whose run failed a gate, and for two months
/// attributed otherwise (one with
/// `--allocation`, one without: what the rules own moves as volume).
fn warnings(months: &[(&Path, &Saved); 2]) -> Vec<String> {
    let warning = |(dir, saved): &(&Path, &Saved)| {
        saved.month_to_date.as_ref().map(|day| {
            format!(
                "{} holds {} to {day} only (a month to date, summary.json month_to_date): its \
                 volume is part of a month's",
                dir.display(),
                saved.period
            )
        })
    };
    let mut warnings: Vec<String> = months.iter().filter_map(warning).collect();
    let failed = |(dir, saved): &(&Path, &Saved)| {
        let first = saved.failed_gates.first()?;
        Some(format!(
            "{}'s run failed {} gate(s), the first: {first}",
            dir.display(),
            saved.failed_gates.len()
        ))
    };
    warnings.extend(months.iter().filter_map(failed));
    let [(a, sa), (b, sb)] = months;
    if sa.allocated != sb.allocated {
        let (with, without) = if sa.allocated { (a, b) } else { (b, a) };
        warnings.push(format!(
            "{} was run with --allocation and {} without: what its rules own shows as \
             volume (and as new or gone values), not as a change in spend",
            with.display(),
            without.display()
        ));
    }
    warnings
}

/// One dimension's rows, each column apportioned to the total's, sorted by
/// the size of the change (largest first), then by value.
fn rows(values: BTreeMap<String, Sums>, total: &DiffRow) -> Result<Vec<DiffRow>> {
    let column = |pick: fn(&Sums) -> Decimal, target: Micros| {
        let exact: Vec<Decimal> = values.values().map(pick).collect();
        apportion(&exact, target)
    };
    let prev = column(|s| s.prev, total.prev)?;
    let cur = column(|s| s.cur, total.cur)?;
    // Usage repriced at its own price (all volume) keeps its cell: no
    // price effect of a micro-dollar from two roundings.
    let (repriced, costs): (Vec<Decimal>, Vec<Decimal>) =
        values.values().map(|s| (s.repriced, s.cur)).unzip();
    let repriced = apportion_beside(&repriced, total.repriced, (&costs, &cur))?;
    let mut rows: Vec<DiffRow> = values
        .into_iter()
        .enumerate()
        .map(|(i, (value, s))| DiffRow {
            value,
            prev: prev[i],
            repriced: repriced[i],
            cur: cur[i],
            status: match (s.in_prev, s.in_cur) {
                (false, _) => Status::New,
                (_, false) => Status::Gone,
                _ => Status::Changed,
            },
        })
        .collect();
    rows.sort_by(|a, b| (b.delta().0.abs(), &a.value).cmp(&(a.delta().0.abs(), &b.value)));
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_repriced_at_its_own_cost_has_no_price_effect() {
        // Tenant a's 0.4 µ$ reprices at its own cost; b's 0.4 µ$ was 0.8
        // at last month's rates. This month's column rounds a up (the
        // earlier of two alike); the repriced column, rounded alone, gave
        // its one micro-dollar to b: a price effect of +1 µ$ for a.
        let sums = |cur: &str, repriced: &str| Sums {
            cur: cur.parse().unwrap(),
            repriced: repriced.parse().unwrap(),
            in_cur: true,
            ..Sums::default()
        };
        let values = BTreeMap::from([
            ("a".to_string(), sums("0.0000004", "0.0000004")),
            ("b".to_string(), sums("0.0000004", "0.0000008")),
        ]);
        let total = DiffRow {
            value: "total".to_string(),
            prev: Micros(0),
            repriced: Micros(1),
            cur: Micros(1),
            status: Status::Changed,
        };
        let rows = rows(values, &total).unwrap();
        let a = rows.iter().find(|r| r.value == "a").unwrap();
        assert_eq!(
            (a.cur, a.repriced, a.price()),
            (Micros(1), Micros(1), Micros(0))
        );
        let b = rows.iter().find(|r| r.value == "b").unwrap();
        assert_eq!((b.cur, b.repriced), (Micros(0), Micros(0)));
    }
}
