//! LiteLLM proxy spend logs: the `/spend/logs` JSON array, `/spend/logs/v2`
//! pages (`data`, `page`, `total_pages`), JSON lines, or a CSV dump of the
//! `LiteLLM_SpendLogs` table.
//!
//! LiteLLM's usage is OpenAI-shaped for every provider: `prompt_tokens`
//! counts every input token, cache reads and writes included. The split is
//! in the provider's usage object kept in `metadata` (`additional_usage_values`
//! or `usage_object`: `cache_read_input_tokens`, `cache_creation_input_tokens`,
//! `cache_creation.ephemeral_5m/1h_input_tokens`, the chat usage's
//! `prompt_tokens_details` (`cached_tokens`, `cache_creation_tokens`,
//! `cache_creation_token_details.ephemeral_5m/1h_input_tokens`), a Responses
//! usage's `input_tokens_details.cached_tokens`), or in top-level columns where a
//! version has them. A cache write without a 5m/1h split is a 5-minute write
//! (Anthropic's default). A finished batch is one row of `call_type`
//! `aretrieve_batch`, its requests' counts summed, at the batch tier. Rows
//! whose `status` is not `success`, and rows LiteLLM answered from its own
//! cache (`cache_hit`), were not billed. `spend` (LiteLLM's own estimate)
//! is kept as the reported cost; `team_id`, `end_user` and `request_tags`
//! become the tenant hint.
//! `startTime` without a time zone is UTC, as LiteLLM stores it.

use std::path::Path;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::labels::{labels_of, object_labels, scalar, tags};
use super::pages::{page_of, PageNumber};
use super::{
    billable, billed_model, count, for_each_in_array, for_each_json, json_count, modalities,
    parse_usd, parse_utc_timestamp, provider_name, reasoning_within_output, uncached, RowError,
    RowSink,
};
use crate::error::{Error, Result};
use crate::intern::{Interner, LabelSet};
use crate::model::{BilledRequest, Modality, Origin, Rare, Service, Tier, UsageRecord};
use crate::read::csv_lines::CsvLines;
use crate::read::json_field::from_json;

/// One spend-log row, from JSON or CSV.
#[derive(Debug, Default, Deserialize)]
struct SpendLog {
    request_id: String,
    call_type: Option<String>,
    #[serde(rename = "startTime")]
    start_time: String,
    model: String,
    custom_llm_provider: Option<String>,
    prompt_tokens: Option<Value>,
    completion_tokens: Option<Value>,
    spend: Option<Box<RawValue>>,
    team_id: Option<String>,
    end_user: Option<String>,
    user: Option<String>,
    api_key: Option<String>,
    request_tags: Option<Value>,
    metadata: Option<Value>,
    status: Option<String>,
    cache_hit: Option<Value>,
    cache_read_input_tokens: Option<Value>,
    cache_creation_input_tokens: Option<Value>,
}

