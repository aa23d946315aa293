//! Free allowances of per-request charges (`[model.free_requests]`):
//! the first requests of each day or month in a pool cost nothing.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

use super::entry::{Allowance, PriceEntry, FREE_SUFFIX};
use super::{Lookup, PriceTable};
use crate::error::{Error, Result};
use crate::intern::{Interner, Sym};
use crate::model::{Billed, RequestIds, UsageRecord};

/// Reject entries that name one allowance pool for a charge with different
/// terms (per day or month, count, unit): the pool is one allowance.
pub(super) fn check_pools(entries: &[PriceEntry]) -> Result<()> {
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

/// One claim on an allowance: a (record, charge with an allowance) pair.
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

impl Claim {
    /// What orders the claims: pool, period and charge, then time and id.
    fn order(&self) -> (&str, NaiveDate, &str, chrono::DateTime<chrono::Utc>, &str) {
        (
            &self.pool,
            self.period,
            &self.charge,
            self.at,
            &self.request_id,
        )
    }
}

/// Give records' per-request charges their free allowances: in each pool,
/// UTC day (or month) and charge, the earliest requests (by timestamp, then
/// request id) up to the allowance become `<charge>_free`, priced at 0;
/// the rest keep their charge and its price. Run before pricing.
pub fn apply_allowances(
    table: &PriceTable,
    (records, ids): (&mut [UsageRecord], &RequestIds),
    interner: &mut Interner,
) {
    let mut claims = claims(table, (records, ids), interner);
    claims.sort_by(|a, b| a.order().cmp(&b.order()));
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
        let (charge, count) = record.requests()[claim.slot];
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
        let mut requests: Vec<(Sym, u64)> = record.requests().to_vec();
        requests[claim.slot] = (charge, count - free);
        requests.push((free_charge, free));
        record.set_requests(requests.into_boxed_slice());
        changed.push(claim.record);
    }
    for record in changed {
        let record = &mut records[record];
        if record.requests().iter().any(|&(_, n)| n == 0) {
            let left = record.requests().iter().copied().filter(|&(_, n)| n > 0);
            record.set_requests(left.collect());
        }
    }
}

/// Every record's claims on its entry's allowances (none for an unpriced
/// record: pricing reports it).
fn claims(table: &PriceTable, (records, ids): Billed<'_>, interner: &mut Interner) -> Vec<Claim> {
    let mut claims = Vec::new();
    let mut lookup = Lookup::new(table, interner);
    for (record, r) in records
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.requests().is_empty())
    {
        let Some(entry) = lookup.entry(r) else {
            continue;
        };
        for (slot, &(charge, _)) in r.requests().iter().enumerate() {
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
                at: r.timestamp.get(),
                request_id: ids.get(record).into(),
                record,
                slot,
                allowance: allowance.count,
                per_prompt: allowance.per_prompt,
            });
        }
    }
    claims
}
