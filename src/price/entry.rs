//! One `[[model]]` entry of the pricing table and how it prices a
//! request: its rates, long-context tier, service tiers, regions, speed,
//! time-of-day windows, audio and image rates and per-request charges.

use chrono::{NaiveDate, Timelike};
use rust_decimal::Decimal;

use super::glob::Fit;
use crate::intern::{Interner, Sym};
use crate::model::{Cost, Modality, Service, Tier, TokenType, Tokens, UsageRecord, GLOBAL};

/// USD per million tokens, per token type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rates(pub [Decimal; 5]);

impl Rates {
    /// USD per single token (the rates ÷ 10⁶, exact).
    pub(super) fn per_token(&self) -> [Decimal; 5] {
        let million = Decimal::from(1_000_000u32);
        self.0.map(|r| r / million)
    }
}

/// The higher rates that apply to a whole request above a prompt size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LongContext {
    /// Prompt tokens (uncached + cache read + cache writes) above which the
    /// long-context rates apply.
    pub threshold: u64,
    /// The rates for such requests.
    pub rates: Rates,
    /// The same, per single token.
    pub(super) per_token: [Decimal; 5],
}

/// How a service tier is priced: its own rates, or the standard rates
/// times a multiplier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TierPrice {
    /// Explicit rates, used as they are.
    Rates(Box<TierRates>),
    /// A multiplier on the standard (or long-context) rates.
    Multiplier(Decimal),
}

/// A service tier's own rates (`[model.tiers.<tier>]` with rates).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TierRates {
    /// USD per million tokens of each token type.
    pub rates: Rates,
    /// Its rates for prompts over the entry's long-context threshold
    /// (`[model.tiers.<tier>.long_context]`); without them, a prompt over
    /// the threshold has no price in the tier (never its short-prompt rates).
    pub long_context: Option<Rates>,
    /// Its audio and image rates, by [`Modality::index`], where it lists them.
    pub modal: [Option<Decimal>; 4],
}

/// A UTC time-of-day window an entry prices at its own rates
/// (`[[model.hours]]`), as DeepSeek's peak and off-peak hours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hours {
    /// First minute of the UTC day in the window (inclusive).
    pub from: u16,
    /// First minute after it (exclusive); at or before `from`, the window
    /// runs past midnight.
    pub to: u16,
    /// The window's rates.
    pub rates: Rates,
}

/// Where in an entry's `[[model.hours]]` a request fell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Window {
    /// In none of them: the entry's standard rates.
    Other,
    /// In the window (from, to), minutes of the UTC day.
    In(u16, u16),
}

impl Window {
    /// `ledger.csv`'s `hours` column: `HH:MM-HH:MM`, or `other`.
    pub fn label(self) -> String {
        match self {
            Window::Other => OTHER_HOURS.to_string(),
            Window::In(from, to) => format!(
                "{:02}:{:02}-{:02}:{:02}",
                from / 60,
                from % 60,
                to / 60,
                to % 60
            ),
        }
    }

    /// The window a label names.
    pub fn parse(label: &str) -> Option<Window> {
        if label == OTHER_HOURS {
            return Some(Window::Other);
        }
        let minute = |text: &str| {
            let time = chrono::NaiveTime::parse_from_str(text, "%H:%M").ok()?;
            u16::try_from(time.num_seconds_from_midnight() / 60).ok()
        };
        let (from, to) = label.split_once('-')?;
        Some(Window::In(minute(from)?, minute(to)?))
    }
}

/// The `hours` label of a request outside every window of its entry.
const OTHER_HOURS: &str = "other";

impl Hours {
    /// The window, as a request that falls in it is labelled.
    pub fn window(&self) -> Window {
        Window::In(self.from, self.to)
    }

    /// Whether `minute` (of the UTC day) is in the window.
    pub(super) fn contains(&self, minute: u16) -> bool {
        match self.from < self.to {
            true => (self.from..self.to).contains(&minute),
            false => minute >= self.from || minute < self.to,
        }
    }
}

