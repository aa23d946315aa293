//! Stage 6, reconcile: compare the computed cost of the billed usage with
//! what the provider invoiced, line by line: per (provider, model, token
//! type), and per UTC day when every invoice usage line covers one day.
//! Model names on both sides go through the pricing table's match rules
//! (`claude-sonnet-4-5-20250929` meets `Claude Sonnet 4.5`); an invoice line
//! naming no model sums every model's usage ([`rollup`]).
//!
//! A line drifts when |computed − invoiced| exceeds both the absolute and
//! the relative tolerance. Credits, tax and adjustments are kept out of the
//! comparison and shown beside it. With a true-up, each invoice line's
//! residual is spread over the records that make it up, pro rata to their
//! computed cost.

mod counts;
mod diagnose;
mod edges;
mod json;
mod names;
mod other;
mod rollup;
mod true_up;

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

use crate::model::{Costs, TokenType, UsageRecord};
use crate::price::{Lookup, PriceTable, FREE_SUFFIX};
use crate::read::invoice::{self, Charge, InvoiceLine, Meter};
use diagnose::{diagnose, name_drifting_rates};
pub use json::ReconciliationJson;
pub use names::Names;
pub use other::OtherLine;
pub use rollup::fetched_twice;
use rollup::Rollups;

/// When a difference is a drift.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tolerance {
    /// Relative tolerance, percent of the invoiced amount.
    pub pct: Decimal,
    /// Absolute tolerance in USD.
    pub usd: Decimal,
}

impl Tolerance {
    /// Whether `computed` and `invoiced` differ by more than both tolerances.
    pub fn drifts(&self, computed: Decimal, invoiced: Decimal) -> bool {
        let delta = (computed - invoiced).abs();
        delta > self.usd && delta > self.pct / Decimal::ONE_HUNDRED * invoiced.abs()
    }
}

/// The outcome of one reconciliation line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Within tolerance.
    Ok,
    /// Both sides present, beyond tolerance.
    Drift,
    /// Computed usage the invoice does not have.
    MissingInInvoice,
    /// Invoiced usage with no usage records.
    MissingInUsage,
    /// A credit, tax or adjustment, or another service of a cloud bill:
    /// not compared.
    NotUsage,
    /// A model service's charge that is not per token: not compared.
    Fixed,
    /// Model usage whose meter or model cannot be read: fails the gate.
    UnmappedMeter,
    /// A line the allocation file's `[[split]]` spreads: not compared.
    Split,
}

impl Status {
    /// The name written in `reconciliation.csv`.
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Drift => "drift",
            Status::MissingInInvoice => "missing_in_invoice",
            Status::MissingInUsage => "missing_in_usage",
            Status::NotUsage => "not_usage",
            Status::Fixed => "fixed",
            Status::UnmappedMeter => "unmapped_meter",
            Status::Split => "split",
        }
    }
}

/// What a line compares: provider, model, token type, (in daily mode) day
/// and, for a model's charge not per token, which charge.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LineKey {
    /// Provider.
    pub provider: String,
    /// Model under its canonical name, or the description of a line that
    /// is not about a model.
    pub model: String,
    /// Token type, per-request charge, or neither.
    pub meter: Meter,
    /// The UTC day, in daily mode.
    pub day: Option<NaiveDate>,
    /// What a model's line not charged per token bills (its description:
    /// two such charges of one model are two lines, whatever their order);
    /// empty on every other line.
    pub charge: String,
}

/// One compared line.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// What is compared.
    pub key: LineKey,
    /// Computed cost of the usage records.
    pub computed: Decimal,
    /// Invoiced amount.
    pub invoiced: Decimal,
    /// The invoiced amount at list prices, where the invoice states it
    /// (Anthropic's `list_amount`, FOCUS `ListCost`).
    pub list: Option<Decimal>,
    /// Billed tokens of this type behind the computed cost.
    pub tokens: u128,
    /// Of those, the tokens of requests priced at a long-context rate, and
    /// their computed cost.
    pub long_context: (u128, Decimal),
    /// The tokens the invoice counts, where every one of its lines states
    /// its quantity (a cloud bill's).
    pub billed_tokens: Option<Decimal>,
    /// Outcome.
    pub status: Status,
    /// For a line that fails, what the numbers point at.
    pub diagnosis: String,
    /// The bill's description of a line not charged per token (a model's
    /// provisioned throughput), as splits match it.
    pub description: Option<String>,
}

