//! The FinOps FOCUS-shaped export (`focus.csv`: the 1.2 columns and 1.3's
//! service and host provider columns): one row per (UTC day,
//! provider, model, charge, unit price, tenant, feature, agent), which
//! FinOps platforms ingest beside their cloud bills. A charge is a token
//! type, a modality priced apart or a per-request charge.
//!
//! Mapping: tokens are `ConsumedQuantity` in `Tokens`, priced per
//! `1M Tokens` (`PricingQuantity` = tokens ÷ 10⁶, `ListUnitPrice` = the
//! rate with tier, region, speed and long-context tier applied); requests
//! are priced per `1000 Requests`; the model is the `SkuId`, the model,
//! charge and rate the `SkuPriceId`.
//! `ListCost` is the cost at the pricing table's rates; `BilledCost` and
//! `EffectiveCost` are the trued-up cost under `--true-up`, else the same
//! as `ListCost`. Invoiced usage no record makes up is one `Adjustment` row.
//! Each cost column is split by largest remainder, so it sums exactly to
//! the reports' total.

use std::borrow::Cow;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

use crate::attribute::{INVOICE_ONLY, NONE, UNATTRIBUTED};
use crate::charges::Charge;
use crate::error::Result;
use crate::hash::FastMap;
use crate::intern::{Interner, Sym};
use crate::join::Joined;
use crate::model::{Cost, TokenType, UsageRecord};
use crate::money::{apportion, Micros};
use crate::price::{per_million, Lookup, PriceTable};
use crate::tree::Call;

/// The columns of `focus.csv`, in order.
pub const COLUMNS: [&str; 29] = [
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeCategory",
    "ChargeDescription",
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "BillingCurrency",
    "ServiceName",
    "ServiceCategory",
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
    "x_Tenant",
    "x_Feature",
    "x_Agent",
    "x_Requests",
];

/// A dimension of a row: `None` when the record joined no call.
type Dim = Option<Option<Sym>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    day: NaiveDate,
    provider: Sym,
    model: Sym,
    charge: Charge,
    /// USD per million tokens (per 1,000 requests), normalised so equal
    /// rates are equal keys.
    rate: Decimal,
    tenant: Dim,
    feature: Dim,
    agent: Dim,
}

#[derive(Clone, Copy, Debug, Default)]
struct Sums {
    tokens: u128,
    requests: u64,
    list: Decimal,
    billed: Decimal,
}

/// `focus.csv`'s rows, grouped and rounded, rendered only when written.
pub struct Focus<'a> {
    rows: Vec<(Key, Sums, Micros, Micros)>,
    adjustment: Option<Micros>,
    interner: &'a Interner,
}

/// Group every priced record's token types into FOCUS rows, trued up by
/// `billed` when given, plus `invoice_only` as an adjustment.
/// `billed_target` is the rounded billed total under a true-up.
#[allow(clippy::too_many_arguments)]
pub fn focus<'a>(
    records: &[UsageRecord],
    costs: &[Cost],
    billed: Option<&[Cost]>,
    calls: &[Call],
    joined: &Joined,
    table: &PriceTable,
    interner: &'a Interner,
    invoice_only: Option<Decimal>,
    billed_target: Option<Micros>,
) -> Result<Focus<'a>> {
    let mut lookup = Lookup::new(table, interner);
    let mut groups: FastMap<Key, Sums> = FastMap::default();
    // Each charge's quantity, list cost and trued-up cost (one buffer for
    // every record).
    let mut charges: Vec<(Charge, u64, Decimal, Decimal)> = Vec::new();
    for (i, (record, cost)) in records.iter().zip(costs).enumerate() {
        let dims = joined.call_of[i].map(|c| &calls[c as usize].dims);
        charges.clear();
        charges.extend(TokenType::ALL.iter().map(|&t| {
            let list = cost.tokens[t.index()];
            let billed = billed.map_or(list, |b| b[i].tokens[t.index()]);
            (Charge::Tokens(t), record.tokens.get(t), list, billed)
        }));
        // The record's entry, with its qualifiers and prompt size, once.
        let priced = lookup
            .priced(record)
            .map(|(e, qualifiers)| (e, qualifiers, e.is_long_context(&record.tokens)));
        let rate_of = |charge: Charge| {
            let (entry, qualifiers, long) = priced.as_ref()?;
            charge.unit_price(entry, qualifiers, *long, interner)
        };
        if !record.modalities.is_empty() {
            for &(m, n) in record.modalities.iter() {
                let price = rate_of(Charge::Modality(m));
                let modal = per_million(n, price.unwrap_or_default());
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
        }
        if !record.requests.is_empty() {
            let entry = priced.as_ref().map(|p| p.0);
            // The trued-up fees, split over the charges pro rata to their
            // list fees; the last takes the rest, so they add up exactly.
            let mut billed_left = billed.map_or(cost.fees, |b| b[i].fees);
            let last = record.requests.len() - 1;
            for (k, &(name, count)) in record.requests.iter().enumerate() {
                let fee = entry
                    .and_then(|e| e.fee(interner.get(name), count))
                    .unwrap_or_default();
                let share = match (k == last, cost.fees.is_zero()) {
                    (true, _) => billed_left,
                    (false, true) => Decimal::ZERO,
                    (false, false) => billed.map_or(fee, |b| b[i].fees * fee / cost.fees),
                };
                billed_left -= share;
                charges.push((Charge::Requests(name), count, fee, share));
            }
        }
        for &(charge, quantity, list, billed) in &charges {
            if quantity == 0 && list.is_zero() {
                continue;
            }
            // The rate the list cost was computed at: the entry's, else
            // (an entry that cannot say) cost ÷ quantity.
            let rate = match (quantity, rate_of(charge)) {
                (0, _) => Decimal::ZERO,
                (_, Some(rate)) => rate.normalize(),
                (_, None) => (list * charge.unit_size() / Decimal::from(quantity)).normalize(),
            };
            let key = Key {
                day: record.timestamp.date_naive(),
                provider: record.provider,
                model: record.model,
                charge,
                rate,
                tenant: dims.map(|d| d.tenant),
                feature: dims.map(|d| d.feature),
                agent: dims.map(|d| d.agent),
            };
            let sums = groups.entry(key).or_default();
            sums.tokens += u128::from(quantity);
            sums.requests += 1;
            sums.list += list;
            sums.billed += billed;
        }
    }
    let mut rows: Vec<(Key, Sums)> = groups.into_iter().collect();
    // By text, through ranks: no string is built per row.
    let text = interner.text_order(&[UNATTRIBUTED, NONE]);
    rows.sort_by_cached_key(|(k, _)| {
        let dims = [k.tenant, k.feature, k.agent].map(|d| match d {
            Some(Some(sym)) => text.of_sym(sym),
            other => text.of_str(label(interner, other)),
        });
        let charge = k.charge.order(&text);
        (
            k.day,
            text.of_sym(k.provider),
            text.of_sym(k.model),
            charge,
            k.rate,
            dims,
        )
    });

    let list: Vec<Decimal> = rows.iter().map(|(_, s)| s.list).collect();
    let list = apportion(&list, Micros::round(list.iter().sum()))?;
    let mut billed: Vec<Decimal> = rows.iter().map(|(_, s)| s.billed).collect();
    let adjustment = invoice_only.filter(|a| !a.is_zero());
    billed.extend(adjustment);
    let target = billed_target.unwrap_or_else(|| Micros::round(billed.iter().sum()));
    let billed = apportion(&billed, target)?;

    let adjustment = adjustment.map(|_| billed[rows.len()]);
    let rows = rows
        .into_iter()
        .zip(billed)
        .zip(list)
        .map(|(((key, sums), billed), list)| (key, sums, billed, list))
        .collect();
    Ok(Focus {
        rows,
        adjustment,
        interner,
    })
}

