//! `tokenledger pricing`: look at the pricing table before month end.
//! `show` prints the entry that prices a model on a date with every rate;
//! `check` finds the usage that has no price (exit 1) and lists the rates
//! that differ from the `genai-prices` catalog (bundled in the binary) as
//! possible staleness.
//!
//! The catalog gives its prices as f64; they are only compared with ours
//! (to a relative 10⁻⁹) and shown, never used to price anything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use chrono::NaiveDate;
use genai_prices::{Calculator, PriceRequest, Usage as CatalogUsage};
use rust_decimal::Decimal;

use super::{print_stdout, Outcome};
use crate::error::Result;
use crate::model::TokenType;
use crate::pipeline::config::UsageConfig;
use crate::pipeline::usage::Usage;
use crate::price::{price_each, PriceEntry, PriceTable};
use crate::terminal::escape_lines;

/// What `pricing show` is asked for.
#[derive(Clone, Debug)]
pub struct ShowConfig {
    /// The model name as billed.
    pub model: String,
    /// Only this provider's entries.
    pub provider: Option<String>,
    /// The UTC date to price on (default: today).
    pub at: Option<NaiveDate>,
    /// The pricing table.
    pub pricing: Option<PathBuf>,
}

fn catalog_provider(provider: &str) -> &str {
    provider.split('.').next().unwrap_or(provider)
}

/// The catalog's standard rates (USD per million tokens) for `model` on
/// `date`, or `None` when it does not know the model.
fn catalog_rates(provider: &str, model: &str, date: NaiveDate) -> Option<[f64; 5]> {
    let calculator = Calculator::bundled();
    let seconds = date.and_hms_opt(12, 0, 0)?.and_utc().timestamp();
    let at = UNIX_EPOCH + Duration::from_secs(u64::try_from(seconds).ok()?);
    // A thousand tokens of each type alone, scaled to a million: small
    // enough to stay below any long-context tier. Cached tokens count
    // inside input_tokens in the catalog's usage, as in OpenAI's.
    let rate = |keys: &[&str]| {
        let usage: CatalogUsage = keys.iter().map(|k| (*k, 1e3)).collect();
        let request = PriceRequest::new(model, &usage)
            .with_provider_id(catalog_provider(provider))
            .with_timestamp(at);
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

/// Whether our exact rate and the catalog's float differ.
fn differs(ours: Decimal, theirs: f64) -> bool {
    let ours: f64 = ours.to_string().parse().unwrap_or(f64::NAN);
    (ours - theirs).abs() > 1e-9 * theirs.abs().max(1.0)
}

/// A differing rate: (provider, model, entry line, token type, ours, theirs).
type Difference = (String, String, usize, TokenType, Decimal, String);

/// `pricing check`: every model in the usage (else every entry of the
/// table) against the table and the genai-prices catalog.
pub fn check(args: &UsageConfig) -> Result<Outcome> {
    // What to check: (provider, model, date) triples.
    let (table, used, gaps) = if args.paths.is_empty() {
        let table = PriceTable::resolve(args.pricing.as_deref())?;
        let mut used = BTreeSet::new();
        for entry in &table.entries {
            let date = match args.period {
                Some(p) if entry.covers(p.first_day()) => p.first_day(),
                Some(_) => continue,
                None => entry.effective_from,
            };
            for model in entry.patterns.iter().filter(|p| !p.contains(['*', ' '])) {
                used.insert((entry.provider.clone(), model.clone(), date));
            }
        }
        (table, used, Vec::new())
    } else {
        let billing = Usage::read(args)?;
        let (_, gaps) = price_each(&billing.pricing, &billing.records, &billing.interner);
        let used = billing
            .records
            .iter()
            .map(|r| {
                let name = |s| billing.interner.get(s).to_string();
                (name(r.provider), name(r.model), r.timestamp.date_naive())
            })
            .collect();
        (billing.pricing, used, gaps)
    };

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
        for t in TokenType::ALL {
            let ours = entry.rates.0[t.index()];
            if differs(ours, theirs[t.index()]) {
                let key = (
                    provider.clone(),
                    model.clone(),
                    entry.line,
                    t,
                    ours,
                    theirs[t.index()].to_string(),
                );
                let span = differences.entry(key).or_insert((*date, *date));
                span.0 = span.0.min(*date);
                span.1 = span.1.max(*date);
            }
        }
    }

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
        text += "possible staleness: rates (USD per 1M tokens) that differ from genai-prices:\n";
        for ((provider, model, line, t, ours, theirs), (from, to)) in &differences {
            let dates = if from == to {
                format!("on {from}")
            } else {
                format!("from {from} to {to}")
            };
            text += &format!(
                "  {provider} {model} {}: {ours} here ({}:{line}), {theirs} in genai-prices, {dates}\n",
                t.key(),
                table.source
            );
        }
    }
    if !unknown.is_empty() {
        let names: Vec<String> = unknown.keys().map(|(p, m)| format!("{p} {m}")).collect();
        text += &format!("not in genai-prices (not compared): {}\n", names.join(", "));
    }
    text += &format!(
        "{} gap(s), {} differing rate(s)\n",
        gaps.len(),
        differences.len()
    );
    print_stdout(escape_lines(&text).as_bytes())?;
    Ok(Outcome::of(
        (!gaps.is_empty())
            .then(|| {
                format!(
                    "pricing check: {} gap(s) in the table for the usage",
                    gaps.len()
                )
            })
            .into_iter()
            .collect(),
    ))
}

