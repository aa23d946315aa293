//! Stage 7, write: round the exact ledger to micro-dollars (see
//! [`crate::money`]) and write the outputs, one module per output:
//! [`reports`] (the `by_*.csv` reports and the listings), [`summary`]
//! (`summary.json` and the terminal summary) and [`reconciliation`].
//!
//! An output directory is written as a whole ([`OutDir`]): every file goes
//! into a temporary directory beside it, which replaces it only once all
//! files are complete, so an interrupted run leaves the previous reports or
//! none, never a mix. Only what tokenledger wrote is ever replaced: each
//! output directory lists its files in a manifest. Every CSV cell that a
//! spreadsheet would run as a formula is neutralised ([`CsvOut`]).

pub mod answers;
pub mod coverage;
pub mod diff;
pub mod html;
pub mod ledger;
pub mod month;
#[cfg(feature = "parquet")]
pub mod parquet;
pub mod reconciliation;
pub mod reports;
pub mod summary;

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rust_decimal::Decimal;

use crate::error::{Error, Result};

/// The file in every output directory that lists the files tokenledger
/// wrote there: the only ones a later run may replace.
pub const MANIFEST: &str = ".tokenledger-manifest";

/// The manifest's first line.
const MANIFEST_HEADER: &str = "# tokenledger output: a rerun replaces exactly these files";

/// An output directory being written: files land in a temporary directory,
/// moved into place by [`OutDir::commit`]. Dropped without a commit (an
/// error), the temporary directory is removed.
///
/// The target is replaced as a whole (renamed aside, the new one renamed
/// in), unless it is a mount point, which cannot be renamed: then its files
/// are replaced one by one and the files of the previous run that this one
/// did not write are removed.
pub struct OutDir {
    target: PathBuf,
    temp: PathBuf,
    /// The previous run's files, when the target is updated in place.
    in_place: Option<BTreeSet<String>>,
    written: Mutex<BTreeSet<String>>,
    committed: bool,
}

impl OutDir {
    /// Start writing `target`. It must be absent, an empty directory, or an
    /// earlier tokenledger output holding only the files its manifest
    /// lists; a symbolic link, a file, or a directory holding anything else
    /// is refused.
    pub fn create(target: &Path) -> Result<OutDir> {
        let name = own_name(target)?;
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        recover(&parent, name, target)?;
        let previous = previous_output(target)?;
        let in_place = is_mount_point(target, &parent).then(|| previous.unwrap_or_default());
        let temp = match in_place {
            Some(_) => target.join(format!(".tokenledger.tmp-{}", std::process::id())),
            None => parent.join(format!(".{name}.tmp-{}", std::process::id())),
        };
        let _ = std::fs::remove_dir_all(&temp);
        std::fs::create_dir_all(&temp).map_err(|e| Error::io(&temp, e))?;
        Ok(OutDir {
            target: target.to_path_buf(),
            temp,
            in_place,
            written: Mutex::default(),
            committed: false,
        })
    }

    /// Write one file (synced) into the directory.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<()> {
        write_synced(&self.temp.join(name), bytes)
            .map_err(|e| Error::io(&self.target.join(name), e))?;
        self.written().insert(name.to_string());
        Ok(())
    }

    /// The names of the files written so far (two threads may write).
    fn written(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        self.written.lock().expect("the written names")
    }

    /// Write one CSV file (synced) into the directory, row by row.
    fn write_csv(
        &self,
        name: &str,
        raw: bool,
        write: impl FnOnce(&mut CsvOut) -> csv::Result<()>,
    ) -> Result<()> {
        let path = self.target.join(name);
        let file = std::fs::File::create(self.temp.join(name)).map_err(|e| Error::io(&path, e))?;
        self.written().insert(name.to_string());
        let rendered = CsvOut::new(Sink::File(file), raw).render(write);
        match rendered.map_err(|e| Error::fatal(format!("{}: {e}", path.display())))? {
            Sink::File(file) => file.sync_all().map_err(|e| Error::io(&path, e)),
            Sink::Memory(_) => unreachable!("rendered into a file"),
        }
    }

    /// Move the complete directory into place, replacing the previous one.
    pub fn commit(mut self) -> Result<()> {
        let manifest = manifest_text(&self.written());
        write_synced(&self.temp.join(MANIFEST), manifest.as_bytes())
            .map_err(|e| Error::io(&self.target.join(MANIFEST), e))?;
        match self.in_place.take() {
            Some(previous) => self.commit_in_place(&previous)?,
            None => self.commit_whole()?,
        }
        self.committed = true;
        Ok(())
    }

    /// Rename the target aside and the new directory into its place.
    fn commit_whole(&self) -> Result<()> {
        let temp_name = self.temp.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let old = self
            .temp
            .with_file_name(temp_name.replacen(".tmp-", ".old-", 1));
        let target = &self.target;
        if target.exists() {
            match std::fs::rename(target, &old) {
                // A mount point on the same device (a bind mount).
                Err(e) if e.raw_os_error() == Some(EBUSY) => {
                    return self.commit_in_place(&read_manifest(target)?)
                }
                other => other.map_err(|e| Error::io(target, e))?,
            }
        }
        std::fs::rename(&self.temp, target).map_err(|e| Error::io(target, e))?;
        let _ = std::fs::remove_dir_all(&old);
        Ok(())
    }

    /// Replace a mount point's files one by one (each rename is atomic),
    /// the manifest last, then remove the previous run's other files.
    fn commit_in_place(&self, previous: &BTreeSet<String>) -> Result<()> {
        let written = self.written();
        for name in written.iter().map(String::as_str).chain([MANIFEST]) {
            let to = self.target.join(name);
            place(&self.temp.join(name), &to).map_err(|e| Error::io(&to, e))?;
        }
        for stale in previous.difference(&written) {
            let path = self.target.join(stale);
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        }
        let _ = std::fs::remove_dir_all(&self.temp);
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

/// `target`'s own name: `.`, `..` and `/` cannot be replaced.
fn own_name(target: &Path) -> Result<&str> {
    target
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| *n != "." && *n != "..")
        .ok_or_else(|| {
            Error::fatal(format!(
                "--out {}: name a directory of its own, e.g. reports/",
                target.display()
            ))
        })
}

