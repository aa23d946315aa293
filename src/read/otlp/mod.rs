//! OTLP JSON spans: JSON lines as the Collector's file exporter writes them
//! (one `TracesData` per line), or one (pretty-printed) document per file.
//! Grafana Tempo's `{"batches": …}` and `{"trace": …}` wrappers, Jaeger
//! v2's `{"result": …}` and the older `instrumentationLibrarySpans` key are
//! read as the same thing.
//!
//! Each span is reduced at once to a compact [`Span`]: attributes other than
//! the few attribution needs are dropped as soon as the line is parsed.

use std::borrow::Cow;
use std::path::Path;

use super::otlp_value::{raw_json, KeyValue, Resource};

pub mod scan;
use super::span::{compact, AttrKeys, Attributes, Ids, Scalar};
use crate::error::{Error, Result, Skips};
use crate::intern::Interner;
use crate::model::{Origin, Span};
use serde::de::IgnoredAny;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TracesData<'a> {
    #[serde(borrow)]
    resource_spans: Option<Vec<ResourceSpans<'a>>>,
    #[serde(borrow)]
    batches: Option<Vec<ResourceSpans<'a>>>,
    #[serde(borrow)]
    resource_logs: Option<Vec<super::otlp_logs::ResourceLogs<'a>>>,
    resource_metrics: Option<IgnoredAny>,
    /// Tempo's v2 API (`GET /api/v2/traces/<id>`): `{"trace": {"resourceSpans": …}}`.
    #[serde(borrow)]
    trace: Option<Box<TracesData<'a>>>,
    /// Jaeger v2's API (`GET /api/v3/traces/<id>`, its gRPC gateway):
    /// `{"result": {"resourceSpans": …}}`.
    #[serde(borrow)]
    result: Option<Box<TracesData<'a>>>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct ResourceSpans<'a> {
    #[serde(borrow, default)]
    resource: Resource<'a>,
    #[serde(borrow, default, alias = "instrumentationLibrarySpans")]
    scope_spans: Vec<ScopeSpans<'a>>,
}

#[derive(Debug, Deserialize, PartialEq)]
struct ScopeSpans<'a> {
    #[serde(borrow, default)]
    spans: Vec<OtlpSpan<'a>>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct OtlpSpan<'a> {
    #[serde(borrow)]
    trace_id: Cow<'a, str>,
    #[serde(borrow)]
    span_id: Cow<'a, str>,
    #[serde(borrow, default)]
    parent_span_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Cow<'a, str>,
    /// As its JSON text.
    #[serde(borrow, default, deserialize_with = "raw_json")]
    start_time_unix_nano: Option<&'a str>,
    #[serde(borrow, default)]
    attributes: Vec<KeyValue<'a>>,
}

/// Parse one OTLP JSON line into compact spans, passing each to `sink`
/// and each bad span's problem to `bad` (the line's other spans are read
/// on). Returns the number of spans, or the line's problem.
pub fn parse_line(
    text: &str,
    origin: Origin,
    keys: &AttrKeys,
    interner: &mut Interner,
    (sink, bad): (&mut dyn FnMut(Span), &mut dyn FnMut(String)),
) -> std::result::Result<u64, (&'static str, String)> {
    let data = parse_data(text)?;
    let bad_at = &mut |_, message| bad(message);
    let reading = Reading {
        origin,
        lines: None,
        bad: Some(bad_at),
    };
    convert(data, reading, keys, interner, sink).map_err(|(_, m)| ("bad-span", m))
}

/// Where the spans being converted come from, and where a bad one's
/// problem goes (none: it stops the conversion).
struct Reading<'t, 'b> {
    origin: Origin,
    lines: Option<Lines<'t>>,
    /// Takes each bad span's line and problem (none: it stops the
    /// conversion).
    bad: Option<&'b mut dyn FnMut(u64, String)>,
}

/// The trace id of every span of one OTLP JSON line, in order, or the
/// line's problem with its JSON or its ids as [`parse_line`] finds it (a
/// call's bad token count is found when its part is read, naming its
/// source's file and line).
pub fn trace_ids(text: &str) -> std::result::Result<Vec<u128>, (&'static str, String)> {
    all_trace_ids(parse_data(text)?).map_err(|message| ("bad-span", message))
}

