//! The FinOps FOCUS-shaped export (`focus.csv`: the 1.2 columns and 1.3's
//! service and host provider columns): one row per (UTC day,
//! provider, model, charge, unit price and its qualifiers, tenant, feature,
//! agent), which FinOps platforms ingest beside their cloud bills (the
//! cloud-hosted providers' rows are on the cloud's own export too). A
//! charge is a token type, a modality priced apart or a per-request charge.
//!
//! Mapping: tokens are `ConsumedQuantity` in `Tokens`, priced per
//! `1000000 Tokens` (`PricingQuantity` = tokens ÷ 10⁶, `ListUnitPrice` = the
//! rate with tier, region, speed and long-context tier applied); requests
//! are priced per `1000 Requests`; the model is the `SkuId`, the model,
//! charge and the rate's qualifiers (never its amount) the `SkuPriceId`;
//! the billing account is the provider
//! (tokenledger's inputs name none).
//! `ContractedCost` is the cost at the pricing table's rates;
//! `ListCost` the same, but where a layered table's own entry (negotiated
//! rates) priced a record, at its base table's published rate for the
//! charge (`ListUnitPrice` × `PricingQuantity`); `BilledCost` and
//! `EffectiveCost` are the trued-up cost under `--true-up`, else the same.
//! Invoiced usage no record makes up is one `Adjustment` row per provider,
//! each of its costs the amount billed.
//! Each cost column is split by largest remainder, so it sums exactly to
//! the reports' total (the contracted column to the computed one, plus the
//! adjustments; the list column to the month at list prices, a row
//! without a saving at its contracted cell). An adjustment is dated in the
//! month of `--period`, else in the month its bill files it under.
//!
//! With `--allocation`, rows of records an allocation rule owned are kept
//! apart and carry FOCUS 1.3's split cost allocation columns
//! ([`ALLOCATION_COLUMNS`]): `AllocatedMethodId` the rule (`rule:<n>`, as
//! `ledger.csv`'s `source`), `AllocatedMethodDetails` how it allocates,
//! `AllocatedTags` the tenant, feature and agent it gave (JSON); measured
//! rows leave them empty, so a FinOps platform tells measured from
//! allocated cost.

use std::borrow::Cow;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

use crate::cells::Cells;
use crate::charges::Charge;
use crate::dimension::{Dimension, Key, INVOICE_ONLY};
use crate::error::Result;
use crate::hash::{DenseMap, FastMap, SharedKeyMap};
use crate::intern::{Interner, Sym, TextOrder};
use crate::model::{Service, Tier, TokenType, UsageRecord};
use crate::money::{apportion, apportion_beside, round_column, Micros};
use crate::posting::{Posting, Postings, RuleOwner};
use crate::price::{per_million, Lookup, PriceTable, Window};

/// The columns `focus.csv` adds under `--allocation`.
pub const ALLOCATION_COLUMNS: [&str; 3] = [
    "AllocatedMethodId",
    "AllocatedMethodDetails",
    "AllocatedTags",
];