/// A whole reconciliation.
#[derive(Clone, Debug)]
pub struct Reconciliation {
    /// The tolerance applied.
    pub tolerance: Tolerance,
    /// Whether lines are compared per UTC day.
    pub daily: bool,
    /// Usage lines, sorted by key.
    pub lines: Vec<Line>,
    /// The bill's lines not compared with usage (credits, tax,
    /// adjustments, fixed charges, unmapped usage, other services), summed.
    pub other: Vec<OtherLine>,
    /// Computed cost of all usage.
    pub computed_total: Decimal,
    /// Invoiced usage.
    pub invoiced_usage: Decimal,
    /// Status of the usage total.
    pub total_status: Status,
    /// The (provider, model, token type) groups whose days all pass but
    /// whose month drifts, with what their numbers point at.
    pub total_diagnosis: String,
    /// Invoiced / computed per (provider, model, token type), for true-up.
    factors: HashMap<(String, String, Meter), Decimal>,
    /// Invoiced usage that no usage record makes up, per provider.
    pub invoice_only_of: BTreeMap<String, Decimal>,
    /// Per provider, the first days of the earliest and the latest month
    /// its usage lines are filed under (their billing period, else the
    /// day they cover or start on): where its invoice-only usage is dated.
    pub billed_months: BTreeMap<String, (NaiveDate, NaiveDate)>,
    /// The invoice's lines that sum over models, for the true-up's keys.
    rollups: Rollups,
}

impl Reconciliation {
    /// Invoiced usage that no usage record makes up.
    pub fn invoice_only(&self) -> Decimal {
        self.invoice_only_of.values().sum()
    }

    /// Whether anything fails the gate: a drifting line or total, a line
    /// missing on one side by more than the tolerance, or model usage whose
    /// meter cannot be read.
    pub fn failed(&self) -> bool {
        self.total_status == Status::Drift
            || self.lines.iter().any(|l| self.line_fails(l))
            || self.unmapped() > 0
    }

    /// How many lines of model usage have a meter or model nothing reads.
    fn unmapped(&self) -> usize {
        let unmapped = |l: &&OtherLine| l.status() == Status::UnmappedMeter;
        self.other.iter().filter(unmapped).count()
    }

    /// What failed, for the gate's line: the total and how many lines.
    pub fn failing_summary(&self) -> String {
        let lines = self.lines.iter().filter(|l| self.line_fails(l)).count();
        let total = if self.total_status == Status::Drift {
            "the usage total and "
        } else {
            ""
        };
        match self.unmapped() {
            0 => format!("{total}{lines} line(s)"),
            n => format!("{total}{lines} line(s), and {n} line(s) of unmapped model usage"),
        }
    }

    fn line_fails(&self, line: &Line) -> bool {
        match line.status {
            Status::Drift => true,
            Status::MissingInInvoice | Status::MissingInUsage => {
                self.tolerance.drifts(line.computed, line.invoiced)
            }
            Status::Ok
            | Status::NotUsage
            | Status::Fixed
            | Status::UnmappedMeter
            | Status::Split => false,
        }
    }

