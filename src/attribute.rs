//! Stage 5, attribute: roll every posting up by each [`Dimension`] and by
//! run. Each record lands in exactly one row of each report; a record with
//! no call is `(unattributed)` everywhere it has no key of its own.

use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::dimension::{Dimension, Key, PerDimension, INVOICE_ONLY, MIXED};
use crate::hash::{DenseMap, FastMap};
use crate::intern::{Interner, Sym};
use crate::model::{Cost, Modality, TokenType, UsageRecord};
use crate::posting::Postings;
use crate::threads;

/// Sums over a group of usage records.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Totals {
    /// Usage records (billed requests).
    pub requests: u64,
    /// The token counts per type, then the reasoning tokens: the low 64
    /// bits of each sum, its high bits (in a month no count reaches) out of
    /// line, so no month can overflow ([`Totals::tokens`]).
    counts: [u64; COUNTS],
    /// Per-request charges, audio and image tokens and the counts' high
    /// bits: most rows have none, so they sit out of line (a report can
    /// hold a row per tenant, the runs' a row per run).
    extras: Option<Box<Extras>>,
    /// Exact cost per token type.
    pub cost: Cost,
    /// Exact trued-up (invoiced) cost; zero without a true-up.
    pub billed: Decimal,
}

/// The token types' counts and the reasoning count.
const COUNTS: usize = 6;

/// The place of the reasoning count in [`Totals::counts`].
const REASONING: usize = 5;

/// The rarer sums of a group of records.
#[derive(Clone, Debug, Default, PartialEq)]
struct Extras {
    /// Per-request charges: (charge, count), in no particular order.
    charges: Vec<(Sym, u128)>,
    /// Audio and image tokens, by [`Modality::index`].
    modalities: [u128; 4],
    /// The high 64 bits of each of [`Totals::counts`].
    high: [u64; COUNTS],
}

impl Totals {
    /// Add one priced record with its trued-up cost.
    pub fn add(&mut self, record: &UsageRecord, cost: &Cost, billed: Decimal) {
        self.requests += 1;
        for t in TokenType::ALL {
            self.add_count(t.index(), record.tokens.get(t));
        }
        self.add_count(REASONING, record.tokens.reasoning());
        if !record.requests().is_empty() || !record.modalities().is_empty() {
            let extras = self.extras.get_or_insert_with(Box::default);
            for &(charge, count) in record.requests().iter() {
                extras.add_charge(charge, u128::from(count));
            }
            for &(m, count) in record.modalities().iter() {
                extras.modalities[m.index()] += u128::from(count);
            }
        }
        self.cost += *cost;
        self.billed += billed;
    }

    /// Add `n` to count `i`, carrying into its high bits.
    fn add_count(&mut self, i: usize, n: u64) {
        let (low, carried) = self.counts[i].overflowing_add(n);
        self.counts[i] = low;
        if carried {
            self.extras.get_or_insert_with(Box::default).high[i] += 1;
        }
    }

    /// Count `i`, whole.
    fn count(&self, i: usize) -> u128 {
        let high = self.extras.as_ref().map_or(0, |e| e.high[i]);
        u128::from(high) << 64 | u128::from(self.counts[i])
    }

    /// What the records spent, exact: the trued-up cost when `billed`,
    /// else the computed one (what budgets and the forecast measure).
    pub fn spend(&self, billed: bool) -> Decimal {
        match billed {
            true => self.billed,
            false => self.cost.total(),
        }
    }

    /// Tokens per type.
    pub fn tokens(&self) -> [u128; 5] {
        std::array::from_fn(|i| self.count(i))
    }

    /// Reasoning tokens (a part of the output tokens).
    pub fn reasoning(&self) -> u128 {
        self.count(REASONING)
    }

    /// Per-request charges: (charge, count), in no particular order.
    pub fn charges(&self) -> &[(Sym, u128)] {
        self.extras.as_ref().map_or(&[], |e| &e.charges)
    }

    /// The count of one per-request charge.
    pub fn charge(&self, charge: Sym) -> u128 {
        self.charges()
            .iter()
            .find(|(c, _)| *c == charge)
            .map_or(0, |(_, n)| *n)
    }

    /// Audio or image tokens of one modality.
    pub fn modality(&self, m: Modality) -> u128 {
        self.extras.as_ref().map_or(0, |e| e.modalities[m.index()])
    }

