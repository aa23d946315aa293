//! Sharding a month larger than one machine: `report --shard I/N` keeps the
//! traces whose id hashes to shard I, resolves their trees and writes them as
//! a partial; `merge` reads the partials back and runs the rest of the
//! pipeline once. Every trace lands whole in one shard and tree resolution
//! is per trace, so the union of the partials is exactly what one run would
//! have resolved, and the reports are byte-identical to one run's.
//!
//! A partial directory holds `partial.json` (the shard, the attribute keys,
//! the span files with the spans kept from each, the counts, what
//! `--lenient` skipped and each run's outcome), `calls.jsonl` (one
//! resolved inference call per line) and `traces.txt` (the trace ids it
//! resolved: the merge refuses a trace two shards each resolved a half of).
//!
//! Under `--whole-traces` each shard reads span files of its own (the
//! partitions `tokenledger partition` wrote, or files routed by trace id
//! upstream) and keeps every span. `merge` then lists the union of the
//! shards' span files, each partition under the file it was cut from, in
//! the order one run over those files would read them, and renumbers the
//! calls' origins to match.
//!
//! `write` makes a partial, `read` reads and checks the partials of a split,
//! `files` rebuilds the month's list of span files from them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::Shard;
use crate::read::span::parse_hex_id;
use crate::read::SkippedFile;

mod files;
mod read;
mod write;

pub use read::read_partials;
pub use write::write_partial;

/// `partial.json`.
#[derive(Debug, Serialize, Deserialize)]
struct Meta {
    tokenledger_version: String,
    shard: Shard,
    tenant_attr: Vec<String>,
    feature_attr: String,
    join_attr: Vec<String>,
    outcome_attr: String,
    /// Input files (usage, invoices, …) read before the span files: span
    /// origins count from here.
    inputs_before_spans: usize,
    /// Span files with their format and the spans this shard kept.
    span_files: Vec<(PathBuf, String, u64)>,
    /// The span files hold whole traces of this shard only (`--whole-traces`).
    #[serde(default)]
    whole_traces: bool,
    /// For each span file written by `tokenledger partition`, the file it
    /// was cut from.
    #[serde(default)]
    span_file_sources: Vec<Option<String>>,
    /// The lines `--lenient` skipped in each span file (shard 0 alone
    /// counts them: every shard meets the same lines).
    #[serde(default)]
    span_file_skips: Vec<u64>,
    /// Each span file's size and SHA-256 as the shard read it (of the
    /// source a partition was cut from): every shard must have read the
    /// same bytes.
    #[serde(default)]
    span_file_fingerprints: Vec<Option<(u64, String)>>,
    spans: u64,
    traces: u64,
    orphan_spans: u64,
    duplicate_spans: u64,
    wrapper_spans: u64,
    #[serde(default)]
    ids_not_calls: u64,
    skipped: BTreeMap<String, u64>,
    skipped_first: Vec<String>,
    /// Each run's outcome: trace id (hex) → outcome.
    outcomes: BTreeMap<String, String>,
    /// Files of the walked span directories that were not read.
    #[serde(default)]
    skipped_span_files: Vec<SkippedFile>,
}

/// Who writes partials, for the messages of the checks `merge` makes.
const WRITER: &str = "`tokenledger report --shard I/N --out`";

/// A partial's list of every trace it resolved (hex ids, sorted).
const TRACES: &str = "traces.txt";

/// One line of `calls.jsonl`.
#[derive(Debug, Serialize, Deserialize)]
struct PartialCall {
    trace: String,
    span: String,
    name: String,
    join_key: Option<String>,
    model: Option<String>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    #[serde(default)]
    reasoning_tokens: Option<u64>,
    start_ns: u64,
    own_step: Option<u32>,
    step: u32,
    tenant: Option<String>,
    feature: Option<String>,
    agent: Option<String>,
    tool: Option<String>,
    root_agent: Option<String>,
    agents: Vec<Option<String>>,
    file: u32,
    line: u64,
}

/// A hex id of a partial's file, or an error naming the directory.
fn hex(text: &str, digits: usize, dir: &Path, what: &str) -> Result<u128> {
    parse_hex_id(text, digits).ok_or_else(|| {
        Error::fatal(format!(
            "{}: {what}: \"{text}\" is not {digits} hex digits",
            dir.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_trace_lands_in_exactly_one_shard() {
        assert_eq!(Shard::parse("2/5"), Ok(Shard { index: 2, count: 5 }));
        for bad in ["5/5", "1", "a/2", "0/0", "-1/3"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        let mut sizes = [0u32; 4];
        for t in 0..4000u128 {
            let trace = t.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c834);
            let owners: Vec<u32> = (0..4)
                .filter(|&i| Shard { index: i, count: 4 }.owns(trace))
                .collect();
            assert_eq!(owners.len(), 1);
            sizes[owners[0] as usize] += 1;
        }
        assert!(sizes.iter().all(|&n| (850..1150).contains(&n)), "{sizes:?}");
    }
}
