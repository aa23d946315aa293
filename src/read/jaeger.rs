//! Jaeger JSON: the query API's `GET /api/traces/<id>` and the UI's
//! "Download JSON" shape, one document per file:
//! `{"data": [{"traceID", "spans": [{"traceID", "spanID", "operationName",
//! "references": [{"refType": "CHILD_OF", "spanID"}], "startTime" (µs),
//! "tags": [{"key", "type", "value"}], "processID"}], "processes": {"p1":
//! {"serviceName", "tags": [...]}}}]}`. A span's process tags apply to it
//! as resource attributes do in OTLP.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::flat::{same_value, Unreadable, GIVEN_TWICE};
use super::span::{compact, AttrKeys, Attributes, Ids, Scalar};
use crate::intern::Interner;
use crate::model::{Origin, Span};

#[derive(Deserialize)]
struct Document<'a> {
    #[serde(borrow)]
    data: Vec<Trace<'a>>,
}

#[derive(Deserialize)]
struct Trace<'a> {
    #[serde(borrow, default)]
    spans: Vec<JaegerSpan<'a>>,
    #[serde(borrow, default)]
    processes: BTreeMap<Cow<'a, str>, Process<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JaegerSpan<'a> {
    #[serde(borrow, rename = "traceID")]
    trace_id: Cow<'a, str>,
    #[serde(borrow, rename = "spanID")]
    span_id: Cow<'a, str>,
    #[serde(borrow, default)]
    operation_name: Cow<'a, str>,
    #[serde(borrow, default)]
    references: Vec<Reference<'a>>,
    start_time: Option<u64>,
    #[serde(borrow, default)]
    tags: Vec<Tag<'a>>,
    #[serde(borrow, rename = "processID")]
    process_id: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Reference<'a> {
    #[serde(borrow, rename = "refType")]
    ref_type: Cow<'a, str>,
    #[serde(borrow, rename = "spanID")]
    span_id: Cow<'a, str>,
}

#[derive(Deserialize)]
struct Process<'a> {
    #[serde(borrow, default)]
    tags: Vec<Tag<'a>>,
}

#[derive(Deserialize)]
struct Tag<'a> {
    #[serde(borrow)]
    key: Cow<'a, str>,
    #[serde(borrow)]
    value: &'a RawValue,
}

/// A span's tags, then its process's.
struct Tags<'x, 'a> {
    span: &'x [Tag<'a>],
    process: &'x [Tag<'a>],
    unreadable: Unreadable,
}

impl Attributes for Tags<'_, '_> {
    fn value(&self, key: &str) -> Option<Scalar<'_>> {
        let (tags, at) = [self.span, self.process]
            .into_iter()
            .find_map(|tags| Some((tags, tags.iter().position(|t| t.key == key)?)))?;
        let value = tags[at].value;
        let again = |t: &Tag| t.key == key && !same_value(t.value, value);
        if tags[at + 1..].iter().any(again) {
            self.unreadable.note(key, GIVEN_TWICE);
        }
        self.unreadable.scalar(key, value)
    }
}

/// Whether a document's text is Jaeger JSON rather than OTLP.
pub fn is_jaeger(text: &str) -> bool {
    text.contains("\"traceID\"")
        && !text.contains("\"resourceSpans\"")
        && !text.contains("\"batches\"")
}

/// Read a Jaeger JSON document, passing each span to `sink`; the number of
/// spans passed, or what was wrong.
pub fn parse_document(
    text: &str,
    origin: Origin,
    keys: &AttrKeys,
    interner: &mut Interner,
    sink: &mut dyn FnMut(Span),
) -> std::result::Result<u64, String> {
    let doc: Document =
        serde_json::from_str(text).map_err(|e| format!("not a Jaeger JSON document: {e}"))?;
    let mut count = 0;
    for trace in &doc.data {
        for span in &trace.spans {
            let process = span
                .process_id
                .as_deref()
                .and_then(|id| trace.processes.get(id))
                .map_or(&[][..], |p| &p.tags[..]);
            // Jaeger writes 64-bit trace ids as 16 digits.
            let trace_id = format!("{:0>32}", span.trace_id);
            let parent = span
                .references
                .iter()
                .find(|r| r.ref_type == "CHILD_OF")
                .or_else(|| span.references.first())
                .map(|r| r.span_id.as_ref());
            let ids = Ids {
                trace: (&trace_id, "traceID"),
                span: (&span.span_id, "spanID"),
                parent: (parent, "references.spanID"),
                start_ns: span.start_time.map_or(0, |us| us.saturating_mul(1_000)),
            };
            let attrs = Tags {
                span: &span.tags,
                process,
                unreadable: Unreadable::default(),
            };
            let compacted = compact(&span.operation_name, ids, &attrs, origin, keys, interner)?;
            if let Some(problem) = attrs.unreadable.problem(&span.operation_name) {
                return Err(problem);
            }
            if let Some(s) = compacted {
                sink(s);
                count += 1;
            }
        }
    }
    Ok(count)
}
