//! The fast path of the OTLP JSON line reader ([`super`]): a scanner for
//! the shape the Collector's file exporter writes (`resourceSpans` →
//! `scopeSpans` → `spans`), which walks only the keys attribution reads and
//! skips every other value (message bodies above all) at `memchr` speed.
//!
//! It builds the same `TracesData` serde would, or gives up: `None` sends
//! the line to serde ([`super`]), which reads it or names its problem. It
//! gives up on anything it does not read exactly as serde does: a control
//! character anywhere in the line, an escape in a key or an id, a repeated
//! field, a `null` where serde would object, another signal, a value
//! nested deeper than [`MAX_DEPTH`] (a bound on its own recursion; serde
//! skips unknown values without one). So a line it reads is one
//! serde reads the same way ([`agrees`], checked on every fixture, on
//! mutations of them, and by the fuzz target).

use std::borrow::Cow;

use super::super::otlp_value::{AnyValue, IntValue, KeyValue, Resource};
use super::{OtlpSpan, ResourceSpans, ScopeSpans, TracesData};

/// `None`: leave the line to serde.
type Fast<T> = Option<T>;

/// Deeper than this the scanner gives up: a bound on its own recursion.
const MAX_DEPTH: u32 = 100;

/// The line's `TracesData`, or `None` when serde must read it.
pub(super) fn traces(text: &str) -> Fast<TracesData<'_>> {
    if has_control(text.as_bytes()) {
        return None;
    }
    let mut scan = Scan { text, at: 0 };
    let mut resource_spans = None;
    scan.object(|scan, key| match key {
        "resourceSpans" if resource_spans.is_none() => {
            resource_spans = Some(scan.array(ResourceSpans::scan)?);
            Some(())
        }
        "resourceSpans" | "batches" | "resourceLogs" | "resourceMetrics" | "trace" | "result" => {
            None
        }
        _ => scan.skip(0),
    })?;
    scan.ws();
    (scan.at == text.len()).then_some(())?;
    Some(TracesData {
        resource_spans: Some(resource_spans?),
        batches: None,
        resource_logs: None,
        resource_metrics: None,
        trace: None,
        result: None,
    })
}

/// Whether the fast path agrees with serde on `text`: it gives up, or
/// serde reads the line and finds the same resources, scopes and spans.
pub fn agrees(text: &str) -> bool {
    let Some(fast) = traces(text) else {
        return true;
    };
    match serde_json::from_str::<TracesData>(text) {
        Ok(slow) => {
            slow.batches.is_none()
                && slow.resource_logs.is_none()
                && slow.resource_metrics.is_none()
                && slow.trace.is_none()
                && slow.result.is_none()
                && slow.resource_spans == fast.resource_spans
        }
        Err(_) => false,
    }
}

/// Any byte below 0x20: serde refuses them inside strings, and a line
/// holds no newline, so the scanner leaves every such line to serde.
fn has_control(bytes: &[u8]) -> bool {
    bytes
        .chunks(64)
        .any(|chunk| chunk.iter().fold(false, |seen, &b| seen | (b < 0x20)))
}

/// Fields seen so far in one object, to give up on a repeated one (serde
/// refuses it).
#[derive(Default)]
struct Seen(u32);

impl Seen {
    /// Mark field `bit`; `None` if it was already seen.
    fn first(&mut self, bit: u32) -> Fast<()> {
        let mask = 1 << bit;
        (self.0 & mask == 0).then(|| self.0 |= mask)
    }
}

impl<'a> ResourceSpans<'a> {
    fn scan(scan: &mut Scan<'a>) -> Fast<Self> {
        let (mut seen, mut resource, mut scope_spans) = (Seen::default(), None, None);
        scan.object(|scan, key| match key {
            "resource" => {
                seen.first(0)?;
                resource = Some(Resource::scan(scan)?);
                Some(())
            }
            "scopeSpans" | "instrumentationLibrarySpans" => {
                seen.first(1)?;
                scope_spans = Some(scan.array(ScopeSpans::scan)?);
                Some(())
            }
            _ => scan.skip(0),
        })?;
        Some(ResourceSpans {
            resource: resource.unwrap_or_default(),
            scope_spans: scope_spans.unwrap_or_default(),
        })
    }
}

