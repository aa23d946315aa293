//! The span-file driver: a file is OTLP JSON ([`super::otlp`]: JSON lines
//! or one document), Jaeger's JSON ([`super::jaeger`]) or flat
//! one-span-per-line JSONL ([`super::flat`]), told apart by its first line,
//! cut into blocks of lines parsed in parallel and merged back in file
//! order. Every dialect reduces spans through
//! [`super::span`]. A file written by `tokenledger partition` says on its
//! first line which file it was cut from and whose traces it holds
//! ([`PartOf`]).

use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

use super::blocks::Blocks;
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
        let flat = ["\"context\"", "\"trace_id\"", "\"span_id\"", "\"traceId\""];
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
        (sink, bad): (&mut dyn FnMut(Span), &mut dyn FnMut(String)),
    ) -> std::result::Result<u64, (&'static str, String)> {
        match self {
            Dialect::Otlp => super::otlp::parse_line(text, origin, keys, interner, (sink, bad)),
            Dialect::Flat => super::flat::parse_line(text, origin, keys, interner, sink),
            Dialect::Jaeger => super::jaeger::parse_document(text, origin, keys, interner, sink)
                .map_err(|m| ("bad-json", m)),
        }
    }
}

/// What one thread made of a block of lines.
struct Parsed {
    spans: Vec<Span>,
    interner: Interner,
    errors: Vec<Error>,
    /// Spans refused alone (their line's others read on).
    bad_spans: u64,
}

/// The file a span file's errors name: for its bad spans, and for its
/// lines the reader refuses (the same but for a partition's file).
#[derive(Clone, Copy)]
struct Names<'a> {
    spans: &'a Path,
    lines: &'a Path,
}

/// Parse the lines of `block`, the first being line `first_line`.
fn parse_block(
    block: &[u8],
    first_line: u64,
    dialect: Dialect,
    names: Names,
    file: u32,
    keys: &AttrKeys,
) -> Parsed {
    let mut parsed = Parsed {
        spans: Vec::new(),
        interner: Interner::default(),
        errors: Vec::new(),
        bad_spans: 0,
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
                    .push(Error::record(names.lines, line_no, "invalid-utf8", message));
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
        let mut bad_spans = Vec::new();
        let bad = &mut |message| bad_spans.push(message);
        let read = dialect.parse_line(text, origin, keys, &mut parsed.interner, (sink, bad));
        let record = |path, (kind, message)| Error::record(path, line_no, kind, message);
        parsed.bad_spans += bad_spans.len() as u64;
        let bad_spans = bad_spans.into_iter().map(|m| ("bad-span", m));
        parsed
            .errors
            .extend(bad_spans.map(|bad| record(names.spans, bad)));
        if let Err(problem) = read {
            parsed.errors.push(record(names.lines, problem));
        }
    }
    parsed
}

/// A file that is one pretty-printed document: OTLP JSON (or Tempo's API
/// shape), or Jaeger JSON.
fn read_document(
    path: &Path,
    (file, text): (u32, String),
    keys: &AttrKeys,
    interner: &mut Interner,
    skips: &mut Skips,
    sink: &mut dyn FnMut(Span),
) -> Result<(u64, Dialect)> {
    if super::jaeger::is_jaeger(&text) {
        let origin = Origin { file, line: 1 };
        let spans = super::jaeger::parse_document(&text, origin, keys, interner, sink)
            .map_err(|m| Error::fatal(format!("{}: {m}", path.display())))?;
        return Ok((spans, Dialect::Jaeger));
    }
    let spans = super::otlp::read_document(path, (file, text), keys, interner, skips, sink)?;
    Ok((spans, Dialect::Otlp))
}

/// The top-level key of the object `tokenledger partition` adds to the
/// first line of every file it writes, beside that line's spans. Readers
/// that do not know it ignore it, as any unknown OTLP key.
pub const PARTITION_KEY: &str = "tokenledgerPartition";

/// The key of the last line `tokenledger partition` writes in every file
/// ([`PartEnd`]); readers ignore it as any unknown OTLP key.
pub const PARTITION_END_KEY: &str = "tokenledgerPartitionEnd";

/// What the last line of a file written by `tokenledger partition` says:
/// the source file as it was cut (its size and SHA-256) and the spans the
/// partition got of it, and the part's own bytes. A shard checks it read
/// the part as written and every span of it; `merge` checks every
/// partition of a source was cut from the same bytes.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PartEnd {
    /// The source file's size in bytes.
    pub source_bytes: u64,
    /// Its SHA-256.
    pub source_sha256: String,
    /// The spans this partition holds.
    pub spans: u64,
    /// The partition file's bytes before this trailer (none from an older
    /// tokenledger): a rerun replaces a part only if it is still that long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_bytes: Option<u64>,
    /// The SHA-256 of those bytes (none from an older tokenledger): a shard
    /// reads a part only as partition wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_sha256: Option<String>,
}

