//! The month's cost per day: a bar per day, lines for the costliest
//! tenants and features, and marks where a step change began or a day was
//! anomalous.

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::NaiveDate;

use super::charts::Plot;
use super::{esc, html_label, usd, usd_axis, DAILY_LINES, WIDTH};
use crate::answers::anomalies::Anomaly;
use crate::answers::changes::{Change, Measure};
use crate::hash::FastMap;
use crate::ledger::{find, Report, RoundedRow};
use crate::money::Micros;
use rust_decimal::Decimal;

/// A dimension's costs per day, as the daily curve draws them.
struct Daily {
    /// Each day's total (the sum of the dimension's rows that day).
    totals: Vec<Micros>,
    /// The values with the largest month cost, largest first, each with
    /// its cost per day.
    top: Vec<(String, Vec<Micros>)>,
}

impl Daily {
    /// `report`'s rows (keyed by day and value) over the `n` days from
    /// `first`, with its `DAILY_LINES` costliest values.
    fn new(report: &Report, first: NaiveDate, n: usize) -> Daily {
        let in_range = |day: NaiveDate| {
            usize::try_from((day - first).num_days())
                .ok()
                .filter(|&i| i < n)
        };
        // Each value's month cost first; only the costliest get a series
        // (a month of a million tenants needs three, not a million).
        let placed: Vec<(usize, &RoundedRow)> = day_rows(report)
            .filter_map(|(day, row)| Some((in_range(day)?, row)))
            .collect();
        let mut totals = vec![Micros(0); n];
        let mut month: FastMap<&str, Micros> = FastMap::default();
        for &(i, row) in &placed {
            totals[i].0 += row.cost_usd().0;
            month.entry(&row.keys[1]).or_default().0 += row.cost_usd().0;
        }
        let mut ranked: Vec<(&str, Micros)> = month.into_iter().collect();
        let costliest = |a: &(&str, Micros), b: &(&str, Micros)| b.1.cmp(&a.1).then(a.0.cmp(b.0));
        if ranked.len() > DAILY_LINES {
            ranked.select_nth_unstable_by(DAILY_LINES, costliest);
            ranked.truncate(DAILY_LINES);
        }
        ranked.sort_unstable_by(costliest);
        let mut top: Vec<(String, Vec<Micros>)> = ranked
            .iter()
            .map(|(value, _)| (value.to_string(), vec![Micros(0); n]))
            .collect();
        for &(i, row) in &placed {
            if let Some(place) = ranked.iter().position(|(value, _)| **value == row.keys[1]) {
                top[place].1[i].0 += row.cost_usd().0;
            }
        }
        Daily { totals, top }
    }
}

/// A day report's rows with their day.
fn day_rows(report: &Report) -> impl Iterator<Item = (NaiveDate, &RoundedRow)> {
    report
        .rows
        .iter()
        .filter_map(|row| Some((row.keys.first()?.parse().ok()?, row)))
}

/// A step for about four gridlines up to `max` micro-dollars: 1, 2 or 5 ×
/// a power of ten, a cent at least.
fn grid_step(max: i128) -> i128 {
    let wanted = (max / 4).max(10_000);
    let mut unit = 10_000;
    loop {
        if let Some(step) = [1, 2, 5]
            .map(|f| f * unit)
            .into_iter()
            .find(|&s| s >= wanted)
        {
            return step;
        }
        unit *= 10;
    }
}

/// What the daily chart marks: the days step changes began
/// (`changes.csv`) and the anomalous days (`anomalies.csv`).
#[derive(Default)]
pub struct Marks<'a> {
    /// Every step change found.
    pub changes: &'a [Change],
    /// Every anomalous day found.
    pub anomalies: &'a [Anomaly],
}