/// The columns of `focus.csv`, in order.
pub const COLUMNS: [&str; 36] = [
    "BillingAccountId",
    "BillingAccountName",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeCategory",
    "ChargeClass",
    "ChargeFrequency",
    "ChargeDescription",
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "ContractedCost",
    "BillingCurrency",
    "ServiceName",
    "ServiceCategory",
    "ServiceSubcategory",
    "ProviderName",
    "PublisherName",
    "InvoiceIssuerName",
    "ServiceProviderName",
    "HostProviderName",
    "SkuId",
    "SkuPriceId",
    "SkuMeter",
    "ConsumedQuantity",
    "ConsumedUnit",
    "PricingQuantity",
    "PricingUnit",
    "ListUnitPrice",
    "ContractedUnitPrice",
    "x_Tenant",
    "x_Feature",
    "x_Agent",
    "x_Requests",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct RowKey {
    day: NaiveDate,
    provider: Sym,
    model: Sym,
    charge: Charge,
    /// USD per million tokens (per 1,000 requests), normalised so equal
    /// rates are equal keys: the rate applied (contracted).
    rate: Decimal,
    /// The published rate (list): the base table's, where a layered
    /// table's own entry set `rate`; else `rate`.
    list_rate: Decimal,
    /// The rate's qualifiers: service tier, region, speed, time-of-day
    /// window and long-context band (`SkuPriceId`'s, with model and charge).
    service: Service,
    hours: Option<Window>,
    long_context: bool,
    /// Tenant, feature and agent.
    dims: [Key; 3],
    /// The allocation rule that owned the records, if one did.
    owner: Option<RuleOwner>,
}

/// A row's rate qualifiers in its `SkuPriceId`, each that is not the
/// plain one after a `:` (`:batch`, `:us`, `:fast`, `:00:30-08:30`,
/// `:long-context`): FOCUS's stable properties of a SKU price, so one id
/// follows its price through a change of rate or a negotiated discount.
struct PriceQualifiers<'k>(&'k RowKey, &'k Interner);

impl std::fmt::Display for PriceQualifiers<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (key, interner) = (self.0, self.1);
        if key.service.tier != Tier::Standard {
            write!(f, ":{}", key.service.tier.key())?;
        }
        if let Some(geo) = key.service.geo {
            write!(f, ":{}", interner.get(geo))?;
        }
        if key.service.fast {
            f.write_str(":fast")?;
        }
        if let Some(window) = key.hours {
            write!(f, ":{}", window.label())?;
        }
        // A long prompt's band prices its tokens, not its requests.
        if key.long_context && !matches!(key.charge, Charge::Requests(_)) {
            f.write_str(":long-context")?;
        }
        Ok(())
    }
}

/// FOCUS 1.2's service category and subcategory of a model API.
const SERVICE_CATEGORY: &str = "AI and Machine Learning";
const SERVICE_SUBCATEGORY: &str = "Generative AI";

/// The charge frequency of every row: usage is billed as it is used.
const USAGE_BASED: &str = "Usage-Based";

/// The dimensions a FOCUS row is grouped by (its `x_` columns).
const DIMENSIONS: [Dimension; 3] = [Dimension::Tenant, Dimension::Feature, Dimension::Agent];

#[derive(Clone, Copy, Debug, Default)]
struct Sums {
    tokens: u128,
    requests: u64,
    /// At the published rates.
    list: Decimal,
    /// At the rates applied: the computed cost.
    contracted: Decimal,
    billed: Decimal,
}

/// `focus.csv`'s rows, grouped and rounded, rendered only when written.
pub struct Focus<'a> {
    /// The grouped rows, sorted in place (a month can hold millions).
    rows: DenseMap<RowKey, Sums>,
    /// Each row's rounded (billed, list, contracted) cost.
    rounded: Vec<[Micros; 3]>,
    /// Whether allocation rules ran: the allocation columns are written.
    allocated: bool,
    /// Per provider, the rounded invoiced usage no record makes up.
    adjustments: Vec<(InvoiceOnly<String>, Micros)>,
    /// The pricing table's currency: every cost column's (`BillingCurrency`).
    currency: String,
    interner: &'a Interner,
}

/// One charge of a record: what it charges for, its quantity, its cost at
/// the table's rates and its trued-up cost.
type Charged = (Charge, u64, Decimal, Decimal);

/// A record's trued-up fee of one per-request charge, given its fee at
/// the table's rate.
pub type BilledFee<'f> = &'f dyn Fn(&UsageRecord, Sym, Decimal) -> Decimal;

/// A provider's invoiced usage no record makes up: the provider, and the
/// first days of the earliest and latest month its bill files it under.
pub type InvoiceOnly<P> = (P, (NaiveDate, NaiveDate));

