//! The month as it runs: `forecast.csv` (under `--as-of`) and
//! `anomalies.csv`.

use super::CsvOut;
use crate::answers::anomalies::Anomaly;
use crate::answers::changes::Measure;
use crate::answers::forecast::Forecast;
use crate::money::Micros;

/// `forecast.csv`: each value's month to date, its month-end forecast and
/// interval, its budget and when it crosses it.
pub fn forecast_csv(w: &mut CsvOut, rows: &[Forecast]) -> csv::Result<()> {
    w.row([
        "dimension",
        "value",
        "mtd_usd",
        "forecast_usd",
        "low_usd",
        "high_usd",
        "budget_usd",
        "forecast_pct",
        "exceeds_on",
    ])?;
    for f in rows {
        w.row([
            f.dimension.to_string(),
            f.value.clone(),
            f.mtd.to_string(),
            f.forecast.0.to_string(),
            f.forecast.1.to_string(),
            f.forecast.2.to_string(),
            f.budget
                .map_or_else(String::new, |b| Micros::round(b).to_string()),
            f.pct.map_or_else(String::new, |p| format!("{p:.2}")),
            f.exceeds_on.map_or_else(String::new, |d| d.to_string()),
        ])?;
    }
    Ok(())
}

/// `anomalies.csv`: each anomalous day with what it had, what was
/// expected, and the top agent, model and tool under it.
pub fn anomalies_csv(w: &mut CsvOut, rows: &[Anomaly]) -> csv::Result<()> {
    w.row([
        "dimension",
        "value",
        "day",
        "series",
        "observed",
        "expected",
        "expected_low",
        "expected_high",
        "top_agent",
        "top_model",
        "top_tool",
    ])?;
    for a in rows {
        let amount = |d: rust_decimal::Decimal| match a.series {
            Measure::Cost => Micros::round(d).to_string(),
            Measure::Requests => d.round_dp(2).normalize().to_string(),
        };
        let [agent, model, tool] = &a.drivers;
        w.row([
            a.dimension.to_string(),
            a.value.clone(),
            a.day.to_string(),
            a.series.as_str().to_string(),
            amount(a.observed),
            amount(a.expected.0),
            amount(a.expected.1.max(rust_decimal::Decimal::ZERO)),
            amount(a.expected.2),
            agent.clone(),
            model.clone(),
            tool.clone(),
        ])?;
    }
    Ok(())
}
