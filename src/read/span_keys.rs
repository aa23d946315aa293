//! The attribute keys span files actually carry, for the messages that
//! explain an empty or unattributed answer ("spans carry
//! gen_ai.response.id; did you mean --join-attr gen_ai.response.id?").
//! Read only when such a message is due: the first records of each file,
//! as generic JSON, whatever the dialect.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::PathBuf;

use serde_json::Value;

/// How much of each span file is read for its keys.
pub const SAMPLE_BYTES: u64 = 4 << 20;

/// Attribute keys seen on a sample of spans.
#[derive(Debug, Default)]
pub struct SpanKeys {
    /// Keys of spans that look like model calls (they carry token counts).
    pub call: BTreeSet<String>,
    /// Keys of root spans (no parent).
    pub root: BTreeSet<String>,
    /// Keys of every span sampled.
    pub all: BTreeSet<String>,
}

impl SpanKeys {
    /// The keys of the spans in the first [`SAMPLE_BYTES`] of each of
    /// `files`: each line that is JSON on its own, else the whole sample as
    /// one document (files that cannot be read, and documents larger than
    /// the sample, are passed over: this only explains).
    pub fn sample(files: &[PathBuf]) -> SpanKeys {
        let mut keys = SpanKeys::default();
        for path in files {
            let Ok(reader) = super::open(path) else {
                continue;
            };
            let mut bytes = Vec::new();
            if reader.take(SAMPLE_BYTES).read_to_end(&mut bytes).is_err() {
                continue;
            }
            let text = String::from_utf8_lossy(&bytes);
            let mut any = false;
            for line in text.lines() {
                if let Ok(value) = serde_json::from_str::<Value>(line) {
                    keys.visit(&value);
                    any = true;
                }
            }
            if !any {
                if let Ok(value) = serde_json::from_str::<Value>(&text) {
                    keys.visit(&value);
                }
            }
        }
        keys
    }

    /// Collect the keys of every span object below `value`.
    fn visit(&mut self, value: &Value) {
        match value {
            Value::Array(items) => items.iter().for_each(|v| self.visit(v)),
            Value::Object(map) => {
                if let Some(attributes) = map.get("attributes").or_else(|| map.get("tags")) {
                    self.span(map, attributes);
                }
                map.values().for_each(|v| self.visit(v));
            }
            _ => {}
        }
    }

    /// Record one span's keys under what it looks like.
    fn span(&mut self, span: &serde_json::Map<String, Value>, attributes: &Value) {
        let mut keys = BTreeSet::new();
        flatten(attributes, "", &mut keys);
        let parent = [
            "parentSpanId",
            "parent_span_id",
            "parent_id",
            "parentSpanID",
        ]
        .iter()
        .find_map(|k| span.get(*k))
        .filter(|p| !p.is_null() && p.as_str() != Some(""));
        let is_call = keys
            .iter()
            .any(|k| k.contains("usage.") || k.contains("token_count") || k.ends_with("_tokens"));
        if parent.is_none() && !span.contains_key("references") {
            self.root.extend(keys.iter().cloned());
        }
        self.all.extend(keys.iter().cloned());
        if is_call {
            self.call.extend(keys);
        }
    }
}

/// Attribute keys from OTLP's `[{key, value}]`, Jaeger's `[{key, …}]`, or a
/// (possibly nested) object, dotted.
fn flatten(attributes: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match attributes {
        Value::Array(items) => {
            for item in items {
                if let Some(key) = item.get("key").and_then(Value::as_str) {
                    out.insert(key.to_string());
                }
            }
        }
        Value::Object(map) => {
            for (key, value) in map {
                let key = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                match value {
                    Value::Object(_) => flatten(value, &key, out),
                    _ => {
                        out.insert(key);
                    }
                }
            }
        }
        _ => {}
    }
}

/// The keys among `keys` that look like a provider's request or response
/// id (`gen_ai.response.id`, `response_id`, `aws.request_id`,
/// `llm.response.id`), not a session, tenant or tool-call id.
pub fn id_like(keys: &BTreeSet<String>) -> Vec<&str> {
    keys.iter()
        .map(String::as_str)
        .filter(|k| {
            let lower = k.to_ascii_lowercase();
            let id = lower.ends_with("id") || lower.ends_with("_id") || lower.ends_with(".id");
            let of_request = ["response", "request", "message", "generation", "completion"]
                .iter()
                .any(|w| lower.contains(w));
            id && of_request
        })
        .collect()
}
