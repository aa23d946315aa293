//! Where the month is heading (`forecast.csv`, under `--as-of`): per
//! dimension value, the month to date (exact) and an estimate of the month
//! end, against its budget.
//!
//! The method, on the value's daily cost up to the as-of day (trued up
//! under `--true-up`, as budgets measure spend):
//!
//! - the run-rate is the median of the last 7 days (fewer early in the
//!   month, and none before the value's first spend of the month once 3
//!   days have passed since it, that day included: a new tenant's
//!   run-rate is not the zeros before it came): a lasting change shows
//!   within days, one runaway day does not move it;
//! - the forecast is the month to date plus the run-rate (none if below
//!   zero) for each day left;
//! - the interval is ±2 spreads of the days left, the spread of one day
//!   being the median absolute deviation of the last 14 days (×1.4826; the
//!   mean absolute deviation where most days are alike; on fewer than 7
//!   days, at least the unknown days' share of the run-rate), with the
//!   run-rate's own uncertainty added: an estimate, computed in floating
//!   point, not an amount of money;
//! - `exceeds_on` is the first day the month to date reaches the budget
//!   (as `budget.csv` calls a value at 100 % `over`), or, at the
//!   run-rate, would.
//!
//! Weekday effects are not modelled: a fleet whose weekends are quiet gets
//! a wider interval, not a shifted one.

use chrono::{Datelike, NaiveDate};
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use rust_decimal::Decimal;

use super::daily::{floats, mad, median, Series};
use crate::money::{round_column, Micros};
use crate::read::budgets::Budgets;

/// One row of `forecast.csv`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Forecast {
    /// The dimension.
    pub dimension: &'static str,
    /// The value.
    pub value: String,
    /// Month to date, rounded: each dimension's column split by largest
    /// remainder, so every dimension sums to the same month to date.
    pub mtd: Micros,
    /// The month-end estimate and its interval, rounded.
    pub forecast: (Micros, Micros, Micros),
    /// The value's budget, if it has one.
    pub budget: Option<Decimal>,
    /// The forecast as a share of the budget, two places.
    pub pct: Option<Decimal>,
    /// The first day the month reaches (or would reach) the budget.
    pub exceeds_on: Option<NaiveDate>,
    /// The month to date has reached the budget (exactly).
    pub reached: bool,
    /// The month-end estimate before rounding: what the budget is judged
    /// against.
    pub point: Decimal,
}

impl Forecast {
    /// What the terminal and `report.html` say of a value forecast over its
    /// budget: `tenant acme-corp: $1,240.00 so far, forecast $2,310.00
    /// (budget $2,000.00): on track to exceed on the 24th`.
    pub fn headline(&self) -> Option<String> {
        let budget = self.budget.filter(|_| self.over())?;
        let when = self
            .exceeds_on
            .map_or_else(String::new, |d| match self.reached {
                true => format!(": exceeded on the {}", ordinal(d)),
                false => format!(": on track to exceed on the {}", ordinal(d)),
            });
        Some(format!(
            "{} {}: {} so far, forecast {} (budget {}){when}",
            self.dimension,
            self.value,
            self.mtd.dollars(),
            self.forecast.0.dollars(),
            Micros::round(budget).dollars()
        ))
    }

    /// Whether the forecast reaches the value's budget (as `budget.csv`
    /// calls a spend at 100 % `over`).
    pub fn over(&self) -> bool {
        self.budget.is_some_and(|b| self.point >= b)
    }
}

/// The forecast of every series with cost to date or a budget, as of
/// `as_of`; `first` is the series' first day. `open`: the share of the
/// as-of day its records cover, when it is not over (the clock's today):
/// its spend so far is no day's spend, so it is no day of the run-rate,
/// and it is forecast at the larger of the run-rate and what it has spent;
/// where it is the only day with data, the run-rate is its spend so far
/// over that share.
pub fn forecast(
    all: &[Series],
    first: NaiveDate,
    (as_of, open): (NaiveDate, Option<f64>),
    budgets: Option<&Budgets>,
) -> Vec<Forecast> {
    let month_end = as_of
        .with_day(1)
        .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
        .and_then(|d| d.pred_opt())
        .unwrap_or(as_of);
    let budget_of = |s: &Series| {
        let budgets = budgets?;
        let found = budgets
            .budgets
            .iter()
            .find(|b| b.dimension.name() == s.dimension && b.key == s.value);
        found.map(|b| b.usd)
    };
    let (mut rows, exact): (Vec<Forecast>, Vec<Decimal>) = all
        .iter()
        .filter_map(|s| {
            let budget = budget_of(s);
            let (row, mtd) = one(s, first, (as_of, open), month_end, budget);
            (!mtd.is_zero() || budget.is_some()).then_some((row, mtd))
        })
        .unzip();
    let mut dimensions: Vec<&'static str> = rows.iter().map(|r| r.dimension).collect();
    dimensions.sort_unstable();
    dimensions.dedup();
    for dimension in dimensions {
        let at: Vec<usize> = (0..rows.len())
            .filter(|&i| rows[i].dimension == dimension)
            .collect();
        let values: Vec<Decimal> = at.iter().map(|&i| exact[i]).collect();
        for (&i, mtd) in at.iter().zip(round_column(&values)) {
            // The column's largest remainders may round a month to date a
            // µ$ off its own rounding: the forecast and its bounds (the
            // month to date and an estimate added) move with it, so the
            // last day's forecast is the month to date, and a forecast
            // never below it.
            let shift = Micros(mtd.0 - rows[i].mtd.0);
            let (point, low, high) = &mut rows[i].forecast;
            *point = Micros(point.0 + shift.0).max(mtd);
            *low = Micros(low.0 + shift.0).max(mtd);
            *high = Micros(high.0 + shift.0).max(*point);
            rows[i].mtd = mtd;
        }
    }
    rows
}

