//! A directory written once and whole (`simulate`'s month, with its
//! `spans/` and `invoices/` inside): built in a hidden temporary directory
//! beside the target and renamed into place when complete, so a failed or
//! killed run leaves no half-written month (a killed run's hidden
//! `.NAME.tmp-…` directory beside it is left for you to remove: nothing
//! marks it as tokenledger's). The target must be absent or an empty
//! directory, not a mount point: what is already there is never replaced,
//! and no file is ever written through a link.

use std::path::{Path, PathBuf};

use super::guard::{check_target, parent_of};
use super::out_dir::own_name;
use super::rename::{create_dir_for, give_looks, is_mount_point, looks_of, Looks};
use crate::error::{Error, Result};
use crate::owner::unique_suffix;

/// A new directory being written: [`FreshDir::path`] until
/// [`FreshDir::commit`]; removed if dropped before.
pub struct FreshDir {
    target: PathBuf,
    temp: PathBuf,
    /// The empty target's owner, group and mode, which the new directory
    /// takes.
    looks: Option<Looks>,
    committed: bool,
}

impl FreshDir {
    /// Start writing `target`, which must be absent or an empty directory,
    /// not a link, and not in, over or around one of `inputs`.
    pub fn create(target: &Path, inputs: &[PathBuf]) -> Result<FreshDir> {
        check_target(target, inputs, false)?;
        let target: PathBuf = target.components().collect();
        match std::fs::read_dir(&target).map(|mut entries| entries.next().is_some()) {
            Ok(true) => {
                return Err(Error::fatal(format!(
                    "--out {}: not empty; a new month is written only into a new or empty \
                     directory, so nothing there is replaced: remove it or choose another",
                    target.display()
                )))
            }
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::io(&target, e))
            }
            _ => {}
        }
        let name = own_name(&target)?;
        let parent = parent_of(&target);
        if is_mount_point(&target, &parent) {
            return Err(Error::fatal(format!(
                "--out {}: a mount point, which cannot be replaced: name a directory inside it",
                target.display()
            )));
        }
        std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
        let temp = parent.join(format!(".{name}.tmp-{}", unique_suffix()));
        // Never an entry already there: it is not this run's. It takes the
        // place of an empty target, so it takes its looks at the commit.
        let looks = looks_of(&target);
        create_dir_for(&temp, looks).map_err(|e| Error::io(&temp, e))?;
        Ok(FreshDir {
            target,
            temp,
            looks,
            committed: false,
        })
    }

    /// Where the files go until the commit.
    pub fn path(&self) -> &Path {
        &self.temp
    }

    /// Move the complete directory into place (over an empty directory).
    pub fn commit(mut self) -> Result<()> {
        give_looks(&self.temp, self.looks).map_err(|e| Error::io(&self.temp, e))?;
        std::fs::rename(&self.temp, &self.target).map_err(|e| Error::io(&self.target, e))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for FreshDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.temp);
        }
    }
}
