//! The month's charge lines (`ledger.csv`): every priced record split into
//! its charges (each token type) and grouped by UTC day, provider, model,
//! charge, the rate's qualifiers (service tier, region, speed, long
//! context) and the record's tenant, feature, agent and tool, with the
//! quantity, the unit price and the exact cost. Every report's cost is a
//! roll-up of these lines; `tokenledger diff` reprices them.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::dimension::{Dimension, Key};
use crate::error::{Error, Result};
use crate::hash::{DenseMap, SharedKeyMap};
use crate::intern::{Interner, Sym, TextOrder};
use crate::model::{Modality, Service, TokenType};
use crate::posting::{Posting, Postings};
use crate::price::{per_million, prompt_over, Lookup, PriceEntry, PriceTable, Qualifiers, Window};

/// The pricing unit of token charges: unit prices are USD per million.
pub const TOKEN_UNIT: &str = "1000000 tokens";

/// The column `ledger.csv` adds under `--allocation`: how each line's
/// owners were found (`span`, `rule:<n>`, or `unallocated`).
pub const SOURCE_COLUMN: &str = "source";

/// The columns of `ledger.csv`, in order.
pub const LEDGER_COLUMNS: [&str; 19] = [
    "day",
    "provider",
    "model",
    "charge",
    "service_tier",
    "inference_geo",
    "speed",
    "hours",
    "long_context",
    "prompt_over_tokens",
    "tenant",
    "feature",
    "agent",
    "tool",
    "requests",
    "quantity",
    "pricing_unit",
    "unit_price_usd",
    "cost_usd",
];

/// The `speed` column: `fast` or `standard`.
pub fn speed(fast: bool) -> &'static str {
    if fast {
        "fast"
    } else {
        "standard"
    }
}

/// What one charge line groups by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LineKey {
    /// UTC day of the requests.
    pub day: NaiveDate,
    /// Provider as billed.
    pub provider: Sym,
    /// Model as billed.
    pub model: Sym,
    /// The charge: a token type or a per-request charge.
    pub charge: Charge,
    /// The service tier, region and speed.
    pub service: Service,
    /// Where in the entry's time-of-day windows the requests fell, if it
    /// has windows.
    pub hours: Option<Window>,
    /// Whether the requests were priced at the long-context rates.
    pub long_context: bool,
    /// The largest of the table's prompt bounds ([`PriceTable::prompt_bounds`])
    /// the requests' prompts exceeded (0 for none): what another table's
    /// long-context tier needs to reprice them.
    pub prompt_over: u64,
    /// The requests' tenant, feature, agent and tool
    /// ([`Dimension::FROM_SPANS`]): under `--allocation`, their owners'.
    pub dims: [Key; 4],
    /// The allocation rule that gave them their owner (0: none).
    pub rule: u32,
}

/// What a line charges for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Charge {
    /// Tokens of one type, priced per million.
    Tokens(TokenType),
    /// Audio or image tokens, priced per million.
    Modality(Modality),
    /// Requests of a per-request charge (`web_search`), priced per 1,000.
    Requests(Sym),
}

impl Charge {
    /// The `charge` column: the token type's key or the charge's name.
    pub fn name<'i>(&self, interner: &'i Interner) -> &'i str {
        match self {
            Charge::Tokens(t) => t.key(),
            Charge::Modality(m) => m.key(),
            Charge::Requests(name) => interner.get(*name),
        }
    }

    /// The charge's place in output order: token types in column order,
    /// then modalities, then per-request charges by name.
    pub fn order(&self, text: &TextOrder) -> (usize, u64) {
        match self {
            Charge::Tokens(t) => (t.index(), 0),
            Charge::Modality(m) => (TokenType::ALL.len() + m.index(), 0),
            Charge::Requests(name) => (
                TokenType::ALL.len() + Modality::ALL.len(),
                text.of_sym(*name),
            ),
        }
    }

    /// USD per million tokens (per 1,000 requests) `entry` charges for this
    /// charge under `qualifiers`, at its long-context rates or not.
    pub fn unit_price(
        &self,
        entry: &PriceEntry,
        qualifiers: &Qualifiers,
        long_context: bool,
        interner: &Interner,
    ) -> Option<Decimal> {
        match *self {
            Charge::Tokens(t) => entry.unit_price(t, qualifiers, long_context).ok(),
            Charge::Modality(m) => entry.modal_unit_price(m, qualifiers, long_context).ok(),
            Charge::Requests(name) => entry.request_price(interner.get(name)),
        }
    }

    /// The `pricing_unit` column.
    pub fn unit(&self) -> &'static str {
        match self {
            Charge::Tokens(_) | Charge::Modality(_) => TOKEN_UNIT,
            Charge::Requests(_) => REQUEST_UNIT,
        }
    }

    /// How many of the charged things the unit price is for.
    pub fn unit_size(&self) -> Decimal {
        Decimal::from(10u32.pow(self.unit_digits()))
    }

    /// `quantity` in pricing units (millions of tokens, thousands of
    /// requests), exactly, without trailing zeros: a shift of the decimal
    /// point, no division.
    pub fn in_units(&self, quantity: u128) -> Decimal {
        i128::try_from(quantity)
            .ok()
            .and_then(|q| Decimal::try_from_i128_with_scale(q, self.unit_digits()).ok())
            .unwrap_or_else(|| Decimal::from(quantity) / self.unit_size())
            .normalize()
    }

    /// The unit size's power of ten.
    fn unit_digits(&self) -> u32 {
        match self {
            Charge::Tokens(_) | Charge::Modality(_) => 6,
            Charge::Requests(_) => 3,
        }
    }
}