/// The month's cost per day: one bar per day of the range for the total
/// (the tenant rows of each day), and lines for the costliest tenants
/// (solid) and features (dashed); step changes and anomalies marked. Always
/// computed cost: the billed total of a true-up is not known per day, which
/// `trued_up` makes the caption say.
pub(super) fn daily_curve(
    days: &[Report],
    range: Option<(NaiveDate, NaiveDate)>,
    trued_up: bool,
    marks: &Marks,
) -> String {
    let mut html = String::from("<h2>Cost per day</h2>");
    let (tenants, features) = (find(days, "tenant"), find(days, "feature"));
    let seen: Vec<NaiveDate> = day_rows(tenants).map(|(day, _)| day).collect();
    let first = seen.iter().copied().chain(range.map(|r| r.0)).min();
    let last = seen.iter().copied().chain(range.map(|r| r.1)).max();
    let (Some(first), Some(last)) = (first, last) else {
        return html + "<p>No usage.</p>";
    };
    let n = usize::try_from((last - first).num_days() + 1).unwrap_or(1);
    let by_tenant = Daily::new(tenants, first, n);
    let by_feature = Daily::new(features, first, n);
    let max = by_tenant.totals.iter().map(|m| m.0).max().unwrap_or(0);
    let step = grid_step(max);
    let gridlines = ((max + step - 1) / step).max(1);
    let plot = Plot {
        left: 60.0,
        base: 200.0,
        x_max: n as f64,
        y_max: (gridlines * step) as f64,
    };
    let _ = write!(html, "<svg viewBox=\"0 0 {WIDTH} 230\" role=\"img\">");
    html += &grid(&plot, gridlines, step);
    html += &day_bars(&plot, &by_tenant.totals, first);
    let lines: Vec<(&str, &(String, Vec<Micros>))> = by_tenant
        .top
        .iter()
        .map(|t| ("tenant", t))
        .chain(by_feature.top.iter().map(|f| ("feature", f)))
        .collect();
    for (i, (dimension, (_, costs))) in lines.iter().enumerate() {
        let points = costs
            .iter()
            .enumerate()
            .map(|(d, m)| (d as f64 + 0.5, m.drawn()));
        html += &plot.line(points, &format!("line {}", line_class(i, dimension)));
    }
    html += &plot.axis();
    let marked = marks.draw(&plot, &by_tenant.totals, (first, last));
    html += &marked;
    for i in (0..n).step_by(7) {
        let (x, _) = plot.xy((i as f64 + 0.5, 0.0));
        let day = first + chrono::Days::new(i as u64);
        let _ = write!(
            html,
            "<text x=\"{x:.1}\" y=\"{:.1}\" class=\"label\" text-anchor=\"middle\">{}</text>",
            plot.base + 16.0,
            day.format("%b %-d")
        );
    }
    html += "</svg>";
    html += &legend(&lines, !marked.is_empty());
    let _ = write!(
        html,
        "<p class=\"note\">Bars: each UTC day's total, {first} to {last}; lines: the top \
         tenants (solid) and features (dashed) by the month's cost.{}{}</p>",
        if marked.is_empty() {
            ""
        } else {
            " Marks: the first day of a step change (changes.csv), and anomalous days \
             (anomalies.csv); hover for what moved."
        },
        if trued_up {
            " All amounts are computed cost, before the invoice true-up: \
             the billed total is not split by day."
        } else {
            ""
        }
    );
    html
}

/// The CSS classes of the `i`th line: its colour, dashed for a feature.
fn line_class(i: usize, dimension: &str) -> String {
    let dash = if dimension == "feature" { " dash" } else { "" };
    format!("s{i}{dash}")
}

/// Gridlines every `step` micro-dollars, labelled, and the zero label.
fn grid(plot: &Plot, gridlines: i128, step: i128) -> String {
    let mut svg = String::new();
    let left = plot.left;
    for k in 1..=gridlines {
        let amount = Micros(k * step);
        let (_, y) = plot.xy((0.0, amount.drawn()));
        let _ = write!(
            svg,
            "<line x1=\"{left}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" class=\"gridline\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"label\" text-anchor=\"end\">{}</text>",
            WIDTH - 10.0,
            left - 6.0,
            y + 4.0,
            usd_axis(amount)
        );
    }
    let _ = write!(
        svg,
        "<text x=\"{:.1}\" y=\"{:.1}\" class=\"label\" text-anchor=\"end\">$0</text>",
        left - 6.0,
        plot.base + 4.0
    );
    svg
}

/// One bar per day for its total, with the day and amount as its title.
fn day_bars(plot: &Plot, totals: &[Micros], first: NaiveDate) -> String {
    let mut svg = String::new();
    for (i, total) in totals.iter().enumerate() {
        let (x0, y) = plot.xy((i as f64 + 0.15, total.drawn()));
        let (x1, _) = plot.xy((i as f64 + 0.85, 0.0));
        let day = first + chrono::Days::new(i as u64);
        let _ = write!(
            svg,
            "<rect x=\"{x0:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" class=\"day\">\
             <title>{day}: {}</title></rect>",
            x1 - x0,
            plot.base - y,
            usd(*total)
        );
    }
    svg
}