    /// Counts of lines per status.
    pub fn counts(&self) -> BTreeMap<&'static str, u64> {
        let mut counts = BTreeMap::new();
        for line in &self.lines {
            *counts.entry(line.status.name()).or_default() += 1;
        }
        for line in &self.other {
            *counts.entry(line.status().name()).or_default() += 1;
        }
        counts
    }

    /// The bill's lines of `charges`, together.
    pub fn other_total(&self, charges: &[Charge]) -> Decimal {
        let of = |l: &&OtherLine| charges.contains(&l.charge);
        self.other.iter().filter(of).map(|l| l.amount).sum()
    }

    /// Whether usage records make up any of `key`'s (provider, model,
    /// token type), on any day: a line of a type none does is invoice-only.
    pub fn made_up(&self, key: &LineKey) -> bool {
        let k = (key.provider.clone(), key.model.clone(), key.meter.clone());
        self.factors.contains_key(&k)
    }

    /// Declare lines spread by the allocation's splits: (index in `lines`,
    /// split number) for usage no record makes up, which then leaves the
    /// usage total, and (index in `other`, split number).
    pub fn split(&mut self, lines: &[(usize, usize)], other: &[(usize, usize)]) {
        for &(i, number) in lines {
            let line = &mut self.lines[i];
            line.status = Status::Split;
            line.diagnosis = format!("split:{number}");
            self.invoiced_usage -= line.invoiced;
            *(self.invoice_only_of)
                .entry(line.key.provider.clone())
                .or_default() -= line.invoiced;
        }
        for &(i, number) in other {
            self.other[i].split = Some(number);
        }
        self.total_status = if self
            .tolerance
            .drifts(self.computed_total, self.invoiced_usage)
        {
            Status::Drift
        } else {
            Status::Ok
        };
    }

    /// The bill's bottom line: usage and every other line.
    pub fn invoice_total(&self) -> Decimal {
        let split: Decimal = self
            .lines
            .iter()
            .filter(|l| l.status == Status::Split)
            .map(|l| l.invoiced)
            .sum();
        self.invoiced_usage + split + self.other.iter().map(|l| l.amount).sum::<Decimal>()
    }
}

/// One line's sides while they are summed.
#[derive(Default)]
struct Sides {
    computed: Decimal,
    invoiced: Decimal,
    /// The invoiced amount at list prices, where the invoice states it.
    list: Option<Decimal>,
    tokens: u128,
    /// Whether the invoice has the line at all.
    on_invoice: bool,
    /// Long-context tokens and their computed cost.
    long_context: (u128, Decimal),
    /// The tokens the invoice's lines count, and whether one of them
    /// states no quantity.
    billed_tokens: (Decimal, bool),
}

/// Both sides of every line, keyed alike, and the computed side by the
/// rate's qualifiers as a cost report states them (tier, context window),
/// to say which rate of a line drifted.
struct Comparison<'a> {
    names: &'a Names<'a>,
    rollups: &'a Rollups,
    daily: bool,
    sides: BTreeMap<LineKey, Sides>,
    by_rate: BTreeMap<(LineKey, String), (Decimal, Decimal)>,
    /// Per-request lines: the requests pricing.toml's free allowance made
    /// free, on no invoice line, to say why a line billed them drifts.
    free_requests: HashMap<LineKey, u128>,
}

