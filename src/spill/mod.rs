//! Span state spilled to disk, for months whose spans do not fit the memory
//! limit (`--memory-limit`). Spans are gathered in memory until they take a
//! sixth of the limit; from then on each span, reduced to what
//! attribution needs, is written in a compact binary form to one of N
//! temporary files by the range its trace's hash falls in (the spans held
//! so far first). Then each file is read back and its traces resolved in
//! turn, so memory holds one range's spans at a time (and, with two
//! threads or more, the next range's, read and decoded on a thread of its
//! own meanwhile: ranges are sized so the two fit, [`RANGE_SHARE`]).
//! Deciding on the spans actually held, not on file sizes,
//! covers compressed files and standard input alike.
//!
//! The ranges follow [`trace_hash`] order, and [`Forest::resolve`] takes
//! traces in that order too, so a spilled run reports the same first error,
//! the same skipped examples and the same calls as one in memory. The
//! files live in a new directory under the system's temporary directory
//! (`TMPDIR`), readable by the owner only, removed when the spill is
//! dropped: after resolving, or, where `report` looks each range's calls
//! up as it is resolved, once the join is over (a call listed unbilled may
//! take its span facts back from its range's file: `kept.rs`), or on an
//! error. A run killed by a signal leaves its directory behind; the next
//! spilling run removes those named as a spill directory is, whose lock
//! file is there and held by no run, and which hold spill files only.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

mod codec;
mod kept;

use codec::{decode, encode};

use crate::error::{Error, Result, Skips};
use crate::hash::trace_hash;
use crate::model::{Origin, Span};
use crate::owner::{abandoned, is_unique_suffix, unique_suffix, OwnerLock};
use crate::tree::{Call, Forest, Found, Resolved};

/// The in-memory state of one span waiting for its trace (measured: about
/// 280 bytes with its share of the forest's maps and vectors).
const SPAN_STATE: u64 = 280;

/// How many bytes of span JSON make a byte of span state, at least, in the
/// months measured (5 with message contents, 2 without).
const JSON_PER_STATE_BYTE: u64 = 2;

/// How many bytes of JSON a byte of gzip or zstd span file holds, about.
const COMPRESSION: u64 = 10;

/// The span state may take one part in this many of `--memory-limit`
/// (the rest holds the usage records, the calls and the outputs): a sixth,
/// not a quarter, took the 1,000,000-run month's peak under `1G` from
/// 1,174 to 1,148 MiB, the ranges' freed spans leaving less room behind in
/// the allocator for every later phase, at no cost in time its runs show;
/// an eighth took no more off.
const SPAN_SHARE: u64 = 6;

/// A range's spans take at most one part in this many of the span state's
/// share: with two threads or more, a range is read and decoded while the
/// one before it is resolved and its calls looked up, and the two are held
/// together while the one gives up its spans as the other's are decoded.
/// A third took the 1,000,000-run month's time to resolve its trees about
/// 1 s lower, its peak under `1G` from 1,046 to 1,057 MiB (a half: 1,069).
const RANGE_SHARE: u64 = 3;

/// At most this many ranges, each an open file: within the 256 open files
/// a process may have by default on macOS (1,024 on Linux).
const MAX_PARTS: u64 = 200;

/// The open files a process needs besides its ranges' (inputs read on
/// each thread, the output being written, the standard streams).
const OTHER_FILES: u64 = 32;

