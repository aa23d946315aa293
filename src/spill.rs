//! Span state spilled to disk, for months whose spans do not fit the memory
//! limit (`--memory-limit`): each span, reduced to what attribution needs,
//! is written in a compact binary form to one of N temporary files by the
//! range its trace's hash falls in; then each file is read back and its
//! traces resolved in turn. Memory holds one range's spans at a time.
//!
//! The ranges follow [`trace_hash`] order, and [`Forest::resolve`] takes
//! traces in that order too, so a spilled run reports the same first error,
//! the same skipped examples and the same calls as one in memory. The
//! files live in a fresh directory under the system's temporary directory
//! (`TMPDIR`), removed when the spill is dropped: on success, on error, on
//! a panic.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use crate::error::{Error, Result, Skips};
use crate::hash::trace_hash;
use crate::intern::Sym;
use crate::model::{CallInfo, Origin, Role, Span};
use crate::tree::{Forest, Resolved};

/// How many bytes of in-memory span state a byte of span JSON makes, at
/// most, in the months measured (about 0.2 with message contents, up to 0.5
/// without): what decides whether and how finely to spill.
const STATE_PER_JSON_BYTE: f64 = 0.5;

/// The share of the memory limit the spans of one range may take; the rest
/// holds the usage records, the calls and the outputs.
const SPAN_SHARE: f64 = 0.25;

/// At most this many ranges (open files) in one run.
const MAX_PARTS: u64 = 1024;

/// How many ranges `span_bytes` of span JSON need under `limit` bytes of
/// memory: `None` when they fit in memory whole.
pub fn parts_needed(span_bytes: u64, limit: u64) -> Option<u32> {
    let state = span_bytes as f64 * STATE_PER_JSON_BYTE;
    let budget = (limit as f64 * SPAN_SHARE).max(1.0);
    if state <= budget {
        return None;
    }
    let parts = (state / budget).ceil() as u64;
    Some(parts.clamp(2, MAX_PARTS) as u32)
}

/// A size for people: whole GiB, MiB or KiB where it is one, else bytes.
pub fn size(bytes: u64) -> String {
    let unit = [(40, "T"), (30, "G"), (20, "M"), (10, "K")]
        .into_iter()
        .find(|&(shift, _)| bytes >= 1 << shift && bytes % (1 << shift) == 0);
    match unit {
        Some((shift, name)) => format!("{}{name}", bytes >> shift),
        None => format!("{bytes} bytes"),
    }
}

/// A file size for people, in decimal units (467 MB, 4.9 GB).
pub fn file_size(bytes: u64) -> String {
    match bytes {
        0..=999 => format!("{bytes} bytes"),
        1_000..=999_999 => format!("{} KB", bytes / 1_000),
        1_000_000..=999_999_999 => format!("{} MB", bytes / 1_000_000),
        _ => format!("{:.1} GB", bytes as f64 / 1e9),
    }
}

/// Where the spans read go until their traces are resolved: memory, or
/// the ranges' files.
pub enum Gather {
    /// Every trace in memory.
    InMemory(Forest),
    /// Spilled by trace-hash range.
    Spilled(Spill),
}

impl Gather {
    /// In memory, or spilled into `parts` ranges.
    pub fn new(parts: Option<u32>) -> Result<Gather> {
        Ok(match parts {
            None => Gather::InMemory(Forest::default()),
            Some(parts) => Gather::Spilled(Spill::new(parts)?),
        })
    }

    /// Add one span.
    pub fn insert(&mut self, span: Span) {
        match self {
            Gather::InMemory(forest) => forest.insert(span),
            Gather::Spilled(spill) => spill.insert(&span),
        }
    }

    /// Resolve every trace (see [`Forest::resolve`]).
    pub fn resolve(
        self,
        describe: impl Fn(Origin) -> String,
        skips: &mut Skips,
    ) -> Result<Resolved> {
        match self {
            Gather::InMemory(forest) => forest.resolve(describe, skips),
            Gather::Spilled(spill) => spill.resolve(describe, skips),
        }
    }
}

/// Spans being written to their ranges' files.
pub struct Spill {
    dir: TempDir,
    files: Vec<BufWriter<File>>,
    /// The first write error, reported by [`Spill::resolve`] (the span
    /// reader's sink cannot fail).
    error: Option<std::io::Error>,
    encoded: Vec<u8>,
}

impl Spill {
    /// A spill into `parts` ranges, in a new directory under `TMPDIR`.
    pub fn new(parts: u32) -> Result<Spill> {
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
    pub fn insert(&mut self, span: &Span) {
        if self.error.is_some() {
            return;
        }
        self.encoded.clear();
        encode(span, &mut self.encoded);
        let part = range_of(span.trace_id, self.files.len());
        if let Err(e) = self.files[part].write_all(&self.encoded) {
            self.error = Some(e);
        }
    }

    /// Read each range back and resolve its traces, as
    /// [`Forest::resolve`] would all of them.
    pub fn resolve(
        mut self,
        describe: impl Fn(Origin) -> String,
        skips: &mut Skips,
    ) -> Result<Resolved> {
        if let Some(e) = self.error.take() {
            return Err(Error::io(&self.dir.path, e));
        }
        let files = std::mem::take(&mut self.files);
        let parts = files.len() as u32;
        for (i, file) in files.into_iter().enumerate() {
            file.into_inner()
                .map_err(|e| Error::io(&self.dir.part(i as u32), e.into_error()))?;
        }
        let mut all = Resolved::default();
        for i in 0..parts {
            let path = self.dir.part(i);
            let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
            let mut forest = Forest::default();
            let mut rest = bytes.as_slice();
            while !rest.is_empty() {
                forest.insert(decode(&mut rest));
            }
            drop(bytes);
            let part = forest.resolve(&describe, skips)?;
            all.absorb(part);
        }
        all.calls.sort_unstable_by_key(|c| (c.trace_id, c.span_id));
        all.calls.shrink_to_fit();
        Ok(all)
    }
}

/// The range of `parts` that a trace's hash falls in: ranges in hash order.
fn range_of(trace: u128, parts: usize) -> usize {
    ((u128::from(trace_hash(trace)) * parts as u128) >> 64) as usize
}

/// A directory of spill files, removed with everything in it when dropped.
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn new() -> Result<TempDir> {
        let base = std::env::temp_dir();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let path = base.join(format!("tokenledger-spill-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&path).map_err(|e| Error::io(&path, e))?;
        Ok(TempDir { path })
    }

    fn part(&self, i: u32) -> PathBuf {
        self.path.join(format!("part-{i:05}.bin"))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

const ROLES: [Role; 4] = [Role::Agent, Role::Tool, Role::Call, Role::Other];

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
        assert_eq!(parts_needed(100, 1000), None);
        assert_eq!(parts_needed(10_000, 1000), Some(20));
    }
}
