//! Coverage output: `coverage.csv`, its part of `summary.json`, and a line
//! in the terminal summary.

use rust_decimal::Decimal;
use serde::Serialize;

use super::CsvOut;
use crate::coverage::Coverage;

/// The coverage part of `summary.json`.
#[derive(Debug, Serialize)]
pub struct CoverageJson {
    /// Rows compared.
    pub rows: usize,
    /// The lowest coverage percentage (over rows the provider reports).
    pub lowest_pct: Option<String>,
    /// `--min-coverage`, if given.
    pub min_coverage_pct: Option<String>,
    /// Rows below it.
    pub below_min: usize,
}

impl CoverageJson {
    /// The summary of `coverage` against `min`.
    pub fn new(coverage: &Coverage, min: Option<Decimal>) -> CoverageJson {
        CoverageJson {
            rows: coverage.rows.len(),
            lowest_pct: coverage.lowest().map(|p| format!("{p:.2}")),
            min_coverage_pct: min.map(|m| m.normalize().to_string()),
            below_min: min.map_or(0, |m| coverage.below(m)),
        }
    }
}

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
