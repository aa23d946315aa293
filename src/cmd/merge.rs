//! `tokenledger merge`: combine the partials of `report --shard I/N` into the
//! month's reports, byte-identical to one unsharded `report`.

use std::path::PathBuf;

use super::report::{finish, PipelineArgs, Prepared};
use super::{Billing, Outcome, Timings};
use crate::error::Result;
use crate::shard::read_partials;

/// Merge shard partials into the month's reports.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The partial directories, one per shard (written by `report --shard I/N --out DIR`).
    #[arg(required = true, num_args = 1.., value_name = "DIR")]
    pub partials: Vec<PathBuf>,
    /// The same usage, checks, answers and output flags as `report`.
    #[command(flatten)]
    pub pipeline: PipelineArgs,
}

/// Merge.
pub fn run(args: &Args) -> Result<Outcome> {
    let mut timings = Timings::start();
    let mut billing = Billing::load(&args.pipeline.usage)?;
    timings.phase("read and price usage");
    let prepared = Prepared::new(&args.pipeline, &mut billing)?;
    timings.phase("checks");
    let (resolved, keys) = read_partials(&args.partials, &mut billing)?;
    timings.phase("read partials");
    finish(&args.pipeline, &keys, billing, prepared, resolved, timings)
}