/// Group every posting's charges into FOCUS rows, trued up when the
/// postings are, plus `invoice_only` (per provider, in its month) as adjustments, sorted
/// by `text` (the interner's text order with `(unattributed)` and
/// `(none)`). `billed_target` is the rounded billed total under a true-up,
/// `billed_fee` each per-request charge's trued-up fee.
pub fn focus<'a>(
    postings: &Postings,
    table: &PriceTable,
    (interner, text): (&'a Interner, &TextOrder),
    invoice_only: &[(InvoiceOnly<&str>, Decimal)],
    (billed_target, billed_fee): (Option<Micros>, BilledFee),
) -> Result<Focus<'a>> {
    let mut lookup = Lookup::new(table, interner);
    let base = table.base_table()?;
    let mut base_lookup = base.as_ref().map(|b| Lookup::new(b, interner));
    // Each posting's key but the charge and rate (held with the first
    // token type and a zero rate), then its charges among that key's rows.
    let mut groups: SharedKeyMap<RowKey, (Charge, [Decimal; 2]), Sums> = SharedKeyMap::default();
    let mut charges: Vec<Charged> = Vec::new(); // every record's, in turn
    for posting in postings.iter() {
        let record = posting.record;
        // The record's entry, with its qualifiers and prompt size, once.
        let priced = lookup
            .priced(record)
            .map(|(e, qualifiers)| (e, qualifiers, e.is_long_context(&record.tokens)));
        let rate_of = |charge: Charge| {
            let (entry, qualifiers, long) = priced.as_ref()?;
            charge.unit_price(entry, qualifiers, *long, interner)
        };
        let fee_of = |name: Sym, count: u64| {
            let entry = priced.as_ref()?.0;
            entry.fee(interner.get(name), count)
        };
        let billed_fee_of = |name, fee| billed_fee(record, name, fee);
        record_charges(&posting, &rate_of, (&fee_of, &billed_fee_of), &mut charges);
        // Priced by the layered table's own entry: listed at the base's.
        let listed = match (&priced, base_lookup.as_mut()) {
            (Some((entry, ..)), Some(base)) if entry.layer > 0 => base.priced(record),
            _ => None,
        };
        let list_rate_of = |charge: Charge| {
            let (entry, qualifiers) = listed.as_ref()?;
            let long = entry.is_long_context(&record.tokens);
            charge.unit_price(entry, qualifiers, long, interner)
        };
        let band = priced.as_ref().map(|(_, q, long)| (q.hours, *long));
        let shared = groups.shared(shared_key(&posting, band.unwrap_or_default()));
        for &(charge, quantity, contracted, billed) in &charges {
            if quantity == 0 && contracted.is_zero() {
                continue;
            }
            let (rates, list) = (rate_of(charge), list_rate_of(charge));
            let (rates, list) = priced_at(charge, quantity, contracted, rates, list);
            let sums = groups.entry(shared, (charge, rates));
            sums.tokens += u128::from(quantity);
            sums.requests += 1;
            sums.list += list;
            sums.contracted += contracted;
            sums.billed += billed;
        }
    }
    let rows = (groups.into_groups())
        .map(|(key, (charge, [rate, list_rate]), sums)| {
            let key = RowKey {
                charge,
                rate,
                list_rate,
                ..key
            };
            (key, sums)
        })
        .collect();
    let mut focus = finish(rows, (interner, text), invoice_only, billed_target)?;
    focus.allocated = postings.allocated();
    focus.currency = table.currency.clone();
    Ok(focus)
}

/// A charge's rates, applied and published, and its list cost: the rate
/// the cost was computed at (the entry's, else, for an entry that cannot
/// say, cost ÷ quantity); the published one the base table's (`list_rate`)
/// where it gives one, its list cost quantity × that rate, else the same.
fn priced_at(
    charge: Charge,
    quantity: u64,
    contracted: Decimal,
    rate: Option<Decimal>,
    list_rate: Option<Decimal>,
) -> ([Decimal; 2], Decimal) {
    let rate = match (quantity, rate) {
        (0, _) => Decimal::ZERO,
        (_, Some(rate)) => rate.normalize(),
        (_, None) => (contracted * charge.unit_size() / Decimal::from(quantity)).normalize(),
    };
    match list_rate.filter(|_| quantity > 0) {
        Some(r) => (
            [rate, r.normalize()],
            charge.in_units(u128::from(quantity)) * r,
        ),
        None => ([rate, rate], contracted),
    }
}

