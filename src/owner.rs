//! What a run owns on disk while it runs (an output's temporary directory,
//! a spill directory) is marked by a lock file the run holds locked
//! (`flock`). Another run removes such leftovers only when their lock is
//! free: their owner ended without cleaning up. Process ids would not do:
//! a run in another PID namespace (a container sharing `TMPDIR` or the
//! output's parent) has ids this one cannot see.
//!
//! The lock file is created before what it guards and removed after it,
//! so what a run leaves always has its lock file beside it; a thing named
//! like a leftover but without one is left alone (it may be a user's).

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A lock file held by this run; removed (and released) when dropped.
#[derive(Debug)]
pub struct OwnerLock {
    path: PathBuf,
    _file: File,
}

impl OwnerLock {
    /// Create `path` and lock it; an error if another live run holds it.
    /// A lock file its holder removed between this run's open and lock is
    /// not the lock any more: then the file now at `path` is taken.
    pub fn acquire(path: PathBuf) -> Result<OwnerLock> {
        loop {
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(|e| Error::io(&path, e))?;
            match file.try_lock() {
                Ok(()) if same_file(&file, &path) => return Ok(OwnerLock { path, _file: file }),
                Ok(()) => continue,
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(Error::fatal(format!(
                        "{}: held by another tokenledger run",
                        path.display()
                    )))
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
            }
        }
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for OwnerLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether the open `file` is the file at `path` now.
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Whether the thing guarded by the lock file `lock` is a leftover: the
/// lock file exists and nobody holds it. Without its lock file, a thing
/// is never taken for a leftover: it may not be tokenledger's.
pub fn abandoned(lock: &Path) -> bool {
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
}
