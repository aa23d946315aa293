//! The per-step curve (`by_step.csv`): billed calls grouped by their step
//! within their agent invocation. Input tokens that climb step after step
//! mean the context is not being trimmed.

use std::collections::BTreeMap;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::error::Result;
use crate::model::TokenType;
use crate::money::{round_column, Micros};
use crate::posting::Postings;

/// One row of `by_step.csv`; `step` `None` holds the unattributed records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepRow {
    /// The step (1-based), or `None` for records that joined no call.
    pub step: Option<u32>,
    /// Billed calls at this step.
    pub calls: u64,
    /// Mean input tokens per call, every input token (uncached, cache read
    /// and cache writes): the context the model read. One place, half to even.
    pub mean_input_tokens: Decimal,
    /// Mean cache-read tokens per call.
    pub mean_cache_read_tokens: Decimal,
    /// Mean output tokens per call.
    pub mean_output_tokens: Decimal,
    /// The calls' cost, split so the column sums to the rounded total.
    pub cost: Micros,
}

/// Group every posting by its call's step (unattributed records in a
/// last row of their own), in step order.
pub fn by_step(postings: &Postings) -> Result<Vec<StepRow>> {
    #[derive(Default)]
    struct Sums {
        calls: u64,
        input: u128,
        cache_read: u128,
        output: u128,
        cost: Decimal,
    }
    let mut groups: BTreeMap<(bool, u32), Sums> = BTreeMap::new();
    for posting in postings.iter() {
        let (record, cost) = (posting.record, posting.cost);
        // Attributed steps sort first, by number; unattributed last.
        let key = posting.call.map_or((true, 0), |c| (false, c.step));
        let sums = groups.entry(key).or_default();
        sums.calls += 1;
        sums.input += u128::from(record.tokens.prompt());
        sums.cache_read += u128::from(record.tokens.get(TokenType::CacheRead));
        sums.output += u128::from(record.tokens.get(TokenType::Output));
        sums.cost += cost.total();
    }
    let exact: Vec<Decimal> = groups.values().map(|s| s.cost).collect();
    let cells = round_column(&exact);
    Ok(groups
        .into_iter()
        .zip(cells)
        .map(|(((unattributed, step), sums), cost)| {
            let mean = |n: u128| {
                (Decimal::from(n) / Decimal::from(sums.calls))
                    .round_dp_with_strategy(1, RoundingStrategy::MidpointNearestEven)
            };
            StepRow {
                step: (!unattributed).then_some(step),
                calls: sums.calls,
                mean_input_tokens: mean(sums.input),
                mean_cache_read_tokens: mean(sums.cache_read),
                mean_output_tokens: mean(sums.output),
                cost,
            }
        })
        .collect())
}