/// How many ranges the open-file limit allows (at least 2): the soft limit
/// is first raised towards the hard one where it is below what
/// [`MAX_PARTS`] ranges need (a shell's `ulimit -n 128`), as a process may.
#[allow(clippy::unnecessary_cast)] // rlim_t is not u64 everywhere
fn open_files_for_parts() -> u32 {
    let wanted = MAX_PARTS + OTHER_FILES;
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes only the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return MAX_PARTS as u32;
    }
    let (mut soft, hard) = (limit.rlim_cur as u64, limit.rlim_max as u64);
    if soft < wanted && hard > soft {
        let raised = libc::rlimit {
            rlim_cur: hard.min(wanted) as libc::rlim_t,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit reads only the struct it is given.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            soft = raised.rlim_cur as u64;
        }
    }
    soft.saturating_sub(OTHER_FILES).clamp(2, MAX_PARTS) as u32
}

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
/// they take a sixth of the limit ([`SPAN_SHARE`]), then the ranges' files.
pub struct Gather {
    /// The span state memory may hold: a sixth of the limit.
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
            budget: (limit / SPAN_SHARE).max(1),
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
        let wanted = self.parts(*spans * SPAN_STATE);
        let parts = wanted.min(open_files_for_parts());
        crate::shrink::give_back_large_blocks();
        let mut spill = match Spill::new(parts) {
            Ok(spill) => spill,
            Err(e) => {
                self.error = Some(e);
                return;
            }
        };
        if self.announce {
            crate::stderr_line!(
                "tokenledger: note: the spans read so far take over a sixth of --memory-limit {}: \
                 spilling their traces into {parts} temporary files under {} (TMPDIR), resolved one at a time{}",
                size(self.limit),
                crate::terminal::escape(&std::env::temp_dir().display().to_string()),
                match parts < wanted {
                    true => format!(" ({wanted} wanted: the open-file limit allows no more, so a range may take more memory)"),
                    false => String::new(),
                }
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

    /// How many ranges: enough for one range to fit its share of the
    /// budget ([`RANGE_SHARE`]), by the larger of the estimated input and
    /// twice what is held now; the most when the input's size is unknown.
    fn parts(&self, held: u64) -> u32 {
        let state = match self.json_bytes {
            Some(bytes) => (bytes / JSON_PER_STATE_BYTE).max(held * 2),
            None => u64::MAX,
        };
        state
            .div_ceil((self.budget / RANGE_SHARE).max(1))
            .clamp(2, MAX_PARTS) as u32
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

    /// Resolve every trace (see [`Forest::resolve`]). Where the spans
    /// spilled, `look_up` (if given) finds each range's calls' records as
    /// the range is resolved, and the calls that found one release their
    /// span facts at once ([`Resolved::found`]); the range files are then
    /// kept until the join ([`Resolved::reread`]).
    pub fn resolve(
        mut self,
        threads: usize,
        describe: impl Fn(Origin) -> String + Sync,
        skips: &mut Skips,
        look_up: Option<&mut LookUp>,
    ) -> Result<Resolved> {
        self.check()?;
        match self.state {
            State::InMemory { forest, .. } => forest.resolve(threads, describe, skips),
            State::Spilled(spill) => {
                let resolved = spill.resolve(threads, (describe, look_up), skips)?;
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
    /// The spans written that are inference calls (at most the calls
    /// resolved: the room their vector takes at once).
    calls: usize,
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
            calls: 0,
        })
    }

    /// Write one span to its range's file.
    fn insert(&mut self, span: &Span) {
        if self.error.is_some() {
            return;
        }
        self.encoded.clear();
        encode(span, &mut self.encoded);
        self.calls += usize::from(span.call.is_some());
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
    /// [`Forest::resolve`] would all of them (see [`Gather::resolve`] for
    /// `look_up`). With two threads or more, the next range's file is read
    /// and its spans decoded on a thread of their own meanwhile, while
    /// this range's traces are resolved and its calls looked up on others.
    fn resolve(
        mut self,
        threads: usize,
        (describe, mut look_up): (impl Fn(Origin) -> String + Sync, Option<&mut LookUp>),
        skips: &mut Skips,
    ) -> Result<Resolved> {
        let files = std::mem::take(&mut self.files);
        let parts = files.len() as u32;
        for (i, file) in files.into_iter().enumerate() {
            file.into_inner()
                .map_err(|e| Error::io(&self.dir.part(i as u32), e.into_error()))?;
        }
        let keep = look_up.is_some();
        let paths = (0..parts).map(|i| self.dir.part(i)).collect();
        let mut reads = Reads::new(paths, keep, threads > 1);
        let mut all = Resolved {
            calls: Vec::with_capacity(self.calls),
            ..Resolved::default()
        };
        let mut found_all = Found::with_capacity(if keep { self.calls } else { 0 });
        while let Some(forest) = reads.next_forest()? {
            let start = all.calls.len();
            forest.resolve_into(threads, &describe, skips, &mut all)?;
            if let Some(look_up) = look_up.as_mut() {
                found_all.extend(look_up(&mut all.calls[start..]));
            }
        }
        all.found = keep.then_some(found_all);
        all.sort_calls();
        if keep {
            all.reread = Some(Box::new(kept::Kept::new(self.dir, parts)));
        }
        Ok(all)
    }
}

/// Finds the record of each of a range's calls, and releases the span
/// facts of those that found one (the join's id index,
/// `IdIndex::look_up_releasing`).
pub type LookUp<'a> = dyn FnMut(&mut [Call]) -> Found + Send + 'a;

/// The range files' spans, in turn: with `ahead`, each next file read and
/// decoded on a thread of its own from when the one before is taken
/// (reading and decoding are a third of the work, and serial; the range
/// taken gives its spans up as its traces are resolved, so the two are
/// held about once between them).
struct Reads {
    paths: std::vec::IntoIter<PathBuf>,
    keep: bool,
    /// `None`: each file read when asked for; else the read in flight, if
    /// any file is left.
    ahead: Option<Option<std::thread::JoinHandle<Result<Forest>>>>,
}

impl Drop for Reads {
    /// A read still in flight (the run stopped on an error) is waited
    /// for: the spill directory is removed only after it.
    fn drop(&mut self) {
        if let Some(Some(read)) = self.ahead.take() {
            let _ = read.join();
        }
    }
}

impl Reads {
    fn new(paths: Vec<PathBuf>, keep: bool, ahead: bool) -> Reads {
        let mut reads = Reads {
            paths: paths.into_iter(),
            keep,
            ahead: ahead.then_some(None),
        };
        reads.read_ahead();
        reads
    }

    fn read_ahead(&mut self) {
        if let Some(slot) = self.ahead.as_mut() {
            let keep = self.keep;
            *slot = (self.paths.next()).map(|p| std::thread::spawn(move || read_forest(&p, keep)));
        }
    }

    /// The next file's spans, in a forest.
    fn next_forest(&mut self) -> Result<Option<Forest>> {
        let forest = match self.ahead.as_mut() {
            None => self.paths.next().map(|p| read_forest(&p, self.keep)),
            Some(slot) => {
                let read = slot.take().map(|h| h.join().expect("a reading thread"));
                self.read_ahead();
                read
            }
        };
        forest.transpose()
    }
}

/// The spans of one spill file (the file removed, unless kept).
fn read_forest(path: &Path, keep: bool) -> Result<Forest> {
    Ok(forest_of(&read_back(path, keep)?, |_| true))
}

/// The spans of one range file's `bytes` whose trace is `wanted`.
fn forest_of(bytes: &[u8], wanted: impl Fn(u128) -> bool) -> Forest {
    let mut forest = Forest::default();
    let mut rest = bytes;
    while !rest.is_empty() {
        let span = decode(&mut rest);
        if wanted(span.trace_id) {
            forest.insert(span);
        }
    }
    forest
}

/// The bytes of one spill file (the file removed, unless kept).
fn read_back(path: &Path, keep: bool) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if !keep {
        std::fs::remove_file(path).map_err(|e| Error::io(path, e))?;
    }
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
        let path = base.join(format!("{DIR_PREFIX}{}", unique_suffix()));
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
        let Some(name) = name.to_str() else {
            continue;
        };
        let path = entry.path();
        match name.strip_suffix(".lock") {
            // A lock whose directory is gone: its own leftover.
            Some(dir) if is_spill_name(dir) && !base.join(dir).exists() && abandoned(&path) => {
                let _ = std::fs::remove_file(&path);
            }
            Some(_) => {}
            None if is_spill_name(name) && abandoned(&lock_of(&path)) && only_parts(&path) => {
                let _ = std::fs::remove_dir_all(&path);
                let _ = std::fs::remove_file(lock_of(&path));
            }
            None => {}
        }
    }
}

/// Whether `name` is a spill directory's: the prefix, a process id and
/// nanoseconds.
fn is_spill_name(name: &str) -> bool {
    name.strip_prefix(DIR_PREFIX).is_some_and(is_unique_suffix)
}

/// Whether the directory holds spill files only (`part-NNNNN.bin`, plain
/// files): anything else in it is not tokenledger's to remove.
fn only_parts(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().all(|entry| {
        let name = entry.file_name();
        let name = name.to_str().unwrap_or("");
        entry.file_type().is_ok_and(|t| t.is_file())
            && name.starts_with("part-")
            && name.ends_with(".bin")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_hash_order() {
        let traces: Vec<u128> = (0..1000u128).map(|t| t * 0x9e37_79b9).collect();
        for pair in traces.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if trace_hash(a) <= trace_hash(b) {
                assert!(range_of(a, 7) <= range_of(b, 7));
            }
        }
        // Enough ranges for a third of a sixth of the limit each (166 of
        // 3,000 bytes), by the larger of the estimate and twice what is
        // held; the most when unknown.
        let gather = |bytes| Gather::new(3000, bytes, false);
        assert_eq!(gather(Some(20_000)).parts(100), 61);
        assert_eq!(gather(Some(20_000)).parts(9_000), 109);
        assert_eq!(gather(Some(10)).parts(100), 2);
        assert_eq!(gather(None).parts(100), MAX_PARTS as u32);
        // A limit of a few bytes: ranges of one byte, the most of them.
        assert_eq!(
            Gather::new(12, Some(20_000), false).parts(100),
            MAX_PARTS as u32
        );
    }
}
