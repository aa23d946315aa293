//! OTLP JSON spans: JSON lines as the Collector's file exporter writes them
//! (one `TracesData` per line), or one (pretty-printed) document per file.
//! Grafana Tempo's `{"batches": …}` wrapper and the older
//! `instrumentationLibrarySpans` key are read as the same thing.
//!
//! Each span is reduced at once to a compact [`Span`]: attributes other than
//! the few attribution needs are dropped as soon as the line is parsed.

use std::borrow::Cow;
use std::io::BufRead;
use std::path::Path;

use serde::de::{self, IgnoredAny};
use serde::Deserialize;

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
    /// The span attribute holding the provider's request id (`--join-attr`).
    pub join: String,
}

/// `gen_ai.operation.name` values (or span-name prefixes) of inference calls.
const CALL_OPERATIONS: [&str; 4] = ["chat", "text_completion", "generate_content", "embeddings"];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TracesData<'a> {
    #[serde(borrow)]
    resource_spans: Option<Vec<ResourceSpans<'a>>>,
    #[serde(borrow)]
    batches: Option<Vec<ResourceSpans<'a>>>,
    resource_logs: Option<IgnoredAny>,
    resource_metrics: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceSpans<'a> {
    #[serde(borrow, default)]
    resource: Resource<'a>,
    #[serde(borrow, default, alias = "instrumentationLibrarySpans")]
    scope_spans: Vec<ScopeSpans<'a>>,
}

#[derive(Default, Deserialize)]
struct Resource<'a> {
    #[serde(borrow, default)]
    attributes: Vec<KeyValue<'a>>,
}

#[derive(Deserialize)]
struct ScopeSpans<'a> {
    #[serde(borrow, default)]
    spans: Vec<OtlpSpan<'a>>,
}

#[derive(Deserialize)]
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
    #[serde(borrow, default)]
    attributes: Vec<KeyValue<'a>>,
}

#[derive(Deserialize)]
struct KeyValue<'a> {
    #[serde(borrow)]
    key: Cow<'a, str>,
    #[serde(borrow, default)]
    value: AnyValue<'a>,
}

/// An attribute value; array, kvlist and bytes values are skipped unread.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AnyValue<'a> {
    #[serde(borrow)]
    string_value: Option<Cow<'a, str>>,
    int_value: Option<IntValue>,
    bool_value: Option<bool>,
}

/// OTLP's 64-bit `intValue`: a decimal string by the spec, a bare number in
/// many real exports. Anything else (a float, out of range) is an error.
struct IntValue(i64);

impl<'de> Deserialize<'de> for IntValue {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = IntValue;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an intValue: a 64-bit integer as a decimal string or a number")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<IntValue, E> {
                Ok(IntValue(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<IntValue, E> {
                i64::try_from(v).map(IntValue).map_err(|_| {
                    E::custom(format!("intValue {v} is out of the 64-bit signed range"))
                })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<IntValue, E> {
                v.parse()
                    .map(IntValue)
                    .map_err(|_| E::custom(format!("intValue \"{v}\" is not a 64-bit integer")))
            }
        }
        d.deserialize_any(V)
    }
}

impl AnyValue<'_> {
    /// The value as text, for dimensions and ids (strings, integers, booleans).
    fn text(&self) -> Option<Cow<'_, str>> {
        if let Some(s) = &self.string_value {
            Some(Cow::Borrowed(s))
        } else if let Some(IntValue(i)) = self.int_value {
            Some(Cow::Owned(i.to_string()))
        } else {
            self.bool_value.map(|b| Cow::Owned(b.to_string()))
        }
    }

    /// The value as a token count.
    fn count(&self) -> Option<u64> {
        match (&self.int_value, &self.string_value) {
            (Some(IntValue(i)), _) => u64::try_from(*i).ok(),
            (None, Some(s)) => s.parse().ok(),
            _ => None,
        }
    }
}

