//! Stage 5b, allocate: every dollar of the month an owner. Spans attribute
//! what they saw; `[[rule]]`s give the records no span saw an owner by
//! their labels, and fill the dimensions a span left `(none)` ([`rules`]);
//! `[[split]]`s spread the bill's lines no usage record explains over each
//! dimension's owners ([`splits`]); what nothing reached (`(none)` too) is
//! `(unallocated)`. Each dimension's amounts sum exactly to the
//! basis: the bill's total with an invoice (usage trued up to it), else
//! the usage's cost.

mod json;
pub mod rules;
pub mod splits;

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::dimension::{Dimension, Key, PerDimension};
use crate::error::Result;
use crate::intern::{Interner, Sym};
use crate::money::ratio;
use crate::posting::{Postings, RuleOwner, RuleOwners};
use crate::price::PriceTable;
use crate::read::allocation::{AllocationFile, SplitBy, RULE_DIMENSIONS};
use crate::reconcile::{Names, Reconciliation};
pub use json::{AllocationJson, LabelJson};
use splits::SplitLine;

pub use crate::dimension::UNALLOCATED;

/// How an amount got to its owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// A span attributed it.
    Span,
    /// The record itself names it (its model).
    Record,
    /// A `[[rule]]`, by number.
    Rule(usize),
    /// A `[[split]]`, by number.
    Split(usize),
    /// Nothing reached it.
    Rest,
}

impl Source {
    /// Its name in `allocation.csv` and `ledger.csv`.
    pub fn name(self) -> String {
        match self {
            Source::Span => "span".into(),
            Source::Record => "record".into(),
            Source::Rule(n) => format!("rule:{n}"),
            Source::Split(n) => format!("split:{n}"),
            Source::Rest => "unallocated".into(),
        }
    }
}

/// The allocation file, and the bill's lines its splits declared.
pub struct Declared {
    /// The file.
    pub file: AllocationFile,
    /// Its name, for messages.
    pub source: String,
    /// The bill's lines each split spreads.
    pub lines: Vec<SplitLine>,
    /// Splits that matched nothing.
    pub warnings: Vec<String>,
}

impl Declared {
    /// Read `file` and declare its splits' lines in the reconciliation.
    pub fn new(file: AllocationFile, source: String, rec: Option<&mut Reconciliation>) -> Declared {
        let (lines, warnings) = match rec {
            Some(rec) => splits::declare(&file.splits, rec, &source),
            None if file.splits.is_empty() => (Vec::new(), Vec::new()),
            None => {
                let n = file.splits.len();
                let warning = format!(
                    "{source}: {n} [[split]](s) spread the bill's lines, and without --invoice \
                     there are none: they spread nothing"
                );
                (Vec::new(), vec![warning])
            }
        };
        Declared {
            file,
            source,
            lines,
            warnings,
        }
    }
}

/// Per owner, its amount by source.
pub type Owners = BTreeMap<String, BTreeMap<Source, Decimal>>;

/// The month's allocation.
#[derive(Debug)]
pub struct Allocation {
    /// `invoice` (the bill's total) or `usage` (the usage's cost).
    pub basis: &'static str,
    /// What each dimension's amounts sum to.
    pub total: Decimal,
    /// Per dimension, each owner's amount by source.
    pub owners: PerDimension<Owners>,
    /// Per rule: (number, line, records, amount).
    pub rules: Vec<(usize, usize, u64, Decimal)>,
    /// Per split: (number, line, bill lines, amount).
    pub splits: Vec<(usize, usize, u64, Decimal)>,
    /// Rules that matched nothing or overlapped; splits that matched nothing.
    pub warnings: Vec<String>,
    /// The labels (`name=value`) carrying most of the cost no tenant owns.
    pub unallocated_labels: Vec<(String, Decimal)>,
    /// The owner each rule gave each record.
    pub assigned: rules::Assigned,
    /// The usage's cost, and per dimension the part of it a span, the
    /// record or a rule gave an owner: the share measured where the basis
    /// is no positive amount to take a share of.
    pub usage_owned: (Decimal, PerDimension<Decimal>),
}