impl<'a> Resource<'a> {
    fn scan(scan: &mut Scan<'a>) -> Fast<Self> {
        let (mut seen, mut attributes) = (Seen::default(), None);
        scan.object(|scan, key| match key {
            "attributes" => {
                seen.first(0)?;
                attributes = Some(scan.array(KeyValue::scan)?);
                Some(())
            }
            _ => scan.skip(0),
        })?;
        Some(Resource {
            attributes: attributes.unwrap_or_default(),
        })
    }
}

impl<'a> ScopeSpans<'a> {
    fn scan(scan: &mut Scan<'a>) -> Fast<Self> {
        let (mut seen, mut spans) = (Seen::default(), None);
        scan.object(|scan, key| match key {
            "spans" => {
                seen.first(0)?;
                spans = Some(scan.array(OtlpSpan::scan)?);
                Some(())
            }
            _ => scan.skip(0),
        })?;
        Some(ScopeSpans {
            spans: spans.unwrap_or_default(),
        })
    }
}

impl<'a> OtlpSpan<'a> {
    fn scan(scan: &mut Scan<'a>) -> Fast<Self> {
        let mut seen = Seen::default();
        let (mut trace_id, mut span_id, mut parent_span_id) = (None, None, None);
        let (mut name, mut start, mut attributes) = (None, None, None);
        scan.object(|scan, key| {
            match key {
                "traceId" => (seen.first(0)?, trace_id = Some(scan.string()?)),
                "spanId" => (seen.first(1)?, span_id = Some(scan.string()?)),
                "parentSpanId" => (
                    seen.first(2)?,
                    parent_span_id = scan.nullable(Scan::string)?,
                ),
                "name" => (seen.first(3)?, name = Some(scan.string()?)),
                "startTimeUnixNano" => (seen.first(4)?, start = scan.nullable(Scan::raw)?),
                "attributes" => (
                    seen.first(5)?,
                    attributes = Some(scan.array(KeyValue::scan)?),
                ),
                _ => (scan.skip(0)?, ()),
            };
            Some(())
        })?;
        Some(OtlpSpan {
            trace_id: Cow::Borrowed(trace_id?),
            span_id: Cow::Borrowed(span_id?),
            parent_span_id: parent_span_id.map(Cow::Borrowed),
            name: Cow::Borrowed(name.unwrap_or_default()),
            start_time_unix_nano: start,
            attributes: attributes.unwrap_or_default(),
        })
    }
}

impl<'a> KeyValue<'a> {
    fn scan(scan: &mut Scan<'a>) -> Fast<Self> {
        let (mut seen, mut key, mut value) = (Seen::default(), None, None);
        scan.object(|scan, field| {
            match field {
                "key" => (seen.first(0)?, key = Some(scan.string()?)),
                "value" => (seen.first(1)?, value = Some(AnyValue::scan(scan)?)),
                _ => (scan.skip(0)?, ()),
            };
            Some(())
        })?;
        Some(KeyValue {
            key: Cow::Borrowed(key?),
            value: value.unwrap_or_default(),
        })
    }
}

impl<'a> AnyValue<'a> {
    fn scan(scan: &mut Scan<'a>) -> Fast<Self> {
        let (mut seen, mut value) = (Seen::default(), AnyValue::default());
        scan.object(|scan, field| {
            match field {
                "stringValue" => (
                    seen.first(0)?,
                    value.string_value = scan.nullable(Scan::raw)?,
                ),
                "intValue" => (seen.first(1)?, value.int_value = scan.nullable(Scan::int)?),
                "doubleValue" => (
                    seen.first(2)?,
                    value.double_value = scan.nullable(Scan::float)?,
                ),
                "boolValue" => (
                    seen.first(3)?,
                    value.bool_value = scan.nullable(Scan::boolean)?,
                ),
                _ => (scan.skip(0)?, ()),
            };
            Some(())
        })?;
        Some(value)
    }
}

