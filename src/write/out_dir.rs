//! An output directory written as a whole ([`OutDir`]): every file goes
//! into a temporary directory beside it, which replaces it only once all
//! files are complete, so an interrupted run leaves the previous reports or
//! none, never a mix. Only what tokenledger wrote is ever replaced or
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

use crate::error::{Error, Result};
use crate::manifest::{Manifest, Sha, MANIFEST};
use crate::owner::{abandoned, OwnerLock};
use crate::terminal::escape;

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
    /// Every file written so far, with its hash.
    written: Mutex<BTreeMap<String, Sha>>,
    committed: bool,
    /// Held while the temporary directory exists.
    lock: Option<OwnerLock>,
}

impl OutDir {
    /// Start writing `target`. It must be absent, an empty directory, or an
    /// earlier tokenledger output holding only the files its manifest
    /// lists; a symbolic link, a file, a directory holding anything else,
    /// or a path that is, holds or lies inside one of `inputs` is refused.
    pub fn create(target: &Path, inputs: &[PathBuf]) -> Result<OutDir> {
        let name = own_name(target)?;
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        not_an_input(target, &parent, inputs)?;
        recover(&parent, name, target)?;
        let previous = previous_output(target, &[])?;
        let in_place = is_mount_point(target, &parent).then(|| previous.unwrap_or_default());
        let pid = std::process::id();
        let (lock, temp) = match in_place {
            Some(_) => (
                target.join(format!(".tokenledger.lock-{pid}")),
                target.join(format!(".tokenledger.tmp-{pid}")),
            ),
            None => (
                parent.join(format!(".{name}.lock-{pid}")),
                parent.join(format!(".{name}.tmp-{pid}")),
            ),
        };
        let lock = OwnerLock::acquire(lock)?;
        let _ = std::fs::remove_dir_all(&temp);
        std::fs::create_dir_all(&temp).map_err(|e| Error::io(&temp, e))?;
        Ok(OutDir {
            target: target.to_path_buf(),
            temp,
            in_place,
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
        still_ours(target, target, &[])?;
        let temp_name = self.temp.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let old = self
            .temp
            .with_file_name(temp_name.replacen(".tmp-", ".old-", 1));
        if target.exists() {
            match std::fs::rename(target, &old) {
                // A mount point on the same device (a bind mount).
                Err(e) if e.raw_os_error() == Some(EBUSY) => {
                    return self
                        .commit_in_place(&Manifest::read(target)?.files.into_keys().collect())
                }
                other => other.map_err(|e| Error::io(target, e))?,
            }
            if let Err(refusal) = still_ours(&old, target, &[]) {
                std::fs::rename(&old, target).map_err(|e| Error::io(target, e))?;
                return Err(refusal);
            }
        }
        std::fs::rename(&self.temp, target).map_err(|e| Error::io(target, e))?;
        if old.exists() {
            for kept in remove_output(&old)? {
                // Saved into the old directory after it was checked: kept.
                let to = target.join(&kept);
                std::fs::rename(old.join(&kept), &to).map_err(|e| Error::io(&to, e))?;
                eprintln!(
                    "tokenledger: note: {} was saved into --out while this run replaced it; kept",
                    escape(&to.display().to_string())
                );
            }
            let _ = std::fs::remove_dir(&old);
        }
        Ok(())
    }

    /// Replace a mount point's files one by one (each rename is atomic),
    /// the manifest last, then remove the previous run's other files.
    fn commit_in_place(&self, previous: &BTreeSet<String>) -> Result<()> {
        still_ours(&self.target, &self.target, &self.own_entries())?;
        let written = self.written();
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
            let _ = std::fs::remove_dir_all(&self.temp);
        }
    }
}

/// At commit time: the target must still hold only what it held when the
/// run started (its previous output) and this run's own entries.
/// `dir` is the target, or the target moved aside (named `target` in the
/// message).
fn still_ours(dir: &Path, target: &Path, own: &[String]) -> Result<()> {
    let Err(refusal) = previous_output(dir, own) else {
        return Ok(());
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

/// Refuse an output directory that is one of `inputs`, holds one, or lies
/// inside an input directory: writing it would replace or add to what the
/// run reads.
fn not_an_input(target: &Path, parent: &Path, inputs: &[PathBuf]) -> Result<()> {
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
        } else if input.starts_with(&target) {
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
fn previous_output(target: &Path, own: &[String]) -> Result<Option<BTreeSet<String>>> {
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
    Ok(Some(listed.files.into_keys().collect()))
}

/// The entries of `dir` that are neither its manifest nor a file it lists
/// (nor one of `own`), sorted.
fn foreign_entries(dir: &Path, listed: &Manifest, own: &[String]) -> Result<Vec<String>> {
    let mut foreign = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours = name == MANIFEST
            || own.contains(&name)
            || (listed.lists(&name) && entry.file_type().is_ok_and(|t| t.is_file()));
        if !ours {
            foreign.push(name);
        }
    }
    foreign.sort();
    Ok(foreign)
}

/// Remove an earlier output's files (those its manifest lists, and the
/// manifest); the names of any other entries, left in place.
fn remove_output(dir: &Path) -> Result<Vec<String>> {
    let listed = Manifest::read(dir)?;
    let foreign = foreign_entries(dir, &listed, &[])?;
    let ours = listed.files.keys().filter(|n| !foreign.contains(n));
    for name in ours.map(String::as_str).chain([MANIFEST]) {
        let path = dir.join(name);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(Error::io(&path, e)),
            _ => {}
        }
    }
    Ok(foreign)
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

/// Clean up after a run that was killed: its temporary directory is
/// removed, and if it was killed between moving the previous output aside
/// and moving the new one in, the previous output is put back. A run's
/// leftovers are told by their lock file ([`crate::owner`]): one still
/// held belongs to a run still going, whatever its process id.
fn recover(parent: &Path, name: &str, target: &Path) -> Result<()> {
    let leftovers = [
        (parent, format!(".{name}.")),
        (target, ".tokenledger.".to_string()),
    ];
    for (dir, prefix) in &leftovers {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        entries.sort();
        for path in entries {
            let Some(rest) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix(prefix.as_str()))
            else {
                continue;
            };
            let (kind, pid) = rest.split_once('-').unwrap_or((rest, ""));
            let lock = dir.join(format!("{prefix}lock-{pid}"));
            let known = matches!(kind, "tmp" | "old" | "part" | "lock");
            if pid.is_empty() || !known || !abandoned(&lock) {
                continue;
            }
            match kind {
                // Killed between moving the previous output aside and
                // moving the new one in: put it back.
                "old" if !target.exists() => {
                    std::fs::rename(&path, target).map_err(|e| Error::io(target, e))?
                }
                "old" => {
                    remove_output(&path)?;
                    let _ = std::fs::remove_dir(&path);
                }
                "tmp" => {
                    let _ = std::fs::remove_dir_all(&path);
                }
                _ => {
                    let _ = std::fs::remove_file(&path);
                }
            }
            let _ = std::fs::remove_file(&lock);
        }
    }
    Ok(())
}
