//! Flat one-span-per-line JSONL, as the Python SDK's `span.to_json()`
//! (compacted) and Phoenix or Logfire exports write it:
//! `{"name", "context": {"trace_id": "0x…", "span_id": "0x…"}, "parent_id":
//! "0x…"|null, "attributes": {…}, "resource": {"attributes": {…}}}`, or with
//! top-level `trace_id` / `span_id` / `parent_span_id`, or camelCase
//! `traceId` / `spanId` / `parentSpanId` / `startTimeUnixNano` (CloudWatch's
//! `aws/spans` records). Attribute maps hold
//! native JSON types, flat (`"llm.token_count.prompt": 70`) or nested as
//! Phoenix writes them (`"llm": {"token_count": {"prompt": 70}}`); values
//! other than strings, numbers and booleans are skipped unread.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::span::{compact, AttrKeys, Attributes, Ids, Scalar, FREE_TEXT_KEYS};
use crate::intern::Interner;
use crate::model::{Origin, Span};

type AttrMap<'a> = BTreeMap<Cow<'a, str>, &'a RawValue>;

/// An attribute object as written: its members in order, a key given twice
/// kept twice (a map keeps the last, whatever the other said).
struct Written<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Written<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> serde::de::Visitor<'de> for Members {
            type Value = Written<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of attributes")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut m: M,
            ) -> Result<Written<'de>, M::Error> {
                let mut members = Vec::new();
                while let Some(member) = m.next_entry()? {
                    members.push(member);
                }
                Ok(Written(members))
            }
        }
        d.deserialize_map(Members)
    }
}

/// Attributes flattened to dotted keys, with the keys given twice (written
/// twice, or nested and dotted) with different values.
#[derive(Default)]
struct Flat<'a> {
    map: AttrMap<'a>,
    twice: Vec<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct FlatSpan<'a> {
    #[serde(borrow, default)]
    name: Cow<'a, str>,
    #[serde(borrow)]
    context: Option<Context<'a>>,
    #[serde(borrow, alias = "traceId")]
    trace_id: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "spanId")]
    span_id: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "parent_span_id", alias = "parentSpanId")]
    parent_id: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "startTimeUnixNano")]
    start_time: Option<&'a RawValue>,
    #[serde(borrow, default)]
    attributes: Option<Written<'a>>,
    #[serde(borrow, default)]
    resource: Option<Resource<'a>>,
}

#[derive(Deserialize)]
struct Context<'a> {
    #[serde(borrow)]
    trace_id: Cow<'a, str>,
    #[serde(borrow)]
    span_id: Cow<'a, str>,
}

#[derive(Deserialize)]
struct Resource<'a> {
    #[serde(borrow, default)]
    attributes: Option<Written<'a>>,
}

/// A flat span's attributes with its resource's as fallback.
struct Attrs<'x, 'a> {
    span: Option<&'x Flat<'a>>,
    resource: Option<&'x Flat<'a>>,
    unreadable: Unreadable,
}

/// The first attribute read that cannot be read as one value: a string
/// whose escapes decode to no text (a lone UTF-16 surrogate, `\ud800`), or
/// a key given twice with different values. Taken as absent (or as either
/// value), its value (a tenant, a join id) was silently lost or chosen by
/// its place; the span is refused.
#[derive(Default)]
pub struct Unreadable(std::cell::RefCell<Option<(String, &'static str)>>);

/// Why a key given twice is refused (as OTLP's reader says it).
pub const GIVEN_TWICE: &str = "is given twice, with different values: which one holds is not known";

impl Unreadable {
    /// The scalar of `raw` under `key`, noting a string that is no text.
    pub fn scalar<'r>(&self, key: &str, raw: &'r RawValue) -> Option<Scalar<'r>> {
        let value = scalar(raw);
        if value.is_none() && raw.get().starts_with('"') && !FREE_TEXT_KEYS.contains(&key) {
            let why =
                "is a string that is not text (a lone UTF-16 surrogate escape such as \\ud800)";
            self.note(key, why);
        }
        value
    }

    /// Note that `key` is unreadable, and why (the first noted is told).
    pub fn note(&self, key: &str, why: &'static str) {
        self.0
            .borrow_mut()
            .get_or_insert_with(|| (key.to_string(), why));
    }

    /// The span `name`'s problem, if an attribute read was unreadable.
    pub fn problem(&self, name: &str) -> Option<String> {
        let (key, why) = self.0.borrow_mut().take()?;
        Some(format!("span \"{name}\": attribute \"{key}\" {why}"))
    }
}

