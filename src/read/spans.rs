//! Span files in every dialect, reduced to compact [`Span`]s. A file is
//! OTLP JSON ([`super::otlp`]: JSON lines or one document) or flat
//! one-span-per-line JSONL ([`super::flat`]), told apart by its first line.
//! Both give their attributes through [`Attributes`], and [`compact`] reads
//! them the same way, through the alias table of [`super::semconv`].

use std::borrow::Cow;
use std::io::{BufRead, Read};
use std::path::Path;

use super::semconv::{self, CALL_OPERATIONS, OPERATION_KINDS};
use crate::error::{Error, Result, Skips};
use crate::intern::Interner;
use crate::model::{CallInfo, Origin, Role, Span};

/// Which attribute keys carry the attribution dimensions.
#[derive(Clone, Debug)]
pub struct AttrKeys {
    /// Tenant keys, most preferred first (`--tenant-attr`).
    pub tenant: Vec<String>,
    /// Feature key (`--feature-attr`).
    pub feature: String,
    /// Span attributes holding the provider's request id (`--join-attr`),
    /// tried in order.
    pub join: Vec<String>,
    /// Root-span attribute naming the run's outcome (`--outcome-attr`).
    pub outcome: String,
    /// With `--shard`: only this shard's traces are kept; other spans are
    /// dropped once their ids are checked, before their attributes are read.
    pub shard: Option<crate::model::Shard>,
}

/// The attribute numbering an agent's steps.
pub const STEP_ATTR: &str = "gen_ai.agent.step";

/// A scalar attribute value.
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar<'a> {
    /// A string.
    Text(Cow<'a, str>),
    /// An integer.
    Int(i64),
    /// A floating-point number (never money: only ever read as a count).
    Float(f64),
    /// A boolean.
    Bool(bool),
}

impl Scalar<'_> {
    /// The value as text, for dimensions and ids.
    fn text(&self) -> Option<Cow<'_, str>> {
        let text = match self {
            Scalar::Text(s) => Cow::Borrowed(s.as_ref()),
            Scalar::Int(i) => Cow::Owned(i.to_string()),
            Scalar::Bool(b) => Cow::Owned(b.to_string()),
            Scalar::Float(_) => return None,
        };
        (!text.is_empty()).then_some(text)
    }

    /// The value as a token count.
    fn count(&self) -> Option<u64> {
        match self {
            Scalar::Int(i) => u64::try_from(*i).ok(),
            Scalar::Text(s) => s.parse().ok(),
            Scalar::Float(f) if f.fract() == 0.0 && *f >= 0.0 && *f < 1e15 => Some(*f as u64),
            _ => None,
        }
    }
}

/// A span's attributes (its resource's included), by key.
pub trait Attributes {
    /// The scalar value under exactly `key`, if any.
    fn value(&self, key: &str) -> Option<Scalar<'_>>;

    /// The text under `key` or one of its aliases.
    fn text(&self, key: &str) -> Option<Cow<'_, str>> {
        semconv::names(key).find_map(|k| {
            self.value(k)
                .and_then(|v| v.text().map(|t| Cow::Owned(t.into_owned())))
        })
    }

    /// The count under `key` or one of its aliases.
    fn count(&self, key: &str) -> Option<u64> {
        semconv::names(key).find_map(|k| self.value(k).and_then(|v| v.count()))
    }
}

/// A span's ids as written, with the field names for messages, and its
/// start time.
pub struct Ids<'a> {
    /// Trace id text and its field name.
    pub trace: (&'a str, &'static str),
    /// Span id text and its field name.
    pub span: (&'a str, &'static str),
    /// Parent id text (absent or empty for a root) and its field name.
    pub parent: (Option<&'a str>, &'static str),
    /// Start in nanoseconds since the Unix epoch; 0 when unknown.
    pub start_ns: u64,
}

/// Parse a hex id of exactly `digits` digits, in either case, with an
/// optional `0x` prefix.
pub fn parse_hex_id(text: &str, digits: usize) -> Option<u128> {
    let hex = text.strip_prefix("0x").unwrap_or(text).as_bytes();
    if hex.len() != digits {
        return None;
    }
    hex.iter().try_fold(0u128, |value, &b| {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return None,
        };
        Some(value << 4 | u128::from(digit))
    })
}

/// The span's GenAI operation: `gen_ai.operation.name`, else another
/// library's span kind, else the first word of the span name.
fn operation<'n>(attrs: &dyn Attributes, name_op: &'n str) -> Cow<'n, str> {
    if let Some(op) = attrs.text("gen_ai.operation.name") {
        return Cow::Owned(op.into_owned());
    }
    OPERATION_KINDS
        .iter()
        .find(|(key, value, _)| {
            attrs
                .value(key)
                .and_then(|v| v.text().map(|t| t.eq_ignore_ascii_case(value)))
                == Some(true)
        })
        .map_or(Cow::Borrowed(name_op), |(_, _, op)| Cow::Borrowed(*op))
}

