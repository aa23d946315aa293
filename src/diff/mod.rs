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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

use crate::charges::{speed, LEDGER_COLUMNS, REQUEST_UNIT, TOKEN_UNIT};
use crate::error::{Error, Result};
use crate::model::{Modality, Tier, TokenType, GLOBAL};
use crate::money::{apportion, plausible, ratio, Micros};
use crate::pipeline::config::Period;
use crate::price::{PriceEntry, PriceTable, Qualifiers, Window, FREE_SUFFIX};
use crate::read::open;

/// The dimensions compared, in output order.
pub const DIMENSIONS: [&str; 5] = ["tenant", "feature", "agent", "tool", "model"];

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
}

/// One line of a month's `changes.csv`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct StepChange {
    /// The dimension.
    pub dimension: String,
    /// Its value.
    pub value: String,
    /// `appeared`, `stopped`, `up` or `down`.
    pub kind: String,
    /// The first day of the new level.
    pub first_day: String,
    /// Days before the change.
    pub days_before: u32,
    /// Days from the change on.
    pub days_after: u32,
    /// Mean daily cost before.
    pub before_daily_usd: String,
    /// Mean daily cost after.
    pub after_daily_usd: String,
    /// After ÷ before (empty when before is zero).
    pub factor: String,
}

/// A month's `changes.csv`.
fn step_changes(dir: &Path) -> Result<Vec<StepChange>> {
    let path = need(dir, "changes.csv")?;
    let mut reader = csv::Reader::from_reader(open(&path)?);
    reader
        .deserialize()
        .map(|row| {
            row.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                Error::fatal(format!("{}:{line}: {e}", path.display()))
            })
        })
        .collect()
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

/// What a ledger line charges for.
enum Charged {
    /// Tokens of a type.
    Tokens(TokenType),
    /// Audio or image tokens.
    Modality(Modality),
    /// Requests of a per-request charge, by name.
    Requests(String),
}

/// A line's quantity at `entry`'s rates (its tier, region, speed and
/// prompt size kept), if `entry` prices it: `entry`'s long-context tier
/// applies by the prompt size the line records against `bounds`, the
/// current table's prompt bounds.
fn reprice(entry: &PriceEntry, line: &Line, bounds: &[u64]) -> Option<Decimal> {
    let qualifiers = Qualifiers {
        tier: line.tier,
        geo: line.geo.as_deref(),
        fast: line.fast,
        hours: line.hours,
    };
    let long_context = entry.is_long_above(line.prompt_over, bounds)?;
    let per_million = |rate: Decimal| line.quantity * rate / Decimal::from(1_000_000u32);
    match &line.charge {
        Charged::Tokens(t) => {
            let rate = entry.unit_price(*t, &qualifiers, long_context).ok()?;
            Some(per_million(rate))
        }
        Charged::Modality(m) => {
            let rate = entry.modal_unit_price(*m, &qualifiers, long_context).ok()?;
            Some(per_million(rate))
        }
        Charged::Requests(name) => {
            // Free requests under a table without that allowance cost
            // what the charge costs there.
            let price = match (entry.request_price(name), name.strip_suffix(FREE_SUFFIX)) {
                (Some(price), _) => price,
                (None, Some(charge)) => entry.request_price(charge)?,
                (None, None) => return None,
            };
            Some(line.quantity * price / Decimal::from(1_000u32))
        }
    }
}

/// One `ledger.csv` line as the diff needs it.
struct Line {
    day: NaiveDate,
    provider: String,
    model: String,
    charge: Charged,
    tier: Tier,
    /// The region, `None` for global.
    geo: Option<String>,
    fast: bool,
    /// The time-of-day window it was priced in, if any.
    hours: Option<Window>,
    /// `prompt_over_tokens`.
    prompt_over: u64,
    /// Tenant, feature, agent, tool, model.
    values: [String; 5],
    quantity: Decimal,
    cost: Decimal,
}

