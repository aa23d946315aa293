//! Stages 1–2 for spans: read every span file (in parallel blocks, in file
//! order) and resolve the trace trees. Under `--shard`, only the shard's
//! traces are kept; under `--shard --whole-traces`, every span read is, the
//! files holding that shard's traces only.

use std::path::{Path, PathBuf};

use super::intake::{describe, Intake};
use super::Timings;
use crate::error::{Error, Result};
use crate::intern::Interner;
use crate::join::IdIndex;
use crate::manifest::Sha;
use crate::model::Billed;
use crate::model::Shard;
use crate::model::Span;
use crate::read::span::AttrKeys;
use crate::read::span_keys::SpanKeys;
use crate::read::spans::{PartEnd, PartOf, Reading};
use crate::read::Fingerprint;
use crate::read::{self, InputFile, InputKind};
use crate::spill::{self, Gather, LookUp};
use crate::tree::{Call, Resolved};

use super::config::SpanConfig;

/// Read the span files (only `config.keys.shard`'s traces, if set),
/// adding them to `intake`'s inputs, counts and skips, and resolve the
/// trees. Given the billed `records` (not under `--shard`, whose partial
/// lists every call's facts), a spilled month looks each range's calls up
/// among them as it is resolved ([`Gather::resolve`]).
pub fn read(
    config: &SpanConfig,
    (interner, records): (&mut Interner, Option<Billed<'_>>),
    intake: &mut Intake,
    timings: &mut Timings,
) -> Result<Resolved> {
    // Whole traces of one shard: no filter.
    let whole = config.keys.shard.filter(|_| config.whole_traces);
    let keys = AttrKeys {
        shard: config.keys.shard.filter(|_| whole.is_none()),
        ..config.keys.clone()
    };
    // Every shard reads every line and meets the same malformed ones: the
    // first shard alone counts them. Shards of whole traces read lines of
    // their own.
    let skips_before = keys
        .shard
        .is_some_and(|shard| shard.index != 0)
        .then(|| intake.skips.clone());
    let walked = read::expand(
        &config.paths,
        &[".json", ".jsonl"],
        intake.skips.is_lenient(),
    )?;
    intake.skipped_files.extend(walked.skipped);
    let span_files = match whole {
        Some(_) => read::spans::in_source_order(walked.files),
        None => walked.files,
    };
    let mut forest = Gather::new(
        config.memory_limit,
        spill::json_bytes(&span_files),
        config.progress,
    );
    let mut progress = Progress::new(&span_files, config.progress);
    let mut calls = 0u64;
    for path in span_files {
        let mut sink = |s: Span| {
            progress.span(&path);
            calls += u64::from(s.call.is_some());
            forest.insert(s)
        };
        let how = (&keys, config.threads, config.keys.shard, whole);
        let input = read_file(&path, how, interner, intake, &mut sink)?;
        progress.file_done(&path);
        forest.check()?;
        intake.counts.spans += input.records;
        intake.inputs.push(input);
    }
    progress.finish();
    if calls == 0 {
        no_calls_notes(&intake.inputs);
    }
    if let Some(skips) = skips_before {
        intake.skips = skips;
    }
    timings.phase("read spans");
    let mut index = None;
    let mut look_up = records.map(|records| {
        move |calls: &mut [Call]| {
            let index = index.get_or_insert_with(|| IdIndex::new(records, config.threads));
            index.look_up_releasing(calls, config.threads)
        }
    });
    let look_up = look_up.as_mut().map(|f| f as &mut LookUp);
    let how = (config.threads, whole.is_some(), look_up);
    let mut resolved = resolve(forest, how, intake)?;
    if records.is_some() {
        // Only a shard's partial lists the trace ids seen (16 bytes a
        // trace, a million in a large month).
        resolved.trace_ids = Vec::new();
    }
    timings.phase("resolve trees");
    Ok(resolved)
}

/// How span files are read: the keys, the threads, the run's shard, and
/// the same when its files hold its whole traces only.
type How<'k> = (&'k AttrKeys, usize, Option<Shard>, Option<Shard>);

