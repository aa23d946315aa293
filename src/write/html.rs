//! `report.html`: the month on one page. A single self-contained file: inline
//! CSS and SVG, no script, no font or image fetched from anywhere.

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::NaiveDate;

use crate::answers::budget::BudgetRow;
use crate::answers::percentile;
use crate::answers::steps::StepRow;
use crate::ledger::{find, Report, RoundedRow};
use crate::money::Micros;
use crate::summary::Summary;

/// How many rows a bar chart shows before folding the rest into one bar.
const BARS: usize = 12;
/// Chart width in SVG units.
const WIDTH: f64 = 560.0;
/// The width of a horizontal bar chart's labels, in SVG units.
const LABEL_W: f64 = 170.0;
/// How many tenants, and how many features, the daily curve draws.
const DAILY_LINES: usize = 3;

/// What the page shows.
pub struct Page<'a> {
    /// Totals, counts and the reconciliation status.
    pub summary: &'a Summary,
    /// `by_tenant.csv`'s rows, costliest first.
    pub tenants: &'a [RoundedRow],
    /// `by_feature.csv`'s rows.
    pub features: &'a [RoundedRow],
    /// `by_model.csv`'s rows.
    pub models: &'a [RoundedRow],
    /// `budget.csv`'s rows, with `--budgets`.
    pub budgets: Option<&'a [BudgetRow]>,
    /// The billed (trued-up) total, under `--true-up`: the page's amounts
    /// are then billed amounts, and say so.
    pub billed_total: Option<Micros>,
    /// Every run's cost.
    pub run_costs: Vec<Micros>,
    /// `by_step.csv`'s rows.
    pub steps: &'a [StepRow],
    /// `by_day.csv`'s reports: per dimension, rows keyed by day and value.
    pub days: &'a [Report],
    /// The month's days, first and last (none without usage or period).
    pub day_range: Option<(NaiveDate, NaiveDate)>,
}

/// Escape text for HTML.
pub(crate) fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Dollars for display: two places, with thousands commas.
fn usd(m: Micros) -> String {
    let cents = (m.0.abs() + 5_000) / 10_000;
    let sign = if m.0 < 0 { "-" } else { "" };
    format!("{sign}${}.{:02}", grouped(cents / 100), cents % 100)
}

/// A whole number with thousands commas.
pub(crate) fn grouped(n: impl std::fmt::Display) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Micro-dollars in full, with thousands commas (`$1,234.567890`), as the
/// CSV files have them; `signed` writes a `+` before an amount that is not
/// negative.
pub(crate) fn usd_exact(m: Micros, signed: bool) -> String {
    let sign = match (m.0 < 0, signed) {
        (true, _) => "-",
        (false, true) => "+",
        (false, false) => "",
    };
    let abs = m.0.abs();
    format!("{sign}${}.{:06}", grouped(abs / 1_000_000), abs % 1_000_000)
}

/// A gridline's dollars: whole dollars when the amount is one, else cents.
fn usd_axis(m: Micros) -> String {
    if m.0 % 1_000_000 == 0 {
        format!("${}", grouped(m.0 / 1_000_000))
    } else {
        usd(m)
    }
}

/// A plain decimal amount (`47.545125`) as [`usd`] shows it.
fn usd_text(amount: &str) -> String {
    amount
        .parse::<rust_decimal::Decimal>()
        .map_or_else(|_| esc(amount), |d| usd(Micros::round(d)))
}

/// Micro-dollars as a float, for drawing only (never summed).
fn draw(m: Micros) -> f64 {
    m.0 as f64
}

/// One row of [`hbars`]: a label, a bar from `from` to `to` on the chart's
/// scale, the bar's CSS class, and the text written after it.
pub(crate) struct HBar {
    /// Shown left of the bar, cut to 24 characters and escaped.
    pub label: String,
    /// Where the bar starts.
    pub from: f64,
    /// Where it ends (left of `from` for a negative step).
    pub to: f64,
    /// `bar`, or in a waterfall `up` or `down`.
    pub class: &'static str,
    /// Written right of the bar, as it is (already HTML).
    pub value: String,
}

