//! OTLP JSON logs (`resourceLogs` → `scopeLogs` → `logRecords`, the
//! Collector's file exporter shape) of coding-agent fleets, one event per
//! billed model request ([`Agent`]): Claude Code's
//! `claude_code.api_request`, OpenAI Codex CLI's `codex.sse_event` of
//! kind `response.completed` with its token counts, and Gemini CLI's
//! `gemini_cli.api_response`. Each event is read
//! twice, as the run needs it:
//!
//! - as a **call** span ([`spans`]): operation `chat`, its model, its
//!   token counts, its `request_id` as the join id, and every attribute of
//!   the event and its resource (`user.email`, `organization.id`,
//!   `session.id`, and what `OTEL_RESOURCE_ATTRIBUTES` adds: `team.id`,
//!   `department`) for `--tenant-attr` and `--feature-attr`. Each request
//!   is a run of its own: its trace and span ids are hashes of the request
//!   id;
//! - as a **usage record** (usage format `coding-agent-logs`, [`Event`]): the
//!   tokens priced by the table, the event's own `cost_usd` kept beside.
//!
//! Values may be typed (`intValue`, `doubleValue`) or strings, as versions
//! differ. Other events (`user_prompt`, `tool_result`, `api_error`,
//! Codex's other `sse_event` kinds and a failed `response.completed`,
//! which counts no tokens, Gemini CLI's `gen_ai.client.inference.operation.details`
//! twin of each response) are no requests and are passed over.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use super::otlp_value::{AnyValue, KeyValue, Resource};
use super::span::{compact, AttrKeys, Attributes, Ids, Scalar};
use super::usage::parse_timestamp;
use crate::intern::Interner;
use crate::model::{unix_nanos, whole_tokens, Origin, Span, Timestamp, MAX_TOKENS};

/// One OTLP `LogsData` document (a line of the Collector's file exporter).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogsData<'a> {
    /// Its resources' logs.
    #[serde(borrow, default)]
    pub resource_logs: Vec<ResourceLogs<'a>>,
}

/// One resource's logs.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceLogs<'a> {
    #[serde(borrow, default)]
    resource: Resource<'a>,
    #[serde(borrow, default)]
    scope_logs: Vec<ScopeLogs<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScopeLogs<'a> {
    #[serde(borrow, default)]
    log_records: Vec<LogRecord<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogRecord<'a> {
    #[serde(borrow, default)]
    time_unix_nano: Option<&'a RawValue>,
    #[serde(borrow, default)]
    observed_time_unix_nano: Option<&'a RawValue>,
    #[serde(borrow, default)]
    body: Option<AnyValue<'a>>,
    #[serde(borrow, default)]
    attributes: Vec<KeyValue<'a>>,
}

/// The body (or `event.name`) of a Claude Code request event.
const API_REQUEST: [&str; 2] = ["claude_code.api_request", "api_request"];

impl Agent {
    /// What an event of this agent lacks when no id can be read or made.
    pub fn without_id(self) -> &'static str {
        match self {
            Agent::ClaudeCode => {
                "an api_request event without request_id, client_request_id or session.id"
            }
            Agent::Codex => "a codex.sse_event without conversation.id",
            Agent::GeminiCli => "a gemini_cli.api_response without session.id",
        }
    }
}

/// The coding agent that wrote an event, which decides its names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Agent {
    /// Claude Code: `request_id`; `input_tokens` uncached, cache reads
    /// and 5-minute writes apart (`cache_read_tokens`,
    /// `cache_creation_tokens`).
    ClaudeCode,
    /// Codex CLI: no request id (one is made of `conversation.id` and
    /// `event.timestamp`); OpenAI's Responses usage, where
    /// `input_token_count` holds `cached_token_count` and
    /// `output_token_count` holds `reasoning_token_count`.
    Codex,
    /// Gemini CLI: no request id (one is made of `session.id`,
    /// `prompt_id`, `event.timestamp`, the model and the counts); Gemini's
    /// usage, where
    /// `input_token_count` holds `cached_content_token_count`, and
    /// `thoughts_token_count` (billed as output) and `tool_token_count`
    /// (the tool-use prompt, billed as input) are counted beside
    /// `output_token_count` and `input_token_count`.
    GeminiCli,
}