    /// Add another group's sums.
    pub fn merge(&mut self, other: &Totals) {
        self.requests += other.requests;
        for i in 0..COUNTS {
            self.add_count(i, other.counts[i]);
        }
        if let Some(theirs) = &other.extras {
            let mine = self.extras.get_or_insert_with(Box::default);
            for &(charge, count) in &theirs.charges {
                mine.add_charge(charge, count);
            }
            for (mine, theirs) in mine.modalities.iter_mut().zip(theirs.modalities) {
                *mine += theirs;
            }
            for (mine, theirs) in mine.high.iter_mut().zip(theirs.high) {
                *mine += theirs;
            }
        }
        self.cost += other.cost;
        self.billed += other.billed;
    }
}

impl Extras {
    fn add_charge(&mut self, charge: Sym, count: u128) {
        match self.charges.iter_mut().find(|(c, _)| *c == charge) {
            Some((_, sum)) => *sum += count,
            None => self.charges.push((charge, count)),
        }
    }
}

/// A run's labels: the value all its calls agree on, else `(mixed)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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

    /// Agreed with what another part of the postings agreed on.
    fn merge_agreed(&mut self, other: Agreed) {
        match other {
            Agreed::One(key) => self.merge(key),
            Agreed::Mixed => *self = Agreed::Mixed,
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

impl Run {
    /// Add what another part of the postings rolled up for the same trace.
    fn merge(&mut self, other: &Run) {
        self.root_agent.merge_agreed(other.root_agent);
        self.tenant.merge_agreed(other.tenant);
        self.feature.merge_agreed(other.feature);
        self.totals.merge(&other.totals);
    }
}

/// The runs, in the order of their first posting, as the parts the
/// threads rolled up (one per thread, each in its postings' order): a
/// later part keeps only the traces no earlier part has, the others
/// merged into the earlier part's run. Parts are kept, not inserted into
/// one map: the first part's map would grow by the later parts' size while
/// they are still held (a million runs: about 120 MiB at the month's peak).
#[derive(Debug)]
struct RunParts {
    parts: Vec<DenseMap<Option<u128>, Run>>,
}

impl Default for RunParts {
    fn default() -> RunParts {
        RunParts {
            parts: vec![DenseMap::default()],
        }
    }
}

impl RunParts {
    /// Add a later part's runs: each trace an earlier part has is merged
    /// there, the rest kept in their order (`retain` moves them in place).
    fn absorb(&mut self, mut later: RunParts) {
        for mut part in later.parts.drain(..) {
            part.retain(|trace, run| {
                let earlier = self.parts.iter_mut().find_map(|p| p.get_mut(trace));
                earlier.map(|mine| mine.merge(run)).is_none()
            });
            self.parts.push(part);
        }
    }
}

impl crate::shrink::Shrinking for RunParts {
    type Item = (Option<u128>, Run);
    fn count(&self) -> usize {
        self.parts.iter().map(|p| p.len()).sum()
    }
    fn pop_last(&mut self) -> Option<Self::Item> {
        while let Some(last) = self.parts.last_mut() {
            match last.pop() {
                Some(run) => return Some(run),
                None => drop(self.parts.pop()),
            }
        }
        None
    }
    fn give_back(&mut self) {
        if let Some(last) = self.parts.last_mut() {
            last.shrink_to_fit();
        }
    }
}

/// Every roll-up of one month.
#[derive(Debug, Default)]
pub struct Ledger {
    /// All records together.
    pub total: Totals,
    /// Per dimension, its values' rows.
    by_value: PerDimension<DenseMap<Key, Totals>>,
    /// Per agent, the cost of everything below it (its sub-agents too).
    agent_inclusive: FastMap<Key, Decimal>,
    /// Per trace (`None`: the records that joined no call), its run.
    runs: RunParts,
    /// Per dimension, its values' rows per UTC day.
    by_day: PerDimension<DenseMap<(NaiveDate, Key), Totals>>,
    /// Indexes of the records that joined no call.
    pub unattributed: Vec<usize>,
    /// Records joined to a call.
    pub matched: u64,
}

/// Roll up the month's postings, on up to `threads` threads: each rolls
/// up a run of consecutive postings, and the partial ledgers are added
/// up in order (exact sums; rows keep the order of their first posting).
pub fn attribute(postings: &Postings, threads: usize) -> Ledger {
    let runs = threads::runs(postings.len(), threads, threads::MIN_SHARE);
    let mut parts = threads::in_order(runs, |run| roll_up(postings, run)).into_iter();
    let mut ledger = parts.next().expect("at least one run");
    parts.for_each(|part| ledger.absorb(part));
    ledger.sum_days();
    ledger
}

/// Roll up the postings of `range` (the month's rows and total are left
/// to [`Ledger::sum_days`]).
fn roll_up(postings: &Postings, range: std::ops::Range<usize>) -> Ledger {
    let mut ledger = Ledger::default();
    for posting in range.map(|i| postings.get(i)) {
        let (record, cost, billed) = (posting.record, posting.cost, posting.billed_total());
        let keys = posting.keys();
        // Each record goes into its per-day rows only: the month's rows and
        // the total are their sums, added up once at the end.
        let day = posting.day();
        for (d, key) in keys.iter() {
            let daily = &mut ledger.by_day[d];
            daily
                .entry((day, *key))
                .or_default()
                .add(record, &cost, billed);
        }
        let dims = posting.call.map(|c| &c.dims);
        match dims {
            Some(dims) => {
                ledger.matched += 1;
                for agent in dims.agents.iter() {
                    *ledger.agent_inclusive.entry(Key::of(agent)).or_default() += cost.total();
                }
            }
            None => {
                ledger.unattributed.push(posting.index);
                *ledger.agent_inclusive.entry(Key::Unattributed).or_default() += cost.total();
            }
        }
        let root_agent = dims.map_or(Key::Unattributed, |d| Key::of(d.root_agent));
        let (tenant, feature) = (keys[Dimension::Tenant], keys[Dimension::Feature]);
        let run = ledger.runs.parts[0]
            .entry(posting.call.map(|c| c.trace_id))
            .or_insert_with(|| Run {
                root_agent: Agreed::One(root_agent),
                tenant: Agreed::One(tenant),
                feature: Agreed::One(feature),
                totals: Totals::default(),
            });
        run.root_agent.merge(root_agent);
        run.tenant.merge(tenant);
        run.feature.merge(feature);
        run.totals.add(record, &cost, billed);
    }
    ledger
}

/// What a table holds rows of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Of {
    /// The values of a dimension (`by_<dimension>.csv`).
    Dimension(Dimension),
    /// Runs (traces): `by_run.csv`.
    Run,
}

impl Of {
    /// The table's name: the dimension's, or `run`.
    pub fn name(self) -> &'static str {
        match self {
            Of::Dimension(d) => d.name(),
            Of::Run => "run",
        }
    }
}

