//! Invoice lines that sum over models: a provider's whole usage in one
//! line (OpenAI's cost buckets without a `line_item`), or one per-request
//! charge of every model (`"web search tool calls"` without a model). The
//! records they sum are compared with them, and trued up by them, in one
//! line keyed as the invoice keys it, not per model. Once one bucket of a
//! provider names no `line_item`, the provider's grouped lines roll into
//! that line too, day by day.

use std::collections::HashSet;

use crate::read::invoice::{InvoiceLine, Meter, ALL_USAGE};

/// The model column of a per-request line that sums every model.
pub const ALL_MODELS: &str = "(all models)";

/// The providers whose invoice lines sum over models.
#[derive(Clone, Debug, Default)]
pub struct Rollups {
    /// Providers billed in one line for all their usage.
    all: HashSet<String>,
    /// (provider, per-request meter) billed in one line for every model.
    requests: HashSet<(String, Meter)>,
}

impl Rollups {
    /// The roll-ups the invoice's usage lines declare.
    pub fn of(usage: &[&InvoiceLine]) -> Rollups {
        let mut rollups = Rollups::default();
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
        (model.to_string(), meter)
    }

    /// The model column of an invoice line without a model.
    pub fn invoice_model(line: &InvoiceLine) -> String {
        match line.meter {
            Meter::Requests(_) => ALL_MODELS.to_string(),
            _ => line.description.clone(),
        }
    }
}
