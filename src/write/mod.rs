//! Stage 7, write: round the exact ledger to micro-dollars (see
//! [`crate::money`]) and write the outputs, one module per output:
//! [`reports`] (the `by_*.csv` reports and the listings), [`summary`]
//! (`summary.json` and the terminal summary) and [`reconciliation`].
//!
//! An output directory is written as a whole ([`OutDir`]): every file goes
//! into a temporary directory beside it, which replaces it only once all
//! files are complete, so an interrupted run leaves the previous reports or
//! none, never a mix. Every CSV cell that a spreadsheet would run as a
//! formula is neutralised ([`CsvOut`]).

pub mod answers;
pub mod coverage;
pub mod html;
#[cfg(feature = "parquet")]
pub mod parquet;
pub mod reconciliation;
pub mod reports;
pub mod summary;

use std::borrow::Cow;
use std::io::Write;
use std::path::{Path, PathBuf};

use rust_decimal::Decimal;

use crate::error::{Error, Result};

/// An output directory being written: files land in a temporary directory
/// beside the target, moved into place by [`OutDir::commit`]. Dropped
/// without a commit (an error), the temporary directory is removed.
pub struct OutDir {
    target: PathBuf,
    temp: PathBuf,
    committed: bool,
}

impl OutDir {
    /// Start writing `target`. It must be absent, empty, or an earlier
    /// tokenledger output (it holds our `summary.json`): the whole
    /// directory is replaced, so one holding anything else is refused.
    pub fn create(target: &Path) -> Result<OutDir> {
        let name = target
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| *n != "." && *n != "..")
            .ok_or_else(|| {
                Error::fatal(format!(
                    "--out {}: name a directory of its own, e.g. reports/",
                    target.display()
                ))
            })?;
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        recover(&parent, name, target)?;
        if target.exists() && !replaceable(target) {
            return Err(Error::fatal(format!(
                "--out {}: the directory holds files tokenledger did not write, and it would be replaced \
                 as a whole; choose a new or empty directory",
                target.display()
            )));
        }
        let temp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&temp);
        std::fs::create_dir_all(&temp).map_err(|e| Error::io(&temp, e))?;
        Ok(OutDir {
            target: target.to_path_buf(),
            temp,
            committed: false,
        })
    }

    /// Write one file (synced) into the directory.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let path = self.temp.join(name);
        let mut file = std::fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io(&self.target.join(name), e))
    }

    /// Move the complete directory into place, replacing the previous one.
    pub fn commit(mut self) -> Result<()> {
        let old = self.temp.with_file_name(
            self.temp
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .replacen(".tmp-", ".old-", 1),
        );
        let target = &self.target;
        if target.exists() {
            std::fs::rename(target, &old).map_err(|e| Error::io(target, e))?;
        }
        std::fs::rename(&self.temp, target).map_err(|e| Error::io(target, e))?;
        self.committed = true;
        let _ = std::fs::remove_dir_all(&old);
        Ok(())
    }
}

impl Drop for OutDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.temp);
        }
    }
}

/// Whether `dir` may be replaced: empty, or an earlier tokenledger output.
fn replaceable(dir: &Path) -> bool {
    let Ok(mut entries) = std::fs::read_dir(dir) else {
        return false;
    };
    if entries.next().is_none() {
        return true;
    }
    std::fs::read_to_string(dir.join("summary.json"))
        .is_ok_and(|s| s.contains("\"tokenledger_version\""))
}

/// Clean up after a run that was killed: its temporary directory is
/// removed, and if it was killed between moving the previous output aside
/// and moving the new one in, the previous output is put back.
fn recover(parent: &Path, name: &str, target: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(rest) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(&format!(".{name}.")))
        else {
            continue;
        };
        let (kind, pid) = rest.split_once('-').unwrap_or((rest, ""));
        // Leave the directories of a run still going (Linux: /proc/PID).
        if Path::new("/proc").join(pid).exists() || !matches!(kind, "tmp" | "old") {
            continue;
        }
        if kind == "old" && !target.exists() {
            std::fs::rename(entry.path(), target).map_err(|e| Error::io(target, e))?;
        } else {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    Ok(())
}

/// CSV rows being written. Unless raw, a text cell that starts with `=`,
/// `+`, `-`, `@`, a tab or a carriage return is prefixed with `'`, so a
/// spreadsheet shows it instead of running it (OWASP CSV injection);
/// numbers are never touched.
pub struct CsvOut {
    writer: csv::Writer<Vec<u8>>,
    raw: bool,
}

impl CsvOut {
    /// Write one row.
    pub fn row<S: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = S>) -> csv::Result<()> {
        if self.raw {
            return self
                .writer
                .write_record(cells.into_iter().map(|c| c.as_ref().to_string()));
        }
        let cells: Vec<String> = cells
            .into_iter()
            .map(|c| neutralise(c.as_ref()).into_owned())
            .collect();
        self.writer.write_record(&cells)
    }
}

/// A cell as a spreadsheet may safely show it: a text cell that starts
/// with a tab or a carriage return, or with `=`, `+`, `-` or `@` once its
/// leading blanks and controls are skipped (spaces, NUL, line feeds,
/// no-break and other Unicode spaces, zero-width characters, which a
/// spreadsheet may skip too), gets a leading `'`. Numbers are kept.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    let hidden = |c: char| {
        c.is_whitespace()
            || c.is_control()
            || matches!(c, '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}')
    };
    let risky = || {
        cell.starts_with(['\t', '\r'])
            || cell
                .trim_start_matches(hidden)
                .starts_with(['=', '+', '-', '@'])
    };
    let number = || cell.parse::<Decimal>().is_ok() || Decimal::from_scientific(cell).is_ok();
    if risky() && !number() {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// Render CSV rows into bytes; `raw` turns off formula neutralising.
pub fn csv_bytes(raw: bool, write: impl FnOnce(&mut CsvOut) -> csv::Result<()>) -> Result<Vec<u8>> {
    let mut out = CsvOut {
        writer: csv::Writer::from_writer(Vec::new()),
        raw,
    };
    write(&mut out).map_err(|e| Error::fatal(format!("writing CSV: {e}")))?;
    out.writer
        .into_inner()
        .map_err(|e| Error::fatal(format!("writing CSV: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_numbers_kept() {
        assert_eq!(
            neutralise("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        assert_eq!(neutralise("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralise("+1+2"), "'+1+2");
        assert_eq!(neutralise("\tcmd"), "'\tcmd");
        assert_eq!(neutralise("-0.500000"), "-0.500000");
        assert_eq!(neutralise("-1e-7"), "-1e-7");
        assert_eq!(neutralise("acme-corp"), "acme-corp");
        // Leading blanks and controls do not hide a formula from a spreadsheet.
        for hidden in [
            "\0=HYPERLINK(\"http://x\")",
            " =1+2",
            "\u{a0}=HYPERLINK(\"http://x\")",
            "\n=HYPERLINK(\"http://x\")",
            "\u{3000}\u{200b}@SUM(A1)",
            "\u{feff}+1",
            " \t-2+3",
        ] {
            assert_eq!(neutralise(hidden), format!("'{hidden}"), "{hidden:?}");
        }
        assert_eq!(neutralise("\rcmd"), "'\rcmd");
        assert_eq!(neutralise(" acme"), " acme");
        assert_eq!(neutralise("1e-7"), "1e-7");
    }
}
