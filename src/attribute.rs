//! Stage 5, attribute: roll every priced usage record up by tenant, feature,
//! agent, tool, model and run. Each record lands in exactly one row of each
//! report; a record with no call is `(unattributed)` everywhere it has no
//! key of its own.

use crate::hash::FastMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::intern::{Interner, Sym};
use crate::join::Joined;
use crate::model::{Cost, TokenType, UsageRecord};
use crate::tree::{Call, Dims};

/// Row label for usage records that joined no span.
pub const UNATTRIBUTED: &str = "(unattributed)";
/// Row label for a dimension found on no ancestor.
pub const NONE: &str = "(none)";
/// Run label for a dimension whose calls disagree.
pub const MIXED: &str = "(mixed)";
/// Row label, under `--true-up`, for invoiced usage no record makes up.
pub const INVOICE_ONLY: &str = "(invoice only)";

/// A report row's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    /// The record joined no span.
    Unattributed,
    /// The dimension was found nowhere.
    None,
    /// A named value.
    Name(Sym),
}

impl Key {
    /// A named value, or `None`.
    pub fn of(sym: Option<Sym>) -> Key {
        sym.map_or(Key::None, Key::Name)
    }

    /// The row label: the name, `(none)` or `(unattributed)`.
    pub fn label<'a>(&self, interner: &'a Interner) -> &'a str {
        match self {
            Key::Unattributed => UNATTRIBUTED,
            Key::None => NONE,
            Key::Name(sym) => interner.get(*sym),
        }
    }
}

/// Sums over a group of usage records.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Totals {
    /// Usage records (billed requests).
    pub requests: u64,
    /// Tokens per type; u128 so no month can overflow.
    pub tokens: [u128; 5],
    /// Reasoning tokens (a part of the output tokens).
    pub reasoning: u128,
    /// Per-request charges: (charge, count), in no particular order.
    pub charges: Vec<(Sym, u128)>,
    /// Audio and image tokens, by [`crate::model::Modality::index`].
    pub modalities: [u128; 4],
    /// Exact cost per token type.
    pub cost: Cost,
    /// Exact trued-up (invoiced) cost; zero without a true-up.
    pub billed: Decimal,
}

impl Totals {
    /// Add one priced record with its trued-up cost.
    pub fn add(&mut self, record: &UsageRecord, cost: &Cost, billed: Decimal) {
        self.requests += 1;
        for t in TokenType::ALL {
            self.tokens[t.index()] += u128::from(record.tokens.get(t));
        }
        self.reasoning += u128::from(record.reasoning_tokens);
        for &(charge, count) in record.requests.iter() {
            self.add_charge(charge, u128::from(count));
        }
        for &(m, count) in record.modalities.iter() {
            self.modalities[m.index()] += u128::from(count);
        }
        self.cost += *cost;
        self.billed += billed;
    }

    fn add_charge(&mut self, charge: Sym, count: u128) {
        match self.charges.iter_mut().find(|(c, _)| *c == charge) {
            Some((_, sum)) => *sum += count,
            None => self.charges.push((charge, count)),
        }
    }

    /// The count of one per-request charge.
    pub fn charge(&self, charge: Sym) -> u128 {
        self.charges
            .iter()
            .find(|(c, _)| *c == charge)
            .map_or(0, |(_, n)| *n)
    }

    /// Add another group's sums.
    pub fn merge(&mut self, other: &Totals) {
        self.requests += other.requests;
        for (mine, theirs) in self.tokens.iter_mut().zip(other.tokens) {
            *mine += theirs;
        }
        self.reasoning += other.reasoning;
        for &(charge, count) in &other.charges {
            self.add_charge(charge, count);
        }
        for (mine, theirs) in self.modalities.iter_mut().zip(other.modalities) {
            *mine += theirs;
        }
        self.cost += other.cost;
        self.billed += other.billed;
    }
}

/// A run's labels: the value all its calls agree on, else `(mixed)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Agreed {
    One(Key),
    Mixed,
}

