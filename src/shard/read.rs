//! The partials of one split read back and checked against each other.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use super::files::{same_files, union_of_files};
use super::{hex, Meta, PartialCall, TRACES, WRITER};
use crate::dimension::PerDimension;
use crate::error::{Error, Result};
use crate::intern::Interner;
use crate::manifest::{read_verified, Checked};
use crate::model::{CallInfo, Origin};
use crate::pipeline::intake::Intake;
use crate::read::span::AttrKeys;
use crate::tree::{Agents, Call, Dims, Resolved};

/// Read the partials of every shard (each exactly once) into the resolved
/// trees of the whole month, adding the span files to `intake.inputs` and
/// their skips to `intake.skips`, after the usage `intake` already holds.
/// Also returns the attribute keys the shards looked for.
pub fn read_partials(
    dirs: &[PathBuf],
    interner: &mut Interner,
    intake: &mut Intake,
) -> Result<(Resolved, AttrKeys)> {
    let mut metas = read_metas(dirs)?;
    metas.sort_by_key(|(_, m)| m.shard.index);
    one_split(&metas)?;
    let before = intake.inputs.len();
    same_run(&metas, before)?;
    let first = &metas[0].1;
    let keys = AttrKeys {
        tenant: first.tenant_attr.clone(),
        feature: first.feature_attr.clone(),
        join: first.join_attr.clone(),
        outcome: first.outcome_attr.clone(),
        shard: None,
    };
    let (files, renumber) = if first.whole_traces {
        union_of_files(&metas)?
    } else {
        same_files(&metas)?
    };
    intake.inputs.extend(files);
    let mut resolved = Resolved {
        memory_tight: true,
        ..Resolved::default()
    };
    for (dir, meta) in &metas {
        absorb(
            dir,
            meta,
            (interner, &mut *intake),
            &mut resolved,
            |file: u32| {
                let k = file.checked_sub(before as u32)? as usize;
                renumber
                    .get(meta.shard.index as usize)?
                    .get(k)
                    .map(|i| before as u32 + i)
            },
        )?;
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

/// Every directory's `partial.json`, checked against its manifest.
fn read_metas(dirs: &[PathBuf]) -> Result<Vec<(&PathBuf, Meta)>> {
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
    Ok(metas)
}

/// The partials (sorted by shard) are every shard of one split, once, all
/// run with or all without `--whole-traces`.
fn one_split(metas: &[(&PathBuf, Meta)]) -> Result<()> {
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
    Ok(())
}

/// Every shard looked for the same attribute keys after the same `before`
/// usage and invoice files (and, split by hash, read the same span files).
fn same_run(metas: &[(&PathBuf, Meta)], before: usize) -> Result<()> {
    let first = &metas[0].1;
    let whole = first.whole_traces;
    for (dir, meta) in metas {
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

    Ok(())
}

/// Add one partial's counts, skips, outcomes and calls; `file_of` gives a
/// call's span file its number in the merge.
fn absorb(
    dir: &Path,
    meta: &Meta,
    (interner, intake): (&mut Interner, &mut Intake),
    resolved: &mut Resolved,
    file_of: impl Fn(u32) -> Option<u32>,
) -> Result<()> {
    let whole = meta.whole_traces;
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
    read_calls(dir, interner, &mut resolved.calls, file_of)
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
            info: Some(Box::new(info)),
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
