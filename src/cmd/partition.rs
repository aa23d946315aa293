//! `tokenledger partition`: cut span files by trace id into the partitions
//! that `report --shard I/N --whole-traces` reads, one each.

use std::path::PathBuf;

use super::print_stdout;
use crate::error::{Error, Result};
use crate::partition::{partition, span_files, Config};

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

/// Print the span files `paths` hold, as `report` reads them, as one JSON
/// array on stdout, and cut nothing: the list a job that cuts each file in
/// its own task (dist/spark) gives out, so that it cuts what one run reads.
pub fn list(paths: &[PathBuf]) -> Result<()> {
    let mut names = Vec::new();
    for file in span_files(paths)? {
        let name = file.to_str().ok_or_else(|| {
            Error::fatal(format!(
                "{}: a file name that is not UTF-8 cannot be listed",
                file.display()
            ))
        })?;
        names.push(name.to_string());
    }
    let json = serde_json::to_string(&names).map_err(|e| Error::fatal(e.to_string()))?;
    print_stdout(format!("{json}\n").as_bytes())
}
