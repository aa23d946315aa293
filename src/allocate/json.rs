//! The allocation part of `summary.json`.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;

use super::{Allocation, UNALLOCATED};
use crate::dimension::Dimension;
use crate::money::Micros;

/// One rule's or split's work.
#[derive(Debug, Serialize)]
pub struct EntryJson {
    /// `rule:<n>` or `split:<n>`.
    pub name: String,
    /// Its line in the allocation file.
    pub line: usize,
    /// Usage records (a rule) or bill lines (a split) it took.
    pub count: u64,
    /// What it allocated.
    pub usd: String,
}

/// A label carrying unallocated cost.
#[derive(Debug, Serialize)]
pub struct LabelJson {
    /// `name=value`.
    pub label: String,
    /// The cost of the records no tenant owns that carry it.
    pub usd: String,
}

/// The allocation part of `summary.json`.
#[derive(Debug, Serialize)]
pub struct AllocationJson {
    /// `invoice` (every dimension sums to the bill's total) or `usage`.
    pub basis: &'static str,
    /// What every dimension's `allocated_usd` sums to.
    pub total_usd: String,
    /// Per dimension, the share (%) of the total with an owner.
    pub allocated_pct: BTreeMap<&'static str, String>,
    /// Per dimension, what no span, rule or split reached.
    pub unallocated_usd: BTreeMap<&'static str, String>,
    /// What each rule took.
    pub rules: Vec<EntryJson>,
    /// What each split spread.
    pub splits: Vec<EntryJson>,
    /// The labels carrying most of the cost no tenant owns.
    pub unallocated_labels: Vec<LabelJson>,
}

impl LabelJson {
    /// Labels and their amounts, as the summary lists them.
    pub fn list(labels: &[(String, Decimal)]) -> Vec<LabelJson> {
        let usd = |d: Decimal| Micros::round(d).to_string();
        labels
            .iter()
            .map(|(label, amount)| LabelJson {
                label: label.clone(),
                usd: usd(*amount),
            })
            .collect()
    }
}

impl AllocationJson {
    /// The summary of `a`.
    pub fn new(a: &Allocation) -> AllocationJson {
        let usd = |d: Decimal| Micros::round(d).to_string();
        let rest = |d: Dimension| {
            let sources = a.owners[d].get(UNALLOCATED);
            usd(sources.map_or(Decimal::ZERO, |s| s.values().copied().sum()))
        };
        let entry =
            |kind: &str, &(number, line, count, amount): &(usize, usize, u64, Decimal)| EntryJson {
                name: format!("{kind}:{number}"),
                line,
                count,
                usd: usd(amount),
            };
        AllocationJson {
            basis: a.basis,
            total_usd: usd(a.total),
            allocated_pct: Dimension::ALL
                .map(|d| (d.name(), format!("{:.2}", a.allocated_pct(d, 2))))
                .into(),
            unallocated_usd: Dimension::ALL.map(|d| (d.name(), rest(d))).into(),
            rules: a.rules.iter().map(|r| entry("rule", r)).collect(),
            splits: a.splits.iter().map(|s| entry("split", s)).collect(),
            unallocated_labels: LabelJson::list(&a.unallocated_labels),
        }
    }
}
