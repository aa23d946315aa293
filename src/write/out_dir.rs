//! An output directory written as a whole ([`OutDir`]): every file goes
//! into a temporary directory beside it, which replaces it only once all
//! files are complete, so an interrupted run leaves the previous reports
//! (or, where the two cannot be swapped in one step, none for a moment),
//! never a mix. Only what tokenledger wrote is ever replaced or
//! removed: each output directory lists its files, with their SHA-256, in
//! its manifest ([`crate::manifest`]), and the directory is checked for
//! anything else both when the run starts and when it commits (a file
//! saved into it while the run was writing stops the commit, and is kept).
//! An output never lands in, over or around one of the run's inputs.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::checked::{check_listed, unchanged_since_checked, Stamps};
use super::leftovers::{foreign_entries, recover, remove_output, remove_temp};
use crate::error::{Error, Result};
use crate::manifest::{Manifest, Sha, MANIFEST};
use crate::owner::OwnerLock;
use crate::terminal::escape;

/// An output directory being written: files land in a temporary directory,
/// moved into place by [`OutDir::commit`]. Dropped without a commit (an
/// error), the temporary directory is removed.
///
/// The target is replaced as a whole (swapped with the new one in one
/// step where Linux can, else renamed aside and the new one renamed in),
/// unless it is a mount point, which cannot be renamed: then its files
/// are replaced one by one and the files of the previous run that this one
/// did not write are removed.
pub struct OutDir {
    target: PathBuf,
    kind: OutputKind,
    temp: PathBuf,
    /// The previous run's files, when the target is updated in place.
    in_place: Option<BTreeSet<String>>,
    /// The previous output's files as checked against its manifest when
    /// the run started: each must be the same file, unchanged, at commit.
    checked: Stamps,
    /// Every file written so far, with its hash.
    written: Mutex<BTreeMap<String, Sha>>,
    committed: bool,
    /// Held while the temporary directory exists.
    lock: Option<OwnerLock>,
}

/// Which kind of output a directory holds (its manifest says): a run
/// replaces an earlier output of its own kind only, never, say, a saved
/// month's reports with a `diff`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputKind {
    /// A month's reports (`report`, `merge`).
    Reports,
    /// A shard's partial (`report --shard`).
    Partial,
    /// `reconcile`'s files.
    Reconciliation,
    /// `diff`'s files.
    Diff,
}

impl OutputKind {
    /// The kind's name in the manifest.
    pub fn name(self) -> &'static str {
        match self {
            OutputKind::Reports => "reports",
            OutputKind::Partial => "partial",
            OutputKind::Reconciliation => "reconciliation",
            OutputKind::Diff => "diff",
        }
    }
}

impl OutDir {
    /// Start writing `target`. It must be absent, an empty directory, or an
    /// earlier tokenledger output holding only the files its manifest
    /// lists; a symbolic link, a file, a directory holding anything else,
    /// or a path that is, holds or lies inside one of `inputs` is refused.
    pub fn create(target: &Path, inputs: &[PathBuf], kind: OutputKind) -> Result<OutDir> {
        // `reports/.` is `reports`: renamed as a whole, not taken for a
        // mount point because `.` cannot be renamed.
        let target: PathBuf = target.components().collect();
        let name = own_name(&target)?;
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        not_an_input(&target, &parent, inputs, true)?;
        std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
        // One lock per target, whichever run: a second run into the same
        // --out stops here while the first holds it.
        let mount = is_mount_point(&target, &parent);
        let (lock, temp) = match mount {
            true => (
                target.join(".tokenledger.lock"),
                target.join(".tokenledger.tmp-"),
            ),
            false => (
                parent.join(format!(".{name}.lock")),
                parent.join(format!(".{name}.tmp-")),
            ),
        };
        let lock = OwnerLock::acquire(lock).map_err(|_| {
            Error::fatal(format!(
                "--out {}: another tokenledger run is writing it; wait for it to end",
                target.display()
            ))
        })?;
        recover(&parent, name, &target)?;
        let own: Vec<String> = match mount {
            true => vec![".tokenledger.lock".to_string()],
            false => Vec::new(),
        };
        let previous = previous_output(&target, &own, kind)?;
        let checked = match previous {
            Some(_) => check_listed(&target)?,
            None => Stamps::new(),
        };
        let in_place = mount.then(|| previous.unwrap_or_default());
        let mut temp = temp.into_os_string();
        temp.push(std::process::id().to_string());
        let temp = PathBuf::from(temp);
        let _ = std::fs::remove_dir_all(&temp);
        std::fs::create_dir_all(&temp).map_err(|e| Error::io(&temp, e))?;
        Ok(OutDir {
            target,
            kind,
            temp,
            in_place,
            checked,
            written: Mutex::default(),
            committed: false,
            lock: Some(lock),
        })
    }

