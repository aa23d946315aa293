//! The `genai-prices` catalog (bundled in the binary) against the pricing
//! table, for `pricing check`: the usage with no price (gaps) and the rates
//! that differ from the catalog's (possible staleness).
//!
//! The catalog gives its prices as f64; they are only compared with ours
//! (to a relative 10⁻⁹) and shown, never used to price anything.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, UNIX_EPOCH};

use chrono::NaiveDate;
use genai_prices::{Calculator, PriceRequest, Usage as CatalogUsage};
use rust_decimal::Decimal;

use crate::error::Result;
use crate::glob::is_glob;
use crate::model::{Tier, TokenType};
use crate::price::{PriceTable, Qualifiers};

/// The version of the genai-prices crate (and its bundled data) compared with.
const GENAI_PRICES_VERSION: &str = "0.2.1";

/// What `pricing check` found.
pub struct Comparison {
    /// The table checked.
    pub table: PriceTable,
    /// Every (provider, model, date) checked.
    pub used: BTreeSet<(String, String, NaiveDate)>,
    /// Usage with no price, described.
    pub gaps: Vec<String>,
    /// Differing rates, with the first and last date seen.
    pub differences: BTreeMap<Difference, (NaiveDate, NaiveDate)>,
    /// (provider, model) pairs the catalog does not know, with how often seen.
    pub unknown: BTreeMap<(String, String), u64>,
    /// When the table alone is checked: the day it was checked on, and the
    /// catalog's text models (priced per input and output token) of
    /// [`COVERED`] providers it does not price on that day ([`Missing`]:
    /// gaps, and names the table retired).
    pub missing: Option<(NaiveDate, Vec<Missing>)>,
}

/// A catalog model the table does not price on the day checked: (provider,
/// model, the day the table's entries for it ended, if they all ended by
/// then: a retired name, not a gap).
pub type Missing = (String, String, Option<NaiveDate>);

/// The catalog providers whose every text model the shipped table prices, with tokenledger's name for each.
const COVERED: [(&str, &str); 7] = [
    ("anthropic", "anthropic"),
    ("openai", "openai"),
    ("google", "google"),
    ("aws", "aws.bedrock"),
    ("mistral", "mistral"),
    ("x-ai", "xai"),
    ("deepseek", "deepseek"),
];

/// The catalog's text models of the [`COVERED`] providers that `table`
/// does not price on `date`.
fn missing(table: &PriceTable, date: NaiveDate) -> Vec<Missing> {
    let mut missing = Vec::new();
    for provider in Calculator::bundled().providers() {
        let Some((_, ours)) = COVERED.iter().find(|(id, _)| *id == provider.id()) else {
            continue;
        };
        for model in provider.models() {
            let name = model_name(ours, model.id());
            // Token-priced text models: embeddings, moderation and speech
            // (no output token rate) are not what tokenledger prices.
            let is_text = catalog_rates(ours, model.id(), date).is_some_and(|r| {
                r[TokenType::Input.index()] > 0.0 && r[TokenType::Output.index()] > 0.0
            });
            if is_text && table.find(ours, name, date).is_none() {
                let ended = table.ended_by(ours, name, date);
                missing.push((ours.to_string(), model.id().to_string(), ended));
            }
        }
    }
    missing
}

/// A catalog model id as tokenledger reads the model's name: Bedrock ids
/// without the catalog's `regional.` prefix and the `:0` version.
fn model_name<'m>(provider: &str, id: &'m str) -> &'m str {
    if provider != "aws.bedrock" {
        return id;
    }
    let id = id.strip_prefix("regional.").unwrap_or(id);
    match id.rsplit_once(':') {
        Some((name, version)) if version.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => id,
    }
}

/// What `pricing check` compares: the table, the (provider, model, date)
/// triples to check, the usage with no price (described), and, when the
/// table alone is checked, the day and the catalog's models it misses.
pub struct Checked {
    /// The table.
    pub table: PriceTable,
    /// Every (provider, model, date) to check.
    pub used: BTreeSet<(String, String, NaiveDate)>,
    /// Usage with no price, described.
    pub gaps: Vec<String>,
    /// See [`Comparison::missing`].
    pub missing: Option<(NaiveDate, Vec<Missing>)>,
}

/// Every entry of `table`, on its first day (or `period_start`'s, for the
/// entries in force then), and the catalog's text models it misses on
/// that day (today without a period).
pub fn every_entry(
    table: PriceTable,
    period_start: Option<NaiveDate>,
    today: NaiveDate,
) -> Checked {
    let mut used = BTreeSet::new();
    for entry in &table.entries {
        let date = match period_start {
            Some(p) if entry.covers(p) => p,
            Some(_) => continue,
            None => entry.effective_from,
        };
        for model in entry
            .patterns
            .iter()
            .filter(|p| !is_glob(p) && !p.contains(' '))
        {
            used.insert((entry.provider.clone(), model.clone(), date));
        }
    }
    let day = period_start.unwrap_or(today);
    let missing = Some((day, self::missing(&table, day)));
    Checked {
        table,
        used,
        gaps: Vec::new(),
        missing,
    }
}

