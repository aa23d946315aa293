//! The span-file driver: a file is OTLP JSON ([`super::otlp`]: JSON lines
//! or one document) or flat one-span-per-line JSONL ([`super::flat`]), told
//! apart by its first line, cut into blocks of lines parsed in parallel and
//! merged back in file order. Both dialects reduce spans through
//! [`super::span`].

use std::io::{BufRead, Read};
use std::path::Path;

use super::span::AttrKeys;
use crate::error::{Error, Result, Skips};
use crate::intern::Interner;
use crate::model::{Origin, Span};

/// The span dialect of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// OTLP JSON (`resourceSpans`, or Tempo's `batches`).
    Otlp,
    /// One flat span object per line.
    Flat,
    /// One Jaeger JSON document.
    Jaeger,
}

impl Dialect {
    /// The name shown in the summary.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Otlp => "otlp-json",
            Dialect::Flat => "flat-jsonl",
            Dialect::Jaeger => "jaeger-json",
        }
    }

    /// The dialect called `name` (as [`Dialect::name`] writes it).
    pub fn from_name(name: &str) -> Option<Dialect> {
        [Dialect::Otlp, Dialect::Flat, Dialect::Jaeger]
            .into_iter()
            .find(|d| d.name() == name)
    }

    /// The dialect of a file whose first line is `line`.
    fn of(line: &str) -> Dialect {
        let otlp = [
            "\"resourceSpans\"",
            "\"batches\"",
            "\"resourceLogs\"",
            "\"resourceMetrics\"",
        ];
        let flat = ["\"context\"", "\"trace_id\"", "\"span_id\""];
        if super::jaeger::is_jaeger(line) {
            Dialect::Jaeger
        } else if !otlp.iter().any(|k| line.contains(k)) && flat.iter().any(|k| line.contains(k)) {
            Dialect::Flat
        } else {
            Dialect::Otlp
        }
    }

    fn parse_line(
        self,
        text: &str,
        origin: Origin,
        keys: &AttrKeys,
        interner: &mut Interner,
        sink: &mut dyn FnMut(Span),
    ) -> std::result::Result<u64, (&'static str, String)> {
        match self {
            Dialect::Otlp => super::otlp::parse_line(text, origin, keys, interner, sink),
            Dialect::Flat => super::flat::parse_line(text, origin, keys, interner, sink),
            Dialect::Jaeger => super::jaeger::parse_document(text, origin, keys, interner, sink)
                .map_err(|m| ("bad-json", m)),
        }
    }
}

/// Bytes of span lines one thread parses at a time.
const BLOCK: usize = 8 << 20;

/// What one thread made of a block of lines.
struct Parsed {
    spans: Vec<Span>,
    interner: Interner,
    errors: Vec<Error>,
}

/// Parse the lines of `block`, the first being line `first_line`.
fn parse_block(
    block: &[u8],
    first_line: u64,
    dialect: Dialect,
    path: &Path,
    file: u32,
    keys: &AttrKeys,
) -> Parsed {
    let mut parsed = Parsed {
        spans: Vec::new(),
        interner: Interner::default(),
        errors: Vec::new(),
    };
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\n', block).chain(std::iter::once(block.len()));
    for (i, end) in ends.enumerate() {
        let line = &block[start..end];
        start = end + 1;
        let line_no = first_line + i as u64;
        let text = match std::str::from_utf8(line) {
            Ok(text) => text.trim(),
            Err(e) => {
                let message = format!("invalid UTF-8 at byte {}", e.valid_up_to());
                parsed
                    .errors
                    .push(Error::record(path, line_no, "invalid-utf8", message));
                continue;
            }
        };
        if text.is_empty() {
            continue;
        }
        let origin = Origin {
            file,
            line: line_no,
        };
        let sink = &mut |s| parsed.spans.push(s);
        if let Err((kind, message)) =
            dialect.parse_line(text, origin, keys, &mut parsed.interner, sink)
        {
            parsed
                .errors
                .push(Error::record(path, line_no, kind, message));
        }
    }
    parsed
}

/// A file that is one pretty-printed document: OTLP JSON (or Tempo's API
/// shape), or Jaeger JSON.
fn read_document(
    path: &Path,
    file: u32,
    keys: &AttrKeys,
    interner: &mut Interner,
    reader: impl BufRead,
    head: Vec<u8>,
    sink: &mut dyn FnMut(Span),
) -> Result<(u64, Dialect)> {
    let text = super::span::rest_of(path, reader, head)?;
    if super::jaeger::is_jaeger(&text) {
        let origin = Origin { file, line: 1 };
        let spans = super::jaeger::parse_document(&text, origin, keys, interner, sink)
            .map_err(|m| Error::fatal(format!("{}: {m}", path.display())))?;
        return Ok((spans, Dialect::Jaeger));
    }
    let spans = super::otlp::read_document(path, file, keys, interner, text, sink)?;
    Ok((spans, Dialect::Otlp))
}

