//! Span state spilled to disk, for months whose spans do not fit the memory
//! limit (`--memory-limit`). Spans are gathered in memory until they take a
//! quarter of the limit; from then on each span, reduced to what
//! attribution needs, is written in a compact binary form to one of N
//! temporary files by the range its trace's hash falls in (the spans held
//! so far first). Then each file is read back and its traces resolved in
//! turn, so memory holds one range's spans at a time (and, with two
//! threads or more, the next file's bytes, read on a second thread
//! meanwhile). Deciding on the spans actually held, not on file sizes,
//! covers compressed files and standard input alike.
//!
//! The ranges follow [`trace_hash`] order, and [`Forest::resolve`] takes
//! traces in that order too, so a spilled run reports the same first error,
//! the same skipped examples and the same calls as one in memory. The
//! files live in a new directory under the system's temporary directory
//! (`TMPDIR`), readable by the owner only, removed when the spill is
//! dropped (after resolving, or on an error). A run killed by a signal
//! leaves its directory behind; the next spilling run removes the
//! directories whose lock file no run holds.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result, Skips};
use crate::hash::trace_hash;
use crate::intern::Sym;
use crate::model::{CallInfo, Origin, Role, Span};
use crate::owner::{abandoned, OwnerLock};
use crate::tree::{Forest, Resolved};

/// The in-memory state of one span waiting for its trace (measured: about
/// 280 bytes with its share of the forest's maps and vectors).
const SPAN_STATE: u64 = 280;

/// How many bytes of span JSON make a byte of span state, at least, in the
/// months measured (5 with message contents, 2 without).
const JSON_PER_STATE_BYTE: u64 = 2;

/// How many bytes of JSON a byte of gzip or zstd span file holds, about.
const COMPRESSION: u64 = 10;

/// At most this many ranges, each an open file: within the 256 open files
/// a process may have by default on macOS (1,024 on Linux).
const MAX_PARTS: u64 = 200;

/// The prefix of spill directories under `TMPDIR`.
const DIR_PREFIX: &str = "tokenledger-spill-";

/// A size for people: whole GiB, MiB or KiB where it is one, else bytes.
pub fn size(bytes: u64) -> String {
    let unit = [(40, "T"), (30, "G"), (20, "M"), (10, "K")]
        .into_iter()
        .find(|&(shift, _)| bytes >= 1 << shift && bytes.is_multiple_of(1 << shift));
    match unit {
        Some((shift, name)) => format!("{}{name}", bytes >> shift),
        None => format!("{bytes} bytes"),
    }
}

/// The span JSON in `files`, estimated from their sizes (compressed files
/// count [`COMPRESSION`] times theirs); `None` when a size is unknown
/// (standard input, a pipe).
pub fn json_bytes(files: &[PathBuf]) -> Option<u64> {
    files.iter().try_fold(0u64, |sum, file| {
        let meta = std::fs::metadata(file).ok().filter(|m| m.is_file())?;
        let name = file.to_string_lossy();
        let compressed = name.ends_with(".gz") || name.ends_with(".zst");
        let factor = if compressed { COMPRESSION } else { 1 };
        Some(sum.saturating_add(meta.len().saturating_mul(factor)))
    })
}

/// Where the spans read go until their traces are resolved: memory, until
/// they take a quarter of the limit, then the ranges' files.
pub struct Gather {
    /// The span state memory may hold: a quarter of the limit (the rest
    /// holds the usage records, the calls and the outputs).
    budget: u64,
    limit: u64,
    /// The span JSON to be read, estimated (`None`: unknown).
    json_bytes: Option<u64>,
    /// Say on stderr when the spans spill.
    announce: bool,
    state: State,
    /// A failure to spill, reported by [`Gather::check`] (the span
    /// reader's sink cannot fail).
    error: Option<Error>,
}

enum State {
    InMemory { forest: Forest, spans: u64 },
    Spilled(Spill),
}