/// Compare what is to be checked with the table and the catalog.
pub fn compare(checked: Checked) -> Result<Comparison> {
    let Checked {
        table,
        used,
        gaps,
        missing,
    } = checked;
    let mut differences: BTreeMap<Difference, (NaiveDate, NaiveDate)> = BTreeMap::new();
    let mut unknown: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut catalog: BTreeMap<(&str, &str, NaiveDate), Option<[f64; 5]>> = BTreeMap::new();
    for (provider, model, date) in &used {
        let Some(entry) = table.find(provider, model, *date) else {
            continue; // a gap, listed above
        };
        let theirs = *catalog
            .entry((provider, model, *date))
            .or_insert_with(|| catalog_rates(provider, model, *date));
        let Some(theirs) = theirs else {
            *unknown
                .entry((provider.clone(), model.clone()))
                .or_default() += 1;
            continue;
        };
        // The catalog is asked at noon UTC: compare the rates of that hour.
        let noon = date.and_hms_opt(12, 0, 0).map(|t| t.and_utc());
        let hours = noon.and_then(|at| entry.hours_at(at));
        for tier in Tier::ALL {
            let qualifiers = Qualifiers {
                tier,
                hours,
                ..Qualifiers::default()
            };
            let ours = TokenType::ALL.map(|t| entry.unit_price(t, &qualifiers, false).ok());
            // A tier of ours the catalog models (its rates are not its
            // standard ones), and every standard rate.
            let theirs = match tier {
                Tier::Standard => Some(theirs),
                _ if ours.iter().any(Option::is_none) => None,
                _ => catalog_tier_rates(provider, model, *date, tier).filter(|r| *r != theirs),
            };
            let Some(theirs) = theirs else {
                continue;
            };
            for (t, ours) in TokenType::ALL.into_iter().zip(ours) {
                if unknown_to_the_catalog(t, &theirs) {
                    continue;
                }
                let Some(ours) = ours.filter(|o| differs(*o, theirs[t.index()])) else {
                    continue;
                };
                let key = (
                    provider.clone(),
                    model.clone(),
                    entry.line,
                    tier,
                    t,
                    ours.normalize(),
                    theirs[t.index()].to_string(),
                );
                let span = differences.entry(key).or_insert((*date, *date));
                span.0 = span.0.min(*date);
                span.1 = span.1.max(*date);
            }
        }
    }

    Ok(Comparison {
        table,
        used,
        gaps,
        differences,
        unknown,
        missing,
    })
}

impl Comparison {
    /// The report `pricing check` prints.
    pub fn text(&self) -> String {
        let (table, used, gaps) = (&self.table, &self.used, &self.gaps);
        let (differences, unknown) = (&self.differences, &self.unknown);
        let pairs: BTreeSet<(&str, &str)> = used.iter().map(|(p, m, _)| (&**p, &**m)).collect();
        let mut text = format!(
            "tokenledger: pricing check of {} (version {}) against genai-prices {}: {} (provider, model) pairs\n",
            table.source,
            table.version,
            GENAI_PRICES_VERSION,
            pairs.len()
        );
        if !gaps.is_empty() {
            text += &format!(
                "gaps: usage with no price (add or extend a [[model]] entry):\n{}\n",
                gaps.join("\n")
            );
        }
        if !differences.is_empty() {
            text +=
                "possible staleness: rates (USD per 1M tokens) that differ from genai-prices:\n";
            for ((provider, model, line, tier, t, ours, theirs), (from, to)) in differences {
                let dates = if from == to {
                    format!("on {from}")
                } else {
                    format!("from {from} to {to}")
                };
                let tier = match tier {
                    Tier::Standard => String::new(),
                    tier => format!("{} ", tier.key()),
                };
                text += &format!(
                    "  {provider} {model} {tier}{}: {ours} here ({}:{line}), {theirs} in genai-prices, {dates}\n",
                    t.key(),
                    table.source
                );
            }
        }
        if !unknown.is_empty() {
            let names: Vec<String> = unknown.keys().map(|(p, m)| format!("{p} {m}")).collect();
            text += &format!("not in genai-prices (not compared): {}\n", names.join(", "));
        }
        if let Some((day, missing)) = &self.missing {
            text += &missing_text(*day, missing);
        }
        text += &format!(
            "{} gap(s), {} differing rate(s)\n",
            gaps.len(),
            differences.len()
        );
        text
    }
}

