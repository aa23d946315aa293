//! A month's `report --out` directory read back for `diff`, trusted only
//! once checked: every file it reads must be the one `report` wrote (its
//! SHA-256 in the directory's manifest), every ledger line must cost its
//! quantity times its unit price, and the ledger must add up to the total
//! `summary.json` states. Cells `report` neutralised for spreadsheets are
//! read back as the values they were written for.

use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

use crate::charges::{speed, LEDGER_COLUMNS, REQUEST_UNIT, SOURCE_COLUMN, TOKEN_UNIT};
use crate::error::{Error, Result};
use crate::manifest::read_verified;
use crate::model::{Modality, Tier, TokenType, GLOBAL};
use crate::money::{plausible, Micros};
use crate::pipeline::config::Period;
use crate::price::{PriceTable, Window, SAVED_BASE};
use crate::write::restore;

/// Who writes what this module reads, for its messages.
pub const WRITER: &str = "`tokenledger report --out`";

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

/// What a ledger line charges for.
pub enum Charged {
    /// Tokens of a type.
    Tokens(TokenType),
    /// Audio or image tokens.
    Modality(Modality),
    /// Requests of a per-request charge, by name.
    Requests(String),
}

impl Charged {
    /// The charge as the ledger names it.
    pub fn name(&self) -> &str {
        match self {
            Charged::Tokens(t) => t.key(),
            Charged::Modality(m) => m.key(),
            Charged::Requests(name) => name,
        }
    }
}

/// One `ledger.csv` line as the diff needs it.
pub struct Line {
    /// Where it was read: `DIR/ledger.csv:LINE`.
    pub at: String,
    /// The UTC day.
    pub day: NaiveDate,
    /// Provider as billed.
    pub provider: String,
    /// Model as billed.
    pub model: String,
    /// The charge.
    pub charge: Charged,
    /// The service tier.
    pub tier: Tier,
    /// The region, `None` for global.
    pub geo: Option<String>,
    /// Fast mode.
    pub fast: bool,
    /// The time-of-day window it was priced in, if any.
    pub hours: Option<Window>,
    /// `prompt_over_tokens`.
    pub prompt_over: u64,
    /// Tenant, feature, agent, tool, model.
    pub values: [String; 5],
    /// Tokens or requests.
    pub quantity: Decimal,
    /// The exact cost.
    pub cost: Decimal,
}

/// A month's output directory, its summary and ledger read and checked.
pub struct Saved {
    dir: PathBuf,
    /// The month it holds.
    pub period: Period,
    /// Whether `summary.json` names the period (each line's day is then
    /// checked to fall in it).
    named_period: bool,
    /// The currency it was priced in.
    pub currency: String,
    /// The as-of day of a month to date (`summary.json`'s `month_to_date`).
    pub month_to_date: Option<String>,
    /// Written with `--raw-csv` (cells not neutralised).
    raw: bool,
    /// Run with `--allocation` (`summary.json`'s `allocation`).
    pub allocated: bool,
    /// The gates its run failed (`summary.json`'s `failed_gates`).
    pub failed_gates: Vec<String>,
    /// `summary.json`'s rounded total.
    total: Micros,
    ledger: Vec<u8>,
}

