//! Amazon Bedrock model invocation logs (`schemaType: "ModelInvocationLog"`),
//! as delivered to S3 or CloudWatch: JSON lines, usually gzipped.
//!
//! `input.inputTokenCount` excludes the cache reads and writes, which are
//! counted apart (where a record leaves them out, its response body's
//! counts): a write is a 5-minute one (Bedrock's default) unless the
//! response body counts it as a 1-hour one: Claude's `usage.cache_creation`
//! (a streamed response's `message_start` chunk's) in
//! `ephemeral_1h_input_tokens`, the Converse API's `usage.cacheDetails` in
//! its `"ttl": "1h"` entry (its entries must count every write). A record
//! logged without its body (text delivery off, a body sent to S3 apart)
//! says no duration: its writes are 5-minute ones. A count written as text
//! (`"1000"`) is read as Claude Code's are.
//!
//! The model is `modelId` (its cross-region prefix `us.`, `eu.`, `apac.`,
//! `global.` kept) without a `:N` version; an inference-profile ARN gives
//! its last segment, and an application inference profile keeps its whole
//! ARN, for the pricing table's match lists to name. A record joins on the
//! `msg_…` id in `output.outputBodyJson.id` (a streamed response's
//! `message_start` chunk's `message.id`; against `gen_ai.response.id`) or
//! on `requestId` (against `aws.request_id`).

use serde::Deserialize;
use serde_json::value::RawValue;

use super::labels::{labels_of, object_labels};
use super::{billable, json_count, parse_timestamp, RowError};
use crate::intern::Interner;
use crate::model::{without_version, BilledRequest, Origin, Rare, Service, UsageRecord};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Invocation<'a> {
    timestamp: String,
    request_id: String,
    model_id: String,
    input: Input,
    #[serde(borrow)]
    output: Output<'a>,
    identity: Option<Identity>,
    request_metadata: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Identity {
    arn: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    input_token_count: Option<serde_json::Value>,
    cache_read_input_token_count: Option<serde_json::Value>,
    cache_write_input_token_count: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Output<'a> {
    output_token_count: Option<serde_json::Value>,
    #[serde(borrow)]
    output_body_json: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Body {
    id: Option<String>,
    usage: Option<BodyUsage>,
}

/// The response body as logged: one message, or a streamed response's
/// chunks (`InvokeModelWithResponseStream`), whose `message_start` chunk
/// holds the message's id and usage.
enum BodyShape {
    Message(Body),
    Chunks(Vec<Chunk>),
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(rename = "type")]
    kind: Option<String>,
    message: Option<Body>,
}

impl BodyShape {
    /// The body as logged, read by its shape (an array of chunks, else one
    /// message), decoding only the fields read: a reply's text (a cut-off
    /// emoji, `\ud83d`) never stops it.
    fn read(raw: &RawValue) -> serde_json::Result<BodyShape> {
        match raw.get().trim_start().starts_with('[') {
            true => serde_json::from_str(raw.get()).map(BodyShape::Chunks),
            false => serde_json::from_str(raw.get()).map(BodyShape::Message),
        }
    }

    /// The message: the body itself, or the `message_start` chunk's.
    fn message(self) -> Option<Body> {
        match self {
            BodyShape::Message(body) => Some(body),
            BodyShape::Chunks(chunks) => chunks
                .into_iter()
                .find(|c| c.kind.as_deref() == Some("message_start"))
                .and_then(|c| c.message),
        }
    }
}

