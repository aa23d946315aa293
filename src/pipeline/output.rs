//! A computed [`Month`] written out: every file of `report --out`, one
//! writer module per file kind, and the terminal summary.

use super::config::AnswerConfig;
use super::{CallAnswers, Month};
use crate::answers::budget::{BudgetRow, Status};
use crate::checks::Checks;
use crate::dimension::Dimension;
use crate::error::Result;
use crate::money::Micros;
use crate::price::SAVED_BASE;
use crate::terminal::escape;
use crate::write::allocation::allocation_csv;
use crate::write::answers::{
    budget_csv, by_outcome_csv, by_step_csv, distribution_csv, focus_csv, outliers_csv,
};
use crate::write::coverage::{coverage_csv, terminal as coverage_terminal};
use crate::write::html::{report_html, Marks, Page};
use crate::write::ledger::{by_day_csv, changes_csv, ledger_csv};
use crate::write::month_to_date::{anomalies_csv, forecast_csv};
use crate::write::reconciliation::{reconciliation_csv, terminal as reconciliation_terminal};
use crate::write::reports::{report_csv, unattributed_csv, unbilled_csv};
use crate::write::summary::{summary_json, terminal_summary};
use crate::write::Outputs;

/// Compute the standing answers of `month` (by `config`) and write every
/// file into `outputs`. The FOCUS rows and the charge lines, the two
/// largest tables, are each made and written on a thread of their own (and
/// dropped once written), while this one computes the run answers (with
/// a thread of their own for the answers from the postings, and another
/// writing the reports meanwhile) and then writes the answers' files.
/// Where memory is tight ([`crate::tree::Resolved::memory_tight`]), the run answers and
/// the reports come first; then the runs' rows, written and answered, are
/// released ([`Month::release_runs`]), and only then are the answers from
/// the postings and the two tables made.
pub fn write_month(
    month: &mut Month,
    config: &AnswerConfig,
    outputs: &Outputs,
    raw: bool,
) -> Result<()> {
    // When several fail (a full disk), the same one is reported every time:
    // the run answers' and the reports', then the other answers', then
    // FOCUS's, then the charge lines'.
    let written = if month.resolved.memory_tight {
        let run_costs = write_rest(month, config, outputs, raw);
        month.release_runs();
        let month = &*month;
        run_costs.and_then(|run_costs| {
            write_tables(month, outputs, raw, || {
                write_answers(month, &month.call_answers()?, &run_costs, outputs, raw)
            })
        })
    } else {
        write_tables(month, outputs, raw, || {
            let (run_costs, calls) = std::thread::scope(|scope| {
                let calls = scope.spawn(|| month.call_answers());
                let run_costs = write_rest(month, config, outputs, raw);
                (run_costs, calls.join().expect("the call answers' thread"))
            });
            let run_costs = run_costs?;
            write_answers(month, &calls?, &run_costs, outputs, raw)
        })
    };
    written?;
    outputs.put("summary.json", &summary_json(&month.summary)?)
}

/// The run answers, computed while a second thread writes the reports
/// (each reads the month only; `by_run.csv` is a million rows in a large
/// month), then their files; the runs' costs, the least first, for the
/// report page. The run answers' error comes first, then the reports'.
fn write_rest(
    month: &Month,
    config: &AnswerConfig,
    outputs: &Outputs,
    raw: bool,
) -> Result<Vec<Micros>> {
    let (answers, reports) = std::thread::scope(|scope| {
        let reports = scope.spawn(|| write_reports(month, outputs, raw));
        let answers = month.run_answers(config);
        (answers, reports.join().expect("the reports' thread"))
    });
    let a = answers?;
    reports?;
    outputs.csv("distribution.csv", raw, |w| distribution_csv(w, &a.spreads))?;
    outputs.csv("outliers.csv", raw, |w| outliers_csv(w, &a.outliers))?;
    outputs.csv("by_outcome.csv", raw, |w| by_outcome_csv(w, &a.by_outcome))?;
    Ok(a.run_costs)
}

/// `focus.csv` and `ledger.csv`, each made and written on a thread of its
/// own while this one runs `meanwhile`; the first error of `meanwhile`,
/// FOCUS and the charge lines, in that order.
fn write_tables(
    month: &Month,
    outputs: &Outputs,
    raw: bool,
    meanwhile: impl FnOnce() -> Result<()>,
) -> Result<()> {
    let text = month.text_order();
    std::thread::scope(|scope| {
        let focus = scope.spawn(|| {
            let focus = month.focus(&text)?;
            outputs.csv("focus.csv", raw, |w| focus_csv(w, &focus))
        });
        let ledger = scope.spawn(|| {
            let lines = month.lines(&text)?;
            outputs.csv("ledger.csv", raw, |w| {
                ledger_csv(w, &lines, &month.usage.interner)
            })
        });
        let rest = meanwhile();
        let ledger = ledger.join().expect("the charge lines' thread");
        let focus = focus.join().expect("the FOCUS thread");
        rest.and(focus).and(ledger)
    })
}