impl Saved {
    /// Read and check `dir`'s summary and ledger.
    pub fn open(dir: &Path) -> Result<Saved> {
        let summary = need(dir, "summary.json")?;
        let json: serde_json::Value = serde_json::from_slice(&summary)
            .map_err(|e| bad_file(dir, "summary.json", &e.to_string()))?;
        let text = |pointer: &str| json.pointer(pointer).and_then(|v| v.as_str());
        let currency = text("/pricing/currency")
            .ok_or_else(|| bad_file(dir, "summary.json", "no pricing.currency"))?;
        let total = text("/totals/cost/cost_usd")
            .and_then(|t| t.parse::<Decimal>().ok())
            .ok_or_else(|| bad_file(dir, "summary.json", "no totals.cost.cost_usd"))?;
        let mut saved = Saved {
            dir: dir.to_path_buf(),
            period: Period::parse("2000-01").expect("a month"),
            named_period: false,
            currency: currency.to_string(),
            month_to_date: text("/month_to_date").map(str::to_string),
            raw: json.get("raw_csv").and_then(|r| r.as_bool()) == Some(true),
            allocated: json.get("allocation").is_some(),
            failed_gates: (json.get("failed_gates").and_then(|g| g.as_array()))
                .map(|gates| {
                    gates
                        .iter()
                        .filter_map(|g| g.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
            total: Micros::round(total),
            ledger: need(dir, "ledger.csv")?,
        };
        saved.period = match text("/period") {
            Some(p) => Period::parse(p).map_err(|e| bad_file(dir, "summary.json", &e))?,
            None => saved.period_of_ledger()?,
        };
        saved.named_period = text("/period").is_some();
        Ok(saved)
    }

    /// The pricing table saved beside the reports (and its base).
    pub fn pricing(&self) -> Result<PriceTable> {
        let bytes = need(&self.dir, "pricing.toml")?;
        let path = self.dir.join("pricing.toml");
        let text = utf8(&path, bytes)?;
        let base = |name: &str| {
            if name != SAVED_BASE {
                return Err(Error::fatal(format!(
                    "{}: extends {name}, not the {SAVED_BASE} {WRITER} saves beside it",
                    path.display()
                )));
            }
            let base = self.dir.join(SAVED_BASE);
            let text = utf8(&base, need(&self.dir, SAVED_BASE)?)?;
            Ok((text, base.display().to_string()))
        };
        PriceTable::parse_with(&text, &path.display().to_string(), &base)
    }

    /// The month's `changes.csv`.
    pub fn changes(&self) -> Result<Vec<StepChange>> {
        let bytes = need(&self.dir, "changes.csv")?;
        let path = self.dir.join("changes.csv");
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        reader
            .deserialize::<StepChange>()
            .map(|row| {
                let mut change = row.map_err(|e| {
                    let line = e.position().map_or(0, |p| p.line());
                    Error::fatal(format!("{}:{line}: {e}", path.display()))
                })?;
                change.value = self.value(&change.value).to_string();
                Ok(change)
            })
            .collect()
    }

    /// A text cell as the value it was written for.
    fn value<'c>(&self, cell: &'c str) -> &'c str {
        if self.raw {
            cell
        } else {
            restore(cell)
        }
    }

    /// Every ledger line, checked: each costs its quantity times its unit
    /// price, and together they make the summary's total.
    pub fn lines(&self, mut each: impl FnMut(Line) -> Result<()>) -> Result<()> {
        let path = self.dir.join("ledger.csv");
        let at = |line: u64| format!("{}:{line}", path.display());
        let mut reader = csv::ReaderBuilder::new().from_reader(self.ledger.as_slice());
        let header = reader
            .headers()
            .map_err(|e| Error::fatal(format!("{}: {e}", at(1))))?;
        // A month allocated by rules says each line's source last.
        let columns = LEDGER_COLUMNS.into_iter();
        if header.iter().ne(columns.clone()) && header.iter().ne(columns.chain([SOURCE_COLUMN])) {
            return Err(Error::fatal(format!(
                "{}: not a tokenledger ledger: the header is not {}",
                at(1),
                LEDGER_COLUMNS.join(",")
            )));
        }
        let mut total = Decimal::ZERO;
        for record in reader.records() {
            let record = record.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                Error::fatal(format!("{}: {e}", at(line)))
            })?;
            let at = at(record.position().map_or(0, |p| p.line()));
            let line = self.line(&record, &at)?;
            if self.named_period && !self.period.contains_day(line.day) {
                return Err(Error::fatal(format!(
                    "{at}: day {} is outside {}, the period summary.json names: the ledger is \
                     not the month {WRITER} wrote",
                    line.day, self.period
                )));
            }
            total += line.cost;
            each(line)?;
        }
        if Micros::round(total) != self.total {
            return Err(Error::fatal(format!(
                "{}: the lines sum to ${}, but summary.json's total is ${}: the ledger is not the \
                 month {WRITER} wrote",
                path.display(),
                Micros::round(total),
                self.total
            )));
        }
        Ok(())
    }

    /// One ledger row, each field checked.
    fn line(&self, record: &csv::StringRecord, at: &str) -> Result<Line> {
        let field = |name: &str| {
            let i = LEDGER_COLUMNS.iter().position(|c| *c == name);
            i.and_then(|i| record.get(i)).unwrap_or_default()
        };
        let bad = |name: &str| {
            Error::fatal(format!(
                "{at}: {name}: unexpected value \"{}\"",
                field(name)
            ))
        };
        let decimal = |name: &str| parse_decimal(name, field(name)).ok_or_else(|| bad(name));
        let charge = charged(field("pricing_unit"), self.value(field("charge")))
            .ok_or_else(|| bad("charge"))?;
        let line = Line {
            at: at.to_string(),
            day: field("day").parse().map_err(|_| bad("day"))?,
            provider: self.value(field("provider")).to_string(),
            model: self.value(field("model")).to_string(),
            charge,
            tier: Tier::parse(field("service_tier")).ok_or_else(|| bad("service_tier"))?,
            geo: match self.value(field("inference_geo")) {
                "" => return Err(bad("inference_geo")),
                GLOBAL => None,
                region => Some(region.to_string()),
            },
            fast: match field("speed") {
                s if s == speed(true) => true,
                s if s == speed(false) => false,
                _ => return Err(bad("speed")),
            },
            hours: match field("hours") {
                "" => None,
                label => Some(Window::parse(label).ok_or_else(|| bad("hours"))?),
            },
            prompt_over: field("prompt_over_tokens")
                .parse()
                .map_err(|_| bad("prompt_over_tokens"))?,
            values: ["tenant", "feature", "agent", "tool", "model"]
                .map(|c| self.value(field(c)).to_string()),
            quantity: decimal("quantity")?,
            cost: decimal("cost_usd")?,
        };
        field("long_context")
            .parse::<bool>()
            .map_err(|_| bad("long_context"))?;
        let unit_price = decimal("unit_price_usd")?;
        // Each bound alone is plausible, their product need not be.
        let priced = (line.quantity.checked_mul(unit_price)).map(|p| p / unit_size(&line.charge));
        if priced != Some(line.cost) {
            return Err(Error::fatal(format!(
                "{at}: cost_usd {} is not quantity {} × unit_price_usd {unit_price}: the line was \
                 edited after {WRITER} wrote it",
                line.cost, line.quantity
            )));
        }
        Ok(line)
    }

    /// The month of a ledger whose summary names no period: that of its
    /// days, which must all fall in one month.
    fn period_of_ledger(&self) -> Result<Period> {
        let mut days: Option<(NaiveDate, NaiveDate)> = None;
        self.lines(|line| {
            let (first, last) = days.unwrap_or((line.day, line.day));
            days = Some((first.min(line.day), last.max(line.day)));
            Ok(())
        })?;
        let dir = self.dir.display();
        let (first, last) = days.ok_or_else(|| {
            Error::fatal(format!(
                "{dir}: the ledger has no lines and summary.json no period"
            ))
        })?;
        let month = |d: NaiveDate| format!("{:04}-{:02}", d.year(), d.month());
        if month(first) != month(last) {
            return Err(Error::fatal(format!(
                "{dir}: the ledger holds {first} to {last} and summary.json no period: \
                 rerun `report` with --period to compare one month"
            )));
        }
        Period::parse(&month(last)).map_err(Error::fatal)
    }
}

