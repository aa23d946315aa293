//! `report.html`: the month on one page. A single self-contained file: inline
//! CSS and SVG, no script, no font or image fetched from anywhere.
//!
//! `charts` draws bars, the histogram and the step curve; `daily` the cost
//! per day with its marks; `so_far` the month-to-date panel of `--as-of`.

use std::fmt::Write;

use chrono::NaiveDate;

mod charts;
mod daily;
mod so_far;

pub(crate) use charts::{hbars, HBar};
pub use daily::Marks;

use crate::answers::budget::BudgetRow;
use crate::answers::forecast::Forecast;
use crate::answers::steps::StepRow;
use crate::ledger::{Report, RoundedRow};
use crate::money::{grouped, Micros};
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
    /// What they judge: `allocated`, `billed` or `computed` cost.
    pub budget_basis: &'a str,
    /// The billed (trued-up) total, under `--true-up`: the page's amounts
    /// are then billed amounts, and say so.
    pub billed_total: Option<Micros>,
    /// Every run's cost, the least first.
    pub run_costs: &'a [Micros],
    /// `by_step.csv`'s rows.
    pub steps: &'a [StepRow],
    /// `by_day.csv`'s reports: per dimension, rows keyed by day and value.
    pub days: &'a [Report],
    /// The month's days, first and last (none without usage or period).
    pub day_range: Option<(NaiveDate, NaiveDate)>,
    /// What the daily chart marks.
    pub marks: Marks<'a>,
    /// Under `--as-of`: the day, and every value's forecast.
    pub so_far: Option<(NaiveDate, &'a [Forecast])>,
}

/// Escape text for HTML. A control character other than a tab or a line
/// end (NUL, ESC, from a span's names) is no text HTML may hold, and a
/// bidirectional override, embedding or isolate would turn the rest of
/// its line (the dollar amounts after a name) right to left: each is
/// shown as the replacement character.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{fffd}'),
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// The most characters a chart label shows.
const LABEL_CHARS: usize = 24;

/// A chart label as SVG text content, escaped: cut to [`LABEL_CHARS`] with
/// an ellipsis, the whole label in a `<title>` (shown on hover), so two
/// labels alike in their first characters are never shown as one.
pub(crate) fn svg_label(label: &str) -> String {
    match cut(label) {
        Some(shown) => format!("<title>{}</title>{}", esc(label), esc(&shown)),
        None => esc(label),
    }
}

/// [`svg_label`] for HTML: a span with the whole label as its title.
pub(crate) fn html_label(label: &str) -> String {
    match cut(label) {
        Some(shown) => format!("<span title=\"{}\">{}</span>", esc(label), esc(&shown)),
        None => esc(label),
    }
}

/// `label` cut to [`LABEL_CHARS`], its last an ellipsis, if longer.
fn cut(label: &str) -> Option<String> {
    (label.chars().count() > LABEL_CHARS).then(|| {
        let mut shown: String = label.chars().take(LABEL_CHARS - 1).collect();
        shown.push('…');
        shown
    })
}

