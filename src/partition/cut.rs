//! One span file cut into a file per partition: each line's spans under
//! their resources and scopes, the header on line 1 and the trailer after
//! the last.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::otlp::{Resource, Scope, Top};
use crate::error::{Error, Result};
use crate::model::Shard;
use crate::read::blocks::in_parallel;
use crate::read::otlp::inside_wrapper;
use crate::read::spans::{open, Dialect, Opened, PartEnd, PartOf, PARTITION_KEY};
use crate::read::Fingerprint;

/// Cut one span file into `temps` (one per partition), adding the spans
/// each partition got to `spans`.
pub(super) fn cut_file(
    path: &Path,
    temps: &[PathBuf],
    count: u32,
    threads: usize,
    spans: &mut [u64],
) -> Result<()> {
    let heads = headers(path, count);
    let mut parts = Parts::create(temps, &heads)?;
    let fingerprint = Fingerprint::default();
    match open(path, Some(&fingerprint))? {
        Opened::Document(text) => {
            if crate::read::jaeger::is_jaeger(&text) {
                only_otlp_sources(path, Dialect::Jaeger, None)?;
            }
            // The reader's own verdict first: what it refuses, partition refuses.
            let traces = crate::read::otlp::document_trace_ids(path, &text)?;
            let mut cut = Cut::new(count);
            cut.line(1, Some((&text, &traces)), &heads)
                .map_err(|e| Error::fatal(format!("{}: {e}", path.display())))?;
            parts.write(cut)?;
        }
        Opened::Lines {
            dialect,
            part_of,
            mut blocks,
        } => {
            only_otlp_sources(path, dialect, part_of)?;
            loop {
                let read = blocks.next(threads)?;
                if read.is_empty() {
                    break;
                }
                let cuts = in_parallel(&read, |first, block| {
                    cut_block(block, first, count, path, &heads)
                });
                blocks.recycle(read);
                for cut in cuts {
                    parts.write(cut?)?;
                }
            }
        }
    }
    parts.finish(&fingerprint.get(), spans)
}

/// The partition files of one source being written.
struct Parts<'t> {
    outs: Vec<BufWriter<File>>,
    temps: &'t [PathBuf],
    /// Each part's spans, bytes and their hash so far.
    spans: Vec<u64>,
    bytes: Vec<u64>,
    hashes: Vec<crate::manifest::Hasher>,
    /// The header bytes each part's first line starts with, written when the
    /// part was created and not yet met again in its cuts.
    heads_written: Vec<Option<Vec<u8>>>,
}

