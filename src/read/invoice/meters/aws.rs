//! AWS usage types: legacy keys, mantle model ids and Marketplace units.

use super::{usage, Read};
use crate::model::TokenType;
use crate::read::invoice::Meter;

/// The words of an AWS usage type that make a meter a fixed charge.
const AWS_FIXED: [&str; 12] = [
    "provisionedthroughput",
    "modelunits",
    "reserved",
    "customization",
    "custom-model",
    "guardrail",
    "search-units",
    // Marketplace spells it so (Cohere Rerank 3.5, Amazon Bedrock Edition).
    "search_units",
    "created_image",
    "cachestorage",
    "grounding",
    "training",
];

/// An AWS usage type (`USE1-Claude4.6Sonnet-input-tokens`,
/// `USE1-anthropic.claude-opus-4-8-mantle-input-tokens-standard`,
/// `USE1-MP:USE1_InputTokenCount_Global-Units`). Marketplace rows name the
/// model only in their product name, given as `product`.
pub fn aws(usage_type: &str, product: Option<&str>) -> Read {
    let lower = usage_type.to_ascii_lowercase();
    if AWS_FIXED.iter().any(|w| lower.contains(w)) {
        return Read::Fixed;
    }
    let rest = strip_region(usage_type);
    if let Some(mp) = marketplace_body(rest) {
        let model = product.map(|p| p.trim_end_matches(" (Amazon Bedrock Edition)").trim());
        return match (model.filter(|m| !m.is_empty()), marketplace(mp)) {
            (Some(model), Some((meter, qualifiers))) => usage(model, meter, qualifiers),
            // Tokens of a model the row names nowhere: unmapped, never dropped.
            _ => Read::Unknown,
        };
    }
    if let Some((model, tail)) = rest.split_once("-mantle-") {
        return match mantle(tail) {
            Some((meter, qualifiers)) => usage(model, meter, qualifiers),
            None => Read::Unknown,
        };
    }
    legacy(rest)
}

/// The usage type without its region prefix (`USE1-`, `EUW2-`, `EU-`).
pub(super) fn strip_region(usage_type: &str) -> &str {
    match usage_type.split_once('-') {
        Some((region, rest))
            if (2..=5).contains(&region.len())
                && region
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) =>
        {
            rest
        }
        _ => usage_type,
    }
}

/// A Marketplace usage type's part after its region: after `MP:`, or the
/// whole of a newer one without it.
fn marketplace_body(rest: &str) -> Option<&str> {
    rest.strip_prefix("MP:").or_else(|| marketplace_unit(rest))
}

/// Whether a usage type (without its region) is a Marketplace row's, whose
/// model only its product name names.
pub(super) fn is_marketplace(rest: &str) -> bool {
    marketplace_body(rest).is_some()
}

/// A newer Marketplace usage type without `MP:` (`USE1_input_tokens_standard-Units`).
fn marketplace_unit(rest: &str) -> Option<&str> {
    rest.ends_with("-Units").then_some(rest)
}

/// A Marketplace usage type after `MP:` (`USE1_InputTokenCount_Global-Units`).
fn marketplace(rest: &str) -> Option<(Meter, Vec<String>)> {
    let body = rest.strip_suffix("-Units").unwrap_or(rest);
    let body = body.split_once('_').map_or(body, |(region, b)| {
        if region
            .bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            b
        } else {
            body
        }
    });
    let lower = body.to_ascii_lowercase().replace('_', "");
    let token = if lower.contains("cachewrite1h") || lower.contains("cachewritetokens1h") {
        TokenType::CacheWrite1h
    } else if lower.contains("cachewrite") {
        TokenType::CacheWrite5m
    } else if lower.contains("cacheread") {
        TokenType::CacheRead
    } else if lower.contains("input") {
        TokenType::Input
    } else if lower.contains("output") {
        TokenType::Output
    } else {
        return None;
    };
    let mut qualifiers = Vec::new();
    for (word, q) in [
        ("global", "global"),
        ("batch", "batch"),
        ("latencyoptimized", "latency-optimized"),
    ] {
        if lower.contains(word) {
            qualifiers.push(q.to_string());
        }
    }
    Some((Meter::Tokens(token), qualifiers))
}

/// A mantle usage type after `-mantle-` (`input-tokens-standard`,
/// `cache-write-tokens-1h-standard`, `output-tokens-global-standard`).
fn mantle(tail: &str) -> Option<(Meter, Vec<String>)> {
    let phrases: [(&str, TokenType); 6] = [
        ("cache-write-tokens-1h", TokenType::CacheWrite1h),
        ("cache-write-tokens-5m", TokenType::CacheWrite5m),
        ("cache-write-tokens", TokenType::CacheWrite5m),
        ("cache-read-tokens", TokenType::CacheRead),
        ("input-tokens", TokenType::Input),
        ("output-tokens", TokenType::Output),
    ];
    let (phrase, token) = phrases.into_iter().find(|(p, _)| tail.starts_with(p))?;
    let rest = tail[phrase.len()..].trim_start_matches('-');
    let qualifiers = rest
        .replace("global-standard", "global")
        .split('-')
        .filter(|w| !w.is_empty() && *w != "standard")
        .map(|w| {
            if w == "ctx" {
                "context".into()
            } else {
                w.to_string()
            }
        })
        .collect();
    Some((Meter::Tokens(token), qualifiers))
}

