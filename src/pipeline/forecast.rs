//! The month as it runs (`--as-of`): each dimension value's month to date
//! and month-end forecast against its budget ([`crate::answers::forecast`]),
//! and the `--fail-on-forecast` gate.

use chrono::NaiveDate;

use super::config::{AnswerConfig, Period};
use crate::answers::budget::Budgets;
use crate::answers::daily::series;
use crate::answers::forecast::{forecast, Forecast};
use crate::error::{Error, Result};
use crate::ledger::Report;
use crate::model::UsageRecord;

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

/// Every value's forecast as of `as_of`, from the per-day reports over
/// `range`, the month's days with data: of the trued-up cost when
/// `billed`, as `budget.csv` judges spend (but under `--allocation`, which
/// judges the allocated amounts: they have no days).
pub fn month_forecast(
    days: &[Report],
    (range, billed): ((NaiveDate, NaiveDate), bool),
    as_of: NaiveDate,
    budgets: Option<&Budgets>,
) -> Vec<Forecast> {
    let last = range.1.max(as_of);
    forecast(
        &series(days, (range.0, last), billed),
        range.0,
        as_of,
        budgets,
    )
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
