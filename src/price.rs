//! Stage 4, price: load `pricing.toml` and price every usage record exactly.
//!
//! Rates are USD per million tokens, read from their literal text in the
//! file (never through f64). A record is priced by the entry of its provider
//! whose period contains the record's UTC date and whose match rule fits its
//! model best: an exact name beats a glob, a longer glob (more literal
//! characters) beats a shorter one; two equally good entries that could both
//! match one name in overlapping periods are rejected when the file loads.

use std::collections::BTreeMap;

use crate::hash::FastMap;
use std::path::Path;

use chrono::{Datelike, NaiveDate, Timelike};
use rust_decimal::Decimal;
use toml_edit::{Item, Table};

use crate::error::{Error, Result};
use crate::intern::{Interner, Sym};
use crate::model::{Cost, Modality, Service, Tier, TokenType, Tokens, UsageRecord};
use crate::read::toml::{self, Number, TomlReader};
use crate::terminal::escape;

/// The pricing table shipped with tokenledger, used when no other is found.
pub const BUILTIN: &str = include_str!("../pricing.toml");

/// USD per million tokens, per token type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rates(pub [Decimal; 5]);

impl Rates {
    /// USD per single token (the rates ÷ 10⁶, exact).
    fn per_token(&self) -> [Decimal; 5] {
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
    per_token: [Decimal; 5],
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
    /// (`[model.tiers.<tier>.long_context]`); without them, `rates` apply
    /// at every prompt size.
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
    fn contains(&self, minute: u16) -> bool {
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
    /// Exact model names or globs with `*`.
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
    per_token: [Decimal; 5],
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

/// What a per-request charge's free requests are called:
/// `web_search_free`, priced at 0 by an entry with an allowance for
/// `web_search`.
pub const FREE_SUFFIX: &str = "_free";

impl PriceEntry {
    /// Whether the entry's period contains `date`.
    pub fn covers(&self, date: NaiveDate) -> bool {
        date >= self.effective_from && self.effective_to.is_none_or(|to| date < to)
    }

    fn overlaps(&self, other: &PriceEntry) -> bool {
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
    /// region and speed, and the time-of-day window it fell in.
    pub fn qualifiers<'a>(
        &'a self,
        record: &UsageRecord,
        interner: &'a Interner,
    ) -> Qualifiers<'a> {
        Qualifiers {
            hours: self.hours_at(record.timestamp),
            ..Qualifiers::of(&record.service, interner)
        }
    }

    /// How well this entry's best pattern fits `model`, if at all.
    fn fit(&self, model: &str) -> Option<Fit> {
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
        self.qualified(rate, qualifiers, |own| {
            let rates = match &own.long_context {
                Some(lc) if long_context => lc,
                _ => &own.rates,
            };
            Ok(rates.0[charge.index()])
        })
    }

    /// USD per million tokens of a modality (audio, image), served with
    /// `qualifiers`: the entry's own rate for it, times the tier's
    /// multiplier, the region's and fast mode's; where the entry has none,
    /// the text rate of the count the tokens are a part of. A tier with
    /// explicit rates must list its own rate for a modality the entry
    /// prices apart.
    pub fn modal_unit_price(
        &self,
        modality: Modality,
        qualifiers: &Qualifiers,
        long_context: bool,
    ) -> std::result::Result<Decimal, Unpriced> {
        match self.modal[modality.index()] {
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
        let mut text = *tokens;
        for &(m, n) in modalities {
            let part = &mut text.0[m.part_of().index()];
            *part = part.saturating_sub(n);
            cost.tokens[m.part_of().index()] +=
                per_million(n, self.modal_unit_price(m, qualifiers, long_context)?);
        }
        for t in TokenType::ALL {
            let n = text.get(t);
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
    /// Fast mode, but the entry has no `[model.speed.fast]`.
    NoSpeed,
    /// A time-of-day window (from another table) the entry does not have.
    NoHours,
}

/// How well a pattern fits a name: exact names first, then longer globs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Fit {
    Glob(usize),
    Exact,
}

impl Fit {
    fn of(pattern: &str, name: &str) -> Option<Fit> {
        if !pattern.contains('*') {
            return (pattern == name).then_some(Fit::Exact);
        }
        glob_match(pattern.as_bytes(), name.as_bytes()).then(|| Fit::class(pattern))
    }

    fn class(pattern: &str) -> Fit {
        if pattern.contains('*') {
            Fit::Glob(pattern.len() - pattern.matches('*').count())
        } else {
            Fit::Exact
        }
    }
}

/// Whether `name` matches `pattern`, where `*` stands for any run of characters.
fn glob_match(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, n));
            p += 1;
        } else if p < pattern.len() && pattern[p] == name[n] {
            p += 1;
            n += 1;
        } else if let Some((sp, sn)) = star {
            p = sp + 1;
            n = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// The longest model name or glob a `match` list may hold.
pub const MAX_PATTERN: usize = 1000;

/// Whether some name matches both patterns: which prefix pairs of the two
/// can spell the same text, found row by row (runs of `*` collapsed first),
/// in time O(len_a × len_b) and memory O(len_b), without recursion.
fn globs_intersect(a: &[u8], b: &[u8]) -> bool {
    let (a, b) = (collapse_stars(a), collapse_stars(b));
    let star = |p: &[u8], i: usize| p.get(i) == Some(&b'*');
    // prev[j]: a[..i-1] and b[..j] can spell the same text; cur: a[..i].
    let mut prev = vec![false; b.len() + 1];
    let mut cur = vec![false; b.len() + 1];
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            let up = i > 0 && prev[j];
            let left = j > 0 && cur[j - 1];
            let diagonal =
                i > 0 && j > 0 && prev[j - 1] && a[i - 1] == b[j - 1] && a[i - 1] != b'*';
            cur[j] = (i == 0 && j == 0)
                // a's star spells nothing more, or b's star spells a[i-1].
                || (up && (star(&a, i - 1) || star(&b, j)))
                // b's star spells nothing more, or a's star spells b[j-1].
                || (left && (star(&b, j - 1) || star(&a, i)))
                || diagonal;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// `pattern` with every run of `*` written once (it matches the same names).
fn collapse_stars(pattern: &[u8]) -> Vec<u8> {
    let mut out = pattern.to_vec();
    out.dedup_by(|x, y| *x == b'*' && *y == b'*');
    out
}

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
    /// The table's text, as read: saved beside a month's reports so the
    /// month can be repriced and audited later.
    pub text: std::sync::Arc<str>,
    /// The table this one `extends`: its source and text.
    pub base: Option<(String, std::sync::Arc<str>)>,
}

/// The name a month's output gives the base of a table that extends
/// another, beside its `pricing.toml`.
pub const SAVED_BASE: &str = "pricing-base.toml";

impl PriceTable {
    /// The table to use: `--pricing` if given, else `./pricing.toml` if
    /// present, else the built-in table.
    pub fn resolve(flag: Option<&Path>) -> Result<PriceTable> {
        let local = Path::new("pricing.toml");
        match flag {
            Some(path) => PriceTable::load_file(path),
            None if local.is_file() => PriceTable::load_file(local),
            None => PriceTable::parse(BUILTIN, "built-in"),
        }
    }

    /// Load a pricing file from disk; a relative `extends` is read from
    /// the file's directory.
    pub fn load_file(path: &Path) -> Result<PriceTable> {
        let text = crate::read::read_text(path)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        PriceTable::parse_in(&text, &path.display().to_string(), dir)
    }

    /// Parse pricing TOML; `source` names it in messages and the summary.
    pub fn parse(text: &str, source: &str) -> Result<PriceTable> {
        PriceTable::parse_in(text, source, Path::new("."))
    }

    /// The text to save beside a month's reports as `pricing.toml`: the
    /// table as read, its `extends` pointing at [`SAVED_BASE`] when it has
    /// a base (saved as that file).
    pub fn saved_text(&self) -> String {
        if self.base.is_none() {
            return self.text.to_string();
        }
        let mut top_level = true;
        self.text
            .lines()
            .map(|line| {
                let key = line.trim_start();
                top_level &= !key.starts_with('[');
                let extends = key
                    .strip_prefix("extends")
                    .is_some_and(|rest| rest.trim_start().starts_with('='));
                if top_level && extends {
                    format!("extends = \"{SAVED_BASE}\"\n")
                } else {
                    format!("{line}\n")
                }
            })
            .collect()
    }

    /// The base table named by `extends` (`built-in`, or a file relative to
    /// `dir`); it may not extend another.
    fn base(name: &str, dir: &Path, source: &str) -> Result<PriceTable> {
        let base = match name {
            "built-in" => PriceTable::parse(BUILTIN, "built-in")?,
            path => PriceTable::load_file(&dir.join(path))?,
        };
        if base.base.is_some() {
            return Err(Error::fatal(format!(
                "{source}: extends {name}, which itself extends another table; \
                 a table extends at most one base"
            )));
        }
        Ok(base)
    }

    fn parse_in(text: &str, source: &str, dir: &Path) -> Result<PriceTable> {
        let doc = toml::parse(text, source)?;
        let reader = TomlReader::new(text, source);
        let root: &Table = &doc;
        reader.only_keys(
            root,
            &["version", "currency", "model", "extends"],
            "the top level",
        )?;
        let base = match root.contains_key("extends") {
            true => Some(PriceTable::base(
                reader.string(root, "extends", "the top level")?,
                dir,
                source,
            )?),
            false => None,
        };
        let version = reader.string(root, "version", "the top level")?.to_string();
        let currency = reader
            .string(root, "currency", "the top level")?
            .to_string();
        let models = root
            .get("model")
            .and_then(Item::as_array_of_tables)
            .ok_or_else(|| Error::fatal(format!("{source}: no [[model]] entries")))?;
        let own = models
            .iter()
            .map(|t| reader.entry(t))
            .collect::<Result<Vec<_>>>()?;
        check_ambiguity(&own, source)?;
        let mut entries = Vec::new();
        if let Some(base) = &base {
            if base.currency != currency {
                return Err(Error::fatal(format!(
                    "{source}: currency {currency}, but the table it extends ({}) is in {}",
                    base.source, base.currency
                )));
            }
            entries.extend(base.entries.iter().cloned());
        }
        let layer = u8::from(base.is_some());
        entries.extend(own.into_iter().map(|e| PriceEntry { layer, ..e }));
        check_pools(&entries)?;
        Ok(PriceTable {
            version,
            currency,
            source: source.to_string(),
            entries,
            text: text.into(),
            base: base.map(|b| (b.source, b.text)),
        })
    }

    /// The entry that prices `model` of `provider` on `date`, if any.
    pub fn find(&self, provider: &str, model: &str, date: NaiveDate) -> Option<&PriceEntry> {
        self.find_index(provider, model, date)
            .map(|i| &self.entries[i])
    }

    /// The name both sides of a reconciliation use for `model`: the first
    /// exact name of the entry that matches it best on any date (dated
    /// snapshots and display names meet their alias), else `model` itself.
    pub fn canonical_model<'m>(&'m self, provider: &str, model: &'m str) -> &'m str {
        let named = |model: &str| {
            self.entries
                .iter()
                .filter(|e| e.provider == provider)
                .filter_map(|e| e.fit(model).map(|fit| ((e.layer, fit), e)))
                .max_by_key(|(rank, _)| *rank)
                .and_then(|(_, e)| e.patterns.iter().find(|p| !p.contains('*')))
        };
        // A Bedrock geographic profile meets its in-region model's name, as
        // it is priced.
        named(model)
            .or_else(|| geo_profile_model(provider, model).and_then(named))
            .map_or(model, String::as_str)
    }

    fn find_index(&self, provider: &str, model: &str, date: NaiveDate) -> Option<usize> {
        self.best_index(provider, model, date).or_else(|| {
            let in_region = geo_profile_model(provider, model)?;
            self.best_index(provider, in_region, date)
        })
    }

    fn best_index(&self, provider: &str, model: &str, date: NaiveDate) -> Option<usize> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.provider == provider && e.covers(date))
            .filter_map(|(i, e)| e.fit(model).map(|fit| ((e.layer, fit), i)))
            .max_by_key(|(rank, _)| *rank)
            .map(|(_, i)| i)
    }
}

/// Prompt sizes that mark a long-context tier in providers' price lists,
/// whatever a table says: with a table's own thresholds they are the
/// bounds of `ledger.csv`'s `prompt_over_tokens`.
pub const PROMPT_BOUNDS: [u64; 3] = [128_000, 200_000, 272_000];

impl PriceTable {
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

/// Bedrock's geographic cross-region inference profiles, whose prefix
/// costs what the model costs in one region.
const GEO_PROFILES: [&str; 6] = ["us.", "eu.", "apac.", "jp.", "au.", "us-gov."];

/// A Bedrock model id under a geographic inference profile (`us.…`), as
/// the in-region model it is priced as when the table names no entry for
/// the profile itself. `global.` profiles are priced differently and are
/// never stripped: only an entry that names them prices them.
fn geo_profile_model<'m>(provider: &str, model: &'m str) -> Option<&'m str> {
    if provider != "aws.bedrock" {
        return None;
    }
    GEO_PROFILES.iter().find_map(|p| model.strip_prefix(p))
}