impl Agreed {
    fn merge(&mut self, key: Key) {
        if *self != Agreed::One(key) {
            *self = Agreed::Mixed;
        }
    }

    fn label<'a>(&self, interner: &'a Interner) -> &'a str {
        match self {
            Agreed::One(key) => key.label(interner),
            Agreed::Mixed => MIXED,
        }
    }
}

#[derive(Clone, Debug)]
struct Run {
    root_agent: Agreed,
    tenant: Agreed,
    feature: Agreed,
    totals: Totals,
}

/// Every roll-up of one month.
#[derive(Debug, Default)]
pub struct Ledger {
    /// All records together.
    pub total: Totals,
    tenant: FastMap<Key, Totals>,
    feature: FastMap<Key, Totals>,
    agent: FastMap<Key, Totals>,
    agent_inclusive: FastMap<Key, Decimal>,
    tool: FastMap<Key, Totals>,
    model: FastMap<Key, Totals>,
    runs: FastMap<Option<u128>, Run>,
    /// Per UTC day: tenant, feature, agent, tool and model rows.
    by_day: [FastMap<(NaiveDate, Key), Totals>; 5],
    /// Indexes of the records that joined no call.
    pub unattributed: Vec<usize>,
    /// Records joined to a call.
    pub matched: u64,
}

/// Roll up `records` (priced by `costs`, trued up to `billed` when given,
/// joined to `calls` by `joined`).
pub fn attribute(
    records: &[UsageRecord],
    costs: &[Cost],
    billed: Option<&[Cost]>,
    calls: &[Call],
    joined: &Joined,
) -> Ledger {
    let mut ledger = Ledger::default();
    let unattributed = Dims::default();
    for (i, (record, cost)) in records.iter().zip(costs).enumerate() {
        let billed = billed.map_or(Decimal::ZERO, |b| b[i].total());
        let call = joined.call_of[i].map(|c| &calls[c as usize]);
        let dims = call.map_or(&unattributed, |c| &c.dims);
        let key = |sym: Option<Sym>| {
            if call.is_some() {
                Key::of(sym)
            } else {
                Key::Unattributed
            }
        };
        // Each record goes into its per-day rows only: the month's rows and
        // the total are their sums, added up once at the end.
        let rows = [
            key(dims.tenant),
            key(dims.feature),
            key(dims.agent),
            key(dims.tool),
            Key::Name(record.model),
        ];
        let day = record.timestamp.date_naive();
        for (row, daily) in rows.into_iter().zip(&mut ledger.by_day) {
            daily
                .entry((day, row))
                .or_default()
                .add(record, cost, billed);
        }
        if call.is_some() {
            ledger.matched += 1;
            for agent in dims.agents.iter() {
                *ledger.agent_inclusive.entry(Key::of(agent)).or_default() += cost.total();
            }
        } else {
            ledger.unattributed.push(i);
            *ledger.agent_inclusive.entry(Key::Unattributed).or_default() += cost.total();
        }
        let (root_agent, tenant, feature) =
            (key(dims.root_agent), key(dims.tenant), key(dims.feature));
        let run = ledger
            .runs
            .entry(call.map(|c| c.trace_id))
            .or_insert_with(|| Run {
                root_agent: Agreed::One(root_agent),
                tenant: Agreed::One(tenant),
                feature: Agreed::One(feature),
                totals: Totals::default(),
            });
        run.root_agent.merge(root_agent);
        run.tenant.merge(tenant);
        run.feature.merge(feature);
        run.totals.add(record, cost, billed);
    }
    ledger.sum_days();
    ledger
}

/// The dimensions of the per-day tables, in output order.
pub const DAY_DIMENSIONS: [&str; 5] = ["tenant", "feature", "agent", "tool", "model"];

/// One report's rows with their labels, ready to be rounded and written.
#[derive(Clone, Debug)]
pub struct Table {
    /// Report name: `tenant`, `feature`, `agent`, `tool`, `model`, `run`.
    pub name: &'static str,
    /// Header of the label columns.
    pub key_columns: &'static [&'static str],
    /// Rows: labels, totals and, for agents, the inclusive cost.
    pub rows: Vec<(Vec<String>, Totals, Option<Decimal>)>,
}

