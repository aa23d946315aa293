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
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::checked::{check_listed, unchanged_since_checked, while_writing, Stamps};
use super::guard::{not_an_input, parent_of};
use super::leftovers::{foreign_entries, recover, remove_output, remove_temp, Check, INNER_PREFIX};
use super::rename::{
    create_dir_for, exchange, give_looks, is_mount_point, looks_of, make_private, place,
    write_new_synced, write_synced, Looks, EBUSY,
};
use crate::error::{Error, Result};
use crate::manifest::{Manifest, Sha, MANIFEST};
use crate::owner::{unique_suffix, OwnerLock};
use crate::terminal::escape;

/// An output directory being written: files land in a temporary directory,
/// moved into place by [`OutDir::commit`]. Dropped without a commit (an
/// error), the temporary directory is removed.
///
/// The target is replaced as a whole (swapped with the new one in one
/// step where Linux can, else renamed aside and the new one renamed in),
/// unless it is a mount point (a bind mount too), which cannot be renamed:
/// then its files are replaced one by one and the files of the previous
/// run that this one did not write are removed.
pub struct OutDir {
    target: PathBuf,
    kind: OutputKind,
    /// The entries this run creates beside (or inside) the target, its
    /// temporary directory (where the files go until the commit) first.
    own: Own,
    /// The previous run's files, when the target is updated in place.
    in_place: Option<BTreeSet<String>>,
    /// The previous output's files as checked against its manifest when
    /// the run started: each must be the same file, unchanged, at commit.
    checked: Stamps,
    /// The target's owner, group and mode, which the new directory takes
    /// (none: a new directory's, under the umask).
    looks: Option<Looks>,
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
        let parent = parent_of(&target);
        not_an_input(&target, &parent, inputs, true)?;
        std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
        // This run's entries go beside the target, or inside a mount point.
        let mount = is_mount_point(&target, &parent);
        let own = match mount {
            true => Own::new(&target, INNER_PREFIX, &target),
            false => Own::new(&parent, &format!(".{name}."), &target),
        };
        let lock = own.lock(&target)?;
        let in_target: Vec<String> = match mount {
            true => vec![file_name(lock.path())],
            false => Vec::new(),
        };
        let previous = previous_output(&target, &in_target, kind)?;
        let checked = match previous {
            Some(_) => check_listed(&target)?,
            None => Stamps::new(),
        };
        let in_place = mount.then(|| previous.unwrap_or_default());
        // Never an entry already there: it is not this run's. It takes the
        // place of the target, so it takes the target's looks at the commit.
        let looks = (!mount).then(|| looks_of(&target)).flatten();
        create_dir_for(&own.temp, looks).map_err(|e| Error::io(&own.temp, e))?;
        Ok(OutDir {
            target,
            kind,
            own,
            in_place,
            checked,
            looks,
            written: Mutex::default(),
            committed: false,
            lock: Some(lock),
        })
    }

    /// Write one file (synced) into the directory.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<()> {
        write_synced(&self.own.temp.join(name), bytes)
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
        (self.own.temp.join(name), self.target.join(name))
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
                .map(|(name, sha)| (name.clone(), vec![sha.clone()]))
                .collect(),
            kind: Some(self.kind.name().to_string()),
        };
        write_synced(&self.own.temp.join(MANIFEST), manifest.render().as_bytes())
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
        [Some(self.own.temp.as_path()), lock]
            .into_iter()
            .flatten()
            .filter(|p| p.parent() == Some(self.target.as_path()))
            .map(file_name)
            .collect()
    }

    /// Put the new directory in the target's place (swapped in one step,
    /// or the target renamed aside and the new one renamed in); the
    /// previous output's files are then removed, and only they.
    fn commit_whole(&self) -> Result<()> {
        let target = &self.target;
        // Anything saved into the target while this run was writing stops
        // the commit: checked before the target moves, and again once it
        // has (a file saved in between is put back with it).
        still_ours(target, target, &[], self)?;
        let old = &self.own.old;
        let temp = &self.own.temp;
        give_looks(temp, self.looks).map_err(|e| Error::io(temp, e))?;
        // A bind mount cannot be renamed over: its files go in one by one,
        // out of a directory the runner's alone again.
        let in_place = |previous: &BTreeSet<String>| {
            make_private(temp).map_err(|e| Error::io(temp, e))?;
            self.commit_in_place(previous)
        };
        // An earlier output (an empty directory is simply renamed over).
        if target.join(MANIFEST).is_file() {
            // Swapped in one step where the system can: --out is never
            // missing, not even for a moment.
            if exchange(&self.own.temp, target).is_ok() {
                return self.after_exchange(old);
            }
            match std::fs::rename(target, old) {
                // A mount point on the same device (a bind mount).
                Err(e) if e.raw_os_error() == Some(EBUSY) => {
                    return in_place(&Manifest::read(target)?.files.into_keys().collect())
                }
                other => other.map_err(|e| Error::io(target, e))?,
            }
            if let Err(refusal) = still_ours(old, target, &[], self) {
                std::fs::rename(old, target).map_err(|e| Error::io(target, e))?;
                return Err(refusal);
            }
        }
        if let Err(e) = std::fs::rename(&self.own.temp, target) {
            // An empty mount point on the same device (a bind mount).
            if e.raw_os_error() == Some(EBUSY) && !old.exists() {
                return in_place(&BTreeSet::new());
            }
            // The previous output back in place (else the next run puts it
            // back: it is recorded).
            if old.exists() {
                std::fs::rename(old, target).map_err(|e| Error::io(target, e))?;
            }
            return Err(Error::io(target, e));
        }
        if old.exists() {
            self.remove_previous_or_put_back(old)?;
        }
        Ok(())
    }

    /// The new output is in place, and the previous one where the new one
    /// was built: it takes its leftover name (`old`), is checked for
    /// anything saved into it meanwhile (then the two are swapped back),
    /// and its files are removed.
    fn after_exchange(&self, old: &Path) -> Result<()> {
        let target = &self.target;
        if let Err(e) = std::fs::rename(&self.own.temp, old) {
            // The previous output back in place; the new one is removed.
            exchange(&self.own.temp, target).map_err(|e| Error::io(target, e))?;
            return Err(Error::io(old, e));
        }
        if let Err(refusal) = still_ours(old, target, &[], self) {
            exchange(old, target).map_err(|e| Error::io(target, e))?;
            std::fs::rename(old, &self.own.temp).map_err(|e| Error::io(&self.own.temp, e))?;
            return Err(refusal);
        }
        self.remove_previous_or_put_back(old)
    }

    /// Remove the previous output (moved aside to `old`); where that fails
    /// (a read-only directory), put it back in place and the new output
    /// back where it was built, so a failed run has written nothing and
    /// leaves nothing the next run could not remove.
    fn remove_previous_or_put_back(&self, old: &Path) -> Result<()> {
        let Err(failed) = self.remove_previous(old) else {
            return Ok(());
        };
        let (target, temp) = (&self.target, &self.own.temp);
        // The previous output back in place, the new one where it was built
        // (its leftover name recorded, should that last rename fail).
        let back = match exchange(old, target) {
            Ok(()) => std::fs::rename(old, temp),
            Err(_) => std::fs::rename(target, temp).and_then(|()| std::fs::rename(old, target)),
        };
        match back {
            Ok(()) => Err(Error::fatal(format!(
                "--out {}: the previous output's files cannot be removed ({failed}): it is left \
                 in place, and nothing was written",
                target.display()
            ))),
            Err(_) => Err(failed),
        }
    }

    /// Remove the previous output, moved aside to `old`: its listed files
    /// that are as they were checked; anything else (saved into it or
    /// changed after it was checked) is moved into the new output, or,
    /// where a new file has its name, left in `old`. Each is named.
    fn remove_previous(&self, old: &Path) -> Result<()> {
        for kept in remove_output(old, Check::Stamps(&self.checked))? {
            let to = self.target.join(&kept);
            let from = old.join(&kept);
            let at = if std::fs::symlink_metadata(&to).is_ok() {
                from
            } else {
                std::fs::rename(&from, &to).map_err(|e| Error::io(&to, e))?;
                to
            };
            crate::stderr_line!(
                "tokenledger: note: {} was saved or changed while this run replaced --out; kept \
                 at {}",
                escape(&kept),
                escape(&at.display().to_string())
            );
        }
        let _ = std::fs::remove_dir(old);
        Ok(())
    }

    /// Replace a mount point's files one by one (each rename is atomic):
    /// first a manifest listing the previous files and the new ones, then
    /// the new files, then the previous run's other files are removed, and
    /// the manifest of this run goes last. A run killed at any step leaves
    /// a directory the next run knows as its own (a name in both lists
    /// with both hashes: it may hold either).
    fn commit_in_place(&self, previous: &BTreeSet<String>) -> Result<()> {
        still_ours(&self.target, &self.target, &self.own_entries(), self)?;
        let written = self.written();
        let mut both = Manifest::read(&self.target)?;
        both.kind = Some(self.kind.name().to_string());
        // A name in both lists may hold either file until it is placed:
        // both hashes are listed (the old ones were checked at the start).
        for (name, sha) in written.iter() {
            let hashes = both.files.entry(name.clone()).or_default();
            if !hashes.contains(sha) {
                hashes.push(sha.clone());
            }
        }
        let manifest = self.target.join(MANIFEST);
        let inner = &self.own.inner;
        write_new_synced(inner, both.render().as_bytes())
            .and_then(|()| std::fs::rename(inner, &manifest))
            .map_err(|e| Error::io(&manifest, e))?;
        let place_one = |name: &str| {
            let to = self.target.join(name);
            place(&self.own.temp.join(name), &to, inner).map_err(|e| Error::io(&to, e))
        };
        for name in written.keys() {
            place_one(name)?;
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
        place_one(MANIFEST)?;
        // Emptied by the renames, or (across mounts) still holding copies.
        remove_temp(&self.own.temp);
        Ok(())
    }
}

