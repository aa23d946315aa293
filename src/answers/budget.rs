//! Monthly budgets against the reports (`budget.csv`): each budget's
//! spend is its report row's amount — `billed_usd` under `--true-up`, else
//! `cost_usd` — so `budget.csv` agrees with `by_<dimension>.csv` to the
//! micro-dollar. The budgets file is read by [`crate::read::budgets`].

use rust_decimal::Decimal;

use crate::attribute::Of;
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
}

/// Each budget against its report row, sorted by dimension (in
/// [`Dimension::ALL`] order) and key.
pub fn check(budgets: &Budgets, reports: &[Report]) -> Vec<BudgetRow> {
    let mut rows: Vec<BudgetRow> = budgets
        .budgets
        .iter()
        .map(|budget| {
            let row = reports
                .iter()
                .find(|r| r.table.of == Of::Dimension(budget.dimension))
                .and_then(|r| r.rows.iter().find(|row| row.keys[0] == *budget.key));
            let spend = row.map_or(Micros(0), RoundedRow::spend);
            // Judged on the exact amount: a rounded cell can cross the
            // budget the exact spend does not reach.
            let spent = row.map_or(Decimal::ZERO, |r| r.totals.spend(r.billed().is_some()));
            let status = if spent >= budget.usd {
                Status::Over
            } else if spent * Decimal::ONE_HUNDRED >= budget.usd * budgets.warn_pct {
                Status::Warn
            } else {
                Status::Ok
            };
            BudgetRow {
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