impl Gather {
    /// Spans in memory under `limit` bytes; `json_bytes` (from
    /// [`json_bytes`]) decides how many ranges a spill takes.
    pub fn new(limit: u64, json_bytes: Option<u64>, announce: bool) -> Gather {
        Gather {
            budget: (limit / 4).max(1),
            limit,
            json_bytes,
            announce,
            state: State::InMemory {
                forest: Forest::default(),
                spans: 0,
            },
            error: None,
        }
    }

    /// Add one span, spilling the spans held so far when they pass the
    /// budget.
    pub fn insert(&mut self, span: Span) {
        match &mut self.state {
            State::Spilled(spill) => spill.insert(&span),
            State::InMemory { forest, spans } => {
                forest.insert(span);
                *spans += 1;
                if *spans * SPAN_STATE > self.budget && self.error.is_none() {
                    self.spill();
                }
            }
        }
    }

    /// Move the spans held so far into a new spill.
    fn spill(&mut self) {
        let State::InMemory { spans, .. } = &self.state else {
            return;
        };
        let parts = self.parts(*spans * SPAN_STATE);
        let mut spill = match Spill::new(parts) {
            Ok(spill) => spill,
            Err(e) => {
                self.error = Some(e);
                return;
            }
        };
        if self.announce {
            eprintln!(
                "tokenledger: note: the spans read so far take over a quarter of --memory-limit {}: \
                 spilling their traces into {parts} temporary files under {} (TMPDIR), resolved one at a time",
                size(self.limit),
                crate::terminal::escape(&std::env::temp_dir().display().to_string())
            );
        }
        let empty = State::InMemory {
            forest: Forest::default(),
            spans: 0,
        };
        let held = std::mem::replace(&mut self.state, empty);
        if let State::InMemory { forest, .. } = held {
            for span in forest.into_spans() {
                spill.insert(&span);
            }
        }
        self.state = State::Spilled(spill);
    }

    /// How many ranges: enough for one range to fit the budget, by the
    /// larger of the estimated input and twice what is held now; the most
    /// when the input's size is unknown.
    fn parts(&self, held: u64) -> u32 {
        let state = match self.json_bytes {
            Some(bytes) => (bytes / JSON_PER_STATE_BYTE).max(held * 2),
            None => u64::MAX,
        };
        state.div_ceil(self.budget).clamp(2, MAX_PARTS) as u32
    }

    /// The failure to spill, if any: checked after each span file, so a
    /// full disk stops the run early.
    pub fn check(&mut self) -> Result<()> {
        if let State::Spilled(spill) = &mut self.state {
            if let Some(e) = spill.error.take() {
                self.error.get_or_insert(e);
            }
        }
        self.error.take().map_or(Ok(()), Err)
    }

    /// Resolve every trace (see [`Forest::resolve`]).
    pub fn resolve(
        mut self,
        threads: usize,
        describe: impl Fn(Origin) -> String + Sync,
        skips: &mut Skips,
    ) -> Result<Resolved> {
        self.check()?;
        match self.state {
            State::InMemory { forest, .. } => forest.resolve(threads, describe, skips),
            State::Spilled(spill) => {
                let resolved = spill.resolve(threads, describe, skips)?;
                Ok(Resolved {
                    memory_tight: true,
                    ..resolved
                })
            }
        }
    }
}

/// Spans being written to their ranges' files.
struct Spill {
    dir: TempDir,
    files: Vec<BufWriter<File>>,
    /// The first write error, taken by [`Gather::check`].
    error: Option<Error>,
    encoded: Vec<u8>,
}

impl Spill {
    /// A spill into `parts` ranges, in a new directory under `TMPDIR`.
    fn new(parts: u32) -> Result<Spill> {
        let dir = TempDir::new()?;
        let files = (0..parts)
            .map(|i| {
                let path = dir.part(i);
                File::create(&path)
                    .map(|f| BufWriter::with_capacity(1 << 14, f))
                    .map_err(|e| Error::io(&path, e))
            })
            .collect::<Result<_>>()?;
        Ok(Spill {
            dir,
            files,
            error: None,
            encoded: Vec::with_capacity(256),
        })
    }

