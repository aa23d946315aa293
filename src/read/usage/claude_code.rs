//! Coding agents' OpenTelemetry log events as usage: each Claude Code
//! `claude_code.api_request` event, each Codex CLI `codex.sse_event`
//! of kind `response.completed` and each Gemini CLI
//! `gemini_cli.api_response` (OTLP JSON logs, one `LogsData` per line
//! as the Collector's file exporter writes them, or one document) is one
//! billed request ([`crate::read::otlp_logs`] reads the events).
//!
//! Claude Code:
//! - request id: `request_id` (Anthropic's `req_…`), else `client_request_id`,
//!   else one made of `session.id`, `event.sequence` and the time, else of the
//!   session, the time, the model and the token counts (the documented
//!   event records no id);
//! - time: `event.timestamp`, else the record's `timeUnixNano` (else
//!   `observedTimeUnixNano`); none, or not a time, is a bad record;
//! - provider: `anthropic`; `aws.bedrock` for a Bedrock model id
//!   (`us.anthropic.claude-…`), `google` for a Vertex one (`claude-…@…`);
//! - tokens: `input_tokens` (uncached), `cache_read_tokens`,
//!   `cache_creation_tokens` (5-minute writes), `output_tokens`;
//! - `cost_usd` (`cost_usd_micros` where written) is kept beside the
//!   computed cost, like a gateway's own estimate; `speed` `fast` is fast mode;
//! - labels: every text attribute of the event and its resource
//!   (`user.email`, `organization.id`, `session.id`, `team.id`, …).
//!
//! Codex CLI: provider `openai`; the request id made of `conversation.id`
//! and `event.timestamp`; `input_token_count` less `cached_token_count`
//! uncached, `cached_token_count` the reads, `output_token_count` (holding
//! `reasoning_token_count`); `tool_token_count` is not billed apart; no
//! cost of its own; labels as Claude Code's.
//!
//! Gemini CLI: provider `google`, whatever its `auth_type` (a label, as
//! Claude Code's subscription is not told apart: priced by the table); the
//! request id made of `session.id`, `prompt_id`, `event.timestamp`, the
//! model and the counts (a turn's utility calls share its `prompt_id`);
//! `input_token_count` (holding `cached_content_token_count`) and
//! `tool_token_count` the input, `cached_content_token_count` the reads,
//! `output_token_count` and `thoughts_token_count` the output, the thoughts
//! its reasoning; no cost of its own; labels as Claude Code's.

use std::borrow::Cow;

use rust_decimal::Decimal;

use super::labels::labels_of;
use super::{reasoning_within_output, uncached, RowError};
use crate::intern::Interner;
use crate::model::{BilledRequest, Origin, Rare, Service, UsageRecord};
use crate::read::otlp_logs::{each_event, Agent, Event, LogsData};
use crate::read::span::Scalar;

/// Every request event of one JSON document, as a record or what is wrong
/// with it: a bad event is one bad record (skipped and counted under
/// `--lenient`), never its line's other events.
pub fn parse(
    json: &str,
    file: u32,
    line: u64,
    interner: &mut Interner,
) -> Result<Vec<Result<BilledRequest, RowError>>, RowError> {
    let data: LogsData =
        crate::read::json_field::from_json(json, "an OTLP LogsData JSON document")?;
    let mut records = Vec::new();
    let _ = each_event(&data.resource_logs, &mut |event| {
        records.push(record(event, file, line, interner));
        Ok(())
    });
    Ok(records)
}

/// The attributes a record takes names and ids from: one whose string is
/// no text stops the record rather than being taken as absent.
const READ_AS_NAMES: [&str; 10] = [
    "request_id",
    "client_request_id",
    "session.id",
    "event.sequence",
    "event.timestamp",
    "model",
    "speed",
    "user.email",
    "conversation.id",
    "prompt_id",
];

fn record(
    event: &Event,
    file: u32,
    line: u64,
    interner: &mut Interner,
) -> Result<BilledRequest, RowError> {
    event.malformed().map_err(|e| ("bad-value", e))?;
    event
        .unreadable(&READ_AS_NAMES)
        .map_err(|e| ("bad-value", e))?;
    let request_id = event
        .request_id()
        .ok_or(("missing-request-id", event.agent.without_id().to_string()))?;
    let model = event
        .text("model")
        .ok_or(("missing-model", "a request event without model".to_string()))?;
    let timestamp = event.time().map_err(|e| ("bad-timestamp", e))?;
    let [input, read, write, output, reasoning] = event.tokens().map_err(|e| ("bad-count", e))?;
    let name = |i| event.token_field(i).unwrap_or_default();
    let uncached = uncached(input, read + write, name(0))?;
    let tokens = super::tokens([uncached, read, write, 0, output])?;
    let tokens = reasoning_within_output(reasoning, &tokens, name(3))?;
    let labels = event.texts().map(|(k, v)| (k.to_string(), v.into_owned()));
    let provider = match event.agent {
        Agent::ClaudeCode => provider_of(&model),
        Agent::Codex => "openai",
        Agent::GeminiCli => "google",
    };
    Ok(BilledRequest {
        request_id: request_id.as_ref().into(),
        record: UsageRecord {
            timestamp,
            provider: interner.intern(provider),
            model: interner.intern(super::billed_model(provider, &model)),
            tokens,
            service: Service {
                fast: event
                    .text("speed")
                    .is_some_and(|s| s.eq_ignore_ascii_case("fast")),
                ..Service::default()
            },
            tenant_hint: event.text("user.email").map(|e| interner.intern(&e)),
            labels: labels_of(labels.collect::<Vec<_>>(), interner),
            origin: Origin { file, line },
            rare: Rare {
                reported_cost_usd: reported_cost(event)?,
                ..Rare::default()
            }
            .boxed(),
        },
    })
}

/// The provider a Claude Code model id is billed by.
fn provider_of(model: &str) -> &'static str {
    if model.contains("anthropic.") {
        "aws.bedrock"
    } else if model.contains('@') {
        "google"
    } else {
        "anthropic"
    }
}

/// The event's own cost: `cost_usd_micros` exactly, else `cost_usd` as
/// written (for comparison only); none where the event has neither. One
/// that is no amount is a bad event, as LiteLLM's `spend` is: dropped, it
/// left `reported_cost_usd` short without a word.
fn reported_cost(event: &Event) -> Result<Option<Decimal>, RowError> {
    let bad = |field: &str, value: &Scalar| {
        let why = format!("{field}: expected an amount, got {value}");
        ("bad-value", why)
    };
    if let Some(raw) = event.raw("cost_usd_micros") {
        let micros = event
            .count("cost_usd_micros")
            .and_then(|m| i64::try_from(m).ok());
        return match micros {
            Some(m) => Ok(Some(Decimal::new(m, 6))),
            None => Err(bad("cost_usd_micros", &raw)),
        };
    }
    let Some(raw) = event.raw("cost_usd") else {
        return Ok(None);
    };
    let text: Cow<str> = match &raw {
        Scalar::Text(t) => t.clone(),
        Scalar::Float(f) => Cow::Owned(f.to_string()),
        Scalar::Int(i) => Cow::Owned(i.to_string()),
        Scalar::Bool(_) => return Err(bad("cost_usd", &raw)),
    };
    match crate::money::parse_amount(&text) {
        Some(amount) => Ok(Some(amount)),
        None => Err(bad("cost_usd", &raw)),
    }
}