/// Reject two entries of one provider with overlapping periods whose
/// patterns are equally good for some model name. Only patterns of one
/// provider and one [`Fit`] class can be equally good, so only those are
/// compared (a table of hundreds of entries loads in milliseconds).
fn check_ambiguity(entries: &[PriceEntry], source: &str) -> Result<()> {
    // (provider, fit class, pattern, entry index, pattern index).
    type Pattern<'e> = (&'e str, Fit, &'e str, usize, usize);
    let mut patterns: Vec<Pattern> = entries
        .iter()
        .enumerate()
        .flat_map(|(i, e)| {
            e.patterns
                .iter()
                .enumerate()
                .map(move |(k, p)| (e.provider.as_str(), Fit::class(p), p.as_str(), i, k))
        })
        .collect();
    patterns.sort_unstable();
    // Exact names are compared by name, globs by class.
    let same_group =
        |x: &Pattern, y: &Pattern| (x.0, x.1) == (y.0, y.1) && (x.1 != Fit::Exact || x.2 == y.2);
    // The clash reported is the first in the file: by the later entry's
    // line, then the earlier's, then the patterns' places in them.
    let mut first: Option<((usize, usize, usize, usize), String)> = None;
    for group in patterns.chunk_by(same_group) {
        for (n, &(_, fit, pa, ia, ka)) in group.iter().enumerate() {
            for &(_, _, pb, ib, kb) in &group[n + 1..] {
                let same_names = match fit {
                    Fit::Exact => pa == pb,
                    Fit::Glob(_) => globs_intersect(pa.as_bytes(), pb.as_bytes()),
                };
                if ia == ib || !same_names || !entries[ia].overlaps(&entries[ib]) {
                    continue;
                }
                let ((a, pa, ka), (b, pb, kb)) = match ia < ib {
                    true => ((&entries[ia], pa, ka), (&entries[ib], pb, kb)),
                    false => ((&entries[ib], pb, kb), (&entries[ia], pa, ka)),
                };
                let at = (b.line, a.line, ka, kb);
                if first.as_ref().is_none_or(|(seen, _)| at < *seen) {
                    let message = format!(
                        "{source}:{}: entry matches \"{pb}\" and the entry at line {} matches \"{pa}\" \
                         equally well in overlapping periods; set effective_to on the older one \
                         or make one match more specific",
                        b.line, a.line
                    );
                    first = Some((at, message));
                }
            }
        }
    }
    match first {
        Some((_, message)) => Err(Error::fatal(message)),
        None => Ok(()),
    }
}