impl Focus<'_> {
    /// Pass each row's cells (in [`COLUMNS`] order) to `emit`.
    pub fn rows<E>(
        &self,
        mut emit: impl FnMut(&[Cow<str>]) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let label = |dim: Dim| Cow::Borrowed(label(self.interner, dim));
        // The period columns of each day, formatted once (a month has few).
        let mut periods: FastMap<NaiveDate, Vec<String>> = FastMap::default();
        for (key, ..) in &self.rows {
            periods
                .entry(key.day)
                .or_insert_with(|| period_columns(key.day));
        }
        let mut row: Vec<Cow<str>> = Vec::with_capacity(COLUMNS.len());
        for (key, sums, billed, list) in &self.rows {
            let (provider, model) = (
                self.interner.get(key.provider),
                self.interner.get(key.model),
            );
            let meter = key.charge.name(self.interner);
            let (noun, consumed, pricing) = match key.charge {
                Charge::Tokens(_) | Charge::Modality(_) => ("tokens", "Tokens", "1M Tokens"),
                Charge::Requests(_) => ("requests", "Requests", "1000 Requests"),
            };
            let billed: Cow<str> = Cow::Owned(billed.to_string());
            row.clear();
            row.extend(periods[&key.day].iter().map(|c| Cow::Borrowed(c.as_str())));
            row.extend([
                Cow::Borrowed("Usage"),
                Cow::Owned(format!("{model} {meter} {noun}")),
                billed.clone(),
                billed,
                Cow::Owned(list.to_string()),
                Cow::Borrowed("USD"),
                Cow::Owned(format!("{provider} API")),
                Cow::Borrowed("AI and ML"),
            ]);
            row.extend(std::iter::repeat_n(Cow::Borrowed(provider), 5));
            row.extend([
                Cow::Borrowed(model),
                Cow::Owned(format!("{model}:{meter}:{}", key.rate)),
                Cow::Borrowed(meter),
                Cow::Owned(sums.tokens.to_string()),
                Cow::Borrowed(consumed),
                Cow::Owned(key.charge.in_units(sums.tokens).to_string()),
                Cow::Borrowed(pricing),
                Cow::Owned(key.rate.to_string()),
                label(key.tenant),
                label(key.feature),
                label(key.agent),
                Cow::Owned(sums.requests.to_string()),
            ]);
            emit(&row)?;
        }
        if let Some(amount) = self.adjustment {
            let amount = amount.to_string();
            let day = self.rows.first().map_or(NaiveDate::MIN, |(k, ..)| k.day);
            let mut columns = period_columns(day.with_day(1).expect("day 1 exists"));
            // The adjustment covers the whole billing period.
            columns[3] = columns[1].clone();
            row.clear();
            row.extend(columns.into_iter().map(Cow::Owned));
            row.extend([
                Cow::Borrowed("Adjustment"),
                Cow::Borrowed("invoiced usage that no usage record makes up"),
                Cow::Owned(amount.clone()),
                Cow::Owned(amount),
                Cow::Owned(Micros(0).to_string()),
                Cow::Borrowed("USD"),
            ]);
            row.extend(std::iter::repeat_n(Cow::Borrowed(""), 15));
            row.extend(std::iter::repeat_n(Cow::Borrowed(INVOICE_ONLY), 3));
            row.push(Cow::Borrowed(""));
            emit(&row)?;
        }
        Ok(())
    }
}

/// A dimension's label, as in the reports.
fn label(interner: &Interner, dim: Dim) -> &str {
    match dim {
        None => UNATTRIBUTED,
        Some(None) => NONE,
        Some(Some(sym)) => interner.get(sym),
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