/// What a ledger line's pricing unit and charge name say it charges for.
fn charged(unit: &str, name: &str) -> Option<Charged> {
    match unit {
        TOKEN_UNIT => {
            let token = TokenType::ALL.into_iter().find(|t| t.key() == name);
            let modal = Modality::ALL.into_iter().find(|m| m.key() == name);
            token
                .map(Charged::Tokens)
                .or_else(|| modal.map(Charged::Modality))
        }
        REQUEST_UNIT if !name.is_empty() => Some(Charged::Requests(name.to_string())),
        _ => None,
    }
}

/// How many tokens (requests) a line's unit price is for.
pub fn unit_size(charge: &Charged) -> Decimal {
    match charge {
        Charged::Tokens(_) | Charged::Modality(_) => Decimal::from(1_000_000u32),
        Charged::Requests(_) => Decimal::from(1_000u32),
    }
}

/// A non-negative amount or quantity, bounded (costs like every input
/// amount, quantities at 10¹⁸) so that no sum of a month's lines can
/// overflow, and read exactly (a digit beyond what a decimal holds is not
/// rounded away).
fn parse_decimal(name: &str, text: &str) -> Option<Decimal> {
    let d = Decimal::from_str_exact(text).ok()?;
    let bounded = match name {
        "quantity" => d <= Decimal::from(1_000_000_000_000_000_000u64),
        _ => plausible(d),
    };
    (bounded && !d.is_sign_negative()).then_some(d)
}

/// A file of a month's output directory, checked against its manifest,
/// or an error saying how to make it.
fn need(dir: &Path, name: &str) -> Result<Vec<u8>> {
    if !dir.join(name).is_file() {
        return Err(Error::fatal(format!(
            "{}: no {name}; `tokenledger diff` compares two `report --out` directories \
             (a tokenledger that writes ledger.csv and pricing.toml: rerun `report --out {}` for that month)",
            dir.display(),
            dir.display()
        )));
    }
    read_verified(dir, name, WRITER)
}

fn utf8(path: &Path, bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes)
        .map_err(|e| Error::fatal(format!("{}: invalid UTF-8: {e}", path.display())))
}

fn bad_file(dir: &Path, name: &str, what: &str) -> Error {
    Error::fatal(format!("{}: {what}", dir.join(name).display()))
}