/// The `by_*` reports, the unattributed records and unbilled calls, the
/// pricing table, and the checks' files.
fn write_reports(month: &Month, outputs: &Outputs, raw: bool) -> Result<()> {
    let usage = &month.usage;
    for report in &month.reports {
        outputs.csv(&format!("by_{}.csv", report.table.name()), raw, |w| {
            report_csv(
                w,
                &report.table,
                &report.rows,
                &month.ledger.total,
                &usage.interner,
            )
        })?;
    }
    // By time, then request id, then place read, so a rounding tie
    // between two records does not follow the order of the usage lines.
    let mut unattributed = month.ledger.unattributed.clone();
    unattributed.sort_by_cached_key(|&i| {
        let r = &usage.records[i];
        let origin = (r.origin.file, r.origin.line);
        (r.timestamp, usage.ids.get(i), origin)
    });
    let records: Vec<_> = (unattributed.iter())
        .map(|&i| (usage.ids.get(i), &usage.records[i]))
        .collect();
    let costs: Vec<_> = unattributed
        .iter()
        .map(|&i| usage.costs.get(i).total())
        .collect();
    let (interner, inputs) = (&usage.interner, &month.intake.inputs);
    outputs.csv("unattributed.csv", raw, |w| {
        unattributed_csv(w, &records, &costs, interner, inputs)
    })?;
    outputs.csv("unbilled_spans.csv", raw, |w| {
        unbilled_csv(
            w,
            &month.resolved.calls,
            &month.joined.unbilled,
            interner,
            inputs,
        )
    })?;
    outputs.csv("by_day.csv", raw, |w| by_day_csv(w, &month.days))?;
    if let Some(allocation) = &month.allocation {
        outputs.csv("allocation.csv", raw, |w| allocation_csv(w, allocation))?;
    }
    outputs.put("pricing.toml", usage.pricing.saved_text().as_bytes())?;
    if let Some((_, base)) = &usage.pricing.base {
        outputs.put(SAVED_BASE, base.as_bytes())?;
    }
    write_checks(&month.checks, outputs, raw)
}

/// `reconciliation.csv` and `coverage.csv`, for the checks that ran.
pub fn write_checks(checks: &Checks, outputs: &Outputs, raw: bool) -> Result<()> {
    if let Some(rec) = &checks.reconciliation {
        outputs.csv("reconciliation.csv", raw, |w| reconciliation_csv(w, rec))?;
    }
    if let Some(coverage) = &checks.coverage {
        outputs.csv("coverage.csv", raw, |w| coverage_csv(w, coverage))?;
    }
    Ok(())
}

/// The other standing answers' files (but FOCUS) and the one-page report
/// (`run_costs`: the runs' costs, the least first).
fn write_answers(
    month: &Month,
    a: &CallAnswers,
    run_costs: &[Micros],
    outputs: &Outputs,
    raw: bool,
) -> Result<()> {
    outputs.csv("by_step.csv", raw, |w| by_step_csv(w, &a.steps))?;
    if let Some(rows) = &month.budget_rows {
        outputs.csv("budget.csv", raw, |w| budget_csv(w, rows))?;
    }
    outputs.csv("changes.csv", raw, |w| changes_csv(w, &a.changes))?;
    outputs.csv("anomalies.csv", raw, |w| anomalies_csv(w, &a.anomalies))?;
    if let Some(rows) = &month.forecast {
        outputs.csv("forecast.csv", raw, |w| forecast_csv(w, rows))?;
    }
    #[cfg(feature = "parquet")]
    if outputs.has_dir() {
        let table = crate::write::parquet::CallsTable {
            postings: month.postings(),
            ids: &month.usage.ids,
            interner: &month.usage.interner,
        };
        outputs.put("calls.parquet", &table.to_parquet()?)?;
    }
    let page = Page {
        summary: &month.summary,
        tenants: &month.report(Dimension::Tenant).rows,
        features: &month.report(Dimension::Feature).rows,
        models: &month.report(Dimension::Model).rows,
        budgets: month.budget_rows.as_deref(),
        budget_basis: month.basis(),
        billed_total: month.billed_target,
        run_costs,
        steps: &a.steps,
        days: &month.days,
        day_range: month.chart_days(),
        marks: Marks {
            changes: &a.changes,
            anomalies: &a.anomalies,
        },
        so_far: month.as_of.zip(month.forecast.as_deref()),
    };
    outputs.put("report.html", report_html(&page).as_bytes())
}

/// The summary printed after a run: totals, top tenants and features, the
/// checks, and the budgets.
pub fn terminal(month: &Month) -> String {
    let summary = &month.summary;
    let mut text = terminal_summary(
        summary,
        &month.report(Dimension::Tenant).rows,
        &month.report(Dimension::Feature).rows,
    );
    text += &checks_terminal(&month.checks, summary);
    if let Some(rows) = &month.budget_rows {
        text += &budget_terminal(rows, month.basis());
    }
    text
}

/// The checks' part of the terminal output.
pub fn checks_terminal(checks: &Checks, summary: &crate::summary::Summary) -> String {
    let mut text = checks
        .reconciliation
        .as_ref()
        .map_or_else(String::new, reconciliation_terminal);
    if let Some(coverage) = &summary.coverage {
        text += &coverage_terminal(coverage);
    }
    text
}

/// The budgets' lines of the terminal summary; `basis` says whether the
/// spend is the billed, the computed or the allocated cost.
fn budget_terminal(rows: &[BudgetRow], basis: &str) -> String {
    let count = |status| rows.iter().filter(|r| r.status == status).count();
    let mut text = format!(
        "budgets (on {basis} cost): {} over, {} at warning, {} ok\n",
        count(Status::Over),
        count(Status::Warn),
        count(Status::Ok)
    );
    for r in rows.iter().filter(|r| r.status != Status::Ok) {
        text += &format!(
            "  {} {} {}: ${} {basis} of ${} ({} %)\n",
            r.status.as_str(),
            r.budget.dimension.name(),
            escape(&r.budget.key),
            r.spend,
            crate::money::Micros::round(r.budget.usd),
            r.pct_used
        );
    }
    text
}