/// Horizontal bars, one per row, on a scale from `lo` to `hi`. As a
/// waterfall (`links`), a dashed line joins each bar's end to the next
/// bar, and a line marks zero.
pub(crate) fn hbars(items: &[HBar], lo: f64, hi: f64, links: bool) -> String {
    let row_h = 22.0;
    let plot_w = WIDTH - LABEL_W - 90.0;
    let at = |v: f64| LABEL_W + plot_w * (v - lo) / (hi - lo);
    let height = row_h * items.len() as f64 + 10.0;
    let mut svg = format!("<svg viewBox=\"0 0 {WIDTH} {height}\" role=\"img\">");
    if links {
        let _ = write!(
            svg,
            "<line x1=\"{0:.1}\" y1=\"0\" x2=\"{0:.1}\" y2=\"{height}\" class=\"axis\"/>",
            at(0.0)
        );
    }
    for (i, item) in items.iter().enumerate() {
        let y = i as f64 * row_h + 4.0;
        let x = at(item.from.min(item.to));
        let w = plot_w * (item.to - item.from).abs() / (hi - lo);
        let shown: String = item.label.chars().take(24).collect();
        // The bar's x to one place, written shortest: `170`, as the bar
        // charts have always written it.
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" class=\"label\" text-anchor=\"end\">{}</text>\
             <rect x=\"{}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{:.1}\" class=\"{}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"value\">{}</text>",
            LABEL_W - 6.0,
            y + 14.0,
            esc(&shown),
            (x * 10.0).round() / 10.0,
            row_h - 6.0,
            item.class,
            x + w + 6.0,
            y + 14.0,
            item.value
        );
        if let Some(next) = items.get(i + 1).filter(|_| links) {
            let _ = write!(
                svg,
                "<line x1=\"{0:.1}\" y1=\"{1:.1}\" x2=\"{0:.1}\" y2=\"{2:.1}\" class=\"link\"/>",
                at(next.from),
                y + row_h - 6.0,
                y + row_h
            );
        }
    }
    svg + "</svg>"
}

/// A horizontal bar chart of labelled amounts.
/// The bars show each row's spend (billed under a true-up), largest first.
fn bars(title: &str, rows: &[RoundedRow]) -> String {
    let mut all: Vec<(String, Micros)> = rows
        .iter()
        .map(|r| (r.keys[0].clone(), r.spend()))
        .collect();
    all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let rest: Micros = all.iter().skip(BARS).map(|(_, m)| *m).sum();
    let others = all.len().saturating_sub(BARS);
    let mut items: Vec<(String, Micros)> = all.into_iter().take(BARS).collect();
    if others > 0 {
        items.push((format!("{others} others"), rest));
    }
    let max = items.iter().map(|(_, m)| draw(*m)).fold(1.0, f64::max);
    let items: Vec<HBar> = items
        .into_iter()
        .map(|(label, amount)| HBar {
            label,
            from: 0.0,
            to: draw(amount),
            class: "bar",
            value: usd(amount),
        })
        .collect();
    format!("<h2>{}</h2>{}", esc(title), hbars(&items, 0.0, max, false))
}