/// What `pricing check` says of the catalog's models the table does not
/// price on `day`: gaps, and names whose entries ended (retired).
fn missing_text(day: NaiveDate, missing: &[Missing]) -> String {
    let (ended, unpriced): (Vec<&Missing>, Vec<&Missing>) =
        missing.iter().partition(|(_, _, ended)| ended.is_some());
    let retired: Vec<String> = ended
        .iter()
        .filter_map(|(p, m, to)| to.map(|to| format!("{p} {m} (its entries end {to})")))
        .collect();
    if unpriced.is_empty() {
        let but = match retired.len() {
            0 => String::new(),
            n => format!(", except {n} retired here: {}", retired.join(", ")),
        };
        return format!(
            "every text model genai-prices lists for {} is priced on {day}{but}\n",
            COVERED.map(|(_, ours)| ours).join(", ")
        );
    }
    let names: Vec<String> = unpriced
        .iter()
        .map(|(p, m, _)| format!("{p} {m}"))
        .collect();
    let mut text = format!(
        "in genai-prices, not priced here on {day} ({}): {}\n",
        unpriced.len(),
        names.join(", ")
    );
    if !retired.is_empty() {
        let n = retired.len();
        text += &format!("retired here before {day} ({n}): {}\n", retired.join(", "));
    }
    text
}

fn catalog_provider(provider: &str) -> &str {
    provider.split('.').next().unwrap_or(provider)
}

/// The catalog's standard rates (USD per million tokens) for `model` on
/// `date`, or `None` when it does not know the model.
pub fn catalog_rates(provider: &str, model: &str, date: NaiveDate) -> Option<[f64; 5]> {
    catalog_tier_rates(provider, model, date, Tier::Standard)
}

/// The catalog's rates for `model` on `date` in a service tier (its
/// standard ones where it has none for the tier).
fn catalog_tier_rates(
    provider: &str,
    model: &str,
    date: NaiveDate,
    tier: Tier,
) -> Option<[f64; 5]> {
    let context = match tier {
        Tier::Standard => None,
        Tier::Batch => Some(("processing", "batch")),
        Tier::Flex => Some(("service_tier", "flex")),
        Tier::Priority => Some(("service_tier", "priority")),
    };
    let calculator = Calculator::bundled();
    let seconds = date.and_hms_opt(12, 0, 0)?.and_utc().timestamp();
    let at = UNIX_EPOCH + Duration::from_secs(u64::try_from(seconds).ok()?);
    // A thousand tokens of each type alone, scaled to a million: small
    // enough to stay below any long-context tier. Cached tokens count
    // inside input_tokens in the catalog's usage, as in OpenAI's.
    let rate = |keys: &[&str]| {
        let usage: CatalogUsage = keys.iter().map(|k| (*k, 1e3)).collect();
        let mut request = PriceRequest::new(model, &usage)
            .with_provider_id(catalog_provider(provider))
            .with_timestamp(at);
        if let Some((key, value)) = context {
            request = request.with_price_context(key, value);
        }
        let price = calculator.calculate(&request).ok()?.total_price * 1e3;
        // Round away the float noise of the scaling: rates have at most 6 places.
        Some((price * 1e6).round() / 1e6)
    };
    Some([
        rate(&["input_tokens"])?,
        rate(&["input_tokens", "cache_read_tokens"])?,
        rate(&[
            "input_tokens",
            "cache_write_tokens",
            "cache_write_5m_tokens",
        ])?,
        rate(&[
            "input_tokens",
            "cache_write_tokens",
            "cache_write_1h_tokens",
        ])?,
        rate(&["output_tokens"])?,
    ])
}

/// Whether the catalog's rate of `t` is no rate of its own: a 1-hour
/// cache write at its 5-minute rate is genai-prices' stand-in where it
/// lists none (Anthropic bills 2x input, docs/genai_prices.py).
fn unknown_to_the_catalog(t: TokenType, theirs: &[f64; 5]) -> bool {
    let (one_hour, five_minutes) = (
        TokenType::CacheWrite1h.index(),
        TokenType::CacheWrite5m.index(),
    );
    t == TokenType::CacheWrite1h && theirs[one_hour] == theirs[five_minutes]
}

/// Whether our exact rate and the catalog's float differ.
fn differs(ours: Decimal, theirs: f64) -> bool {
    let ours: f64 = ours.to_string().parse().unwrap_or(f64::NAN);
    (ours - theirs).abs() > 1e-9 * theirs.abs().max(1.0)
}

/// A differing rate: (provider, model, entry line, tier, token type, ours,
/// theirs).
type Difference = (String, String, usize, Tier, TokenType, Decimal, String);