/// Whether two written values are one value (as text: `5` and `"5"` are).
pub fn same_value(a: &RawValue, b: &RawValue) -> bool {
    let text = |raw| scalar(raw).and_then(Scalar::into_text);
    a.get() == b.get() || text(a).is_some_and(|t| Some(t) == text(b))
}

/// A JSON scalar from its raw text.
pub fn scalar(raw: &RawValue) -> Option<Scalar<'_>> {
    let text = raw.get();
    match text.as_bytes().first()? {
        b'"' => serde_json::from_str::<Cow<str>>(text)
            .ok()
            .map(Scalar::Text),
        b't' | b'f' => serde_json::from_str(text).ok().map(Scalar::Bool),
        b'-' | b'0'..=b'9' => text
            .parse::<i64>()
            .map(Scalar::Int)
            .ok()
            .or_else(|| text.parse::<f64>().ok().map(Scalar::Float)),
        _ => None,
    }
}

impl Attributes for Attrs<'_, '_> {
    fn value(&self, key: &str) -> Option<Scalar<'_>> {
        // Span attributes first: they override the resource's.
        let (flat, raw) = [self.span, self.resource]
            .into_iter()
            .flatten()
            .find_map(|f| Some((f, *f.map.get(key)?)))?;
        if flat.twice.iter().any(|k| k == key) {
            self.unreadable.note(key, GIVEN_TWICE);
        }
        self.unreadable.scalar(key, raw)
    }
}

/// Nested attribute objects (Phoenix writes `{"llm": {"token_count":
/// {"prompt": 70}}}`) as the dotted keys the conventions name
/// (`llm.token_count.prompt`).
fn flattened(written: Written<'_>) -> Flat<'_> {
    let mut flat = Flat::default();
    for (key, raw) in written.0 {
        insert_flat(&mut flat, key, raw, MAX_NESTING);
    }
    flat
}

/// How many levels of nested objects are flattened into dotted keys; an
/// object deeper down is kept whole under its dotted key (and not read:
/// no attribute read here is that deep). Each level parses the rest
/// again, so an unbounded depth took time and memory growing with its
/// square, and the stack.
const MAX_NESTING: u32 = 16;

fn insert_flat<'a>(flat: &mut Flat<'a>, key: Cow<'a, str>, raw: &'a RawValue, levels: u32) {
    if levels > 0 && raw.get().starts_with('{') {
        // Too deep for the parser's limit: kept as it is (and not read).
        if let Ok(inner) = serde_json::from_str::<Written<'a>>(raw.get()) {
            for (sub, value) in inner.0 {
                insert_flat(flat, Cow::Owned(format!("{key}.{sub}")), value, levels - 1);
            }
            return;
        }
    }
    match flat.map.entry(key) {
        std::collections::btree_map::Entry::Vacant(slot) => {
            slot.insert(raw);
        }
        std::collections::btree_map::Entry::Occupied(kept) => {
            if !same_value(kept.get(), raw) {
                flat.twice.push(kept.key().clone());
            }
        }
    }
}

/// `start_time` as an RFC 3339 string with its zone (the Python SDK,
/// Phoenix) or a number since 1970 (bare or a decimal string) in the unit its
/// size says (fractions allowed): seconds below 10¹¹, milliseconds below
/// 10¹⁴, microseconds below 10¹⁷, else nanoseconds. Anything else is an
/// error: a start read wrong would mislead the fingerprint join. `null` or
/// empty is unknown (0).
fn start_ns(raw: &RawValue) -> std::result::Result<u64, String> {
    let text = raw.get().trim_matches('"').trim();
    if text == "null" || text.is_empty() {
        return Ok(0);
    }
    let scale = |magnitude: f64| match magnitude {
        m if m < 1e11 => 1_000_000_000,
        m if m < 1e14 => 1_000_000,
        m if m < 1e17 => 1_000,
        _ => 1,
    };
    let nanos = match text.parse::<u64>() {
        Ok(n) => n.checked_mul(scale(n as f64)),
        Err(_) => (text.parse::<f64>().ok())
            .filter(|n| (0.0..1.8e19).contains(n))
            .map(|n| (n * scale(n) as f64) as u64),
    };
    nanos
        .or_else(|| {
            let time = chrono::DateTime::parse_from_rfc3339(text).ok()?;
            u64::try_from(time.timestamp_nanos_opt()?).ok()
        })
        .ok_or_else(|| {
            format!("start_time: expected RFC 3339 with a zone or a time since 1970, got {text}")
        })
}

