//! LiteLLM proxy spend logs: the `/spend/logs` JSON array, JSON lines, or a
//! CSV dump of the `LiteLLM_SpendLogs` table.
//!
//! LiteLLM's usage is OpenAI-shaped for every provider: `prompt_tokens`
//! counts every input token, cache reads and writes included. The split is
//! in the provider's usage object kept in `metadata` (`additional_usage_values`
//! or `usage_object`: `cache_read_input_tokens`, `cache_creation_input_tokens`,
//! `cache_creation.ephemeral_5m/1h_input_tokens`,
//! `prompt_tokens_details.cached_tokens`), or in top-level columns where a
//! version has them. A cache write without a 5m/1h split is a 5-minute write
//! (Anthropic's default). Rows whose `status` is not `success` were not
//! billed. `spend` (LiteLLM's own estimate) is kept as the reported cost;
//! `team_id`, `end_user` and `request_tags` become the tenant hint.
//! `startTime` without a time zone is UTC, as LiteLLM stores it.

use std::path::Path;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::{
    bare_model, count, csv_error, for_each_json, parse_usd, parse_utc_timestamp, provider_name,
    uncached, RowError, RowSink,
};
use crate::error::Result;
use crate::intern::Interner;
use crate::model::{Origin, Tokens, UsageRecord};

/// One spend-log row, from JSON or CSV.
#[derive(Debug, Default, Deserialize)]
struct SpendLog {
    request_id: String,
    #[serde(rename = "startTime")]
    start_time: String,
    model: String,
    custom_llm_provider: Option<String>,
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    spend: Option<Box<RawValue>>,
    team_id: Option<String>,
    end_user: Option<String>,
    request_tags: Option<Value>,
    metadata: Option<Value>,
    status: Option<String>,
    cache_read_input_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
}

/// Read spend logs from `source`: JSON (array, document or lines) or CSV.
pub fn read(
    mut source: impl std::io::BufRead,
    path: &Path,
    file: u32,
    interner: &mut Interner,
    row: &mut RowSink,
) -> Result<()> {
    let head = source
        .fill_buf()
        .map_err(|e| crate::error::Error::io(path, e))?;
    let json = head
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{' || *b == b'[');
    if json {
        return for_each_json(source, path, &mut |line, text| {
            let log = text.and_then(|t| {
                serde_json::from_str::<SpendLog>(t)
                    .map_err(|e| ("bad-json", format!("not a LiteLLM spend log: {e}")))
            });
            row(
                line,
                log.and_then(|log| normalise(log, file, line, interner)),
            )
        });
    }
    let mut reader = csv::ReaderBuilder::new().from_reader(source);
    let headers = reader.headers().map_err(|e| csv_error(path, e))?.clone();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(path, e))?;
        let line = record.position().map_or(0, |p| p.line());
        row(
            line,
            from_csv(&headers, &record).and_then(|log| normalise(log, file, line, interner)),
        )?;
    }
    Ok(())
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
    let number = |name: &str| -> Result<Option<u64>, RowError> {
        get(name)
            .map(|v| {
                v.strip_suffix(".0").unwrap_or(v).parse().map_err(|_| {
                    (
                        "bad-token-count",
                        format!("{name}: expected a whole number of tokens, got \"{v}\""),
                    )
                })
            })
            .transpose()
    };
    let json = |name: &str| get(name).and_then(|v| serde_json::from_str(v).ok());
    Ok(SpendLog {
        request_id: get("request_id").unwrap_or_default().to_string(),
        start_time: get("startTime").unwrap_or_default().to_string(),
        model: get("model").unwrap_or_default().to_string(),
        custom_llm_provider: get("custom_llm_provider").map(str::to_string),
        prompt_tokens: number("prompt_tokens")?,
        completion_tokens: number("completion_tokens")?,
        spend: get("spend").and_then(|v| RawValue::from_string(v.to_string()).ok()),
        team_id: get("team_id").map(str::to_string),
        end_user: get("end_user").map(str::to_string),
        request_tags: json("request_tags"),
        metadata: json("metadata"),
        status: get("status").map(str::to_string),
        cache_read_input_tokens: number("cache_read_input_tokens")?,
        cache_creation_input_tokens: number("cache_creation_input_tokens")?,
    })
}

