//! `tokenledger simulate`: write a deterministic synthetic fleet month, for
//! the shipped samples, tests and benchmarks.

use std::path::Path;

use crate::error::Result;
use crate::price::PriceTable;
use crate::simulate::{generate, Config};
use crate::write::fresh::FreshDir;

/// Generate the month into `out` (a new or empty directory, written whole),
/// priced with `pricing`, and say what was written.
pub fn run(config: &Config, pricing: Option<&Path>, out: &Path) -> Result<()> {
    let inputs: Vec<_> = pricing.into_iter().map(Path::to_path_buf).collect();
    let dir = FreshDir::create(out, &inputs)?;
    let pricing = PriceTable::resolve(pricing)?;
    let stats = generate(config, &pricing, dir.path())?;
    dir.commit()?;
    crate::stderr_line!(
        "tokenledger: wrote {} spans ({} calls) and {} usage records to {}",
        stats.spans,
        stats.calls,
        stats.usage_records,
        out.display()
    );
    Ok(())
}