    /// Write one span to its range's file.
    fn insert(&mut self, span: &Span) {
        if self.error.is_some() {
            return;
        }
        self.encoded.clear();
        encode(span, &mut self.encoded);
        let part = range_of(span.trace_id, self.files.len());
        if let Err(e) = self.files[part].write_all(&self.encoded) {
            self.error = Some(Error::fatal(format!(
                "{}: {e}: spilling spans failed (is TMPDIR full? point it at a larger disk, \
                 or raise --memory-limit)",
                self.dir.part(part as u32).display()
            )));
        }
    }

    /// Read each range back and resolve its traces, as
    /// [`Forest::resolve`] would all of them.
    fn resolve(
        mut self,
        threads: usize,
        describe: impl Fn(Origin) -> String + Sync,
        skips: &mut Skips,
    ) -> Result<Resolved> {
        let files = std::mem::take(&mut self.files);
        let parts = files.len() as u32;
        for (i, file) in files.into_iter().enumerate() {
            file.into_inner()
                .map_err(|e| Error::io(&self.dir.part(i as u32), e.into_error()))?;
        }
        let paths: Vec<PathBuf> = (0..parts).map(|i| self.dir.part(i)).collect();
        let mut all = Resolved::default();
        let mut resolve_range = |bytes: Vec<u8>| {
            let mut forest = Forest::default();
            let mut rest = bytes.as_slice();
            while !rest.is_empty() {
                forest.insert(decode(&mut rest));
            }
            drop(bytes);
            all.absorb(forest.resolve_unsorted(threads, &describe, skips)?);
            Ok(())
        };
        if threads > 1 {
            read_ahead(&paths, resolve_range)?;
        } else {
            paths
                .iter()
                .try_for_each(|path| resolve_range(read_back(path)?))?;
        }
        all.sort_calls();
        Ok(all)
    }
}

/// `each` on every file's bytes in turn, the next file read on a second
/// thread meanwhile (reading is a third of the work, and serial).
fn read_ahead(paths: &[PathBuf], mut each: impl FnMut(Vec<u8>) -> Result<()>) -> Result<()> {
    std::thread::scope(|scope| {
        let mut next = paths.first().map(|p| scope.spawn(move || read_back(p)));
        for i in 0..paths.len() {
            let bytes = next
                .take()
                .expect("a read")
                .join()
                .expect("a reading thread")?;
            next = paths.get(i + 1).map(|p| scope.spawn(move || read_back(p)));
            each(bytes)?;
        }
        Ok(())
    })
}

/// The bytes of one spill file (the file removed).
fn read_back(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    std::fs::remove_file(path).map_err(|e| Error::io(path, e))?;
    Ok(bytes)
}

/// The range of `parts` that a trace's hash falls in: ranges in hash order.
fn range_of(trace: u128, parts: usize) -> usize {
    ((u128::from(trace_hash(trace)) * parts as u128) >> 64) as usize
}

/// A directory of spill files, removed with everything in it when dropped;
/// a lock file beside it, held while it exists, tells it from a killed
/// run's leftover ([`crate::owner`]).
struct TempDir {
    path: PathBuf,
    lock: Option<OwnerLock>,
}

impl TempDir {
    /// A new directory under `TMPDIR`, readable by its owner only (spans
    /// carry ids and names), after removing those of runs that were killed.
    fn new() -> Result<TempDir> {
        use std::os::unix::fs::DirBuilderExt;
        let base = std::env::temp_dir();
        remove_abandoned(&base);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let path = base.join(format!("{DIR_PREFIX}{}-{nanos}", std::process::id()));
        let lock = OwnerLock::acquire(lock_of(&path))?;
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(|e| Error::io(&path, e))?;
        Ok(TempDir {
            path,
            lock: Some(lock),
        })
    }

    fn part(&self, i: u32) -> PathBuf {
        self.path.join(format!("part-{i:05}.bin"))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
        drop(self.lock.take());
    }
}