fn one(
    s: &Series,
    first: NaiveDate,
    (as_of, open): (NaiveDate, Option<f64>),
    month_end: NaiveDate,
    budget: Option<Decimal>,
) -> (Forecast, Decimal) {
    let month_start = as_of.with_day(1).unwrap_or(as_of);
    let index = |day: NaiveDate| usize::try_from((day - first).num_days()).ok();
    let from = index(month_start.max(first)).unwrap_or(0);
    let to = index(as_of).map_or(0, |i| (i + 1).min(s.cost.len()));
    let days = s.cost.get(from..to).unwrap_or(&[]);
    let mtd: Decimal = days.iter().sum();
    let mut all = floats(days);
    let (x, today) = rate_days(&mut all, open);
    let last = |n: usize| &x[x.len().saturating_sub(n)..];
    let rate = median(last(7));
    let spread = day_spread(last(14), rate);
    let today_ahead = today.map_or(0.0, |spent| (rate - spent).max(0.0));
    let whole_days = (month_end - as_of).num_days().max(0) as f64;
    let left = whole_days + if rate > 0.0 { today_ahead / rate } else { 0.0 };
    let k = last(7).len().max(1) as f64;
    let half = 2.0 * (left * spread * spread + (left * 1.2533 * spread / k.sqrt()).powi(2)).sqrt();
    let mtd_f = floats(&[mtd])[0];
    let ahead = (rate * whole_days + today_ahead).max(0.0);
    // The month to date exact, the estimate of the days left added (in
    // decimals, as the day the budget is crossed is found): at the month's
    // last day, the forecast is what was spent.
    let decimal = |v: f64| Decimal::from_f64(v).unwrap_or_default();
    let (rate_d, today_d) = (decimal(rate), decimal(today_ahead));
    let days_left = Decimal::from((month_end - as_of).num_days().max(0));
    let point = mtd + (rate_d * days_left + today_d).max(Decimal::ZERO);
    let money = |v: f64| Micros::round(Decimal::from_f64(v.max(0.0)).unwrap_or_default());
    let rounded = Micros::round(point);
    let forecast = (
        rounded,
        money((mtd_f + ahead - half).max(mtd_f)).min(rounded),
        money(mtd_f + ahead + half).max(rounded),
    );
    let pct = budget
        .filter(|b| !b.is_zero())
        .map(|b| (point * Decimal::ONE_HUNDRED / b).round_dp(2));
    let rate_and_today = (rate_d, today_d);
    let exceeds_on = budget.and_then(|b| {
        crossing(
            days,
            month_start.max(first),
            b,
            rate_and_today,
            as_of,
            month_end,
        )
    });
    let reached = budget.is_some_and(|b| mtd >= b);
    let row = Forecast {
        dimension: s.dimension,
        value: s.value.clone(),
        mtd: Micros::round(mtd),
        forecast,
        budget,
        pct,
        exceeds_on,
        reached,
        point,
    };
    (row, mtd)
}

/// The days a value's run-rate is taken from (`all`, its month's days to
/// the as-of day), and the as-of day's spend when it is not over (`open`:
/// the share of it its records cover).
fn rate_days(all: &mut [f64], open: Option<f64>) -> (&[f64], Option<f64>) {
    let n = all.len();
    let today = open.and_then(|_| all.last().copied());
    let end = match (open, today) {
        // The value's first spend of the month, not over (the month's only
        // day, or days of none before it): its rate so far is a day of
        // its data, as a whole day's would be.
        (Some(gone), Some(spent)) if all[..n - 1].iter().all(|v| *v == 0.0) => {
            all[n - 1] = spent / gone;
            n
        }
        (Some(_), Some(_)) => n - 1,
        _ => n,
    };
    let x = &all[..end];
    // A value's days before its first spend of the month are not its data
    // (a tenant new on the 8th has no run-rate of 0 from the week before),
    // once 3 days have passed since it first spent, that day included: one
    // day's spend (a weekly batch's) is no run-rate either.
    let first_spend = x.iter().position(|v| *v != 0.0).unwrap_or(x.len());
    let x = match x.len() - first_spend {
        3.. => &x[first_spend..],
        _ => x,
    };
    (x, today)
}