/// One line's `TracesData`: by the scanner, or by serde where it gives up.
fn parse_data(text: &str) -> std::result::Result<TracesData<'_>, (&'static str, String)> {
    if let Some(data) = scan::traces(text) {
        return Ok(data);
    }
    serde_json::from_str(text)
        .map_err(|e| ("bad-json", format!("not an OTLP TracesData JSON line: {e}")))
}

/// The trace id of every span and request event of `data`, in order.
fn all_trace_ids(data: TracesData) -> std::result::Result<Vec<u128>, String> {
    let mut traces: Vec<u128> = data
        .resource_logs
        .as_deref()
        .map_or_else(Vec::new, super::otlp_logs::trace_ids);
    each_span(data, &mut |span, _| {
        traces.push(span_ids(span)?.parse(&span.name)?.0);
        Ok(())
    })?;
    Ok(traces)
}

/// Read the rest of a file that holds one JSON document; `head` is what was
/// already read. A broken document is a file-level error (it has no
/// records to skip); a bad span in it is a record named by its line,
/// skipped alone under `--lenient` (`skips`), as in a file of lines.
pub fn read_document(
    path: &Path,
    (file, text): (u32, String),
    keys: &AttrKeys,
    interner: &mut Interner,
    skips: &mut Skips,
    sink: &mut dyn FnMut(Span),
) -> Result<u64> {
    let data = parse_document(path, &text)?;
    let mut bad_spans: Vec<(u64, String)> = Vec::new();
    let reading = Reading {
        origin: Origin { file, line: 1 },
        lines: Some(Lines::new(&text)),
        bad: Some(&mut |line, message| bad_spans.push((line, message))),
    };
    let spans =
        convert(data, reading, keys, interner, sink).map_err(|(line, message)| match line {
            Some(line) => Error::fatal(format!("{}:{line}: {message}", path.display())),
            None => Error::fatal(format!("{}: {message}", path.display())),
        })?;
    for (line, message) in bad_spans {
        skips.handle(Error::record(path, line, "bad-span", message))?;
    }
    Ok(spans)
}

/// The line of a document each of its spans is on (its span id's), found
/// from where the id lies in the text (spans come in text order, so the
/// newlines are counted once).
struct Lines<'t> {
    text: &'t str,
    at: usize,
    line: u64,
}

impl<'t> Lines<'t> {
    fn new(text: &'t str) -> Self {
        Lines {
            text,
            at: 0,
            line: 1,
        }
    }

    /// The line `part` (a slice of the text) is on; `None` for text that is
    /// not in the document (an id unescaped into a copy).
    fn of(&mut self, part: &str) -> Option<u64> {
        let offset = (part.as_ptr() as usize).checked_sub(self.text.as_ptr() as usize)?;
        if offset > self.text.len() || offset < self.at {
            return None;
        }
        let between = &self.text.as_bytes()[self.at..offset];
        self.line += memchr::memchr_iter(b'\n', between).count() as u64;
        self.at = offset;
        Some(self.line)
    }
}

/// [`trace_ids`] of a file that holds one document, or its problem as
/// [`read_document`] finds it.
pub fn document_trace_ids(path: &Path, text: &str) -> Result<Vec<u128>> {
    all_trace_ids(parse_document(path, text)?)
        .map_err(|message| Error::fatal(format!("{}: {message}", path.display())))
}

fn parse_document<'t>(path: &Path, text: &'t str) -> Result<TracesData<'t>> {
    serde_json::from_str(text).map_err(|e| {
        Error::fatal(format!(
            "{}:{}: not an OTLP TracesData JSON document: {e}",
            path.display(),
            e.line()
        ))
    })
}