/// Reject entries that name one allowance pool for a charge with different
/// terms (per day or month, count, unit): the pool is one allowance.
fn check_pools(entries: &[PriceEntry]) -> Result<()> {
    let mut terms: BTreeMap<(&str, &str), (&PriceEntry, &Allowance)> = BTreeMap::new();
    for entry in entries {
        for (charge, allowance) in &entry.free {
            let key = (allowance.pool.as_str(), charge.as_str());
            let (first, seen) = *terms.entry(key).or_insert((entry, allowance));
            let same = (seen.monthly, seen.count, seen.per_prompt)
                == (allowance.monthly, allowance.count, allowance.per_prompt);
            if !same {
                return Err(Error::fatal(format!(
                    "{}:{}: [model.free_requests.{charge}] of pool \"{}\" differs from the same pool's at {}:{}; \
                     entries sharing a pool must give it the same per, count and unit",
                    entry.file, entry.line, allowance.pool, first.file, first.line
                )));
            }
        }
    }
    Ok(())
}

/// Pricing-file reading on top of the shared TOML reader.
trait PricingToml {
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
    fn subtables<'d>(
        &self,
        entry: &'d Table,
        key: &str,
        line: usize,
    ) -> Result<Vec<Named<&'d Table>>>;
    fn multiplier(&self, table: &Table, what: &str) -> Result<Decimal>;
    fn request_prices(&self, entry: &Table, line: usize) -> Result<Vec<(String, Decimal)>>;
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
        self.decimal(table, key, what, &kind)
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
        self.decimal(table, "batch_discount", what, &kind)
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
        self.only_keys(
            table,
            &[
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
            ],
            &what,
        )?;
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
        let long_context = match table.get("long_context") {
            None => None,
            Some(item) => {
                let lc = item.as_table().ok_or_else(|| {
                    self.error(item.span(), "long_context must be a table".into())
                })?;
                let what = format!("[model.long_context] of the entry at line {line}");
                let mut keys = vec!["threshold"];
                keys.extend(TokenType::ALL.map(TokenType::key));
                self.only_keys(lc, &keys, &what)?;
                let threshold = self.value(lc, "threshold", &what)?;
                let threshold = threshold
                    .as_integer()
                    .and_then(|t| u64::try_from(t).ok())
                    .ok_or_else(|| {
                        self.error(
                            threshold.span(),
                            "threshold must be a whole number of tokens".into(),
                        )
                    })?;
                let rates = self.rates(lc, &what)?;
                Some(LongContext {
                    threshold,
                    rates,
                    per_token: rates.per_token(),
                })
            }
        };
        let rates = self.rates(table, &what)?;
        let tiers = self.tiers(table, line)?;
        let tier_long = tiers
            .iter()
            .any(|(_, p)| matches!(p, TierPrice::Rates(r) if r.long_context.is_some()));
        if tier_long && long_context.is_none() {
            return Err(self.error(
                table.span(),
                format!("{what}: a tier's long_context rates need the entry's [model.long_context] (its threshold)"),
            ));
        }
        if batch_discount.is_some() && tiers.iter().any(|(t, _)| *t == Tier::Batch) {
            return Err(self.error(
                table.span(),
                format!("{what}: give batch_discount or [model.tiers.batch], not both"),
            ));
        }
        let geo = self
            .multipliers(table, "geo", line)?
            .into_iter()
            .map(|(region, m, _)| (region, m))
            .collect();
        let mut fast = None;
        for (speed, m, span) in self.multipliers(table, "speed", line)? {
            if speed != "fast" {
                let message =
                    format!("[model.speed.{speed}]: the only speed priced apart is `fast`");
                return Err(self.error(span, message));
            }
            fast = Some(m);
        }
        let requests = self.request_prices(table, line)?;
        let mut modal = [None; 4];
        for m in Modality::ALL {
            if table.contains_key(m.key()) {
                modal[m.index()] = Some(self.rate(table, m.key(), &what)?);
            }
        }
        let hours = self.hours(table, line)?;
        let free = self.allowances(table, line, &requests)?;
        let explicit_tier = tiers.iter().any(|(_, p)| matches!(p, TierPrice::Rates(_)));
        let modal_rates = Modality::ALL.iter().any(|m| table.contains_key(m.key()));
        if !hours.is_empty() && (long_context.is_some() || explicit_tier || modal_rates) {
            let message = format!(
                "{what}: [[model.hours]] windows cannot be combined with [model.long_context], \
                 a tier's own rates or audio and image rates (tier multipliers can)"
            );
            return Err(self.error(table.span(), message));
        }
        let citation = match table.contains_key("source") {
            true => Some(self.string(table, "source", &what)?.to_string()),
            false => None,
        };
        Ok(PriceEntry {
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
        })
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
        outer
            .iter()
            .map(|(name, item)| {
                let table = item.as_table().ok_or_else(|| {
                    let message =
                        format!("[model.{key}.{name}] of the entry at line {line} must be a table");
                    self.error(item.span(), message)
                })?;
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
            .map(|(name, _)| Ok((name.to_string(), self.decimal(table, name, &what, &kind)?)))
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
        self.decimal(table, "multiplier", what, &kind)
    }
}