/// The spread of one day's cost about the run-rate `rate`: the median
/// absolute deviation of `recent` (×1.4826), else, where most days are
/// alike and it is 0, their mean absolute deviation (×1.2533); and, on
/// fewer than 7 days of data, at least the share of the run-rate that the
/// missing days leave unknown (one day: 6/7 of it), so an interval on a
/// day or two never claims certainty.
fn day_spread(recent: &[f64], rate: f64) -> f64 {
    let center = median(recent);
    let mut spread = mad(recent, center);
    if spread == 0.0 && !recent.is_empty() {
        let total: f64 = recent.iter().map(|v| (v - center).abs()).sum();
        spread = 1.2533 * total / recent.len() as f64;
    }
    let unknown = 7usize.saturating_sub(recent.len()) as f64 / 7.0;
    spread.max(rate.abs() * unknown)
}

/// The first day the running total of `days` (from `start`) reaches
/// `budget`, else the day it would at the run-rate `rate` (the as-of day
/// itself, within `today_ahead`, what is forecast of it still), when that
/// is within the month.
fn crossing(
    days: &[Decimal],
    start: NaiveDate,
    budget: Decimal,
    (rate, today_ahead): (Decimal, Decimal),
    as_of: NaiveDate,
    end: NaiveDate,
) -> Option<NaiveDate> {
    let mut total = Decimal::ZERO;
    for (i, day) in days.iter().enumerate() {
        total += day;
        if total >= budget {
            return start.checked_add_days(chrono::Days::new(i as u64));
        }
    }
    let short = budget - total - today_ahead;
    if short <= Decimal::ZERO {
        return Some(as_of);
    }
    if rate <= Decimal::ZERO {
        return None;
    }
    // The fewest whole days at the run-rate that reach the budget, exactly
    // as the forecast adds them (a quotient rounded in its 28th digit moved
    // one day: 2.1 / 0.7 in floating point is 3.0000000000000004).
    let mut more = (short.checked_div(rate)?.ceil()).to_u64()?.max(1);
    while rate * Decimal::from(more) < short {
        more += 1;
    }
    while more > 1 && rate * Decimal::from(more - 1) >= short {
        more -= 1;
    }
    as_of
        .checked_add_days(chrono::Days::new(more))
        .filter(|d| *d <= end)
}