impl Ledger {
    /// The month's rows of each dimension, and the total, from the per-day
    /// rows (exact sums, in any order: costs are exact, and a record's
    /// billed amounts are held to 18 places, see `reconcile`).
    fn sum_days(&mut self) {
        let reports = [
            &mut self.tenant,
            &mut self.feature,
            &mut self.agent,
            &mut self.tool,
            &mut self.model,
        ];
        for (report, daily) in reports.into_iter().zip(&self.by_day) {
            for ((_, row), totals) in daily {
                report.entry(*row).or_default().merge(totals);
            }
        }
        for totals in self.model.values() {
            self.total.merge(totals);
        }
    }

    /// Per dimension (in [`DAY_DIMENSIONS`] order), a table of its values'
    /// totals per UTC day, labelled `day` and the value; the per-day rows
    /// move out of the ledger.
    pub fn take_day_tables(&mut self, interner: &Interner) -> Vec<Table> {
        const COLUMNS: [[&str; 2]; 5] = [
            ["day", "tenant"],
            ["day", "feature"],
            ["day", "agent"],
            ["day", "tool"],
            ["day", "model"],
        ];
        let by_day = std::mem::take(&mut self.by_day);
        DAY_DIMENSIONS
            .iter()
            .zip(&COLUMNS)
            .zip(by_day)
            .map(|((name, columns), days)| Table {
                name,
                key_columns: columns,
                rows: days
                    .into_iter()
                    .map(|((day, key), totals)| {
                        let labels = vec![day.to_string(), key.label(interner).to_string()];
                        (labels, totals, None)
                    })
                    .collect(),
            })
            .collect()
    }

    /// Every report as a labelled table; `invoice_only` (under a true-up)
    /// adds a row holding invoiced usage that no record makes up. The rows
    /// move out of the ledger (the run table holds one per trace), which
    /// keeps its total, its per-day rows and its unattributed records.
    pub fn take_tables(
        &mut self,
        interner: &Interner,
        invoice_only: Option<Decimal>,
    ) -> Vec<Table> {
        let inclusive = std::mem::take(&mut self.agent_inclusive);
        let simple = |name,
                      column: &'static [&'static str],
                      map: &mut FastMap<Key, Totals>,
                      with_inclusive: bool| Table {
            name,
            key_columns: column,
            rows: std::mem::take(map)
                .into_iter()
                .map(|(key, totals)| {
                    let incl =
                        with_inclusive.then(|| inclusive.get(&key).copied().unwrap_or_default());
                    (vec![key.label(interner).to_string()], totals, incl)
                })
                .collect(),
        };
        let runs = Table {
            name: "run",
            key_columns: &["run_id", "root_agent", "tenant", "feature"],
            rows: std::mem::take(&mut self.runs)
                .into_iter()
                .map(|(id, run)| {
                    let id = id.map_or_else(|| UNATTRIBUTED.to_string(), |t| format!("{t:032x}"));
                    let labels = [run.root_agent, run.tenant, run.feature]
                        .map(|a| a.label(interner).to_string());
                    let mut keys = vec![id];
                    keys.extend(labels);
                    (keys, run.totals, None)
                })
                .collect(),
        };
        let mut tables = vec![
            simple("tenant", &["tenant"], &mut self.tenant, false),
            simple("feature", &["feature"], &mut self.feature, false),
            simple("agent", &["agent"], &mut self.agent, true),
            simple("tool", &["tool"], &mut self.tool, false),
            simple("model", &["model"], &mut self.model, false),
            runs,
        ];
        if let Some(billed) = invoice_only.filter(|b| !b.is_zero()) {
            for table in &mut tables {
                let labels = vec![INVOICE_ONLY.to_string(); table.key_columns.len()];
                let totals = Totals {
                    billed,
                    ..Totals::default()
                };
                let inclusive = (table.name == "agent").then_some(Decimal::ZERO);
                table.rows.push((labels, totals, inclusive));
            }
        }
        tables
    }
}