impl Drop for OutDir {
    fn drop(&mut self) {
        if !self.committed {
            // What this run wrote, by name; then what a run may have left.
            let written = self.written.lock();
            let written = written.unwrap_or_else(std::sync::PoisonError::into_inner);
            let names: Vec<String> = written.keys().cloned().collect();
            drop(written);
            for name in names {
                let _ = std::fs::remove_file(self.own.temp.join(name));
            }
            remove_temp(&self.own.temp);
            if self.own.any_left() {
                if let Some(lock) = self.lock.as_mut() {
                    lock.keep();
                }
            }
        }
    }
}

/// The entries a run creates beside its target (inside it, on a mount
/// point), each named uniquely (process id and nanoseconds): its temporary
/// directory, the previous output moved aside, a file being placed (beside
/// and inside the target). Their names are written into the target's lock
/// before they exist, so the next run removes exactly these if this one
/// is killed or fails half-way, and never an entry that merely looks like
/// one.
struct Own {
    /// Where they go, and how their names begin.
    home: PathBuf,
    prefix: String,
    lock: PathBuf,
    temp: PathBuf,
    old: PathBuf,
    part: PathBuf,
    /// A file being placed inside the target (updated in place).
    inner: PathBuf,
}

impl Own {
    fn new(home: &Path, prefix: &str, target: &Path) -> Own {
        let suffix = unique_suffix();
        let at = |kind: &str| home.join(format!("{prefix}{kind}-{suffix}"));
        Own {
            home: home.to_path_buf(),
            prefix: prefix.to_string(),
            lock: home.join(format!("{prefix}lock")),
            temp: at("tmp"),
            old: at("old"),
            part: at("part"),
            inner: target.join(format!("{INNER_PREFIX}part-{suffix}")),
        }
    }

