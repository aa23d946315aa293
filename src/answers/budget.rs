//! Monthly budgets against the reports (`budget.csv`): each budget's
//! spend is its report row's amount — `allocated_usd` under
//! `--allocation` (what chargeback bills the owner: its rules' records and
//! its splits' shares too), else `billed_usd` under `--true-up`, else
//! `cost_usd` — so `budget.csv` agrees with `by_<dimension>.csv` to the
//! micro-dollar. The budgets file is read by [`crate::read::budgets`]. A
//! budget whose key no row has is warned of ([`warnings`]).

use rust_decimal::Decimal;

use crate::attribute::Of;
use crate::dimension::Dimension;
use crate::ledger::{Report, RoundedRow};
use crate::money::{ratio, Micros};

pub use crate::read::budgets::{Budget, Budgets};

/// A budget's standing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Below the warning share.
    Ok,
    /// At or above the warning share, below the budget.
    Warn,
    /// At or above the budget.
    Over,
}

impl Status {
    /// The status as written in `budget.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Over => "over",
        }
    }
}

/// One row of `budget.csv`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BudgetRow {
    /// The budget.
    pub budget: Budget,
    /// The month's spend: the report row's amount (0 when no row has the key).
    pub spend: Micros,
    /// The exact spend over the budget as a percentage, two places, half
    /// to even.
    pub pct_used: Decimal,
    /// Decided on the exact amounts, not the rounded percentage.
    pub status: Status,
    /// No report row has the key: a value with no spend, or a key spelled
    /// otherwise than the reports spell it.
    pub unmatched: bool,
}

/// The exact allocated amount of a dimension's key, under `--allocation`.
pub type Allocated<'a> = &'a dyn Fn(Dimension, &str) -> Decimal;

/// Each budget against its report row (its allocated amount under
/// `--allocation`: `allocated`), sorted by dimension (in
/// [`Dimension::ALL`] order) and key.
pub fn check(
    budgets: &Budgets,
    reports: &[Report],
    allocated: Option<Allocated>,
) -> Vec<BudgetRow> {
    let mut rows: Vec<BudgetRow> = budgets
        .budgets
        .iter()
        .map(|budget| {
            let row = reports
                .iter()
                .find(|r| r.table.of == Of::Dimension(budget.dimension))
                .and_then(|r| r.rows.iter().find(|row| row.keys[0] == *budget.key));
            // Judged on the exact amount: a rounded cell can cross the
            // budget the exact spend does not reach.
            let (spend, spent) = match allocated {
                Some(exact) => (
                    row.and_then(RoundedRow::allocated).unwrap_or(Micros(0)),
                    exact(budget.dimension, &budget.key),
                ),
                None => (
                    row.map_or(Micros(0), RoundedRow::spend),
                    row.map_or(Decimal::ZERO, |r| r.totals.spend(r.billed().is_some())),
                ),
            };
            let status = if spent >= budget.usd {
                Status::Over
            } else if spent * Decimal::ONE_HUNDRED >= budget.usd * budgets.warn_pct {
                Status::Warn
            } else {
                Status::Ok
            };
            BudgetRow {
                unmatched: row.is_none(),
                budget: budget.clone(),
                spend,
                pct_used: ratio(spent, budget.usd, 100, 2)
                    .expect("budgets are at least a micro-dollar: the share fits a decimal"),
                status,
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        (a.budget.dimension, &a.budget.key).cmp(&(b.budget.dimension, &b.budget.key))
    });
    rows
}

/// What a FinOps engineer must hear about the budgets themselves: a key no
/// report row has (judged on $0: a typo would never fire). Usage of several
/// months without `--period` is the run's warning ([`crate::sanity`]).
pub fn warnings(rows: &[BudgetRow]) -> Vec<String> {
    rows.iter()
        .filter(|r| r.unmatched)
        .map(|r| {
            let dimension = r.budget.dimension.name();
            format!(
                "budget for {dimension} \"{}\" matches no {dimension} of the month: it is judged \
                 on $0 (spelled otherwise than the reports spell it?)",
                r.budget.key
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dimension::Dimension;

    #[test]
    fn a_key_with_no_row_is_warned_of() {
        let row = |key: &str, unmatched| BudgetRow {
            budget: Budget {
                dimension: Dimension::Tenant,
                key: key.into(),
                usd: Decimal::ONE,
            },
            spend: Micros(0),
            pct_used: Decimal::ZERO,
            status: Status::Ok,
            unmatched,
        };
        let found = warnings(&[row("acme", false), row("T1", true)]);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].contains("tenant \"T1\" matches no tenant"),
            "{found:?}"
        );
    }
}