impl Allocation {
    /// Each owner's amount in `dimension`, by label.
    pub fn allocated(&self, dimension: Dimension) -> Vec<(String, Decimal)> {
        self.owners[dimension]
            .iter()
            .map(|(label, sources)| (label.clone(), sources.values().copied().sum()))
            .collect()
    }

    /// The amount `label` owns in `dimension` (0 for none).
    pub fn allocated_to(&self, dimension: Dimension, label: &str) -> Decimal {
        let sources = self.owners[dimension].get(label);
        sources.map_or(Decimal::ZERO, |s| s.values().copied().sum())
    }

    /// The owners the rules gave, their names interned, for the postings.
    pub fn rule_owners(&self, interner: &mut Interner) -> RuleOwners {
        let owners = self
            .assigned
            .owners
            .iter()
            .map(|o| {
                let mut keys = [None; 3];
                for (d, value) in &o.values {
                    let at = RULE_DIMENSIONS
                        .iter()
                        .position(|r| r == d)
                        .expect("rules set these");
                    keys[at] = Some(interner.intern(value));
                }
                RuleOwner {
                    rule: o.rule as u32,
                    keys,
                }
            })
            .collect();
        RuleOwners {
            of: self.assigned.of.clone(),
            owners,
        }
    }

    /// The share (%) of the basis `dimension` has an owner for, to `places`.
    /// Where that is no share (credits cover the bill: a basis of zero or
    /// less, or owners beyond it), the share of the usage's cost a span,
    /// the record or a rule gave an owner; 100 where there is nothing to
    /// own.
    pub fn allocated_pct(&self, dimension: Dimension, places: u32) -> Decimal {
        self.allocated_share(dimension)
            .and_then(|(part, whole)| ratio(part, whole, 100, places))
            .unwrap_or(Decimal::ONE_HUNDRED)
    }

    /// Whether `dimension`'s exact allocated share is below `min` percent
    /// (the `--min-allocated` gate: never judged on the rounded share).
    pub fn allocated_below(&self, dimension: Dimension, min: Decimal) -> bool {
        match self.allocated_share(dimension) {
            Some((part, whole)) if whole > Decimal::ZERO => {
                part * Decimal::ONE_HUNDRED < min * whole
            }
            _ => self.allocated_pct(dimension, 2) < min,
        }
    }

    /// The allocated part of `dimension` and the whole it is a share of:
    /// of the basis, where that share lies in 0..=100 %, else of the usage
    /// (a basis of credits exceeding the usage); `None` for no usage.
    fn allocated_share(&self, dimension: Dimension) -> Option<(Decimal, Decimal)> {
        let owned = self.total - self.allocated_to(dimension, UNALLOCATED);
        let of_basis = self.total > Decimal::ZERO && (Decimal::ZERO..=self.total).contains(&owned);
        let (usage, owned_usage) = (self.usage_owned.0, self.usage_owned.1[dimension]);
        match of_basis {
            true => Some((owned, self.total)),
            false => (!usage.is_zero()).then_some((owned_usage, usage)),
        }
    }
}