/// The version of the genai-prices crate (and its bundled data) compared with.
const GENAI_PRICES_VERSION: &str = "0.2.1";

/// `pricing show`: the entry that prices a model on a date, with every rate.
pub fn show(args: &ShowConfig) -> Result<Outcome> {
    let table = PriceTable::resolve(args.pricing.as_deref())?;
    let today = || chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now()).date_naive();
    let date = args.at.unwrap_or_else(today);
    let providers: BTreeSet<&str> = table
        .entries
        .iter()
        .map(|e| e.provider.as_str())
        .filter(|p| args.provider.as_deref().is_none_or(|want| want == *p))
        .collect();
    let mut text = String::new();
    for provider in providers {
        if let Some(entry) = table.find(provider, &args.model, date) {
            text += &describe(&table, entry, &args.model, date);
        }
    }
    if text.is_empty() {
        // A negative answer, not an error: exit 1, as grep does.
        return Ok(Outcome::Fail(vec![format!(
            "no entry of {} prices \"{}\" on {date}{}; `tokenledger pricing check` lists every gap",
            table.source,
            args.model,
            args.provider
                .as_deref()
                .map_or_else(String::new, |p| format!(" for provider {p}")),
        )]));
    }
    print_stdout(escape_lines(&text).as_bytes())?;
    Ok(Outcome::Pass)
}

/// Rates per token type, as `input 3, cache_read 0.3, …`.
fn rate_list(rates: &[impl std::fmt::Display; 5]) -> String {
    TokenType::ALL
        .map(|t| format!("{} {}", t.key(), rates[t.index()]))
        .join(", ")
}

/// One entry as `pricing show` prints it.
fn describe(table: &PriceTable, entry: &PriceEntry, model: &str, date: NaiveDate) -> String {
    let mut text = format!(
        "{model} ({}) on {date}: {}:{}\n  match:        {}\n  effective:    from {}{}\n  USD per 1M:   {}\n",
        entry.provider,
        table.source,
        entry.line,
        entry.patterns.join(", "),
        entry.effective_from,
        entry
            .effective_to
            .map_or_else(|| " (no end)".to_string(), |to| format!(" to {to} (exclusive)")),
        rate_list(&entry.rates.0),
    );
    text += &match entry.batch_discount {
        Some(d) => format!("  batch:        {d} of the standard cost\n"),
        None => "  batch:        no batch rate (batch records are refused)\n".to_string(),
    };
    if let Some(lc) = &entry.long_context {
        text += &format!(
            "  long context: above {} prompt tokens, the whole request at {}\n",
            lc.threshold,
            rate_list(&lc.rates.0)
        );
    }
    text += &match catalog_rates(&entry.provider, model, date) {
        Some(theirs) => format!("  genai-prices: {}\n", rate_list(&theirs)),
        None => "  genai-prices: model not in the catalog\n".to_string(),
    };
    text
}
