//! Sharding a month larger than one machine: `report --shard I/N` keeps the
//! traces whose id hashes to shard I, resolves their trees and writes them as
//! a partial; `merge` reads the partials back and runs the rest of the
//! pipeline once. Every trace lands whole in one shard and tree resolution
//! is per trace, so the union of the partials is exactly what one run would
//! have resolved, and the reports are byte-identical to one run's.
//!
//! A partial directory holds `partial.json` (the shard, the attribute keys,
//! the span files with the spans kept from each, the counts, what
//! `--lenient` skipped and each run's outcome) and `calls.jsonl` (one
//! resolved inference call per line).
//!
//! Under `--whole-traces` each shard reads span files of its own (the
//! partitions `tokenledger partition` wrote, or files routed by trace id
//! upstream) and keeps every span. `merge` then lists the union of the
//! shards' span files, each partition under the file it was cut from, in
//! the order one run over those files would read them, and renumbers the
//! calls' origins to match.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::dimension::{Dimension, PerDimension};
use crate::error::{Error, Result, Skips};
use crate::intern::{Interner, Sym};
use crate::manifest::{read_verified, Checked};
use crate::model::{CallInfo, Origin, Shard};
use crate::pipeline::config::SpanConfig;
use crate::pipeline::intake::Intake;
use crate::read::span::{parse_hex_id, AttrKeys};
use crate::read::{InputFile, InputKind, SkippedFile};
use crate::tree::{Agents, Call, Dims, Resolved};
use crate::write::OutDir;

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

/// What a shard had read and skipped before its span files: every shard
/// reads the usage and invoices, and `merge` reads them again, so only
/// what the spans add goes into the partial.
pub struct BeforeSpans {
    skips: Skips,
    skipped_files: usize,
}

impl BeforeSpans {
    /// What `intake` holds now, before the spans.
    pub fn of(intake: &Intake) -> BeforeSpans {
        BeforeSpans {
            skips: intake.skips.clone(),
            skipped_files: intake.skipped_files.len(),
        }
    }
}

/// Write a shard's resolved trees into `out` as a partial: only what the
/// spans added after `before` goes into it. The shard, its keys and whether the span files held its
/// traces only (`--whole-traces`) come from `spans`; `inputs` are every
/// input path, which `out` may not touch.
pub fn write_partial(
    out: &Path,
    inputs: &[PathBuf],
    spans: &SpanConfig,
    (interner, intake): (&Interner, &Intake),
    before: &BeforeSpans,
    resolved: &Resolved,
) -> Result<()> {
    let keys = &spans.keys;
    let whole_traces = spans.whole_traces;
    let shard = keys.shard.expect("a shard's partial");
    let name = |sym: Option<Sym>| sym.map(|s| interner.get(s).to_string());
    let mut calls = Vec::new();
    for call in &resolved.calls {
        let info = &call.info;
        let line = PartialCall {
            trace: format!("{:032x}", call.trace_id),
            span: format!("{:016x}", call.span_id),
            name: interner.get(info.name).to_string(),
            join_key: info.join_key.as_deref().map(str::to_string),
            model: name(info.model),
            input_tokens: info.input_tokens,
            output_tokens: info.output_tokens,
            reasoning_tokens: info.reasoning_tokens,
            start_ns: info.start_ns,
            own_step: info.step,
            step: call.step,
            tenant: name(call.dims.values[Dimension::Tenant]),
            feature: name(call.dims.values[Dimension::Feature]),
            agent: name(call.dims.values[Dimension::Agent]),
            tool: name(call.dims.values[Dimension::Tool]),
            root_agent: name(call.dims.root_agent),
            agents: call.dims.agents.iter().map(name).collect(),
            file: call.origin.file,
            line: call.origin.line,
        };
        serde_json::to_writer(&mut calls, &line).map_err(|e| Error::fatal(e.to_string()))?;
        calls.push(b'\n');
    }
    let inputs_before = intake
        .inputs
        .iter()
        .filter(|i| i.kind != InputKind::Spans)
        .count();
    let mut skipped: BTreeMap<String, u64> = BTreeMap::new();
    for (kind, n) in &intake.skips.by_kind {
        let before = before.skips.by_kind.get(kind).copied().unwrap_or(0);
        if *n > before {
            skipped.insert(kind.clone(), n - before);
        }
    }
    let meta = Meta {
        tokenledger_version: env!("CARGO_PKG_VERSION").to_string(),
        shard,
        tenant_attr: keys.tenant.clone(),
        feature_attr: keys.feature.clone(),
        join_attr: keys.join.clone(),
        outcome_attr: keys.outcome.clone(),
        inputs_before_spans: inputs_before,
        span_files: intake.inputs[inputs_before..]
            .iter()
            .map(|i| (i.path.clone(), i.format.to_string(), i.records))
            .collect(),
        span_file_skips: intake.inputs[inputs_before..]
            .iter()
            .map(|i| {
                if whole_traces || shard.index == 0 {
                    i.skipped
                } else {
                    0
                }
            })
            .collect(),
        whole_traces,
        span_file_sources: intake.inputs[inputs_before..]
            .iter()
            .map(|i| i.part_of.as_ref().map(|p| p.source.clone()))
            .collect(),
        span_file_fingerprints: intake.inputs[inputs_before..]
            .iter()
            .map(|i| i.fingerprint.clone())
            .collect(),
        spans: intake.counts.spans,
        traces: resolved.traces,
        orphan_spans: resolved.orphan_spans,
        duplicate_spans: resolved.duplicate_spans,
        wrapper_spans: resolved.wrapper_spans,
        ids_not_calls: resolved.ids_not_calls,
        skipped,
        skipped_first: intake.skips.first[before.skips.first.len()..].to_vec(),
        skipped_span_files: intake.skipped_files[before.skipped_files..].to_vec(),
        outcomes: resolved
            .outcomes
            .iter()
            .map(|(t, o)| (format!("{t:032x}"), interner.get(*o).to_string()))
            .collect(),
    };
    let dir = OutDir::create(out, inputs)?;
    let mut json = serde_json::to_vec_pretty(&meta).map_err(|e| Error::fatal(e.to_string()))?;
    json.write_all(b"\n").expect("writing to memory");
    dir.write("partial.json", &json)?;
    dir.write("calls.jsonl", &calls)?;
    let mut traces = resolved.trace_ids.clone();
    traces.sort_unstable();
    let traces: String = traces.iter().map(|t| format!("{t:032x}\n")).collect();
    dir.write(TRACES, traces.as_bytes())?;
    dir.commit()
}