/// Give records' per-request charges their free allowances: in each pool,
/// UTC day (or month) and charge, the earliest requests (by timestamp, then
/// request id) up to the allowance become `<charge>_free`, priced at 0;
/// the rest keep their charge and its price. Run before pricing.
pub fn apply_allowances(table: &PriceTable, records: &mut [UsageRecord], interner: &mut Interner) {
    // One claim per (record, charge with an allowance).
    struct Claim {
        pool: String,
        period: NaiveDate,
        charge: String,
        at: chrono::DateTime<chrono::Utc>,
        request_id: Box<str>,
        record: usize,
        slot: usize,
        allowance: u64,
        per_prompt: bool,
    }
    let mut claims = Vec::new();
    let mut lookup = Lookup::new(table, interner);
    for (record, r) in records
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.requests.is_empty())
    {
        let Some(entry) = lookup.entry(r) else {
            continue; // unpriced: reported by pricing
        };
        for (slot, &(charge, _)) in r.requests.iter().enumerate() {
            let charge = interner.get(charge);
            let Some(allowance) = entry.allowance(charge) else {
                continue;
            };
            let day = r.timestamp.date_naive();
            claims.push(Claim {
                pool: allowance.pool.clone(),
                period: match allowance.monthly {
                    true => day.with_day(1).unwrap_or(day),
                    false => day,
                },
                charge: charge.to_string(),
                at: r.timestamp,
                request_id: r.request_id.clone(),
                record,
                slot,
                allowance: allowance.count,
                per_prompt: allowance.per_prompt,
            });
        }
    }
    claims.sort_by(|a, b| {
        (&a.pool, a.period, &a.charge, a.at, &a.request_id).cmp(&(
            &b.pool,
            b.period,
            &b.charge,
            b.at,
            &b.request_id,
        ))
    });
    let mut left = 0;
    let mut changed = Vec::new();
    for (i, claim) in claims.iter().enumerate() {
        let first = i == 0 || {
            let p = &claims[i - 1];
            (&p.pool, p.period, &p.charge) != (&claim.pool, claim.period, &claim.charge)
        };
        if first {
            left = claim.allowance;
        }
        let record = &mut records[claim.record];
        let (charge, count) = record.requests[claim.slot];
        let free = match (claim.per_prompt, left) {
            (true, 0) => 0,
            (true, _) => {
                left -= 1;
                count
            }
            (false, _) => count.min(left),
        };
        if !claim.per_prompt {
            left -= free;
        }
        if free == 0 {
            continue;
        }
        // Slots keep their places until every claim is settled.
        let free_charge = interner.intern(&format!("{}{FREE_SUFFIX}", claim.charge));
        let mut requests: Vec<(Sym, u64)> = record.requests.to_vec();
        requests[claim.slot] = (charge, count - free);
        requests.push((free_charge, free));
        record.requests = requests.into_boxed_slice();
        changed.push(claim.record);
    }
    for record in changed {
        let requests = &mut records[record].requests;
        if requests.iter().any(|&(_, n)| n == 0) {
            *requests = requests.iter().copied().filter(|&(_, n)| n > 0).collect();
        }
    }
}

