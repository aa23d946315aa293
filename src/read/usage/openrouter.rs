//! OpenRouter generation records (`GET /api/v1/generation?id=…`), as JSON
//! documents, arrays or lines, bare or wrapped in `{"data": …}`.
//!
//! The native token counts are what the upstream provider billed; their
//! prompt count includes cached tokens. A record joins on `id` (`gen-…`) or
//! on `upstream_id` (the provider's own id). It is priced as the upstream
//! provider's model (`provider_name`, and `model` without its `vendor/`
//! prefix), in its `service_tier` (the upstream's: `priority`, `flex`; none
//! or `default` is standard); `total_cost` is kept as the reported cost.
//! The web plugin's results (`num_search_results`) are OpenRouter's own
//! fee, a per-request charge `web_search_results` (USD per 1,000 results in
//! `[model.requests]`; Exa's is $4), and so are its web-fetch tool's fetches
//! (`num_fetches`, a charge `web_fetches`, whose price depends on the
//! engine: Exa's billed, a direct fetch free): a table without a price for
//! one stops the run, never a silent $0.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{
    billable, json_count, parse_timestamp, parse_usd, provider_name, reasoning_within_output,
    service_tier, uncached, RowError,
};
use crate::intern::{Interner, LabelSet};
use crate::model::{BilledRequest, Origin, Rare, Service, Tokens, UsageRecord};

/// The per-request charge of the web plugin's results.
const SEARCH_RESULTS: &str = "web_search_results";
/// The per-request charge of the web-fetch tool's fetches.
const FETCHES: &str = "web_fetches";

/// The API's `{"data": …}` envelope.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    data: &'a RawValue,
}

#[derive(Deserialize)]
struct Generation<'a> {
    id: String,
    upstream_id: Option<String>,
    created_at: String,
    model: String,
    provider_name: Option<String>,
    native_tokens_prompt: Option<serde_json::Value>,
    native_tokens_completion: Option<serde_json::Value>,
    native_tokens_cached: Option<serde_json::Value>,
    native_tokens_reasoning: Option<serde_json::Value>,
    num_search_results: Option<serde_json::Value>,
    num_fetches: Option<serde_json::Value>,
    #[serde(borrow)]
    total_cost: Option<&'a RawValue>,
    service_tier: Option<String>,
}

/// One generation record.
pub fn parse(
    json: &str,
    file: u32,
    line: u64,
    interner: &mut Interner,
) -> Result<Option<BilledRequest>, RowError> {
    let record = serde_json::from_str::<Envelope>(json).map_or(json, |e| e.data.get());
    let generation: Generation =
        crate::read::json_field::from_json(record, "an OpenRouter generation record")?;
    if generation.id.trim().is_empty() {
        return Err(("missing-request-id", "id is empty".into()));
    }
    let tokens = tokens_of(&generation)?;
    let results = json_count(generation.num_search_results.as_ref(), "num_search_results")?;
    let fetches = json_count(generation.num_fetches.as_ref(), "num_fetches")?;
    let requests = [
        super::requests_of(interner, SEARCH_RESULTS, results.unwrap_or(0)),
        super::requests_of(interner, FETCHES, fetches.unwrap_or(0)),
    ]
    .concat()
    .into_boxed_slice();
    let provider = generation
        .provider_name
        .as_deref()
        .map(provider_name)
        .unwrap_or_else(|| {
            provider_name(
                generation
                    .model
                    .split_once('/')
                    .map_or("openrouter", |(p, _)| p),
            )
        });
    Ok(Some(BilledRequest {
        request_id: generation.id.trim().into(),
        record: UsageRecord {
            timestamp: parse_timestamp(&generation.created_at)?,
            provider: interner.intern(&provider),
            model: interner.intern(super::billed_model(&provider, &generation.model)),
            tokens,
            service: Service {
                tier: service_tier(generation.service_tier.as_deref())?,
                ..Service::default()
            },
            tenant_hint: None,
            labels: LabelSet::default(),
            origin: Origin { file, line },
            rare: Rare {
                alt_request_id: generation
                    .upstream_id
                    .filter(|u| !u.is_empty())
                    .map(Into::into),
                reported_cost_usd: generation
                    .total_cost
                    .map(|c| parse_usd(c.get(), "total_cost"))
                    .transpose()?,
                requests,
                ..Rare::default()
            }
            .boxed(),
        },
    }))
}

/// The record's counts: its native prompt count holds the cached tokens,
/// its completion count the reasoning tokens.
fn tokens_of(generation: &Generation) -> Result<Tokens, RowError> {
    // A count written as text (`"1000"`) is read as the gateways' are.
    let counted = |value: &Option<serde_json::Value>, name| json_count(value.as_ref(), name);
    let (prompt, completion) = billable(
        (
            counted(&generation.native_tokens_prompt, "native_tokens_prompt")?,
            "native_tokens_prompt",
        ),
        (
            counted(
                &generation.native_tokens_completion,
                "native_tokens_completion",
            )?,
            "native_tokens_completion",
        ),
    )?;
    // An absent count is 0 (json_count checks the range).
    let cached = counted(&generation.native_tokens_cached, "native_tokens_cached")?.unwrap_or(0);
    let tokens = super::tokens([
        uncached(prompt, cached, "native_tokens_prompt")?,
        cached,
        0,
        0,
        completion,
    ])?;
    let reasoning = "native_tokens_reasoning";
    let reasoning_tokens = counted(&generation.native_tokens_reasoning, reasoning)?.unwrap_or(0);
    reasoning_within_output(reasoning_tokens, &tokens, "native_tokens_completion")
}
