//! Stage 4, price: load `pricing.toml` and price every usage record exactly.
//!
//! Rates are USD per million tokens, read from their literal text in the
//! file (never through f64). A record is priced by the entry of its provider
//! whose period contains the record's UTC date and whose match rule fits its
//! model best: an exact name beats a glob, a glob fixing more characters
//! (a class counts as one) beats one fixing fewer; two equally good
//! entries that could both match one name in overlapping periods are
//! rejected when the file loads.

mod allowances;
mod ambiguity;
mod bill_names;
mod entry;
mod glob;
mod profiles;
mod table;
mod toml_entry;
mod toml_parts;

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::error::{Error, Result};
use crate::hash::FastMap;
use crate::intern::{Interner, Sym};
use crate::model::{Billed, Cost, Costs, Origin, UsageRecord};
use crate::terminal::escape;

pub use allowances::apply_allowances;
pub use bill_names::BillName;
pub use entry::{
    per_million, Allowance, Hours, LongContext, PriceEntry, Qualifiers, Rates, TierPrice,
    TierRates, Unpriced, Window, FREE_SUFFIX,
};
use profiles::profile_model;
pub use profiles::{in_region_name, GLOBAL_PROFILE};
pub use table::Resolver;

/// The pricing table shipped with tokenledger, used when no other is found.
pub const BUILTIN: &str = include_str!("../../pricing.toml");

/// A loaded pricing table.
#[derive(Clone, Debug)]
pub struct PriceTable {
    /// The file's `version`, stamped into `summary.json`.
    pub version: String,
    /// The file's `currency`.
    pub currency: String,
    /// Where the table came from: a path, or `built-in`.
    pub source: String,
    /// Every `[[model]]` entry, in file order.
    pub entries: Vec<PriceEntry>,
    /// Every `[[meter]]` entry's names: how cloud bills name models.
    pub bill_names: Vec<BillName>,
    /// `[priced_as]`: providers whose models other providers' entries price.
    pub priced_as: Vec<(String, Vec<String>)>,
    /// The table's text, as read: saved beside a month's reports so the
    /// month can be repriced and audited later.
    pub text: std::sync::Arc<str>,
    /// The table this one `extends`: its source and text.
    pub base: Option<(String, std::sync::Arc<str>)>,
    /// Where `extends`' value is in `text`, to point it at the saved base.
    pub(crate) extends_at: Option<std::ops::Range<usize>>,
}

/// The name a month's output gives the base of a table that extends
/// another, beside its `pricing.toml`.
pub const SAVED_BASE: &str = "pricing-base.toml";

impl PriceTable {
    /// The entry that prices `model` of `provider` on `date`, if any.
    pub fn find(&self, provider: &str, model: &str, date: NaiveDate) -> Option<&PriceEntry> {
        self.find_priced(provider, model, date).map(|(e, _)| e)
    }

    /// [`PriceTable::find`], and whether the entry prices `model` as a
    /// Bedrock `global.` profile of its in-region model (its region is then
    /// `global`, priced by the entry's `[model.geo.global]`).
    pub fn find_priced(
        &self,
        provider: &str,
        model: &str,
        date: NaiveDate,
    ) -> Option<(&PriceEntry, bool)> {
        self.find_index(provider, model, date)
            .map(|(i, global)| (&self.entries[i], global))
    }

    /// The name both sides of a reconciliation use for `model`: the first
    /// exact name of the entry that matches it best on any date (dated
    /// snapshots and display names meet their alias; of entries that match
    /// it equally well, the one effective latest, whatever their order in
    /// the table), else `model` itself.
    pub fn canonical_model<'m>(&'m self, provider: &str, model: &'m str) -> &'m str {
        let named = |model: &str| {
            self.pricing_providers(provider).find_map(|provider| {
                self.entries
                    .iter()
                    .filter(|e| e.provider == provider)
                    .filter_map(|e| {
                        e.fit(model)
                            .map(|fit| ((e.layer, fit, e.effective_from), e))
                    })
                    .max_by_key(|(rank, _)| *rank)
                    .and_then(|(_, e)| e.patterns.iter().find(|p| !crate::glob::is_glob(p)))
            })
        };
        // A Bedrock cross-region profile meets its in-region model's name,
        // as it is priced.
        named(model)
            .or_else(|| profile_model(provider, model).and_then(|(m, _)| named(m)))
            .map_or(model, String::as_str)
    }

