//! The true-up: each record's invoiced cost, every invoice line's residual
//! spread over the records that make it up, pro rata to computed cost.

use rust_decimal::Decimal;

use super::{Names, Reconciliation};
use crate::hash::FastMap;
use crate::intern::Sym;
use crate::model::{Cost, Costs, TokenType, UsageRecord};
use crate::money::SHARE_PLACES;
use crate::price::{Lookup, PriceTable};
use crate::read::invoice::Meter;

impl Reconciliation {
    /// The true-up: each record's cost with every invoice line's residual
    /// spread over the records that make it up, pro rata to computed cost.
    /// Records of a line the invoice lacks keep their computed cost. The
    /// result keeps the split by token type.
    pub fn billed(
        &self,
        records: &[UsageRecord],
        costs: &Costs,
        names: &Names,
        table: &PriceTable,
    ) -> Vec<Cost> {
        let mut factors: FastMap<(Sym, Sym), [Decimal; 5]> = FastMap::default();
        let mut lookup = Lookup::new(table, names.interner);
        let factor_of = |r: &UsageRecord, meter: Meter| {
            let (provider, model) = (names.provider(r.provider), names.model(r.provider, r.model));
            self.factor(provider, model, meter)
        };
        records
            .iter()
            .zip(costs.iter())
            .map(|(r, cost)| {
                let factor = factors
                    .entry((r.provider, r.model))
                    .or_insert_with(|| TokenType::ALL.map(|t| factor_of(r, Meter::Tokens(t))));
                let entry = lookup.entry(r);
                let fees = r
                    .requests()
                    .iter()
                    .map(|&(charge, count)| {
                        let name = names.name(charge);
                        let fee = entry.and_then(|e| e.fee(name, count)).unwrap_or_default();
                        self.billed_fee(r, charge, fee, names)
                    })
                    .sum();
                Cost {
                    tokens: TokenType::ALL
                        .map(|t| billed_part(cost.tokens[t.index()], factor[t.index()])),
                    fees,
                }
            })
            .collect()
    }

    /// A record's trued-up `fee` of its per-request `charge`: at the
    /// factor of that charge's invoice line (each charge its own, so a
    /// record's trued-up fees are the sum of these).
    pub fn billed_fee(&self, r: &UsageRecord, charge: Sym, fee: Decimal, names: &Names) -> Decimal {
        let (provider, model) = (names.provider(r.provider), names.model(r.provider, r.model));
        let meter = Meter::Requests(names.name(charge).to_string());
        billed_part(fee, self.factor(provider, model, meter))
    }

    /// Invoiced ÷ computed of the line a (provider, canonical model,
    /// meter) is compared on; 1 where the invoice lacks it.
    fn factor(&self, provider: &str, model: &str, meter: Meter) -> Decimal {
        let (model, meter) = self.rollups.place(provider, model, meter);
        let factor = self.factors.get(&(provider.to_string(), model, meter));
        factor.copied().unwrap_or(Decimal::ONE)
    }
}

/// A record's invoiced share of one computed amount: `amount × factor`
/// (invoiced ÷ computed, a quotient with up to 28 digits), held to
/// [`SHARE_PLACES`]. Sums of such amounts are then exact in any order, so
/// the reports' billed columns do not depend on the order they are added.
fn billed_part(amount: Decimal, factor: Decimal) -> Decimal {
    (amount * factor).round_dp(SHARE_PLACES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn billed_amounts_sum_the_same_in_any_order() {
        // invoiced ÷ computed with 28 digits; unrounded products of it sum
        // to different last digits in different orders.
        let factor = Decimal::from(100) / Decimal::new(99_999_999, 6);
        let amounts: Vec<Decimal> = (1..=500).map(|i| Decimal::new(i * 37, 4)).collect();
        let raw: Vec<Decimal> = amounts.iter().map(|&a| a * factor).collect();
        assert_ne!(
            raw.iter().sum::<Decimal>(),
            raw.iter().rev().sum::<Decimal>(),
            "the premise: unrounded, the order shows"
        );
        let parts: Vec<Decimal> = amounts.iter().map(|&a| billed_part(a, factor)).collect();
        let forward: Decimal = parts.iter().sum();
        let backward: Decimal = parts.iter().rev().sum();
        assert_eq!(forward, backward);
        assert_eq!(forward.to_string(), backward.to_string());
        assert!(parts.iter().all(|p| p.scale() <= SHARE_PLACES));
    }
}
