//! Where a run's files go ([`Outputs`]): the output directory (`--out`,
//! an [`OutDir`]) and the one CSV printed to stdout (`--print`).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::csv::{csv_bytes, CsvOut, Sink};
use super::out_dir::{OutDir, OutputKind};
use crate::error::{Error, Result};
use crate::manifest::Hashing;

/// Every CSV file a run can write, for `--print`.
pub const CSV_FILES: [&str; 22] = [
    "by_tenant.csv",
    "by_feature.csv",
    "by_agent.csv",
    "by_tool.csv",
    "by_model.csv",
    "by_run.csv",
    "unattributed.csv",
    "unbilled_spans.csv",
    "reconciliation.csv",
    "coverage.csv",
    "distribution.csv",
    "outliers.csv",
    "by_step.csv",
    "by_outcome.csv",
    "budget.csv",
    "focus.csv",
    "ledger.csv",
    "by_day.csv",
    "changes.csv",
    "allocation.csv",
    "forecast.csv",
    "anomalies.csv",
];

/// The CSV file `--print NAME` means: a file name (`focus.csv`), or a
/// report's dimension (`tenant` for `by_tenant.csv`) or a file's stem.
pub fn printable(name: &str) -> std::result::Result<String, String> {
    [name.to_string(), format!("by_{name}.csv"), format!("{name}.csv")]
        .into_iter()
        .find(|n| CSV_FILES.contains(&n.as_str()))
        .ok_or_else(|| {
            format!(
                "no such CSV \"{name}\"; one of: tenant, feature, agent, tool, model, run, or a file name: {}",
                CSV_FILES.join(", ")
            )
        })
}

/// Where a run's files go: the output directory (`--out`) and the one CSV
/// printed to stdout (`--print`). Each file is rendered once and handed to
/// both.
/// Files may be handed over from several threads at once.
pub struct Outputs {
    dir: Option<OutDir>,
    print: Option<String>,
    printed: Mutex<Option<Vec<u8>>>,
}

impl Outputs {
    /// Outputs into `out` (created as [`OutDir::create`] says: never in,
    /// over or around one of the run's `inputs`) and `print`.
    pub fn new(
        out: Option<&Path>,
        print: Option<&str>,
        inputs: &[PathBuf],
        kind: OutputKind,
    ) -> Result<Outputs> {
        Ok(Outputs {
            dir: out.map(|o| OutDir::create(o, inputs, kind)).transpose()?,
            print: print.map(str::to_string),
            printed: Mutex::default(),
        })
    }

    /// Whether the files go into an output directory.
    pub fn has_dir(&self) -> bool {
        self.dir.is_some()
    }

    /// Whether any file is wanted at all.
    pub fn wanted(&self) -> bool {
        self.dir.is_some() || self.print.is_some()
    }

    /// Hand over one file.
    pub fn put(&self, name: &str, bytes: &[u8]) -> Result<()> {
        if self.print.as_deref() == Some(name) {
            *self.printed.lock().expect("the printed file") = Some(bytes.to_vec());
        }
        match &self.dir {
            Some(dir) => dir.write(name, bytes),
            None => Ok(()),
        }
    }

    /// Hand over one CSV file, its rows written by `write` (`raw` turns off
    /// formula neutralising): streamed into the output directory, or
    /// rendered in memory when it is printed too.
    pub fn csv(
        &self,
        name: &str,
        raw: bool,
        write: impl FnOnce(&mut CsvOut) -> csv::Result<()>,
    ) -> Result<()> {
        match &self.dir {
            Some(dir) if self.print.as_deref() != Some(name) => write_csv(dir, name, raw, write),
            _ => self.put(name, &csv_bytes(raw, write)?),
        }
    }

    /// Move the directory into place; the bytes to print, if `--print`
    /// named a file this run wrote (else an error saying so).
    pub fn finish(self) -> Result<Option<Vec<u8>>> {
        let printed = self.printed.into_inner().expect("the printed file");
        if let (Some(name), None) = (&self.print, &printed) {
            return Err(Error::fatal(format!(
                "--print {name}: this run writes no {name} (reconciliation.csv needs --invoice, \
                 coverage.csv --provider-usage, budget.csv --budgets)"
            )));
        }
        if let Some(dir) = self.dir {
            dir.commit()?;
        }
        Ok(printed)
    }
}

/// Write one CSV file (synced) into the output directory, row by row,
/// hashing it as it goes.
fn write_csv(
    dir: &OutDir,
    name: &str,
    raw: bool,
    write: impl FnOnce(&mut CsvOut) -> csv::Result<()>,
) -> Result<()> {
    let (temp, path) = dir.paths(name);
    let file = std::fs::File::create(temp).map_err(|e| Error::io(&path, e))?;
    let rendered = CsvOut::new(Sink::File(Hashing::new(file)), raw).render(write);
    match rendered.map_err(|e| Error::fatal(format!("{}: {e}", path.display())))? {
        Sink::File(hashing) => {
            let (file, sha) = hashing.finish();
            file.sync_all().map_err(|e| Error::io(&path, e))?;
            dir.record(name, sha);
            Ok(())
        }
        Sink::Memory(_) => unreachable!("rendered into a file"),
    }
}