/// A legacy usage type after its region (`Claude4.6Sonnet-input-tokens`,
/// `NovaPro-cache-read-input-token-count-cross-region-global`). Its cache
/// writes say no time-to-live: [`Meter::CacheWrites`].
fn legacy(rest: &str) -> Read {
    let phrases: [(&str, TokenType); 10] = [
        ("-cache-read-input-token-count", TokenType::CacheRead),
        (CACHE_WRITES, TokenType::CacheWrite5m),
        ("-text-input-tokens", TokenType::Input),
        ("-text-output-tokens", TokenType::Output),
        ("-speech-input-tokens", TokenType::Input),
        ("-speech-output-tokens", TokenType::Output),
        ("-input-image-token-count", TokenType::Input),
        ("-input-audio-token-count", TokenType::Input),
        ("-input-tokens", TokenType::Input),
        ("-output-tokens", TokenType::Output),
    ];
    let found = phrases
        .iter()
        .filter_map(|(p, t)| rest.find(p).map(|at| (at, *p, *t)))
        .min_by_key(|(at, p, _)| (*at, std::cmp::Reverse(p.len())));
    let Some((at, phrase, token)) = found else {
        return Read::Unknown;
    };
    let tail = &rest[at + phrase.len()..];
    let qualifiers = tail
        .replace("cross-region-global", "global")
        .replace("latency-optimized", "latency_optimized")
        .replace("long-context", "long_context")
        .split('-')
        .filter(|w| !w.is_empty())
        .map(|w| w.replace('_', "-"))
        .collect();
    let meter = match phrase {
        CACHE_WRITES => Meter::CacheWrites,
        _ => Meter::Tokens(token),
    };
    usage(&rest[..at], meter, qualifiers)
}

/// A native usage type's cache writes, of either time-to-live.
const CACHE_WRITES: &str = "-cache-write-input-token-count";

#[cfg(test)]
mod tests {
    use super::super::tests::read;
    use super::*;
    use crate::model::TokenType;

    #[test]
    fn a_native_cache_write_says_no_time_to_live() {
        // A native cache write says no time-to-live.
        assert_eq!(
            aws("USE1-Claude4.6Sonnet-cache-write-input-token-count", None),
            Read::Usage {
                model: "Claude4.6Sonnet".into(),
                meter: Meter::CacheWrites,
                qualifiers: Vec::new()
            }
        );
    }

    #[test]
    fn aws_usage_types_of_every_shape() {
        use TokenType::*;
        let cases = [
            (
                "USE1-Claude4.6Sonnet-input-tokens",
                read("Claude4.6Sonnet", Input, &[]),
            ),
            (
                "USE1-Claude4.6Sonnet-cache-read-input-token-count",
                read("Claude4.6Sonnet", CacheRead, &[]),
            ),
            (
                "USE1-Claude4Sonnet-input-tokens-cross-region-global-batch",
                read("Claude4Sonnet", Input, &["global", "batch"]),
            ),
            (
                "USE1-Claude4Sonnet-output-tokens-long-context-cross-region-global",
                read("Claude4Sonnet", Output, &["long-context", "global"]),
            ),
            (
                "EU-Qwen3-32B-output-tokens-batch",
                read("Qwen3-32B", Output, &["batch"]),
            ),
            (
                "USE1-Llama4-Maverick-17B-input-tokens-batch",
                read("Llama4-Maverick-17B", Input, &["batch"]),
            ),
            (
                "USE1-Claude3-5Haiku-input-tokens-latency-optimized",
                read("Claude3-5Haiku", Input, &["latency-optimized"]),
            ),
            (
                "USE1-Nova2.0Pro-text-input-tokens-priority-cross-region-global",
                read("Nova2.0Pro", Input, &["priority", "global"]),
            ),
            (
                "USE1-anthropic.claude-opus-4-8-mantle-input-tokens-standard",
                read("anthropic.claude-opus-4-8", Input, &[]),
            ),
            (
                "USE1-anthropic.claude-haiku-4-5-mantle-cache-write-tokens-1h-standard",
                read("anthropic.claude-haiku-4-5", CacheWrite1h, &[]),
            ),
            (
                "USE1-anthropic.claude-opus-5-mantle-cache-read-tokens-global-standard",
                read("anthropic.claude-opus-5", CacheRead, &["global"]),
            ),
        ];
        for (usage_type, want) in cases {
            assert_eq!(aws(usage_type, None), want, "{usage_type}");
        }
        let product = Some("Claude Sonnet 4.6 (Amazon Bedrock Edition)");
        assert_eq!(
            aws(
                "USE1-MP:USE1_CacheReadInputTokenCount_Global-Units",
                product
            ),
            read("Claude Sonnet 4.6", CacheRead, &["global"])
        );
        assert_eq!(
            aws("USW2-MP:USW2_CacheWrite1hInputTokenCount-Units", product),
            read("Claude Sonnet 4.6", CacheWrite1h, &[])
        );
        assert_eq!(
            aws("USE1-MP:USE1_InputTokenCount-Units", None),
            Read::Unknown
        );
        for fixed in [
            "USE1-NovaPro-Customization-Training",
            "EU-Claude4.5Sonnet-reserved-1-month-input-tokens-per-minute-cross-region-global",
            "USE1-MP:USE1_ProvisionedThroughput_1MonthCommit_ModelUnits_Usage-Units",
            "USE1-Nova2.0Lite-nova-grounding",
            "USE1-MP:USE1_search_units-Units",
            "USE1-MP:USE1_created_image-Units",
        ] {
            assert_eq!(aws(fixed, product), Read::Fixed, "{fixed}");
        }
        assert_eq!(aws("USE1-TimedStorage-ByteHrs", None), Read::Unknown);
    }
}