/// Gemini CLI's response event.
const GEMINI_RESPONSE: &str = "gemini_cli.api_response";
/// Gemini CLI's tool-use prompt count, billed as input beside its input.
const GEMINI_TOOL_PROMPT: &str = "tool_token_count";

/// One request event: its attributes (its resource's behind them), its
/// time and the agent that wrote it.
pub struct Event<'x, 'a> {
    record: &'x [KeyValue<'a>],
    resource: &'x [KeyValue<'a>],
    /// `timeUnixNano`, else `observedTimeUnixNano` (OTLP's rule for a
    /// record whose time is 0 or absent), as written.
    time_unix_nano: Option<&'a str>,
    /// Who wrote it.
    pub agent: Agent,
}

impl Event<'_, '_> {
    /// The raw value under exactly `key`, the event's before its resource's.
    pub fn raw(&self, key: &str) -> Option<Scalar<'_>> {
        self.record
            .iter()
            .chain(self.resource)
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.scalar())
    }

    /// The text under `key` (numbers as written).
    pub fn text(&self, key: &str) -> Option<Cow<'_, str>> {
        match self.raw(key)? {
            Scalar::Text(t) => Some(t),
            Scalar::Int(i) => Some(Cow::Owned(i.to_string())),
            Scalar::Float(f) => Some(Cow::Owned(f.to_string())),
            Scalar::Bool(b) => Some(Cow::Owned(b.to_string())),
        }
        .filter(|t| !t.is_empty())
    }

    /// A token count under `key`: an integer, a string of one, or a whole
    /// floating-point number.
    pub fn count(&self, key: &str) -> Option<u64> {
        match self.raw(key)? {
            Scalar::Int(i) => u64::try_from(i).ok(),
            Scalar::Text(t) => t.trim().parse().ok(),
            // A pipeline that retyped the count (`doubleValue: 1000.0`), as
            // the JSON usage readers take a whole number written so.
            Scalar::Float(f) => whole_tokens(f),
            _ => None,
        }
    }

    /// Every attribute of the event and its resource with a text value,
    /// the event's first.
    pub fn texts(&self) -> impl Iterator<Item = (&str, Cow<'_, str>)> {
        self.record
            .iter()
            .chain(self.resource)
            .filter_map(|kv| match kv.value.scalar()? {
                Scalar::Text(t) if !t.is_empty() => Some((kv.key.as_ref(), t)),
                _ => None,
            })
    }

    /// The request's id: Claude Code's `request_id`, else
    /// `client_request_id`, else (the documented event has neither)
    /// `claude_code:<session.id>:<event.sequence>:<when>` (the session's
    /// event counter), else `claude_code:<session.id>:<when>:<model>:<input>/<cache
    /// read>/<cache write>/<output>`; for Codex,
    /// `codex:<conversation.id>:<when>` (a conversation's responses complete
    /// one at a time); for Gemini CLI,
    /// `gemini_cli:<session.id>:<prompt_id>:<when>:<model>:<input>/<cached>/<output>/<thoughts>/<tool>`.
    /// `<when>` is `event.timestamp`, else the record's time, as written.
    pub fn request_id(&self) -> Option<Cow<'_, str>> {
        let when = || {
            self.text("event.timestamp").map_or_else(
                || self.time_unix_nano.unwrap_or_default().to_string(),
                Cow::into_owned,
            )
        };
        match self.agent {
            Agent::ClaudeCode => {
                let recorded = self.text("request_id");
                if let Some(id) = recorded.or_else(|| self.text("client_request_id")) {
                    return Some(id);
                }
                let session = self.text("session.id")?;
                if let Some(sequence) = self.text("event.sequence") {
                    let when = when();
                    return Some(Cow::Owned(format!(
                        "claude_code:{session}:{sequence}:{when}"
                    )));
                }
                let model = self.text("model").unwrap_or_default();
                let fields = [0, 1, 2, 3].map(|i| self.token_field(i).unwrap_or_default());
                let counts = self.counts_text(&fields);
                let when = when();
                Some(Cow::Owned(format!(
                    "claude_code:{session}:{when}:{model}:{counts}"
                )))
            }
            Agent::Codex => {
                let conversation = self.text("conversation.id")?;
                Some(Cow::Owned(format!("codex:{conversation}:{}", when())))
            }
            Agent::GeminiCli => {
                // A turn's utility calls (loop detection, routing) share
                // its prompt_id, and may answer in one millisecond.
                let session = self.text("session.id")?;
                let prompt = self.text("prompt_id").unwrap_or_default();
                let model = self.text("model").unwrap_or_default();
                let [input, cached, _, output, thoughts] =
                    [0, 1, 2, 3, 4].map(|i| self.token_field(i).unwrap_or_default());
                let counts =
                    self.counts_text(&[input, cached, output, thoughts, GEMINI_TOOL_PROMPT]);
                let when = when();
                Some(Cow::Owned(format!(
                    "gemini_cli:{session}:{prompt}:{when}:{model}:{counts}"
                )))
            }
        }
    }

    /// The counts under `fields` as a made id writes them, `/` between
    /// (0 where absent or no count).
    fn counts_text(&self, fields: &[&str]) -> String {
        let counts = fields
            .iter()
            .map(|f| self.count(f).unwrap_or(0).to_string());
        counts.collect::<Vec<_>>().join("/")
    }

    /// When the request was made: `event.timestamp` (RFC 3339), else the
    /// record's `timeUnixNano` (else `observedTimeUnixNano`); a time that
    /// is no time is an error, never 1970.
    pub fn time(&self) -> Result<Timestamp, String> {
        if let Some(text) = self.text("event.timestamp") {
            return parse_timestamp(&text).map_err(|(_, message)| format!("event.{message}"));
        }
        let written = self.time_unix_nano.ok_or(
            "a request event without event.timestamp or timeUnixNano: when it was made is unknown",
        )?;
        written
            .parse::<i64>()
            .ok()
            .and_then(unix_nanos)
            .ok_or(format!(
                "timeUnixNano: expected nanoseconds since 1970, a time from 2000 to 2099 (a whole \
             number as a string), got \"{written}\""
            ))
    }

    /// The first attribute of the event or its resource whose value OTLP
    /// would not write (a `stringValue` that is no string, two types), as
    /// the span reader refuses it.
    pub fn malformed(&self) -> Result<(), String> {
        let mut attributes = self.record.iter().chain(self.resource);
        match attributes.find_map(|kv| kv.value.malformed().map(|problem| (kv, problem))) {
            Some((kv, problem)) => Err(format!("attribute \"{}\" {problem}", kv.key)),
            None => Ok(()),
        }
    }

    /// The first of `keys` (attributes read as names and ids) whose
    /// string is no text (a lone UTF-16 surrogate escape): taken as absent,
    /// a tenant hint or a request id was lost. Other attributes (a
    /// prompt, tool parameters) are not judged.
    pub fn unreadable(&self, keys: &[&str]) -> Result<(), String> {
        let attributes = self.record.iter().chain(self.resource);
        let found = attributes
            .filter(|kv| keys.contains(&kv.key.as_ref()))
            .find_map(|kv| kv.value.malformed_when_read().map(|why| (kv, why)));
        match found {
            Some((kv, why)) => Err(format!("attribute \"{}\" {why}", kv.key)),
            None => Ok(()),
        }
    }

    /// Whether the event or its resource has an attribute `key`, whatever
    /// its value.
    fn has(&self, key: &str) -> bool {
        self.record
            .iter()
            .chain(self.resource)
            .any(|kv| kv.key == key)
    }

    /// The field each of [`Event::tokens`]' counts is read from, none for
    /// a count the agent does not record (every agent records input, 0,
    /// and output, 3).
    pub fn token_field(&self, i: usize) -> Option<&'static str> {
        let fields = match self.agent {
            Agent::ClaudeCode => [
                Some("input_tokens"),
                Some("cache_read_tokens"),
                Some("cache_creation_tokens"),
                Some("output_tokens"),
                None,
            ],
            Agent::Codex => [
                Some("input_token_count"),
                Some("cached_token_count"),
                None,
                Some("output_token_count"),
                Some("reasoning_token_count"),
            ],
            Agent::GeminiCli => [
                Some("input_token_count"),
                Some("cached_content_token_count"),
                None,
                Some("output_token_count"),
                Some("thoughts_token_count"),
            ],
        };
        fields[i]
    }

    /// The token counts: (all input, cache reads, cache writes, output,
    /// reasoning within output). An absent input or output count is its
    /// field's error (as every usage reader's is), other absent counts 0; a
    /// count that is not a whole number (an empty or non-scalar value too),
    /// or beyond [`MAX_TOKENS`], is its field's error.
    /// Claude Code counts cache reads and writes apart from `input_tokens`.
    pub fn tokens(&self) -> Result<[u64; 5], String> {
        let mut counts = [0u64; 5];
        for (i, n) in counts.iter_mut().enumerate() {
            let key = self.token_field(i);
            if let Some(key) = key.filter(|k| (i == 0 || i == 3) && !self.has(k)) {
                return Err(format!("{key}: missing"));
            }
            if let Some(key) = key.filter(|k| self.has(k)) {
                *n = self
                    .count(key)
                    .ok_or(format!("{key}: not a whole number of tokens"))?;
                if *n > MAX_TOKENS {
                    return Err(format!(
                        "{key}: {n} tokens in one request is beyond the plausible maximum of {MAX_TOKENS}"
                    ));
                }
            }
        }
        match self.agent {
            Agent::ClaudeCode => counts[0] += counts[1] + counts[2],
            Agent::GeminiCli => {
                // The cached content is within the prompt, not the tool's.
                if counts[1] > counts[0] {
                    return Err(format!(
                        "cached_content_token_count: {} exceeds input_token_count {}",
                        counts[1], counts[0]
                    ));
                }
                counts[0] += self.gemini_tool_prompt()?;
                counts[3] += counts[4];
            }
            Agent::Codex => {}
        }
        Ok(counts)
    }

    /// Gemini CLI's tool-use prompt count (0 where not written).
    fn gemini_tool_prompt(&self) -> Result<u64, String> {
        if !self.has(GEMINI_TOOL_PROMPT) {
            return Ok(0);
        }
        let count = self.count(GEMINI_TOOL_PROMPT);
        count.filter(|&n| n <= MAX_TOKENS).ok_or(format!(
            "{GEMINI_TOOL_PROMPT}: not a whole number of tokens"
        ))
    }

    /// Count `i` as the span reader reads it: the count (all input with
    /// Claude Code's cache counts added), or, where the field holds no
    /// count (`-5`, `"abc"`), its value as written, which the span reader
    /// refuses rather than taking it as absent.
    fn token_scalar(&self, i: usize) -> Option<Scalar<'_>> {
        match self.recorded(i) {
            // Past i64 only with a cache count past range, named by its own.
            Some(n) => i64::try_from(n).ok().map(Scalar::Int),
            None => self.raw(self.token_field(i)?),
        }
    }

    /// Count `i` of [`Event::tokens`] for a span, when the event records
    /// it (all input with Claude Code's cache counts added).
    fn recorded(&self, i: usize) -> Option<u64> {
        let own = self.count(self.token_field(i)?)?;
        let caches = |k: usize| self.token_field(k).and_then(|f| self.count(f)).unwrap_or(0);
        match (self.agent, i) {
            // Saturating: a span's counts are not range-checked here.
            (Agent::ClaudeCode, 0) => Some(own.saturating_add(caches(1)).saturating_add(caches(2))),
            (Agent::GeminiCli, 0) => {
                Some(own.saturating_add(self.count(GEMINI_TOOL_PROMPT).unwrap_or(0)))
            }
            (Agent::GeminiCli, 3) => Some(own.saturating_add(caches(4))),
            _ => Some(own),
        }
    }
}