    /// Write one file (synced) into the directory.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<()> {
        write_synced(&self.temp.join(name), bytes)
            .map_err(|e| Error::io(&self.target.join(name), e))?;
        self.record(name, crate::manifest::sha256(bytes));
        Ok(())
    }

    /// Note a file written into the directory, with its hash.
    pub(super) fn record(&self, name: &str, sha: Sha) {
        self.written().insert(name.to_string(), sha);
    }

    /// Where the file `name` goes until the commit, and where it will be.
    pub(super) fn paths(&self, name: &str) -> (PathBuf, PathBuf) {
        (self.temp.join(name), self.target.join(name))
    }

    /// The names and hashes of the files written so far (two threads may write).
    fn written(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Sha>> {
        self.written.lock().expect("the written names")
    }

    /// Move the complete directory into place, replacing the previous one.
    pub fn commit(mut self) -> Result<()> {
        let manifest = Manifest {
            files: self
                .written()
                .iter()
                .map(|(name, sha)| (name.clone(), Some(sha.clone())))
                .collect(),
            kind: Some(self.kind.name().to_string()),
        };
        write_synced(&self.temp.join(MANIFEST), manifest.render().as_bytes())
            .map_err(|e| Error::io(&self.target.join(MANIFEST), e))?;
        match self.in_place.take() {
            Some(previous) => self.commit_in_place(&previous)?,
            None => self.commit_whole()?,
        }
        self.committed = true;
        Ok(())
    }

    /// Our own entries inside the target (updated in place): never foreign.
    fn own_entries(&self) -> Vec<String> {
        let lock = self.lock.as_ref().map(|l| l.path());
        [Some(self.temp.as_path()), lock]
            .into_iter()
            .flatten()
            .filter(|p| p.parent() == Some(self.target.as_path()))
            .filter_map(|p| Some(p.file_name()?.to_string_lossy().into_owned()))
            .collect()
    }

    /// Rename the target aside and the new directory into its place; the
    /// previous output's files are then removed, and only they.
    fn commit_whole(&self) -> Result<()> {
        let target = &self.target;
        // Anything saved into the target while this run was writing stops
        // the commit: checked before the target moves, and again once it
        // has (a file saved in between is put back with it).
        still_ours(target, target, &[], self)?;
        let temp_name = self.temp.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let old = self
            .temp
            .with_file_name(temp_name.replacen(".tmp-", ".old-", 1));
        if target.exists() {
            // Swapped in one step where the system can: --out is never
            // missing, not even for a moment.
            if exchange(&self.temp, target).is_ok() {
                return self.after_exchange(&old);
            }
            match std::fs::rename(target, &old) {
                // A mount point on the same device (a bind mount).
                Err(e) if e.raw_os_error() == Some(EBUSY) => {
                    return self
                        .commit_in_place(&Manifest::read(target)?.files.into_keys().collect())
                }
                other => other.map_err(|e| Error::io(target, e))?,
            }
            if let Err(refusal) = still_ours(&old, target, &[], self) {
                std::fs::rename(&old, target).map_err(|e| Error::io(target, e))?;
                return Err(refusal);
            }
        }
        std::fs::rename(&self.temp, target).map_err(|e| Error::io(target, e))?;
        if old.exists() {
            self.remove_previous(&old)?;
        }
        Ok(())
    }

    /// The new output is in place, and the previous one where the new one
    /// was built: it takes its leftover name (`old`), is checked for
    /// anything saved into it meanwhile (then the two are swapped back),
    /// and its files are removed.
    fn after_exchange(&self, old: &Path) -> Result<()> {
        let target = &self.target;
        std::fs::rename(&self.temp, old).map_err(|e| Error::io(old, e))?;
        if let Err(refusal) = still_ours(old, target, &[], self) {
            exchange(old, target).map_err(|e| Error::io(target, e))?;
            std::fs::rename(old, &self.temp).map_err(|e| Error::io(&self.temp, e))?;
            return Err(refusal);
        }
        self.remove_previous(old)
    }

    /// Remove the previous output, moved aside to `old`: its listed files;
    /// anything saved into it after it was checked is moved into the new
    /// output, and kept.
    fn remove_previous(&self, old: &Path) -> Result<()> {
        for kept in remove_output(old)? {
            let to = self.target.join(&kept);
            std::fs::rename(old.join(&kept), &to).map_err(|e| Error::io(&to, e))?;
            eprintln!(
                "tokenledger: note: {} was saved into --out while this run replaced it; kept",
                escape(&to.display().to_string())
            );
        }
        let _ = std::fs::remove_dir(old);
        Ok(())
    }

    /// Replace a mount point's files one by one (each rename is atomic),
    /// the manifest last, then remove the previous run's other files.
    fn commit_in_place(&self, previous: &BTreeSet<String>) -> Result<()> {
        still_ours(&self.target, &self.target, &self.own_entries(), self)?;
        let written = self.written();
        // First a manifest listing the previous files and the new ones, so
        // a run killed while the files are placed leaves a directory the
        // next run knows as its own (a name in both, without a hash: it
        // may be either).
        let mut both = Manifest::read(&self.target)?;
        both.kind = Some(self.kind.name().to_string());
        for (name, sha) in written.iter() {
            let old = both.files.get(name).cloned();
            both.files
                .insert(name.clone(), old.is_none().then(|| sha.clone()));
        }
        let interim = self.temp.join(".interim-manifest");
        write_synced(&interim, both.render().as_bytes()).map_err(|e| Error::io(&interim, e))?;
        let manifest = self.target.join(MANIFEST);
        place(&interim, &manifest).map_err(|e| Error::io(&manifest, e))?;
        for name in written.keys().map(String::as_str).chain([MANIFEST]) {
            let to = self.target.join(name);
            place(&self.temp.join(name), &to).map_err(|e| Error::io(&to, e))?;
        }
        for stale in previous.iter().filter(|n| !written.contains_key(*n)) {
            let path = self.target.join(stale);
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::io(&path, e))
                }
                _ => {}
            }
        }
        let _ = std::fs::remove_dir_all(&self.temp);
        Ok(())
    }
}