impl<'t> Parts<'t> {
    /// Create each temporary part and write its first line's start, the
    /// header, to disk at once: a run killed at any point leaves a part that
    /// names its source (its rerun removes it), never an empty file.
    fn create(temps: &'t [PathBuf], heads: &[String]) -> Result<Parts<'t>> {
        let mut outs = Vec::with_capacity(temps.len());
        let mut heads_written = Vec::with_capacity(temps.len());
        for (temp, head) in temps.iter().zip(heads) {
            let opening = format!("{{{head},").into_bytes();
            let mut out = File::create(temp)
                .map(|f| BufWriter::with_capacity(1 << 16, f))
                .map_err(|e| Error::io(temp, e))?;
            out.write_all(&opening)
                .and_then(|()| out.flush())
                .map_err(|e| Error::io(temp, e))?;
            outs.push(out);
            heads_written.push(Some(opening));
        }
        let n = temps.len();
        Ok(Parts {
            outs,
            temps,
            spans: vec![0; n],
            bytes: vec![0; n],
            hashes: vec![crate::manifest::Hasher::default(); n],
            heads_written,
        })
    }

    /// Append a cut's bytes; each part's first cut begins with the header
    /// already written.
    fn write(&mut self, cut: Cut) -> Result<()> {
        for (i, bytes) in cut.parts.iter().enumerate() {
            let mut rest = &bytes[..];
            if let Some(opening) = self.heads_written[i].take() {
                rest = rest.strip_prefix(opening.as_slice()).ok_or_else(|| {
                    Error::fatal(format!(
                        "{}: a part's first line does not begin with its header (a bug)",
                        self.temps[i].display()
                    ))
                })?;
            }
            self.outs[i]
                .write_all(rest)
                .map_err(|e| Error::io(&self.temps[i], e))?;
            self.bytes[i] += bytes.len() as u64;
            self.hashes[i].update(bytes);
        }
        for (total, n) in self.spans.iter_mut().zip(cut.spans) {
            *total += n;
        }
        Ok(())
    }

    /// Write each part's trailer, naming the source as read, and add its
    /// spans to `spans`.
    fn finish(
        self,
        (source_bytes, source_sha256): &(u64, String),
        spans: &mut [u64],
    ) -> Result<()> {
        let parts = self.outs.into_iter().zip(self.temps).zip(self.hashes);
        for (i, ((out, temp), hash)) in parts.enumerate() {
            let end = PartEnd {
                source_bytes: *source_bytes,
                source_sha256: source_sha256.clone(),
                spans: self.spans[i],
                part_bytes: Some(self.bytes[i]),
                part_sha256: Some(hash.finish()),
            };
            spans[i] += self.spans[i];
            finish(out, temp, &end)?;
        }
        Ok(())
    }
}

/// Partition cuts OTLP JSON source files only: not other dialects, and not
/// a partition of another cut.
fn only_otlp_sources(path: &Path, dialect: Dialect, part_of: Option<PartOf>) -> Result<()> {
    if dialect != Dialect::Otlp {
        return Err(Error::fatal(format!(
            "{}: {} spans; partition cuts OTLP JSON only: shard this file with `report --shard I/N` \
             instead (every shard reads it and keeps its own traces)",
            path.display(),
            dialect.name()
        )));
    }
    match part_of {
        None => Ok(()),
        Some(part) => Err(Error::fatal(format!(
            "{}: already partition {}/{} of {}: partition the source files",
            path.display(),
            part.index,
            part.count,
            part.source
        ))),
    }
}

/// Each partition's line-1 member naming the source and the partition.
fn headers(path: &Path, count: u32) -> Vec<String> {
    let source = path.display().to_string();
    let at = canonical(path);
    (0..count)
        .map(|index| {
            let part = PartOf {
                source: source.clone(),
                index,
                count,
                at: at.clone(),
            };
            let json = serde_json::to_string(&part).expect("a header serialises");
            format!("\"{PARTITION_KEY}\":{json}")
        })
        .collect()
}

/// `path` absolute, every link resolved (none if it cannot be).
pub(super) fn canonical(path: &Path) -> Option<String> {
    std::fs::canonicalize(path)
        .ok()
        .map(|p| p.display().to_string())
}

/// Write a partition file's trailer and flush it to disk.
fn finish(mut out: BufWriter<File>, temp: &Path, end: &PartEnd) -> Result<()> {
    out.write_all(end.line().as_bytes())
        .map_err(|e| Error::io(temp, e))?;
    out.flush().map_err(|e| Error::io(temp, e))?;
    out.get_ref().sync_all().map_err(|e| Error::io(temp, e))
}

/// A block's lines, cut: the bytes each partition gets, and its spans.
struct Cut {
    parts: Vec<Vec<u8>>,
    spans: Vec<u64>,
}

/// A scope's spans grouped by partition.
type ScopeCut<'s, 'a> = (&'s Scope<'a>, usize, BTreeMap<u32, Vec<&'a str>>);

impl Cut {
    fn new(count: u32) -> Cut {
        Cut {
            parts: vec![Vec::new(); count as usize],
            spans: vec![0; count as usize],
        }
    }

    /// One input line (`None`: an empty one), a `TracesData` the reader
    /// accepts whose spans' trace ids are `traces`, in order. Each
    /// partition gets its spans of it, under their resources and scopes,
    /// or an empty line; line 1 carries the header whatever it holds.
    fn line(
        &mut self,
        line_no: u64,
        line: Option<(&str, &[u128])>,
        heads: &[String],
    ) -> std::result::Result<(), String> {
        let count = self.parts.len() as u32;
        let resources = match line {
            Some((text, _)) => resources(text)?,
            None => Vec::new(),
        };
        let cut = by_partition(&resources, line.map_or(&[][..], |(_, t)| t), count)?;
        for i in 0..count {
            let head = (line_no == 1).then(|| heads[i as usize].as_bytes());
            self.write_part(i, &cut, head);
        }
        Ok(())
    }

    /// Partition `i`'s part of a line: its spans under their resources and
    /// scopes (on one line), or just the header `head` if it is line 1.
    fn write_part(&mut self, i: u32, cut: &[ResourceCut], head: Option<&[u8]>) {
        let out = &mut self.parts[i as usize];
        let start = out.len();
        let mut first = true;
        for (resource, at, scopes, parts) in cut {
            if parts.binary_search(&i).is_err() {
                continue;
            }
            out.extend_from_slice(if first { b"{" } else { b"," });
            if first {
                if let Some(head) = head {
                    out.extend_from_slice(head);
                    out.push(b',');
                }
                out.extend_from_slice(b"\"resourceSpans\":[");
                first = false;
            }
            let spans = &mut self.spans[i as usize];
            resource.write_with(*at, "scopeSpans", out, |out| {
                write_scopes(out, scopes, i, spans)
            });
        }
        if !first {
            out.extend_from_slice(b"]}");
            // One line whatever the input's layout (a pretty-printed
            // document): outside strings a line break is whitespace,
            // and JSON strings hold none.
            let written = &mut out[start..];
            while let Some(at) = memchr::memchr2(b'\n', b'\r', written) {
                written[at] = b' ';
            }
        } else if let Some(head) = head {
            out.push(b'{');
            out.extend_from_slice(head);
            out.extend_from_slice(b",\"resourceSpans\":[]}");
        }
        out.push(b'\n');
    }
}

/// A line's resources as the reader finds them: `resourceSpans`, else
/// Tempo's `batches`, else the same inside one API wrapper (Tempo's
/// `trace`, Jaeger v2's `result`).
fn resources(text: &str) -> std::result::Result<Vec<Resource<'_>>, String> {
    let mut top: Top = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let listed = top.resource_spans.is_some() || top.batches.is_some();
    let top = inside_wrapper(listed, top.trace.take(), top.result.take()).unwrap_or(top);
    Ok(top.resource_spans.or(top.batches).unwrap_or_default())
}

/// A resource with its scope list's place, its scopes' spans by partition,
/// and the partitions it holds spans of.
type ResourceCut<'s, 'a> = (&'s Resource<'a>, usize, Vec<ScopeCut<'s, 'a>>, Vec<u32>);

/// Group each resource's spans by partition; `traces` are the spans' trace
/// ids in order, as the reader found them.
fn by_partition<'s, 'a>(
    resources: &'s [Resource<'a>],
    traces: &[u128],
    count: u32,
) -> std::result::Result<Vec<ResourceCut<'s, 'a>>, String> {
    let mut traces = traces.iter();
    let mut cut = Vec::new();
    for resource in resources {
        let Some((at, scopes)) = resource.nested() else {
            continue;
        };
        let mut scope_cuts = Vec::new();
        let mut parts = Vec::new();
        for scope in scopes {
            let Some((spans_at, spans)) = scope.nested() else {
                continue;
            };
            let mut by_part: BTreeMap<u32, Vec<&str>> = BTreeMap::new();
            for span in spans {
                let trace = traces
                    .next()
                    .ok_or("the line holds more spans than the reader found")?;
                by_part
                    .entry(Shard::index_of(*trace, count))
                    .or_default()
                    .push(span.get());
            }
            parts.extend(by_part.keys());
            scope_cuts.push((scope, spans_at, by_part));
        }
        parts.sort_unstable();
        parts.dedup();
        cut.push((resource, at, scope_cuts, parts));
    }
    if traces.next().is_some() {
        // The reader also counts the request events of OTLP logs (coding
        // agents' telemetry), which are not spans to cut.
        return Err(
            "the line holds log events (resourceLogs) or fewer spans than the reader \
                    found: partition cuts OTLP trace lines; give coding-agent logs to report \
                    as they are"
                .into(),
        );
    }
    Ok(cut)
}