/// The event read through the GenAI names the span reader asks for.
impl Attributes for Event<'_, '_> {
    fn value(&self, key: &str) -> Option<Scalar<'_>> {
        match key {
            "gen_ai.operation.name" => Some(Scalar::Text(Cow::Borrowed("chat"))),
            "gen_ai.request.model" => self.raw("model"),
            "gen_ai.response.id" => self
                .request_id()
                .map(|id| Scalar::Text(Cow::Owned(id.into_owned()))),
            "gen_ai.usage.input_tokens" => self.token_scalar(0),
            "gen_ai.usage.output_tokens" => self.token_scalar(3),
            "gen_ai.usage.cache_read.input_tokens" => self.token_scalar(1),
            "gen_ai.usage.cache_write.input_tokens" => self.token_scalar(2),
            _ => self.raw(key),
        }
    }
}

/// `f` on every request event of `resources`, in order.
pub fn each_event(
    resources: &[ResourceLogs],
    f: &mut dyn FnMut(&Event) -> Result<(), String>,
) -> Result<(), String> {
    for resource in resources {
        for scope in &resource.scope_logs {
            for record in &scope.log_records {
                let mut event = Event {
                    record: &record.attributes,
                    resource: &resource.resource.attributes,
                    time_unix_nano: written_time(record.time_unix_nano)
                        .or_else(|| written_time(record.observed_time_unix_nano)),
                    agent: Agent::ClaudeCode,
                };
                if let Some(agent) = request_of(record, &event) {
                    event.agent = agent;
                    f(&event)?;
                }
            }
        }
    }
    Ok(())
}