impl Comparison<'_> {
    fn key(&self, r: &UsageRecord, meter: Meter) -> LineKey {
        let (provider, model) = (
            self.names.provider(r.provider),
            self.names.model(r.provider, r.model),
        );
        let (model, meter) = self.rollups.place(provider, model, meter);
        LineKey {
            provider: provider.to_string(),
            model,
            meter,
            day: self.daily.then(|| r.timestamp.date_naive()),
            charge: String::new(),
        }
    }

    /// The computed side: every record's cost per token type.
    fn add_records(&mut self, records: &[UsageRecord], costs: &Costs, lookup: &mut Lookup) {
        for (r, cost) in records.iter().zip(costs.iter()) {
            let long = lookup
                .entry(r)
                .is_some_and(|e| e.is_long_context(&r.tokens));
            let window = if long { "200k-1M" } else { "0-200k" };
            let geo = r
                .service
                .geo
                .map_or_else(String::new, |g| format!(" {}", self.names.name(g)));
            let rate = format!("{} {window}{geo}", r.service.tier.key());
            for t in TokenType::ALL {
                let (tokens, amount) = (r.tokens.get(t), cost.tokens[t.index()]);
                if tokens == 0 && amount.is_zero() {
                    continue;
                }
                let key = self.key(r, Meter::Tokens(t));
                self.by_rate
                    .entry((key.clone(), rate.clone()))
                    .or_default()
                    .0 += amount;
                let side = self.sides.entry(key).or_default();
                side.computed += amount;
                side.tokens += u128::from(tokens);
                if long {
                    side.long_context.0 += u128::from(tokens);
                    side.long_context.1 += amount;
                }
            }
        }
    }

    /// Per-request charges: their own lines (web_search, …).
    fn add_requests(&mut self, records: &[UsageRecord], lookup: &mut Lookup) {
        for r in records.iter().filter(|r| !r.requests().is_empty()) {
            let Some(entry) = lookup.entry(r) else {
                continue;
            };
            for &(charge, count) in r.requests().iter() {
                let name = self.names.name(charge);
                if entry.free_of(name).is_some() {
                    // Inside a free allowance: on no invoice line.
                    let paid = name.strip_suffix(FREE_SUFFIX).unwrap_or(name);
                    let key = self.key(r, Meter::Requests(paid.to_string()));
                    *self.free_requests.entry(key).or_default() += u128::from(count);
                    continue;
                }
                let fee = entry.fee(name, count).unwrap_or_default();
                let side = self
                    .sides
                    .entry(self.key(r, Meter::Requests(name.to_string())))
                    .or_default();
                side.computed += fee;
                side.tokens += u128::from(count);
            }
        }
    }

    /// The invoiced side: every usage line of the invoice.
    fn add_invoice(&mut self, usage: &[&InvoiceLine], table: &PriceTable) {
        for line in usage {
            let (model, meter) = match &line.model {
                _ if self.rollups.all_usage(&line.provider) => {
                    (invoice::ALL_USAGE.to_string(), Meter::Other)
                }
                Some(m) => {
                    let model = table.canonical_model(&line.provider, m);
                    let meter = self
                        .rollups
                        .cache_writes(&line.provider, model, &line.meter);
                    (model.to_string(), meter)
                }
                None => (Rollups::invoice_model(line), line.meter.clone()),
            };
            let charge = match (&line.model, &meter) {
                (Some(_), Meter::Other) if model != invoice::ALL_USAGE => line.description.clone(),
                _ => String::new(),
            };
            let key = LineKey {
                provider: line.provider.clone(),
                model,
                meter,
                day: line.day.filter(|_| self.daily),
                charge,
            };
            if let Some(rate) = &line.qualifiers {
                self.by_rate
                    .entry((key.clone(), rate.clone()))
                    .or_default()
                    .1 += line.amount;
            }
            let side = self.sides.entry(key).or_default();
            side.invoiced += line.amount;
            side.on_invoice = true;
            match line.quantity {
                Some(q) => side.billed_tokens.0 += q,
                None => side.billed_tokens.1 = true,
            }
            if let Some(list) = line.list_amount {
                side.list = Some(side.list.unwrap_or_default() + list);
            }
        }
    }

    /// Every line, with its status.
    fn lines(&mut self, tolerance: Tolerance) -> Vec<Line> {
        std::mem::take(&mut self.sides)
            .into_iter()
            .map(|(key, s)| {
                let status = match (s.tokens > 0 || !s.computed.is_zero(), s.on_invoice) {
                    (true, false) => Status::MissingInInvoice,
                    (false, true) => Status::MissingInUsage,
                    _ if tolerance.drifts(s.computed, s.invoiced) => Status::Drift,
                    _ => Status::Ok,
                };
                Line {
                    key,
                    computed: s.computed,
                    invoiced: s.invoiced,
                    list: s.list,
                    tokens: s.tokens,
                    long_context: s.long_context,
                    billed_tokens: (s.on_invoice && !s.billed_tokens.1)
                        .then_some(s.billed_tokens.0),
                    status,
                    diagnosis: String::new(),
                    description: None,
                }
            })
            .collect()
    }
}

/// Invoiced ÷ computed per provider, model and token type.
type Factors = HashMap<(String, String, Meter), Decimal>;

