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
/// now, the last day with data; and with the month's days with data, what
/// the forecast is made at ([`At`]). An `--as-of` outside `--period` is an
/// error: its month to date would be a silent $0.
pub fn as_of(
    config: &AnswerConfig,
    period: Option<Period>,
    days: Option<(NaiveDate, NaiveDate)>,
    records: &[UsageRecord],
) -> Result<(Option<NaiveDate>, Option<At>)> {
    if let Some(day) = config.as_of {
        if let Some(p) = period.filter(|p| !p.contains_day(day)) {
            return Err(Error::fatal(format!(
                "--as-of {day} is outside --period {p}: the month to date is of the period's days"
            )));
        }
    }
    let running = period.is_some_and(|p| p == Period::of(super::config::today()));
    let as_of = (config.as_of).or_else(|| days.filter(|_| running).map(|(_, last)| last));
    let at = (as_of.zip(days)).map(|(day, days)| (day, days, open_day(day, records)));
    Ok((as_of, at))
}

/// The as-of day, the month's days with data, and the share of the as-of
/// day its records cover where it is not over ([`open_day`]).
pub type At = (NaiveDate, (NaiveDate, NaiveDate), Option<f64>);

/// With an as-of day, every value's forecast as of it, from the per-day
/// reports over `range`, the month's days with data: of the trued-up cost
/// when `billed`, as `budget.csv` judges spend. Under `--allocation`
/// (`owned`: the postings with their rules' owners), of each owner's usage
/// as allocation gives it, a rule's records under the rule's owner; the
/// bill's lines splits spread have no days and are not forecast.
pub fn month_forecast(
    (days, owned, billed): (&[Report], Option<(&Postings, &Interner)>, bool),
    at: Option<At>,
    budgets: Option<&Budgets>,
) -> Option<Vec<Forecast>> {
    let (as_of, range, open) = at?;
    let range = (range.0, range.1.max(as_of));
    let series = match owned {
        Some(owned) => owner_series(owned, range),
        None => series(days, range, billed),
    };
    Some(forecast(&series, range.0, (as_of, open), budgets))
}

/// When `as_of` is the clock's UTC today (not over), the share of it the
/// usage covers: up to its last record's time (an export that lags the
/// clock covers less of the day than has gone), at least an hour, so a
/// first record at 00:00:30 never reads as a day's.
pub fn open_day(as_of: NaiveDate, records: &[UsageRecord]) -> Option<f64> {
    let latest = (records.iter())
        .map(|r| r.timestamp.get())
        .filter(|t| t.date_naive() == as_of)
        .max();
    (as_of == super::config::today()).then(|| share_covered(latest.map(|t| t.time())))
}

/// The share of a day up to `latest`, at least an hour.
fn share_covered(latest: Option<chrono::NaiveTime>) -> f64 {
    use chrono::Timelike;
    let seconds = latest.map_or(0, |t| t.num_seconds_from_midnight());
    (f64::from(seconds) / 86_400.0).max(1.0 / 24.0)
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

/// `--fail-on-forecast`: the failed gate naming every value forecast over,
/// and every value `budget.csv` finds over already (`already`: "dimension
/// key", its spend with what splits spread, which has no days and is not
/// forecast) that no forecast names.
pub fn gate(forecasts: &[Forecast], already: &[String], config: &AnswerConfig) -> Option<String> {
    let mut over: Vec<String> = forecasts
        .iter()
        .filter(|f| f.over())
        .map(|f| format!("{} {}", f.dimension, f.value))
        .collect();
    let named = over.clone();
    over.extend(
        (already.iter())
            .filter(|value| !named.contains(value))
            .map(|value| format!("{value} (over already in budget.csv)")),
    );
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
    fn the_share_of_an_open_day_is_up_to_its_last_record_and_at_least_an_hour() {
        let at = |h, m| chrono::NaiveTime::from_hms_opt(h, m, 0);
        assert_eq!(share_covered(at(12, 0)), 0.5);
        assert_eq!(share_covered(at(0, 5)), 1.0 / 24.0);
        assert_eq!(share_covered(None), 1.0 / 24.0);
        let yesterday = super::super::config::today().pred_opt().unwrap();
        assert_eq!(open_day(yesterday, &[]), None);
    }
}