/// Compare the month in `cur` with the month in `prev`.
pub fn diff(prev: &Path, cur: &Path) -> Result<Diff> {
    let table = PriceTable::load_file(&need(prev, "pricing.toml")?)?;
    // The prompt bounds this month's ledger was written with.
    let bounds = PriceTable::load_file(&need(cur, "pricing.toml")?)?.prompt_bounds();
    let prev_month = month_of(prev)?;
    let cur_month = month_of(cur)?;
    if prev_month.first_day() > cur_month.first_day() {
        return Err(Error::fatal(format!(
            "{} holds {prev_month}, later than {}'s {cur_month}: \
             give the previous month first (tokenledger diff PREV CUR)",
            prev.display(),
            cur.display()
        )));
    }
    let rates_on = prev_month.last_day();
    let mut sums: Vec<BTreeMap<String, Sums>> = vec![BTreeMap::new(); DIMENSIONS.len()];
    let mut totals = Sums::default();
    each_line(prev, |line| {
        for (dimension, value) in sums.iter_mut().zip(line.values) {
            let s = dimension.entry(value).or_default();
            s.prev += line.cost;
            s.in_prev = true;
        }
        totals.prev += line.cost;
        Ok(())
    })?;
    let mut unpriced: BTreeMap<(String, String), (u64, Decimal)> = BTreeMap::new();
    each_line(cur, |line| {
        let repriced = table
            .find(&line.provider, &line.model, rates_on)
            .and_then(|entry| reprice(entry, &line, &bounds));
        let repriced = match repriced {
            Some(cost) => cost,
            None => {
                let u = unpriced
                    .entry((line.provider.clone(), line.model.clone()))
                    .or_default();
                u.0 += 1;
                u.1 += line.cost;
                line.cost
            }
        };
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
        changes: step_changes(cur)?,
        unpriced: unpriced
            .into_iter()
            .map(|(model, (lines, cost))| Unpriced { model, lines, cost })
            .collect(),
    })
}

/// One dimension's rows, each column apportioned to the total's, sorted by
/// the size of the change (largest first), then by value.
fn rows(values: BTreeMap<String, Sums>, total: &DiffRow) -> Result<Vec<DiffRow>> {
    let column = |pick: fn(&Sums) -> Decimal, target: Micros| {
        let exact: Vec<Decimal> = values.values().map(pick).collect();
        apportion(&exact, target)
    };
    let prev = column(|s| s.prev, total.prev)?;
    let repriced = column(|s| s.repriced, total.repriced)?;
    let cur = column(|s| s.cur, total.cur)?;
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

/// A file of a month's output directory, or an error saying how to make it.
fn need(dir: &Path, name: &str) -> Result<PathBuf> {
    let path = dir.join(name);
    if path.is_file() {
        return Ok(path);
    }
    Err(Error::fatal(format!(
        "{}: no {name}; `tokenledger diff` compares two `report --out` directories \
         (a tokenledger that writes ledger.csv and pricing.toml: rerun `report --out {}` for that month)",
        dir.display(),
        dir.display()
    )))
}

/// The month a directory holds: `summary.json`'s `period`, else the month
/// of the last day in its ledger.
fn month_of(dir: &Path) -> Result<Period> {
    let path = need(dir, "summary.json")?;
    let text = crate::read::read_text(&path)?;
    let summary: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::fatal(format!("{}: {e}", path.display())))?;
    if let Some(period) = summary.get("period").and_then(|p| p.as_str()) {
        return Period::parse(period)
            .map_err(|e| Error::fatal(format!("{}: period: {e}", path.display())));
    }
    let mut days: Option<(NaiveDate, NaiveDate)> = None;
    each_line(dir, |line| {
        let (first, last) = days.unwrap_or((line.day, line.day));
        days = Some((first.min(line.day), last.max(line.day)));
        Ok(())
    })?;
    let (first, last) = days.ok_or_else(|| {
        Error::fatal(format!(
            "{}: the ledger has no lines and summary.json no period",
            dir.display()
        ))
    })?;
    let month = |d: NaiveDate| format!("{:04}-{:02}", d.year(), d.month());
    if month(first) != month(last) {
        return Err(Error::fatal(format!(
            "{}: the ledger holds {} to {} and summary.json no period: \
             rerun `report` with --period to compare one month",
            dir.display(),
            first,
            last
        )));
    }
    Period::parse(&month(last)).map_err(Error::fatal)
}