impl Drop for OutDir {
    fn drop(&mut self) {
        if !self.committed {
            remove_temp(&self.temp);
        }
    }
}

/// Swap two directories in one step (Linux's `renameat2` with
/// `RENAME_EXCHANGE`, glibc 2.28 and later); elsewhere, or where the file
/// system cannot, an error, and the caller renames in two steps.
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::ffi::CString;
        use std::os::raw::{c_char, c_int, c_uint};
        use std::os::unix::ffi::OsStrExt;
        const AT_FDCWD: c_int = -100;
        const RENAME_EXCHANGE: c_uint = 2;
        extern "C" {
            fn renameat2(
                olddirfd: c_int,
                oldpath: *const c_char,
                newdirfd: c_int,
                newpath: *const c_char,
                flags: c_uint,
            ) -> c_int;
        }
        let a = CString::new(a.as_os_str().as_bytes())?;
        let b = CString::new(b.as_os_str().as_bytes())?;
        // SAFETY: both paths are NUL-terminated strings that live across
        // the call; renameat2 reads them and touches no other memory.
        let done =
            unsafe { renameat2(AT_FDCWD, a.as_ptr(), AT_FDCWD, b.as_ptr(), RENAME_EXCHANGE) };
        if done == 0 {
            return Ok(());
        }
        Err(std::io::Error::last_os_error())
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        let _ = (a, b);
        Err(std::io::ErrorKind::Unsupported.into())
    }
}

