//! `tokenledger merge`: combine the partials of `report --shard I/N` into the
//! month's reports, byte-identical to one unsharded `report`.

use std::path::PathBuf;

use super::{emit, Outcome, OutputConfig};
use crate::error::Result;
use crate::pipeline::config::MonthConfig;
use crate::pipeline::{self, Prepared, Timings};
use crate::shard::read_partials;

/// What `merge` is asked to do.
#[derive(Clone, Debug)]
pub struct MergeConfig {
    /// The partial directories, one per shard.
    pub partials: Vec<PathBuf>,
    /// Everything after the span trees, as for `report`.
    pub month: MonthConfig,
    /// The outputs.
    pub output: OutputConfig,
}

/// Merge shard partials into the month's reports.
pub fn run(config: &MergeConfig) -> Result<Outcome> {
    // A merge holds the whole month's records and calls.
    crate::shrink::give_back_large_blocks();
    let mut timings = Timings::start();
    let (mut usage, mut intake, prepared) = Prepared::read_and_price(&config.month, &mut timings)?;
    let threads = config.month.usage.threads;
    let partials = (
        &mut usage.interner,
        (&usage.records[..], &usage.ids),
        threads,
    );
    let (resolved, keys) = read_partials(&config.partials, partials, &mut intake)?;
    timings.phase("read partials");
    let read = (usage, intake);
    let mut month = pipeline::month(&config.month, &keys, read, prepared, resolved, &mut timings)?;
    let mut inputs = config.partials.clone();
    inputs.extend(config.month.inputs());
    let outcome = emit(
        &mut month,
        &config.month.answers,
        &config.output,
        &inputs,
        &mut timings,
    )?;
    std::mem::forget(month);
    Ok(outcome)
}