/// The lock file of a spill directory.
fn lock_of(dir: &Path) -> PathBuf {
    let mut name = dir.as_os_str().to_os_string();
    name.push(".lock");
    PathBuf::from(name)
}

/// Remove the spill directories under `base` of runs that ended without
/// removing them (killed by a signal): those whose lock nobody holds,
/// whatever process ids say (a run in another PID namespace shares
/// `TMPDIR` but not its ids).
fn remove_abandoned(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str().filter(|n| n.starts_with(DIR_PREFIX)) else {
            continue;
        };
        let path = entry.path();
        match name.strip_suffix(".lock") {
            // A lock whose directory is gone: its own leftover.
            Some(dir) if !base.join(dir).exists() && abandoned(&path) => {
                let _ = std::fs::remove_file(&path);
            }
            Some(_) => {}
            None if abandoned(&lock_of(&path)) => {
                let _ = std::fs::remove_dir_all(&path);
                let _ = std::fs::remove_file(lock_of(&path));
            }
            None => {}
        }
    }
}

const ROLES: [Role; 5] = [
    Role::Agent,
    Role::Tool,
    Role::Call,
    Role::Other,
    Role::IdOnly,
];

/// Append `span`'s binary form to `out`: fixed-width little-endian fields,
/// symbols as their integers, optional counts behind a bit set.
fn encode(span: &Span, out: &mut Vec<u8>) {
    out.extend_from_slice(&span.trace_id.to_le_bytes());
    out.extend_from_slice(&span.span_id.to_le_bytes());
    out.extend_from_slice(&span.parent_id.to_le_bytes());
    let role = ROLES.iter().position(|&r| r == span.role).expect("a role") as u8;
    out.push(role);
    for sym in [span.agent, span.tool, span.feature, span.outcome] {
        out.extend_from_slice(&Sym::to_raw(sym).to_le_bytes());
    }
    let (rank, tenant) = span.tenant.map_or((0, None), |(r, t)| (r + 1, Some(t)));
    out.push(rank);
    out.extend_from_slice(&Sym::to_raw(tenant).to_le_bytes());
    out.extend_from_slice(&span.origin.file.to_le_bytes());
    out.extend_from_slice(&span.origin.line.to_le_bytes());
    match &span.call {
        None => out.push(0),
        Some(call) => {
            out.push(1);
            encode_call(call, out);
        }
    }
}

fn encode_call(call: &CallInfo, out: &mut Vec<u8>) {
    let counts = [call.input_tokens, call.output_tokens, call.reasoning_tokens];
    let mut present = 0u8;
    for (bit, count) in counts.iter().enumerate() {
        present |= u8::from(count.is_some()) << bit;
    }
    present |= u8::from(call.step.is_some()) << 3;
    present |= u8::from(call.join_key.is_some()) << 4;
    out.push(present);
    out.extend_from_slice(&Sym::to_raw(Some(call.name)).to_le_bytes());
    out.extend_from_slice(&Sym::to_raw(call.model).to_le_bytes());
    for count in counts.into_iter().flatten() {
        out.extend_from_slice(&count.to_le_bytes());
    }
    out.extend_from_slice(&call.start_ns.to_le_bytes());
    if let Some(step) = call.step {
        out.extend_from_slice(&step.to_le_bytes());
    }
    if let Some(key) = &call.join_key {
        out.extend_from_slice(&(key.len() as u32).to_le_bytes());
        out.extend_from_slice(key.as_bytes());
    }
}

/// Take `N` bytes off the front of `bytes`.
fn take<const N: usize>(bytes: &mut &[u8]) -> [u8; N] {
    let (head, rest) = bytes.split_at(N);
    *bytes = rest;
    head.try_into().expect("N bytes")
}

fn u32_of(bytes: &mut &[u8]) -> u32 {
    u32::from_le_bytes(take(bytes))
}

fn u64_of(bytes: &mut &[u8]) -> u64 {
    u64::from_le_bytes(take(bytes))
}