/// One report's rows with their labels, ready to be rounded and written.
#[derive(Clone, Debug)]
pub struct Table {
    /// What its rows are of.
    pub of: Of,
    /// Header of the label columns.
    pub key_columns: Vec<&'static str>,
    /// Its rows.
    pub rows: Vec<TableRow>,
}

/// A table's row: labels, totals and, for agents, the inclusive cost.
pub type TableRow = (Keys, Totals, Option<Decimal>);

pub use crate::labels::{Keys, Label, RunId};

impl Table {
    /// The table's name: the dimension's, or `run`.
    pub fn name(&self) -> &'static str {
        self.of.name()
    }
}

impl Ledger {
    /// Add a ledger of later postings (rolled up by [`roll_up`]): its new
    /// rows follow this one's, in the order it met them.
    fn absorb(&mut self, later: Ledger) {
        for (d, days) in later.by_day.0.into_iter().enumerate() {
            for (key, totals) in days {
                self.by_day.0[d].entry(key).or_default().merge(&totals);
            }
        }
        for (key, cost) in later.agent_inclusive {
            *self.agent_inclusive.entry(key).or_default() += cost;
        }
        self.runs.absorb(later.runs);
        self.unattributed.extend(later.unattributed);
        self.matched += later.matched;
    }

    /// The month's rows of each dimension, and the total, from the per-day
    /// rows (exact sums, in any order: costs are exact, and a record's
    /// billed amounts are held to 18 places, see `reconcile`).
    fn sum_days(&mut self) {
        for d in Dimension::ALL {
            let month = &mut self.by_value[d];
            for ((_, row), totals) in self.by_day[d].iter() {
                month.entry(*row).or_default().merge(totals);
            }
        }
        for totals in self.by_value[Dimension::Model].values() {
            self.total.merge(totals);
        }
    }

    /// Per dimension (in [`Dimension::ALL`] order), a table of its values'
    /// totals per UTC day, labelled `day` and the value; the per-day rows
    /// move out of the ledger.
    pub fn take_day_tables(&mut self, interner: &Interner) -> Vec<Table> {
        let by_day = std::mem::take(&mut self.by_day);
        Dimension::ALL
            .into_iter()
            .zip(by_day.0)
            .map(|(d, days)| Table {
                of: Of::Dimension(d),
                key_columns: vec!["day", d.name()],
                rows: days
                    .into_iter()
                    .map(|((day, key), totals)| {
                        let labels = vec![day.to_string().into(), key.label(interner).into()];
                        (labels.into(), totals, None)
                    })
                    .collect(),
            })
            .collect()
    }

