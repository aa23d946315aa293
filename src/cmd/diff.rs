//! `tokenledger diff`: compare two months' `report --out` directories,
//! split each change into price and volume, and exit 1 with
//! `--fail-on-growth` when the total grew too much.

use std::path::PathBuf;

use rust_decimal::Decimal;

use super::{print_stdout, Outcome};
use crate::diff::write::{diff_csv, diff_html, signed, terminal};
use crate::diff::{diff, DIMENSIONS};
use crate::error::Result;
use crate::write::{OutputKind, Outputs};

/// What `diff` is asked to do.
#[derive(Clone, Debug)]
pub struct DiffConfig {
    /// The previous month's output directory.
    pub prev: PathBuf,
    /// This month's.
    pub cur: PathBuf,
    /// Where to write `diff_by_*.csv` and `diff.html`.
    pub out: Option<PathBuf>,
    /// Exit 1 when the total grew more than this many percent.
    pub fail_on_growth: Option<Decimal>,
    /// CSV cells as they are, formulas not neutralised.
    pub raw_csv: bool,
    /// No terminal answer.
    pub quiet: bool,
}

/// Compare.
pub fn run(config: &DiffConfig) -> Result<Outcome> {
    let diff = diff(&config.prev, &config.cur)?;
    let inputs = [config.prev.clone(), config.cur.clone()];
    let outputs = Outputs::new(config.out.as_deref(), None, &inputs, OutputKind::Diff)?;
    for (i, dimension) in DIMENSIONS.iter().enumerate() {
        outputs.csv(&format!("diff_by_{dimension}.csv"), config.raw_csv, |w| {
            diff_csv(w, &diff, i)
        })?;
    }
    if outputs.has_dir() {
        outputs.put("diff.html", diff_html(&diff).as_bytes())?;
    }
    outputs.finish()?;
    if !config.quiet {
        print_stdout(terminal(&diff).as_bytes())?;
        super::print_warnings(&diff.warnings);
    }
    let total = &diff.total;
    // Exactly: delta × 100 > limit × prev, not the rounded percentage.
    let grew = |limit: Decimal| {
        let (prev, delta) = (total.prev.to_decimal(), total.delta().to_decimal());
        match prev.is_zero() {
            true => total.cur.0 > 0,
            // A limit too large to multiply is beyond any growth.
            false => match (
                limit.checked_mul(prev),
                delta.checked_mul(Decimal::ONE_HUNDRED),
            ) {
                (Some(allowed), Some(grown)) => grown > allowed,
                (Some(_), None) => delta > Decimal::ZERO,
                (None, _) => false,
            },
        }
    };
    let failed = config
        .fail_on_growth
        .filter(|&limit| grew(limit))
        .map(|limit| {
            let pct = total
                .delta_pct()
                .map_or_else(|| "from zero".to_string(), |p| format!("{p:+.1} %"));
            format!(
                "growth: the total went from ${} to ${} ({}, {pct}), more than --fail-on-growth {limit} %",
                total.prev,
                total.cur,
                signed(total.delta())
            )
        });
    Ok(Outcome::of(failed.into_iter().collect()))
}
