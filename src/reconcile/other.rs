//! The bill's lines that are not compared with usage: credits, tax and
//! adjustments, a model service's fixed charges, model usage whose meter
//! cannot be read (a failed gate), and a cloud bill's other services
//! (summed into one line per provider: a CUR holds every service).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::Status;
use crate::price::PriceTable;
use crate::read::invoice::meters::Cloud;
use crate::read::invoice::{Charge, InvoiceLine};

/// Lines of the bill not compared with usage, summed by what they are.
#[derive(Clone, Debug, PartialEq)]
pub struct OtherLine {
    /// The provider (or cloud provider) billing it.
    pub provider: String,
    /// The model or description (a meter's text, a credit's name).
    pub label: String,
    /// What kind of charge it is.
    pub charge: Charge,
    /// Its day, where it covers exactly one.
    pub day: Option<NaiveDate>,
    /// Amount, in the table's currency.
    pub amount: Decimal,
    /// The model the line is of, where the bill names one: as the table
    /// names it (a fixed charge's, a credit's on a model's row), or, for
    /// unmapped usage, as the bill names it.
    pub model: Option<String>,
    /// The allocation's `[[split]]` that spreads it, by number.
    pub split: Option<usize>,
}

/// The label of a cloud bill's other services, summed.
pub const OTHER_SERVICES: &str = "(other services)";

impl OtherLine {
    /// Its status in `reconciliation.csv`.
    pub fn status(&self) -> Status {
        if self.split.is_some() {
            return Status::Split;
        }
        match self.charge {
            Charge::Fixed => Status::Fixed,
            Charge::Unmapped => Status::UnmappedMeter,
            _ => Status::NotUsage,
        }
    }

    /// What the line is, for the diagnosis column, with the model a line
    /// not of unmapped usage is of (two credits of one name on two models'
    /// rows are two lines).
    pub fn diagnosis(&self) -> String {
        let of = match (self.charge, &self.model) {
            (Charge::Unmapped, _) | (_, None) => String::new(),
            (_, Some(model)) => format!(" of {model}"),
        };
        if let Some(number) = self.split {
            return format!("split:{number} ({}{of})", self.charge.name());
        }
        match (self.charge, &self.model) {
            (Charge::Unmapped, Some(model)) => format!(
                "the bill names model \"{model}\", which no [[meter]] entry of the pricing table \
                 names and no table entry prices: add a [[meter]] entry naming its model"
            ),
            (Charge::Unmapped, None) => "model usage under a meter tokenledger cannot read: \
                 not compared; add its meter to the grammar or report it"
                .into(),
            (Charge::Fixed, _) => format!(
                "not per token (provisioned throughput, capacity, storage, custom models){of}: \
                 billed, not compared with usage"
            ),
            (charge, _) => format!("{}{of}", charge.name()),
        }
    }
}

/// The lines not compared with usage, summed per (provider, label,
/// charge, day, model); other services per provider. A line's label is
/// its description, else its model; its model is the table's name for it
/// (a cloud's credit under the cloud's provider's), unmapped usage's as
/// the bill names it.
pub fn others(lines: &[&InvoiceLine], table: &PriceTable) -> Vec<OtherLine> {
    type Key = (String, String, Charge, Option<NaiveDate>, Option<String>);
    let mut sums: BTreeMap<Key, Decimal> = BTreeMap::new();
    for l in lines {
        let key = match l.charge {
            Charge::Service => (
                l.provider.clone(),
                OTHER_SERVICES.into(),
                l.charge,
                None,
                None,
            ),
            Charge::Unmapped => {
                let label = l.description.clone();
                (l.provider.clone(), label, l.charge, l.day, l.model.clone())
            }
            _ => {
                let label = match (&l.model, l.description.is_empty()) {
                    (Some(model), true) => model.clone(),
                    _ => l.description.clone(),
                };
                let provider = Cloud::usage_provider(&l.provider);
                let model =
                    (l.model.as_deref()).map(|m| table.canonical_model(provider, m).to_string());
                (l.provider.clone(), label, l.charge, l.day, model)
            }
        };
        *sums.entry(key).or_default() += l.amount;
    }
    sums.into_iter()
        .map(
            |((provider, label, charge, day, model), amount)| OtherLine {
                provider,
                label,
                charge,
                day,
                amount,
                model,
                split: None,
            },
        )
        .collect()
}