/// Read every span of one OTLP JSON file, passing each to `sink`.
/// Returns the number of spans read.
pub fn read_file(
    path: &Path,
    file: u32,
    keys: &AttrKeys,
    interner: &mut Interner,
    skips: &mut Skips,
    sink: &mut dyn FnMut(Span),
) -> Result<u64> {
    let mut reader = super::open(path)?;
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    let mut spans = 0u64;
    let mut first = true;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let text = match std::str::from_utf8(&buf) {
            Ok(text) => text.trim(),
            Err(e) => {
                let err = Error::record(
                    path,
                    line_no,
                    "invalid-utf8",
                    format!("invalid UTF-8 at byte {}", e.valid_up_to()),
                );
                skips.handle(err)?;
                continue;
            }
        };
        if text.is_empty() {
            continue;
        }
        let was_first = std::mem::replace(&mut first, false);
        match serde_json::from_str::<TracesData>(text) {
            Ok(data) => {
                let origin = Origin {
                    file,
                    line: line_no,
                };
                let result = convert(data, origin, keys, interner, sink)
                    .map_err(|message| Error::record(path, line_no, "bad-span", message));
                match result {
                    Ok(n) => spans += n,
                    Err(err) => skips.handle(err)?,
                }
            }
            // The first line does not close a JSON value: one document per file.
            Err(e) if was_first && e.is_eof() => {
                return read_document(path, file, keys, interner, reader, buf, sink);
            }
            // The first line is not JSON at all: not a span file.
            Err(e) if was_first && e.is_syntax() => {
                return Err(Error::fatal(format!(
                    "{}:{line_no}: not OTLP JSON (expected a JSON object per line, or one JSON document): {e}",
                    path.display()
                )));
            }
            Err(e) => {
                let err = Error::record(
                    path,
                    line_no,
                    "bad-json",
                    format!("not an OTLP TracesData JSON line: {e}"),
                );
                skips.handle(err)?;
            }
        }
    }
    if first {
        return Err(super::empty(path));
    }
    Ok(spans)
}

/// Parse one OTLP JSON line (or document) into compact spans; for fuzzing
/// and tests. The message says what was wrong.
pub fn parse_line(
    text: &str,
    keys: &AttrKeys,
    interner: &mut Interner,
) -> std::result::Result<Vec<Span>, String> {
    let data: TracesData = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut spans = Vec::new();
    convert(
        data,
        Origin { file: 0, line: 1 },
        keys,
        interner,
        &mut |s| spans.push(s),
    )?;
    Ok(spans)
}

/// Read the rest of a file that holds one JSON document; `head` is what was
/// already read. Errors here are file-level: a broken document has no
/// records to skip.
fn read_document(
    path: &Path,
    file: u32,
    keys: &AttrKeys,
    interner: &mut Interner,
    mut reader: impl BufRead,
    mut head: Vec<u8>,
    sink: &mut dyn FnMut(Span),
) -> Result<u64> {
    reader
        .read_to_end(&mut head)
        .map_err(|e| Error::io(path, e))?;
    let text = std::str::from_utf8(&head).map_err(|e| {
        Error::fatal(format!(
            "{}: invalid UTF-8 at byte {}",
            path.display(),
            e.valid_up_to()
        ))
    })?;
    let data: TracesData = serde_json::from_str(text).map_err(|e| {
        Error::fatal(format!(
            "{}:{}: not an OTLP TracesData JSON document: {e}",
            path.display(),
            e.line()
        ))
    })?;
    convert(data, Origin { file, line: 1 }, keys, interner, sink)
        .map_err(|message| Error::fatal(format!("{}: {message}", path.display())))
}

/// Turn one parsed `TracesData` into compact spans.
fn convert(
    data: TracesData,
    origin: Origin,
    keys: &AttrKeys,
    interner: &mut Interner,
    sink: &mut dyn FnMut(Span),
) -> std::result::Result<u64, String> {
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
    let mut count = 0;
    for resource in &resources {
        for scope in &resource.scope_spans {
            for span in &scope.spans {
                let attrs = Attrs {
                    span: &span.attributes,
                    resource: &resource.resource.attributes,
                };
                sink(compact(span, &attrs, origin, keys, interner)?);
                count += 1;
            }
        }
    }
    Ok(count)
}

