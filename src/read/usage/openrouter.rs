//! OpenRouter generation records (`GET /api/v1/generation?id=…`), as JSON
//! documents, arrays or lines, bare or wrapped in `{"data": …}`.
//!
//! The native token counts are what the upstream provider billed; their
//! prompt count includes cached tokens. A record joins on `id` (`gen-…`) or
//! on `upstream_id` (the provider's own id). It is priced as the upstream
//! provider's model (`provider_name`, and `model` without its `vendor/`
//! prefix), in its `service_tier` (the upstream's: `priority`, `flex`; none
//! or `default` is standard); `total_cost` is kept as the reported cost.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{
    billable, count, parse_timestamp, parse_usd, provider_name, reasoning_within_output,
    service_tier, uncached, RowError,
};
use crate::intern::{Interner, LabelSet};
use crate::model::{bare_model, BilledRequest, Origin, Rare, Service, UsageRecord};

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
    native_tokens_prompt: Option<u64>,
    native_tokens_completion: Option<u64>,
    native_tokens_cached: Option<u64>,
    native_tokens_reasoning: Option<u64>,
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
    let generation: Generation = serde_json::from_str(record).map_err(|e| {
        (
            "bad-json",
            format!("not an OpenRouter generation record: {e}"),
        )
    })?;
    if generation.id.trim().is_empty() {
        return Err(("missing-request-id", "id is empty".into()));
    }
    let (prompt, completion) = billable(
        (generation.native_tokens_prompt, "native_tokens_prompt"),
        (
            generation.native_tokens_completion,
            "native_tokens_completion",
        ),
    )?;
    let cached = count(generation.native_tokens_cached, "native_tokens_cached")?;
    let tokens = super::tokens([
        uncached(prompt, cached, "native_tokens_prompt")?,
        cached,
        0,
        0,
        completion,
    ])?;
    let reasoning_tokens = count(
        generation.native_tokens_reasoning,
        "native_tokens_reasoning",
    )?;
    let tokens = reasoning_within_output(reasoning_tokens, &tokens, "native_tokens_completion")?;
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
            model: interner.intern(bare_model(&generation.model)),
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
                ..Rare::default()
            }
            .boxed(),
        },
    }))
}
