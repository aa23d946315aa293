//! `report.html`: the month on one page. A single self-contained file: inline
//! CSS and SVG, no script, no font or image fetched from anywhere.

use std::fmt::Write;

use crate::answers::budget::BudgetRow;
use crate::answers::percentile;
use crate::answers::steps::StepRow;
use crate::ledger::RoundedRow;
use crate::money::Micros;
use crate::summary::Summary;

/// How many rows a bar chart shows before folding the rest into one bar.
const BARS: usize = 12;
/// Chart width in SVG units.
const WIDTH: f64 = 560.0;

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
}

/// Escape text for HTML.
fn esc(text: &str) -> String {
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
fn grouped(n: impl std::fmt::Display) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
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
    let (row_h, label_w) = (22.0, 170.0);
    let height = row_h * items.len() as f64 + 10.0;
    let mut svg = format!(
        "<h2>{}</h2><svg viewBox=\"0 0 {WIDTH} {height}\" role=\"img\">",
        esc(title)
    );
    for (i, (label, amount)) in items.iter().enumerate() {
        let y = i as f64 * row_h + 4.0;
        let w = (WIDTH - label_w - 90.0) * draw(*amount) / max;
        let shown: String = label.chars().take(24).collect();
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" class=\"label\" text-anchor=\"end\">{}</text>\
             <rect x=\"{label_w}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{:.1}\" class=\"bar\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"value\">{}</text>",
            label_w - 6.0,
            y + 14.0,
            esc(&shown),
            row_h - 6.0,
            label_w + w + 6.0,
            y + 14.0,
            usd(*amount)
        );
    }
    svg + "</svg>"
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

/// The per-step curve: mean input tokens per call at each step.
fn step_curve(steps: &[StepRow]) -> String {
    let mut svg = String::from("<h2>Input tokens per call, by step</h2>");
    let points: Vec<(u32, f64)> = steps
        .iter()
        .filter_map(|s| {
            let tokens = s.mean_input_tokens.to_string().parse::<f64>().ok()?;
            Some((s.step?, tokens))
        })
        .collect();
    if points.is_empty() {
        return svg + "<p>No attributed calls.</p>";
    }
    let (height, base, left) = (200.0, 170.0, 60.0);
    let last = points.iter().map(|p| p.0).max().unwrap_or(1).max(2) as f64;
    let top = points.iter().map(|p| p.1).fold(1.0, f64::max);
    let xy = |(step, tokens): (u32, f64)| {
        (
            left + (WIDTH - left - 20.0) * (f64::from(step) - 1.0) / (last - 1.0),
            base - (base - 20.0) * tokens / top,
        )
    };
    let path: Vec<String> = points
        .iter()
        .map(|&p| {
            let (x, y) = xy(p);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let _ = write!(
        svg,
        "<svg viewBox=\"0 0 {WIDTH} {height}\" role=\"img\">\
         <line x1=\"{left}\" y1=\"{base}\" x2=\"{:.1}\" y2=\"{base}\" class=\"axis\"/>\
         <polyline points=\"{}\" class=\"curve\"/>",
        WIDTH - 10.0,
        path.join(" ")
    );
    for &p in &points {
        let (x, y) = xy(p);
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
            esc(&r.budget.dimension),
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
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>tokenledger: {period}</title><style>{STYLE}</style></head><body>\
         <h1>LLM spend, {period}</h1>\
         <div class=\"cards\">\
         <div class=\"card\"><div class=\"big\">{headline}</div>{headline_note}</div>\
         <div class=\"card\"><div class=\"big\">{}</div>billed requests</div>\
         <div class=\"card\"><div class=\"big\">{matched} %</div>attributed to a run</div>\
         <div class=\"card\"><div class=\"big\">{}</div>runs</div></div>\
         <p>Reconciliation: {}</p><div class=\"grid\"><div>{}</div><div>{}</div>\
         <div>{}</div><div>{}</div><div>{}</div><div>{}</div></div>\
         <p class=\"note\">tokenledger {} · pricing {} ({})</p></body></html>\n",
        grouped(c.usage_records),
        grouped(page.run_costs.len()),
        reconciliation_line(s),
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
    html
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2430;background:#fff}\
h1{font-size:22px;margin:0 0 12px}h2{font-size:15px;margin:18px 0 6px}\
.cards{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:8px}.card{border:1px solid #d6dbe3;border-radius:6px;padding:10px 14px;min-width:150px;color:#5a6473}\
.big{font-size:20px;color:#1d2430;font-weight:600}.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,420px),1fr));gap:8px 24px;max-width:1240px}svg{width:100%;height:auto;max-width:620px}\
table{border-collapse:collapse;font-size:12px}td,th{padding:3px 8px;border-bottom:1px solid #e3e7ed;text-align:left}.warn{color:#b9770e;font-weight:600}\
.bar{fill:#3f6fb5}.label{font-size:11px;fill:#3a4350}.value{font-size:11px;fill:#1d2430}\
.axis{stroke:#8a93a0}.p99{stroke:#c0392b;stroke-width:2;stroke-dasharray:4 3}.p99text{font-size:11px;fill:#c0392b}\
.curve{fill:none;stroke:#3f6fb5;stroke-width:2}.dot{fill:#3f6fb5}\
.ok{color:#1e7b34;font-weight:600}.drift{color:#c0392b;font-weight:600}.muted,.note{color:#6b7480;font-size:12px}";