/// What a request's rate depends on beyond its model: tier, region, speed
/// and the time-of-day window it fell in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Qualifiers<'a> {
    /// The service tier.
    pub tier: Tier,
    /// The region (`None` for `global`).
    pub geo: Option<&'a str>,
    /// Fast mode.
    pub fast: bool,
    /// Where in the entry's `[[model.hours]]` windows it fell; `None` for
    /// an entry without windows, or when the time is not known.
    pub hours: Option<Window>,
}

impl<'a> Qualifiers<'a> {
    /// A record's qualifiers, its region's name read from `interner`; the
    /// time-of-day window is [`PriceEntry::qualifiers`]' to find.
    pub fn of(service: &Service, interner: &'a Interner) -> Qualifiers<'a> {
        Qualifiers {
            tier: service.tier,
            geo: service.geo.map(|g| interner.get(g)),
            fast: service.fast,
            hours: None,
        }
    }

    /// Whether these are the standard, global, standard-speed qualifiers.
    pub fn is_plain(&self) -> bool {
        *self == Qualifiers::default()
    }
}

/// One `[[model]]` entry of the pricing file.
#[derive(Clone, Debug)]
pub struct PriceEntry {
    /// Provider as billed (`anthropic`, `openai`, `google`, …).
    pub provider: String,
    /// Exact model names or globs (see [`crate::glob`]).
    pub patterns: Vec<String>,
    /// First UTC date the entry applies (inclusive).
    pub effective_from: NaiveDate,
    /// First UTC date it no longer applies (exclusive), if any.
    pub effective_to: Option<NaiveDate>,
    /// Standard rates.
    pub rates: Rates,
    /// Fraction of the standard cost charged for batch requests.
    pub batch_discount: Option<Decimal>,
    /// Optional long-context tier.
    pub long_context: Option<LongContext>,
    /// Service tiers other than standard and batch (`[model.tiers.<tier>]`).
    pub tiers: Vec<(Tier, TierPrice)>,
    /// Region multipliers (`[model.geo.<region>]`).
    pub geo: Vec<(String, Decimal)>,
    /// The fast-mode multiplier (`[model.speed.fast]`).
    pub fast: Option<Decimal>,
    /// USD per 1,000 requests of each per-request charge
    /// (`[model.requests]`), by charge name.
    pub requests: Vec<(String, Decimal)>,
    /// USD per million audio and image tokens (`input_audio`, …), indexed
    /// by [`Modality::index`], where the entry prices them.
    pub modal: [Option<Decimal>; 4],
    /// The standard rates per single token.
    pub(super) per_token: [Decimal; 5],
    /// Line of the entry in the pricing file.
    pub line: usize,
    /// The pricing file the entry is in (`built-in` for the shipped one).
    pub file: std::sync::Arc<str>,
    /// 0 for a base table's entries, 1 for those of a table that extends
    /// it: a model the extending table prices is priced by it.
    pub layer: u8,
    /// Where the prices come from (`source = "https://…"`), if the entry says.
    pub citation: Option<String>,
    /// UTC time-of-day windows at their own rates (`[[model.hours]]`).
    pub hours: Vec<Hours>,
    /// Free allowances of per-request charges (`[model.free_requests]`),
    /// by charge name.
    pub free: Vec<(String, Allowance)>,
}

impl PriceEntry {
    /// Whether the entry's period contains `date`.
    pub fn covers(&self, date: NaiveDate) -> bool {
        date >= self.effective_from && self.effective_to.is_none_or(|to| date < to)
    }

    pub(super) fn overlaps(&self, other: &PriceEntry) -> bool {
        let before = |to: Option<NaiveDate>, from: NaiveDate| to.is_some_and(|to| to <= from);
        !before(self.effective_to, other.effective_from)
            && !before(other.effective_to, self.effective_from)
    }

    /// Where in the entry's time-of-day windows `at` falls; `None` when it
    /// has none.
    pub fn hours_at(&self, at: chrono::DateTime<chrono::Utc>) -> Option<Window> {
        if self.hours.is_empty() {
            return None;
        }
        let minute = u16::try_from(at.time().num_seconds_from_midnight() / 60).ok()?;
        let window = self.hours.iter().find(|h| h.contains(minute));
        Some(window.map_or(Window::Other, Hours::window))
    }

