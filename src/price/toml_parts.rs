//! Checks of a `[[model]]` entry beyond its values' own: the factors that
//! may not be zero, and the parts that cannot be priced together.

use rust_decimal::Decimal;
use toml_edit::Table;

use super::entry::{PriceEntry, TierPrice};
use crate::error::Result;
use crate::model::Tier;
use crate::read::toml::TomlReader;

/// The parts of an entry that cannot be priced together.
pub(super) fn check_combinations(
    toml: &TomlReader,
    table: &Table,
    entry: &PriceEntry,
    what: &str,
) -> Result<()> {
    let tier_long = entry
        .tiers
        .iter()
        .any(|(_, p)| matches!(p, TierPrice::Rates(r) if r.long_context.is_some()));
    let message = if tier_long && entry.long_context.is_none() {
        format!("{what}: a tier's long_context rates need the entry's [model.long_context] (its threshold)")
    } else if entry.batch_discount.is_some() && entry.tiers.iter().any(|(t, _)| *t == Tier::Batch) {
        format!("{what}: give batch_discount or [model.tiers.batch], not both")
    } else if !entry.hours.is_empty()
        && (entry.long_context.is_some()
            || entry
                .tiers
                .iter()
                .any(|(_, p)| matches!(p, TierPrice::Rates(_)))
            || entry.modal.iter().any(Option::is_some))
    {
        format!(
            "{what}: [[model.hours]] windows cannot be combined with [model.long_context], \
             a tier's own rates or audio and image rates (tier multipliers can)"
        )
    } else {
        return Ok(());
    };
    Err(toml.error(table.span(), message))
}

/// `value`, read from `table[key]`, unless it is zero: a factor of 0 is a
/// typing error (0 for 0.5), never a price (never a silent $0).
pub(super) fn not_zero(
    toml: &TomlReader,
    (table, key): (&Table, &str),
    value: Decimal,
    why: &str,
) -> Result<Decimal> {
    if !value.is_zero() {
        return Ok(value);
    }
    let span = table.get(key).and_then(|item| item.span());
    Err(toml.error(
        span,
        format!("\"{key}\" is 0: {why}; a free model has rates of 0"),
    ))
}