/// Stream `dir/ledger.csv`, checking its header and each field.
fn each_line(dir: &Path, mut each: impl FnMut(Line) -> Result<()>) -> Result<()> {
    let path = need(dir, "ledger.csv")?;
    let mut reader = csv::ReaderBuilder::new().from_reader(open(&path)?);
    let at = |line: u64| format!("{}:{line}", path.display());
    let header = reader
        .headers()
        .map_err(|e| Error::fatal(format!("{}: {e}", at(1))))?;
    // A ledger written before the `hours` column had none.
    let columns: Vec<&str> = match header.iter().eq(LEDGER_COLUMNS) {
        true => LEDGER_COLUMNS.to_vec(),
        false => LEDGER_COLUMNS
            .into_iter()
            .filter(|c| *c != "hours")
            .collect(),
    };
    if header.iter().ne(columns.iter().copied()) {
        return Err(Error::fatal(format!(
            "{}: not a tokenledger ledger: the header is not {}",
            at(1),
            LEDGER_COLUMNS.join(",")
        )));
    }
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            Error::fatal(format!("{}: {e}", at(line)))
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let field = |name: &str| match columns.iter().position(|c| *c == name) {
            Some(i) => record.get(i).unwrap_or_default(),
            None => "", // `hours` in an older ledger
        };
        let bad = |name: &str| {
            Error::fatal(format!(
                "{}: {name}: unexpected value \"{}\"",
                at(line),
                field(name)
            ))
        };
        // Bounded (costs like every input amount, quantities at 10¹⁸), so
        // no product or sum can overflow.
        let parse_decimal = |name: &str| {
            let bound = |d: &Decimal| match name {
                "quantity" => *d <= Decimal::from(1_000_000_000_000_000_000u64),
                _ => plausible(*d),
            };
            field(name)
                .parse::<Decimal>()
                .ok()
                .filter(|d| bound(d) && !d.is_sign_negative())
                .ok_or_else(|| bad(name))
        };
        let charge = match field("pricing_unit") {
            TOKEN_UNIT => {
                let name = field("charge");
                let token = TokenType::ALL.into_iter().find(|t| t.key() == name);
                let modal = Modality::ALL.into_iter().find(|m| m.key() == name);
                match (token, modal) {
                    (Some(t), _) => Charged::Tokens(t),
                    (_, Some(m)) => Charged::Modality(m),
                    _ => return Err(bad("charge")),
                }
            }
            REQUEST_UNIT if !field("charge").is_empty() => {
                Charged::Requests(field("charge").to_string())
            }
            REQUEST_UNIT => return Err(bad("charge")),
            _ => return Err(bad("pricing_unit")),
        };
        let tier = Tier::parse(field("service_tier")).ok_or_else(|| bad("service_tier"))?;
        let geo = match field("inference_geo") {
            "" => return Err(bad("inference_geo")),
            GLOBAL => None,
            region => Some(region.to_string()),
        };
        let fast = match field("speed") {
            s if s == speed(true) => true,
            s if s == speed(false) => false,
            _ => return Err(bad("speed")),
        };
        let hours = match field("hours") {
            "" => None,
            label => Some(Window::parse(label).ok_or_else(|| bad("hours"))?),
        };
        field("long_context")
            .parse::<bool>()
            .map_err(|_| bad("long_context"))?;
        each(Line {
            day: field("day").parse().map_err(|_| bad("day"))?,
            provider: field("provider").to_string(),
            model: field("model").to_string(),
            charge,
            tier,
            geo,
            fast,
            hours,
            prompt_over: field("prompt_over_tokens")
                .parse()
                .map_err(|_| bad("prompt_over_tokens"))?,
            values: ["tenant", "feature", "agent", "tool", "model"].map(|c| field(c).to_string()),
            quantity: parse_decimal("quantity")?,
            cost: parse_decimal("cost_usd")?,
        })?;
    }
    Ok(())
}