/// Read the partials of every shard (each exactly once) into the resolved
/// trees of the whole month, adding the span files to `intake.inputs` and
/// their skips to `intake.skips`, after the usage `intake` already holds.
/// Also returns the attribute keys the shards looked for.
pub fn read_partials(
    dirs: &[PathBuf],
    interner: &mut Interner,
    intake: &mut Intake,
) -> Result<(Resolved, AttrKeys)> {
    let mut metas = Vec::new();
    for dir in dirs {
        let path = dir.join("partial.json");
        let bytes = read_verified(dir, "partial.json", WRITER)?;
        let meta: Meta = serde_json::from_slice(&bytes).map_err(|e| {
            Error::fatal(format!(
                "{}: not a tokenledger partial ({e}); make one with `report --shard I/N --out DIR`",
                path.display()
            ))
        })?;
        if meta.span_file_fingerprints.len() != meta.span_files.len() {
            return Err(Error::fatal(format!(
                "{}: no record of what the shard read (an older tokenledger's partial): rerun the \
                 shard",
                path.display()
            )));
        }
        metas.push((dir, meta));
    }
    metas.sort_by_key(|(_, m)| m.shard.index);
    let first = &metas[0].1;
    let count = first.shard.count;
    let indexes: Vec<u32> = metas.iter().map(|(_, m)| m.shard.index).collect();
    if metas.iter().any(|(_, m)| m.shard.count != count)
        || indexes != (0..count).collect::<Vec<_>>()
    {
        let missing: Vec<String> = (0..count)
            .filter(|i| !indexes.contains(i))
            .map(|i| format!("{i}/{count}"))
            .collect();
        return Err(Error::fatal(format!(
            "merge needs every shard of one split exactly once: got shards {}{}",
            metas
                .iter()
                .map(|(_, m)| format!("{}/{}", m.shard.index, m.shard.count))
                .collect::<Vec<_>>()
                .join(", "),
            if missing.is_empty() {
                String::new()
            } else {
                format!("; missing {}", missing.join(", "))
            }
        )));
    }
    let whole = first.whole_traces;
    if metas.iter().any(|(_, m)| m.whole_traces != whole) {
        let with: Vec<String> = metas
            .iter()
            .filter(|(_, m)| m.whole_traces)
            .map(|(_, m)| format!("{}/{}", m.shard.index, m.shard.count))
            .collect();
        return Err(Error::fatal(format!(
            "merge needs every shard run the same way: shards {} were run with --whole-traces, \
             the others without",
            with.join(", ")
        )));
    }
    let before = intake.inputs.len();
    for (dir, meta) in &metas {
        let same = |m: &Meta| {
            (
                &m.tenant_attr,
                &m.feature_attr,
                &m.join_attr,
                &m.outcome_attr,
            ) == (
                &first.tenant_attr,
                &first.feature_attr,
                &first.join_attr,
                &first.outcome_attr,
            ) && (whole
                || m.span_files
                    .iter()
                    .map(|f| &f.0)
                    .eq(first.span_files.iter().map(|f| &f.0)))
        };
        if !same(meta) || meta.inputs_before_spans != before {
            return Err(Error::fatal(format!(
                "{}: this shard was run with other span files, attribute keys or usage and invoice \
                 files than shard 0 or this merge; run every shard with the merge's arguments",
                dir.display()
            )));
        }
    }

    let keys = AttrKeys {
        tenant: first.tenant_attr.clone(),
        feature: first.feature_attr.clone(),
        join: first.join_attr.clone(),
        outcome: first.outcome_attr.clone(),
        shard: None,
    };
    let (files, renumber) = if whole {
        union_of_files(&metas)?
    } else {
        same_files(&metas)?
    };
    intake.inputs.extend(files);
    let mut resolved = Resolved::default();
    for (dir, meta) in &metas {
        intake.counts.spans += meta.spans;
        resolved.traces += meta.traces;
        resolved.orphan_spans += meta.orphan_spans;
        resolved.duplicate_spans += meta.duplicate_spans;
        resolved.wrapper_spans += meta.wrapper_spans;
        resolved.ids_not_calls += meta.ids_not_calls;
        intake.skips.absorb(&meta.skipped, &meta.skipped_first);
        if meta.shard.index == 0 || whole {
            intake
                .skipped_files
                .extend(meta.skipped_span_files.iter().cloned());
        }
        for (trace, outcome) in &meta.outcomes {
            let trace = hex(trace, 32, dir, "outcomes")?;
            resolved.outcomes.insert(trace, interner.intern(outcome));
        }
        let file_of = |file: u32| {
            let k = file.checked_sub(before as u32)? as usize;
            renumber
                .get(meta.shard.index as usize)?
                .get(k)
                .map(|i| before as u32 + i)
        };
        read_calls(dir, interner, &mut resolved.calls, file_of)?;
    }
    no_trace_twice(&metas)?;
    resolved
        .calls
        .sort_unstable_by_key(|c| (c.trace_id, c.span_id));
    if let Some(w) = resolved
        .calls
        .windows(2)
        .find(|w| (w[0].trace_id, w[0].span_id) == (w[1].trace_id, w[1].span_id))
    {
        return Err(Error::fatal(format!(
            "span {:016x} of trace {:032x} is in two partials: were they made from one split?",
            w[0].span_id, w[0].trace_id
        )));
    }
    Ok((resolved, keys))
}