    /// The model whatever cross-region profile serves it: a Bedrock
    /// profile's (`global.`, `us.`) in-region model, else the model, by
    /// [`PriceTable::canonical_model`]'s name. A model's own charges (its
    /// provisioned throughput, a credit on its row) are of its usage under
    /// every profile.
    pub fn in_region_model<'m>(&'m self, provider: &str, model: &'m str) -> &'m str {
        let in_region = in_region_name(provider, model).unwrap_or(model);
        self.canonical_model(provider, in_region)
    }

    /// The names the best entries of `providers` that price `model` give
    /// it (as [`PriceTable::canonical_model`]), sorted and joined by `|`:
    /// a dated snapshot and its alias have the same family under the same
    /// providers (`gpt-4o-2024-08-06` and `gpt-4o`: `gpt-4o`). `None` when
    /// none of them prices it.
    pub fn model_family<'p>(
        &self,
        model: &str,
        providers: impl Iterator<Item = &'p str>,
    ) -> Option<String> {
        let prices = |p: &str| {
            self.pricing_providers(p).any(|q| {
                self.entries
                    .iter()
                    .any(|e| e.provider == q && e.fit(model).is_some())
            })
        };
        let mut names: Vec<&str> = providers
            .filter(|p| prices(p))
            .map(|p| self.canonical_model(p, model))
            .collect();
        names.sort_unstable();
        names.dedup();
        (!names.is_empty()).then(|| names.join("|"))
    }

    /// The best entry for `model`, else for the in-region model of its
    /// Bedrock profile (and whether that profile is `global.`). A layer
    /// above (an override of the table it `extends`) that prices the
    /// in-region model wins over a lower layer's entry naming the profile:
    /// negotiated rates reach the profiles' traffic too.
    fn find_index(&self, provider: &str, model: &str, date: NaiveDate) -> Option<(usize, bool)> {
        let named = self.best_index(provider, model, date);
        let in_region = profile_model(provider, model).and_then(|(in_region, global)| {
            Some((self.best_index(provider, in_region, date)?, global))
        });
        match (named, in_region) {
            (Some(i), Some((j, global))) if self.entries[j].layer > self.entries[i].layer => {
                Some((j, global))
            }
            (Some(i), _) => Some((i, false)),
            (None, found) => found,
        }
    }

    /// The best entry of the first of `provider`'s pricing providers that
    /// has one.
    fn best_index(&self, provider: &str, model: &str, date: NaiveDate) -> Option<usize> {
        self.pricing_providers(provider).find_map(|provider| {
            self.entries
                .iter()
                .enumerate()
                .filter(|(_, e)| e.provider == provider && e.covers(date))
                .filter_map(|(i, e)| e.fit(model).map(|fit| ((e.layer, fit), i)))
                .max_by_key(|(rank, _)| *rank)
                .map(|(_, i)| i)
        })
    }
}

/// Prompt sizes that mark a long-context tier in providers' price lists,
/// whatever a table says: with a table's own thresholds they are the
/// bounds of `ledger.csv`'s `prompt_over_tokens`.
pub const PROMPT_BOUNDS: [u64; 3] = [128_000, 200_000, 272_000];

impl PriceTable {
    /// The provider, spelled otherwise than `provider` but alike in case,
    /// spaces and punctuation (`Anthropic`, `AWS Bedrock`), under which the
    /// table prices `model` on `date`.
    fn other_provider(&self, provider: &str, model: &str, date: NaiveDate) -> Option<&str> {
        let letters = |p: &str| -> String {
            (p.chars().filter(|c| c.is_alphanumeric()))
                .flat_map(char::to_lowercase)
                .collect()
        };
        let providers: std::collections::BTreeSet<&str> =
            self.entries.iter().map(|e| e.provider.as_str()).collect();
        (providers.into_iter()).find(|&p| {
            p != provider
                && letters(p) == letters(provider)
                && self.find_index(p, model, date).is_some()
        })
    }

