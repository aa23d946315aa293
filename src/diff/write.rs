//! `tokenledger diff`'s outputs: `diff_by_<dimension>.csv`, `diff.html`
//! and the terminal answer (total before → after, price and volume, the
//! top drivers, what is new and gone, and the current month's step
//! changes).

use std::fmt::Write;

use super::{Diff, DiffRow, Status, StepChange, DIMENSIONS};
use crate::money::Micros;
use crate::terminal::escape;
use crate::write::html::{card, esc, hbars, html_page, usd_exact, HBar};
use crate::write::CsvOut;

/// `diff_by_<dimension>.csv` for the dimension at `index` of [`DIMENSIONS`].
pub fn diff_csv(w: &mut CsvOut, diff: &Diff, index: usize) -> csv::Result<()> {
    w.row([
        DIMENSIONS[index],
        "prev_usd",
        "cur_usd",
        "delta_usd",
        "delta_pct",
        "price_effect_usd",
        "volume_effect_usd",
        "status",
    ])?;
    for row in &diff.dimensions[index] {
        w.row([
            row.value.clone(),
            row.prev.to_string(),
            row.cur.to_string(),
            row.delta().to_string(),
            row.delta_pct()
                .map_or_else(String::new, |p| format!("{p:.1}")),
            row.price().to_string(),
            row.volume().to_string(),
            row.status.as_str().to_string(),
        ])?;
    }
    Ok(())
}

/// An amount with its sign: `+$1.250000`, `-$0.300000`.
pub fn signed(amount: Micros) -> String {
    if amount.0 < 0 {
        format!("-${}", Micros(-amount.0))
    } else {
        format!("+${amount}")
    }
}

/// How many drivers of each dimension the terminal lists.
const DRIVERS: usize = 2;

/// How many new (and gone) values the terminal lists.
const TOP: usize = 6;

/// One step change as the terminal says it.
fn step_change(c: &StepChange) -> String {
    let (dimension, value) = (escape(&c.dimension), escape(&c.value));
    let levels = format!(
        "${}/day → ${}/day",
        escape(&c.before_daily_usd),
        escape(&c.after_daily_usd)
    );
    match c.factor.as_str() {
        "" => format!(
            "{dimension} {value} {} on {} ({levels})",
            escape(&c.kind),
            escape(&c.first_day)
        ),
        factor => format!(
            "{dimension} {value} {} ×{} from {} ({levels})",
            escape(&c.kind),
            escape(factor),
            escape(&c.first_day)
        ),
    }
}

/// The terminal answer.
pub fn terminal(diff: &Diff) -> String {
    let t = &diff.total;
    let pct = t
        .delta_pct()
        .map_or_else(String::new, |p| format!(", {p:+.1} %"));
    let mut text = format!(
        "{} → {}: ${} → ${} ({}{pct})\n  price effect  {} ({} usage at the rates of {})\n  volume effect {}\n",
        diff.prev_month,
        diff.cur_month,
        t.prev,
        t.cur,
        signed(t.delta()),
        signed(t.price()),
        diff.cur_month,
        diff.rates_on,
        signed(t.volume()),
    );
    let drivers: Vec<(&str, &DiffRow)> = DIMENSIONS
        .iter()
        .zip(&diff.dimensions)
        .flat_map(|(d, rows)| {
            // Rows are sorted by the size of their change.
            let moved = rows.iter().filter(|r| r.delta().0 != 0);
            moved.take(DRIVERS).map(move |r| (*d, r))
        })
        .collect();
    if !drivers.is_empty() {
        text += "top drivers:\n";
    }
    for (dimension, row) in drivers {
        text += &format!(
            "  {dimension} {} {}: volume {}, price {}\n",
            escape(&row.value),
            signed(row.delta()),
            signed(row.volume()),
            signed(row.price())
        );
    }
    for (status, word) in [(Status::New, "new"), (Status::Gone, "gone")] {
        let mut listed: Vec<(&str, &DiffRow)> = DIMENSIONS
            .iter()
            .zip(&diff.dimensions)
            .flat_map(|(d, rows)| rows.iter().map(move |r| (*d, r)))
            .filter(|(_, r)| r.status == status)
            .collect();
        listed.sort_by_key(|(_, r)| std::cmp::Reverse(r.delta().0.abs()));
        let mut names: Vec<String> = listed
            .iter()
            .take(TOP)
            .map(|(d, r)| format!("{d} {} ({})", escape(&r.value), signed(r.delta())))
            .collect();
        if listed.len() > TOP {
            names.push(format!("and {} more (diff_by_*.csv)", listed.len() - TOP));
        }
        if !names.is_empty() {
            text += &format!("{word}: {}\n", names.join(", "));
        }
    }
    if !diff.changes.is_empty() {
        text += &format!("step changes in {} (changes.csv):\n", diff.cur_month);
        for change in &diff.changes {
            text += &format!("  {}\n", step_change(change));
        }
    }
    text += &unpriced(diff);
    text
}