/// A record's time as written, without its quotes; none when absent,
/// `null` or 0 (OTLP's "unknown").
fn written_time(raw: Option<&RawValue>) -> Option<&str> {
    raw.map(|r| r.get().trim_matches('"'))
        .filter(|t| !t.is_empty() && *t != "0" && *t != "null")
}

/// The agent whose billed request `record` is, if it is one: a Claude
/// Code `api_request` (by body or `event.name`), a Codex
/// `codex.sse_event` of kind `response.completed` that counts tokens, or a
/// Gemini CLI `gemini_cli.api_response`.
fn request_of(record: &LogRecord, event: &Event) -> Option<Agent> {
    let is_claude =
        |name: Option<Cow<str>>| name.is_some_and(|n| API_REQUEST.contains(&n.as_ref()));
    let body = match record.body.as_ref().and_then(|b| b.scalar()) {
        Some(Scalar::Text(t)) => Some(t),
        _ => None,
    };
    if is_claude(body) || is_claude(event.text("event.name")) {
        return Some(Agent::ClaudeCode);
    }
    let name = event.text("event.name");
    let codex = name.as_deref() == Some("codex.sse_event")
        && event.text("event.kind").as_deref() == Some("response.completed")
        && event.has("input_token_count");
    if codex {
        return Some(Agent::Codex);
    }
    (name.as_deref() == Some(GEMINI_RESPONSE)).then_some(Agent::GeminiCli)
}

