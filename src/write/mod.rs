//! Stage 7, write: round the exact ledger to micro-dollars (see
//! [`crate::money`]) and write the outputs, one module per output:
//! [`reports`] (the `by_*.csv` reports and the listings), [`summary`]
//! (`summary.json` and the terminal summary) and [`reconciliation`].
//! Files are written atomically: a temporary file in the output directory,
//! then a rename.

pub mod reconciliation;
pub mod reports;
pub mod summary;

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Write `bytes` to `dir/name` atomically: a temporary file in `dir`, synced,
/// then renamed over the target.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let target = dir.join(name);
    let temp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, &target)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        Error::io(&target, e)
    })
}

/// Render rows with `csv` into bytes.
pub fn csv_bytes(write: impl FnOnce(&mut Vec<u8>) -> csv::Result<()>) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    write(&mut bytes).map_err(|e| Error::fatal(format!("writing CSV: {e}")))?;
    Ok(bytes)
}