/// A day of the month as `1st`, `2nd`, `24th`.
fn ordinal(day: NaiveDate) -> String {
    use chrono::Datelike;
    let d = day.day();
    let suffix = match (d % 10, d % 100) {
        (1, n) if n != 11 => "st",
        (2, n) if n != 12 => "nd",
        (3, n) if n != 13 => "rd",
        _ => "th",
    };
    format!("{d}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_half_that_doubles_is_bracketed_and_crosses_its_budget() {
        let first = NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();
        // $10 a day with ±10 % noise, $20 from the 16th; read on the 20th.
        let cost: Vec<Decimal> = (0..20)
            .map(|d| {
                Decimal::from(if d < 15 { 10 } else { 20 })
                    * Decimal::new(if d % 2 == 0 { 11 } else { 9 }, 1)
            })
            .collect();
        let s = Series {
            dimension: "tenant",
            value: "acme".into(),
            requests: vec![1; 20],
            cost,
        };
        let as_of = NaiveDate::from_ymd_opt(2025, 6, 20).unwrap();
        let f = one(
            &s,
            first,
            (as_of, None),
            NaiveDate::from_ymd_opt(2025, 6, 30).unwrap(),
            Some(Decimal::from(400)),
        )
        .0;
        // $249 to date; the real month end, the same pattern to the 30th: $449.
        let (point, low, high) = f.forecast;
        assert_eq!(f.mtd, Micros(249_000_000));
        assert!(
            low.to_decimal() <= Decimal::from(449) && Decimal::from(449) <= high.to_decimal(),
            "{f:?}"
        );
        // At the run-rate (the last week's median, $18), $400 on the 29th.
        assert_eq!(point, Micros(429_000_000));
        assert_eq!(f.exceeds_on, NaiveDate::from_ymd_opt(2025, 6, 29));
        assert!(f.over());
    }

    #[test]
    fn a_day_not_over_is_no_day_of_the_run_rate_and_is_forecast_whole() {
        // $24 a day, read at half past noon on the 15th ($12.50 so far):
        // $720 at month end, over a $715 budget; counted as a whole day,
        // the 15th forecast $708 (and its partial day cut the run-rate).
        let day = |d| NaiveDate::from_ymd_opt(2025, 6, d).unwrap();
        let mut cost = vec![Decimal::from(24); 14];
        cost.push(Decimal::new(125, 1));
        let s = Series {
            dimension: "model",
            value: "m".into(),
            requests: vec![1; 15],
            cost,
        };
        let budget = Some(Decimal::from(715));
        let open = one(&s, day(1), (day(15), Some(0.5)), day(30), budget).0;
        assert_eq!(open.forecast.0, Micros(720_000_000));
        assert!(open.over());
        assert_eq!(open.exceeds_on, Some(day(30)));
        let closed = one(&s, day(1), (day(15), None), day(30), budget).0;
        assert_eq!(closed.forecast.0, Micros(708_500_000));
        // The month's first day at 01:00, $1 spent: $24 a day, not $1.
        let first = Series {
            cost: vec![Decimal::ONE],
            requests: vec![1],
            ..s.clone()
        };
        let f = one(&first, day(1), (day(1), Some(1.0 / 24.0)), day(30), budget).0;
        assert_eq!(f.forecast.0, Micros(720_000_000));
        // A budget the day itself reaches at the run-rate: crossed today.
        let today = one(
            &s,
            day(1),
            (day(15), Some(0.5)),
            day(30),
            Some(Decimal::from(350)),
        )
        .0;
        assert_eq!(today.exceeds_on, Some(day(15)));
    }

    #[test]
    fn a_new_value_runs_at_its_own_rate_and_a_few_days_never_claim_certainty() {
        let day = |d| NaiveDate::from_ymd_opt(2025, 6, d).unwrap();
        let series = |cost: &[i64]| Series {
            dimension: "tenant",
            value: "t3".into(),
            requests: vec![1; cost.len()],
            cost: cost.iter().map(|&c| Decimal::from(c)).collect(),
        };
        // $1 a day from the 8th, read on the 10th: $23 at month end, not
        // the $3 a run-rate of the week's zeros gives; over its $10.
        let new = series(&[0, 0, 0, 0, 0, 0, 0, 1, 1, 1]);
        let f = one(
            &new,
            day(1),
            (day(10), None),
            day(30),
            Some(Decimal::from(10)),
        )
        .0;
        assert_eq!(f.forecast.0, Micros(23_000_000));
        assert!(
            f.forecast.1 < f.forecast.0 && f.forecast.0 < f.forecast.2,
            "{f:?}"
        );
        assert!(f.over());
        // $10, $3, $10: the month ends at $3.30 a day × 30 or so; the
        // interval is not one point.
        // A weekly batch's first spend, read that day: no run-rate of $70.
        let batch = series(&[0, 0, 70]);
        let f = one(
            &batch,
            day(1),
            (day(3), None),
            day(30),
            Some(Decimal::from(500)),
        )
        .0;
        assert_eq!(f.forecast.0, Micros(70_000_000));
        assert!(!f.over() && !f.reached);
        let noisy = series(&[10, 3, 10]);
        let f = one(&noisy, day(1), (day(3), None), day(30), None).0;
        assert!(
            f.forecast.1 < f.forecast.0 && f.forecast.0 < f.forecast.2,
            "{f:?}"
        );
    }

    #[test]
    fn a_first_spend_today_has_an_interval_and_a_crossing_is_found_exactly() {
        let day = |d| NaiveDate::from_ymd_opt(2025, 4, d).unwrap();
        let series = |cost: Vec<Decimal>| Series {
            dimension: "tenant",
            value: "t".into(),
            requests: vec![1; cost.len()],
            cost,
        };
        // A first spend at noon of a day not over: its days of none before
        // gave a run-rate and a spread of 0, a one-point interval.
        let new = series(vec![Decimal::ZERO, Decimal::ZERO, Decimal::ONE]);
        let f = one(&new, day(1), (day(3), Some(0.5)), day(30), None).0;
        assert!(f.forecast.0 < f.forecast.2, "{f:?}");
        // $0.70 a day to the 27th: $21 on the 30th. In floating point
        // 2.1 / 0.7 is 3.0000000000000004, a fourth day past the month's
        // end: forecast over its $21 budget, crossing on no day.
        let steady = series(vec![Decimal::new(7, 1); 27]);
        let budget = Some(Decimal::from(21));
        let f = one(&steady, day(1), (day(27), None), day(30), budget).0;
        assert!(f.over(), "{f:?}");
        assert_eq!(f.exceeds_on, Some(day(30)));
    }
}
