//! `tokenledger report`: the whole pipeline (its order is
//! [`crate::pipeline`]'s), then the outputs; or, with `--shard`, its span
//! half, written as a partial for `merge` (with `--whole-traces`, of span
//! files that hold the shard's traces only).

use std::path::PathBuf;

use super::{emit, Outcome, OutputConfig};
use crate::error::Result;
use crate::pipeline::config::{MonthConfig, SpanConfig};
use crate::pipeline::intake::Intake;
use crate::pipeline::{self, spans, Month, Prepared, Timings};
use crate::shard;

/// What `report` is asked to do.
#[derive(Clone, Debug)]
pub struct ReportConfig {
    /// The spans.
    pub spans: SpanConfig,
    /// Everything after the span trees.
    pub month: MonthConfig,
    /// The outputs.
    pub output: OutputConfig,
}

impl ReportConfig {
    /// Every input path: an output never goes into one.
    pub fn inputs(&self) -> Vec<PathBuf> {
        let mut inputs = self.spans.paths.clone();
        inputs.extend(self.month.inputs());
        inputs
    }
}

/// Run the pipeline (or, with `--shard`, its span half).
pub fn run(config: &ReportConfig) -> Result<Outcome> {
    let mut timings = Timings::start();
    if config.spans.keys.shard.is_some() {
        return shard(config, &mut timings);
    }
    let (mut usage, mut intake, prepared) = Prepared::read_and_price(&config.month, &mut timings)?;
    let resolved = spans::read(
        &config.spans,
        (&mut usage.interner, Some((&usage.records[..], &usage.ids))),
        &mut intake,
        &mut timings,
    )?;
    let keys = &config.spans.keys;
    let read = (usage, intake);
    let mut month = pipeline::month(&config.month, keys, read, prepared, resolved, &mut timings)?;
    let outcome = emit(
        &mut month,
        &config.month.answers,
        &config.output,
        &config.inputs(),
        &mut timings,
    )?;
    if !config.output.quiet {
        note_memory(config.spans.memory_limit, &month);
    }
    // The process ends next and the system takes its memory back at once;
    // freeing millions of small allocations one by one would take a
    // noticeable share of a large run.
    std::mem::forget(month);
    Ok(outcome)
}

/// A shard: its traces resolved and written as a partial. It reads the
/// spans alone: the usage, invoices and answers' files are the merge's
/// (given to a shard, they are not read), so a shard holds none of the
/// month's billed records, and its calls' span files count from 0.
fn shard(config: &ReportConfig, timings: &mut Timings) -> Result<Outcome> {
    let mut interner = crate::intern::Interner::default();
    let mut intake = Intake::new(config.month.usage.lenient);
    let resolved = spans::read(&config.spans, (&mut interner, None), &mut intake, timings)?;
    let out = (config.output.out.as_deref()).expect("--shard requires --out");
    let state = (&interner, &intake);
    let inputs = config.inputs();
    shard::write_partial(out, &inputs, &config.spans, state, &resolved)?;
    Ok(Outcome::Pass)
}

/// Say on stderr when the run took more memory than `--memory-limit`:
/// spilling bounds the span state, not the records, calls and reports.
fn note_memory(limit: u64, month: &Month) {
    let Some(peak) = pipeline::peak_rss().map(|kib| kib * 1024) else {
        return;
    };
    if peak > limit {
        crate::stderr_line!(
            "tokenledger: note: peak memory {} MiB is over --memory-limit {}: spilling bounds the spans only, \
             and this month's {} billed records and {} calls are held whole; split it with \
             `tokenledger partition` and --shard (docs/scale.md)",
            peak >> 20,
            crate::spill::size(limit),
            month.usage.records.len(),
            month.resolved.calls.len()
        );
    }
}
