//! tokenledger: attribute an LLM agent fleet's bill to tenants, features,
//! agents, tools, models and runs, to the cent.
//!
//! The stage modules are numbered in their docs as the mission's steps:
//! [`read`] (1) → [`tree`] (2) → [`join`] (3) → [`price`] (4) →
//! [`attribute`] and [`allocate`] (5) → [`reconcile`] and [`coverage`] (6)
//! → [`answers`] and [`write`] (7). [`pipeline`] runs them in its own
//! order (the usage read, priced and reconciled before the spans, so a bad
//! bill stops the run early; the join's [`posting`]s flow to the
//! attribution and the [`ledger`]). The shared record shapes are in
//! [`model`], money rounding in [`money`] and [`rounding`], escaping for the
//! terminal in [`terminal`], and the subcommands in [`cmd`].

#![warn(missing_docs)]

pub mod allocate;
pub mod answers;
pub mod attribute;
pub mod catalog;
pub mod cells;
pub mod charges;
pub mod checks;
pub mod cmd;
pub mod coverage;
pub mod diff;
pub mod dimension;
pub mod error;
pub mod glob;
pub mod hash;
pub mod intern;
pub mod join;
pub mod labels;
pub mod ledger;
pub mod manifest;
pub mod model;
pub mod money;
pub mod owner;
pub mod partition;
pub mod pipeline;
pub mod posting;
pub mod price;
pub mod read;
pub mod reconcile;
pub mod rounding;
pub mod sanity;
pub mod shard;
pub mod shrink;
pub mod simulate;
pub mod spill;
pub mod summary;
pub mod terminal;
pub mod threads;
pub mod tree;
pub mod write;

#[cfg(test)]
mod compact {
    /// What the month holds per billed request and per call, in bytes, not
    /// counting the heap (ids, boxed call details): a struct that grows
    /// grows every month's memory by its size times millions
    /// (`docs/scale.md` lists these sizes).
    #[test]
    fn per_record_structs_do_not_grow() {
        use std::mem::size_of;
        assert!(size_of::<crate::model::UsageRecord>() <= 80);
        assert!(size_of::<crate::model::Cost>() <= 96);
        assert!(size_of::<crate::tree::Call>() <= 80);
        assert!(size_of::<crate::model::CallInfo>() <= 88);
        assert!(size_of::<crate::model::Span>() <= 96);
        // And per report row (a month can hold a row per tenant): a row's
        // totals, and the row once rounded.
        assert!(size_of::<crate::attribute::Totals>() <= 176);
        // A run row's labels: its id inline, the rest shared.
        assert!(size_of::<crate::labels::Keys>() <= 40);
        assert!(size_of::<crate::ledger::RoundedRow>() <= 240);
        // The amounts a row boxes when it has one (every row under a
        // true-up).
        assert!(size_of::<crate::ledger::Amounts>() <= 112);
        // A run as the run answers hold it (a million in a large month).
        assert!(size_of::<crate::answers::RunCost>() <= 8);
    }
}