impl PartEnd {
    /// The trailer line as written at the end of a partition file.
    pub fn line(&self) -> String {
        let json = serde_json::to_string(self).expect("a trailer serialises");
        format!("{{\"{PARTITION_END_KEY}\":{json},\"resourceSpans\":[]}}\n")
    }

    /// The trailer of the partition file at `path`: its last line.
    pub fn of(path: &Path) -> Result<Option<PartEnd>> {
        use std::io::{Seek, SeekFrom};
        let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let from = len.saturating_sub(4096);
        file.seek(SeekFrom::Start(from))
            .map_err(|e| Error::io(path, e))?;
        let mut tail = Vec::new();
        file.read_to_end(&mut tail)
            .map_err(|e| Error::io(path, e))?;
        let text = String::from_utf8_lossy(&tail);
        let Some(last) = text.trim_end().rsplit('\n').next() else {
            return Ok(None);
        };
        #[derive(serde::Deserialize)]
        struct Tail {
            #[serde(rename = "tokenledgerPartitionEnd")]
            end: PartEnd,
        }
        Ok(serde_json::from_str::<Tail>(last).ok().map(|t| t.end))
    }
}

/// What the first line of a file written by `tokenledger partition` says
/// (under [`PARTITION_KEY`]): the span file it was cut from, and the shard
/// whose traces it holds. The file keeps the source's line numbers.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PartOf {
    /// The span file the spans were read from, as `partition` named it.
    pub source: String,
    /// The shard whose traces the file holds (0-based).
    pub index: u32,
    /// How many partitions the source was cut into.
    pub count: u32,
    /// The source's absolute path with every link resolved: two files
    /// typed alike from two directories are told apart by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

impl PartOf {
    /// The header of a file whose first line is `text`: `None` when the line
    /// has no [`PARTITION_KEY`] (or is not JSON: the reader reports that).
    fn of(path: &Path, text: &str) -> Result<Option<PartOf>> {
        if !text.contains(PARTITION_KEY) {
            return Ok(None);
        }
        #[derive(serde::Deserialize)]
        struct Head<'a> {
            #[serde(borrow, rename = "tokenledgerPartition")]
            part: Option<&'a serde_json::value::RawValue>,
        }
        let Ok(Head { part: Some(raw) }) = serde_json::from_str::<Head>(text) else {
            return Ok(None);
        };
        serde_json::from_str(raw.get()).map(Some).map_err(|e| {
            Error::fatal(format!(
                "{}:1: \"{PARTITION_KEY}\" is not a partition header of `tokenledger partition`: {e}",
                path.display()
            ))
        })
    }
}

/// A span file, opened and told apart by its first non-empty line.
pub(crate) enum Opened<'p> {
    /// One JSON document (OTLP or Jaeger), read whole.
    Document(String),
    /// One JSON value per line.
    Lines {
        /// The dialect of the first line.
        dialect: Dialect,
        /// The first line's partition header, if `partition` wrote the file.
        part_of: Option<PartOf>,
        /// The file's lines, the first included.
        blocks: Blocks<'p>,
    },
}

/// Open a span file and tell what it holds from its first non-empty line.
pub(crate) fn open<'p>(
    path: &'p Path,
    fingerprint: Option<&super::Fingerprint>,
) -> Result<Opened<'p>> {
    let io = |e| Error::io(path, e);
    let mut reader = super::open_fingerprinted(path, 0, fingerprint)?.1;
    let mut head = Vec::new();
    let mut line_no = 0u64;
    let (dialect, part_of) = loop {
        let start = head.len();
        if reader.read_until(b'\n', &mut head).map_err(io)? == 0 {
            return Err(super::empty(path));
        }
        line_no += 1;
        let Ok(text) = std::str::from_utf8(&head[start..]).map(str::trim) else {
            break (Dialect::Otlp, None);
        };
        if text.is_empty() {
            continue;
        }
        match serde_json::from_str::<serde::de::IgnoredAny>(text) {
            // The first line does not close a JSON value: one OTLP document per file.
            Err(e) if e.is_eof() => {
                return Ok(Opened::Document(super::span::rest_of(path, reader, head)?));
            }
            // Not JSON at all (a CSV, a log): not a span file. A broken JSON
            // object is a bad record like any other.
            Err(e) if e.is_syntax() && !text.starts_with('{') => {
                return Err(Error::fatal(format!(
                    "{}:{line_no}: not a span file (expected a JSON object per line, or one JSON document): {e}",
                    path.display()
                )));
            }
            _ => break (Dialect::of(text), PartOf::of(path, text)?),
        }
    };
    Ok(Opened::Lines {
        dialect,
        part_of,
        blocks: Blocks::new(path, reader, head, 1),
    })
}