/// Read back one span [`encode`] wrote at the front of `bytes`.
fn decode(bytes: &mut &[u8]) -> Span {
    let trace_id = u128::from_le_bytes(take(bytes));
    let span_id = u64_of(bytes);
    let parent_id = u64_of(bytes);
    let role = ROLES[usize::from(take::<1>(bytes)[0])];
    let [agent, tool, feature, outcome] = [(); 4].map(|()| Sym::from_raw(u32_of(bytes)));
    let rank = take::<1>(bytes)[0];
    let tenant = Sym::from_raw(u32_of(bytes)).map(|t| (rank.wrapping_sub(1), t));
    let origin = Origin {
        file: u32_of(bytes),
        line: u64_of(bytes),
    };
    let call = (take::<1>(bytes)[0] == 1).then(|| Box::new(decode_call(bytes)));
    Span {
        trace_id,
        span_id,
        parent_id,
        role,
        agent,
        tool,
        tenant,
        feature,
        outcome,
        call,
        origin,
    }
}

fn decode_call(bytes: &mut &[u8]) -> CallInfo {
    let present = take::<1>(bytes)[0];
    let has = |bit: u8| present & (1 << bit) != 0;
    let name = Sym::from_raw(u32_of(bytes)).expect("a call's name");
    let model = Sym::from_raw(u32_of(bytes));
    let [input_tokens, output_tokens, reasoning_tokens] =
        [0, 1, 2].map(|bit| has(bit).then(|| u64_of(bytes)));
    let start_ns = u64_of(bytes);
    let step = has(3).then(|| u32_of(bytes));
    let join_key = has(4).then(|| {
        let len = u32_of(bytes) as usize;
        let (key, rest) = bytes.split_at(len);
        *bytes = rest;
        Box::from(std::str::from_utf8(key).expect("a key spilled as UTF-8"))
    });
    CallInfo {
        join_key,
        name,
        model,
        input_tokens,
        output_tokens,
        reasoning_tokens,
        start_ns,
        step,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intern::Interner;

    fn span(interner: &mut Interner, trace_id: u128, call: bool) -> Span {
        Span {
            trace_id,
            span_id: 7,
            parent_id: 3,
            role: if call { Role::Call } else { Role::Tool },
            agent: None,
            tool: Some(interner.intern("search")),
            tenant: Some((0, interner.intern("acme"))),
            feature: None,
            outcome: Some(interner.intern("ok")),
            call: call.then(|| {
                Box::new(CallInfo {
                    join_key: Some("resp_é1".into()),
                    name: interner.intern("chat"),
                    model: Some(interner.intern("gpt-4o")),
                    input_tokens: Some(12),
                    output_tokens: None,
                    reasoning_tokens: Some(3),
                    start_ns: 99,
                    step: Some(2),
                })
            }),
            origin: Origin { file: 4, line: 123 },
        }
    }

    #[test]
    fn a_span_reads_back_as_written() {
        let mut interner = Interner::default();
        let spans = [
            span(&mut interner, 1 << 100, true),
            span(&mut interner, 5, false),
        ];
        let mut bytes = Vec::new();
        for s in &spans {
            encode(s, &mut bytes);
        }
        let mut rest = bytes.as_slice();
        assert_eq!(decode(&mut rest), spans[0]);
        assert_eq!(decode(&mut rest), spans[1]);
        assert!(rest.is_empty());
    }

    #[test]
    fn ranges_follow_hash_order() {
        let traces: Vec<u128> = (0..1000u128).map(|t| t * 0x9e37_79b9).collect();
        for pair in traces.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if trace_hash(a) <= trace_hash(b) {
                assert!(range_of(a, 7) <= range_of(b, 7));
            }
        }
        // Enough ranges for a quarter of the limit each, by the larger of
        // the estimate and twice what is held; the most when unknown.
        let gather = |bytes| Gather::new(1000, bytes, false);
        assert_eq!(gather(Some(20_000)).parts(100), 40);
        assert_eq!(gather(Some(20_000)).parts(9_000), 72);
        assert_eq!(gather(Some(10)).parts(100), 2);
        assert_eq!(gather(None).parts(100), MAX_PARTS as u32);
    }
}
