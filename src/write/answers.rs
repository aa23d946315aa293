//! The answers' CSV files: `distribution.csv`, `outliers.csv`,
//! `by_step.csv`, `by_outcome.csv`, `budget.csv` and `focus.csv`.

use super::CsvOut;
use crate::answers::budget::BudgetRow;
use crate::answers::distribution::{Outlier, Spread};
use crate::answers::focus::Focus;
use crate::answers::outcome::OutcomeRow;
use crate::answers::steps::StepRow;
use crate::dimension::UNATTRIBUTED;
use crate::money::Micros;

/// An optional amount: empty when there is none.
fn maybe(amount: Option<Micros>) -> String {
    amount.map_or_else(String::new, |m| m.to_string())
}

/// `distribution.csv`.
pub fn distribution_csv(w: &mut CsvOut, rows: &[Spread]) -> csv::Result<()> {
    w.row([
        "dimension",
        "key",
        "runs",
        "mean_usd",
        "p50_usd",
        "p95_usd",
        "p99_usd",
        "max_usd",
        "total_usd",
    ])?;
    for r in rows {
        let amounts = [r.mean, r.p50, r.p95, r.p99, r.max, r.total].map(|m| m.to_string());
        let mut row = vec![r.dimension.to_string(), r.key.clone(), r.runs.to_string()];
        row.extend(amounts);
        w.row(row)?;
    }
    Ok(())
}

/// `outliers.csv`.
pub fn outliers_csv(w: &mut CsvOut, rows: &[Outlier]) -> csv::Result<()> {
    w.row([
        "run_id",
        "feature",
        "tenant",
        "agent",
        "steps",
        "calls",
        "cost_usd",
        "threshold_usd",
    ])?;
    for o in rows {
        let r = &o.run;
        w.row([
            r.id().to_string(),
            r.feature().to_string(),
            r.tenant().to_string(),
            r.root_agent().to_string(),
            o.steps.to_string(),
            r.calls().to_string(),
            r.cost().to_string(),
            o.threshold.to_string(),
        ])?;
    }
    Ok(())
}

/// `by_step.csv`.
pub fn by_step_csv(w: &mut CsvOut, rows: &[StepRow]) -> csv::Result<()> {
    w.row([
        "step",
        "calls",
        "mean_input_tokens",
        "mean_cache_read_tokens",
        "mean_output_tokens",
        "cost_usd",
    ])?;
    for r in rows {
        w.row([
            r.step
                .map_or_else(|| UNATTRIBUTED.to_string(), |s| s.to_string()),
            r.calls.to_string(),
            format!("{:.1}", r.mean_input_tokens),
            format!("{:.1}", r.mean_cache_read_tokens),
            format!("{:.1}", r.mean_output_tokens),
            r.cost.to_string(),
        ])?;
    }
    Ok(())
}

/// `by_outcome.csv`.
pub fn by_outcome_csv(w: &mut CsvOut, rows: &[OutcomeRow]) -> csv::Result<()> {
    w.row([
        "feature",
        "runs",
        "successful_runs",
        "cost_usd",
        "cost_per_run_usd",
        "cost_per_successful_run_usd",
    ])?;
    for r in rows {
        w.row([
            r.feature.clone(),
            r.runs.to_string(),
            r.successful_runs.to_string(),
            r.cost.to_string(),
            maybe(r.cost_per_run),
            maybe(r.cost_per_successful_run),
        ])?;
    }
    Ok(())
}

/// `budget.csv`.
pub fn budget_csv(w: &mut CsvOut, rows: &[BudgetRow]) -> csv::Result<()> {
    w.row([
        "dimension",
        "key",
        "spend_usd",
        "budget_usd",
        "pct_used",
        "status",
    ])?;
    for r in rows {
        w.row([
            r.budget.dimension.name().to_string(),
            r.budget.key.clone(),
            r.spend.to_string(),
            Micros::round(r.budget.usd).to_string(),
            format!("{:.2}", r.pct_used),
            r.status.as_str().to_string(),
        ])?;
    }
    Ok(())
}

/// `focus.csv`.
pub fn focus_csv(w: &mut CsvOut, focus: &Focus) -> csv::Result<()> {
    w.row(focus.columns())?;
    focus.rows(|row| w.row(row))
}
