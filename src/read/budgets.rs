//! Monthly budgets (`--budgets budgets.toml`), read and checked: each
//! `[[budget]]` names a dimension, a row label and an amount in USD.
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

use crate::dimension::Dimension;
use crate::error::{Error, Result};
use crate::read::toml::{self, Number, TomlReader};

/// One `[[budget]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Budget {
    /// The dimension it is set on.
    pub dimension: Dimension,
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
    /// Under `--allocation`, whose rows of spend no span or rule owns are
    /// `(unallocated)`: a budget on `(none)` or `(unattributed)`, which
    /// then own nothing, would read $0; it is refused, naming the key to
    /// budget instead.
    pub fn owned_keys(&self, path: Option<&Path>) -> Result<()> {
        let placeholder = [crate::dimension::NONE, crate::dimension::UNATTRIBUTED];
        match self
            .budgets
            .iter()
            .find(|b| placeholder.contains(&b.key.as_str()))
        {
            Some(b) => Err(crate::error::Error::fatal(format!(
                "{}: the budget on {} \"{}\": under --allocation what no span or rule owns is \
                 \"(unallocated)\"; budget that key",
                path.map_or_else(String::new, |p| p.display().to_string()),
                b.dimension.name(),
                b.key
            ))),
            None => Ok(()),
        }
    }

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
            max: crate::money::MAX_AMOUNT,
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
            let name = reader.string(table, "dimension", &what)?;
            let Some(dimension) = Dimension::parse(name) else {
                return Err(reader.error(
                    table.span(),
                    format!(
                        "{what}: dimension \"{name}\" is not one of {}",
                        Dimension::names()
                    ),
                ));
            };
            // Trimmed, as every name is read (`"acme "` is `acme`).
            let key = reader.string(table, "key", &what)?.trim().to_string();
            if key.is_empty() {
                return Err(reader.error(table.span(), format!("{what}: key is blank")));
            }
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
                    format!("{what}: a second budget for {} \"{key}\"", dimension.name()),
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
            ("nan", "must be a number (USD)"),
            ("-inf", "must be a number (USD)"),
        ] {
            let err = parse(usd).unwrap_err().to_string();
            assert!(
                err.starts_with("b.toml:") && err.contains(why),
                "{usd}: {err}"
            );
        }
    }
}
