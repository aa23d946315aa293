//! Coverage output: `coverage.csv` and a line in the terminal summary.

use super::CsvOut;
use crate::coverage::{Coverage, CoverageJson};

/// Write `coverage.csv`.
pub fn coverage_csv(w: &mut CsvOut, coverage: &Coverage) -> csv::Result<()> {
    w.row([
        "provider",
        "model",
        "day",
        "token_type",
        "per_request_tokens",
        "provider_tokens",
        "delta",
        "coverage_pct",
    ])?;
    for r in &coverage.rows {
        let delta = r.per_request as i128 - r.provider_tokens as i128;
        w.row([
            r.provider.clone(),
            r.model.clone(),
            r.day.to_string(),
            r.token_type.key().to_string(),
            r.per_request.to_string(),
            r.provider_tokens.to_string(),
            delta.to_string(),
            r.pct().map_or_else(String::new, |p| format!("{p:.2}")),
        ])?;
    }
    Ok(())
}

/// The line for the terminal summary.
pub fn terminal(summary: &CoverageJson) -> String {
    let lowest = summary.lowest_pct.as_deref().unwrap_or("-");
    let gate = match &summary.min_coverage_pct {
        Some(min) => format!(", {} below {min} %", summary.below_min),
        None => String::new(),
    };
    format!(
        "tokenledger: coverage against provider usage reports: {} rows, lowest {lowest} %{gate}\n",
        summary.rows
    )
}