/// A count found at `path` in any of the usage objects LiteLLM keeps.
fn usage_value(metadata: Option<&Value>, path: &[&str]) -> Option<u64> {
    let metadata = metadata?;
    ["additional_usage_values", "usage_object"]
        .iter()
        .find_map(|object| {
            path.iter()
                .try_fold(&metadata[object], |v, key| v.get(key))
                .and_then(Value::as_u64)
        })
}

fn normalise(
    log: SpendLog,
    file: u32,
    line: u64,
    interner: &mut Interner,
) -> Result<Option<UsageRecord>, RowError> {
    if log
        .status
        .as_deref()
        .is_some_and(|s| !s.eq_ignore_ascii_case("success"))
    {
        return Ok(None);
    }
    if log.request_id.trim().is_empty() {
        return Err(("missing-request-id", "request_id is empty".into()));
    }
    if log.model.trim().is_empty() {
        return Err(("missing-field", "model is empty".into()));
    }
    let meta = log.metadata.as_ref();
    let prompt = count(log.prompt_tokens, "prompt_tokens")?;
    let read = log
        .cache_read_input_tokens
        .or_else(|| usage_value(meta, &["cache_read_input_tokens"]))
        .or_else(|| usage_value(meta, &["prompt_tokens_details", "cached_tokens"]));
    let read = count(read, "cache_read_input_tokens")?;
    let write_5m = usage_value(meta, &["cache_creation", "ephemeral_5m_input_tokens"]);
    let write_1h = usage_value(meta, &["cache_creation", "ephemeral_1h_input_tokens"]);
    let (write_5m, write_1h) = match (write_5m, write_1h) {
        (None, None) => {
            let total = log
                .cache_creation_input_tokens
                .or_else(|| usage_value(meta, &["cache_creation_input_tokens"]));
            (count(total, "cache_creation_input_tokens")?, 0)
        }
        (five, one) => (
            count(five, "ephemeral_5m_input_tokens")?,
            count(one, "ephemeral_1h_input_tokens")?,
        ),
    };
    let input = uncached(prompt, read + write_5m + write_1h, "prompt_tokens")?;
    let output = count(log.completion_tokens, "completion_tokens")?;
    let tenant_hint = log
        .team_id
        .as_deref()
        .or(log.end_user.as_deref())
        .map(str::to_string)
        .or_else(|| match &log.request_tags {
            Some(Value::Array(tags)) => tags.first().and_then(Value::as_str).map(str::to_string),
            Some(Value::String(tags)) => serde_json::from_str::<Vec<String>>(tags)
                .ok()
                .and_then(|t| t.into_iter().next()),
            _ => None,
        })
        .filter(|h| !h.is_empty());
    let provider = provider_name(
        log.custom_llm_provider
            .as_deref()
            .unwrap_or_else(|| log.model.split_once('/').map_or("unknown", |(p, _)| p)),
    );
    Ok(Some(UsageRecord {
        request_id: log.request_id.trim().into(),
        alt_request_id: None,
        timestamp: parse_utc_timestamp(&log.start_time, "startTime")?,
        provider: interner.intern(&provider),
        model: interner.intern(bare_model(&log.model)),
        tokens: Tokens([input, read, write_5m, write_1h, output]),
        batch: false,
        reported_cost_usd: log
            .spend
            .as_deref()
            .map(|s| parse_usd(s.get(), "spend"))
            .transpose()?,
        tenant_hint: tenant_hint.map(|h| interner.intern(&h)),
        origin: Origin { file, line },
    }))
}
