//! The "this month so far" panel of a run `--as-of` a day: each budgeted
//! value's month to date and month-end forecast against its budget (the
//! costliest tenants' without budgets), and the sentence the terminal
//! prints for each value heading over.

use std::fmt::Write;

use chrono::NaiveDate;

use super::{esc, svg_label, usd, BARS, LABEL_W, WIDTH};
use crate::answers::forecast::Forecast;
use crate::dimension::Dimension;
use crate::money::Micros;

/// The panel: the sentences, then one row per value (month to date, the
/// forecast beyond it, its interval and the budget's mark).
pub(super) fn so_far(as_of: NaiveDate, forecasts: &[Forecast]) -> String {
    let mut html = format!("<h2>This month so far (as of {as_of})</h2>");
    let over: Vec<String> = forecasts.iter().filter_map(Forecast::headline).collect();
    let mut budgeted: Vec<&Forecast> = forecasts.iter().filter(|f| f.budget.is_some()).collect();
    if !over.is_empty() {
        html += "<ul class=\"over\">";
        for sentence in &over {
            let _ = write!(html, "<li>{}</li>", esc(sentence));
        }
        html += "</ul>";
    } else if !budgeted.is_empty() {
        html += "<p class=\"ok\">No budgeted value is forecast over its budget.</p>";
    }
    let rows: Vec<&Forecast> = if budgeted.is_empty() {
        html +=
            "<p class=\"note\">No budgets given (--budgets): the costliest tenants' forecasts.</p>";
        let mut tenants: Vec<&Forecast> = forecasts
            .iter()
            .filter(|f| f.dimension == Dimension::Tenant.name())
            .collect();
        tenants.sort_by(|a, b| b.forecast.0.cmp(&a.forecast.0).then(a.value.cmp(&b.value)));
        tenants
    } else {
        budgeted.sort_by(|a, b| {
            (b.pct.cmp(&a.pct))
                .then(a.dimension.cmp(b.dimension))
                .then(a.value.cmp(&b.value))
        });
        budgeted
    };
    if rows.is_empty() {
        return html + "<p>No cost so far.</p>";
    }
    html += &forecast_bars(&rows[..rows.len().min(BARS)]);
    html + "<p class=\"note\">Dark: spent so far; light: the forecast to month end, with its \
            interval; red mark: the budget. The forecast is an estimate from the daily run-rate \
            (forecast.csv).</p>"
}

/// One row per forecast on a shared scale.
fn forecast_bars(rows: &[&Forecast]) -> String {
    let budget = |f: &Forecast| f.budget.map(Micros::round);
    let hi = rows
        .iter()
        .map(|f| {
            f.forecast
                .2
                .drawn()
                .max(budget(f).map_or(0.0, Micros::drawn))
        })
        .fold(1.0, f64::max);
    let (row_h, plot_w) = (22.0, WIDTH - LABEL_W - 150.0);
    let at = |m: Micros| LABEL_W + plot_w * m.drawn().max(0.0) / hi;
    let height = row_h * rows.len() as f64 + 10.0;
    let mut svg = format!("<svg viewBox=\"0 0 {WIDTH} {height}\" role=\"img\">");
    for (i, f) in rows.iter().enumerate() {
        let y = i as f64 * row_h + 4.0;
        let mid = y + (row_h - 6.0) / 2.0;
        let (low, high) = (at(f.forecast.1), at(f.forecast.2));
        let label = svg_label(&format!("{} {}", f.dimension, f.value));
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" class=\"label\" text-anchor=\"end\">{}</text>\
             <rect x=\"{LABEL_W}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" class=\"fc\"/>\
             <rect x=\"{LABEL_W}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" class=\"bar\"/>\
             <line x1=\"{low:.1}\" y1=\"{mid:.1}\" x2=\"{high:.1}\" y2=\"{mid:.1}\" class=\"whisker\"/>",
            LABEL_W - 6.0,
            y + 14.0,
            label,
            at(f.forecast.0) - LABEL_W,
            row_h - 6.0,
            at(f.mtd) - LABEL_W,
            row_h - 6.0,
        );
        let mut value = format!("{} → {}", usd(f.mtd), usd(f.forecast.0));
        if let Some(b) = budget(f) {
            let x = at(b);
            let _ = write!(
                svg,
                "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" class=\"budget\"/>",
                y - 2.0,
                y + row_h - 4.0
            );
            value += &format!(" of {}", usd(b));
        }
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" class=\"value\">{}</text>",
            LABEL_W + plot_w + 6.0,
            y + 14.0,
            esc(&value)
        );
    }
    svg + "</svg>"
}

/// The panel's and the marks' own style, added to the page when shown.
pub(super) const STYLE: &str = ".fc{fill:#c9d7ee}.whisker{stroke:#3a4350;stroke-width:1.5}\
.budget{stroke:#c0392b;stroke-width:2}.over{color:#c0392b;margin:4px 0;padding-left:18px}\
.step{stroke:#6c3fb5;stroke-width:1.5;stroke-dasharray:3 3}.anomaly{fill:#c0392b}\
.key.step{border-top:2px dashed #6c3fb5}.key.anomaly{width:8px;height:8px;border:0;border-radius:4px;background:#c0392b}";
