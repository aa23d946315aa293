//! The month's priced usage after the join, as one table of postings
//! (hledger's `Posting`, DataFusion's `RecordBatch`): each row a billed
//! usage record with its exact cost, its trued-up cost under `--true-up`,
//! the call it joined and its key in every [`Dimension`]. Every stage
//! after the join reads the month through it: attribution, the charge
//! lines, FOCUS, the per-step curve, the Parquet table. It is a borrowed
//! view: nothing is copied.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::dimension::{Dimension, Key, PerDimension};
use crate::intern::Sym;
use crate::join::{CallOf, Joined};
use crate::model::{Cost, Costs, UsageRecord};
use crate::tree::Call;

/// The owners allocation rules gave records (`--allocation`): per record
/// an index into `owners`, or `u32::MAX`.
#[derive(Clone, Debug, Default)]
pub struct RuleOwners {
    /// Per record: its owner, or `u32::MAX` for none.
    pub of: Vec<u32>,
    /// The owners.
    pub owners: Vec<RuleOwner>,
}

/// An owner a rule gave: the rule's number and the tenant, feature and
/// agent it set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RuleOwner {
    /// The rule's number (`rule:<n>`).
    pub rule: u32,
    /// Tenant, feature and agent, where the rule set them.
    pub keys: [Option<Sym>; 3],
}

impl RuleOwner {
    /// The value it set in `dimension`.
    pub fn key(&self, dimension: Dimension) -> Option<Sym> {
        match dimension {
            Dimension::Tenant => self.keys[0],
            Dimension::Feature => self.keys[1],
            Dimension::Agent => self.keys[2],
            _ => None,
        }
    }
}

/// The month's postings: records, their costs and their calls.
#[derive(Clone, Copy)]
pub struct Postings<'m> {
    records: &'m [UsageRecord],
    costs: &'m Costs,
    billed: Option<&'m [Cost]>,
    calls: &'m [Call],
    call_of: &'m CallOf,
    owners: Option<&'m RuleOwners>,
}

/// One posting: a record, priced, with its call.
#[derive(Clone, Copy)]
pub struct Posting<'m> {
    /// The record's place in the month's records.
    pub index: usize,
    /// The billed usage record.
    pub record: &'m UsageRecord,
    /// Its exact cost.
    pub cost: Cost,
    /// Its trued-up (invoiced) cost, under `--true-up`.
    pub billed: Option<&'m Cost>,
    /// The call it joined, if any.
    pub call: Option<&'m Call>,
    /// The owner an allocation rule gave it, if any.
    pub owner: Option<&'m RuleOwner>,
}

impl<'m> Postings<'m> {
    /// The postings of `records` priced by `costs` (trued up to `billed`
    /// when given) and joined to `calls` by `joined`.
    pub fn new(
        records: &'m [UsageRecord],
        costs: &'m Costs,
        billed: Option<&'m [Cost]>,
        calls: &'m [Call],
        joined: &'m Joined,
    ) -> Postings<'m> {
        Postings {
            records,
            costs,
            billed,
            calls,
            call_of: &joined.call_of,
            owners: None,
        }
    }

    /// The same postings with the owners allocation rules gave.
    pub fn with_owners(self, owners: Option<&'m RuleOwners>) -> Postings<'m> {
        Postings { owners, ..self }
    }

    /// Whether allocation rules ran (their owners are attached).
    pub fn allocated(&self) -> bool {
        self.owners.is_some()
    }

    /// How many postings.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The posting of record `index`.
    pub fn get(&self, index: usize) -> Posting<'m> {
        Posting {
            index,
            record: &self.records[index],
            cost: self.costs.get(index),
            billed: self.billed.map(|b| &b[index]),
            call: self.call_of.get(index).map(|c| &self.calls[c as usize]),
            owner: self.owners.and_then(|o| {
                let i = *o.of.get(index)?;
                o.owners.get(i as usize)
            }),
        }
    }

    /// Every posting, in record order.
    pub fn iter(&self) -> impl Iterator<Item = Posting<'m>> + '_ {
        (0..self.records.len()).map(|i| self.get(i))
    }

    /// Whether the postings carry trued-up costs.
    pub fn trued_up(&self) -> bool {
        self.billed.is_some()
    }
}

impl Posting<'_> {
    /// Its row key in `dimension`: the model as billed; a span dimension's
    /// value from its call (`(none)` where no ancestor gave one), or
    /// `(unattributed)` without a call.
    pub fn key(&self, dimension: Dimension) -> Key {
        match (dimension, self.call) {
            (Dimension::Model, _) => Key::Name(self.record.model),
            (_, Some(call)) => Key::of(call.dims.values[dimension]),
            (_, None) => Key::Unattributed,
        }
    }

    /// Its owner's key in `dimension`: the value an allocation rule set,
    /// else [`Posting::key`].
    pub fn owner_key(&self, dimension: Dimension) -> Key {
        match self.owner.and_then(|o| o.key(dimension)) {
            Some(sym) => Key::Name(sym),
            None => self.key(dimension),
        }
    }

    /// Its row key in every dimension.
    pub fn keys(&self) -> PerDimension<Key> {
        PerDimension::from_fn(|d| self.key(d))
    }

    /// The UTC day it was billed on.
    pub fn day(&self) -> NaiveDate {
        self.record.timestamp.date_naive()
    }

    /// What it spent: its trued-up cost under a true-up, else its cost.
    pub fn spend(&self) -> Decimal {
        match self.billed {
            Some(_) => self.billed_total(),
            None => self.cost.total(),
        }
    }

    /// Its trued-up cost in all (zero without a true-up).
    pub fn billed_total(&self) -> Decimal {
        self.billed.map_or(Decimal::ZERO, Cost::total)
    }
}
