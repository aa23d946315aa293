//! The month's charge lines (`ledger.csv`): every priced record split into
//! its charges (each token type) and grouped by UTC day, provider, model,
//! charge, the rate's qualifiers (service tier, region, speed, long
//! context) and the record's tenant, feature, agent and tool, with the
//! quantity, the unit price and the exact cost. Every report's cost is a
//! roll-up of these lines; `tokenledger diff` reprices them.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::attribute::Key;
use crate::error::{Error, Result};
use crate::hash::FastMap;
use crate::intern::{Interner, Sym};
use crate::join::Joined;
use crate::model::{Cost, Service, TokenType, UsageRecord};
use crate::price::{Lookup, PriceTable, Qualifiers};
use crate::tree::Call;

/// The pricing unit of token charges: unit prices are USD per million.
pub const TOKEN_UNIT: &str = "1000000 tokens";

/// The columns of `ledger.csv`, in order.
pub const LEDGER_COLUMNS: [&str; 17] = [
    "day",
    "provider",
    "model",
    "charge",
    "service_tier",
    "inference_geo",
    "speed",
    "long_context",
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
    /// The charge: a token type.
    pub charge: TokenType,
    /// The service tier, region and speed.
    pub service: Service,
    /// Whether the requests were priced at the long-context rates.
    pub long_context: bool,
    /// The requests' tenant.
    pub tenant: Key,
    /// Their feature.
    pub feature: Key,
    /// Their nearest agent.
    pub agent: Key,
    /// Their nearest tool.
    pub tool: Key,
}

/// The sums of one charge line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LineSums {
    /// Usage records with this charge.
    pub requests: u64,
    /// Tokens charged.
    pub quantity: u128,
    /// USD per million tokens.
    pub unit_price: Decimal,
    /// The exact cost: `quantity × unit_price ÷ 10⁶`.
    pub cost: Decimal,
}

/// Every charge line of a month, sorted by day, provider, model, charge,
/// qualifiers and labels.
pub struct Lines {
    /// The lines in output order.
    pub lines: Vec<(LineKey, LineSums)>,
}

/// Split every record (priced by `costs` from `table`, joined to `calls`
/// by `joined`) into its charge lines.
pub fn lines(
    records: &[UsageRecord],
    costs: &[Cost],
    calls: &[Call],
    joined: &Joined,
    table: &PriceTable,
    interner: &Interner,
) -> Result<Lines> {
    let mut lookup = Lookup::new(table, interner);
    let mut groups: FastMap<LineKey, LineSums> = FastMap::default();
    for (i, (record, cost)) in records.iter().zip(costs).enumerate() {
        let entry = lookup
            .entry(record)
            .ok_or_else(|| internal("a priced record has no price entry"))?;
        let long_context = entry.is_long_context(&record.tokens);
        let call = joined.call_of[i].map(|c| &calls[c as usize]);
        let key = |sym: Option<Sym>| call.map_or(Key::Unattributed, |_| Key::of(sym));
        let dims = call.map(|c| &c.dims);
        for charge in TokenType::ALL {
            let quantity = record.tokens.get(charge);
            if quantity == 0 {
                continue;
            }
            let line = LineKey {
                day: record.timestamp.date_naive(),
                provider: record.provider,
                model: record.model,
                charge,
                service: record.service,
                long_context,
                tenant: key(dims.and_then(|d| d.tenant)),
                feature: key(dims.and_then(|d| d.feature)),
                agent: key(dims.and_then(|d| d.agent)),
                tool: key(dims.and_then(|d| d.tool)),
            };
            let unit_price = entry
                .unit_price(
                    charge,
                    &Qualifiers::of(&record.service, interner),
                    long_context,
                )
                .map_err(|_| internal("a priced record has no unit price"))?;
            let sums = groups.entry(line).or_default();
            sums.requests += 1;
            sums.quantity += u128::from(quantity);
            sums.unit_price = unit_price;
            sums.cost += cost.0[charge.index()];
        }
    }
    let mut lines: Vec<(LineKey, LineSums)> = groups.into_iter().collect();
    lines.sort_by_cached_key(|(k, _)| {
        let labels = [k.tenant, k.feature, k.agent, k.tool].map(|d| d.label(interner).to_string());
        let name = |s: Sym| interner.get(s).to_string();
        (
            k.day,
            name(k.provider),
            name(k.model),
            k.charge,
            k.service.tier,
            k.service.geo.map(|g| interner.get(g).to_string()),
            k.service.fast,
            k.long_context,
            labels,
        )
    });
    Ok(Lines { lines })
}

fn internal(what: &str) -> Error {
    Error::fatal(format!(
        "internal error: {what}; nothing was written (please report this bug)"
    ))
}
