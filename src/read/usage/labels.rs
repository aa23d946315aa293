//! A usage record's labels: the owner-like fields its source carries
//! (docs/allocation.md lists them per source), kept as (name, value) pairs
//! for allocation rules.

use serde_json::Value;

use crate::intern::Interner;
use crate::intern::LabelSet;

/// The labels of `pairs`: empty values dropped, values trimmed, sorted by
/// name; of two values under one name the first is kept.
pub fn labels_of(
    pairs: impl IntoIterator<Item = (String, String)>,
    interner: &mut Interner,
) -> LabelSet {
    let mut kept: Vec<(String, String)> = Vec::new();
    for (name, value) in pairs {
        let value = value.trim();
        if value.is_empty() || kept.iter().any(|(n, _)| *n == name) {
            continue;
        }
        kept.push((name, value.to_string()));
    }
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    let pairs = kept
        .into_iter()
        .map(|(name, value)| (interner.intern(&name), interner.intern(&value)))
        .collect();
    interner.label_set(pairs)
}

/// A JSON scalar as label text: strings as they are, numbers and booleans
/// as written; objects, arrays and null are not labels.
pub fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Each key of a JSON object whose value is a scalar, as
/// (`<prefix>.<key>`, value).
pub fn object_labels(prefix: &str, value: Option<&Value>) -> Vec<(String, String)> {
    let Some(Value::Object(map)) = value else {
        return Vec::new();
    };
    map.iter()
        .filter_map(|(k, v)| Some((format!("{prefix}.{k}"), scalar(v)?)))
        .collect()
}

/// Tags as one label value: a JSON array of strings (or its text), joined
/// by commas.
pub fn tags(value: Option<&Value>) -> Option<String> {
    let list: Vec<String> = match value? {
        Value::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Value::String(text) => serde_json::from_str(text).unwrap_or_else(|_| vec![text.clone()]),
        _ => return None,
    };
    (!list.is_empty()).then(|| list.join(","))
}