    /// The qualifiers `record` is priced with by this entry: its tier,
    /// region and speed, and the time-of-day window it fell in. `global`:
    /// the record's model is a Bedrock `global.` profile this entry prices
    /// as its in-region model, so its region is `global`.
    pub fn qualifiers<'a>(
        &'a self,
        record: &UsageRecord,
        interner: &'a Interner,
        global: bool,
    ) -> Qualifiers<'a> {
        let own = Qualifiers::of(&record.service, interner);
        Qualifiers {
            hours: self.hours_at(record.timestamp.get()),
            geo: if global { Some(GLOBAL) } else { own.geo },
            ..own
        }
    }

    /// How well this entry's best pattern fits `model`, if at all.
    pub(super) fn fit(&self, model: &str) -> Option<Fit> {
        self.patterns.iter().filter_map(|p| Fit::of(p, model)).max()
    }

    /// USD per million tokens of `charge` for a request served with
    /// `qualifiers` whose prompt is above the long-context threshold
    /// (`long_context`, ignored when the entry has no such tier). The tier
    /// is chosen after the long-context rates; region and speed multiply.
    pub fn unit_price(
        &self,
        charge: TokenType,
        qualifiers: &Qualifiers,
        long_context: bool,
    ) -> std::result::Result<Decimal, Unpriced> {
        let rates = match (&self.long_context, self.hours.is_empty(), qualifiers.hours) {
            // A flat entry prices every hour alike.
            (Some(lc), true, _) if long_context => &lc.rates,
            (_, true, _) | (_, false, Some(Window::Other)) => &self.rates,
            (_, false, Some(Window::In(from, to))) => {
                let window = self
                    .hours
                    .iter()
                    .find(|h| h.window() == Window::In(from, to));
                &window.ok_or(Unpriced::NoHours)?.rates
            }
            // Requests of unknown time (another table's flat line).
            (_, false, None) => return Err(Unpriced::NoHours),
        };
        let rate = rates.0[charge.index()];
        let over_threshold = self.over_threshold(long_context);
        self.qualified(rate, qualifiers, |own| {
            let rates = match (&own.long_context, over_threshold) {
                (Some(lc), true) => lc,
                (None, true) => return Err(Unpriced::NoTierLongContext(qualifiers.tier)),
                (_, false) => &own.rates,
            };
            Ok(rates.0[charge.index()])
        })
    }

    /// USD per million tokens of a modality (audio, image), served with
    /// `qualifiers`: the entry's own rate for it, times the tier's
    /// multiplier, the region's and fast mode's; where the entry has none,
    /// the text rate of the count the tokens are a part of. A tier with
    /// explicit rates must list its own rate for a modality the entry
    /// prices apart, and a prompt over the long-context threshold has no
    /// rate for it (the table states none: never the short-prompt rate).
    pub fn modal_unit_price(
        &self,
        modality: Modality,
        qualifiers: &Qualifiers,
        long_context: bool,
    ) -> std::result::Result<Decimal, Unpriced> {
        match self.modal[modality.index()] {
            Some(_) if self.over_threshold(long_context) => {
                Err(Unpriced::NoLongContextModality(modality))
            }
            Some(rate) => self.qualified(rate, qualifiers, |own| {
                own.modal[modality.index()].ok_or(Unpriced::NoModality(modality))
            }),
            None => self.unit_price(modality.part_of(), qualifiers, long_context),
        }
    }

    /// `rate` under the tier (the tier's `explicit` rate when it lists its
    /// own), the region and the speed of `qualifiers`.
    fn qualified(
        &self,
        rate: Decimal,
        qualifiers: &Qualifiers,
        explicit: impl Fn(&TierRates) -> std::result::Result<Decimal, Unpriced>,
    ) -> std::result::Result<Decimal, Unpriced> {
        let mut rate = match qualifiers.tier {
            Tier::Standard => rate,
            Tier::Batch => match self.tier(Tier::Batch) {
                Some(TierPrice::Rates(own)) => explicit(own)?,
                Some(TierPrice::Multiplier(m)) => rate * m,
                None => rate * self.batch_discount.ok_or(Unpriced::NoTier(Tier::Batch))?,
            },
            tier => match self.tier(tier).ok_or(Unpriced::NoTier(tier))? {
                TierPrice::Rates(own) => explicit(own)?,
                TierPrice::Multiplier(m) => rate * m,
            },
        };
        if let Some(geo) = qualifiers.geo {
            let (_, m) = self
                .geo
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(geo))
                .ok_or(Unpriced::NoGeo)?;
            rate *= m;
        }
        if qualifiers.fast {
            rate *= self.fast.ok_or(Unpriced::NoSpeed)?;
        }
        Ok(rate)
    }

    /// USD per 1,000 requests of the per-request charge `name`; 0 for the
    /// free requests of a charge with an allowance (`web_search_free`).
    pub fn request_price(&self, name: &str) -> Option<Decimal> {
        let priced = self.requests.iter().find(|(charge, _)| charge == name);
        match (priced, self.free_of(name)) {
            (Some((_, price)), _) => Some(*price),
            (None, Some(_)) => Some(Decimal::ZERO),
            (None, None) => None,
        }
    }

    /// The allowance whose free requests `name` (`web_search_free`) names.
    pub fn free_of(&self, name: &str) -> Option<&Allowance> {
        self.allowance(name.strip_suffix(FREE_SUFFIX)?)
    }

    /// The free allowance of the per-request charge `name`, if any.
    pub fn allowance(&self, name: &str) -> Option<&Allowance> {
        self.free.iter().find(|(c, _)| c == name).map(|(_, a)| a)
    }

    /// The exact fee of `count` requests of the charge `name`: count × its
    /// price ÷ 1,000, whatever the tier, region or speed.
    pub fn fee(&self, name: &str, count: u64) -> Option<Decimal> {
        let price = self.request_price(name)?;
        Some(Decimal::from(count) * price / Decimal::from(1_000u32))
    }

    /// The exact fees of a record's per-request charges.
    pub fn fees(
        &self,
        requests: &[(Sym, u64)],
        interner: &Interner,
    ) -> std::result::Result<Decimal, Unpriced> {
        requests
            .iter()
            .try_fold(Decimal::ZERO, |sum, &(charge, count)| {
                let fee = self
                    .fee(interner.get(charge), count)
                    .ok_or(Unpriced::NoCharge(charge))?;
                Ok(sum + fee)
            })
    }

    fn tier(&self, tier: Tier) -> Option<&TierPrice> {
        self.tiers.iter().find(|(t, _)| *t == tier).map(|(_, p)| p)
    }

    /// Whether a request said to be over the long-context threshold
    /// (`long_context`) is so for this entry: it has such a tier.
    fn over_threshold(&self, long_context: bool) -> bool {
        long_context && self.long_context.is_some()
    }

    /// Whether a request with these `tokens` is priced at the long-context
    /// rates.
    pub fn is_long_context(&self, tokens: &Tokens) -> bool {
        self.long_context
            .as_ref()
            .is_some_and(|lc| tokens.prompt() > lc.threshold)
    }

    /// The exact cost of a request with these `tokens` (of which
    /// `modalities` are audio or image tokens priced apart), served with
    /// `qualifiers`. Modality tokens' cost stays in the input or output
    /// column they are a part of.
    pub fn cost(
        &self,
        tokens: &Tokens,
        modalities: &[(Modality, u64)],
        qualifiers: &Qualifiers,
    ) -> std::result::Result<Cost, Unpriced> {
        let long_context = self.is_long_context(tokens);
        if qualifiers.is_plain() && modalities.is_empty() {
            let per_token = match &self.long_context {
                Some(lc) if long_context => &lc.per_token,
                _ => &self.per_token,
            };
            return Ok(Cost::of_tokens(TokenType::ALL.map(
                |t| match tokens.get(t) {
                    0 => Decimal::ZERO,
                    n => Decimal::from(n) * per_token[t.index()],
                },
            )));
        }
        let mut cost = Cost::default();
        let mut text = tokens.counts();
        for &(m, n) in modalities {
            let part = &mut text[m.part_of().index()];
            *part = part.saturating_sub(n);
            cost.tokens[m.part_of().index()] +=
                per_million(n, self.modal_unit_price(m, qualifiers, long_context)?);
        }
        for t in TokenType::ALL {
            let n = text[t.index()];
            if n > 0 {
                cost.tokens[t.index()] +=
                    per_million(n, self.unit_price(t, qualifiers, long_context)?);
            }
        }
        Ok(cost)
    }
}