/// The unpriced records of one (provider, model, reason).
struct UnpricedGroup<'r> {
    records: u64,
    first: &'r str,
    from: NaiveDate,
    to: NaiveDate,
}

/// The price entry of each record, looked up once per (provider, model,
/// day).
pub struct Lookup<'t> {
    table: &'t PriceTable,
    interner: &'t Interner,
    found: FastMap<(Sym, Sym, NaiveDate), Option<usize>>,
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
        let (table, interner) = (self.table, self.interner);
        let date = record.timestamp.date_naive();
        let index = *self
            .found
            .entry((record.provider, record.model, date))
            .or_insert_with(|| {
                let (provider, model) = (interner.get(record.provider), interner.get(record.model));
                table.find_index(provider, model, date)
            });
        index.map(|i| &table.entries[i])
    }
}

/// Price every record. Every record whose model has no price on its date
/// (or no batch rate) is collected into one error that lists each model with
/// its record count and first request id: never a silent $0.
pub fn price_all(
    table: &PriceTable,
    records: &[UsageRecord],
    interner: &Interner,
) -> Result<Vec<Cost>> {
    let (costs, gaps) = price_each(table, records, interner);
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
/// per (provider, model, reason) with its record count, dates and first
/// request id.
pub fn price_each(
    table: &PriceTable,
    records: &[UsageRecord],
    interner: &Interner,
) -> (Vec<Cost>, Vec<String>) {
    let mut lookup = Lookup::new(table, interner);
    let mut unpriced: BTreeMap<(&str, &str, Unpriced), UnpricedGroup> = BTreeMap::new();
    let mut costs = Vec::with_capacity(records.len());
    for r in records {
        let date = r.timestamp.date_naive();
        let result = match lookup.entry(r) {
            Some(entry) => entry
                .cost(&r.tokens, &r.modalities, &entry.qualifiers(r, interner))
                .and_then(|cost| {
                    let fees = entry.fees(&r.requests, interner)?;
                    Ok(Cost { fees, ..cost })
                }),
            None => Err(Unpriced::NoPrice),
        };
        match result {
            Ok(cost) => costs.push(cost),
            Err(why) => {
                let key = (interner.get(r.provider), interner.get(r.model), why);
                let group = unpriced.entry(key).or_insert(UnpricedGroup {
                    records: 0,
                    first: &r.request_id,
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
        .map(|((provider, model, why), group)| {
            let UnpricedGroup { records: count, first, from, to } = group;
            let why = match why {
                Unpriced::NoPrice => "no price".to_string(),
                Unpriced::NoTier(Tier::Batch) => "no batch_discount or [model.tiers.batch]".to_string(),
                Unpriced::NoTier(tier) => format!("no [model.tiers.{}]", tier.key()),
                Unpriced::NoGeo => "no [model.geo.<region>] for its inference_geo".to_string(),
                Unpriced::NoSpeed => "no [model.speed.fast] for its speed".to_string(),
                Unpriced::NoHours => "no [[model.hours]] window for its time of day".to_string(),
                Unpriced::NoModality(m) => format!(
                    "no {} rate in its tier's explicit rates for its {}",
                    m.key(),
                    m.column()
                ),
                Unpriced::NoCharge(charge) => format!(
                    "no [model.requests] price for its {} requests",
                    interner.get(*charge)
                ),
            };
            let dates = if from == to { format!("on {from}") } else { format!("from {from} to {to}") };
            let (provider, model, first) = (escape(provider), escape(model), escape(first));
            format!("  {provider} {model}: {why} for {count} record(s) {dates}; first request_id {first}")
        })
        .collect();
    (costs, gaps)
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn bedrock_geo_profiles_fall_back_to_the_region_and_global_never_does() {
        let table = PriceTable::parse(BUILTIN, "built-in").unwrap();
        let day = NaiveDate::from_ymd_opt(2025, 10, 15).unwrap();
        let input = |model: &str| {
            table
                .find("aws.bedrock", model, day)
                .map(|e| e.rates.0[TokenType::Input.index()])
        };
        let sonnet = "anthropic.claude-sonnet-4-5-20250929-v1";
        assert_eq!(input(sonnet), Some(d("3.30")));
        assert_eq!(input(&format!("us.{sonnet}")), Some(d("3.30")));
        assert_eq!(input(&format!("eu.{sonnet}")), Some(d("3.30")));
        assert_eq!(input(&format!("global.{sonnet}")), Some(d("3.00")));
        // A global profile the table does not name is not priced as the
        // region's model.
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
        let tokens = Tokens([150_000, 60_000, 0, 0, 1_000]);
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

    #[test]
    fn glob_helpers() {
        assert!(glob_match(b"claude-*", b"claude-x"));
        assert!(!glob_match(b"claude-*-4", b"claude-x-5"));
        assert!(globs_intersect(b"a*c", b"ab*"));
        assert!(!globs_intersect(b"a*c", b"b*"));
    }

    #[test]
    fn glob_overlap_agrees_with_matching_every_short_name() {
        // Every pair of globs of up to 3 characters over a, b and *: they
        // overlap exactly when some name over a and b of up to 6 characters
        // matches both.
        let mut globs: Vec<Vec<u8>> = vec![Vec::new()];
        let mut names: Vec<Vec<u8>> = vec![Vec::new()];
        for len in 1..=6 {
            let grow = |set: &Vec<Vec<u8>>, alphabet: &[u8]| -> Vec<Vec<u8>> {
                set.iter()
                    .filter(|s| s.len() == len - 1)
                    .flat_map(|s| alphabet.iter().map(move |&c| [s.as_slice(), &[c]].concat()))
                    .collect()
            };
            if len <= 3 {
                globs.extend(grow(&globs, b"ab*"));
            }
            names.extend(grow(&names, b"ab"));
        }
        for a in &globs {
            for b in &globs {
                let witness = names.iter().any(|n| glob_match(a, n) && glob_match(b, n));
                assert_eq!(globs_intersect(a, b), witness, "{:?} {:?}", a, b);
            }
        }
    }

    #[test]
    fn glob_overlap_needs_no_stack_and_little_memory() {
        let stars = vec![b'*'; 300_000];
        assert!(globs_intersect(&stars, b"claude-*"));
        let a = [b"x".repeat(999), b"*".to_vec()].concat();
        let b = [b"*".to_vec(), b"x".repeat(999)].concat();
        assert!(globs_intersect(&a, &b));
        let c = [b"y*".to_vec(), b"x".repeat(998)].concat();
        assert!(!globs_intersect(&a, &c));
    }
}
