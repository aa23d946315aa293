//! One `[[model]]` entry of `pricing.toml`, read exactly from its literal
//! text: rates, long-context tier, service tiers, regions, speed,
//! time-of-day windows, audio and image rates, per-request charges and
//! their free allowances. Errors name the file, line and key.

use rust_decimal::Decimal;
use toml_edit::Table;

use super::entry::{Allowance, FREE_SUFFIX};
use super::entry::{Hours, LongContext, PriceEntry, Rates, TierPrice, TierRates, Window};
use super::glob::MAX_PATTERN;
use super::toml_parts::{check_combinations, not_zero};
use super::GLOBAL_PROFILE;
use crate::error::Result;
use crate::model::{Modality, Tier, TokenType, GLOBAL};
use crate::read::toml::{Number, TomlReader};

/// Pricing-file reading on top of the shared TOML reader.
pub(super) trait PricingToml {
    fn rate(&self, table: &Table, key: &str, what: &str) -> Result<Decimal>;
    fn rates(&self, table: &Table, what: &str) -> Result<Rates>;
    fn batch_discount(&self, table: &Table, what: &str) -> Result<Decimal>;
    fn patterns(&self, table: &Table, what: &str) -> Result<Vec<String>>;
    fn entry(&self, table: &Table) -> Result<PriceEntry>;
    fn tiers(&self, entry: &Table, line: usize) -> Result<Vec<(Tier, TierPrice)>>;
    fn tier_rates(&self, table: &Table, what: &str) -> Result<TierRates>;
    fn hours(&self, entry: &Table, line: usize) -> Result<Vec<Hours>>;
    fn allowances(
        &self,
        entry: &Table,
        line: usize,
        requests: &[(String, Decimal)],
    ) -> Result<Vec<(String, Allowance)>>;
    fn multipliers(&self, entry: &Table, key: &str, line: usize) -> Result<Vec<Named<Decimal>>>;
    fn geo(
        &self,
        entry: &Table,
        line: usize,
        provider: &str,
        patterns: &[String],
    ) -> Result<Vec<(String, Decimal)>>;
    fn subtables<'d>(
        &self,
        entry: &'d Table,
        key: &str,
        line: usize,
    ) -> Result<Vec<Named<&'d Table>>>;
    fn multiplier(&self, table: &Table, what: &str) -> Result<Decimal>;
    fn request_prices(&self, entry: &Table, line: usize) -> Result<Vec<(String, Decimal)>>;
}

/// Every key a `[[model]]` entry may hold.
const ENTRY_KEYS: &[&str] = &[
    "provider",
    "match",
    "effective_from",
    "effective_to",
    "input",
    "output",
    "cache_read",
    "cache_write_5m",
    "cache_write_1h",
    "batch_discount",
    "long_context",
    "tiers",
    "geo",
    "speed",
    "requests",
    "source",
    "hours",
    "free_requests",
    "input_audio",
    "output_audio",
    "input_image",
    "output_image",
];

/// `[model.long_context]`: a threshold in tokens and the rates above it.
fn long_context(toml: &TomlReader, table: &Table, line: usize) -> Result<Option<LongContext>> {
    let Some(item) = table.get("long_context") else {
        return Ok(None);
    };
    let lc = item
        .as_table()
        .ok_or_else(|| toml.error(item.span(), "long_context must be a table".into()))?;
    let what = format!("[model.long_context] of the entry at line {line}");
    let mut keys = vec!["threshold"];
    keys.extend(TokenType::ALL.map(TokenType::key));
    toml.only_keys(lc, &keys, &what)?;
    let threshold = toml.value(lc, "threshold", &what)?;
    let threshold = threshold
        .as_integer()
        .and_then(|t| u64::try_from(t).ok())
        .filter(|t| *t > 0)
        .ok_or_else(|| {
            toml.error(
                threshold.span(),
                "threshold must be a whole number of tokens, at least 1".into(),
            )
        })?;
    let rates = toml.rates(lc, &what)?;
    Ok(Some(LongContext {
        threshold,
        rates,
        per_token: rates.per_token(),
    }))
}