    /// Every report as a labelled table: each dimension's, then the runs';
    /// `invoice_only` (under a true-up) adds a row holding invoiced usage
    /// that no record makes up. The rows move out of the ledger (the run
    /// table holds one per trace), which keeps its total and its
    /// unattributed records.
    pub fn take_tables(
        &mut self,
        interner: &Interner,
        invoice_only: Option<Decimal>,
    ) -> Vec<Table> {
        let inclusive = std::mem::take(&mut self.agent_inclusive);
        let by_value = std::mem::take(&mut self.by_value);
        let mut tables: Vec<Table> = Dimension::ALL
            .into_iter()
            .zip(by_value.0)
            .map(|(d, values)| Table {
                of: Of::Dimension(d),
                key_columns: vec![d.name()],
                rows: values
                    .into_iter()
                    .map(|(key, totals)| {
                        let incl = (d == Dimension::Agent)
                            .then(|| inclusive.get(&key).copied().unwrap_or_default());
                        (vec![key.label(interner).into()].into(), totals, incl)
                    })
                    .collect(),
            })
            .collect();
        tables.push(self.take_runs(interner));
        if let Some(billed) = invoice_only.filter(|b| !b.is_zero()) {
            for table in &mut tables {
                let labels = vec![Label::from(INVOICE_ONLY); table.key_columns.len()];
                let totals = Totals {
                    billed,
                    ..Totals::default()
                };
                let inclusive =
                    (table.of == Of::Dimension(Dimension::Agent)).then_some(Decimal::ZERO);
                table.rows.push((labels.into(), totals, inclusive));
            }
        }
        tables
    }

    /// The runs' table: one row per trace, labelled by the root agent,
    /// tenant and feature its calls agree on.
    fn take_runs(&mut self, interner: &Interner) -> Table {
        let runs = std::mem::take(&mut self.runs);
        // Each distinct label, and each distinct root agent, tenant and
        // feature together, is made once and shared by its runs' rows.
        let mut shared: FastMap<&str, Label> = FastMap::default();
        let mut label = |agreed: Agreed| {
            let text = agreed.label(interner);
            shared.entry(text).or_insert_with(|| text.into()).clone()
        };
        let mut triples: FastMap<[Agreed; 3], Arc<[Label; 3]>> = FastMap::default();
        let rows = crate::shrink::convert(runs, |_, (id, run)| {
            let agreed = [run.root_agent, run.tenant, run.feature];
            let labels = triples
                .entry(agreed)
                .or_insert_with(|| Arc::new(agreed.map(&mut label)));
            (Keys::Run(RunId::of(id), labels.clone()), run.totals, None)
        });
        Table {
            of: Of::Run,
            key_columns: vec!["run_id", "root_agent", "tenant", "feature"],
            rows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_counts_carry_past_64_bits() {
        let mut a = Totals::default();
        a.counts[0] = u64::MAX - 1;
        a.add_count(0, 5);
        assert_eq!(a.tokens()[0], u128::from(u64::MAX) + 4);
        let mut b = Totals::default();
        b.counts[REASONING] = u64::MAX;
        b.merge(&a);
        b.merge(&a);
        assert_eq!(b.tokens()[0], 2 * (u128::from(u64::MAX) + 4));
        b.add_count(REASONING, 1);
        assert_eq!(b.reasoning(), 1 << 64);
        assert_eq!(b.tokens()[1..], [0; 4]);
    }

    #[test]
    fn later_runs_merge_into_earlier_parts_and_keep_the_order_of_first_posting() {
        use crate::shrink::Shrinking;
        let part = |runs: &[(Option<u128>, Key)]| {
            let mut parts = RunParts::default();
            for &(trace, tenant) in runs {
                let run = Run {
                    root_agent: Agreed::One(Key::None),
                    tenant: Agreed::One(tenant),
                    feature: Agreed::One(Key::None),
                    totals: Totals {
                        requests: 1,
                        ..Totals::default()
                    },
                };
                parts.parts[0].insert(trace, run);
            }
            parts
        };
        let (a, b) = (Key::None, Key::Unattributed);
        let mut runs = part(&[(Some(3), a), (None, b)]);
        runs.absorb(part(&[(Some(1), a), (Some(3), b), (Some(2), a)]));
        runs.absorb(part(&[(Some(2), a), (Some(4), a), (None, b), (Some(1), a)]));
        assert_eq!(runs.count(), 5);
        let mut popped = Vec::new();
        while let Some((trace, run)) = runs.pop_last() {
            popped.push((trace, run.tenant, run.totals.requests));
        }
        popped.reverse();
        let mixed = Agreed::Mixed;
        let (a, b) = (Agreed::One(a), Agreed::One(b));
        let expected = [
            (Some(3), mixed, 2),
            (None, b, 2),
            (Some(1), a, 2),
            (Some(2), a, 2),
        ];
        assert_eq!(popped[..4], expected);
        assert_eq!(popped[4], (Some(4), a, 1));
    }
}