/// A resource's scope list holding partition `i`'s spans, counted in `spans`.
fn write_scopes(out: &mut Vec<u8>, scopes: &[ScopeCut], i: u32, spans: &mut u64) {
    out.push(b'[');
    let mut first = true;
    for (scope, spans_at, by_part) in scopes {
        let Some(kept) = by_part.get(&i) else {
            continue;
        };
        if !std::mem::take(&mut first) {
            out.push(b',');
        }
        *spans += kept.len() as u64;
        scope.write_with(*spans_at, "spans", out, |out| {
            out.push(b'[');
            for (k, span) in kept.iter().enumerate() {
                if k > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(span.as_bytes());
            }
            out.push(b']');
        });
    }
    out.push(b']');
}

/// Cut the lines of `block`, the first being line `first_line`; the first
/// line the reader refuses is the error.
fn cut_block(
    block: &[u8],
    first_line: u64,
    count: u32,
    path: &Path,
    heads: &[String],
) -> Result<Cut> {
    let mut cut = Cut::new(count);
    let mut start = 0;
    let ends: Vec<usize> = memchr::memchr_iter(b'\n', block)
        .chain((block.last() != Some(&b'\n')).then_some(block.len()))
        .collect();
    for (i, end) in ends.into_iter().enumerate() {
        let line = &block[start..end];
        start = end + 1;
        let line_no = first_line + i as u64;
        let bad = |kind, message: String| {
            Error::record(
                path,
                line_no,
                kind,
                format!(
                    "{message} (partition stops at a line the reader refuses: fix or remove it, or \
                     shard with `report --shard I/N --lenient`)"
                ),
            )
        };
        let text = std::str::from_utf8(line)
            .map_err(|e| {
                bad(
                    "invalid-utf8",
                    format!("invalid UTF-8 at byte {}", e.valid_up_to()),
                )
            })?
            .trim();
        if text.is_empty() {
            cut.line(line_no, None, heads)
                .map_err(|m| bad("bad-json", m))?;
            continue;
        }
        // The reader's own verdict first: what it refuses, partition refuses.
        let traces = crate::read::otlp::trace_ids(text).map_err(|(kind, m)| bad(kind, m))?;
        cut.line(line_no, Some((text, &traces)), heads)
            .map_err(|m| bad("bad-json", m))?;
    }
    Ok(cut)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::span::parse_hex_id;

    const A: &str = "5b8efff798038103d269b633813fc60c";

    /// Cut as `partition` does (the reader's trace ids, then the cut) a
    /// line after the first: what each partition gets, `None` for nothing.
    fn cut(line: &str, count: u32) -> Vec<Option<(String, u64)>> {
        let traces = crate::read::otlp::trace_ids(line).unwrap();
        let mut cut = Cut::new(count);
        cut.line(2, Some((line, &traces)), &[]).unwrap();
        cut.parts
            .into_iter()
            .zip(cut.spans)
            .map(|(bytes, n)| {
                let text = String::from_utf8(bytes).unwrap();
                let text = text.strip_suffix('\n').unwrap().to_string();
                (!text.is_empty()).then_some((text, n))
            })
            .collect()
    }

    fn trace_of(part: u32, count: u32) -> String {
        (1u128..)
            .map(|t| format!("{:032x}", t.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
            .find(|t| Shard::index_of(parse_hex_id(t, 32).unwrap(), count) == part)
            .unwrap()
    }

    #[test]
    fn a_line_splits_by_trace_keeping_resource_and_scope() {
        let (t0, t1) = (trace_of(0, 2), trace_of(1, 2));
        let line = format!(
            r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"tenant.id","value":{{"stringValue":"acme"}}}}]}},"scopeSpans":[{{"scope":{{"name":"s"}},"spans":[{{"traceId":"{t0}","spanId":"0000000000000001"}},{{"traceId":"{t1}","spanId":"0000000000000002"}},{{"traceId":"{t0}","spanId":"0000000000000003"}}]}}],"schemaUrl":"x"}}]}}"#
        );
        let split = cut(&line, 2);
        let (zero, n0) = split[0].clone().unwrap();
        assert_eq!(n0, 2);
        assert_eq!(
            zero,
            format!(
                r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"tenant.id","value":{{"stringValue":"acme"}}}}]}},"scopeSpans":[{{"scope":{{"name":"s"}},"spans":[{{"traceId":"{t0}","spanId":"0000000000000001"}},{{"traceId":"{t0}","spanId":"0000000000000003"}}]}}],"schemaUrl":"x"}}]}}"#
            )
        );
        let (one, n1) = split[1].clone().unwrap();
        assert_eq!(n1, 1);
        assert!(one.contains(&t1) && !one.contains(&t0), "{one}");
    }

    #[test]
    fn tempo_shapes_and_signals_without_spans() {
        for wrapper in ["trace", "result"] {
            let line = format!(
                r#"{{"{wrapper}":{{"batches":[{{"instrumentationLibrarySpans":[{{"spans":[{{"traceId":"{A}","spanId":"0000000000000001"}}]}}]}}]}}}}"#
            );
            let split = cut(&line, 1);
            let (list, n) = split[0].clone().unwrap();
            assert_eq!(n, 1);
            assert!(list.contains("\"scopeSpans\":"), "{list}");
        }
        assert_eq!(cut(r#"{"resourceLogs":[]}"#, 3), vec![None; 3]);
        // Both lists: the reader takes resourceSpans, whatever comes first.
        let both = format!(
            r#"{{"batches":[{{"scopeSpans":[{{"spans":[{{"traceId":"{A}","spanId":"0000000000000001"}}]}}]}}],"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"{A}","spanId":"0000000000000002"}}]}}]}}]}}"#
        );
        let (list, n) = cut(&both, 1)[0].clone().unwrap();
        assert_eq!(n, 1);
        assert!(list.contains("0000000000000002") && !list.contains("0000000000000001"));
    }
}