/// A posting's row key but its charge and rates (the first token type and
/// zero rates: its charges' rows share the rest), with its time-of-day
/// window and long-context band.
fn shared_key(posting: &Posting, (hours, long_context): (Option<Window>, bool)) -> RowKey {
    RowKey {
        day: posting.day(),
        provider: posting.record.provider,
        model: posting.record.model,
        charge: Charge::Tokens(TokenType::Input),
        rate: Decimal::ZERO,
        list_rate: Decimal::ZERO,
        service: posting.record.service,
        hours,
        long_context,
        dims: DIMENSIONS.map(|d| posting.key(d)),
        owner: posting.owner.copied(),
    }
}

/// A posting's charges into `charges`: its token types (less the audio and
/// image tokens priced apart), its modalities and its per-request charges,
/// each with its list and trued-up cost.
fn record_charges(
    posting: &Posting,
    rate_of: &impl Fn(Charge) -> Option<Decimal>,
    (fee_of, billed_fee_of): (
        &impl Fn(Sym, u64) -> Option<Decimal>,
        &impl Fn(Sym, Decimal) -> Decimal,
    ),
    charges: &mut Vec<Charged>,
) {
    let (record, cost) = (posting.record, posting.cost);
    charges.clear();
    charges.extend(TokenType::ALL.iter().map(|&t| {
        let list = cost.tokens[t.index()];
        let billed = posting.billed.map_or(list, |b| b.tokens[t.index()]);
        (Charge::Tokens(t), record.tokens.get(t), list, billed)
    }));
    for &(m, n) in record.modalities().iter() {
        let modal = per_million(n, rate_of(Charge::Modality(m)).unwrap_or_default());
        let part = &mut charges[m.part_of().index()];
        // The part's trued-up share, at its own factor.
        let billed = if part.2.is_zero() {
            modal
        } else {
            modal * part.3 / part.2
        };
        part.1 -= n;
        part.2 -= modal;
        part.3 -= billed;
        charges.push((Charge::Modality(m), n, modal, billed));
    }
    if record.requests().is_empty() {
        return;
    }
    // The trued-up fees, each charge at its own invoice line's factor (as
    // the true-up priced them); the last takes the rest, so they add up
    // exactly.
    let mut billed_left = posting.billed.map_or(cost.fees, |b| b.fees);
    let last = record.requests().len() - 1;
    for (k, &(name, count)) in record.requests().iter().enumerate() {
        let fee = fee_of(name, count).unwrap_or_default();
        let share = match (k == last, posting.billed) {
            (true, _) => billed_left,
            (false, None) => fee,
            (false, Some(_)) => billed_fee_of(name, fee),
        };
        billed_left -= share;
        charges.push((Charge::Requests(name), count, fee, share));
    }
}

/// The grouped rows, sorted by text and rounded: each cost column split by
/// largest remainder so it sums exactly to the reports' total.
fn finish<'a>(
    mut rows: DenseMap<RowKey, Sums>,
    (interner, text): (&'a Interner, &TextOrder),
    invoice_only: &[(InvoiceOnly<&str>, Decimal)],
    billed_target: Option<Micros>,
) -> Result<Focus<'a>> {
    // By text, through ranks: no string is built per row.
    rows.sort_by_cached_key(|k, _| {
        let dims = k.dims.map(|d| d.text_rank(text, interner));
        let charge = k.charge.order(text);
        // A rule's owners by what it set, in text order: two owners of one
        // rule (a template's `{label.team}`) never tie on input order.
        let owner = k.owner.map(|o| {
            let set = o
                .keys
                .map(|key| key.map(|sym| text.of_str(interner.get(sym))));
            (o.rule, set)
        });
        (
            k.day,
            text.of_sym(k.provider),
            text.of_sym(k.model),
            charge,
            k.rate,
            k.list_rate,
            (k.service.tier, k.service.geo.map(|g| text.of_sym(g))),
            (k.service.fast, k.hours, k.long_context),
            dims,
            owner,
        )
    });
    let column = |of: fn(&Sums) -> Decimal| {
        let exact: Vec<Decimal> = rows.values().map(of).collect();
        round_column(&exact)
    };
    let contracted = column(|s| s.contracted);
    // A row without a saving lists at its contracted cell.
    let (listed, costs): (Vec<Decimal>, Vec<Decimal>) =
        rows.values().map(|s| (s.list, s.contracted)).unzip();
    let list_total = Micros::round(listed.iter().sum());
    let list = apportion_beside(&listed, list_total, (&costs, &contracted))?;
    let mut billed: Vec<Decimal> = rows.values().map(|s| s.billed).collect();
    let only: Vec<&(InvoiceOnly<&str>, Decimal)> =
        invoice_only.iter().filter(|(_, a)| !a.is_zero()).collect();
    billed.extend(only.iter().map(|(_, a)| *a));
    let target = billed_target.unwrap_or_else(|| Micros::round(billed.iter().sum()));
    let mut billed = apportion(&billed, target)?;
    let adjustments = (only
        .iter()
        .map(|((provider, month), _)| (provider.to_string(), *month)))
    .zip(billed.split_off(rows.len()))
    .collect();
    let rounded = (billed.into_iter().zip(list).zip(contracted))
        .map(|((billed, list), contracted)| [billed, list, contracted])
        .collect();
    Ok(Focus {
        rows,
        rounded,
        allocated: false,
        adjustments,
        currency: String::new(),
        interner,
    })
}