    /// [`PROMPT_BOUNDS`] and every long-context threshold of the table,
    /// sorted, without repeats.
    pub fn prompt_bounds(&self) -> Vec<u64> {
        let mut bounds: Vec<u64> = PROMPT_BOUNDS
            .into_iter()
            .chain(
                self.entries
                    .iter()
                    .filter_map(|e| Some(e.long_context.as_ref()?.threshold)),
            )
            .collect();
        bounds.sort_unstable();
        bounds.dedup();
        bounds
    }
}

/// The largest of `bounds` (sorted) that a prompt of `prompt` tokens
/// exceeds; 0 when it exceeds none.
pub fn prompt_over(bounds: &[u64], prompt: u64) -> u64 {
    bounds
        .iter()
        .rev()
        .copied()
        .find(|&b| prompt > b)
        .unwrap_or(0)
}

impl PriceEntry {
    /// Whether a request whose prompt exceeded `over` (and no larger bound
    /// of `bounds`) is priced at this entry's long-context rates; `None`
    /// when the entry's threshold falls between `over` and the next bound,
    /// where the ledger cannot tell.
    pub fn is_long_above(&self, over: u64, bounds: &[u64]) -> Option<bool> {
        let Some(lc) = &self.long_context else {
            return Some(false);
        };
        if lc.threshold <= over {
            return Some(true);
        }
        let next = bounds.iter().copied().find(|&b| b > over);
        match next {
            Some(next) if lc.threshold >= next => Some(false),
            _ => None,
        }
    }
}

/// The unpriced records of one (provider, model, reason).
struct UnpricedGroup<'r> {
    records: u64,
    first: &'r str,
    first_at: Origin,
    from: NaiveDate,
    to: NaiveDate,
}

/// The price entry of each record, looked up once per (provider, model,
/// day).
pub struct Lookup<'t> {
    table: &'t PriceTable,
    interner: &'t Interner,
    found: FastMap<(Sym, Sym, NaiveDate), Option<(usize, bool)>>,
}

impl<'t> Lookup<'t> {
    /// Look records up in `table`; their names are in `interner`.
    pub fn new(table: &'t PriceTable, interner: &'t Interner) -> Lookup<'t> {
        Lookup {
            table,
            interner,
            found: FastMap::default(),
        }
    }

    /// The entry that prices `record`, if any.
    pub fn entry(&mut self, record: &UsageRecord) -> Option<&'t PriceEntry> {
        self.found(record).map(|(i, _)| &self.table.entries[i])
    }

    /// The entry that prices `record` and the qualifiers it prices it
    /// with, if any.
    pub fn priced(&mut self, record: &UsageRecord) -> Option<(&'t PriceEntry, Qualifiers<'t>)> {
        let (i, global) = self.found(record)?;
        let entry = &self.table.entries[i];
        Some((entry, entry.qualifiers(record, self.interner, global)))
    }

    fn found(&mut self, record: &UsageRecord) -> Option<(usize, bool)> {
        let (table, interner) = (self.table, self.interner);
        let date = record.timestamp.date_naive();
        *self
            .found
            .entry((record.provider, record.model, date))
            .or_insert_with(|| {
                let (provider, model) = (interner.get(record.provider), interner.get(record.model));
                table.find_index(provider, model, date)
            })
    }
}

/// Price every record. Every record whose model has no price on its date
/// (or no batch rate) is collected into one error that lists each model with
/// its record count and first request id and where it was read (`at`
/// renders an origin as `file:line`): never a silent $0.
pub fn price_all(
    table: &PriceTable,
    billed: Billed<'_>,
    interner: &Interner,
    at: &dyn Fn(Origin) -> String,
) -> Result<Costs> {
    let (costs, gaps) = price_each(table, billed, interner, at);
    if gaps.is_empty() {
        return Ok(costs);
    }
    Err(Error::fatal(format!(
        "usage records with no price in {} (add or extend a [[model]] entry):\n{}",
        table.source,
        gaps.join("\n")
    )))
}

