//! Claude Code's OpenTelemetry log events as usage: each
//! `claude_code.api_request` event (OTLP JSON logs, one `LogsData` per
//! line as the Collector's file exporter writes them, or one document) is
//! one billed request ([`crate::read::otlp_logs`] reads the events).
//!
//! - request id: `request_id` (Anthropic's `req_…`), else `client_request_id`;
//! - time: `event.timestamp`, else the record's `timeUnixNano`;
//! - provider: `anthropic`; `aws.bedrock` for a Bedrock model id
//!   (`us.anthropic.claude-…`), `google` for a Vertex one (`claude-…@…`);
//! - tokens: `input_tokens` (uncached), `cache_read_tokens`,
//!   `cache_creation_tokens` (5-minute writes), `output_tokens`;
//! - `cost_usd` (`cost_usd_micros` where written) is kept beside the
//!   computed cost, like a gateway's own estimate; `speed` `fast` is fast mode;
//! - labels: every text attribute of the event and its resource
//!   (`user.email`, `organization.id`, `session.id`, `team.id`, …).

use std::borrow::Cow;

use rust_decimal::Decimal;

use super::labels::labels_of;
use super::{parse_timestamp, RowError};
use crate::intern::Interner;
use crate::model::{Origin, Service, Tokens, UsageRecord};
use crate::read::otlp_logs::{each_event, Event, LogsData};
use crate::read::span::Scalar;

/// Every request event of one JSON document, as records.
pub fn parse(
    json: &str,
    file: u32,
    line: u64,
    interner: &mut Interner,
) -> Result<Vec<UsageRecord>, RowError> {
    let data: LogsData = serde_json::from_str(json).map_err(|e| {
        (
            "bad-json",
            format!("not an OTLP LogsData JSON document: {e}"),
        )
    })?;
    let mut records = Vec::new();
    let mut failed = None;
    let _ = each_event(&data.resource_logs, &mut |event| {
        match record(event, file, line, interner) {
            Ok(r) => records.push(r),
            Err(e) => failed = failed.take().or(Some(e)),
        }
        Ok(())
    });
    match failed {
        Some(e) => Err(e),
        None => Ok(records),
    }
}

fn record(
    event: &Event,
    file: u32,
    line: u64,
    interner: &mut Interner,
) -> Result<UsageRecord, RowError> {
    let request_id = event.request_id().ok_or((
        "missing-request-id",
        "an api_request event without request_id or client_request_id".to_string(),
    ))?;
    let model = event.text("model").ok_or((
        "missing-model",
        "an api_request event without model".to_string(),
    ))?;
    let timestamp = match event.text("event.timestamp") {
        Some(t) => parse_timestamp(&t)?,
        None => chrono::DateTime::from_timestamp_nanos(i64::try_from(event.time_ns).unwrap_or(0)),
    };
    let count = |key: &str| -> Result<u64, RowError> {
        match event.raw(key) {
            None => Ok(0),
            Some(_) => event
                .count(key)
                .ok_or(("bad-count", format!("{key}: not a whole number of tokens"))),
        }
    };
    let tokens = Tokens([
        count("input_tokens")?,
        count("cache_read_tokens")?,
        count("cache_creation_tokens")?,
        0,
        count("output_tokens")?,
    ]);
    let labels = event.texts().map(|(k, v)| (k.to_string(), v.into_owned()));
    Ok(UsageRecord {
        request_id: request_id.as_ref().into(),
        alt_request_id: None,
        timestamp,
        provider: interner.intern(provider_of(&model)),
        model: interner.intern(crate::model::bare_model(&model)),
        tokens,
        reasoning_tokens: 0,
        requests: Box::default(),
        modalities: Box::default(),
        service: Service {
            fast: event
                .text("speed")
                .is_some_and(|s| s.eq_ignore_ascii_case("fast")),
            ..Service::default()
        },
        reported_cost_usd: reported_cost(event),
        tenant_hint: event.text("user.email").map(|e| interner.intern(&e)),
        labels: labels_of(labels.collect::<Vec<_>>(), interner),
        origin: Origin { file, line },
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
/// written (for comparison only).
fn reported_cost(event: &Event) -> Option<Decimal> {
    if let Some(micros) = event.count("cost_usd_micros") {
        return Some(Decimal::new(i64::try_from(micros).ok()?, 6));
    }
    let text: Cow<str> = match event.raw("cost_usd")? {
        Scalar::Text(t) => t,
        Scalar::Float(f) => Cow::Owned(f.to_string()),
        Scalar::Int(i) => Cow::Owned(i.to_string()),
        Scalar::Bool(_) => return None,
    };
    crate::money::parse_amount(&text)
}