/// The files of the earlier output at `target` (none if it is absent or
/// empty), or why it may not be replaced.
fn previous_output(target: &Path) -> Result<Option<BTreeSet<String>>> {
    let shown = target.display();
    let meta = match std::fs::symlink_metadata(target) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(target, e)),
    };
    if meta.file_type().is_symlink() {
        let to = std::fs::read_link(target).unwrap_or_default();
        return Err(Error::fatal(format!(
            "--out {shown}: a symbolic link (to {}); tokenledger never replaces a directory through \
             a link: name the directory itself",
            to.display()
        )));
    }
    if !meta.is_dir() {
        return Err(Error::fatal(format!(
            "--out {shown}: a file, not a directory; name a new or empty directory for the reports"
        )));
    }
    let listed = read_manifest(target)?;
    let mut foreign = Vec::new();
    let mut entries = 0;
    for entry in std::fs::read_dir(target).map_err(|e| Error::io(target, e))? {
        let entry = entry.map_err(|e| Error::io(target, e))?;
        entries += 1;
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours = name == MANIFEST
            || (listed.contains(&name) && entry.file_type().is_ok_and(|t| t.is_file()));
        if !ours {
            foreign.push(name);
        }
    }
    if entries == 0 {
        return Ok(None);
    }
    if !foreign.is_empty() {
        foreign.sort();
        return Err(not_ours(target, &foreign, !listed.is_empty()));
    }
    Ok(Some(listed))
}

/// The refusal to replace a directory holding `foreign` entries.
fn not_ours(target: &Path, foreign: &[String], has_manifest: bool) -> Error {
    let shown: Vec<&str> = foreign.iter().take(3).map(String::as_str).collect();
    let more = match foreign.len().saturating_sub(3) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    let why = if has_manifest {
        "which tokenledger did not write"
    } else {
        "and no tokenledger manifest (an output of an older version, or not an output)"
    };
    Error::fatal(format!(
        "--out {}: the directory holds {}{more}, {why}; it would be replaced, so tokenledger \
         refuses: move those files or choose a new or empty directory",
        target.display(),
        shown.join(", ")
    ))
}

/// The file names `target`'s manifest lists (none without a manifest).
fn read_manifest(target: &Path) -> Result<BTreeSet<String>> {
    let path = target.join(MANIFEST);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .filter(|l| !l.contains(['/', '\\']) && *l != "." && *l != "..")
            .map(str::to_string)
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeSet::new()),
        Err(e) => Err(Error::io(&path, e)),
    }
}

/// The manifest listing `files`.
fn manifest_text(files: &BTreeSet<String>) -> String {
    let mut text = format!("{MANIFEST_HEADER}\n");
    for name in files {
        text.push_str(name);
        text.push('\n');
    }
    text
}

/// Whether `dir` is a mount point (on another device than its parent), so
/// it cannot be renamed.
fn is_mount_point(dir: &Path, parent: &Path) -> bool {
    match (std::fs::metadata(dir), std::fs::metadata(parent)) {
        (Ok(d), Ok(p)) => d.is_dir() && d.dev() != p.dev(),
        _ => false,
    }
}

/// `EBUSY`: renaming a mount point.
const EBUSY: i32 = 16;