/// Price every record that has a price; the others are described, one line
/// per (provider, model, reason) with its record count, dates, and first
/// request id and its `file:line` (`at`).
pub fn price_each(
    table: &PriceTable,
    (records, ids): Billed<'_>,
    interner: &Interner,
    at: &dyn Fn(Origin) -> String,
) -> (Costs, Vec<String>) {
    let mut lookup = Lookup::new(table, interner);
    let mut unpriced: BTreeMap<(&str, &str, Unpriced), UnpricedGroup> = BTreeMap::new();
    let mut costs = Costs::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        let date = r.timestamp.date_naive();
        let result = match lookup.priced(r) {
            Some((entry, qualifiers)) => entry
                .cost(&r.tokens, r.modalities(), &qualifiers)
                .and_then(|cost| {
                    let fees = entry.fees(r.requests(), interner)?;
                    let cost = Cost { fees, ..cost };
                    match crate::money::plausible(cost.total()) {
                        true => Ok(cost),
                        false => Err(Unpriced::TooCostly),
                    }
                }),
            None => Err(Unpriced::NoPrice),
        };
        match result {
            Ok(cost) => costs.push(cost),
            Err(why) => {
                let key = (interner.get(r.provider), interner.get(r.model), why);
                let group = unpriced.entry(key).or_insert(UnpricedGroup {
                    records: 0,
                    first: ids.get(i),
                    first_at: r.origin,
                    from: date,
                    to: date,
                });
                group.records += 1;
                group.from = group.from.min(date);
                group.to = group.to.max(date);
            }
        }
    }
    let gaps = unpriced
        .iter()
        .map(|((provider, model, reason), group)| {
            let UnpricedGroup {
                records: count,
                first,
                first_at,
                from,
                to,
            } = group;
            let mut why = reason.reason(interner);
            let other = (*reason == Unpriced::NoPrice)
                .then(|| table.other_provider(provider, model, *from));
            if let Some(other) = other.flatten() {
                why += &format!(
                    " (the table prices it under the provider {other}: spelled otherwise here?)"
                );
            }
            let dates = if from == to {
                format!("on {from}")
            } else {
                format!("from {from} to {to}")
            };
            let (provider, model, first) = (escape(provider), escape(model), escape(first));
            let first_at = at(*first_at);
            let first_at = escape(&first_at);
            format!(
                "  {provider} {model}: {why} for {count} record(s) {dates}; \
                 first request_id {first} ({first_at})"
            )
        })
        .collect();
    (costs, gaps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Tier, TokenType, Tokens};
    use rust_decimal::Decimal;
    use std::str::FromStr;

    const TABLE: &str = r#"
version = "t"
currency = "USD"

[[model]]
provider = "anthropic"
match = ["claude-sonnet-4-5", "claude-sonnet-4-5-*"]
effective_from = 2025-09-29
input = 3.00
output = 15
cache_read = 0.30
cache_write_5m = 3.75
cache_write_1h = 6.00
batch_discount = 0.5
[model.long_context]
threshold = 200000
input = 6.00
output = 22.50
cache_read = 0.60
cache_write_5m = 7.50
cache_write_1h = 12.00