/// A span's attributes with its resource's as fallback.
struct Attrs<'x, 'a> {
    span: &'x [KeyValue<'a>],
    resource: &'x [KeyValue<'a>],
}

impl<'x> Attrs<'x, '_> {
    fn get(&self, key: &str) -> Option<&'x AnyValue<'x>> {
        let find = |kvs: &'x [KeyValue]| kvs.iter().find(|kv| kv.key == key).map(|kv| &kv.value);
        find(self.span).or_else(|| find(self.resource))
    }

    fn text(&self, key: &str) -> Option<Cow<'x, str>> {
        self.get(key)
            .and_then(AnyValue::text)
            .filter(|s| !s.is_empty())
    }
}

fn compact(
    span: &OtlpSpan,
    attrs: &Attrs,
    origin: Origin,
    keys: &AttrKeys,
    interner: &mut Interner,
) -> std::result::Result<Span, String> {
    let what = |field: &str, value: &str| format!("span \"{}\": {field} \"{value}\"", span.name);
    let trace_id = parse_hex_id(&span.trace_id, 32)
        .ok_or_else(|| what("traceId", &span.trace_id) + " is not 32 hex digits")?;
    let span_id = parse_hex_id(&span.span_id, 16)
        .map(|id| id as u64)
        .filter(|&id| id != 0)
        .ok_or_else(|| what("spanId", &span.span_id) + " is not 16 hex digits (non-zero)")?;
    let parent_id = match span.parent_span_id.as_deref() {
        None | Some("") => 0,
        Some(p) => parse_hex_id(p, 16)
            .map(|id| id as u64)
            .ok_or_else(|| what("parentSpanId", p) + " is not 16 hex digits")?,
    };
    let operation = attrs.text("gen_ai.operation.name");
    let (name_op, name_rest) = span.name.split_once(' ').unwrap_or((&span.name, ""));
    let op = operation.as_deref().unwrap_or(name_op);
    let join_key = attrs.text(&keys.join);
    let role = match op {
        "invoke_agent" => Role::Agent,
        "execute_tool" => Role::Tool,
        _ if CALL_OPERATIONS.contains(&op) || join_key.is_some() => Role::Call,
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
        Box::new(CallInfo {
            join_key: join_key.map(|k| k.into()),
            name: span.name.as_ref().into(),
            model: model.map(|m| interner.intern(&m)),
            input_tokens: attrs
                .get("gen_ai.usage.input_tokens")
                .and_then(AnyValue::count),
            output_tokens: attrs
                .get("gen_ai.usage.output_tokens")
                .and_then(AnyValue::count),
        })
    });
    Ok(Span {
        trace_id,
        span_id,
        parent_id,
        role,
        agent,
        tool,
        tenant,
        feature,
        call,
        origin,
    })
}

/// Parse a hex id of exactly `digits` digits, in either case, with an
/// optional `0x` prefix.
pub fn parse_hex_id(text: &str, digits: usize) -> Option<u128> {
    let hex = text.strip_prefix("0x").unwrap_or(text);
    if hex.len() != digits || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u128::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> AttrKeys {
        AttrKeys {
            tenant: vec!["tenant.id".into(), "gen_ai.conversation.id".into()],
            feature: "app.feature".into(),
            join: "gen_ai.response.id".into(),
        }
    }

    fn read(text: &str) -> Result<(Vec<Span>, Interner)> {
        let dir =
            std::env::temp_dir().join(format!("tl-otlp-{}-{}", std::process::id(), text.len()));
        std::fs::write(&dir, text).unwrap();
        let mut interner = Interner::default();
        let mut spans = Vec::new();
        let mut skips = Skips::new(false);
        let result = read_file(&dir, 0, &keys(), &mut interner, &mut skips, &mut |s| {
            spans.push(s)
        });
        std::fs::remove_file(&dir).unwrap();
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
