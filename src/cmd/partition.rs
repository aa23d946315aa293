//! `tokenledger partition`: cut span files by trace id into the partitions
//! that `report --shard I/N --whole-traces` reads, one each.

use crate::error::Result;
use crate::partition::{partition, Config};

/// Cut the span files and, unless `quiet`, say what was written (stderr).
pub fn run(config: &Config, quiet: bool) -> Result<()> {
    let done = partition(config)?;
    if !quiet {
        let spans: u64 = done.spans.iter().sum();
        let (least, most) = (
            done.spans.iter().min().copied().unwrap_or(0),
            done.spans.iter().max().copied().unwrap_or(0),
        );
        crate::stderr_line!(
            "tokenledger: cut {} span file(s), {spans} spans, into {} partitions under {} \
             ({least} to {most} spans each)",
            done.files.len(),
            done.dirs.len(),
            crate::terminal::escape(&config.out.display().to_string()),
        );
    }
    Ok(())
}