/// The span files of partials that all read the same files (a hash-filtered
/// split): shard 0's list with the spans and skips of every shard, and for
/// each shard (by index) its files' places in that list.
type Files = (Vec<InputFile>, Vec<Vec<u32>>);

fn same_files(metas: &[(&PathBuf, Meta)]) -> Result<Files> {
    let first = &metas[0].1;
    let mut files = Vec::new();
    for (i, (path, format, _)) in first.span_files.iter().enumerate() {
        let read = |m: &Meta| m.span_file_fingerprints[i].clone();
        if let Some((_, other)) = metas.iter().find(|(_, m)| read(m) != read(first)) {
            return Err(changed_between(path, first, other));
        }
        files.push(InputFile {
            path: path.clone(),
            kind: InputKind::Spans,
            format: span_format(format)?,
            records: metas.iter().map(|(_, m)| m.span_files[i].2).sum(),
            skipped: metas
                .iter()
                .filter_map(|(_, m)| m.span_file_skips.get(i))
                .sum(),
            part_of: None,
            fingerprint: None,
        });
    }
    let same: Vec<u32> = (0..files.len() as u32).collect();
    Ok((files, vec![same; metas.len()]))
}

/// The span files of partials that each read their own whole traces: the
/// union of the shards' files, a partition named by the file it was cut
/// from (its spans and skips summed over the shards), sorted as one run
/// over those files would read them. Every file cut by `partition` must
/// have been read by every shard, and any other file by one shard only.
fn union_of_files(metas: &[(&PathBuf, Meta)]) -> Result<Files> {
    struct Source {
        format: String,
        records: u64,
        skipped: u64,
        shards: Vec<u32>,
        partitioned: bool,
        read: Option<(u64, String)>,
    }
    let count = metas[0].1.shard.count;
    let mut sources: BTreeMap<PathBuf, Source> = BTreeMap::new();
    let mut names: Vec<Vec<PathBuf>> = Vec::new();
    for (dir, meta) in metas {
        let mut own: Vec<PathBuf> = Vec::new();
        for (k, (path, format, kept)) in meta.span_files.iter().enumerate() {
            let cut_from = meta.span_file_sources.get(k).cloned().flatten();
            let partitioned = cut_from.is_some();
            let name = cut_from.map_or_else(|| path.clone(), PathBuf::from);
            if own.contains(&name) {
                return Err(Error::fatal(format!(
                    "{}: two of this shard's span files hold parts of {}: was one partition \
                     directory given twice?",
                    dir.display(),
                    name.display()
                )));
            }
            let read = meta.span_file_fingerprints[k].clone();
            let source = sources.entry(name.clone()).or_insert_with(|| Source {
                format: format.clone(),
                records: 0,
                skipped: 0,
                shards: Vec::new(),
                partitioned,
                read: read.clone(),
            });
            if source.read != read {
                return Err(Error::fatal(format!(
                    "{}: shard {}/{count} read a partition cut from other bytes of it than \
                     shard {}/{count} did: it changed between two runs of `partition`; cut it \
                     once and run every shard on that cut",
                    name.display(),
                    meta.shard.index,
                    source.shards.first().copied().unwrap_or_default()
                )));
            }
            if source.format != *format || source.partitioned != partitioned {
                return Err(Error::fatal(format!(
                    "{}: read as {format} by shard {}/{count} but not so by another shard",
                    name.display(),
                    meta.shard.index
                )));
            }
            source.records += kept;
            source.skipped += meta.span_file_skips.get(k).copied().unwrap_or(0);
            source.shards.push(meta.shard.index);
            own.push(name);
        }
        names.push(own);
    }
    let shard_list = |shards: &mut dyn Iterator<Item = u32>| {
        shards
            .map(|i| format!("{i}/{count}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for (name, source) in &sources {
        if source.partitioned && source.shards.len() != count as usize {
            let mut missing = (0..count).filter(|i| !source.shards.contains(i));
            return Err(Error::fatal(format!(
                "{}: cut into {count} partitions, but shard {} read no part of it: was a file \
                 lost on the way? Rerun those shards with every partition file",
                name.display(),
                shard_list(&mut missing)
            )));
        }
        if !source.partitioned && source.shards.len() > 1 {
            return Err(Error::fatal(format!(
                "{}: read by shards {}; under --whole-traces each span file holds the traces of \
                 one shard (cut it with `tokenledger partition`, or shard with --shard alone)",
                name.display(),
                shard_list(&mut source.shards.iter().copied())
            )));
        }
    }
    let place: BTreeMap<&PathBuf, u32> = sources.keys().zip(0..).collect();
    let mut renumber = vec![Vec::new(); metas.len()];
    for ((_, meta), own) in metas.iter().zip(&names) {
        renumber[meta.shard.index as usize] = own.iter().map(|n| place[n]).collect();
    }
    let mut files = Vec::new();
    for (name, source) in sources {
        files.push(InputFile {
            path: name,
            kind: InputKind::Spans,
            format: span_format(&source.format)?,
            records: source.records,
            skipped: source.skipped,
            part_of: None,
            fingerprint: None,
        });
    }
    Ok((files, renumber))
}

/// The refusal of span files that two shards read in different states.
fn changed_between(path: &Path, a: &Meta, b: &Meta) -> Error {
    let shown = |m: &Meta| {
        let index = m.span_files.iter().position(|f| f.0 == path);
        match index.and_then(|i| m.span_file_fingerprints[i].clone()) {
            Some((bytes, sha)) => format!("{bytes} bytes, SHA-256 {}", &sha[..12]),
            None => "nothing".to_string(),
        }
    };
    Error::fatal(format!(
        "{}: shard {}/{} read {} of it, shard {}/{} {}: the file changed between the shards' runs \
         (it grew, or was rewritten); run every shard again on the same files",
        path.display(),
        a.shard.index,
        a.shard.count,
        shown(a),
        b.shard.index,
        b.shard.count,
        shown(b)
    ))
}

/// Every trace must be in one partial only: a trace whose spans were
/// routed to two shards' files is resolved in halves (its calls lose the
/// tenant and feature of the half they are not in).
fn no_trace_twice(metas: &[(&PathBuf, Meta)]) -> Result<()> {
    let mut all: Vec<(u128, u32)> = Vec::new();
    for (dir, meta) in metas {
        let mut reader = std::io::BufReader::new(Checked::open(dir, TRACES, WRITER)?);
        let mut line = String::new();
        while reader.read_line(&mut line).map_err(|e| Error::io(dir, e))? > 0 {
            all.push((hex(line.trim_end(), 32, dir, TRACES)?, meta.shard.index));
            line.clear();
        }
        reader.get_ref().verify()?;
    }
    all.sort_unstable();
    match all.windows(2).find(|w| w[0].0 == w[1].0) {
        None => Ok(()),
        Some(w) => Err(Error::fatal(format!(
            "trace {:032x} is in the partials of shards {} and {} of {}: its spans were split \
             between two shards' span files, so neither resolved it whole; route every span of a \
             trace to one shard (or cut the files with `tokenledger partition`)",
            w[0].0, w[0].1, w[1].1, metas[0].1.shard.count
        ))),
    }
}

/// A span format as a partial names it.
fn span_format(format: &str) -> Result<&'static str> {
    Ok(crate::read::spans::Dialect::from_name(format)
        .ok_or_else(|| Error::fatal(format!("unknown span format \"{format}\"")))?
        .name())
}

fn hex(text: &str, digits: usize, dir: &Path, what: &str) -> Result<u128> {
    parse_hex_id(text, digits).ok_or_else(|| {
        Error::fatal(format!(
            "{}: {what}: \"{text}\" is not {digits} hex digits",
            dir.display()
        ))
    })
}

/// Read one partial's `calls.jsonl`; `file_of` gives a call's span file its
/// number in the merge.
fn read_calls(
    dir: &Path,
    interner: &mut Interner,
    calls: &mut Vec<Call>,
    file_of: impl Fn(u32) -> Option<u32>,
) -> Result<()> {
    let path = dir.join("calls.jsonl");
    let mut reader = std::io::BufReader::new(Checked::open(dir, "calls.jsonl", WRITER)?);
    let mut intern = |name: Option<String>| name.map(|n| interner.intern(&n));
    for (n, line) in (&mut reader).lines().enumerate() {
        let line = line.map_err(|e| Error::io(&path, e))?;
        let at = format!("{}:{}", path.display(), n + 1);
        let c: PartialCall = serde_json::from_str(&line)
            .map_err(|e| Error::fatal(format!("{at}: not a partial call line: {e}")))?;
        let info = CallInfo {
            join_key: c.join_key.map(Into::into),
            name: intern(Some(c.name)).expect("a name"),
            model: intern(c.model),
            input_tokens: c.input_tokens,
            output_tokens: c.output_tokens,
            reasoning_tokens: c.reasoning_tokens,
            start_ns: c.start_ns,
            step: c.own_step,
        };
        calls.push(Call {
            trace_id: hex(&c.trace, 32, dir, "trace")?,
            span_id: hex(&c.span, 16, dir, "span")? as u64,
            info: Box::new(info),
            dims: Dims {
                values: PerDimension([
                    intern(c.tenant),
                    intern(c.feature),
                    intern(c.agent),
                    intern(c.tool),
                    None,
                ]),
                root_agent: intern(c.root_agent),
                agents: Agents::of(c.agents.into_iter().rev().map(&mut intern)),
            },
            step: c.step,
            origin: Origin {
                file: file_of(c.file).ok_or_else(|| {
                    Error::fatal(format!(
                        "{at}: file {} is none of the partial's span files",
                        c.file
                    ))
                })?,
                line: c.line,
            },
        });
    }
    reader.get_ref().verify()
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