/// Dollars for display: two places, with thousands commas.
fn usd(m: Micros) -> String {
    m.dollars()
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

/// The page's total, what it is (`allocated`, `billed` or `computed`, as
/// its bars show) and the note under it.
fn headline(page: &Page) -> (String, &'static str, String) {
    let computed = page.summary.totals.cost.get("cost_usd").cloned();
    let computed = usd_text(&computed.unwrap_or_default());
    let (headline, basis, note) = match page.billed_total {
        Some(billed) => {
            let note = format!("billed cost (trued up to the invoice; computed {computed})");
            (usd(billed), "billed", note)
        }
        None => (computed, "computed", "computed cost".to_string()),
    };
    // Under --allocation the bars show what each owner owns of the bill.
    if !page.tenants.iter().any(|r| r.allocated().is_some()) {
        return (headline, basis, note);
    }
    let owned: Micros = page.tenants.iter().map(charts::shown).sum();
    let whole = match page.summary.allocation.as_ref().map(|a| a.basis) {
        Some("invoice") => "the bill",
        _ => "the usage",
    };
    let note =
        format!("allocated cost: {whole}, owned by spans, rules and splits ({basis} {headline})");
    (usd(owned), "allocated", note)
}

/// The whole page.
pub fn report_html(page: &Page) -> String {
    let s = page.summary;
    let (headline, basis, headline_note) = headline(page);
    let c = &s.counts;
    let matched = crate::money::ratio(c.matched.into(), c.usage_records.into(), 100, 1)
        .map_or_else(|| "-".to_string(), |r| format!("{r}"));
    let period = s.period.clone().unwrap_or_else(|| "all usage".to_string());
    let title = |what: &str| {
        format!(
            "{} cost by {what}",
            match basis {
                "allocated" => "Allocated",
                "billed" => "Billed",
                _ => "Computed",
            }
        )
    };
    let cards = [
        card(&headline, &headline_note),
        card(&grouped(c.usage_records), "billed requests"),
        card(&format!("{matched} %"), "attributed to a run"),
        card(&grouped(page.run_costs.len()), "runs"),
    ];
    let so_far = page
        .so_far
        .map_or_else(String::new, |(as_of, f)| so_far::so_far(as_of, f));
    let daily = daily::daily_curve(
        page.days,
        page.day_range,
        page.billed_total.is_some(),
        &page.marks,
    );
    // The panel's and the marks' style, only on a page that shows them.
    let style = match page.so_far.is_none() && page.marks.is_empty() {
        true => "",
        false => so_far::STYLE,
    };
    let body = format!(
        "<h1>LLM spend, {period}</h1><div class=\"cards\">{}</div>\
         <p>Reconciliation: {}</p>{so_far}<div class=\"grid\"><div>{}</div><div>{}</div><div>{}</div>\
         <div>{}</div><div>{}</div><div>{}</div><div>{}</div></div>\
         <p class=\"note\">tokenledger {} · pricing {} ({})</p>",
        cards.concat(),
        reconciliation_line(s),
        daily,
        charts::bars(&title("tenant"), page.tenants),
        charts::bars(&title("feature"), page.features),
        charts::bars(&title("model"), page.models),
        page.budgets
            .map_or_else(String::new, |b| budget_table(b, page.budget_basis)),
        charts::histogram(page.run_costs),
        charts::step_curve(page.steps),
        s.tokenledger_version,
        esc(&s.pricing.version),
        esc(&s.pricing.source),
        period = esc(&period),
    );
    html_page(&format!("tokenledger: {period}"), style, &body)
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
    fn exact_amounts_keep_every_micro_dollar() {
        assert_eq!(usd_exact(Micros(6_000_000), false), "$6.000000");
        assert_eq!(usd_exact(Micros(-16_000), true), "-$0.016000");
        assert_eq!(usd_exact(Micros(0), true), "+$0.000000");
        assert_eq!(
            usd_exact(Micros(1_234_567_890_123), true),
            "+$1,234,567.890123"
        );
    }

    #[test]
    fn names_are_escaped_and_control_characters_never_reach_the_page() {
        assert_eq!(esc("a<b>&\"c\""), "a&lt;b&gt;&amp;&quot;c&quot;");
        assert_eq!(esc("t\0x\u{1b}[2J\u{85}"), "t\u{fffd}x\u{fffd}[2J\u{fffd}");
        assert_eq!(esc("a\tb\nc"), "a\tb\nc");
        // A right-to-left override would reverse the amounts after a name.
        assert_eq!(esc("\u{202e}acme \u{2067}x"), "\u{fffd}acme \u{fffd}x");
        assert_eq!(esc("شركة"), "شركة");
    }

    #[test]
    fn a_long_label_is_cut_with_an_ellipsis_and_whole_on_hover() {
        assert_eq!(
            svg_label("customer-enterprise-0001"),
            "customer-enterprise-0001"
        );
        assert_eq!(
            svg_label("customer-enterprise-0001-a"),
            "<title>customer-enterprise-0001-a</title>customer-enterprise-000…"
        );
        assert_eq!(
            html_label("<tenant>-with-a-long-name-b"),
            "<span title=\"&lt;tenant&gt;-with-a-long-name-b\">&lt;tenant&gt;-with-a-long-na…</span>"
        );
    }
}
