//! What a run owns on disk while it runs (an output's temporary directory,
//! a spill directory) is marked by a lock file the run holds locked
//! (`flock`). Another run removes such leftovers only when their lock is
//! free: their owner ended without cleaning up. Process ids would not do:
//! a run in another PID namespace (a container sharing `TMPDIR` or the
//! output's parent) has ids this one cannot see.
//!
//! The lock file is created before what it guards and removed after it
//! (kept, [`OwnerLock::keep`], while what it guards is still there), so
//! what a run leaves has its lock file beside it; a thing named like a
//! leftover but without one is left alone (it may be a user's). A lock
//! shared by every run of one target (an output directory's) also holds,
//! as its text, the names of what the run holding it creates
//! ([`OwnerLock::record`]): the next run removes what those name, and
//! nothing else.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A lock file held by this run; removed (and released) when dropped,
/// unless [`OwnerLock::keep`] was called.
#[derive(Debug)]
pub struct OwnerLock {
    path: PathBuf,
    file: File,
    /// Leave the file when dropped: it records what the next run must
    /// clean up.
    keep: bool,
}

impl OwnerLock {
    /// Create `path` and lock it; an error if another live run holds it.
    pub fn acquire(path: PathBuf) -> Result<OwnerLock> {
        OwnerLock::try_acquire(path.clone())?.ok_or_else(|| {
            Error::fatal(format!(
                "{}: held by another tokenledger run",
                path.display()
            ))
        })
    }

    /// Create `path` and lock it; `None` if another live run holds it.
    /// A lock file its holder removed between this run's open and lock is
    /// not the lock any more: then the file now at `path` is taken (tried
    /// a few times, then an error).
    pub fn try_acquire(path: PathBuf) -> Result<Option<OwnerLock>> {
        for _ in 0..16 {
            refuse_link(&path)?;
            let file = open_no_follow(&path)?;
            match file.try_lock() {
                Ok(()) if same_file(&file, &path) => {
                    let keep = false;
                    return Ok(Some(OwnerLock { path, file, keep }));
                }
                Ok(()) => continue,
                Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
                Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
            }
        }
        Err(Error::fatal(format!(
            "{}: removed again each time it was locked; is another tokenledger run starting?",
            path.display()
        )))
    }

    /// Leave the lock file when this run ends (released, not removed): what
    /// it records is still on disk for the next run to clean up.
    pub fn keep(&mut self) {
        self.keep = true;
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the lock file held when this run took it: a run that ended
    /// without removing it left there what it had [`OwnerLock::record`]ed.
    pub fn left(&mut self) -> Result<String> {
        let mut text = String::new();
        self.file
            .rewind()
            .and_then(|()| self.file.read_to_string(&mut text))
            .map_err(|e| Error::io(&self.path, e))?;
        Ok(text)
    }

    /// Replace the lock file's text with `text` (synced): the names of
    /// what this run is about to create.
    pub fn record(&mut self, text: &str) -> Result<()> {
        let file = &mut self.file;
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(text.as_bytes()))
            .and_then(|()| file.sync_data())
            .map_err(|e| Error::io(&self.path, e))
    }
}

impl Drop for OwnerLock {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A name part no other run's entry has: this process's id and the time
/// in nanoseconds (`PID-NANOS`).
pub fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}-{nanos}", std::process::id())
}

/// Whether `text` is a name part [`unique_suffix`] makes.
pub fn is_unique_suffix(text: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    text.split_once('-')
        .is_some_and(|(pid, nanos)| digits(pid) && digits(nanos))
}

/// Refuse a lock file path that is not a plain file (a link, say): opened,
/// it would write where the link points, outside the output.
fn refuse_link(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_file() => Err(link_refused(path)),
        _ => Ok(()),
    }
}

/// Open (or create) the lock file at `path` for reading and writing, never
/// through a link: one put there since [`refuse_link`] looked is refused
/// as it would have been (`O_NOFOLLOW`).
fn open_no_follow(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => link_refused(path),
            Some(libc::EACCES | libc::EROFS) if !path.exists() => not_writable(path, e),
            _ => Error::io(path, e),
        })
}

/// The error for a lock file that cannot be made: its directory is not
/// writable, which every output needs (its lock and its temporaries go
/// beside it and are renamed in).
fn not_writable(path: &Path, e: std::io::Error) -> Error {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    Error::fatal(format!(
        "{}: {e}: tokenledger keeps its lock, and the files it renames into place, in {}: \
         that directory must be writable",
        path.display(),
        dir.map_or_else(|| ".".into(), |d| d.display().to_string())
    ))
}

/// The error for a lock file path that is not a plain file.
fn link_refused(path: &Path) -> Error {
    Error::fatal(format!(
        "{}: where tokenledger keeps its lock file, but not a plain file (a link or a \
         directory): not written through; remove it if it is not yours",
        path.display()
    ))
}

/// Whether the open `file` is the plain file at `path` now (a link there
/// is not).
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::symlink_metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Whether the thing guarded by the lock file `lock` is a leftover: the
/// lock file exists and nobody holds it. Without its lock file, a thing
/// is never taken for a leftover: it may not be tokenledger's.
pub fn abandoned(lock: &Path) -> bool {
    if std::fs::symlink_metadata(lock).is_ok_and(|m| !m.file_type().is_file()) {
        return false;
    }
    match File::open(lock) {
        Err(_) => false,
        Ok(file) => file.try_lock().is_ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_live_and_a_released_one_abandoned() {
        let path = std::env::temp_dir().join(format!("tokenledger-owner-{}", std::process::id()));
        let lock = OwnerLock::acquire(path.clone()).unwrap();
        assert!(!abandoned(&path));
        assert!(OwnerLock::acquire(path.clone()).is_err());
        drop(lock);
        assert!(!path.exists());
        assert!(!abandoned(&path));
        std::fs::write(&path, "").unwrap();
        assert!(abandoned(&path));
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_lock_file_is_never_opened_through_a_link() {
        let dir = std::env::temp_dir().join(format!("tokenledger-nofollow-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (link, target) = (dir.join("lock"), dir.join("elsewhere"));
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = open_no_follow(&link).unwrap_err().to_string();
        assert!(err.contains("not a plain file"), "{err}");
        assert!(!target.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unique_suffixes_are_told_from_other_names() {
        assert!(is_unique_suffix(&unique_suffix()));
        for other in ["2025-05", "notes", "12", "12-", "-3", "1-2-3", "x1-2"] {
            assert_eq!(is_unique_suffix(other), other == "2025-05", "{other}");
        }
    }
}