/// A histogram of run costs with the p99 marked.
fn histogram(costs: &[Micros]) -> String {
    let mut svg = String::from("<h2>Cost per run</h2>");
    if costs.is_empty() {
        return svg + "<p>No attributed runs.</p>";
    }
    let mut sorted = costs.to_vec();
    sorted.sort_unstable();
    let (p50, p99) = (percentile(&sorted, 50), percentile(&sorted, 99));
    let max = draw(*sorted.last().expect("not empty")).max(1.0);
    const BINS: usize = 40;
    let mut counts = [0u64; BINS];
    for c in &sorted {
        let bin = ((draw(*c) / max) * BINS as f64) as usize;
        counts[bin.min(BINS - 1)] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let (height, base, left) = (200.0, 170.0, 40.0);
    let bin_w = (WIDTH - left - 10.0) / BINS as f64;
    let _ = write!(svg, "<svg viewBox=\"0 0 {WIDTH} {height}\" role=\"img\">");
    for (i, n) in counts.iter().enumerate() {
        let h = (base - 10.0) * *n as f64 / top;
        let _ = write!(
            svg,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" class=\"bar\"/>",
            left + i as f64 * bin_w,
            base - h,
            bin_w - 1.0
        );
    }
    let p99x = left + (WIDTH - left - 10.0) * draw(p99) / max;
    let _ = write!(
        svg,
        "<line x1=\"{left}\" y1=\"{base}\" x2=\"{:.1}\" y2=\"{base}\" class=\"axis\"/>\
         <line x1=\"{p99x:.1}\" y1=\"10\" x2=\"{p99x:.1}\" y2=\"{base}\" class=\"p99\"/>\
         <text x=\"{:.1}\" y=\"22\" class=\"p99text\">p99 {}</text>\
         <text x=\"{left}\" y=\"{:.1}\" class=\"label\">$0</text>\
         <text x=\"{:.1}\" y=\"{:.1}\" class=\"label\" text-anchor=\"end\">{}</text>",
        WIDTH - 10.0,
        p99x + 4.0,
        usd(p99),
        base + 16.0,
        WIDTH - 10.0,
        base + 16.0,
        usd(*sorted.last().expect("not empty")),
    );
    let _ = write!(
        svg,
        "</svg><p class=\"note\">{} runs; median {}, p99 {}.</p>",
        sorted.len(),
        usd(p50),
        usd(p99)
    );
    svg
}

/// A line chart's plotting area: `x` runs from 0 at `left` to `x_max` 20
/// units short of the right edge, `y` from 0 at `base` to `y_max` 20 units
/// below the top.
struct Plot {
    left: f64,
    base: f64,
    x_max: f64,
    y_max: f64,
}

impl Plot {
    /// Where a point is drawn.
    fn xy(&self, (x, y): (f64, f64)) -> (f64, f64) {
        (
            self.left + (WIDTH - self.left - 20.0) * x / self.x_max,
            self.base - (self.base - 20.0) * y / self.y_max,
        )
    }

    /// A line through `points`, of CSS class `class`.
    fn line(&self, points: impl IntoIterator<Item = (f64, f64)>, class: &str) -> String {
        let path: Vec<String> = points
            .into_iter()
            .map(|p| {
                let (x, y) = self.xy(p);
                format!("{x:.1},{y:.1}")
            })
            .collect();
        format!(
            "<polyline points=\"{}\" class=\"{class}\"/>",
            path.join(" ")
        )
    }

    /// The x axis, at y = 0.
    fn axis(&self) -> String {
        format!(
            "<line x1=\"{}\" y1=\"{}\" x2=\"{:.1}\" y2=\"{}\" class=\"axis\"/>",
            self.left,
            self.base,
            WIDTH - 10.0,
            self.base
        )
    }
}

/// The per-step curve: mean input tokens per call at each step.
fn step_curve(steps: &[StepRow]) -> String {
    let mut svg = String::from("<h2>Input tokens per call, by step</h2>");
    let points: Vec<(f64, f64)> = steps
        .iter()
        .filter_map(|s| {
            let tokens = s.mean_input_tokens.to_string().parse::<f64>().ok()?;
            Some((f64::from(s.step?) - 1.0, tokens))
        })
        .collect();
    if points.is_empty() {
        return svg + "<p>No attributed calls.</p>";
    }
    let (height, base, left) = (200.0, 170.0, 60.0);
    let last = points.iter().map(|p| p.0 + 1.0).fold(2.0, f64::max);
    let top = points.iter().map(|p| p.1).fold(1.0, f64::max);
    let plot = Plot {
        left,
        base,
        x_max: last - 1.0,
        y_max: top,
    };
    let _ = write!(
        svg,
        "<svg viewBox=\"0 0 {WIDTH} {height}\" role=\"img\">{}{}",
        plot.axis(),
        plot.line(points.iter().copied(), "curve")
    );
    for &p in &points {
        let (x, y) = plot.xy(p);
        let _ = write!(
            svg,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\" class=\"dot\"/>"
        );
    }
    let _ = write!(
        svg,
        "<text x=\"{left}\" y=\"{:.1}\" class=\"label\">step 1</text>\
         <text x=\"{:.1}\" y=\"{:.1}\" class=\"label\" text-anchor=\"end\">step {}</text>\
         <text x=\"{:.1}\" y=\"24\" class=\"label\" text-anchor=\"end\">{:.0}</text>\
         <text x=\"{:.1}\" y=\"{base}\" class=\"label\" text-anchor=\"end\">0</text></svg>",
        base + 16.0,
        WIDTH - 10.0,
        base + 16.0,
        last,
        left - 6.0,
        top,
        left - 6.0,
    );
    svg
}

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
        let mut totals = vec![Micros(0); n];
        let mut values: BTreeMap<&str, Vec<Micros>> = BTreeMap::new();
        for (day, row) in day_rows(report) {
            let Some(i) = usize::try_from((day - first).num_days())
                .ok()
                .filter(|&i| i < n)
            else {
                continue;
            };
            totals[i].0 += row.cost_usd.0;
            values
                .entry(&row.keys[1])
                .or_insert_with(|| vec![Micros(0); n])[i]
                .0 += row.cost_usd.0;
        }
        let mut top: Vec<(String, Vec<Micros>)> = values
            .into_iter()
            .map(|(value, costs)| (value.to_string(), costs))
            .collect();
        let month = |costs: &[Micros]| costs.iter().copied().sum::<Micros>();
        top.sort_by(|a, b| month(&b.1).cmp(&month(&a.1)).then_with(|| a.0.cmp(&b.0)));
        top.truncate(DAILY_LINES);
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

/// The month's cost per day: one bar per day of the range for the total
/// (the tenant rows of each day), and lines for the costliest tenants
/// (solid) and features (dashed). Always computed cost: the billed total of
/// a true-up is not known per day, which `trued_up` makes the caption say.
fn daily_curve(days: &[Report], range: Option<(NaiveDate, NaiveDate)>, trued_up: bool) -> String {
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
    let (height, base, left) = (230.0, 200.0, 60.0);
    let plot = Plot {
        left,
        base,
        x_max: n as f64,
        y_max: (gridlines * step) as f64,
    };
    let _ = write!(html, "<svg viewBox=\"0 0 {WIDTH} {height}\" role=\"img\">");
    for k in 1..=gridlines {
        let amount = Micros(k * step);
        let (_, y) = plot.xy((0.0, draw(amount)));
        let _ = write!(
            html,
            "<line x1=\"{left}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" class=\"gridline\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"label\" text-anchor=\"end\">{}</text>",
            WIDTH - 10.0,
            left - 6.0,
            y + 4.0,
            usd_axis(amount)
        );
    }
    let _ = write!(
        html,
        "<text x=\"{:.1}\" y=\"{:.1}\" class=\"label\" text-anchor=\"end\">$0</text>",
        left - 6.0,
        base + 4.0
    );
    for (i, total) in by_tenant.totals.iter().enumerate() {
        let (x0, y) = plot.xy((i as f64 + 0.15, draw(*total)));
        let (x1, _) = plot.xy((i as f64 + 0.85, 0.0));
        let day = first + chrono::Days::new(i as u64);
        let _ = write!(
            html,
            "<rect x=\"{x0:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" class=\"day\">\
             <title>{day}: {}</title></rect>",
            x1 - x0,
            base - y,
            usd(*total)
        );
    }
    let lines: Vec<(&str, &(String, Vec<Micros>))> = by_tenant
        .top
        .iter()
        .map(|t| ("tenant", t))
        .chain(by_feature.top.iter().map(|f| ("feature", f)))
        .collect();
    let class = |i: usize, dimension: &str| {
        let dash = if dimension == "feature" { " dash" } else { "" };
        format!("s{i}{dash}")
    };
    for (i, (dimension, (_, costs))) in lines.iter().enumerate() {
        let points = costs
            .iter()
            .enumerate()
            .map(|(d, m)| (d as f64 + 0.5, draw(*m)));
        html += &plot.line(points, &format!("line {}", class(i, dimension)));
    }
    html += &plot.axis();
    for i in (0..n).step_by(7) {
        let (x, _) = plot.xy((i as f64 + 0.5, 0.0));
        let day = first + chrono::Days::new(i as u64);
        let _ = write!(
            html,
            "<text x=\"{x:.1}\" y=\"{:.1}\" class=\"label\" text-anchor=\"middle\">{}</text>",
            base + 16.0,
            day.format("%b %-d")
        );
    }
    html += "</svg><p class=\"legend\"><span><span class=\"key total\"></span>all</span>";
    for (i, (dimension, (value, _))) in lines.iter().enumerate() {
        let shown: String = value.chars().take(24).collect();
        let _ = write!(
            html,
            " <span><span class=\"key {}\"></span>{dimension} {}</span>",
            class(i, dimension),
            esc(&shown)
        );
    }
    let _ = write!(
        html,
        "</p><p class=\"note\">Bars: each UTC day's total, {first} to {last}; lines: the top \
         tenants (solid) and features (dashed) by the month's cost.{}</p>",
        if trued_up {
            " All amounts are computed cost, before the invoice true-up: \
             the billed total is not split by day."
        } else {
            ""
        }
    );
    html
}

/// The reconciliation line: computed against invoiced usage, and the
/// invoice's total after credits, tax and adjustments.
fn reconciliation_line(s: &Summary) -> String {
    match &s.reconciliation {
        None => "<span class=\"muted\">no invoice given</span>".to_string(),
        Some(r) => format!(
            "<span class=\"{}\">{}</span>: computed usage {} against {} invoiced (Δ {}); \
             credits, tax and adjustments {}; invoice total {}",
            if r.status == "ok" { "ok" } else { "drift" },
            if r.status == "ok" {
                "within tolerance"
            } else {
                "drift"
            },
            usd_text(&r.computed_usage_usd),
            usd_text(&r.invoiced_usage_usd),
            esc(&r.delta_usd),
            usd_text(&r.credits_tax_adjustments_usd),
            usd_text(&r.invoice_total_usd),
        ),
    }
}

/// The budgets as a table, with what their spend is.
fn budget_table(rows: &[BudgetRow], basis: &str) -> String {
    let mut html = format!(
        "<h2>Budgets ({basis} cost)</h2><table><tr><th>budget</th><th>spend</th><th>of</th>\
         <th>used</th><th>status</th></tr>"
    );
    for r in rows {
        let _ = write!(
            html,
            "<tr><td>{} {}</td><td>{}</td><td>{}</td><td>{} %</td><td class=\"{}\">{}</td></tr>",
            esc(r.budget.dimension.name()),
            esc(&r.budget.key),
            usd(r.spend),
            usd(Micros::round(r.budget.usd)),
            r.pct_used,
            match r.status.as_str() {
                "over" => "drift",
                "warn" => "warn",
                _ => "ok",
            },
            r.status.as_str()
        );
    }
    html + "</table>"
}

/// The whole page.
pub fn report_html(page: &Page) -> String {
    let s = page.summary;
    let computed = s.totals.cost.get("cost_usd").cloned().unwrap_or_default();
    let (headline, basis) = match page.billed_total {
        Some(billed) => (usd(billed), "billed"),
        None => (usd_text(&computed), "computed"),
    };
    let headline_note = match page.billed_total {
        Some(_) => format!(
            "billed cost (trued up to the invoice; computed {})",
            usd_text(&computed)
        ),
        None => "computed cost".to_string(),
    };
    let c = &s.counts;
    let matched = crate::money::ratio(c.matched.into(), c.usage_records.into(), 100, 1)
        .map_or_else(|| "-".to_string(), |r| format!("{r}"));
    let period = s.period.clone().unwrap_or_else(|| "all usage".to_string());
    let title = |what: &str| {
        format!(
            "{} cost by {what}",
            if basis == "billed" {
                "Billed"
            } else {
                "Computed"
            }
        )
    };
    let cards = [
        card(&headline, &headline_note),
        card(&grouped(c.usage_records), "billed requests"),
        card(&format!("{matched} %"), "attributed to a run"),
        card(&grouped(page.run_costs.len()), "runs"),
    ];
    let body = format!(
        "<h1>LLM spend, {period}</h1><div class=\"cards\">{}</div>\
         <p>Reconciliation: {}</p><div class=\"grid\"><div>{}</div><div>{}</div><div>{}</div>\
         <div>{}</div><div>{}</div><div>{}</div><div>{}</div></div>\
         <p class=\"note\">tokenledger {} · pricing {} ({})</p>",
        cards.concat(),
        reconciliation_line(s),
        daily_curve(page.days, page.day_range, page.billed_total.is_some()),
        bars(&title("tenant"), page.tenants),
        bars(&title("feature"), page.features),
        bars(&title("model"), page.models),
        page.budgets
            .map_or_else(String::new, |b| budget_table(b, basis)),
        histogram(&page.run_costs),
        step_curve(page.steps),
        s.tokenledger_version,
        esc(&s.pricing.version),
        esc(&s.pricing.source),
        period = esc(&period),
    );
    html_page(&format!("tokenledger: {period}"), "", &body)
}

/// One card of a page's headline row: a big figure and what it is (both
/// HTML).
pub(crate) fn card(big: &str, what: &str) -> String {
    format!("<div class=\"card\"><div class=\"big\">{big}</div>{what}</div>")
}

/// A whole page: its `title` (escaped here), the shared style and `style`,
/// and its `body` (HTML).
pub(crate) fn html_page(title: &str, style: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}{style}</style></head><body>{body}</body></html>\n",
        esc(title)
    )
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2430;background:#fff}\
h1{font-size:22px;margin:0 0 12px}h2{font-size:15px;margin:18px 0 6px}\
.cards{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:8px}.card{border:1px solid #d6dbe3;border-radius:6px;padding:10px 14px;min-width:150px;color:#5a6473}\
.big{font-size:20px;color:#1d2430;font-weight:600}.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,420px),1fr));gap:8px 24px;max-width:1240px}svg{width:100%;height:auto;max-width:620px}\
table{border-collapse:collapse;font-size:12px}td,th{padding:3px 8px;border-bottom:1px solid #e3e7ed;text-align:left}.warn{color:#b9770e;font-weight:600}\
.bar{fill:#3f6fb5}.label{font-size:11px;fill:#3a4350}.value{font-size:11px;fill:#1d2430}\
.axis{stroke:#8a93a0}.p99{stroke:#c0392b;stroke-width:2;stroke-dasharray:4 3}.p99text{font-size:11px;fill:#c0392b}\
.curve{fill:none;stroke:#3f6fb5;stroke-width:2}.dot{fill:#3f6fb5}\
.gridline{stroke:#e3e7ed}.day{fill:#c9d7ee}.line{fill:none;stroke:currentColor;stroke-width:1.5}.line.dash{stroke-dasharray:5 3}\
.s0{color:#c0392b}.s1{color:#1e7b34}.s2{color:#b9770e}.s3{color:#6c3fb5}.s4{color:#0f8b8d}.s5{color:#5a6473}\
.legend{font-size:12px;margin:2px 0}.legend>span{white-space:nowrap}.key{display:inline-block;width:18px;border-top:2px solid currentColor;vertical-align:middle;margin:0 4px 0 12px}\
.key.dash{border-top-style:dashed}.key.total{border-top:8px solid #c9d7ee;margin-left:0}\
.ok{color:#1e7b34;font-weight:600}.drift{color:#c0392b;font-weight:600}.muted,.note{color:#6b7480;font-size:12px}";

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
        assert_eq!(usd_axis(Micros(500_000)), "$0.50");
        assert_eq!(usd_axis(Micros(50_000_000_000)), "$50,000");
    }

    #[test]
    fn exact_amounts_keep_every_micro_dollar() {
        assert_eq!(usd_exact(Micros(6_000_000), false), "$6.000000");
        assert_eq!(usd_exact(Micros(-16_000), true), "-$0.016000");
        assert_eq!(usd_exact(Micros(0), true), "+$0.000000");
        assert_eq!(
            usd_exact(Micros(1_234_567_890_123), true),
            "+$1,234,567.890123"
        );
    }
}