/// The cost of `tokens` at `rate` USD per million, exactly as pricing
/// computes it: the charge lines and FOCUS take an audio or image part out
/// of its text count with this same amount.
pub fn per_million(tokens: u64, rate: Decimal) -> Decimal {
    Decimal::from(tokens) * rate / Decimal::from(1_000_000u32)
}

/// Why a record could not be priced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Unpriced {
    /// No entry covers the model on the record's date.
    NoPrice,
    /// The record's service tier, but the entry does not price it.
    NoTier(Tier),
    /// A region (`inference_geo`) the entry has no multiplier for.
    NoGeo,
    /// A per-request charge the entry has no price for.
    NoCharge(Sym),
    /// Audio or image tokens the entry prices apart, in a tier with
    /// explicit rates that has no rate for them.
    NoModality(Modality),
    /// A prompt over the entry's long-context threshold in a tier with
    /// explicit rates that has no long-context rates of its own.
    NoTierLongContext(Tier),
    /// Audio or image tokens the entry prices apart, in a prompt over its
    /// long-context threshold: no rate is given for them there.
    NoLongContextModality(Modality),
    /// Fast mode, but the entry has no `[model.speed.fast]`.
    NoSpeed,
    /// A time-of-day window (from another table) the entry does not have.
    NoHours,
    /// A cost over [`crate::money::MAX_AMOUNT`], as a bill's amounts: a
    /// count or a rate in another unit, beyond what a month's sums hold
    /// exactly.
    TooCostly,
}