[[model]]
provider = "anthropic"
match = ["claude-*"]
effective_from = "2024-01-01"
input = 1
output = 1
cache_read = 1
cache_write_5m = 1
cache_write_1h = 1
"#;

    #[test]
    fn bedrock_geo_profiles_fall_back_to_the_region_and_global_only_with_its_rate() {
        let table = PriceTable::parse(BUILTIN, "built-in").unwrap();
        let day = NaiveDate::from_ymd_opt(2025, 10, 15).unwrap();
        let input = |model: &str| {
            let (entry, global) = table.find_priced("aws.bedrock", model, day)?;
            let geo = global.then_some(crate::model::GLOBAL);
            let qualifiers = Qualifiers {
                geo,
                ..Qualifiers::default()
            };
            entry.unit_price(TokenType::Input, &qualifiers, false).ok()
        };
        let sonnet = "anthropic.claude-sonnet-4-5-20250929-v1";
        assert_eq!(input(sonnet), Some(d("3.30")));
        assert_eq!(input(&format!("us.{sonnet}")), Some(d("3.30")));
        assert_eq!(input(&format!("eu.{sonnet}")), Some(d("3.30")));
        assert_eq!(input(&format!("global.{sonnet}")), Some(d("3.00")));
        // A global profile the table does not name is priced as the
        // region's model only by that entry's [model.geo.global].
        let haiku = "global.anthropic.claude-3-haiku-20240307-v1";
        assert_eq!(input(haiku), None);
        // Reconciliation meets an in-region invoice line under the same name.
        assert_eq!(
            table.canonical_model("aws.bedrock", &format!("us.{sonnet}")),
            sonnet
        );
        assert_eq!(
            input("us.anthropic.claude-3-haiku-20240307-v1"),
            Some(d("0.25"))
        );
    }

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::from_str(s).unwrap()
    }

    #[test]
    fn rates_are_read_exactly_from_their_text() {
        let table = PriceTable::parse(TABLE, "t.toml").unwrap();
        assert_eq!(
            table.entries[0].rates.0,
            [d("3"), d("0.3"), d("3.75"), d("6"), d("15")]
        );
        assert_eq!(table.entries[0].line, 5);
    }

    #[test]
    fn longest_match_wins_and_dates_apply() {
        let table = PriceTable::parse(TABLE, "t.toml").unwrap();
        let e = table
            .find(
                "anthropic",
                "claude-sonnet-4-5-20250929",
                date("2025-10-01"),
            )
            .unwrap();
        assert_eq!(e.line, 5);
        let e = table
            .find(
                "anthropic",
                "claude-sonnet-4-5-20250929",
                date("2025-09-28"),
            )
            .unwrap();
        assert_eq!(
            e.line, 23,
            "before effective_from only the catch-all glob applies"
        );
        assert!(table
            .find("openai", "claude-sonnet-4-5", date("2025-10-01"))
            .is_none());
    }

    #[test]
    fn long_context_switches_the_whole_request_and_batch_halves_it() {
        let table = PriceTable::parse(TABLE, "t.toml").unwrap();
        let e = &table.entries[0];
        // 150,000 uncached + 60,000 cache read = 210,000 > 200,000: long-context rates.
        let tokens = Tokens::new([150_000, 60_000, 0, 0, 1_000]).unwrap();
        let cost = e.cost(&tokens, &[], &Qualifiers::default()).unwrap();
        assert_eq!(
            cost.tokens,
            [d("0.9"), d("0.036"), d("0"), d("0"), d("0.0225")]
        );
        let batch_tier = Qualifiers {
            tier: Tier::Batch,
            ..Qualifiers::default()
        };
        let batch = e.cost(&tokens, &[], &batch_tier).unwrap();
        assert_eq!(batch.total(), d("0.47925"));
    }

    #[test]
    fn equally_good_overlapping_globs_are_rejected() {
        let text = TABLE.replace(
            "match = [\"claude-*\"]",
            "match = [\"claude-sonnet-4-5-*\"]",
        );
        let err = PriceTable::parse(&text, "t.toml").unwrap_err().to_string();
        assert!(
            err.contains("t.toml:23:") && err.contains("line 5"),
            "{err}"
        );
    }

    #[test]
    fn negative_rate_and_unknown_key_name_their_line() {
        let err =
            PriceTable::parse(&TABLE.replace("output = 15", "output = -15"), "t.toml").unwrap_err();
        assert!(
            err.to_string().starts_with("t.toml:10: \"output\" is -15"),
            "{err}"
        );
        let err =
            PriceTable::parse(&TABLE.replace("output = 15", "outptu = 15"), "t.toml").unwrap_err();
        assert!(
            err.to_string()
                .contains("t.toml:10: unknown key \"outptu\""),
            "{err}"
        );
    }
}