/// Parse one flat span line, passing the span to `sink`.
pub fn parse_line(
    text: &str,
    origin: Origin,
    keys: &AttrKeys,
    interner: &mut Interner,
    sink: &mut dyn FnMut(Span),
) -> std::result::Result<u64, (&'static str, String)> {
    let span: FlatSpan = serde_json::from_str(text)
        .map_err(|e| ("bad-json", format!("not a flat span JSON line: {e}")))?;
    let (trace, span_id) = match (&span.context, &span.trace_id, &span.span_id) {
        (Some(c), _, _) => (c.trace_id.as_ref(), c.span_id.as_ref()),
        (None, Some(t), Some(s)) => (t.as_ref(), s.as_ref()),
        _ => {
            return Err((
                "bad-span",
                "no trace and span ids (\"context\" or \"trace_id\"/\"span_id\")".into(),
            ))
        }
    };
    let ids = Ids {
        trace: (trace, "trace_id"),
        span: (span_id, "span_id"),
        parent: (span.parent_id.as_deref(), "parent_id"),
        start_ns: match span.start_time {
            Some(raw) => start_ns(raw).map_err(|m| ("bad-date", m))?,
            None => 0,
        },
    };
    let (attributes, resource) = (
        span.attributes.map(flattened),
        span.resource.and_then(|r| r.attributes).map(flattened),
    );
    let attrs = Attrs {
        span: attributes.as_ref(),
        resource: resource.as_ref(),
        unreadable: Unreadable::default(),
    };
    let compacted = compact(&span.name, ids, &attrs, origin, keys, interner);
    let compacted =
        compacted.and_then(|kept| attrs.unreadable.problem(&span.name).map_or(Ok(kept), Err));
    let span = compacted.map_err(|m| ("bad-span", m))?;
    Ok(span.map_or(0, |span| {
        sink(span);
        1
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nested objects are flattened to [`MAX_NESTING`] levels, the rest
    /// kept whole: 30,000 levels took seconds, a gigabyte and then the
    /// stack.
    #[test]
    fn deep_objects_are_flattened_to_a_bounded_depth() {
        let deep = format!("{}1{}", "{\"a\":".repeat(30_000), "}".repeat(30_000));
        let json = format!("{{\"llm\":{{\"token_count\":{{\"prompt\":70}}}},\"deep\":{deep}}}");
        let written: Written = serde_json::from_str(&json).unwrap();
        let flat = flattened(written).map;
        assert_eq!(flat["llm.token_count.prompt"].get(), "70");
        let (key, rest) = flat.iter().find(|(k, _)| k.starts_with("deep")).unwrap();
        assert_eq!(key.matches(".a").count(), MAX_NESTING as usize);
        assert!(rest.get().starts_with("{\"a\":{"));
    }

    /// A string read whose escapes decode to no text is the span's
    /// problem, not an absent value (its tenant went to a fallback).
    #[test]
    fn a_string_that_is_no_text_is_noted() {
        let unreadable = Unreadable::default();
        let raw = |json: &str| RawValue::from_string(json.to_string()).unwrap();
        let (good, bad) = (raw("\"acme\""), raw("\"ac\\ud800me\""));
        assert!(unreadable.scalar("tenant.id", &good).is_some());
        assert!(unreadable.problem("chat").is_none());
        assert!(unreadable.scalar("tenant.id", &bad).is_none());
        let problem = unreadable.problem("chat").unwrap();
        assert!(
            problem
                .starts_with("span \"chat\": attribute \"tenant.id\" is a string that is not text"),
            "{problem}"
        );
    }

    #[test]
    fn start_times_read_in_the_unit_their_size_says() {
        let at = |json: &str| start_ns(&RawValue::from_string(json.to_string()).unwrap());
        let nanos = 1_748_737_287_973_000_000;
        for json in [
            "1748737287973000000",
            "\"1748737287973000000\"",
            "1748737287973000",
            "1748737287973",
            "1748737287.973",
            "\"2025-06-01T00:21:27.973Z\"",
            "\"2025-06-01T02:21:27.973+02:00\"",
        ] {
            let read = at(json).unwrap();
            assert!(read.abs_diff(nanos) < 1_000, "{json}: {read}");
        }
        assert_eq!(at("1748737287").unwrap(), 1_748_737_287_000_000_000);
        assert_eq!(at("null").unwrap(), 0);
        assert_eq!(at("\"\"").unwrap(), 0);
        for float in [
            "1748737287973.123",
            "1.748737287973e18",
            "1748737287973000.5",
        ] {
            let read = at(float).unwrap();
            assert!(read.abs_diff(nanos) < 1_000_000, "{float}: {read}");
        }
        for bad in ["\"2025-06-01T00:21:27.973\"", "\"soon\"", "-5", "1e30"] {
            assert!(at(bad).is_err(), "{bad}");
        }
    }
}
