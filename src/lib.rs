//! tokenledger: attribute an LLM agent fleet's bill to tenants, features,
//! agents, tools, models and runs, to the cent.
//!
//! The modules follow the pipeline's stages: [`read`] → [`tree`] → [`join`]
//! → [`price`] → [`attribute`] → [`reconcile`] (and [`coverage`]) →
//! [`answers`] → [`write`], with the shared record shapes in [`model`], money rounding in
//! [`money`], escaping for the terminal in [`terminal`], and the subcommands
//! in [`cmd`].

#![warn(missing_docs)]

pub mod allocate;
pub mod answers;
pub mod attribute;
pub mod catalog;
pub mod charges;
pub mod checks;
pub mod cmd;
pub mod coverage;
pub mod diff;
pub mod dimension;
pub mod error;
pub mod hash;
pub mod intern;
pub mod join;
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
pub mod simulate;
pub mod spill;
pub mod summary;
pub mod terminal;
pub mod tree;
pub mod write;
