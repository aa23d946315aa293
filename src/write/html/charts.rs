//! The page's charts: horizontal bars, the run-cost histogram and the
//! per-step curve, on a shared plotting area.

use std::fmt::Write;

use super::{esc, svg_label, usd, BARS, LABEL_W, WIDTH};
use crate::answers::percentile;
use crate::answers::steps::StepRow;
use crate::ledger::RoundedRow;
use crate::money::Micros;

/// One row of [`hbars`]: a label, a bar from `from` to `to` on the chart's
/// scale, the bar's CSS class, and the text written after it.
pub(crate) struct HBar {
    /// Shown left of the bar, cut to 24 characters (the whole on hover)
    /// and escaped.
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
        // The bar's x to one place, written shortest: `170`, as the bar
        // charts have always written it.
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" class=\"label\" text-anchor=\"end\">{}</text>\
             <rect x=\"{}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{:.1}\" class=\"{}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"value\">{}</text>",
            LABEL_W - 6.0,
            y + 14.0,
            svg_label(&item.label),
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

/// What a row's bar shows: its allocated cost under `--allocation` (what
/// `allocated_usd` says it owns of the bill), else its spend (billed under
/// a true-up, else computed).
pub(super) fn shown(row: &RoundedRow) -> Micros {
    row.allocated().unwrap_or_else(|| row.spend())
}

/// A horizontal bar chart of labelled amounts, each row's [`shown`]
/// amount, largest first.
pub(super) fn bars(title: &str, rows: &[RoundedRow]) -> String {
    let mut all: Vec<(String, Micros)> = rows
        .iter()
        .map(|r| (r.keys[0].to_string(), shown(r)))
        .collect();
    all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let rest: Micros = all.iter().skip(BARS).map(|(_, m)| *m).sum();
    let others = all.len().saturating_sub(BARS);
    let mut items: Vec<(String, Micros)> = all.into_iter().take(BARS).collect();
    if others > 0 {
        items.push((format!("{others} others"), rest));
    }
    let max = items.iter().map(|(_, m)| m.drawn()).fold(1.0, f64::max);
    let items: Vec<HBar> = items
        .into_iter()
        .map(|(label, amount)| HBar {
            label,
            from: 0.0,
            to: amount.drawn(),
            class: "bar",
            value: usd(amount),
        })
        .collect();
    format!("<h2>{}</h2>{}", esc(title), hbars(&items, 0.0, max, false))
}

/// A histogram of run costs with the p99 marked (costs given the least
/// first are read in place, others sorted in a copy).
pub(super) fn histogram(costs: &[Micros]) -> String {
    let mut svg = String::from("<h2>Cost per run</h2>");
    if costs.is_empty() {
        return svg + "<p>No attributed runs.</p>";
    }
    let copy;
    let sorted = match costs.is_sorted() {
        true => costs,
        false => {
            copy = {
                let mut copy = costs.to_vec();
                copy.sort_unstable();
                copy
            };
            &copy
        }
    };
    let (p50, p99) = (percentile(sorted, 50), percentile(sorted, 99));
    let max = sorted.last().expect("not empty").drawn().max(1.0);
    const BINS: usize = 40;
    let mut counts = [0u64; BINS];
    for c in sorted {
        let bin = ((c.drawn() / max) * BINS as f64) as usize;
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
    let p99x = left + (WIDTH - left - 10.0) * p99.drawn() / max;
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
pub(super) struct Plot {
    pub left: f64,
    pub base: f64,
    pub x_max: f64,
    pub y_max: f64,
}

impl Plot {
    /// Where a point is drawn.
    pub fn xy(&self, (x, y): (f64, f64)) -> (f64, f64) {
        (
            self.left + (WIDTH - self.left - 20.0) * x / self.x_max,
            self.base - (self.base - 20.0) * y / self.y_max,
        )
    }

    /// A line through `points`, of CSS class `class`.
    pub fn line(&self, points: impl IntoIterator<Item = (f64, f64)>, class: &str) -> String {
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
    pub fn axis(&self) -> String {
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
pub(super) fn step_curve(steps: &[StepRow]) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_reads_costs_in_any_order_alike() {
        let costs: Vec<Micros> = (0..1_000).map(|i| Micros(i * i % 7_919)).collect();
        let mut sorted = costs.clone();
        sorted.sort_unstable();
        let chart = histogram(&sorted);
        assert!(chart.contains("<svg"));
        assert_eq!(histogram(&costs), chart);
        sorted.reverse();
        assert_eq!(histogram(&sorted), chart);
    }
}