/// Read every span of one file, passing each to `sink` in file order.
/// Lines are parsed `threads` blocks at a time, in parallel; the result is
/// the same whatever the number of threads. Returns the number of spans
/// passed on (under a shard, its spans only) and the file's dialect.
pub fn read_file(
    path: &Path,
    file: u32,
    keys: &AttrKeys,
    threads: usize,
    interner: &mut Interner,
    skips: &mut Skips,
    sink: &mut dyn FnMut(Span),
) -> Result<(u64, Dialect)> {
    let io = |e| Error::io(path, e);
    let mut reader = super::open(path)?;
    // The first non-empty line tells the dialect, or that the file is one
    // JSON document.
    let mut head = Vec::new();
    let mut line_no = 0u64;
    let dialect = loop {
        let start = head.len();
        if reader.read_until(b'\n', &mut head).map_err(io)? == 0 {
            return Err(super::empty(path));
        }
        line_no += 1;
        let Ok(text) = std::str::from_utf8(&head[start..]).map(str::trim) else {
            break Dialect::Otlp;
        };
        if text.is_empty() {
            continue;
        }
        match serde_json::from_str::<serde::de::IgnoredAny>(text) {
            // The first line does not close a JSON value: one OTLP document per file.
            Err(e) if e.is_eof() => {
                return read_document(path, file, keys, interner, reader, head, sink);
            }
            // Not JSON at all (a CSV, a log): not a span file. A broken JSON
            // object is a bad record like any other.
            Err(e) if e.is_syntax() && !text.starts_with('{') => {
                return Err(Error::fatal(format!(
                    "{}:{line_no}: not a span file (expected a JSON object per line, or one JSON document): {e}",
                    path.display()
                )));
            }
            _ => break Dialect::of(text),
        }
    };
    // Block buffers are reused: fresh 8 MB allocations for every block
    // would be faulted in page by page, over and over.
    let mut spare: Vec<Vec<u8>> = Vec::new();
    let mut carry = head;
    let mut next_line = 1u64;
    let mut spans = 0u64;
    let mut done = false;
    while !done {
        // Up to `threads` blocks, each cut after its last newline; what
        // follows the cut starts the next block.
        let mut blocks: Vec<(u64, Vec<u8>)> = Vec::new();
        while blocks.len() < threads.max(1) && !done {
            let mut block = spare
                .pop()
                .unwrap_or_else(|| Vec::with_capacity(BLOCK + (1 << 16)));
            block.extend_from_slice(&carry);
            carry.clear();
            let want = BLOCK.saturating_sub(block.len()) as u64;
            let got = (&mut reader)
                .take(want)
                .read_to_end(&mut block)
                .map_err(io)?;
            done = (got as u64) < want;
            if !done {
                match memchr::memrchr(b'\n', &block) {
                    Some(end) => {
                        carry.extend_from_slice(&block[end + 1..]);
                        block.truncate(end + 1);
                    }
                    // A line longer than a block: read to its end.
                    None => done = reader.read_until(b'\n', &mut block).map_err(io)? == 0,
                }
            }
            if block.is_empty() {
                spare.push(block);
                continue;
            }
            let lines = memchr::memchr_iter(b'\n', &block).count() as u64;
            blocks.push((next_line, block));
            next_line += lines;
        }
        let parsed: Vec<Parsed> = if blocks.len() == 1 {
            vec![parse_block(
                &blocks[0].1,
                blocks[0].0,
                dialect,
                path,
                file,
                keys,
            )]
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = blocks
                    .iter()
                    .map(|(first, block)| {
                        scope.spawn(move || parse_block(block, *first, dialect, path, file, keys))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("a parser thread does not panic"))
                    .collect()
            })
        };
        spare.extend(blocks.into_iter().map(|(_, mut block)| {
            block.clear();
            block
        }));
        for block in parsed {
            let map = interner.absorb(block.interner);
            spans += block.spans.len() as u64;
            for mut span in block.spans {
                span.remap(&map);
                sink(span);
            }
            for error in block.errors {
                skips.handle(error)?;
            }
        }
    }
    Ok((spans, dialect))
}