/// Read one span file into `sink`: the input it was, with its spans and
/// skips and (under a shard) what it read.
fn read_file(
    path: &Path,
    (keys, threads, shard, whole): How,
    interner: &mut Interner,
    intake: &mut Intake,
    sink: &mut (dyn FnMut(Span) + Send),
) -> Result<InputFile> {
    let file = intake.inputs.len() as u32;
    let skipped_before = intake.skips.total();
    // A shard takes each file's size and hash, for merge to check every
    // shard read the same bytes; of a partition file, the hash of its body
    // too, to check against its trailer's.
    // (Standard input or a pipe is read once: its trailer is read after.)
    let regular = whole.is_some() && read::spans::is_regular(path);
    let end = regular.then(|| PartEnd::of(path)).transpose()?.flatten();
    let fingerprint = shard.map(|_| match end.as_ref().and_then(|e| e.part_bytes) {
        Some(body) => Fingerprint::marked_at(body),
        None => Fingerprint::default(),
    });
    let reading = Reading {
        keys,
        threads,
        fingerprint: fingerprint.as_ref(),
        by_source: whole.is_some(),
    };
    // Under --shard, `spans` counts this shard's spans only.
    let read = read::spans::read_file(path, file, &reading, interner, &mut intake.skips, sink)?;
    let fingerprint = match (whole, &read.part_of) {
        (Some(shard), Some(part)) => {
            let spans = read.spans + read.bad_spans;
            let end = match end {
                Some(end) => Some(end),
                None => PartEnd::of(path)?,
            };
            let length_and_body = fingerprint.as_ref().map(|f| (f.get().0, f.at_mark()));
            Some(check_partition(
                path,
                (shard, part),
                end,
                spans,
                length_and_body,
            )?)
        }
        _ => fingerprint.map(|f| f.get()),
    };
    Ok(InputFile {
        path: path.to_path_buf(),
        kind: InputKind::Spans,
        format: read.dialect.name(),
        records: read.spans,
        skipped: intake.skips.total() - skipped_before,
        part_of: read.part_of,
        fingerprint,
    })
}

/// Resolve the gathered spans' trees. A partition (`whole`) keeps its
/// source's line numbers: tree errors name the source's file and line, as
/// one run over the sources would.
fn resolve(
    forest: Gather,
    (threads, whole, look_up): (usize, bool, Option<&mut LookUp>),
    intake: &mut Intake,
) -> Result<Resolved> {
    if !whole {
        let describe = describe(&intake.inputs);
        return forest.resolve(threads, describe, &mut intake.skips, look_up);
    }
    let named: Vec<InputFile> = intake
        .inputs
        .iter()
        .map(|input| InputFile {
            path: input
                .part_of
                .as_ref()
                .map_or_else(|| input.path.clone(), |p| PathBuf::from(&p.source)),
            ..input.clone()
        })
        .collect();
    forest.resolve(threads, describe(&named), &mut intake.skips, look_up)
}

/// Not one inference call in any file: name each span file that held spans.
fn no_calls_notes(inputs: &[InputFile]) {
    let with_spans = inputs
        .iter()
        .filter(|i| i.kind == InputKind::Spans && i.records > 0);
    for input in with_spans {
        no_calls_note(&input.path);
    }
}

