//! The month as it runs (`--as-of`): each dimension value's month to date
//! and month-end forecast against its budget ([`crate::answers::forecast`]),
//! and the `--fail-on-forecast` gate.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::config::{AnswerConfig, Period};
use crate::answers::budget::Budgets;
use crate::answers::daily::{series, Series};
use crate::answers::forecast::{forecast, Forecast};
use crate::dimension::{Dimension, PerDimension, UNALLOCATED};
use crate::error::{Error, Result};
use crate::intern::Interner;
use crate::ledger::Report;
use crate::model::UsageRecord;
use crate::posting::Postings;

/// The as-of day: `--as-of`, else, when `--period` is the month running
/// now, the last day with data. An `--as-of` outside `--period` is an
/// error: its month to date would be a silent $0.
pub fn as_of(
    config: &AnswerConfig,
    period: Option<Period>,
    days: Option<(NaiveDate, NaiveDate)>,
) -> Result<Option<NaiveDate>> {
    if let Some(day) = config.as_of {
        if let Some(p) = period.filter(|p| !p.contains_day(day)) {
            return Err(Error::fatal(format!(
                "--as-of {day} is outside --period {p}: the month to date is of the period's days"
            )));
        }
    }
    let running = period.is_some_and(|p| p == Period::of(super::config::today()));
    Ok(config
        .as_of
        .or_else(|| days.filter(|_| running).map(|(_, last)| last)))
}

/// With an as-of day, every value's forecast as of it, from the per-day
/// reports over `range`, the month's days with data: of the trued-up cost
/// when `billed`, as `budget.csv` judges spend. Under `--allocation`
/// (`owned`: the postings with their rules' owners), of each owner's usage
/// as allocation gives it, a rule's records under the rule's owner; the
/// bill's lines splits spread have no days and are not forecast.
pub fn month_forecast(
    (days, owned, billed): (&[Report], Option<(&Postings, &Interner)>, bool),
    at: Option<(NaiveDate, (NaiveDate, NaiveDate))>,
    budgets: Option<&Budgets>,
) -> Option<Vec<Forecast>> {
    let (as_of, range) = at?;
    let range = (range.0, range.1.max(as_of));
    let series = match owned {
        Some(owned) => owner_series(owned, range),
        None => series(days, range, billed),
    };
    let open = day_gone(as_of, super::config::now());
    Some(forecast(&series, range.0, (as_of, open), budgets))
}

/// The share of `as_of` gone at `now`, when it is `now`'s UTC day (not
/// over); at least an hour, so a run at 00:00:30 never reads its first
/// minute as a day.
fn day_gone(as_of: NaiveDate, now: chrono::DateTime<chrono::Utc>) -> Option<f64> {
    use chrono::Timelike;
    let seconds = f64::from(now.time().num_seconds_from_midnight());
    (now.date_naive() == as_of).then(|| (seconds / 86_400.0).max(1.0 / 24.0))
}

/// Each dimension value's days over `range` by the owner allocation gives
/// each record (the rule's, else the span's; `(unallocated)` for none, as
/// `allocation.csv` has it), in the reports' order.
fn owner_series(
    (postings, interner): (&Postings, &Interner),
    (first, last): (NaiveDate, NaiveDate),
) -> Vec<Series> {
    let length = usize::try_from((last - first).num_days() + 1).unwrap_or(0);
    let mut values: PerDimension<BTreeMap<&str, Series>> =
        PerDimension::from_fn(|_| BTreeMap::new());
    for p in postings.iter() {
        let Some(i) = usize::try_from((p.day() - first).num_days())
            .ok()
            .filter(|&i| i < length)
        else {
            continue;
        };
        let spend = p.spend();
        for d in Dimension::ALL {
            let value = p.owner_key(d).owner(d, interner).unwrap_or(UNALLOCATED);
            let s = values[d].entry(value).or_insert_with(|| Series {
                dimension: d.name(),
                value: value.to_string(),
                requests: vec![0; length],
                cost: vec![Decimal::ZERO; length],
            });
            s.requests[i] += 1;
            s.cost[i] += spend;
        }
    }
    Dimension::ALL
        .into_iter()
        .flat_map(|d| std::mem::take(&mut values[d]).into_values())
        .collect()
}

/// `--fail-on-forecast`: the failed gate naming every value forecast over.
pub fn gate(forecasts: &[Forecast], config: &AnswerConfig) -> Option<String> {
    let over: Vec<String> = forecasts
        .iter()
        .filter(|f| f.over())
        .map(|f| format!("{} {}", f.dimension, f.value))
        .collect();
    (config.fail_on_forecast && !over.is_empty()).then(|| {
        format!(
            "forecast: {} forecast over budget (--fail-on-forecast): {}",
            over.len(),
            over.join(", ")
        )
    })
}

/// The warning for usage dated after the as-of day: it stays in the
/// reports and budgets, but not in the month to date, so the two differ.
pub fn after_as_of(records: &[UsageRecord], as_of: NaiveDate) -> Option<String> {
    let after = (records.iter())
        .filter(|r| r.timestamp.date_naive() > as_of)
        .count();
    (after > 0).then(|| {
        format!(
            "{after} usage record(s) dated after --as-of {as_of}: in the reports and budgets, \
             not in the month to date (forecast.csv)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_share_of_the_as_of_day_gone_is_read_from_the_clock_on_that_day_alone() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let at = |h, m| day.and_hms_opt(h, m, 0).unwrap().and_utc();
        assert_eq!(day_gone(day, at(12, 0)), Some(0.5));
        assert_eq!(day_gone(day, at(0, 5)), Some(1.0 / 24.0));
        assert_eq!(day_gone(day.pred_opt().unwrap(), at(12, 0)), None);
    }
}