impl Unpriced {
    /// Why a record has no price, in words.
    pub fn reason(self, interner: &crate::intern::Interner) -> String {
        match self {
            Unpriced::NoPrice => "no price".to_string(),
            Unpriced::NoTier(Tier::Batch) => "no batch_discount or [model.tiers.batch]".to_string(),
            Unpriced::NoTier(tier) => format!("no [model.tiers.{}]", tier.key()),
            Unpriced::NoGeo => {
                "no [model.geo.<region>] for its inference_geo (global for a Bedrock global. profile)"
                    .to_string()
            }
            Unpriced::NoTierLongContext(tier) => format!(
                "a prompt over the long-context threshold and no [model.tiers.{}.long_context]",
                tier.key()
            ),
            Unpriced::NoLongContextModality(m) => format!(
                "a prompt over the long-context threshold with {}, and no long-context {} rate",
                m.column(),
                m.key()
            ),
            Unpriced::NoSpeed => "no [model.speed.fast] for its speed".to_string(),
            Unpriced::NoHours => "no [[model.hours]] window for its time of day".to_string(),
            Unpriced::TooCostly => format!(
                "a cost over {} for one record (a count or a rate in another unit?)",
                crate::money::MAX_AMOUNT
            ),
            Unpriced::NoModality(m) => format!(
                "no {} rate in its tier's explicit rates for its {}",
                m.key(),
                m.column()
            ),
            Unpriced::NoCharge(charge) => format!(
                "no [model.requests] price for its {} requests",
                interner.get(charge)
            ),
        }
    }
}

/// A free allowance of a per-request charge: the first `count` requests of
/// each UTC day (or month) in its pool cost nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allowance {
    /// `true` for a monthly allowance, else daily.
    pub monthly: bool,
    /// Free requests (or prompts) per day (month).
    pub count: u64,
    /// Counted in prompts (usage records), not requests: the first
    /// `count` records with the charge are free whatever their count
    /// (Gemini 3 grounding: 5,000 prompts, then each search query).
    pub per_prompt: bool,
    /// Entries naming the same pool share one allowance (Gemini 2.5 Flash
    /// and Flash-Lite); by default an entry's own.
    pub pool: String,
}

impl Allowance {
    /// The period it renews: `day` or `month`, as `per` in the table.
    pub fn per(&self) -> &'static str {
        if self.monthly {
            "month"
        } else {
            "day"
        }
    }
}

pub use crate::model::FREE_SUFFIX;