/// A partition read by its own shard: it must be that shard's, as written
/// (its last line, `end`, gives its body's length and SHA-256, checked
/// against what was read, `length_and_body`: the file's length and the
/// hash of its bytes before the trailer) and whole (the line counts the
/// spans read, those refused alone under `--lenient` too: `partition`
/// checks lines and ids, the reader a call's token counts). The size and
/// hash of the source it was cut from, for `merge`.
fn check_partition(
    path: &Path,
    (shard, part): (Shard, &PartOf),
    end: Option<PartEnd>,
    spans: u64,
    length_and_body: Option<(u64, Option<Sha>)>,
) -> Result<(u64, Sha)> {
    if (part.index, part.count) != (shard.index, shard.count) {
        return Err(Error::fatal(format!(
            "{}: holds the traces of partition {}/{} (of {}), but this run is --shard {}/{}: \
             give each shard its own partition directory",
            path.display(),
            part.index,
            part.count,
            part.source,
            shard.index,
            shard.count
        )));
    }
    let changed = |end: &PartEnd| {
        let (Some(body), Some(sha)) = (end.part_bytes, &end.part_sha256) else {
            return false; // an older tokenledger's trailer: the spans are counted
        };
        let whole = body + end.line().len() as u64;
        length_and_body.is_none_or(|(len, body)| len != whole || body.as_ref() != Some(sha))
    };
    match end {
        Some(end) if changed(&end) => Err(Error::fatal(format!(
            "{}: not the bytes partition wrote (its length or SHA-256 differs from its last \
             line's): the file changed after it was cut; partition the source again",
            path.display()
        ))),
        Some(end) if end.spans == spans => Ok((end.source_bytes, end.source_sha256)),
        Some(end) => Err(Error::fatal(format!(
            "{}: {spans} spans read, but partition wrote {}: the file changed after it was cut",
            path.display(),
            end.spans
        ))),
        None => Err(Error::fatal(format!(
            "{}: no last line from `tokenledger partition` (cut short, or cut by an older \
             tokenledger): partition the source again",
            path.display()
        ))),
    }
}

/// Say on stderr (even under `--quiet`: the run joins nothing) that a span
/// file held spans but no inference call, with the attribute keys its first
/// spans carry.
fn no_calls_note(path: &Path) {
    let keys = SpanKeys::sample(&[path.to_path_buf()]);
    let seen: Vec<&str> = keys.all.iter().map(String::as_str).take(30).collect();
    crate::stderr_line!(
        "tokenledger: note: {}: spans but no inference call (no gen_ai.operation.name chat/text_completion/\
         generate_content/embeddings, no known span kind, no model with input and output token counts); \
         keys seen: {}",
        crate::terminal::escape(&path.display().to_string()),
        if seen.is_empty() { "none".to_string() } else { seen.join(", ") }
    );
}

/// A progress line on stderr while span files are read, only when stderr
/// is a terminal (never in pipes, logs or with `--quiet`): the file, its
/// share of the bytes, and the spans read so far, redrawn in place.
pub struct Progress {
    on: bool,
    bytes_total: u64,
    bytes_done: u64,
    spans: u64,
    shown_at: std::time::Instant,
}

impl Progress {
    /// Progress over `files`, shown when `wanted` and stderr is a terminal.
    pub fn new(files: &[PathBuf], wanted: bool) -> Progress {
        use std::io::IsTerminal;
        let on = wanted && std::io::stderr().is_terminal();
        let bytes_total = if on {
            files
                .iter()
                .filter_map(|f| std::fs::metadata(f).ok())
                .map(|m| m.len())
                .sum()
        } else {
            0
        };
        Progress {
            on,
            bytes_total,
            bytes_done: 0,
            spans: 0,
            shown_at: std::time::Instant::now(),
        }
    }

    /// One more span read; the line is redrawn at most ten times a second.
    pub fn span(&mut self, file: &Path) {
        self.spans += 1;
        if self.on && self.spans.is_multiple_of(4096) && self.shown_at.elapsed().as_millis() >= 100
        {
            self.show(file);
        }
    }

    /// A file read to its end.
    pub fn file_done(&mut self, file: &Path) {
        if self.on {
            self.bytes_done += std::fs::metadata(file).map_or(0, |m| m.len());
            self.show(file);
        }
    }

    fn show(&mut self, file: &Path) {
        let pct = (self.bytes_done * 100)
            .checked_div(self.bytes_total)
            .unwrap_or(0);
        crate::stderr_text!(
            "\r\x1b[2Ktokenledger: reading spans: {pct:>3} % of {} MB, {} spans ({})",
            self.bytes_total / 1_000_000,
            self.spans,
            crate::terminal::escape(&file.display().to_string())
        );
        self.shown_at = std::time::Instant::now();
    }

    /// Clear the line once reading is over.
    pub fn finish(&self) {
        if self.on {
            crate::stderr_text!("\r\x1b[2K");
        }
    }
}
