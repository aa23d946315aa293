//! Invoice lines that sum over models: a provider's whole usage in one
//! line (OpenAI's cost buckets without a `line_item`), or one per-request
//! charge of every model (`"web search tool calls"` without a model). The
//! records they sum are compared with them, and trued up by them, in one
//! line keyed as the invoice keys it, not per model. Once one bucket of a
//! provider names no `line_item`, the provider's grouped lines roll into
//! that line too, day by day: unless they come to the same amount, the
//! same costs fetched twice ([`fetched_twice`]). A model's cache writes
//! billed in a line that says no time-to-live are compared, and trued up,
//! 5-minute and 1-hour writes together.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::model::TokenType;
use crate::price::PriceTable;
use crate::read::invoice::{Charge, InvoiceLine, Meter, ALL_USAGE};

/// The model column of a per-request line that sums every model.
pub const ALL_MODELS: &str = "(all models)";

/// The providers whose invoice lines sum over models, and the models whose
/// cache writes of both times-to-live a line sums.
#[derive(Clone, Debug, Default)]
pub struct Rollups {
    /// Providers billed in one line for all their usage.
    all: HashSet<String>,
    /// (provider, per-request meter) billed in one line for every model.
    requests: HashSet<(String, Meter)>,
    /// Per provider, the models billed cache writes that say no
    /// time-to-live ([`Meter::CacheWrites`]).
    cache_writes: HashMap<String, HashSet<String>>,
}

impl Rollups {
    /// The roll-ups the invoice's usage lines declare (their models as the
    /// `table` names them).
    pub fn of(usage: &[&InvoiceLine], table: &PriceTable) -> Rollups {
        let mut rollups = Rollups::default();
        for line in usage.iter().filter(|l| l.meter == Meter::CacheWrites) {
            if let Some(model) = &line.model {
                let model = table.canonical_model(&line.provider, model).to_string();
                (rollups.cache_writes.entry(line.provider.clone()))
                    .or_default()
                    .insert(model);
            }
        }
        for line in usage.iter().filter(|l| l.model.is_none()) {
            match &line.meter {
                Meter::Requests(_) => {
                    rollups
                        .requests
                        .insert((line.provider.clone(), line.meter.clone()));
                }
                Meter::Other if line.description == ALL_USAGE => {
                    rollups.all.insert(line.provider.clone());
                }
                _ => {}
            }
        }
        rollups
    }

    /// Whether `provider`'s whole usage is compared in one line: some
    /// bucket of its bill names no `line_item`, so its other lines (a
    /// file fetched grouped beside one that is not) are summed into that
    /// line too, day by day, rather than left unmatched on both sides.
    pub fn all_usage(&self, provider: &str) -> bool {
        self.all.contains(provider)
    }

    /// The (model, meter) a record's `meter` of `model` is compared under:
    /// its own, or the line that sums it with other models'.
    pub fn place(&self, provider: &str, model: &str, meter: Meter) -> (String, Meter) {
        if self.all_usage(provider) {
            return (ALL_USAGE.to_string(), Meter::Other);
        }
        if self
            .requests
            .contains(&(provider.to_string(), meter.clone()))
        {
            return (ALL_MODELS.to_string(), meter);
        }
        let meter = self.cache_writes(provider, model, &meter);
        (model.to_string(), meter)
    }

    /// The meter a `meter` of `model` is compared under: a cache write of
    /// either time-to-live, where a line of the model's sums both, under
    /// [`Meter::CacheWrites`] (on the usage's side and the bill's).
    pub fn cache_writes(&self, provider: &str, model: &str, meter: &Meter) -> Meter {
        let write = matches!(
            meter,
            Meter::Tokens(TokenType::CacheWrite5m | TokenType::CacheWrite1h)
        );
        let summed = || (self.cache_writes.get(provider)).is_some_and(|m| m.contains(model));
        match write && summed() {
            true => Meter::CacheWrites,
            false => meter.clone(),
        }
    }

    /// The model column of an invoice line without a model.
    pub fn invoice_model(line: &InvoiceLine) -> String {
        match line.meter {
            Meter::Requests(_) => ALL_MODELS.to_string(),
            _ => line.description.clone(),
        }
    }
}

/// A billion: amounts alike to a billionth of themselves are the same.
const BILLION: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);

/// A provider's day billed both in one line (not grouped) and in grouped
/// lines that come to the same amount (to a billionth; a day of $0 is
/// never refused): one cost report fetched twice,
/// grouped and not, which summed would double the day. The first such
/// day's ungrouped line and one of its grouped lines. Grouped lines of
/// another amount are another organisation's bill, summed.
pub fn fetched_twice(invoice: &[InvoiceLine]) -> Option<(&InvoiceLine, &InvoiceLine)> {
    type Sides<'l> = (
        Decimal,
        Decimal,
        Option<&'l InvoiceLine>,
        Option<&'l InvoiceLine>,
    );
    let mut days: BTreeMap<(&str, NaiveDate), Sides> = BTreeMap::new();
    for line in invoice.iter().filter(|l| l.charge == Charge::Usage) {
        let Some(day) = line.day else { continue };
        let (whole, grouped, first_whole, first_grouped) =
            days.entry((&line.provider, day)).or_default();
        if line.model.is_none() && line.description == ALL_USAGE {
            *whole += line.amount;
            first_whole.get_or_insert(line);
        } else {
            *grouped += line.amount;
            first_grouped.get_or_insert(line);
        }
    }
    // The same costs to a billionth (a float's last digit may differ); a
    // day of nothing is no evidence of anything.
    let alike = |w: Decimal, g: Decimal| !w.is_zero() && (w - g).abs() <= w.abs() / BILLION;
    days.into_values()
        .find_map(|(whole, grouped, a, b)| match (a, b) {
            (Some(a), Some(b)) if alike(whole, grouped) => Some((a, b)),
            _ => None,
        })
}