impl Focus<'_> {
    /// The columns written: [`COLUMNS`], and [`ALLOCATION_COLUMNS`] when
    /// allocation rules ran.
    pub fn columns(&self) -> Vec<&'static str> {
        let extra = if self.allocated {
            &ALLOCATION_COLUMNS[..]
        } else {
            &[]
        };
        COLUMNS.iter().chain(extra).copied().collect()
    }

    /// A provider's row of invoiced usage no record makes up, over the
    /// whole billing period: a charge of its own, so its list and
    /// contracted cost are what was billed.
    fn adjustment_row<'r>(
        &'r self,
        (provider, (first, last)): &'r InvoiceOnly<String>,
        amount: Micros,
    ) -> Vec<Cow<'r, str>> {
        let amount = amount.to_string();
        let provider = provider.as_str();
        // Billed in the latest month, charged over every month.
        let mut columns = period_columns(*last);
        columns[2] = period_columns(*first).swap_remove(0);
        columns[3] = columns[1].clone();
        let mut row: Vec<Cow<str>> = vec![Cow::Borrowed(provider), Cow::Borrowed("")];
        row.extend(columns.into_iter().map(Cow::Owned));
        row.extend(["Adjustment", "", USAGE_BASED].map(Cow::Borrowed));
        row.push(Cow::Borrowed(
            "invoiced usage that no usage record makes up",
        ));
        row.extend(std::iter::repeat_n(Cow::Owned(amount), 4));
        let currency = Cow::Borrowed(self.currency.as_str());
        row.extend([currency, Cow::Owned(format!("{provider} API"))]);
        row.extend([SERVICE_CATEGORY, SERVICE_SUBCATEGORY].map(Cow::Borrowed));
        row.extend(std::iter::repeat_n(Cow::Borrowed(provider), 5));
        row.extend(std::iter::repeat_n(Cow::Borrowed(""), 9));
        row.extend(std::iter::repeat_n(Cow::Borrowed(INVOICE_ONLY), 3));
        row.push(Cow::Borrowed("0"));
        if self.allocated {
            row.extend(self.allocation_cells(None));
        }
        row
    }

    /// The allocation columns of a row the rule `owner` owned (empty for
    /// a measured row).
    fn allocation_cells(&self, owner: Option<RuleOwner>) -> [Cow<'_, str>; 3] {
        let Some(owner) = owner else {
            return [Cow::Borrowed(""), Cow::Borrowed(""), Cow::Borrowed("")];
        };
        let tags: serde_json::Map<String, serde_json::Value> = DIMENSIONS
            .iter()
            .filter_map(|&d| {
                let value = self.interner.get(owner.key(d)?);
                Some((d.name().to_string(), value.into()))
            })
            .collect();
        [
            Cow::Owned(format!("rule:{}", owner.rule)),
            Cow::Owned(format!(
                "{{\"Method\":\"usage record labels\",\"Rule\":{}}}",
                owner.rule
            )),
            Cow::Owned(serde_json::Value::Object(tags).to_string()),
        ]
    }

    /// Pass each row's cells (in [`Focus::columns`] order) to `emit`.
    pub fn rows<E>(
        &self,
        mut emit: impl FnMut(&[Cow<str>]) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let label = |key: Key| Cow::Borrowed(key.label(self.interner));
        // The period columns of each day, formatted once (a month has few).
        let mut periods: FastMap<NaiveDate, Vec<String>> = FastMap::default();
        for key in self.rows.keys() {
            periods
                .entry(key.day)
                .or_insert_with(|| period_columns(key.day));
        }
        let mut cells = Cells::default();
        for ((key, sums), [billed, list, contracted]) in self.rows.iter().zip(&self.rounded) {
            let (provider, model) = (
                self.interner.get(key.provider),
                self.interner.get(key.model),
            );
            let meter = key.charge.name(self.interner);
            let (noun, consumed, pricing) = match key.charge {
                Charge::Tokens(_) | Charge::Modality(_) => ("tokens", "Tokens", "1000000 Tokens"),
                Charge::Requests(_) => ("requests", "Requests", "1000 Requests"),
            };
            cells.clear();
            cells.push(format_args!("{model} {meter} {noun}"));
            cells.push(format_args!("{billed}"));
            cells.push(format_args!("{list}"));
            cells.push(format_args!("{provider} API"));
            // The price's stable properties, never its amount or discount.
            let qualifiers = PriceQualifiers(key, self.interner);
            cells.push(format_args!("{model}:{meter}{qualifiers}"));
            cells.push(format_args!("{}", sums.tokens));
            cells.push(format_args!("{}", key.charge.in_units(sums.tokens)));
            cells.push(format_args!("{}", key.rate));
            cells.push(format_args!("{}", sums.requests));
            cells.push(format_args!("{contracted}"));
            cells.push(format_args!("{}", key.list_rate));
            let cell = |i| Cow::Borrowed(cells.get(i));
            let mut row: Vec<Cow<str>> = Vec::with_capacity(COLUMNS.len() + 3);
            row.extend([Cow::Borrowed(provider), Cow::Borrowed("")]);
            row.extend(periods[&key.day].iter().map(|c| Cow::Borrowed(c.as_str())));
            row.extend(["Usage", "", USAGE_BASED].map(Cow::Borrowed));
            row.extend([cell(0), cell(1), cell(1), cell(2), cell(9)]);
            row.extend([Cow::Borrowed(self.currency.as_str()), cell(3)]);
            row.extend([SERVICE_CATEGORY, SERVICE_SUBCATEGORY].map(Cow::Borrowed));
            row.extend(std::iter::repeat_n(Cow::Borrowed(provider), 5));
            row.extend([Cow::Borrowed(model), cell(4), Cow::Borrowed(meter), cell(5)]);
            row.extend([Cow::Borrowed(consumed), cell(6), Cow::Borrowed(pricing)]);
            row.extend([cell(10), cell(7)]);
            row.extend([label(key.dims[0]), label(key.dims[1]), label(key.dims[2])]);
            row.push(cell(8));
            if self.allocated {
                row.extend(self.allocation_cells(key.owner));
            }
            emit(&row)?;
        }
        for (only, amount) in &self.adjustments {
            emit(&self.adjustment_row(only, *amount))?;
        }
        Ok(())
    }
}

/// The four period columns of a charge on `day`: its UTC month, then the day.
fn period_columns(day: NaiveDate) -> Vec<String> {
    let month = day.with_day(1).expect("day 1 exists");
    let next_month = month
        .checked_add_months(chrono::Months::new(1))
        .expect("dates are far from the end of time");
    let next_day = day.succ_opt().expect("dates are far from the end of time");
    [month, next_month, day, next_day]
        .map(|d| format!("{d}T00:00:00Z"))
        .to_vec()
}