/// Turn one parsed `TracesData` into compact spans; in a whole document,
/// each span's origin is the line its span id is on, and a problem names it.
fn convert(
    data: TracesData,
    mut reading: Reading,
    keys: &AttrKeys,
    interner: &mut Interner,
    sink: &mut dyn FnMut(Span),
) -> std::result::Result<u64, (Option<u64>, String)> {
    let origin = reading.origin;
    let mut count = 0;
    if let Some(logs) = &data.resource_logs {
        count +=
            super::otlp_logs::spans(logs, origin, keys, interner, sink).map_err(|m| (None, m))?;
    }
    let mut failed_at = None;
    each_span(data, &mut |span, attrs| {
        let line = reading.lines.as_mut().and_then(|l| l.of(&span.span_id));
        let origin = Origin {
            line: line.unwrap_or(origin.line),
            ..origin
        };
        failed_at = line;
        let compacted = span_ids(span)
            .and_then(|ids| compact(&span.name, ids, attrs, origin, keys, interner))
            .and_then(|kept| attrs.problem(&span.name).map_or(Ok(kept), Err));
        match (compacted, &mut reading.bad) {
            (Ok(Some(span)), _) => {
                sink(span);
                count += 1;
            }
            (Ok(None), _) => {}
            (Err(message), Some(bad)) => bad(origin.line, message),
            (Err(message), None) => return Err(message),
        }
        Ok(())
    })
    .map_err(|m| (failed_at, m))?;
    Ok(count)
}

/// The document inside a line's one API wrapper (Tempo's `trace`, Jaeger
/// v2's `result`) where the line lists no resources of its own (`listed`);
/// none for two wrappers (the line is then refused). `partition` cuts a
/// line by the same rule.
pub fn inside_wrapper<T>(listed: bool, trace: Option<Box<T>>, result: Option<Box<T>>) -> Option<T> {
    match (trace, result) {
        (Some(inner), None) | (None, Some(inner)) if !listed => Some(*inner),
        _ => None,
    }
}

/// `f` on every span of a `TracesData` in order (resources, their scopes,
/// their spans), with its attributes; the first problem stops.
fn each_span(
    data: TracesData,
    f: &mut dyn FnMut(&OtlpSpan, &Attrs) -> std::result::Result<(), String>,
) -> std::result::Result<(), String> {
    let mut data = data;
    let listed = data.resource_spans.is_some() || data.batches.is_some();
    let data = inside_wrapper(listed, data.trace.take(), data.result.take()).unwrap_or(data);
    let has_signal = data.resource_logs.is_some() || data.resource_metrics.is_some();
    let resources = match (data.resource_spans, data.batches) {
        (Some(rs), _) | (None, Some(rs)) => rs,
        (None, None) if has_signal => Vec::new(),
        (None, None) => {
            return Err(
                "no \"resourceSpans\" (or Tempo \"batches\") key: not OTLP trace data".into(),
            )
        }
    };
    for resource in &resources {
        for scope in &resource.scope_spans {
            for span in &scope.spans {
                let attrs = Attrs {
                    span: &span.attributes,
                    resource: &resource.resource.attributes,
                    problem: std::cell::Cell::new(None),
                };
                f(span, &attrs)?;
            }
        }
    }
    Ok(())
}

/// A span's ids and start, as written.
fn span_ids<'s>(span: &'s OtlpSpan) -> std::result::Result<Ids<'s>, String> {
    let start = span.start_time_unix_nano.unwrap_or_default();
    let start_ns = start_ns(start).ok_or_else(|| {
        format!(
            "span \"{}\": startTimeUnixNano {start} is not whole nanoseconds since the epoch",
            span.name
        )
    })?;
    Ok(Ids {
        trace: (&span.trace_id, "traceId"),
        span: (&span.span_id, "spanId"),
        parent: (span.parent_span_id.as_deref(), "parentSpanId"),
        start_ns,
    })
}

/// `startTimeUnixNano` (a decimal string by the spec, a number in some
/// exports); 0, meaning unknown, when absent or empty. Anything else (a
/// date, an exponent) is no time: the fingerprint join and the steps
/// need it, so the span is a bad record.
fn start_ns(raw: &str) -> Option<u64> {
    match raw.trim_matches('"') {
        "" => Some(0),
        digits => digits.parse().ok(),
    }
}

/// A span's attributes with its resource's as fallback.
struct Attrs<'x, 'a> {
    span: &'x [KeyValue<'a>],
    resource: &'x [KeyValue<'a>],
    /// An attribute read that is not what OTLP writes (a `stringValue`
    /// that is no string, a value of two types) or that the span (or its
    /// resource) gives again with another value (OTLP keys are unique:
    /// which holds is not known), and what is wrong with it.
    problem: std::cell::Cell<Option<(&'x str, &'static str)>>,
}

