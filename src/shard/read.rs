//! The partials of one split read back and checked against each other.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use super::files::{same_files, union_of_files};
use super::{hex, Meta, PartialCall, TRACES, WRITER};
use crate::dimension::PerDimension;
use crate::error::{Error, Result};
use crate::intern::Interner;
use crate::join::IdIndex;
use crate::manifest::{read_verified, Checked, Sha};
use crate::model::{Billed, CallInfo, Origin};
use crate::pipeline::intake::Intake;
use crate::read::span::{parse_hex_id, AttrKeys};
use crate::tree::{Agents, Call, Dims, Found, Reread, Resolved, SharedAgents, Wanted};

/// Read the partials of every shard (each exactly once) into the resolved
/// trees of the whole month, adding the span files to `intake.inputs` and
/// their skips to `intake.skips`, after the usage `intake` already holds.
/// As they are read, the calls are looked up among the billed `records`
/// (on `threads` threads), and those that found one release their span
/// facts ([`IdIndex::look_up_releasing`]; the unbilled among them take
/// them back from the partials, checked again, after the join). Also
/// returns the attribute keys the shards looked for.
pub fn read_partials(
    dirs: &[PathBuf],
    (interner, records, threads): (&mut Interner, Billed<'_>, usize),
    intake: &mut Intake,
) -> Result<(Resolved, AttrKeys)> {
    let mut metas = read_metas(dirs)?;
    metas.sort_by_key(|(_, m)| m.shard.index);
    one_split(&metas)?;
    let before = intake.inputs.len();
    same_run(&metas)?;
    for (dir, meta) in &metas {
        lenient_only_if_lenient(dir, meta, intake.skips.is_lenient())?;
    }
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
    let first_skips = first_skips_in_order(&metas, &renumber);
    // Before the calls are read: a list of every trace (32 bytes each).
    no_trace_twice(&metas)?;
    let mut resolved = Resolved {
        memory_tight: true,
        ..Resolved::default()
    };
    let index = IdIndex::new(records, threads);
    let mut read = Vec::new();
    let (calls, found) = std::thread::scope(|scope| {
        let mut settler = Settler::new(scope, &index, threads);
        for (dir, meta) in &metas {
            let file_of = |file: u32| {
                let k = file.checked_sub(meta.inputs_before_spans as u32)? as usize;
                (renumber.get(meta.shard.index as usize)?.get(k)).map(|i| before as u32 + i)
            };
            let mut settle = |batch| settler.settle(batch);
            let calls = (file_of, &mut settle as &mut Settle);
            let sha = absorb(dir, meta, (interner, &mut *intake), &mut resolved, calls)?;
            read.push((dir.to_path_buf(), sha));
        }
        Ok::<_, Error>(settler.finish())
    })?;
    drop(index);
    intake.skips.absorb(&Default::default(), &first_skips);
    (resolved.calls, resolved.found) = (calls, Some(found));
    resolved.sort_calls();
    resolved.reread = Some(Box::new(PartialCalls { read }));
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

/// Every shard looked for the same attribute keys (and, split by hash,
/// read the same span files).
fn same_run(metas: &[(&PathBuf, Meta)]) -> Result<()> {
    let first = &metas[0].1;
    for (dir, meta) in metas {
        if let Some(what) = difference(first, meta) {
            return Err(Error::fatal(format!(
                "{}: this shard was run with {what}; run every shard with the merge's arguments",
                dir.display()
            )));
        }
    }
    Ok(())
}

/// What `meta`'s run had other than shard 0's (`first`), if anything.
fn difference(first: &Meta, meta: &Meta) -> Option<String> {
    let keys = |m: &Meta| {
        [
            ("--tenant-attr", m.tenant_attr.clone()),
            ("--feature-attr", vec![m.feature_attr.clone()]),
            ("--join-attr", m.join_attr.clone()),
            ("--outcome-attr", vec![m.outcome_attr.clone()]),
        ]
    };
    let mut keys = keys(first).into_iter().zip(keys(meta));
    if let Some(((flag, ours), (_, theirs))) = keys.find(|(a, b)| a != b) {
        let (ours, theirs) = (ours.join(" "), theirs.join(" "));
        return Some(format!("{flag} {theirs}, shard 0 with {ours}"));
    }
    let (ours, theirs) = (&first.span_files, &meta.span_files);
    let differ = (ours.iter().map(|f| &f.0))
        .zip(theirs.iter().map(|f| &f.0))
        .find(|(a, b)| a != b);
    (!first.whole_traces && (ours.len() != theirs.len() || differ.is_some())).then(|| {
        let first_differing = differ.map_or_else(String::new, |(a, b)| {
            format!(": {} where shard 0 read {}", b.display(), a.display())
        });
        format!(
            "{} span files, shard 0 with {}{first_differing}",
            theirs.len(),
            ours.len()
        )
    })
}

/// Add one partial's counts, skips, outcomes and calls; `file_of` gives a
/// call's span file its number in the merge, `settle` is given the calls
/// read, a batch at a time. The hash its calls had, read and checked.
fn absorb(
    dir: &Path,
    meta: &Meta,
    (interner, intake): (&mut Interner, &mut Intake),
    resolved: &mut Resolved,
    (file_of, settle): (impl Fn(u32) -> Option<u32>, &mut Settle),
) -> Result<Sha> {
    let whole = meta.whole_traces;
    intake.counts.spans += meta.spans;
    resolved.traces += meta.traces;
    resolved.orphan_spans += meta.orphan_spans;
    resolved.duplicate_spans += meta.duplicate_spans;
    resolved.wrapper_spans += meta.wrapper_spans;
    resolved.ids_not_calls += meta.ids_not_calls;
    intake.skips.absorb(&meta.skipped, &[]);
    if meta.shard.index == 0 || whole {
        intake
            .skipped_files
            .extend(meta.skipped_span_files.iter().cloned());
    }
    for (trace, outcome) in &meta.outcomes {
        let trace = hex(trace, 32, dir, "outcomes")?;
        resolved.outcomes.insert(trace, interner.intern(outcome));
    }
    let shared = &mut resolved.shared_agents;
    read_calls(dir, (interner, shared), (file_of, settle))
}

/// The partials' first skipped records in the order one run meets them
/// ([`Met`]); records one run meets at one place keep their shard's order.
fn first_skips_in_order(metas: &[(&PathBuf, Meta)], renumber: &[Vec<u32>]) -> Vec<String> {
    let mut found = Vec::new();
    for (_, meta) in metas {
        let places = &renumber[meta.shard.index as usize];
        // A partition's records are named by its source under
        // --whole-traces, as the merge names the file.
        let sources = meta.span_file_sources.iter().map(Option::as_deref);
        let sources = sources.filter(|_| meta.whole_traces);
        let names: Vec<(String, u32)> = (meta.span_files.iter().zip(places))
            .zip(sources.chain(std::iter::repeat(None)))
            .map(|(((path, _, _), place), source)| {
                let name = source.map_or_else(|| path.display().to_string(), str::to_string);
                (name, *place)
            })
            .collect();
        for message in &meta.skipped_first {
            found.push((Met::of(message, &names), found.len(), message.clone()));
        }
    }
    found.sort_unstable();
    found.into_iter().map(|(_, _, message)| message).collect()
}

/// Where one run meets a skipped record: reading, by the place of the span
/// file its message names (`NAME:LINE: `) and the line; then resolving the
/// trees, by trace hash and id, as one run resolves them (a tree's message
/// goes on `trace ID: `); a message naming no file last.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Met {
    Reading(u32, u64),
    Resolving(u64, u128),
    Elsewhere,
}

impl Met {
    fn of(message: &str, names: &[(String, u32)]) -> Met {
        let named = |(name, place): &(String, u32)| {
            let rest = message.strip_prefix(name.as_str())?.strip_prefix(':')?;
            let (line, rest) = rest.split_once(": ")?;
            Some((*place, line.parse().ok()?, rest))
        };
        let Some((place, line, rest)) = names.iter().find_map(named) else {
            return Met::Elsewhere;
        };
        let tree = rest.strip_prefix("trace ").and_then(|r| r.split_once(": "));
        match tree.and_then(|(id, _)| parse_hex_id(id, 32)) {
            Some(trace) => Met::Resolving(crate::hash::trace_hash(trace), trace),
            None => Met::Reading(place, line),
        }
    }
}

/// A merge without `--lenient` stops where one run would: on a partial
/// whose shard skipped bad records or links to nothing under `--lenient`
/// (files of other kinds are passed over, noted, in any run).
fn lenient_only_if_lenient(dir: &Path, meta: &Meta, lenient: bool) -> Result<()> {
    let records: u64 = meta.skipped.values().sum();
    let files = (meta.skipped_span_files.iter())
        .filter(|f| f.why == crate::read::DANGLING)
        .count();
    if lenient || (records == 0 && files == 0) {
        return Ok(());
    }
    let first =
        (meta.skipped_first.first()).map_or_else(String::new, |m| format!(", the first: {m}"));
    Err(Error::fatal(format!(
        "{}: its shard ran with --lenient and skipped {records} record(s) and {files} \
         file(s){first}; one run without --lenient would stop there: merge with --lenient, \
         or mend the input and run the shard again",
        dir.display()
    )))
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
/// number in the merge; `settle` is given the calls read, [`BATCH`] at a
/// time, then the last. The hash the file had, read and checked.
fn read_calls(
    dir: &Path,
    (interner, shared): (&mut Interner, &mut SharedAgents),
    (file_of, settle): (impl Fn(u32) -> Option<u32>, &mut Settle),
) -> Result<Sha> {
    let mut calls = Vec::with_capacity(BATCH);
    let sha = each_call(dir, |mut c, at| {
        let (trace_id, span_id) = span_of(&c, dir)?;
        let info = info_of(&mut c, interner);
        let mut intern = |name: Option<String>| name.map(|n| interner.intern(&n));
        calls.push(Call {
            trace_id,
            span_id,
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
                agents: shared.shared(&Agents::of(c.agents.into_iter().rev().map(&mut intern))),
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
        if calls.len() == BATCH {
            settle(std::mem::replace(&mut calls, Vec::with_capacity(BATCH)));
        }
        Ok(())
    })?;
    settle(calls);
    Ok(sha)
}

/// What is done with each batch of calls read ([`Settler::settle`]).
type Settle<'a> = dyn FnMut(Vec<Call>) + 'a;

/// The calls read, a batch at a time, looked up among the billed records,
/// those that found theirs releasing their span facts: with two threads or
/// more, each batch on a thread of its own while the next is read (reading
/// is serial), then added in order.
struct Settler<'scope, 'env, 'r> {
    scope: &'scope std::thread::Scope<'scope, 'env>,
    index: &'env IdIndex<'r>,
    threads: usize,
    calls: Vec<Call>,
    found: Found,
    pending: Option<std::thread::ScopedJoinHandle<'scope, (Vec<Call>, Found)>>,
}

impl<'scope, 'env, 'r> Settler<'scope, 'env, 'r> {
    fn new(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        index: &'env IdIndex<'r>,
        threads: usize,
    ) -> Self {
        let (calls, found, pending) = (Vec::new(), Found::default(), None);
        Settler {
            scope,
            index,
            threads,
            calls,
            found,
            pending,
        }
    }

    /// Look `batch` up (on a thread of its own, with two threads or more),
    /// after adding the batch before it.
    fn settle(&mut self, mut batch: Vec<Call>) {
        self.add_pending();
        let (index, threads) = (self.index, self.threads);
        if threads > 1 {
            self.pending = Some(self.scope.spawn(move || {
                let found = index.look_up_releasing(&mut batch, threads - 1);
                (batch, found)
            }));
        } else {
            let found = index.look_up_releasing(&mut batch, 1);
            self.calls.extend(batch);
            self.found.extend(found);
        }
    }

    /// Add the batch looked up on another thread, if any.
    fn add_pending(&mut self) {
        if let Some(pending) = self.pending.take() {
            let (batch, found) = pending.join().expect("a look-up thread");
            self.calls.extend(batch);
            self.found.extend(found);
        }
    }

    /// Every call settled, in the order read, with its record found.
    fn finish(mut self) -> (Vec<Call>, Found) {
        self.add_pending();
        (self.calls, self.found)
    }
}

/// How many calls read are looked up at once: two batches' calls and
/// span facts are held beside the month's (the merge of the
/// 1,000,000-run month's 8 shards peaked 11 MiB higher with 65,536, for no
/// time its runs show).
const BATCH: usize = 1 << 14;

/// `each` on every call line of the partial in `dir` (with its
/// `file:line`), its file checked against the partial's manifest: the hash
/// it had.
fn each_call(dir: &Path, mut each: impl FnMut(PartialCall, &str) -> Result<()>) -> Result<Sha> {
    let path = dir.join("calls.jsonl");
    let mut reader = std::io::BufReader::new(Checked::open(dir, "calls.jsonl", WRITER)?);
    for (n, line) in (&mut reader).lines().enumerate() {
        let line = line.map_err(|e| Error::io(&path, e))?;
        let at = format!("{}:{}", path.display(), n + 1);
        let c: PartialCall = serde_json::from_str(&line)
            .map_err(|e| Error::fatal(format!("{at}: not a partial call line: {e}")))?;
        each(c, &at)?;
    }
    reader.get_ref().verify()?;
    Ok(reader.get_ref().sha().clone())
}

/// A partial call line's trace and span ids.
fn span_of(c: &PartialCall, dir: &Path) -> Result<(u128, u64)> {
    let trace = hex(&c.trace, 32, dir, "trace")?;
    Ok((trace, hex(&c.span, 16, dir, "span")? as u64))
}

/// What a partial call line says of its span.
fn info_of(c: &mut PartialCall, interner: &mut Interner) -> CallInfo {
    CallInfo {
        join_key: c.join_key.take().map(Into::into),
        name: interner.intern(&c.name),
        model: c.model.as_deref().map(|m| interner.intern(m)),
        input_tokens: c.input_tokens,
        output_tokens: c.output_tokens,
        reasoning_tokens: c.reasoning_tokens,
        start_ns: c.start_ns,
        step: c.own_step,
    }
}

/// The partials' `calls.jsonl`, read again, in turn until every call
/// wanted is found, for the span facts of the calls that released them and
/// that the join lists unbilled: each file must have the hash it had when
/// the merge first read it.
#[derive(Debug)]
struct PartialCalls {
    read: Vec<(PathBuf, Sha)>,
}

impl Reread for PartialCalls {
    fn restore(&mut self, wanted: &mut Wanted, interner: &mut Interner) -> Result<()> {
        for (dir, first) in &self.read {
            if wanted.is_empty() {
                break;
            }
            let sha = each_call(dir, |mut c, _| {
                let (trace, span) = span_of(&c, dir)?;
                if let Some(call) = wanted.take(trace, span) {
                    call.info = Some(Box::new(info_of(&mut c, interner)));
                }
                Ok(())
            })?;
            if sha != *first {
                return Err(Error::fatal(format!(
                    "{}: its calls changed during the merge (SHA-256 {sha}, {first} when \
                     first read): rerun the merge once its shards are done",
                    dir.join("calls.jsonl").display()
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::join::tests::{record, split};

    #[test]
    fn calls_looked_up_a_batch_at_a_time_find_what_one_look_up_finds() {
        let mut interner = Interner::default();
        let (records, ids) =
            split((0..10).map(|i| record(&mut interner, format!("req-{i}"), None)));
        let name = interner.intern("chat");
        let calls: Vec<Call> = (0..20u64)
            .map(|i| Call {
                trace_id: u128::from(i % 7),
                span_id: i + 1,
                info: Some(Box::new(CallInfo {
                    join_key: (i % 5 != 4).then(|| format!("req-{}", i * 3 % 17).into()),
                    name,
                    model: None,
                    input_tokens: None,
                    output_tokens: None,
                    reasoning_tokens: None,
                    start_ns: 0,
                    step: None,
                })),
                dims: Dims::default(),
                step: 1,
                origin: Origin { file: 0, line: i },
            })
            .collect();
        let index = IdIndex::new((&records, &ids), 1);
        let want = index.look_up(&calls, 1);
        assert!(want.iter().any(|f| f.is_some()) && want.iter().any(|f| f.is_none()));
        for threads in 1..=3 {
            let (got, found) = std::thread::scope(|scope| {
                let mut settler = Settler::new(scope, &index, threads);
                for batch in calls.chunks(3) {
                    settler.settle(batch.to_vec());
                }
                settler.finish()
            });
            assert_eq!(found, want, "{threads} threads");
            let spans: Vec<u64> = got.iter().map(|c| c.span_id).collect();
            assert_eq!(spans, (1..=20).collect::<Vec<_>>());
            for (call, found) in got.iter().zip(found.iter()) {
                assert_eq!(call.info.is_none(), found.is_some(), "released iff found");
            }
        }
    }
}