/// Read spend logs from `source`: JSON (array, document, lines or v2
/// pages) or CSV. The v2 pages read, each with whether it was empty.
pub fn read(
    mut source: impl std::io::BufRead,
    path: &Path,
    file: u32,
    interner: &mut Interner,
    row: &mut RowSink,
) -> Result<Vec<(PageNumber, bool)>> {
    let head = source
        .fill_buf()
        .map_err(|e| crate::error::Error::io(path, e))?;
    let json = head
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{' || *b == b'[');
    if json {
        let mut one = |line: u64, text: Result<&str, RowError>| {
            let log = text.and_then(|t| {
                from_json::<SpendLog>(t, "a LiteLLM spend log").and_then(decode_json_text)
            });
            row(
                line,
                log.and_then(|log| normalise(log, file, line, interner)),
            )
        };
        let mut pages = Vec::new();
        for_each_json(source, path, &mut |line, text| match text
            .as_ref()
            .ok()
            .and_then(|t| page_of(t))
        {
            Some((logs, at, number)) => {
                pages.extend(number.map(|n| (n, logs[1..].trim_start().starts_with(']'))));
                for_each_in_array(logs, line + at, path, &mut one)
            }
            None => one(line, text),
        })?;
        return Ok(pages);
    }
    let mut lines = CsvLines::new(source);
    let mut headers = csv::StringRecord::from_byte_record(lines.header(path)?)
        .map_err(|_| Error::fatal(format!("{}: the header is not UTF-8", path.display())))?;
    // A padded header is its column's name (trimmed once, not per lookup).
    headers.trim();
    let has = |name: &str| headers.iter().any(|h| h == name);
    let cache_columns = has("cache_read_input_tokens") || has("cache_creation_input_tokens");
    if !has("metadata") && !cache_columns {
        return Err(Error::fatal(format!(
            "{}: the spend logs CSV's header lacks metadata (and cache_read_input_tokens), where \
             LiteLLM keeps each request's cache split: without it cached tokens would be priced \
             as uncached input",
            path.display()
        )));
    }
    let mut record = csv::ByteRecord::new();
    while let Some((line, parsed)) = lines.next(path, &mut record)? {
        let log = match parsed {
            Err(message) => Err(("bad-csv", message)),
            Ok(()) => csv::StringRecord::from_byte_record(record.clone())
                .map_err(|_| ("invalid-utf8", "invalid UTF-8 in the row".to_string()))
                .and_then(|r| from_csv(&headers, &r)),
        };
        row(
            line,
            log.and_then(|log| normalise(log, file, line, interner)),
        )?;
    }
    Ok(Vec::new())
}

/// A JSON row whose `metadata` or `request_tags` is held as JSON text (a
/// `Json` column exported as a string, as the database and some API
/// versions give it) with that text decoded, as a CSV dump's cells are:
/// the cache split and the tags are read the same either way, and text that
/// is not JSON is a bad record rather than a row with no cache split.
fn decode_json_text(mut log: SpendLog) -> Result<SpendLog, RowError> {
    for (name, field) in [
        ("metadata", &mut log.metadata),
        ("request_tags", &mut log.request_tags),
    ] {
        if let Some(Value::String(text)) = field {
            *field = json_text(name, text)?;
        }
    }
    Ok(log)
}

/// The JSON a `name` column holds as text; empty text is absent (as an
/// empty CSV cell is), text that is not JSON a bad record.
fn json_text(name: &str, text: &str) -> Result<Option<Value>, RowError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    serde_json::from_str(text)
        .map(Some)
        .map_err(|e| ("bad-json", format!("{name}: not JSON ({e}): {text}")))
}

/// A CSV row of the `LiteLLM_SpendLogs` dump: JSON columns as JSON text,
/// empty cells as absent.
fn from_csv(headers: &csv::StringRecord, record: &csv::StringRecord) -> Result<SpendLog, RowError> {
    let get = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .and_then(|i| record.get(i))
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let number = |name: &str| get(name).map(|v| Value::String(v.to_string()));
    let json = |name: &str| json_text(name, get(name).unwrap_or_default());
    Ok(SpendLog {
        request_id: get("request_id").unwrap_or_default().to_string(),
        call_type: get("call_type").map(str::to_string),
        start_time: get("startTime").unwrap_or_default().to_string(),
        model: get("model").unwrap_or_default().to_string(),
        custom_llm_provider: get("custom_llm_provider").map(str::to_string),
        prompt_tokens: number("prompt_tokens"),
        completion_tokens: number("completion_tokens"),
        // As a JSON string: `parse_usd` reads it, and refuses what is not
        // a decimal.
        spend: get("spend").map(|v| {
            RawValue::from_string(Value::String(v.to_string()).to_string())
                .expect("a JSON string is JSON")
        }),
        team_id: get("team_id").map(str::to_string),
        end_user: get("end_user").map(str::to_string),
        user: get("user").map(str::to_string),
        api_key: get("api_key").map(str::to_string),
        request_tags: json("request_tags")?,
        metadata: json("metadata")?,
        status: get("status").map(str::to_string),
        cache_hit: get("cache_hit").map(|v| Value::String(v.to_string())),
        cache_read_input_tokens: number("cache_read_input_tokens"),
        cache_creation_input_tokens: number("cache_creation_input_tokens"),
    })
}

/// Where LiteLLM's usage objects count cache reads: Anthropic's field, the
/// chat usage's `prompt_tokens_details`, a Responses API usage's
/// `input_tokens_details`.
const CACHE_READS: &[&[&str]] = &[
    &["cache_read_input_tokens"],
    &["prompt_tokens_details", "cached_tokens"],
    &["input_tokens_details", "cached_tokens"],
];

/// Where they count cache writes, 5-minute and 1-hour together.
const CACHE_WRITES: &[&[&str]] = &[
    &["cache_creation_input_tokens"],
    &["prompt_tokens_details", "cache_creation_tokens"],
    &["prompt_tokens_details", "cache_write_tokens"],
];

/// The first count found at one of `paths` ([`usage_value`]).
fn first_usage_value(metadata: Option<&Value>, paths: &[&[&str]]) -> Result<Option<u64>, RowError> {
    for path in paths {
        if let Some(n) = usage_value(metadata, path)? {
            return Ok(Some(n));
        }
    }
    Ok(None)
}

/// A count found at `path` in any of the usage objects LiteLLM keeps, read
/// strictly ([`json_count`]).
fn usage_value(metadata: Option<&Value>, path: &[&str]) -> Result<Option<u64>, RowError> {
    let Some(metadata) = metadata else {
        return Ok(None);
    };
    for object in ["additional_usage_values", "usage_object"] {
        let found = path.iter().try_fold(&metadata[object], |v, key| v.get(key));
        if let Some(n) = json_count(found, path.last().copied().unwrap_or(object))? {
            return Ok(Some(n));
        }
    }
    Ok(None)
}

/// The service tier and region the provider's usage object states, as
/// LiteLLM keeps it: Anthropic's `service_tier` (`standard`, `priority`,
/// `batch`) and `inference_geo` (`global`, `not_available` or a region),
/// OpenAI's `service_tier` (`default`, `flex`, `priority`).
fn service(
    metadata: Option<&Value>,
    interner: &mut Interner,
    batch: bool,
) -> Result<Service, RowError> {
    let text = |key: &str| {
        let metadata = metadata?;
        ["additional_usage_values", "usage_object"]
            .iter()
            .find_map(|object| metadata[object].get(key)?.as_str())
    };
    let stated = super::service_tier(text("service_tier"))?;
    let tier = match (batch, stated) {
        (false, tier) => tier,
        (true, Tier::Standard | Tier::Batch) => Tier::Batch,
        (true, other) => {
            let why = format!(
                "a batch's row (aretrieve_batch) states service_tier {}",
                other.key()
            );
            return Err(("bad-service-tier", why));
        }
    };
    let geo = match text("inference_geo") {
        None | Some("global" | "not_available") => None,
        Some(region) => Some(interner.intern(region)),
    };
    Ok(Service {
        tier,
        geo,
        fast: false,
    })
}

fn normalise(
    log: SpendLog,
    file: u32,
    line: u64,
    interner: &mut Interner,
) -> Result<Option<BilledRequest>, RowError> {
    let failed = (log.status.as_deref()).is_some_and(|s| !s.eq_ignore_ascii_case("success"));
    if failed || served_from_cache(log.cache_hit.as_ref())? {
        return Ok(None);
    }
    if log.request_id.trim().is_empty() {
        return Err(("missing-request-id", "request_id is empty".into()));
    }
    if log.model.trim().is_empty() {
        return Err(("missing-field", "model is empty".into()));
    }
    let meta = log.metadata.as_ref();
    let [input, read, write_5m, write_1h, output] = token_counts(&log)?;
    let reasoning = usage_value(meta, &["completion_tokens_details", "reasoning_tokens"])?;
    let reasoning_tokens = count(reasoning, "reasoning_tokens")?;
    let tokens = super::tokens([input, read, write_5m, write_1h, output])?;
    // OpenAI's audio (and image) token details, parts of the counts.
    let modalities = modalities(&tokens, |m| {
        let path: &[&str] = match m {
            Modality::AudioInput => &["prompt_tokens_details", "audio_tokens"],
            Modality::AudioOutput => &["completion_tokens_details", "audio_tokens"],
            Modality::ImageInput => &["prompt_tokens_details", "image_tokens"],
            Modality::ImageOutput => &["completion_tokens_details", "image_tokens"],
        };
        count(usage_value(meta, path)?, m.column())
    })?;
    // Web searches: Anthropic's server tool count as the provider reported
    // it, else where LiteLLM puts every provider's (Gemini's grounding
    // queries, OpenAI's, xAI's sources, Mistral's).
    let searches = match usage_value(meta, &["server_tool_use", "web_search_requests"])? {
        Some(n) => Some(n),
        None => usage_value(meta, &["prompt_tokens_details", "web_search_requests"])?,
    };
    let searches = count(searches, "web_search_requests")?;
    let requests = super::requests_of(interner, "web_search", searches);
    let tokens = reasoning_within_output(reasoning_tokens, &tokens, "completion_tokens")?;
    let tenant_hint = tenant_hint(&log);
    let provider = provider_name(
        log.custom_llm_provider
            .as_deref()
            .unwrap_or_else(|| log.model.split_once('/').map_or("unknown", |(p, _)| p)),
    );
    Ok(Some(BilledRequest {
        request_id: log.request_id.trim().into(),
        record: UsageRecord {
            timestamp: parse_utc_timestamp(&log.start_time, "startTime")?,
            provider: interner.intern(&provider),
            model: interner.intern(billed_model(&provider, &log.model)),
            tokens,
            service: service(meta, interner, batch_of(&log)?)?,
            tenant_hint: tenant_hint.map(|h| interner.intern(&h)),
            labels: litellm_labels(&log, interner),
            origin: Origin { file, line },
            rare: Rare {
                requests,
                modalities,
                reported_cost_usd: log
                    .spend
                    .as_deref()
                    .map(|s| parse_usd(s.get(), "spend"))
                    .transpose()?,
                ..Rare::default()
            }
            .boxed(),
        },
    }))
}

/// Whether the row is a batch's: LiteLLM logs a finished batch once, as a
/// row of `call_type` `aretrieve_batch` holding its requests' summed counts,
/// billed at the batch rate, under its first model. A batch of several
/// models (`metadata.batch_models`) cannot be priced from that one row.
fn batch_of(log: &SpendLog) -> Result<bool, RowError> {
    if log.call_type.as_deref().map(str::trim) != Some("aretrieve_batch") {
        return Ok(false);
    }
    let models = log.metadata.as_ref().and_then(|m| m.get("batch_models"));
    let mut named: Vec<&str> = match models {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(models)) if models.iter().all(Value::is_string) => {
            models.iter().filter_map(Value::as_str).collect()
        }
        Some(other) => {
            let why = format!("metadata.batch_models: expected a list of models, got {other}");
            return Err(("bad-batch", why));
        }
    };
    named.sort_unstable();
    named.dedup();
    if named.len() > 1 {
        let why = format!(
            "a batch of several models ({}) logged as one row: its tokens cannot be told apart",
            named.join(", ")
        );
        return Err(("bad-batch", why));
    }
    Ok(true)
}