impl<'x> Attrs<'x, '_> {
    /// The problem of span `name` with an attribute it was read for.
    fn problem(&self, name: &str) -> Option<String> {
        let (key, why) = self.problem.get()?;
        Some(format!("span \"{name}\": attribute \"{key}\" {why}"))
    }

    /// The value of `key` in `list`, noting it where `list` gives the key
    /// again with another value (as text: `5` and `"5"` are one value).
    fn first(&self, list: &'x [KeyValue], key: &str) -> Option<Option<Scalar<'x>>> {
        let at = list.iter().position(|kv| kv.key == key)?;
        let value = list[at].value.scalar();
        let free_text = crate::read::span::FREE_TEXT_KEYS.contains(&key);
        let problem = match free_text {
            true => list[at].value.malformed(),
            false => list[at].value.malformed_when_read(),
        };
        if let Some(why) = problem {
            self.problem.set(Some((&list[at].key, why)));
        }
        let text = value.clone().and_then(Scalar::into_text);
        let again =
            |kv: &KeyValue| kv.key == key && kv.value.scalar().and_then(Scalar::into_text) != text;
        if list[at + 1..].iter().any(again) {
            let why = "is given twice, with different values: which one holds is not known";
            self.problem.set(Some((&list[at].key, why)));
        }
        Some(value)
    }
}

impl Attributes for Attrs<'_, '_> {
    fn value(&self, key: &str) -> Option<Scalar<'_>> {
        // Span attributes first: they override the resource's.
        (self.first(self.span, key))
            .or_else(|| self.first(self.resource, key))
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::super::span::parse_hex_id;
    use super::super::spans::read_file;
    use super::*;
    use crate::error::Skips;
    use crate::model::Role;

    pub(crate) fn keys() -> AttrKeys {
        AttrKeys {
            tenant: vec!["tenant.id".into(), "gen_ai.conversation.id".into()],
            feature: "app.feature".into(),
            join: vec!["gen_ai.response.id".into()],
            outcome: "app.outcome".into(),
            shard: None,
        }
    }

    fn read(text: &str) -> Result<(Vec<Span>, Interner)> {
        let path =
            std::env::temp_dir().join(format!("tl-otlp-{}-{}", std::process::id(), text.len()));
        std::fs::write(&path, text).unwrap();
        let mut interner = Interner::default();
        let mut spans = Vec::new();
        let mut skips = Skips::new(false);
        let reading = super::super::spans::Reading {
            keys: &keys(),
            threads: 2,
            fingerprint: None,
            by_source: false,
        };
        let result = read_file(&path, 0, &reading, &mut interner, &mut skips, &mut |s| {
            spans.push(s)
        });
        std::fs::remove_file(&path).unwrap();
        result.map(|_| (spans, interner))
    }

    #[test]
    fn hex_ids_accept_either_case_and_0x() {
        assert_eq!(
            parse_hex_id("EEE19B7EC3C1B174", 16),
            Some(0xeee19b7ec3c1b174)
        );
        assert_eq!(
            parse_hex_id("0xeee19b7ec3c1b174", 16),
            Some(0xeee19b7ec3c1b174)
        );
        assert_eq!(parse_hex_id("eee19b7ec3c1b17", 16), None);
        assert_eq!(parse_hex_id("zee19b7ec3c1b174", 16), None);
        assert_eq!(
            parse_hex_id("5B8EFFF798038103d269b633813fc60c", 32),
            Some(0x5b8efff798038103d269b633813fc60c)
        );
        for bad in [
            "5b8efff79803810gd269b633813fc60c",
            "5b8efff798038103d269b633813fc6 c",
        ] {
            assert_eq!(parse_hex_id(bad, 32), None, "{bad}");
        }
        assert_eq!(parse_hex_id("5b8efff7980381é3d269b633813fc60", 32), None);
        // Base64, as Tempo's JSON API writes ids: padded or not, either
        // alphabet; a non-canonical last character is refused.
        let trace = 0xdd5475b0319ab0312cee07f1bd4bcdad_u128;
        assert_eq!(parse_hex_id("3VR1sDGasDEs7gfxvUvNrQ==", 32), Some(trace));
        assert_eq!(parse_hex_id("3VR1sDGasDEs7gfxvUvNrQ", 32), Some(trace));
        assert_eq!(parse_hex_id("3VR1sDGasDEs7gfxvUvNrR==", 32), None);
        assert_eq!(parse_hex_id("7uGbfsPBsXQ=", 16), Some(0xeee19b7ec3c1b174));
        assert_eq!(parse_hex_id("7uGbfsPBsXQ", 16), Some(0xeee19b7ec3c1b174));
        assert_eq!(parse_hex_id("7uGbfs*BsXQ=", 16), None);
    }

