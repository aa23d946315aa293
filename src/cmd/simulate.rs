//! `tokenledger simulate`: write a deterministic synthetic fleet month, for
//! the shipped samples, tests and benchmarks.

use std::path::Path;

use crate::error::Result;
use crate::price::PriceTable;
use crate::simulate::{generate, Config};

/// Generate the month into `out`, priced with `pricing`, and say what was
/// written.
pub fn run(config: &Config, pricing: Option<&Path>, out: &Path) -> Result<()> {
    let pricing = PriceTable::resolve(pricing)?;
    let stats = generate(config, &pricing, out)?;
    eprintln!(
        "tokenledger: wrote {} spans ({} calls) and {} usage records to {}",
        stats.spans,
        stats.calls,
        stats.usage_records,
        out.display()
    );
    Ok(())
}