/// The pricing unit of per-request charges: unit prices are USD per 1,000.
pub const REQUEST_UNIT: &str = "1000 requests";

/// The sums of one charge line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LineSums {
    /// Usage records with this charge.
    pub requests: u64,
    /// Tokens (or requests) charged.
    pub quantity: u128,
    /// USD per million tokens (per 1,000 requests).
    pub unit_price: Decimal,
    /// The exact cost: `quantity × unit_price ÷ unit size`.
    pub cost: Decimal,
}

impl LineSums {
    fn add(&mut self, quantity: u64, unit_price: Decimal, cost: Decimal) {
        self.requests += 1;
        self.quantity += u128::from(quantity);
        self.unit_price = unit_price;
        self.cost += cost;
    }
}

/// Every charge line of a month, sorted by day, provider, model, charge,
/// qualifiers and labels.
pub struct Lines {
    /// The lines in output order (sorted in place: a month can hold
    /// millions).
    pub lines: DenseMap<LineKey, LineSums>,
    /// Whether allocation rules ran: `ledger.csv` then says each line's
    /// source.
    pub sources: bool,
}

/// Split every posting into its charge lines, sorted by `text` (the
/// interner's text order with `(unattributed)` and `(none)`).
pub fn lines(
    postings: &Postings,
    table: &PriceTable,
    (interner, text): (&Interner, &TextOrder),
) -> Result<Lines> {
    let mut lookup = Lookup::new(table, interner);
    let bounds = table.prompt_bounds();
    // Each posting's key but the charge (held with the first token type),
    // then its charges among that key's lines.
    let mut groups: SharedKeyMap<LineKey, Charge, LineSums> = SharedKeyMap::default();
    for posting in postings.iter() {
        let record = posting.record;
        let (entry, qualifiers) = lookup
            .priced(record)
            .ok_or_else(|| internal("a priced record has no price entry"))?;
        let long_context = entry.is_long_context(&record.tokens);
        let shared = groups.shared(LineKey {
            day: posting.day(),
            provider: record.provider,
            model: record.model,
            charge: Charge::Tokens(TokenType::Input),
            service: record.service,
            hours: qualifiers.hours,
            long_context,
            prompt_over: prompt_over(&bounds, record.tokens.prompt()),
            dims: Dimension::FROM_SPANS.map(|d| posting.owner_key(d)),
            rule: posting.owner.map_or(0, |o| o.rule),
        });
        let unit_price = |charge: Charge| {
            charge
                .unit_price(entry, &qualifiers, long_context, interner)
                .ok_or_else(|| internal("a priced record has no unit price"))
        };
        for (charge, quantity, unit_price, cost) in
            record_lines(&posting, entry, &unit_price, interner)?
        {
            groups.entry(shared, charge).add(quantity, unit_price, cost);
        }
    }
    let lines = (groups.into_groups())
        .map(|(key, charge, sums)| (LineKey { charge, ..key }, sums))
        .collect();
    Ok(Lines {
        lines: sorted(lines, interner, text),
        sources: postings.allocated(),
    })
}

/// A posting's charges: each with its quantity, unit price and exact cost.
/// Audio and image tokens are lines of their own, out of the input or
/// output count (and cost) they are a part of.
fn record_lines(
    posting: &Posting,
    entry: &PriceEntry,
    unit_price: &impl Fn(Charge) -> Result<Decimal>,
    interner: &Interner,
) -> Result<Vec<(Charge, u64, Decimal, Decimal)>> {
    let record = posting.record;
    let mut out = Vec::with_capacity(5);
    let (mut text, mut text_cost) = (record.tokens.counts(), posting.cost.tokens);
    for &(m, quantity) in record.modalities().iter() {
        let unit_price = unit_price(Charge::Modality(m))?;
        let modal_cost = per_million(quantity, unit_price);
        text[m.part_of().index()] -= quantity;
        text_cost[m.part_of().index()] -= modal_cost;
        out.push((Charge::Modality(m), quantity, unit_price, modal_cost));
    }
    for t in TokenType::ALL {
        let quantity = text[t.index()];
        if quantity > 0 {
            out.push((
                Charge::Tokens(t),
                quantity,
                unit_price(Charge::Tokens(t))?,
                text_cost[t.index()],
            ));
        }
    }
    for &(name, quantity) in record.requests().iter() {
        let charge = interner.get(name);
        let (unit_price, fee) = entry
            .request_price(charge)
            .zip(entry.fee(charge, quantity))
            .ok_or_else(|| internal("a priced record has no request price"))?;
        out.push((Charge::Requests(name), quantity, unit_price, fee));
    }
    Ok(out)
}

/// The lines in output order: by day, provider, model, charge, qualifiers
/// and labels, compared as text through ranks (no string built per line).
fn sorted(
    mut lines: DenseMap<LineKey, LineSums>,
    interner: &Interner,
    text: &TextOrder,
) -> DenseMap<LineKey, LineSums> {
    lines.sort_by_cached_key(|k, _| {
        let labels = k.dims.map(|d| d.text_rank(text, interner));
        (
            k.day,
            text.of_sym(k.provider),
            text.of_sym(k.model),
            k.charge.order(text),
            k.service.tier,
            k.service.geo.map(|g| text.of_sym(g)),
            k.service.fast,
            k.hours,
            k.long_context,
            k.prompt_over,
            labels,
            k.rule,
        )
    });
    lines
}

fn internal(what: &str) -> Error {
    Error::fatal(format!(
        "internal error: {what}; nothing was written (please report this bug)"
    ))
}