/// `[model.speed.fast]`: the multiplier of a fast request; no other speed.
fn fast_speed(toml: &TomlReader, table: &Table, line: usize) -> Result<Option<Decimal>> {
    let mut fast = None;
    for (speed, m, span) in toml.multipliers(table, "speed", line)? {
        if speed != "fast" {
            let message = format!("[model.speed.{speed}]: the only speed priced apart is `fast`");
            return Err(toml.error(span, message));
        }
        fast = Some(m);
    }
    Ok(fast)
}

/// A value under a name, with the span of its table.
type Named<T> = (String, T, Option<std::ops::Range<usize>>);

impl PricingToml for TomlReader<'_> {
    /// A rate in USD per million tokens.
    fn rate(&self, table: &Table, key: &str, what: &str) -> Result<Decimal> {
        let kind = Number {
            unit: "USD per million tokens",
            noun: "rates",
            max: Decimal::from(1_000_000u32),
            too_large: "over $1,000,000 per million tokens is not a price",
            min: Decimal::new(1, 6),
            too_small: "below $0.000001 per million tokens is not a price; use 0 for free tokens",
        };
        self.price(table, key, what, &kind)
    }

    /// The `match` list: model names and globs, each at most [`MAX_PATTERN`] characters.
    fn patterns(&self, table: &Table, what: &str) -> Result<Vec<String>> {
        let matches = self.value(table, "match", what)?;
        let patterns: Vec<String> = matches
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .filter(|p: &Vec<String>| {
                !p.is_empty() && p.len() == matches.as_array().map_or(0, |a| a.len())
            })
            .ok_or_else(|| {
                self.error(
                    matches.span(),
                    "\"match\" must be a non-empty array of model names or globs".into(),
                )
            })?;
        if let Some(long) = matches
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| v.as_str().is_some_and(|p| p.chars().count() > MAX_PATTERN))
        {
            let n = long.as_str().map_or(0, |p| p.chars().count());
            return Err(self.error(
                long.span(),
                format!(
                    "\"match\" holds a pattern of {n} characters; a model name or glob has at most {MAX_PATTERN}"
                ),
            ));
        }
        for value in matches.as_array().into_iter().flatten() {
            if let Some(why) = value.as_str().and_then(crate::glob::problem) {
                return Err(self.error(value.span(), format!("\"match\": {why}")));
            }
        }
        Ok(patterns)
    }

    /// `batch_discount`: the fraction of the standard cost a batch request is charged.
    fn batch_discount(&self, table: &Table, what: &str) -> Result<Decimal> {
        let kind = Number {
            unit: "the fraction of the standard cost charged",
            noun: "batch discounts",
            max: Decimal::ONE,
            too_large: "batch_discount is the fraction of the standard cost charged, at most 1",
            min: Decimal::new(1, 2),
            too_small: "batch_discount is the fraction of the standard cost charged; below 0.01 it is not a price",
        };
        let discount = self.decimal(table, "batch_discount", what, &kind)?;
        not_zero(
            self,
            (table, "batch_discount"),
            discount,
            "a batch request would cost nothing",
        )
    }

    fn rates(&self, table: &Table, what: &str) -> Result<Rates> {
        let mut rates = [Decimal::ZERO; 5];
        for t in TokenType::ALL {
            rates[t.index()] = self.rate(table, t.key(), what)?;
        }
        Ok(Rates(rates))
    }

    fn entry(&self, table: &Table) -> Result<PriceEntry> {
        let line = table.span().map_or(0, |s| self.line(s.start));
        let what = format!("the [[model]] entry at line {line}");
        self.only_keys(table, ENTRY_KEYS, &what)?;
        let provider = self.string(table, "provider", &what)?.to_string();
        let patterns = self.patterns(table, &what)?;
        let effective_from = self.date(table, "effective_from", &what)?;
        let effective_to = match table.contains_key("effective_to") {
            true => Some(self.date(table, "effective_to", &what)?),
            false => None,
        };
        if effective_to.is_some_and(|to| to <= effective_from) {
            return Err(self.error(
                table.span(),
                format!("{what}: effective_to must be after effective_from"),
            ));
        }
        let batch_discount = match table.contains_key("batch_discount") {
            true => Some(self.batch_discount(table, &what)?),
            false => None,
        };
        let long_context = long_context(self, table, line)?;
        let rates = self.rates(table, &what)?;
        let tiers = self.tiers(table, line)?;
        let geo = self.geo(table, line, &provider, &patterns)?;
        let fast = fast_speed(self, table, line)?;
        let requests = self.request_prices(table, line)?;
        let mut modal = [None; 4];
        for m in Modality::ALL {
            if table.contains_key(m.key()) {
                modal[m.index()] = Some(self.rate(table, m.key(), &what)?);
            }
        }
        let hours = self.hours(table, line)?;
        let free = self.allowances(table, line, &requests)?;
        let citation = match table.contains_key("source") {
            true => Some(self.string(table, "source", &what)?.to_string()),
            false => None,
        };
        let entry = PriceEntry {
            provider,
            patterns,
            effective_from,
            effective_to,
            rates,
            per_token: rates.per_token(),
            batch_discount,
            long_context,
            tiers,
            geo,
            fast,
            requests,
            modal,
            line,
            file: self.source.into(),
            layer: 0,
            citation,
            hours,
            free,
        };
        check_combinations(self, table, &entry, &what)?;
        Ok(entry)
    }

    /// `[model.free_requests.<charge>]`: `per` (`day` or `month`), `count`
    /// and an optional `pool`, for a charge `[model.requests]` prices.
    fn allowances(
        &self,
        entry: &Table,
        line: usize,
        requests: &[(String, Decimal)],
    ) -> Result<Vec<(String, Allowance)>> {
        let mut free = Vec::new();
        for (charge, table, span) in self.subtables(entry, "free_requests", line)? {
            let what = format!("[model.free_requests.{charge}] of the entry at line {line}");
            self.only_keys(table, &["per", "count", "pool", "unit"], &what)?;
            if !requests.iter().any(|(c, _)| *c == charge) {
                let message = format!("{what}: [model.requests] has no {charge} price");
                return Err(self.error(span, message));
            }
            if requests
                .iter()
                .any(|(c, _)| *c == format!("{charge}{FREE_SUFFIX}"))
            {
                let message = format!(
                    "{what}: [model.requests] prices {charge}{FREE_SUFFIX}, the name of its free requests"
                );
                return Err(self.error(span, message));
            }
            let per_prompt = match table.contains_key("unit") {
                false => false,
                true => match self.string(table, "unit", &what)? {
                    "request" => false,
                    "prompt" => true,
                    other => {
                        let message = format!(
                            "{what}: \"unit\" is \"request\" or \"prompt\", got \"{other}\""
                        );
                        return Err(self.error(span, message));
                    }
                },
            };
            let monthly = match self.string(table, "per", &what)? {
                "day" => false,
                "month" => true,
                other => {
                    let message =
                        format!("{what}: \"per\" is \"day\" or \"month\", got \"{other}\"");
                    return Err(self.error(span, message));
                }
            };
            let count = self.value(table, "count", &what)?;
            let count = count
                .as_integer()
                .and_then(|c| u64::try_from(c).ok())
                .ok_or_else(|| {
                    self.error(
                        count.span(),
                        format!("{what}: \"count\" must be a whole number of requests"),
                    )
                })?;
            let pool = match table.contains_key("pool") {
                true => self.string(table, "pool", &what)?.to_string(),
                false => format!("{}:{line}", self.source),
            };
            free.push((
                charge,
                Allowance {
                    monthly,
                    count,
                    per_prompt,
                    pool,
                },
            ));
        }
        Ok(free)
    }

    /// `[[model.hours]]`: UTC windows `from`–`to` (`"HH:MM"`, `to`
    /// exclusive, past midnight when not after `from`) with every rate; no
    /// two overlap.
    fn hours(&self, entry: &Table, line: usize) -> Result<Vec<Hours>> {
        let Some(item) = entry.get("hours") else {
            return Ok(Vec::new());
        };
        let tables = item.as_array_of_tables().ok_or_else(|| {
            let message =
                format!("hours of the entry at line {line} must be [[model.hours]] tables");
            self.error(item.span(), message)
        })?;
        let mut windows: Vec<Hours> = Vec::new();
        for table in tables {
            let what = format!("a [[model.hours]] of the entry at line {line}");
            let mut keys = vec!["from", "to"];
            keys.extend(TokenType::ALL.map(TokenType::key));
            self.only_keys(table, &keys, &what)?;
            let (from, to) = (
                self.string(table, "from", &what)?,
                self.string(table, "to", &what)?,
            );
            let Some(Window::In(from, to)) = Window::parse(&format!("{from}-{to}")) else {
                let message = format!("{what}: \"from\" and \"to\" must be UTC times as HH:MM, got \"{from}\" and \"{to}\"");
                return Err(self.error(table.span(), message));
            };
            let window = Hours {
                from,
                to,
                rates: self.rates(table, &what)?,
            };
            let overlaps =
                (0..1440u16).any(|m| window.contains(m) && windows.iter().any(|w| w.contains(m)));
            if from == to || overlaps {
                let label = Window::In(from, to).label();
                let message = format!("{what}: {label} is empty or overlaps another window");
                return Err(self.error(table.span(), message));
            }
            windows.push(window);
        }
        Ok(windows)
    }

    /// `[model.tiers.<tier>]`: a `multiplier`, or every rate.
    fn tiers(&self, entry: &Table, line: usize) -> Result<Vec<(Tier, TierPrice)>> {
        let mut tiers = Vec::new();
        for (name, table, span) in self.subtables(entry, "tiers", line)? {
            let what = format!("[model.tiers.{name}] of the entry at line {line}");
            let tier = Tier::parse(&name)
                .filter(|t| *t != Tier::Standard)
                .ok_or_else(|| {
                    self.error(
                        span,
                        format!("{what}: the tiers priced apart are batch, flex and priority"),
                    )
                })?;
            let price = if table.contains_key("multiplier") {
                self.only_keys(table, &["multiplier"], &what)?;
                TierPrice::Multiplier(self.multiplier(table, &what)?)
            } else {
                TierPrice::Rates(Box::new(self.tier_rates(table, &what)?))
            };
            tiers.push((tier, price));
        }
        Ok(tiers)
    }

    /// A tier's own rates: every token rate, optionally its audio and image
    /// rates and a `long_context` table of every token rate.
    fn tier_rates(&self, table: &Table, what: &str) -> Result<TierRates> {
        let mut keys = TokenType::ALL.map(TokenType::key).to_vec();
        keys.extend(Modality::ALL.map(Modality::key));
        keys.push("long_context");
        self.only_keys(table, &keys, what)?;
        let long_context = match table.get("long_context") {
            None => None,
            Some(item) => {
                let lc = item.as_table().ok_or_else(|| {
                    self.error(item.span(), "long_context must be a table".into())
                })?;
                let what = format!("{what}, its long_context");
                self.only_keys(lc, &TokenType::ALL.map(TokenType::key), &what)?;
                Some(self.rates(lc, &what)?)
            }
        };
        let mut modal = [None; 4];
        for m in Modality::ALL {
            if table.contains_key(m.key()) {
                modal[m.index()] = Some(self.rate(table, m.key(), what)?);
            }
        }
        Ok(TierRates {
            rates: self.rates(table, what)?,
            long_context,
            modal,
        })
    }

    /// `[model.geo.<region>]`: each region's multiplier. `global` prices
    /// Bedrock's `global.` profiles of the models an `aws.bedrock` entry
    /// names; anywhere else it would never apply, so it is refused.
    fn geo(
        &self,
        entry: &Table,
        line: usize,
        provider: &str,
        patterns: &[String],
    ) -> Result<Vec<(String, Decimal)>> {
        let mut geo = Vec::new();
        for (region, m, span) in self.multipliers(entry, "geo", line)? {
            if region.eq_ignore_ascii_case(GLOBAL) {
                let refusal = if provider != "aws.bedrock" {
                    Some(format!(
                        "global is the standard rate of {provider}'s models; [model.geo.global] \
                         prices only Bedrock's global. inference profiles (provider \"aws.bedrock\")"
                    ))
                } else if patterns.iter().any(|p| p.starts_with(GLOBAL_PROFILE)) {
                    Some(
                        "this entry names global. profiles itself and prices them at its own \
                          rates, so [model.geo.global] would never apply"
                            .to_string(),
                    )
                } else {
                    None
                };
                if let Some(why) = refusal {
                    return Err(self.error(span, format!("[model.geo.{region}]: {why}")));
                }
            }
            geo.push((region, m));
        }
        Ok(geo)
    }

    /// `[model.<key>.<name>]` tables of one `multiplier` each.
    fn multipliers(&self, entry: &Table, key: &str, line: usize) -> Result<Vec<Named<Decimal>>> {
        self.subtables(entry, key, line)?
            .into_iter()
            .map(|(name, table, span)| {
                let what = format!("[model.{key}.{name}] of the entry at line {line}");
                self.only_keys(table, &["multiplier"], &what)?;
                Ok((name, self.multiplier(table, &what)?, span))
            })
            .collect()
    }

    /// The tables under `entry.key`, with their names and spans.
    fn subtables<'d>(
        &self,
        entry: &'d Table,
        key: &str,
        line: usize,
    ) -> Result<Vec<Named<&'d Table>>> {
        let Some(item) = entry.get(key) else {
            return Ok(Vec::new());
        };
        let outer = item.as_table().ok_or_else(|| {
            let message =
                format!("[model.{key}] of the entry at line {line} must be a table of tables");
            self.error(item.span(), message)
        })?;
        let mut seen: Vec<&str> = Vec::new();
        outer
            .iter()
            .map(|(name, item)| {
                let table = item.as_table().ok_or_else(|| {
                    let message =
                        format!("[model.{key}.{name}] of the entry at line {line} must be a table");
                    self.error(item.span(), message)
                })?;
                // Names are matched without case: two spellings of one
                // name would make the price depend on their order.
                if let Some(other) = seen.iter().find(|s| s.eq_ignore_ascii_case(name)) {
                    let message = format!(
                        "[model.{key}.{name}] of the entry at line {line} repeats \
                         [model.{key}.{other}]: names are matched without case"
                    );
                    return Err(self.error(table.span(), message));
                }
                seen.push(name);
                Ok((name.to_string(), table, table.span()))
            })
            .collect()
    }

    /// `[model.requests]`: USD per 1,000 requests of each charge.
    fn request_prices(&self, entry: &Table, line: usize) -> Result<Vec<(String, Decimal)>> {
        let Some(item) = entry.get("requests") else {
            return Ok(Vec::new());
        };
        let what = format!("[model.requests] of the entry at line {line}");
        let table = item
            .as_table()
            .ok_or_else(|| self.error(item.span(), format!("{what} must be a table")))?;
        let kind = Number {
            unit: "USD per 1,000 requests",
            noun: "request prices",
            max: Decimal::from(1_000_000u32),
            too_large: "over $1,000,000 per 1,000 requests is not a price",
            min: Decimal::new(1, 6),
            too_small: "below $0.000001 per 1,000 requests is not a price; use 0 for free requests",
        };
        table
            .iter()
            .map(|(name, _)| Ok((name.to_string(), self.price(table, name, &what, &kind)?)))
            .collect()
    }

    /// A `multiplier` of every rate (tier, region or speed).
    fn multiplier(&self, table: &Table, what: &str) -> Result<Decimal> {
        let kind = Number {
            unit: "a factor on every rate",
            noun: "multipliers",
            max: Decimal::from(100u32),
            too_large: "a multiplier above 100 is not a price",
            min: Decimal::new(1, 2),
            too_small: "a multiplier below 0.01 is not a price",
        };
        let multiplier = self.decimal(table, "multiplier", what, &kind)?;
        not_zero(
            self,
            (table, "multiplier"),
            multiplier,
            "every rate it applies to would be $0",
        )
    }
}