/// The lines the previous month's table cannot reprice, one sentence per
/// model, each saying why.
fn unpriced(diff: &Diff) -> String {
    let mut text = String::new();
    for u in &diff.unpriced {
        let why = match u.by_hours {
            true => {
                "that table prices it by time of day, in windows these lines fell in none of (a \
                 flat price now, or windows moved), and the ledger keeps no hour to reprice by: \
                 a price change between them hides in the volume"
            }
            false => "no entry, or none for their tier, region, speed, charge or prompt size",
        };
        text += &format!(
            "{}'s table cannot reprice {} {} ({} ledger lines, ${} this month: {why}): counted \
             as volume\n",
            diff.prev_month,
            escape(&u.model.0),
            escape(&u.model.1),
            u.lines,
            Micros::round(u.cost)
        );
    }
    text
}

/// How many tenants the waterfall shows on their own.
const WATERFALL_TENANTS: usize = 6;
/// How many rows each dimension's table of `diff.html` shows.
const TABLE_ROWS: usize = 10;

/// `diff.html`'s own style, after the shared one.
const DIFF_STYLE: &str = ".up{fill:#c0392b}.down{fill:#1e7b34}\
.link{stroke:#8a93a0;stroke-dasharray:2 2}.scroll{overflow-x:auto}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}";

/// The waterfall from last month's total to this month's: the price
/// effect, then the volume effect of the tenants that moved most, the
/// rest as one bar. Increases are red, decreases green.
fn waterfall(diff: &Diff) -> String {
    let t = &diff.total;
    let tenant = DIMENSIONS.iter().position(|&d| d == "tenant");
    let mut movers: Vec<&DiffRow> = diff.dimensions[tenant.expect("a dimension")]
        .iter()
        .filter(|r| r.volume().0 != 0)
        .collect();
    movers.sort_by(|a, b| (b.volume().0.abs(), &a.value).cmp(&(a.volume().0.abs(), &b.value)));
    let mut steps: Vec<(String, Micros)> = vec![("price effect".to_string(), t.price())];
    steps.extend(
        movers
            .iter()
            .take(WATERFALL_TENANTS)
            .map(|r| (r.value.clone(), r.volume())),
    );
    if movers.len() > WATERFALL_TENANTS {
        let rest = &movers[WATERFALL_TENANTS..];
        steps.push((
            format!("{} other tenants", rest.len()),
            rest.iter().map(|r| r.volume()).sum(),
        ));
    }
    let total = |month: &str, amount: Micros| HBar {
        label: format!("{month} total"),
        from: 0.0,
        to: amount.drawn(),
        class: "bar",
        value: usd_exact(amount, false),
    };
    let mut bars = vec![total(&diff.prev_month, t.prev)];
    let mut running = t.prev;
    for (label, step) in steps {
        let next = Micros(running.0 + step.0);
        bars.push(HBar {
            label,
            from: running.drawn(),
            to: next.drawn(),
            class: if step.0 > 0 { "up" } else { "down" },
            value: usd_exact(step, true),
        });
        running = next;
    }
    debug_assert_eq!(running, t.cur, "price + volume = the change");
    bars.push(total(&diff.cur_month, t.cur));
    let ends = bars.iter().flat_map(|b| [b.from, b.to]);
    let lo = ends.clone().fold(0.0, f64::min);
    let hi = ends.fold(1.0, f64::max);
    format!(
        "<h2>From {prev} to {cur}: price, then volume by tenant</h2>{}\
         <p class=\"note\">{prev}'s total; the price effect ({cur}'s usage at its own rates \
         against the rates of {}); each tenant's volume effect ({cur}'s usage at the old \
         rates against {prev}'s cost), up to {WATERFALL_TENANTS} on their own and the rest \
         as one bar; {cur}'s total.</p>",
        hbars(&bars, lo, hi, true),
        diff.rates_on,
        prev = esc(&diff.prev_month),
        cur = esc(&diff.cur_month),
    )
}