/// The usage in the response body: its cache writes by duration, as
/// Claude's body counts them (`cache_creation`) or the Converse API's
/// (`cacheDetails`: `{"ttl": "1h", "inputTokens": …}`, one per duration).
#[derive(Deserialize)]
struct BodyUsage {
    cache_creation: Option<CacheCreation>,
    #[serde(rename = "cacheDetails")]
    cache_details: Option<Vec<CacheDetail>>,
    /// The cache reads and writes as the body counts them: Claude's
    /// names, or the Converse API's.
    #[serde(alias = "cacheReadInputTokens")]
    cache_read_input_tokens: Option<serde_json::Value>,
    #[serde(alias = "cacheWriteInputTokens")]
    cache_creation_input_tokens: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct CacheDetail {
    ttl: String,
    #[serde(rename = "inputTokens")]
    input_tokens: Option<serde_json::Value>,
}

impl BodyUsage {
    /// The 1-hour cache writes the body counts (`None`: it says no
    /// duration). The Converse API's `cacheDetails` must count every write
    /// (`writes`), each of a duration it names.
    fn hour_writes(&self, writes: Option<u64>) -> Result<Option<u64>, RowError> {
        if let Some(c) = &self.cache_creation {
            let hour = c.ephemeral_1h_input_tokens.as_ref();
            return json_count(hour, "ephemeral_1h_input_tokens").map(|n| Some(n.unwrap_or(0)));
        }
        let Some(details) = self.cache_details.as_ref().filter(|d| !d.is_empty()) else {
            return Ok(None);
        };
        let (mut hour, mut all) = (0u64, 0u64);
        for detail in details {
            let n = json_count(detail.input_tokens.as_ref(), "cacheDetails.inputTokens")?;
            let n = n.unwrap_or(0);
            match detail.ttl.as_str() {
                "1h" => hour = hour.saturating_add(n),
                "5m" => {}
                other => {
                    return Err((
                        "bad-token-count",
                        format!("cacheDetails.ttl: expected 5m or 1h, got \"{other}\""),
                    ))
                }
            }
            all = all.saturating_add(n);
        }
        if all != writes.unwrap_or(0) {
            let stated = writes.map_or("none".to_string(), |n| n.to_string());
            let why = format!(
                "cacheDetails counts {all} cache writes, cacheWriteInputTokenCount {stated}"
            );
            return Err(("bad-token-count", why));
        }
        Ok(Some(hour))
    }
}

#[derive(Deserialize)]
struct CacheCreation {
    ephemeral_1h_input_tokens: Option<serde_json::Value>,
}

/// Whether the record counts cache writes (`cacheWriteInputTokenCount`
/// over 0).
fn has_cache_writes(log: &Invocation) -> bool {
    let count = log.input.cache_write_input_token_count.as_ref();
    // A count that is no count stops the record where it is read.
    json_count(count, "cacheWriteInputTokenCount").map_or(true, |n| n.unwrap_or(0) > 0)
}

/// The model as billed, from a `modelId`: an inference profile's id keeps
/// its cross-region prefix (`us.`, `global.`: the price can depend on it),
/// without the ARN's path or a `:N` version.
pub fn model_of(model_id: &str) -> &str {
    if model_id.contains(":application-inference-profile/") {
        return model_id;
    }
    without_version(model_id.rsplit('/').next().unwrap_or(model_id))
}

/// One invocation log record.
pub fn parse(
    json: &str,
    file: u32,
    line: u64,
    interner: &mut Interner,
) -> Result<Option<BilledRequest>, RowError> {
    let log: Invocation =
        crate::read::json_field::from_json(json, "a Bedrock model invocation log record")?;
    let body = match log.output.output_body_json.map(BodyShape::read) {
        Some(Ok(shape)) => shape.message(),
        // A body of no Claude shape (another model's) has no message to
        // read, unless the record's cache writes need its split by duration.
        Some(Err(e)) if has_cache_writes(&log) => {
            return Err((
                "bad-body",
                format!("outputBodyJson: {e}: its cache writes cannot be told 5-minute or 1-hour"),
            ))
        }
        _ => None,
    };
    let usage = body.as_ref().and_then(|b| b.usage.as_ref());
    let (reads, writes, hour_writes) = cache_counts(&log.input, usage)?;
    let message_id = body.and_then(|b| b.id).filter(|id| !id.is_empty());
    let request_id = log.request_id.trim().to_string();
    if request_id.is_empty() {
        return Err(("missing-request-id", "requestId is empty".into()));
    }
    let tokens = tokens_of(&log, reads, (writes, hour_writes))?;
    let (id, alt) = match message_id {
        Some(msg) => (msg, Some(request_id)),
        None => (request_id, None),
    };
    // The caller's IAM identity and the tags it set on the request.
    let mut pairs: Vec<(String, String)> = log
        .identity
        .and_then(|i| i.arn)
        .map(|arn| ("identity.arn".to_string(), arn))
        .into_iter()
        .collect();
    pairs.extend(object_labels(
        "requestMetadata",
        log.request_metadata.as_ref(),
    ));
    let labels = labels_of(pairs, interner);
    Ok(Some(BilledRequest {
        request_id: id.into(),
        record: UsageRecord {
            timestamp: parse_timestamp(&log.timestamp)?,
            provider: interner.intern("aws.bedrock"),
            model: interner.intern(model_of(&log.model_id)),
            tokens,
            service: Service::default(),
            tenant_hint: None,
            labels,
            origin: Origin { file, line },
            rare: Rare {
                alt_request_id: alt.map(Into::into),
                ..Rare::default()
            }
            .boxed(),
        },
    }))
}

/// The record's cache reads, cache writes and the 1-hour writes among
/// them, each as the record states it, else as the response body's
/// `usage` counts it ([`stated_or_body`]).
fn cache_counts(input: &Input, usage: Option<&BodyUsage>) -> Result<(u64, u64, u64), RowError> {
    let body_count = |pick: fn(&BodyUsage) -> Option<&serde_json::Value>, name| {
        json_count(usage.and_then(pick), name)
    };
    let reads = stated_or_body(
        (
            &input.cache_read_input_token_count,
            "cacheReadInputTokenCount",
        ),
        body_count(
            |u| u.cache_read_input_tokens.as_ref(),
            "usage.cache_read_input_tokens",
        )?,
    )?;
    let writes = stated_or_body(
        (
            &input.cache_write_input_token_count,
            "cacheWriteInputTokenCount",
        ),
        body_count(
            |u| u.cache_creation_input_tokens.as_ref(),
            "usage.cache_creation_input_tokens",
        )?,
    )?;
    let hour_writes = match usage {
        Some(usage) => usage.hour_writes(writes)?.unwrap_or(0),
        None => 0,
    };
    Ok((reads.unwrap_or(0), writes.unwrap_or(0), hour_writes))
}

/// A cache count as the record states it (`input.cache…TokenCount`), else
/// as its response body counts it (a log written before Bedrock stated
/// cache counts: read as 0, the cached tokens were priced at $0). A count
/// the record states is taken as it is: a streamed body's `message_start`
/// usage is an early snapshot, not the bill's.
fn stated_or_body(
    (stated, name): (&Option<serde_json::Value>, &str),
    in_body: Option<u64>,
) -> Result<Option<u64>, RowError> {
    Ok(json_count(stated.as_ref(), name)?.or(in_body))
}

/// The record's five counts: its cache `reads`, and its `writes` split by
/// duration, `hour_writes` as the response body counts them.
fn tokens_of(
    log: &Invocation,
    reads: u64,
    (writes, hour_writes): (u64, u64),
) -> Result<crate::model::Tokens, RowError> {
    let counted = |value: &Option<serde_json::Value>, name| json_count(value.as_ref(), name);
    let (input, output) = billable(
        (
            counted(&log.input.input_token_count, "input.inputTokenCount")?,
            "input.inputTokenCount",
        ),
        (
            counted(&log.output.output_token_count, "output.outputTokenCount")?,
            "output.outputTokenCount",
        ),
    )?;
    if hour_writes > writes {
        return Err((
            "bad-token-count",
            format!(
                "ephemeral_1h_input_tokens {hour_writes} is more than cacheWriteInputTokenCount \
                 {writes}"
            ),
        ));
    }
    super::tokens([input, reads, writes - hour_writes, hour_writes, output])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TokenType;

    /// A reply's text that is no text (a cut-off emoji, `\ud83d`) leaves
    /// the body's 1-hour cache writes read; a body no Claude shape fits
    /// stops a record with cache writes, whose durations it would tell.
    #[test]
    fn the_bodys_cache_writes_are_read_whatever_the_reply_says() {
        let record = |text: &str, id: &str| {
            format!(
                r#"{{"schemaType":"ModelInvocationLog","timestamp":"2025-06-12T08:00:00Z","requestId":"r-1","modelId":"anthropic.claude-sonnet-4-20250514-v1:0","input":{{"inputTokenCount":1200,"cacheWriteInputTokenCount":100000}},"output":{{"outputTokenCount":300,"outputBodyJson":{{"id":{id},"content":[{{"type":"text","text":"{text}"}}],"usage":{{"cache_creation":{{"ephemeral_1h_input_tokens":100000}}}}}}}}}}"#
            )
        };
        let mut interner = Interner::default();
        for text in ["Done.", "Done \\ud83d."] {
            let read = parse(&record(text, "\"msg_1\""), 0, 1, &mut interner)
                .unwrap()
                .unwrap();
            assert_eq!(
                read.record.tokens.get(TokenType::CacheWrite1h),
                100_000,
                "{text}"
            );
        }
        let (kind, _) = parse(&record("Done.", "5"), 0, 1, &mut interner).unwrap_err();
        assert_eq!(kind, "bad-body");
    }

    /// A Converse body's `cacheDetails` tells the writes' durations; its
    /// entries must count every write.
    #[test]
    fn converse_cache_details_tell_one_hour_writes() {
        let record = |details: &str| {
            format!(
                r#"{{"schemaType":"ModelInvocationLog","timestamp":"2025-06-12T08:00:00Z","requestId":"r-1","operation":"Converse","modelId":"us.anthropic.claude-sonnet-4-20250514-v1:0","input":{{"inputTokenCount":900,"cacheWriteInputTokenCount":50000}},"output":{{"outputTokenCount":300,"outputBodyJson":{{"output":{{"message":{{"role":"assistant","content":[{{"text":"Done."}}]}}}},"stopReason":"end_turn","usage":{{"inputTokens":900,"outputTokens":300,"totalTokens":51200,"cacheWriteInputTokens":50000,"cacheDetails":[{details}]}}}}}}}}"#
            )
        };
        let mut interner = Interner::default();
        let tokens = |details: &str, interner: &mut Interner| {
            parse(&record(details), 0, 1, interner).map(|r| r.unwrap().record.tokens)
        };
        let both = r#"{"ttl":"1h","inputTokens":30000},{"ttl":"5m","inputTokens":20000}"#;
        let read = tokens(both, &mut interner).unwrap();
        assert_eq!(read.get(TokenType::CacheWrite1h), 30_000);
        assert_eq!(read.get(TokenType::CacheWrite5m), 20_000);
        let short = r#"{"ttl":"1h","inputTokens":30000}"#;
        let (kind, message) = tokens(short, &mut interner).unwrap_err();
        assert_eq!(kind, "bad-token-count", "{message}");
        let unknown = r#"{"ttl":"24h","inputTokens":50000}"#;
        assert!(tokens(unknown, &mut interner).is_err());
        // No details: the writes are 5-minute ones.
        let none = tokens("", &mut interner).unwrap();
        assert_eq!(none.get(TokenType::CacheWrite5m), 50_000);
    }

    #[test]
    fn model_ids_keep_region_prefixes_and_lose_versions() {
        assert_eq!(model_of("amazon.nova-lite-v1:0"), "amazon.nova-lite-v1");
        assert_eq!(
            model_of("us.anthropic.claude-3-haiku-20240307-v1:0"),
            "us.anthropic.claude-3-haiku-20240307-v1"
        );
        assert_eq!(
            model_of("arn:aws:bedrock:us-east-1:123456789012:inference-profile/eu.anthropic.claude-sonnet-4-20250514-v1:0"),
            "eu.anthropic.claude-sonnet-4-20250514-v1"
        );
        let app = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3";
        assert_eq!(model_of(app), app);
    }

    /// A log that states no cache counts (written before Bedrock stated
    /// them) takes its body's: they were read as 0, the cached tokens
    /// priced at $0. A count the record states is taken as it is.
    #[test]
    fn cache_counts_the_record_leaves_out_are_read_from_its_body() {
        let record = |stated: &str| {
            format!(
                r#"{{"schemaType":"ModelInvocationLog","timestamp":"2025-06-12T08:00:00Z","requestId":"r-1","modelId":"anthropic.claude-3-haiku-20240307-v1:0","input":{{"inputTokenCount":1200{stated}}},"output":{{"outputTokenCount":300,"outputBodyJson":{{"id":"msg_1","usage":{{"input_tokens":1200,"output_tokens":300,"cache_read_input_tokens":4000,"cache_creation_input_tokens":800}}}}}}}}"#
            )
        };
        let mut interner = Interner::default();
        let read = parse(&record(""), 0, 1, &mut interner).unwrap().unwrap();
        let tokens = read.record.tokens;
        assert_eq!(tokens.get(TokenType::CacheRead), 4000);
        assert_eq!(tokens.get(TokenType::CacheWrite5m), 800);
        // Stated, a count is the record's (a streamed body's message_start
        // usage is an early snapshot).
        let stated = r#","cacheReadInputTokenCount":5000"#;
        let read = parse(&record(stated), 0, 1, &mut interner)
            .unwrap()
            .unwrap();
        assert_eq!(read.record.tokens.get(TokenType::CacheRead), 5000);
    }
}
