//! The human summary printed after a run, and `summary.json` as written.

use rust_decimal::Decimal;

use crate::error::{Error, Result};
use crate::ledger::{RoundedRow, COST_COLUMNS};
use crate::money::{ratio, Micros};
use crate::summary::Summary;
use crate::terminal::escape;

/// The human summary: totals, coverage, top tenants and features, with
/// every name escaped for the terminal.
pub fn terminal_summary(
    summary: &Summary,
    tenants: &[RoundedRow],
    features: &[RoundedRow],
) -> String {
    let c = &summary.counts;
    let mut out = format!(
        "tokenledger: {} usage records{}, priced with {} (version {}){}\n",
        c.usage_records,
        summary
            .period
            .as_ref()
            .map_or(String::new(), |p| format!(" in {p}")),
        escape(&summary.pricing.source),
        escape(&summary.pricing.version),
        summary
            .config
            .as_ref()
            .map_or(String::new(), |c| format!("; defaults from {}", escape(c)))
    );
    out.push_str(&totals_grid(summary));
    if !summary.unattributed_labels.is_empty() {
        let labels: Vec<String> = summary
            .unattributed_labels
            .iter()
            .map(|l| format!("{} ${}", escape(&l.label), l.usd))
            .collect();
        out.push_str(&format!(
            "unattributed cost by label: {}\n",
            labels.join(", ")
        ));
    }
    out.push_str(&not_read(summary));
    for (title, rows) in [("tenant", tenants), ("feature", features)] {
        out.push_str(&top_grid(title, rows));
    }
    out
}

/// The files of walked input directories left unread, the first three
/// named (all of them are in `summary.json`'s `skipped_files`).
pub fn not_read(summary: &Summary) -> String {
    let files = &summary.skipped_files;
    if files.is_empty() {
        return String::new();
    }
    let named: Vec<String> = files
        .iter()
        .take(3)
        .map(|f| {
            format!(
                "{} ({})",
                escape(&f.path.display().to_string()),
                escape(&f.why)
            )
        })
        .collect();
    let more = match files.len() {
        n if n > 3 => format!(" and {} more", n - 3),
        _ => String::new(),
    };
    format!(
        "not read: {} file(s) of the input directories: {}{more} (summary.json: skipped_files)\n",
        files.len(),
        named.join(", ")
    )
}

/// The totals and counts as a table.
fn totals_grid(summary: &Summary) -> String {
    use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, Table as Grid};
    let (c, t) = (&summary.counts, &summary.totals);
    let pct = |part: u64, whole: u64| {
        ratio(Decimal::from(part), Decimal::from(whole), 100, 1)
            .map_or("-".to_string(), |r| format!("{r:.1} %"))
    };
    let mut grid = Grid::new();
    grid.load_preset(UTF8_FULL_CONDENSED)
        .set_header(["total", "value"]);
    for (name, value) in [
        (
            "cost_usd",
            t.cost.get("cost_usd").cloned().unwrap_or_default(),
        ),
        ("requests", t.requests.to_string()),
        (
            "matched to spans",
            format!("{} ({})", c.matched, pct(c.matched, c.usage_records)),
        ),
        ("unattributed records", c.unattributed.to_string()),
        ("unbilled calls", c.unbilled_calls.to_string()),
        ("out of period", c.out_of_period.to_string()),
        ("skipped (lenient)", c.skipped.to_string()),
    ] {
        grid.add_row([
            Cell::new(name),
            Cell::new(value).set_alignment(CellAlignment::Right),
        ]);
    }
    // Exact repeats dropped (a file given twice, a re-sent export): said,
    // since a copy that doubled nothing still means an input to look at.
    if c.duplicate_usage_records > 0 {
        let cell = Cell::new(c.duplicate_usage_records).set_alignment(CellAlignment::Right);
        grid.add_row([Cell::new("duplicates dropped"), cell]);
    }
    if let Some(reported) = &t.reported_cost_usd {
        let cell = Cell::new(reported).set_alignment(CellAlignment::Right);
        grid.add_row([Cell::new("reported by source"), cell]);
    }
    for column in COST_COLUMNS {
        let Some(value) = t.cost.get(column) else {
            continue;
        };
        grid.add_row([
            Cell::new(column),
            Cell::new(value).set_alignment(CellAlignment::Right),
        ]);
    }
    grid.to_string() + "\n"
}

/// A dimension's five costliest values with their share.
fn top_grid(title: &str, rows: &[RoundedRow]) -> String {
    use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, Table as Grid};
    let mut grid = Grid::new();
    grid.load_preset(UTF8_FULL_CONDENSED).set_header([
        format!("top {title}"),
        "cost_usd".into(),
        "share".into(),
    ]);
    let whole: Micros = rows.iter().map(|r| r.cost_usd()).sum();
    for row in rows.iter().take(5) {
        let share = ratio(row.cost_usd().to_decimal(), whole.to_decimal(), 100, 1)
            .map_or("-".into(), |r| format!("{r:.1} %"));
        grid.add_row([
            Cell::new(escape(&row.keys[0])),
            Cell::new(row.cost_usd()).set_alignment(CellAlignment::Right),
            Cell::new(share).set_alignment(CellAlignment::Right),
        ]);
    }
    grid.to_string() + "\n"
}

/// `summary.json` as written: pretty JSON and a final newline.
pub fn summary_json(summary: &Summary) -> Result<Vec<u8>> {
    let mut json = serde_json::to_vec_pretty(summary).map_err(|e| Error::fatal(e.to_string()))?;
    json.push(b'\n');
    Ok(json)
}