/// Move the file `from` to `to` atomically: a rename, or (across devices) a
/// synced copy beside `to` renamed over it.
fn place(from: &Path, to: &Path) -> std::io::Result<()> {
    if std::fs::rename(from, to).is_ok() {
        return Ok(());
    }
    let beside = to.with_file_name(format!(".tokenledger.part-{}", std::process::id()));
    write_synced(&beside, &std::fs::read(from)?)?;
    std::fs::rename(&beside, to)
}

/// Write `bytes` to a new file at `path` and sync it.
fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Clean up after a run that was killed: its temporary directory is
/// removed, and if it was killed between moving the previous output aside
/// and moving the new one in, the previous output is put back.
fn recover(parent: &Path, name: &str, target: &Path) -> Result<()> {
    let leftovers = [
        (parent, format!(".{name}.")),
        (target, ".tokenledger.".to_string()),
    ];
    for (dir, prefix) in &leftovers {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            let Some(rest) = file_name
                .to_str()
                .and_then(|n| n.strip_prefix(prefix.as_str()))
            else {
                continue;
            };
            let (kind, pid) = rest.split_once('-').unwrap_or((rest, ""));
            // Leave the directories of a run still going (Linux: /proc/PID).
            if pid.is_empty()
                || Path::new("/proc").join(pid).exists()
                || !matches!(kind, "tmp" | "old" | "part")
            {
                continue;
            }
            if kind == "old" && !target.exists() {
                std::fs::rename(entry.path(), target).map_err(|e| Error::io(target, e))?;
            } else if kind == "part" {
                let _ = std::fs::remove_file(entry.path());
            } else {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    Ok(())
}

/// Every CSV file a run can write, for `--print`.
pub const CSV_FILES: [&str; 19] = [
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
    /// Outputs into `out` (created as [`OutDir::create`] says) and `print`.
    pub fn new(out: Option<&Path>, print: Option<&str>) -> Result<Outputs> {
        Ok(Outputs {
            dir: out.map(OutDir::create).transpose()?,
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
            Some(dir) if self.print.as_deref() != Some(name) => dir.write_csv(name, raw, write),
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

/// CSV rows being written. Unless raw, a text cell that starts with `=`,
/// `+`, `-`, `@`, a tab or a carriage return is prefixed with `'`, so a
/// spreadsheet shows it instead of running it (OWASP CSV injection);
/// numbers are never touched.
pub struct CsvOut {
    writer: csv::Writer<Sink>,
    raw: bool,
}

/// Where CSV bytes go: memory (to print, or to test), or straight into the
/// output directory's file, so a large report is never held whole.
enum Sink {
    Memory(Vec<u8>),
    File(std::fs::File),
}

impl Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Memory(v) => v.write(bytes),
            Sink::File(f) => f.write(bytes),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Memory(_) => Ok(()),
            Sink::File(f) => f.flush(),
        }
    }
}

impl CsvOut {
    fn new(sink: Sink, raw: bool) -> CsvOut {
        CsvOut {
            writer: csv::WriterBuilder::new()
                .buffer_capacity(1 << 16)
                .from_writer(sink),
            raw,
        }
    }

    /// Run `write` on the rows and take the sink back.
    fn render(mut self, write: impl FnOnce(&mut CsvOut) -> csv::Result<()>) -> csv::Result<Sink> {
        write(&mut self)?;
        self.writer
            .into_inner()
            .map_err(|e| csv::Error::from(e.into_error()))
    }

    /// Write one row, a cell at a time (no copy of a cell that is written
    /// as it is).
    pub fn row<S: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = S>) -> csv::Result<()> {
        for cell in cells {
            match self.raw {
                true => self.writer.write_field(cell.as_ref())?,
                false => self.writer.write_field(&*neutralise(cell.as_ref()))?,
            }
        }
        self.writer.write_record(std::iter::empty::<&[u8]>())
    }
}

/// A cell as a spreadsheet may safely show it: a text cell that starts
/// with a tab or a carriage return, or with `=`, `+`, `-` or `@` once its
/// leading blanks and controls are skipped (spaces, NUL, line feeds,
/// no-break and other Unicode spaces, zero-width characters, which a
/// spreadsheet may skip too), gets a leading `'`. Numbers are kept.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    // Most cells start with a letter or a digit: neither hidden nor risky.
    if cell
        .as_bytes()
        .first()
        .is_some_and(u8::is_ascii_alphanumeric)
    {
        return Cow::Borrowed(cell);
    }
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
    let rendered = CsvOut::new(Sink::Memory(Vec::new()), raw).render(write);
    match rendered.map_err(|e| Error::fatal(format!("writing CSV: {e}")))? {
        Sink::Memory(bytes) => Ok(bytes),
        Sink::File(_) => unreachable!("rendered into memory"),
    }
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
