//! Monthly budgets (`--budgets budgets.toml`, `budget.csv`): each budget's
//! spend is its report row's amount — `billed_usd` under `--true-up`, else
//! `cost_usd` — so `budget.csv` agrees with `by_<dimension>.csv` to the
//! micro-dollar.
//!
//! ```toml
//! warn_pct = 80          # optional: the share at which a budget warns
//! [[budget]]
//! dimension = "tenant"   # tenant, feature, agent, tool or model
//! key = "tenant-042"
//! usd = 500
//! ```

use std::path::Path;

use rust_decimal::Decimal;
use toml_edit::{Item, Table};

use crate::error::{Error, Result};
use crate::ledger::{Report, RoundedRow};
use crate::money::{ratio, Micros};
use crate::read::toml::{self, Number, TomlReader};

/// The dimensions a budget can be set on.
pub const DIMENSIONS: [&str; 5] = ["tenant", "feature", "agent", "tool", "model"];

/// One `[[budget]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Budget {
    /// `tenant`, `feature`, `agent`, `tool` or `model`.
    pub dimension: String,
    /// The row label it applies to.
    pub key: String,
    /// The month's budget in USD.
    pub usd: Decimal,
}

/// A budgets file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Budgets {
    /// Percentage of a budget at which its status is `warn` (default 80).
    pub warn_pct: Decimal,
    /// The budgets, in file order.
    pub budgets: Vec<Budget>,
}

impl Budgets {
    /// Read and check a budgets file.
    pub fn load(path: &Path) -> Result<Budgets> {
        let text = crate::read::read_text(path)?;
        let source = path.display().to_string();
        Budgets::parse(&text, &source)
    }

    /// Parse budgets TOML; `source` names it in messages.
    pub fn parse(text: &str, source: &str) -> Result<Budgets> {
        let doc = toml::parse(text, source)?;
        let reader = TomlReader::new(text, source);
        let root: &Table = &doc;
        reader.only_keys(root, &["warn_pct", "budget"], "the top level")?;
        let pct = Number {
            unit: "percent",
            noun: "percentages",
            max: Decimal::ONE_HUNDRED,
            too_large: "a warning above 100 % would never come before the budget is over",
            min: Decimal::new(1, 2),
            too_small: "shares are reported to 0.01 %; use 0 to warn from the first cent",
        };
        let warn_pct = match root.contains_key("warn_pct") {
            true => reader.decimal(root, "warn_pct", "the top level", &pct)?,
            false => Decimal::from(80),
        };
        let usd = Number {
            unit: "USD",
            noun: "budgets",
            max: Decimal::from(1_000_000_000_000u64),
            too_large: "over a trillion dollars is not a budget",
            min: Decimal::new(1, 6),
            too_small: "a budget below $0.000001 (the reports' smallest amount) cannot be compared with a spend",
        };
        let tables = root
            .get("budget")
            .and_then(Item::as_array_of_tables)
            .ok_or_else(|| Error::fatal(format!("{source}: no [[budget]] entries")))?;
        let mut budgets: Vec<Budget> = Vec::new();
        for table in tables {
            let line = table.span().map_or(0, |s| reader.line(s.start));
            let what = format!("the [[budget]] at line {line}");
            reader.only_keys(table, &["dimension", "key", "usd"], &what)?;
            let dimension = reader.string(table, "dimension", &what)?.to_string();
            if !DIMENSIONS.contains(&dimension.as_str()) {
                return Err(reader.error(
                    table.span(),
                    format!(
                        "{what}: dimension \"{dimension}\" is not one of {}",
                        DIMENSIONS.join(", ")
                    ),
                ));
            }
            let key = reader.string(table, "key", &what)?.to_string();
            let amount = reader.decimal(table, "usd", &what, &usd)?;
            if amount.is_zero() {
                return Err(reader.error(table.span(), format!("{what}: usd must be above 0")));
            }
            if budgets
                .iter()
                .any(|b| b.dimension == dimension && b.key == key)
            {
                return Err(reader.error(
                    table.span(),
                    format!("{what}: a second budget for {dimension} \"{key}\""),
                ));
            }
            budgets.push(Budget {
                dimension,
                key,
                usd: amount,
            });
        }
        Ok(Budgets { warn_pct, budgets })
    }
}

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
    /// `spend / budget` as a percentage, two places, half to even.
    pub pct_used: Decimal,
    /// Decided on the exact amounts, not the rounded percentage.
    pub status: Status,
}

/// Each budget against its report row, sorted by dimension (in
/// [`DIMENSIONS`] order) and key.
pub fn check(budgets: &Budgets, reports: &[Report]) -> Vec<BudgetRow> {
    let mut rows: Vec<BudgetRow> = budgets
        .budgets
        .iter()
        .map(|budget| {
            let spend = reports
                .iter()
                .find(|r| r.table.name == budget.dimension)
                .and_then(|r| r.rows.iter().find(|row| row.keys[0] == budget.key))
                .map_or(Micros(0), RoundedRow::spend);
            let spent = spend.to_decimal();
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
    let rank = |d: &str| DIMENSIONS.iter().position(|x| *x == d);
    rows.sort_by(|a, b| {
        rank(&a.budget.dimension)
            .cmp(&rank(&b.budget.dimension))
            .then_with(|| a.budget.key.cmp(&b.budget.key))
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(usd: &str) -> Result<Budgets> {
        let text = format!("[[budget]]\ndimension = \"tenant\"\nkey = \"t\"\nusd = {usd}\n");
        Budgets::parse(&text, "b.toml")
    }

    #[test]
    fn budgets_are_a_micro_dollar_to_a_trillion_dollars() {
        assert_eq!(
            parse("0.000001").unwrap().budgets[0].usd,
            Decimal::new(1, 6)
        );
        assert_eq!(
            parse("1e12").unwrap().budgets[0].usd,
            Decimal::from(1_000_000_000_000u64)
        );
        for (usd, why) in [
            ("0.0000009", "a budget below $0.000001"),
            ("1e-28", "a budget below $0.000001"),
            ("1.000001e12", "over a trillion dollars"),
            ("0", "usd must be above 0"),
        ] {
            let err = parse(usd).unwrap_err().to_string();
            assert!(
                err.starts_with("b.toml:") && err.contains(why),
                "{usd}: {err}"
            );
        }
    }
}