/// At commit time: the target must still hold only what it held when the
/// run started (its previous output, each file as it was then) and this
/// run's own entries. `dir` is the target, or the target moved aside
/// (named `target` in the message).
fn still_ours(dir: &Path, target: &Path, own: &[String], out: &OutDir) -> Result<()> {
    let refusal = match previous_output(dir, own, out.kind) {
        Ok(_) => return unchanged_since_checked(dir, target, &out.checked),
        Err(refusal) => refusal,
    };
    let listed = Manifest::read(dir).unwrap_or_default();
    let foreign = foreign_entries(dir, &listed, own).unwrap_or_default();
    if foreign.is_empty() {
        return Err(refusal);
    }
    Err(Error::fatal(format!(
        "--out {}: {} appeared in it while this run was writing; tokenledger replaced nothing and \
         removed nothing: move {} elsewhere and run again",
        target.display(),
        foreign.join(", "),
        if foreign.len() == 1 { "it" } else { "them" }
    )))
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

/// For outputs not written by [`OutDir`] (`partition`'s directories, added
/// into `target`, which is never replaced): refuse a `target` that is a
/// symbolic link, or that is or lies inside one of `inputs`.
pub fn check_target(target: &Path, inputs: &[PathBuf]) -> Result<()> {
    let target: PathBuf = target.components().collect();
    if std::fs::symlink_metadata(&target).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(Error::fatal(format!(
            "--out {}: a symbolic link; tokenledger never writes through a link: name the \
             directory itself",
            target.display()
        )));
    }
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    not_an_input(&target, &parent, inputs, false)
}

/// Refuse an output directory that is one of `inputs`, holds one (when it
/// is replaced as a whole: `replaced`), or lies inside an input directory:
/// writing it would replace or add to what the run reads.
fn not_an_input(target: &Path, parent: &Path, inputs: &[PathBuf], replaced: bool) -> Result<()> {
    let Ok(parent) = std::fs::canonicalize(parent) else {
        return Ok(()); // created below, so it holds no input
    };
    let target = parent.join(target.file_name().unwrap_or_default());
    for input in inputs
        .iter()
        .filter(|p| p.as_os_str() != crate::read::STDIN)
    {
        let Ok(input) = std::fs::canonicalize(input) else {
            continue;
        };
        let clash = if input == target {
            Some("is")
        } else if replaced && input.starts_with(&target) {
            Some("holds")
        } else if target.starts_with(&input) {
            Some("is inside")
        } else {
            None
        };
        if let Some(how) = clash {
            return Err(Error::fatal(format!(
                "--out {}: {how} the input {}; tokenledger never writes into its inputs: \
                 choose another directory",
                target.display(),
                input.display()
            )));
        }
    }
    Ok(())
}

/// The files of the earlier output at `target` (none if it is absent or
/// empty), or why it may not be replaced; `own` are this run's entries.
fn previous_output(
    target: &Path,
    own: &[String],
    kind: OutputKind,
) -> Result<Option<BTreeSet<String>>> {
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
    let listed = Manifest::read(target)?;
    let foreign = foreign_entries(target, &listed, own)?;
    let entries = std::fs::read_dir(target)
        .map_err(|e| Error::io(target, e))?
        .count();
    if entries == own.len() {
        return Ok(None);
    }
    if !foreign.is_empty() {
        return Err(not_ours(target, &foreign, !listed.files.is_empty()));
    }
    if let Some(theirs) = listed.kind.as_deref().filter(|k| *k != kind.name()) {
        return Err(Error::fatal(format!(
            "--out {shown}: holds tokenledger {theirs} output (its manifest says so); this run \
             writes {}, which would replace it, so tokenledger refuses: choose another directory",
            kind.name()
        )));
    }
    Ok(Some(listed.files.into_keys().collect()))
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
pub(super) fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