/// Reduce one span to what attribution needs; `None` for a well-formed
/// span of another shard's trace.
pub fn compact(
    name: &str,
    ids: Ids,
    attrs: &dyn Attributes,
    origin: Origin,
    keys: &AttrKeys,
    interner: &mut Interner,
) -> std::result::Result<Option<Span>, String> {
    let what = |field: &str, value: &str| format!("span \"{name}\": {field} \"{value}\"");
    let trace_id = parse_hex_id(ids.trace.0, 32)
        .ok_or_else(|| what(ids.trace.1, ids.trace.0) + " is not 32 hex digits")?;
    let span_id = parse_hex_id(ids.span.0, 16)
        .map(|id| id as u64)
        .filter(|&id| id != 0)
        .ok_or_else(|| what(ids.span.1, ids.span.0) + " is not 16 hex digits (non-zero)")?;
    let parent_id = match ids.parent.0 {
        None | Some("") => 0,
        Some(p) => parse_hex_id(p, 16)
            .map(|id| id as u64)
            .ok_or_else(|| what(ids.parent.1, p) + " is not 16 hex digits")?,
    };
    if keys.shard.is_some_and(|shard| !shard.owns(trace_id)) {
        return Ok(None);
    }
    let (name_op, name_rest) = name.split_once(' ').unwrap_or((name, ""));
    let op = operation(attrs, name_op);
    let join_key = keys.join.iter().find_map(|k| attrs.text(k));
    let role = match op.as_ref() {
        "invoke_agent" => Role::Agent,
        "execute_tool" => Role::Tool,
        op if CALL_OPERATIONS.contains(&op) || join_key.is_some() => Role::Call,
        _ => Role::Other,
    };
    // The span-name fallback applies only when the name follows the
    // `{operation} {target}` convention for this very operation.
    let mut named = |attr: &str| {
        attrs
            .text(attr)
            .or_else(|| {
                (name_op == op && !name_rest.is_empty()).then_some(Cow::Borrowed(name_rest))
            })
            .map(|n| interner.intern(&n))
    };
    let agent = if role == Role::Agent {
        named("gen_ai.agent.name")
    } else {
        None
    };
    let tool = if role == Role::Tool {
        named("gen_ai.tool.name")
    } else {
        None
    };
    let tenant = keys
        .tenant
        .iter()
        .enumerate()
        .find_map(|(rank, key)| attrs.text(key).map(|v| (rank as u8, interner.intern(&v))));
    let feature = attrs.text(&keys.feature).map(|v| interner.intern(&v));
    let call = (role == Role::Call).then(|| {
        let model = attrs
            .text("gen_ai.response.model")
            .or_else(|| attrs.text("gen_ai.request.model"));
        let input = attrs.count("gen_ai.usage.input_tokens");
        let cached = attrs
            .count("gen_ai.usage.cache_read.input_tokens")
            .unwrap_or(0)
            + attrs
                .count("gen_ai.usage.cache_write.input_tokens")
                .unwrap_or(0);
        // The conventions count cached tokens inside input_tokens; some
        // emitters report Anthropic's input that excludes them. Cached
        // tokens beyond the input count give that away.
        let input = input.map(|n| if cached > n { n + cached } else { n });
        Box::new(CallInfo {
            join_key: join_key.map(|k| k.into()),
            name: interner.intern(name),
            model: model.map(|m| interner.intern(&m)),
            input_tokens: input,
            output_tokens: attrs.count("gen_ai.usage.output_tokens"),
            start_ns: ids.start_ns,
            step: attrs.count(STEP_ATTR).and_then(|s| u32::try_from(s).ok()),
        })
    });
    let outcome = if parent_id == 0 {
        attrs.text(&keys.outcome).map(|v| interner.intern(&v))
    } else {
        None
    };
    Ok(Some(Span {
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
    }))
}

/// The span dialect of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// OTLP JSON (`resourceSpans`, or Tempo's `batches`).
    Otlp,
    /// One flat span object per line.
    Flat,
}

impl Dialect {
    /// The name shown in the summary.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Otlp => "otlp-json",
            Dialect::Flat => "flat-jsonl",
        }
    }

    /// The dialect called `name` (as [`Dialect::name`] writes it).
    pub fn from_name(name: &str) -> Option<Dialect> {
        [Dialect::Otlp, Dialect::Flat]
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
        if !otlp.iter().any(|k| line.contains(k)) && flat.iter().any(|k| line.contains(k)) {
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
                let spans =
                    super::otlp::read_document(path, file, keys, interner, reader, head, sink)?;
                return Ok((spans, Dialect::Otlp));
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

/// Read the rest of `reader` after `head` as text.
pub fn rest_of(path: &Path, mut reader: impl Read, mut head: Vec<u8>) -> Result<String> {
    reader
        .read_to_end(&mut head)
        .map_err(|e| Error::io(path, e))?;
    String::from_utf8(head).map_err(|e| {
        Error::fatal(format!(
            "{}: invalid UTF-8 at byte {}",
            path.display(),
            e.utf8_error().valid_up_to()
        ))
    })
}
