//! The span export: each run's spans, buffered and written to the span
//! files as OTLP `TracesData` JSON lines, a random file and batch at a time.

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::error::{Error, Result};

/// One attribute value as written in OTLP JSON.
pub(super) enum Val {
    Str(String),
    /// `intValue` as a decimal string, as the spec writes it.
    Int(u64),
    /// `intValue` as a bare number, as some exporters write it.
    IntNumber(u64),
}

pub(super) struct SimSpan {
    trace_id: u128,
    span_id: u64,
    parent_id: u64,
    name: String,
    kind: u8,
    start_ns: i64,
    end_ns: i64,
    attrs: Vec<(&'static str, Val)>,
}

pub(super) struct SpanFile {
    out: BufWriter<std::fs::File>,
    /// Spans waiting for the next line, by service.
    pending: Vec<SimSpan>,
    service: &'static str,
}

/// Create `count` (at least one) span files `part-N.jsonl` in `span_dir`,
/// alternately from each service.
pub(super) fn create(span_dir: &Path, count: u32) -> Result<Vec<SpanFile>> {
    let services = ["agent-gateway", "agent-worker"];
    let mut span_files = Vec::new();
    for i in 0..count.max(1) {
        let path = span_dir.join(format!("part-{i}.jsonl"));
        let out = std::fs::File::create(&path)
            .map(BufWriter::new)
            .map_err(|e| Error::io(&path, e))?;
        span_files.push(SpanFile {
            out,
            pending: Vec::new(),
            service: services[i as usize % 2],
        });
    }
    Ok(span_files)
}

impl super::Month {
    /// Keep a span of the run being simulated until the run is flushed.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn span(
        &mut self,
        trace_id: u128,
        span_id: u64,
        parent_id: u64,
        name: String,
        kind: u8,
        start_ns: i64,
        end_ns: i64,
        attrs: Vec<(&'static str, Val)>,
    ) {
        self.spans.push(SimSpan {
            trace_id,
            span_id,
            parent_id,
            name,
            kind,
            start_ns,
            end_ns,
            attrs,
        });
    }

    /// Hand a finished run's spans to the exporters in the order they ended
    /// (children first); each span goes to a random file, so a trace is
    /// split across lines and files.
    pub(super) fn flush_run(&mut self) -> std::io::Result<()> {
        let mut spans = std::mem::take(&mut self.spans);
        spans.sort_by_key(|s| (s.end_ns, s.span_id));
        for span in spans {
            self.stats.spans += 1;
            let file = (self.rng.next() % self.span_files.len() as u64) as usize;
            let batch = self.rng.range(8, 40) as usize;
            let target = &mut self.span_files[file];
            target.pending.push(span);
            if target.pending.len() >= batch {
                write_line(target)?;
            }
        }
        Ok(())
    }

    /// Write every file's pending spans and flush it.
    pub(super) fn finish(&mut self) -> std::io::Result<()> {
        for file in &mut self.span_files {
            if !file.pending.is_empty() {
                write_line(file)?;
            }
            file.out.flush()?;
        }
        Ok(())
    }
}

/// Write a file's pending spans as one OTLP `TracesData` line.
fn write_line(file: &mut SpanFile) -> std::io::Result<()> {
    let mut line = String::with_capacity(4_096);
    line.push_str(r#"{"resourceSpans":[{"resource":{"attributes":["#);
    push_attr(&mut line, "service.name", &Val::Str(file.service.into()));
    line.push(',');
    push_attr(
        &mut line,
        "deployment.environment.name",
        &Val::Str("production".into()),
    );
    line.push_str(
        r#"]},"scopeSpans":[{"scope":{"name":"tokenledger.simulate","version":"1"},"spans":["#,
    );
    for (i, s) in file.pending.drain(..).enumerate() {
        if i > 0 {
            line.push(',');
        }
        let _ = write!(
            line,
            r#"{{"traceId":"{:032x}","spanId":"{:016x}","parentSpanId":""#,
            s.trace_id, s.span_id
        );
        if s.parent_id != 0 {
            let _ = write!(line, "{:016x}", s.parent_id);
        }
        let _ = write!(
            line,
            r#"","name":{},"kind":{},"startTimeUnixNano":"{}","endTimeUnixNano":"{}","attributes":["#,
            json_string(&s.name),
            s.kind,
            s.start_ns,
            s.end_ns
        );
        for (j, (key, value)) in s.attrs.iter().enumerate() {
            if j > 0 {
                line.push(',');
            }
            push_attr(&mut line, key, value);
        }
        line.push_str(r#"],"status":{}}"#);
    }
    line.push_str("]}]}]}\n");
    file.out.write_all(line.as_bytes())
}

fn push_attr(line: &mut String, key: &str, value: &Val) {
    let _ = write!(line, r#"{{"key":{},"value":{{"#, json_string(key));
    let _ = match value {
        Val::Str(s) => write!(line, r#""stringValue":{}"#, json_string(s)),
        Val::Int(n) => write!(line, r#""intValue":"{n}""#),
        Val::IntNumber(n) => write!(line, r#""intValue":{n}"#),
    };
    line.push_str("}}");
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string always serialises")
}
