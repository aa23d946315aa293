//! An outcomes CSV (`--outcomes`): `run_id,outcome`, one run per row, the
//! run id being the trace id as `by_run.csv` writes it (32 hex digits).
//! Extra columns are ignored; the outcome overrides the root span's.

use std::path::Path;

use super::span::parse_hex_id;
use super::{csv_error, csv_line};
use crate::error::{Error, Result};
use crate::hash::FastMap;

/// Read the outcome of each run. A malformed row, or a run given two
/// different outcomes, is an error naming its line.
pub fn read(path: &Path) -> Result<FastMap<u128, String>> {
    let text = super::read_text(path)?;
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| csv_error(path, &text, e))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.trim() == name);
    let (Some(run_col), Some(outcome_col)) = (col("run_id"), col("outcome")) else {
        return Err(Error::fatal(format!(
            "{}:1: an outcomes CSV needs the columns run_id,outcome (found: {})",
            path.display(),
            headers.iter().collect::<Vec<_>>().join(",")
        )));
    };
    let mut outcomes: FastMap<u128, String> = FastMap::default();
    let mut record = csv::StringRecord::new();
    while reader
        .read_record(&mut record)
        .map_err(|e| csv_error(path, &text, e))?
    {
        let line = csv_line(&text, record.position());
        let at = |message: String| Error::fatal(format!("{}:{line}: {message}", path.display()));
        let id = record.get(run_col).unwrap_or("").trim();
        let run = parse_hex_id(id, 32)
            .ok_or_else(|| at(format!("run_id \"{id}\" is not a 32-hex-digit trace id")))?;
        let outcome = record.get(outcome_col).unwrap_or("").trim();
        if outcome.is_empty() {
            return Err(at(format!("run {id} has an empty outcome")));
        }
        match outcomes.get(&run) {
            Some(earlier) if earlier != outcome => {
                return Err(at(format!(
                    "run {id} is given the outcome \"{outcome}\" after \"{earlier}\""
                )))
            }
            _ => {
                outcomes.insert(run, outcome.to_string());
            }
        }
    }
    Ok(outcomes)
}