/// Allocate the month: rules, then splits, then the rest. `total` is the
/// basis each dimension sums to (`basis` names it).
pub fn allocate(
    declared: &Declared,
    postings: &Postings,
    names: &Names,
    (basis, total): (&'static str, Decimal),
) -> Result<Allocation> {
    let interner = names.interner();
    let file = &declared.file;
    let assigned = rules::assign(&file.rules, postings, interner, &declared.source)?;
    let mut owners: PerDimension<Owners> = PerDimension::from_fn(|_| BTreeMap::new());
    let mut weights = splits::Weights::default();
    let in_region = splits::in_region_models(postings, names);
    let mut rule_amounts = vec![Decimal::ZERO; file.rules.len()];
    let mut left: Vec<(&[(Sym, Sym)], Decimal)> = Vec::new();
    let mut usage_owned = (Decimal::ZERO, PerDimension::from_fn(|_| Decimal::ZERO));
    for p in postings.iter() {
        let amount = p.spend();
        usage_owned.0 += amount;
        let usage = (
            names.provider(p.record.provider),
            in_region[&(p.record.provider, p.record.model)].as_str(),
        );
        weights.saw(usage.0, usage.1);
        let owner = assigned.owner(p.index);
        if let Some(o) = owner {
            rule_amounts[o.rule - 1] += amount;
        }
        for d in Dimension::ALL {
            let set = owner.and_then(|o| o.value(d).map(|v| (o.rule, v)));
            let key = p.key(d);
            let Some((label, source)) = owned_by(set, key, d, interner) else {
                // No owner: the rest, `(unallocated)`, holds it (and, for a
                // span's `(none)`, its share of a split line).
                if d == Dimension::Tenant {
                    left.push((interner.labels(p.record.labels), amount));
                }
                if key != Key::Unattributed {
                    weights.add(d, None, usage, amount);
                }
                continue;
            };
            usage_owned.1[d] += amount;
            *owners[d]
                .entry(label.clone())
                .or_default()
                .entry(source)
                .or_default() += amount;
            weights.add(d, Some(label), usage, amount);
        }
    }
    let (split_amounts, spread_warnings) =
        spread_splits(declared, &mut owners, (&weights, names.table()));
    for d in Dimension::ALL {
        let owned: Decimal = owners[d].values().flat_map(|s| s.values()).copied().sum();
        if owned != total {
            *owners[d]
                .entry(UNALLOCATED.into())
                .or_default()
                .entry(Source::Rest)
                .or_default() += total - owned;
        }
    }
    let rules = file.rules.iter().zip(&assigned.records).zip(rule_amounts);
    let splits = file.splits.iter().zip(split_amounts);
    let mut warnings = assigned.warnings.clone();
    warnings.extend(declared.warnings.iter().cloned());
    warnings.extend(spread_warnings);
    Ok(Allocation {
        basis,
        total,
        owners,
        rules: rules.map(|((r, n), a)| (r.number, r.line, *n, a)).collect(),
        splits: splits.map(|(s, (n, a))| (s.number, s.line, n, a)).collect(),
        warnings,
        unallocated_labels: top_labels(left.into_iter(), interner, 5),
        assigned,
        usage_owned,
    })
}

/// Who owns a posting's amount in `dimension`, and how: the value a rule
/// `set`, else its key's (a span's, or the model the record names); none
/// for a record no span saw, a span's `(none)`, or a span's value that is
/// itself a row name of no owner (the text `(none)`).
fn owned_by(
    set: Option<(usize, &String)>,
    key: Key,
    dimension: Dimension,
    interner: &Interner,
) -> Option<(String, Source)> {
    if let Some((rule, value)) = set {
        return Some((value.clone(), Source::Rule(rule)));
    }
    let source = match dimension {
        Dimension::Model => Source::Record,
        _ => Source::Span,
    };
    Some((key.owner(dimension, interner)?.to_string(), source))
}

/// Spread every split line over its dimensions' owners as they stood after
/// spans and rules; per split, the lines and amount it spread, and a
/// warning for each line of a model no usage of the month is of, and for
/// the lines split by cost over usage that costs nothing (spread by its
/// requests instead: by cost, they were spread over no one).
fn spread_splits(
    declared: &Declared,
    owners: &mut PerDimension<Owners>,
    (usage, table): (&splits::Weights, &PriceTable),
) -> (Vec<(u64, Decimal)>, Vec<String>) {
    let mut done = vec![(0u64, Decimal::ZERO); declared.file.splits.len()];
    let mut unused = Unused::new();
    let mut free = BTreeMap::<usize, (u64, Decimal)>::new();
    for line in &declared.lines {
        let split = &declared.file.splits[line.split];
        done[line.split].0 += 1;
        done[line.split].1 += line.amount;
        let mut fell_back = false;
        for d in Dimension::ALL {
            let weights = match &split.by {
                SplitBy::Cost | SplitBy::Requests => {
                    let model = line.in_region_model(table);
                    let of = |by_requests| usage.of(d, (&line.provider, model), by_requests);
                    let (mut weights, mut over) = of(matches!(split.by, SplitBy::Requests));
                    let costs_nothing =
                        !weights.is_empty() && weights.iter().all(|w| w.1.is_zero());
                    if costs_nothing && split.by == SplitBy::Cost {
                        (weights, over) = of(true);
                        fell_back = true;
                    }
                    if let (Some(model), Dimension::Tenant) = (model, d) {
                        let key = (line.split, line.provider.clone(), model.to_string(), over);
                        let (lines, amount) = unused.entry(key).or_default();
                        (*lines, *amount) = (*lines + 1, *amount + line.amount);
                    }
                    weights
                }
                SplitBy::Shares(dimension, shares) if *dimension == d => {
                    shares.iter().map(|(l, w)| (Some(l.clone()), *w)).collect()
                }
                SplitBy::Shares(..) => continue,
            };
            // The part of usage with no owner there stays `(unallocated)`.
            let owned = splits::spread(line.amount, &weights).into_iter();
            for (label, part) in owned.filter_map(|(l, part)| Some((l?, part))) {
                *owners[d]
                    .entry(label)
                    .or_default()
                    .entry(Source::Split(split.number))
                    .or_default() += part;
            }
        }
        if fell_back {
            let (lines, amount) = free.entry(line.split).or_default();
            (*lines, *amount) = (*lines + 1, *amount + line.amount);
        }
    }
    let mut warnings = no_usage_of_model(declared, unused);
    for (split, (lines, amount)) in free {
        let split = &declared.file.splits[split];
        warnings.push(format!(
            "{}:{}: split:{} is by cost, and the usage it would spread {lines} line(s) over \
             ({amount}) costs nothing: spread by its requests instead",
            declared.source, split.line, split.number
        ));
    }
    (done, warnings)
}

/// Per (split, provider, model, the usage spread over), the lines and
/// amount of a model's lines the splits spread.
type Unused = BTreeMap<(usize, String, String, splits::Over), (u64, Decimal)>;

/// A warning for each model's lines a split spread over its provider's
/// usage, or every provider's, because no usage of the month is of that
/// model.
fn no_usage_of_model(declared: &Declared, unused: Unused) -> Vec<String> {
    let mut warnings = Vec::new();
    for ((split, provider, model, over), (lines, amount)) in unused {
        let instead = match over {
            splits::Over::Model => continue,
            splits::Over::Provider => format!("{provider}'s usage"),
            splits::Over::All => "every provider's usage (it has none)".to_string(),
        };
        let split = &declared.file.splits[split];
        warnings.push(format!(
            "{}:{}: split:{} spreads {lines} line(s) of {provider} model {model} ({amount}), \
             which no usage of the month is of: they are spread over the owners of {instead} \
             instead",
            declared.source, split.line, split.number
        ));
    }
    warnings
}

/// The `n` labels (`name=value`) carrying the most of `records`' amounts,
/// largest first, ties by label.
pub fn top_labels<'r>(
    records: impl Iterator<Item = (&'r [(Sym, Sym)], Decimal)>,
    interner: &Interner,
    n: usize,
) -> Vec<(String, Decimal)> {
    let mut amounts: BTreeMap<String, Decimal> = BTreeMap::new();
    for (labels, amount) in records {
        for &(name, value) in labels.iter() {
            let label = crate::intern::label_text(interner.get(name), interner.get(value));
            *amounts.entry(label).or_default() += amount;
        }
    }
    top(amounts, n)
}

/// The `n` largest amounts, largest first, ties by label.
fn top(amounts: BTreeMap<String, Decimal>, n: usize) -> Vec<(String, Decimal)> {
    let mut list: Vec<(String, Decimal)> = amounts.into_iter().collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    list.truncate(n);
    list
}