/// A dimension's largest changes as a table.
fn diff_table(diff: &Diff, index: usize) -> String {
    let (dimension, rows) = (DIMENSIONS[index], &diff.dimensions[index]);
    let shown = if rows.len() > TABLE_ROWS {
        format!("the {TABLE_ROWS} largest changes of {}", rows.len())
    } else {
        format!("all {}, largest change first", rows.len())
    };
    let mut html = format!(
        "<h2>By {dimension}: {shown}</h2><table><tr><th>{dimension}</th>\
         <th class=\"num\">{}</th><th class=\"num\">{}</th><th class=\"num\">change</th>\
         <th class=\"num\">%</th><th class=\"num\">price</th><th class=\"num\">volume</th>\
         <th>status</th></tr>",
        esc(&diff.prev_month),
        esc(&diff.cur_month),
    );
    for r in rows.iter().take(TABLE_ROWS) {
        let _ = write!(
            html,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td{}>{}</td></tr>",
            esc(&r.value),
            usd_exact(r.prev, false),
            usd_exact(r.cur, false),
            usd_exact(r.delta(), true),
            r.delta_pct()
                .map_or_else(String::new, |p| format!("{p:+.1}")),
            usd_exact(r.price(), true),
            usd_exact(r.volume(), true),
            match r.status {
                Status::New => " class=\"warn\"",
                Status::Gone => " class=\"muted\"",
                Status::Changed => "",
            },
            r.status.as_str()
        );
    }
    html + "</table>"
}

/// The current month's step changes as a table, if any.
fn changes_table(diff: &Diff) -> String {
    if diff.changes.is_empty() {
        return String::new();
    }
    let mut html = format!(
        "<h2>Step changes within {} (changes.csv)</h2><table><tr><th>dimension</th>\
         <th>value</th><th>change</th><th>from</th><th class=\"num\">$/day before</th>\
         <th class=\"num\">$/day after</th><th class=\"num\">factor</th></tr>",
        esc(&diff.cur_month)
    );
    for c in &diff.changes {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(&c.dimension),
            esc(&c.value),
            esc(&c.kind),
            esc(&c.first_day),
            esc(&c.before_daily_usd),
            esc(&c.after_daily_usd),
            esc(&c.factor),
        );
    }
    html + "</table>"
}

/// `diff.html`: the two months on one page, in `report.html`'s style: the
/// totals, the waterfall from one to the other, each dimension's largest
/// changes and the step changes.
pub fn diff_html(diff: &Diff) -> String {
    let t = &diff.total;
    let (prev, cur) = (esc(&diff.prev_month), esc(&diff.cur_month));
    let pct = t
        .delta_pct()
        .map_or_else(|| "from zero".to_string(), |p| format!("{p:+.1} %"));
    let cards = [
        card(
            &format!("{} → {}", usd_exact(t.prev, false), usd_exact(t.cur, false)),
            &format!("total, {prev} → {cur}"),
        ),
        card(&usd_exact(t.delta(), true), &format!("change ({pct})")),
        card(
            &usd_exact(t.price(), true),
            &format!(
                "price effect ({cur} usage at the rates of {})",
                diff.rates_on
            ),
        ),
        card(&usd_exact(t.volume(), true), "volume effect"),
    ];
    let unpriced: String = diff
        .unpriced
        .iter()
        .map(|u| {
            format!(
                "<p class=\"warn\">No rate in {prev}'s table for {} {} ({} ledger lines, {} \
                 in {cur}): counted as volume.</p>",
                esc(&u.model.0),
                esc(&u.model.1),
                u.lines,
                usd_exact(Micros::round(u.cost), false)
            )
        })
        .chain(
            diff.warnings
                .iter()
                .map(|w| format!("<p class=\"warn\">{}.</p>", esc(w))),
        )
        .collect();
    let tables: String = (0..DIMENSIONS.len())
        .map(|i| format!("<div class=\"scroll\">{}</div>", diff_table(diff, i)))
        .collect();
    let body = format!(
        "<h1>LLM spend, {prev} → {cur}</h1><div class=\"cards\">{}</div>{unpriced}\
         <div>{}</div>{tables}<div class=\"scroll\">{}</div>\
         <p class=\"note\">tokenledger {} · amounts in dollars to the micro-dollar, as in \
         diff_by_*.csv</p>",
        cards.concat(),
        waterfall(diff),
        changes_table(diff),
        env!("CARGO_PKG_VERSION"),
    );
    html_page(
        &format!("tokenledger: {} → {}", diff.prev_month, diff.cur_month),
        DIFF_STYLE,
        &body,
    )
}