/// True-up factors (over every day) and the invoiced usage no record
/// makes up, per provider.
fn factors(lines: &[Line]) -> (Factors, BTreeMap<String, Decimal>) {
    /// Sums over every day of one (provider, model, token type).
    #[derive(Default)]
    struct TypeSums {
        computed: Decimal,
        invoiced: Decimal,
        on_invoice: bool,
    }
    let mut per_type: BTreeMap<(String, String, Meter), TypeSums> = BTreeMap::new();
    for line in lines {
        let k = &line.key;
        let sums = per_type
            .entry((k.provider.clone(), k.model.clone(), k.meter.clone()))
            .or_default();
        sums.computed += line.computed;
        sums.invoiced += line.invoiced;
        sums.on_invoice |= line.status != Status::MissingInInvoice;
    }
    let mut factors = HashMap::new();
    let mut invoice_only = BTreeMap::<String, Decimal>::new();
    for (key, sums) in per_type {
        // A line records make up: per token type, per request charge, or
        // a provider's whole usage in one line (a roll-up).
        let made_up = match key.2 {
            Meter::Tokens(_) | Meter::Requests(_) | Meter::CacheWrites => true,
            Meter::Other => key.1 == invoice::ALL_USAGE,
        };
        match key.2 {
            _ if made_up && !sums.computed.is_zero() && sums.on_invoice => {
                match sums.invoiced.checked_div(sums.computed) {
                    Some(factor) => {
                        factors.insert(key, factor);
                    }
                    // Beyond the decimal range (a bill many orders above
                    // its usage): no record can carry it.
                    None => *invoice_only.entry(key.0).or_default() += sums.invoiced,
                }
            }
            _ if sums.computed.is_zero() => {
                *invoice_only.entry(key.0).or_default() += sums.invoiced
            }
            _ => {}
        }
    }
    (factors, invoice_only)
}

/// Compare priced usage with the invoice.
pub fn reconcile(
    records: &[UsageRecord],
    costs: &Costs,
    invoice: &[InvoiceLine],
    table: &PriceTable,
    names: &Names,
    tolerance: Tolerance,
) -> Reconciliation {
    let (usage, other): (Vec<&InvoiceLine>, Vec<&InvoiceLine>) =
        invoice.iter().partition(|l| l.charge == Charge::Usage);
    let daily = !usage.is_empty() && usage.iter().all(|l| l.day.is_some());
    let rollups = Rollups::of(&usage, table);
    let mut comparison = Comparison {
        names,
        rollups: &rollups,
        daily,
        sides: BTreeMap::new(),
        by_rate: BTreeMap::new(),
        free_requests: HashMap::new(),
    };
    let mut lookup = Lookup::new(table, names.interner);
    comparison.add_records(records, costs, &mut lookup);
    comparison.add_requests(records, &mut lookup);
    comparison.add_invoice(&usage, table);
    let mut lines = comparison.lines(tolerance);
    let (factors, invoice_only_of) = factors(&lines);
    let by_rate = comparison.by_rate;

    let month_drifts = diagnose(&mut lines, &tolerance, daily);
    name_drifting_rates(&mut lines, &by_rate, &tolerance);
    diagnose::name_free_requests(&mut lines, &comparison.free_requests);
    counts::name_counts(&mut lines, &tolerance);
    diagnose::name_not_per_token(&mut lines);
    let computed_total: Decimal = costs.iter().map(|c| c.total()).sum();
    let invoiced_usage: Decimal = usage.iter().map(|l| l.amount).sum();
    let total_status = if tolerance.drifts(computed_total, invoiced_usage) {
        Status::Drift
    } else {
        Status::Ok
    };
    let total_diagnosis = month_drifts.join("; ");
    Reconciliation {
        tolerance,
        daily,
        lines,
        other: other::others(&other, table),
        computed_total,
        invoiced_usage,
        total_status,
        total_diagnosis,
        factors,
        invoice_only_of,
        billed_months: billed_months(&usage),
        rollups,
    }
}

/// Per provider, the first days of the earliest and the latest month its
/// usage `lines` are filed under (see [`Reconciliation::billed_months`]).
fn billed_months(lines: &[&InvoiceLine]) -> BTreeMap<String, (NaiveDate, NaiveDate)> {
    let mut months: BTreeMap<String, (NaiveDate, NaiveDate)> = BTreeMap::new();
    for line in lines {
        let filed = (line.billing_period)
            .or(line.day)
            .or(line.covers.map(|(first, _)| first));
        let Some(month) = filed.and_then(|d| d.with_day(1)) else {
            continue;
        };
        let (first, last) = months
            .entry(line.provider.clone())
            .or_insert((month, month));
        (*first, *last) = (month.min(*first), month.max(*last));
    }
    months
}