/// Whether LiteLLM answered from its own cache (`cache_hit`: a boolean,
/// or the text its spend-logs table holds, `str()` of Python's `True`,
/// `False` or `None`; `None`, empty or absent is not a hit): the provider
/// never saw the request and billed nothing.
fn served_from_cache(cache_hit: Option<&Value>) -> Result<bool, RowError> {
    let text = match cache_hit {
        None | Some(Value::Null) => return Ok(false),
        Some(Value::Bool(hit)) => return Ok(*hit),
        Some(Value::String(text)) => text.trim().to_ascii_lowercase(),
        Some(other) => other.to_string(),
    };
    match text.as_str() {
        "true" => Ok(true),
        "false" | "none" | "null" | "" => Ok(false),
        _ => Err((
            "bad-cache-hit",
            format!("cache_hit: expected True, False or None, got {text}"),
        )),
    }
}

/// The billable token counts, `[input, cache read, cache write 5m, cache
/// write 1h, output]`: top-level counts first, then the provider's usage
/// object LiteLLM keeps in `metadata`.
fn token_counts(log: &SpendLog) -> Result<[u64; 5], RowError> {
    let meta = log.metadata.as_ref();
    let (prompt, output) = billable(
        (
            json_count(log.prompt_tokens.as_ref(), "prompt_tokens")?,
            "prompt_tokens",
        ),
        (
            json_count(log.completion_tokens.as_ref(), "completion_tokens")?,
            "completion_tokens",
        ),
    )?;
    let top_level = |v: &Option<Value>, name| json_count(v.as_ref(), name);
    let read = match top_level(&log.cache_read_input_tokens, "cache_read_input_tokens")? {
        Some(n) => Some(n),
        None => first_usage_value(meta, CACHE_READS)?,
    };
    let read = count(read, "cache_read_input_tokens")?;
    let total = match top_level(
        &log.cache_creation_input_tokens,
        "cache_creation_input_tokens",
    )? {
        Some(n) => Some(n),
        None => first_usage_value(meta, CACHE_WRITES)?,
    };
    let stated = total.is_some();
    let total = count(total, "cache_creation_input_tokens")?;
    let split = |token: &str| {
        let anthropic = usage_value(meta, &["cache_creation", token])?;
        let details = [
            "prompt_tokens_details",
            "cache_creation_token_details",
            token,
        ];
        let counted = anthropic.map_or_else(|| usage_value(meta, &details), |n| Ok(Some(n)))?;
        count(counted, token)
    };
    let (split_5m, write_1h) = (
        split("ephemeral_5m_input_tokens")?,
        split("ephemeral_1h_input_tokens")?,
    );
    if stated && split_5m + write_1h > total {
        let why = format!(
            "cache writes split as {split_5m} 5-minute and {write_1h} 1-hour, more than the \
             {total} cache_creation_input_tokens stated"
        );
        return Err(("bad-token-count", why));
    }
    // A write the split does not place is a 5-minute write (the default).
    let write_5m = total.max(split_5m + write_1h) - write_1h;
    let input = uncached(prompt, read + write_5m + write_1h, "prompt_tokens")?;
    Ok([input, read, write_5m, write_1h, output])
}