    /// Every entry, with its kind as recorded.
    fn entries(&self) -> [(&'static str, &Path); 4] {
        [
            ("tmp", &self.temp),
            ("old", &self.old),
            ("part", &self.part),
            ("inner", &self.inner),
        ]
    }

    /// Take the target's lock (one per target, whichever run: a second run
    /// into the same --out stops here while the first holds it), recover
    /// what a run that did not finish recorded in it, and record this
    /// run's entries. A recovery that fails leaves the record for the next.
    fn lock(&self, target: &Path) -> Result<OwnerLock> {
        let Some(mut lock) = OwnerLock::try_acquire(self.lock.clone())? else {
            return Err(Error::fatal(format!(
                "--out {}: another tokenledger run is writing it; wait for it to end",
                target.display()
            )));
        };
        let left = lock.left()?;
        if let Err(e) = recover((&self.home, &self.prefix), &left, target) {
            lock.keep();
            return Err(e);
        }
        let text: String = (self.entries().iter())
            .map(|(kind, path)| format!("{kind} {}\n", file_name(path)))
            .collect();
        lock.record(&text)?;
        Ok(lock)
    }

    /// Whether any entry is still on disk (a run that failed half-way).
    fn any_left(&self) -> bool {
        (self.entries().iter()).any(|(_, path)| std::fs::symlink_metadata(path).is_ok())
    }
}

/// A path's last part, as text.
fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
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
    let foreign: Vec<&str> = foreign.iter().map(String::as_str).collect();
    Err(while_writing(target, &foreign, "appeared in it"))
}

/// `target`'s own name: `.`, `..` and `/` cannot be replaced.
pub(super) fn own_name(target: &Path) -> Result<&str> {
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
    if listed.kind.is_none() && !listed.files.is_empty() {
        return Err(Error::fatal(format!(
            "--out {shown}: its manifest names no kind of output (an older tokenledger's, or \
             edited), so which command may replace it cannot be told and tokenledger refuses: \
             move it, or choose another directory"
        )));
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