/// A `--whole-traces` shard's span files in the order one run over their
/// sources reads them: a part by the file it was cut from (its header's
/// `source`), any other file by its own path. Where two copies of a span
/// meet (the first read is kept), the shard keeps the copy one run keeps,
/// whatever names the parts were given.
pub fn in_source_order(files: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut keyed: Vec<(PathBuf, PathBuf)> = files
        .into_iter()
        .map(|path| {
            let source = is_regular(&path).then(|| header_of(&path)).flatten();
            (
                source.map_or_else(|| path.clone(), |p| PathBuf::from(p.source)),
                path,
            )
        })
        .collect();
    keyed.sort();
    keyed.into_iter().map(|(_, path)| path).collect()
}

/// Whether `path` is a file that can be read twice (not standard input or
/// a pipe).
pub fn is_regular(path: &Path) -> bool {
    path.as_os_str() != super::STDIN && std::fs::metadata(path).is_ok_and(|m| m.is_file())
}

/// The partition header a file begins with, if `tokenledger partition`
/// wrote it: read from the first 64 KiB of its first line, so a part cut
/// short by a killed run (or one whose first line is a whole document)
/// shows it without the rest being read.
pub fn header_of(path: &Path) -> Option<PartOf> {
    let mut head = Vec::new();
    super::open_fingerprinted(path, 0, None)
        .ok()?
        .1
        .take(64 << 10)
        .read_to_end(&mut head)
        .ok()?;
    let text = String::from_utf8_lossy(&head);
    let member = text.trim_start().strip_prefix('{')?.trim_start();
    let value = member
        .strip_prefix(&format!("\"{PARTITION_KEY}\""))?
        .trim_start()
        .strip_prefix(':')?;
    serde_json::Deserializer::from_str(value)
        .into_iter::<PartOf>()
        .next()?
        .ok()
}

/// What [`read_file`] read from one file.
#[derive(Debug)]
pub struct FileSpans {
    /// The spans passed on (under a shard, its spans only).
    pub spans: u64,
    /// The spans of a file of lines refused alone, each a bad record
    /// (skipped under `--lenient`).
    pub bad_spans: u64,
    /// The file's dialect.
    pub dialect: Dialect,
    /// The partition header of a file written by `tokenledger partition`.
    pub part_of: Option<PartOf>,
}

/// How span files are read: the attribute keys, the parsing threads, and
/// (for a shard) where to take each file's size and hash.
pub struct Reading<'a> {
    /// The attribute keys (and a shard's trace filter).
    pub keys: &'a AttrKeys,
    /// Blocks parsed at once.
    pub threads: usize,
    /// Takes the file's size and SHA-256 as it is read, if given.
    pub fingerprint: Option<&'a super::Fingerprint>,
    /// A partition's bad records are named by the file it was cut from (its
    /// line numbers are the source's), as the merge of `--whole-traces`
    /// shards names its spans.
    pub by_source: bool,
}

/// Read every span of one file, passing each to `sink` in file order.
/// Lines are parsed `threads` blocks at a time, in parallel; the result is
/// the same whatever the number of threads.
pub fn read_file(
    path: &Path,
    file: u32,
    reading: &Reading,
    interner: &mut Interner,
    skips: &mut Skips,
    sink: &mut (dyn FnMut(Span) + Send),
) -> Result<FileSpans> {
    let (keys, threads) = (reading.keys, reading.threads);
    let (dialect, part_of, mut blocks) = match open(path, reading.fingerprint)? {
        Opened::Document(text) => {
            let read = read_document(path, (file, text), keys, interner, skips, sink);
            let (spans, dialect) = read?;
            return Ok(FileSpans {
                spans,
                bad_spans: 0,
                dialect,
                part_of: None,
            });
        }
        Opened::Lines {
            dialect,
            part_of,
            blocks,
        } => (dialect, part_of, blocks),
    };
    let (mut spans, mut bad_spans) = (0u64, 0u64);
    // A bad span is named at its source's line; a line the reader refuses
    // at the partition file's, with the source (whose line numbers it
    // keeps): `partition` cut only lines the reader takes, so it was
    // damaged since.
    let source = part_of.as_ref().filter(|_| reading.by_source);
    let damaged = source.map(|part| format!("{} (cut from {})", path.display(), part.source));
    let names = Names {
        spans: source.map_or(path, |part| Path::new(&part.source)),
        lines: damaged.as_deref().map_or(path, Path::new),
    };
    let parse = |first, block: &[u8]| parse_block(block, first, dialect, names, file, keys);
    super::blocks::parse_in_order(&mut blocks, threads, parse, &mut |block: Parsed| {
        let map = interner.absorb(block.interner);
        spans += block.spans.len() as u64;
        bad_spans += block.bad_spans;
        for mut span in block.spans {
            span.remap(&map.syms);
            sink(span);
        }
        block.errors.into_iter().try_for_each(|e| skips.handle(e))
    })?;
    Ok(FileSpans {
        spans,
        bad_spans,
        dialect,
        part_of,
    })
}