/// The legend under the chart: the total, each line, and the marks.
fn legend(lines: &[(&str, &(String, Vec<Micros>))], marked: bool) -> String {
    let mut html =
        String::from("<p class=\"legend\"><span><span class=\"key total\"></span>all</span>");
    for (i, (dimension, (value, _))) in lines.iter().enumerate() {
        let _ = write!(
            html,
            " <span><span class=\"key {}\"></span>{dimension} {}</span>",
            line_class(i, dimension),
            html_label(value)
        );
    }
    if marked {
        html += " <span><span class=\"key step\"></span>step change</span> \
                 <span><span class=\"key anomaly\"></span>anomaly</span>";
    }
    html + "</p>"
}

impl Marks<'_> {
    /// Whether there is nothing to mark.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.anomalies.is_empty()
    }

    /// A dashed line at the first day of each step change and a dot over
    /// each anomalous day's bar, inside `days`; each day marked once, its
    /// title naming everything that moved that day.
    fn draw(&self, plot: &Plot, totals: &[Micros], days: (NaiveDate, NaiveDate)) -> String {
        let mut steps: BTreeMap<NaiveDate, Vec<String>> = BTreeMap::new();
        for c in self.changes {
            let factor = c.factor.map_or_else(String::new, |f| format!(" ×{f}"));
            steps.entry(c.first_day).or_default().push(format!(
                "{} {}: {} in {}{factor}",
                c.dimension,
                c.value,
                c.kind.as_str(),
                c.series.as_str()
            ));
        }
        let mut odd: BTreeMap<NaiveDate, Vec<String>> = BTreeMap::new();
        for a in self.anomalies {
            let amount = |d: Decimal| match a.series {
                Measure::Cost => Micros::round(d).dollars(),
                Measure::Requests => format!("{d} requests"),
            };
            odd.entry(a.day).or_default().push(format!(
                "{} {}: {}, expected {}",
                a.dimension,
                a.value,
                amount(a.observed),
                amount(a.expected.0)
            ));
        }
        let mut svg = String::new();
        let inside = |day: &NaiveDate| (days.0..=days.1).contains(day);
        let index = |day: NaiveDate| (day - days.0).num_days() as f64;
        for (day, what) in steps.iter().filter(|(d, _)| inside(d)) {
            let (x, _) = plot.xy((index(*day), 0.0));
            let _ = write!(
                svg,
                "<line x1=\"{x:.1}\" y1=\"20\" x2=\"{x:.1}\" y2=\"{}\" class=\"step\">\
                 <title>{day}: {}</title></line>",
                plot.base,
                esc(&listed(what))
            );
        }
        for (day, what) in odd.iter().filter(|(d, _)| inside(d)) {
            let i = index(*day);
            let total = totals.get(i as usize).copied().unwrap_or_default();
            let (x, y) = plot.xy((i + 0.5, total.drawn()));
            let _ = write!(
                svg,
                "<circle cx=\"{x:.1}\" cy=\"{:.1}\" r=\"4\" class=\"anomaly\">\
                 <title>{day}: {}</title></circle>",
                y - 6.0,
                esc(&listed(what))
            );
        }
        svg
    }
}

/// A mark's title: its first few entries, and how many more the CSV has.
fn listed(what: &[String]) -> String {
    const SHOWN: usize = 4;
    let mut text = what[..what.len().min(SHOWN)].join("; ");
    if what.len() > SHOWN {
        text += &format!("; and {} more", what.len() - SHOWN);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gridlines_fall_on_round_amounts() {
        // About four gridlines, 1, 2 or 5 × a power of ten, a cent at least.
        assert_eq!(grid_step(0), 10_000);
        assert_eq!(grid_step(958_500), 500_000);
        assert_eq!(grid_step(4_300_000), 2_000_000);
        assert_eq!(grid_step(4_000_000), 1_000_000);
        assert_eq!(grid_step(123_456_789_000), 50_000_000_000);
        assert_eq!(super::super::usd_axis(Micros(500_000)), "$0.50");
        assert_eq!(super::super::usd_axis(Micros(50_000_000_000)), "$50,000");
    }
}