/// The first owner a spend log names: its team, its end user, else its
/// first request tag.
fn tenant_hint(log: &SpendLog) -> Option<String> {
    [&log.team_id, &log.end_user]
        .into_iter()
        .find_map(|v| v.as_deref().filter(|h| !h.trim().is_empty()))
        .map(str::to_string)
        .or_else(|| match &log.request_tags {
            Some(Value::Array(tags)) => tags.first().and_then(Value::as_str).map(str::to_string),
            _ => None,
        })
        .filter(|h| !h.is_empty())
}

/// A spend log's labels: `team_id`, `team_alias`
/// (`metadata.user_api_key_team_alias`), `user`, `end_user`, `api_key`
/// (hashed), `api_key_alias` (`metadata.user_api_key_alias`), `tags`
/// (`request_tags`, else `metadata.tags`) and each
/// `metadata.requester_metadata` key as `requester_metadata.<key>`.
fn litellm_labels(log: &SpendLog, interner: &mut Interner) -> LabelSet {
    let meta = |key: &str| log.metadata.as_ref().and_then(|m| m.get(key));
    let meta_text = |key: &str| meta(key).and_then(scalar);
    let mut pairs: Vec<(String, String)> = [
        ("team_id", log.team_id.clone()),
        ("team_alias", meta_text("user_api_key_team_alias")),
        ("user", log.user.clone()),
        ("end_user", log.end_user.clone()),
        ("api_key", log.api_key.clone()),
        ("api_key_alias", meta_text("user_api_key_alias")),
        (
            "tags",
            tags(log.request_tags.as_ref()).or_else(|| tags(meta("tags"))),
        ),
    ]
    .into_iter()
    .filter_map(|(name, value)| Some((name.to_string(), value?)))
    .collect();
    pairs.extend(object_labels(
        "requester_metadata",
        meta("requester_metadata"),
    ));
    labels_of(pairs, interner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(usage: &str) -> [u64; 5] {
        let row = format!(
            r#"{{"request_id":"r","startTime":"2025-06-10T09:00:00","model":"m","prompt_tokens":3000,"completion_tokens":500,"metadata":{{"additional_usage_values":{usage}}}}}"#
        );
        token_counts(&serde_json::from_str::<SpendLog>(&row).unwrap()).unwrap()
    }

    #[test]
    fn cache_counts_are_read_where_litellm_keeps_them() {
        // Anthropic through LiteLLM's chat usage: the 5m/1h split under
        // prompt_tokens_details (1-hour writes were priced as 5-minute).
        let details = r#"{"prompt_tokens_details":{"cached_tokens":2000,"cache_creation_tokens":400,"cache_creation_token_details":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":400}}}"#;
        assert_eq!(counts(details), [600, 2000, 0, 400, 500]);
        // Writes the split does not place are 5-minute writes.
        let unsplit = r#"{"cache_creation_input_tokens":400,"cache_creation":{"ephemeral_1h_input_tokens":100}}"#;
        assert_eq!(counts(unsplit), [2600, 0, 300, 100, 500]);
        // A split beyond its stated total is a bad record, not a guess.
        let over = r#"{"cache_creation_input_tokens":400,"cache_creation":{"ephemeral_5m_input_tokens":300,"ephemeral_1h_input_tokens":300}}"#;
        let row = format!(
            r#"{{"request_id":"r","startTime":"2025-06-10T09:00:00","model":"m","prompt_tokens":3000,"completion_tokens":500,"metadata":{{"additional_usage_values":{over}}}}}"#
        );
        assert!(token_counts(&serde_json::from_str::<SpendLog>(&row).unwrap()).is_err());
        // A Responses API usage: its cached input (priced at the full rate).
        let responses = r#"{"input_tokens":3000,"input_tokens_details":{"cached_tokens":800}}"#;
        assert_eq!(counts(responses), [2200, 800, 0, 0, 500]);
    }

    /// A finished batch's row (`aretrieve_batch`) is priced at the batch
    /// tier, one of several models refused; an empty `team_id` (LiteLLM
    /// writes `""` for none) leaves the end user the tenant hint.
    #[test]
    fn a_batch_row_is_batch_priced_and_an_empty_team_is_none() {
        let row = |call: &str, models: &str| {
            format!(
                r#"{{"request_id":"b","call_type":"{call}","startTime":"2025-06-10T09:00:00","model":"gpt-4o-mini","custom_llm_provider":"openai","prompt_tokens":1200000,"completion_tokens":300000,"spend":0.36,"team_id":"","end_user":"acme","status":"success","metadata":{{"batch_models":{models}}}}}"#
            )
        };
        let mut interner = Interner::default();
        let mut read = |call: &str, models: &str| {
            let log = serde_json::from_str::<SpendLog>(&row(call, models)).unwrap();
            normalise(log, 0, 1, &mut interner).map(|r| r.unwrap().record)
        };
        let batch = read("aretrieve_batch", r#"["gpt-4o-mini"]"#).unwrap();
        assert_eq!(batch.service.tier, crate::model::Tier::Batch);
        let chat = read("acompletion", "null").unwrap();
        assert_eq!(chat.service.tier, crate::model::Tier::Standard);
        for models in [r#"["gpt-4o-mini","gpt-4o"]"#, r#""gpt-4o-mini,gpt-4o""#] {
            assert_eq!(read("aretrieve_batch", models).unwrap_err().0, "bad-batch");
        }
        // A batch's row stating another tier is no batch row to guess at.
        let priority = r#"["gpt-4o-mini"],"usage_object":{"service_tier":"priority"}"#;
        let refused = read("aretrieve_batch", priority).unwrap_err();
        assert_eq!(refused.0, "bad-service-tier");
        let hint = chat.tenant_hint.map(|h| interner.get(h).to_string());
        assert_eq!(hint.as_deref(), Some("acme"));
    }
}