/// The first `bytes` bytes of the SHA-256 of `text`, as hex.
fn hashed(text: &str, bytes: usize) -> String {
    Sha256::digest(text.as_bytes())[..bytes]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An event's trace and span ids, as hex: each request is its own run (a
/// session's requests are told by their `session.id` attribute).
fn ids(event: &Event) -> Result<(String, String), String> {
    let request = event.request_id().ok_or(event.agent.without_id())?;
    Ok((
        hashed(&format!("trace:{request}"), 16),
        hashed(&format!("span:{request}"), 8),
    ))
}

/// The call span of every request event.
pub(super) fn spans(
    resources: &[ResourceLogs],
    origin: Origin,
    keys: &AttrKeys,
    interner: &mut Interner,
    sink: &mut dyn FnMut(Span),
) -> Result<u64, String> {
    let mut count = 0;
    each_event(resources, &mut |event| {
        event.malformed()?;
        let (trace, span) = ids(event)?;
        let start = event.time()?.nanos();
        let ids = Ids {
            trace: (&trace, "session.id"),
            span: (&span, "request_id"),
            parent: (None, "parent"),
            start_ns: u64::try_from(start).map_err(|_| "a request event made before 1970")?,
        };
        let name = format!("chat {}", event.text("model").unwrap_or_default());
        if let Some(span) = compact(&name, ids, event, origin, keys, interner)? {
            sink(span);
            count += 1;
        }
        Ok(())
    })?;
    Ok(count)
}

/// The trace id of every request event, in order.
pub(super) fn trace_ids(resources: &[ResourceLogs]) -> Vec<u128> {
    let mut traces = Vec::new();
    let _ = each_event(resources, &mut |event| {
        let (trace, _) = ids(event)?;
        traces.extend(super::span::parse_hex_id(&trace, 32));
        Ok(())
    });
    traces
}