    #[test]
    fn int_values_as_strings_or_numbers_and_kind_names() {
        let line = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"tenant.id","value":{"stringValue":"acme"}}]},"scopeSpans":[{"spans":[{"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","name":"chat gpt-4o","kind":"SPAN_KIND_CLIENT","attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},{"key":"gen_ai.response.id","value":{"stringValue":"chatcmpl-1"}},{"key":"gen_ai.usage.input_tokens","value":{"intValue":"120"}},{"key":"gen_ai.usage.output_tokens","value":{"intValue":7}},{"key":"gen_ai.input.messages","value":{"arrayValue":{"values":[{"stringValue":"hi"}]}}}]}]}]}]}"#;
        let (spans, interner) = read(line).unwrap();
        assert_eq!(spans.len(), 1);
        let span = &spans[0];
        assert_eq!(span.trace_id, 0x5b8efff798038103d269b633813fc60c);
        assert_eq!(span.parent_id, 0);
        assert_eq!(span.role, Role::Call);
        assert_eq!(interner.get(span.tenant.unwrap().1), "acme");
        let call = span.call.as_ref().unwrap();
        assert_eq!(call.join_key.as_deref(), Some("chatcmpl-1"));
        assert_eq!(
            (call.input_tokens, call.output_tokens),
            (Some(120), Some(7))
        );
    }

    #[test]
    fn older_and_other_libraries_names_are_read() {
        // gen_ai.usage.prompt_tokens (before v1.27), OpenInference's span kind
        // and counts, and Anthropic-native input that excludes cached tokens.
        let line = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"0000000000000001","name":"ChatAnthropic","attributes":[{"key":"openinference.span.kind","value":{"stringValue":"LLM"}},{"key":"llm.token_count.prompt","value":{"intValue":"100"}},{"key":"llm.token_count.prompt_details.cache_read","value":{"intValue":"900"}},{"key":"llm.token_count.completion","value":{"intValue":"5"}},{"key":"session.id","value":{"stringValue":"s-1"}}]}]}]}]}"#;
        let (spans, interner) = read(line).unwrap();
        let call = spans[0]
            .call
            .as_ref()
            .expect("an OpenInference LLM span is a call");
        assert_eq!(
            call.input_tokens,
            Some(1000),
            "100 uncached + 900 cache read"
        );
        assert_eq!(call.output_tokens, Some(5));
        assert_eq!(interner.get(spans[0].tenant.unwrap().1), "s-1");
    }

    #[test]
    fn a_tenant_exported_as_a_number_keeps_its_name() {
        for (value, name) in [
            (r#"{"doubleValue":1.5}"#, "1.5"),
            (r#"{"doubleValue":42.0}"#, "42"),
        ] {
            let line = format!(
                r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"x","attributes":[{{"key":"tenant.id","value":{value}}}]}}]}}]}}]}}"#
            );
            let (spans, interner) = read(&line).unwrap();
            assert_eq!(interner.get(spans[0].tenant.unwrap().1), name);
        }
    }

    #[test]
    fn float_int_value_is_an_error_naming_the_line() {
        let line = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"x","attributes":[{"key":"n","value":{"intValue":1.5}}]}]}]}]}"#;
        let err = read(&format!("\n{line}\n")).unwrap_err().to_string();
        assert!(
            err.contains(":2: not an OTLP TracesData JSON line"),
            "{err}"
        );
    }

    #[test]
    fn agent_and_tool_names_fall_back_to_the_span_name() {
        let line = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"0000000000000001","name":"invoke_agent planner","attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"invoke_agent"}}]},{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"0000000000000002","parentSpanId":"0000000000000001","name":"execute_tool web_search"}]}]}]}"#;
        let (spans, interner) = read(line).unwrap();
        assert_eq!(interner.get(spans[0].agent.unwrap()), "planner");
        assert_eq!(spans[1].role, Role::Tool);
        assert_eq!(interner.get(spans[1].tool.unwrap()), "web_search");
    }
}