/// A position in one line.
struct Scan<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Scan<'a> {
    fn peek(&self) -> Fast<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    /// Skip JSON whitespace (the line holds no control character, so only
    /// spaces).
    fn ws(&mut self) {
        while self.peek() == Some(b' ') {
            self.at += 1;
        }
    }

    /// Consume `byte` after whitespace.
    fn eat(&mut self, byte: u8) -> Fast<()> {
        self.ws();
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// Consume `word` (`true`, `false`, `null`) after whitespace.
    fn word(&mut self, word: &str) -> Fast<()> {
        self.ws();
        let rest = self.text.get(self.at..)?;
        rest.starts_with(word).then(|| self.at += word.len())
    }

    /// `f`'s value, or `None` for a JSON `null`.
    fn nullable<T>(&mut self, f: impl FnOnce(&mut Self) -> Fast<T>) -> Fast<Option<T>> {
        self.ws();
        if self.peek()? == b'n' {
            return self.word("null").map(|()| None);
        }
        f(self).map(Some)
    }

    /// An object: `f` on each key, positioned at its value. Its keys hold
    /// no escape (serde would match a field by the unescaped key), but in
    /// an object that is only skipped.
    fn object(&mut self, mut f: impl FnMut(&mut Self, &'a str) -> Fast<()>) -> Fast<()> {
        self.keyed(false, |scan, key| f(scan, key))
    }

    /// [`Scan::object`], keys with escapes given as their JSON text if
    /// `escaped_keys`.
    fn keyed(
        &mut self,
        escaped_keys: bool,
        mut f: impl FnMut(&mut Self, &'a str) -> Fast<()>,
    ) -> Fast<()> {
        self.eat(b'{')?;
        self.ws();
        if self.peek()? == b'}' {
            self.at += 1;
            return Some(());
        }
        loop {
            let key = match escaped_keys {
                true => self.raw_string()?,
                false => self.string()?,
            };
            self.eat(b':')?;
            f(self, key)?;
            self.ws();
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => return self.eat(b'}'),
                _ => return None,
            }
        }
    }

    /// An array, each item read by `f`.
    fn array<T>(&mut self, mut f: impl FnMut(&mut Self) -> Fast<T>) -> Fast<Vec<T>> {
        self.eat(b'[')?;
        // Room for a span's usual attributes at once: the line's vectors
        // live only while it is read, and growing them 4, 8, 16 cost more.
        let mut items = Vec::with_capacity(16);
        self.ws();
        if self.peek()? == b']' {
            self.at += 1;
            return Some(items);
        }
        loop {
            items.push(f(self)?);
            self.ws();
            match self.peek()? {
                b',' => self.at += 1,
                b']' => {
                    self.at += 1;
                    return Some(items);
                }
                _ => return None,
            }
        }
    }

    /// A string without escapes, its text between the quotes.
    fn string(&mut self) -> Fast<&'a str> {
        self.eat(b'"')?;
        let bytes = &self.text.as_bytes()[self.at..];
        let end = memchr::memchr2(b'"', b'\\', bytes)?;
        (bytes[end] == b'"').then_some(())?;
        let text = &self.text[self.at..self.at + end];
        self.at += end + 1;
        Some(text)
    }

    /// Any JSON value, as its text.
    fn raw(&mut self) -> Fast<&'a str> {
        self.ws();
        let start = self.at;
        self.skip(0)?;
        Some(&self.text[start..self.at])
    }

    /// Skip one JSON value, checking its grammar as serde does.
    fn skip(&mut self, depth: u32) -> Fast<()> {
        (depth < MAX_DEPTH).then_some(())?;
        self.ws();
        match self.peek()? {
            b'"' => self.raw_string().map(drop),
            b'{' => self.keyed(true, |scan, _| scan.skip(depth + 1)),
            b'[' => self.array(|scan| scan.skip(depth + 1)).map(drop),
            b't' => self.word("true"),
            b'f' => self.word("false"),
            b'n' => self.word("null"),
            _ => self.number().map(drop),
        }
    }

    /// A string, escapes checked as serde checks them, as its text
    /// between the quotes.
    fn raw_string(&mut self) -> Fast<&'a str> {
        self.eat(b'"')?;
        let (bytes, start) = (self.text.as_bytes(), self.at);
        loop {
            let end = self.at + memchr::memchr2(b'"', b'\\', &bytes[self.at..])?;
            self.at = end + 1;
            if bytes[end] == b'"' {
                return Some(&self.text[start..end]);
            }
            match *bytes.get(self.at)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.at += 1,
                b'u' => {
                    let hex = bytes.get(self.at + 1..self.at + 5)?;
                    hex.iter().all(u8::is_ascii_hexdigit).then_some(())?;
                    self.at += 5;
                }
                _ => return None,
            }
        }
    }

    /// A number by JSON's grammar (`-?(0|[1-9]d*)(.d+)?([eE][+-]?d+)?`),
    /// as its text.
    fn number(&mut self) -> Fast<&'a str> {
        let bytes = self.text.as_bytes();
        let start = self.at;
        let digits = |at: &mut usize| {
            let from = *at;
            while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
                *at += 1;
            }
            (*at > from).then_some(())
        };
        let mut at = start + usize::from(bytes.get(start) == Some(&b'-'));
        match bytes.get(at)? {
            b'0' => at += 1,
            b'1'..=b'9' => digits(&mut at)?,
            _ => return None,
        }
        if bytes.get(at) == Some(&b'.') {
            at += 1;
            digits(&mut at)?;
        }
        if matches!(bytes.get(at), Some(b'e' | b'E')) {
            at += 1;
            at += usize::from(matches!(bytes.get(at), Some(b'+' | b'-')));
            digits(&mut at)?;
        }
        self.at = at;
        Some(&self.text[start..at])
    }

    /// An `intValue` as serde reads it: a decimal string, or a bare
    /// non-negative integer, within 64 signed bits.
    fn int(&mut self) -> Fast<IntValue> {
        self.ws();
        let text = match self.peek()? {
            b'"' => self.string()?,
            b'0'..=b'9' => self.number()?,
            _ => return None,
        };
        text.parse().ok().map(IntValue)
    }

    /// A `doubleValue`, parsed by serde itself (its rounding is the one
    /// the slow path has).
    /// A `doubleValue`: a number, or a string (`"NaN"`, `"Infinity"`, a
    /// number), as [`super::super::otlp_value::parse_double`] reads it.
    fn float(&mut self) -> Fast<f64> {
        let raw = self.raw()?;
        match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
            Some(text) => super::super::otlp_value::parse_double(text),
            None => serde_json::from_str(raw).ok(),
        }
    }

    fn boolean(&mut self) -> Fast<bool> {
        self.ws();
        match self.peek()? {
            b't' => self.word("true").map(|()| true),
            _ => self.word("false").map(|()| false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPAN: &str = r#"{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"chat gpt-4o","kind":3,"attributes":[{"key":"gen_ai.usage.input_tokens","value":{"intValue":"120"}}]}"#;

    /// A line of one resource with one scope holding `spans`.
    fn line(spans: &str) -> String {
        format!(
            r#"{{"resourceSpans":[{{"resource":{{"attributes":[]}},"scopeSpans":[{{"scope":{{"name":"x"}},"spans":[{spans}]}}]}}]}}"#
        )
    }

    /// Every OTLP span line the project ships, and its real OTLP documents
    /// made one line each (the samples' first lines only: they are alike).
    fn shipped() -> Vec<String> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut lines = Vec::new();
        for file in [
            "samples/spans/part-0.jsonl",
            "tests/fixtures/handmade/spans/children.jsonl",
        ] {
            let text = std::fs::read_to_string(root.join(file)).unwrap();
            lines.extend(text.lines().take(40).map(str::to_string));
        }
        let real = root.join("tests/fixtures/real");
        for entry in std::fs::read_dir(real).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            if text.contains("\"resourceSpans\"") || text.contains("\"batches\"") {
                let value: serde_json::Value = serde_json::from_str(&text).unwrap();
                lines.push(value.to_string());
            }
        }
        lines
    }

    #[test]
    fn reads_every_shipped_span_line_as_serde_does() {
        let lines = shipped();
        assert!(lines.len() > 40, "{} lines", lines.len());
        for line in &lines {
            let collector_shape = line.starts_with("{\"resourceSpans\"");
            assert_eq!(traces(line).is_some(), collector_shape, "{line}");
            assert!(agrees(line), "{line}");
        }
    }

    #[test]
    fn gives_up_wherever_serde_reads_otherwise() {
        let give_up = [
            SPAN.replace(
                r#""kind""#,
                r#""traceId":"5b8efff798038103d269b633813fc60c","kind""#,
            ),
            SPAN.replace(r#""chat gpt-4o""#, "null"),
            SPAN.replace(r#""eee19b7ec3c1b174""#, r#""eee19b7ec3c1b17\u0034""#),
            SPAN.replace(r#""120""#, "1.5"),
            SPAN.replace(r#""120""#, "-0"),
            SPAN.replace(r#""120""#, "9223372036854775808"),
            SPAN.replace(r#""120""#, r#""12x""#),
            SPAN.replace(r#""kind""#, r#""ki\u006ed""#),
            SPAN.replace("3,", "3,,"),
            SPAN.replace("3,", "3,\t"),
            SPAN.replace("]}", "],}"),
            SPAN.replace(r#"{"intValue":"120"}"#, "null"),
            r#"["5b8efff798038103d269b633813fc60c","eee19b7ec3c1b174"]"#.to_string(),
            SPAN.replace(
                r#""kind":3"#,
                &format!(r#""kind":{}{}"#, "[".repeat(120), "]".repeat(120)),
            ),
        ];
        for span in &give_up {
            let text = line(span);
            assert!(traces(&text).is_none(), "{text}");
            assert!(agrees(&text), "{text}");
        }
        for text in [
            line(SPAN) + "x",
            line(SPAN).replace("resourceSpans", "resourceLogs"),
        ] {
            assert!(traces(&text).is_none(), "{text}");
        }
    }

    #[test]
    fn reads_what_serde_reads_the_same() {
        let read = [
            SPAN.to_string(),
            SPAN.replace(r#""120""#, "120"),
            SPAN.replace(
                r#"{"intValue":"120"}"#,
                r#"{"stringValue":5,"boolValue":true}"#,
            ),
            SPAN.replace(
                r#"{"intValue":"120"}"#,
                r#"{"stringValue":"a\"b\u00e9","doubleValue":1e3}"#,
            ),
            SPAN.replace(
                r#""kind":3"#,
                r#""kind" : 3 , "parentSpanId":null,"startTimeUnixNano":17"#,
            ),
            SPAN.replace(
                r#""kind":3"#,
                r#""events":[{"name":"e","attributes":[{"k\"":[1,-2.5e-3,{}]}]}]"#,
            ),
            // proto3 JSON writes non-finite doubles (and may write any) as
            // strings.
            SPAN.replace(r#"{"intValue":"120"}"#, r#"{"doubleValue":"-Infinity"}"#),
            SPAN.replace(r#"{"intValue":"120"}"#, r#"{"doubleValue":"2.5"}"#),
        ];
        for span in &read {
            let text = line(span);
            assert!(traces(&text).is_some(), "{text}");
            assert!(agrees(&text), "{text}");
        }
        // NaN is read by both (and equals nothing, so it is not compared).
        let nan = line(&SPAN.replace(r#"{"intValue":"120"}"#, r#"{"doubleValue":"NaN"}"#));
        assert!(traces(&nan).is_some() && serde_json::from_str::<TracesData>(&nan).is_ok());
    }

    #[test]
    fn agrees_with_serde_on_every_one_byte_mutation_of_a_line() {
        let edits = [
            "", "\"", "\\", ",", ":", "}", "]", "{", "[", " ", "0", "-", "n", "é",
        ];
        let lines = [line(SPAN), shipped()[0].chars().take(2000).collect()];
        let (mut tried, mut read) = (0, 0);
        for text in &lines {
            let cuts = text.char_indices().map(|(at, c)| (at, at + c.len_utf8()));
            for (at, next) in cuts.step_by(3) {
                for edit in edits {
                    let mutated = format!("{}{edit}{}", &text[..at], &text[next..]);
                    assert!(agrees(&mutated), "{mutated}");
                    tried += 1;
                    read += usize::from(traces(&mutated).is_some());
                }
            }
        }
        assert!(read > tried / 20 && read < tried, "{read} of {tried} read");
    }
}
