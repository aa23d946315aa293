//! What a killed run left beside an output directory (its temporary
//! directory, the previous output it had moved aside, its lock and part
//! files), found and removed or put back by the next run into the same
//! `--out`, under that target's lock.

use std::path::Path;

use crate::error::{Error, Result};
use crate::manifest::{Manifest, MANIFEST};

/// Clean up after a run that was killed, under the target's lock (so no
/// run that could own them is still going): `left` is what the killed run
/// recorded in the lock, one `KIND NAME` line for each entry it was about
/// to create in `home` (the target's directory, or the target itself on a
/// mount point). Those entries, and only they, are removed: a temporary
/// directory, a file being placed; the previous output it had moved aside
/// is put back if the target is missing (it was killed between the two
/// renames), else its files are removed. What a user named alike is never
/// touched.
pub(super) fn recover(home: &Path, left: &str, target: &Path) -> Result<()> {
    for line in left.lines() {
        let Some((kind, name)) = line.split_once(' ') else {
            continue;
        };
        // Only an entry of `home` itself, named as a run names its own.
        if !name.starts_with('.') || name.contains('/') {
            continue;
        }
        let path = home.join(name);
        if std::fs::symlink_metadata(&path).is_err() {
            continue;
        }
        remove_leftover(kind, &path, target)?;
    }
    Ok(())
}

/// Remove (or put back) one leftover of a killed run; see [`recover`].
fn remove_leftover(kind: &str, path: &Path, target: &Path) -> Result<()> {
    match kind {
        "old" if !target.exists() => {
            std::fs::rename(path, target).map_err(|e| Error::io(target, e))?
        }
        "old" => {
            remove_output(path, true)?;
            let _ = std::fs::remove_dir(path);
        }
        "tmp" => remove_temp(path),
        "part" if path.is_file() => {
            let _ = std::fs::remove_file(path);
        }
        _ => {}
    }
    Ok(())
}

/// Remove a run's temporary directory: one holding a manifest (a run that
/// failed or was killed while it committed; or the previous output, swapped
/// out of its place) loses its listed files only; one without, written
/// file by file, only when it holds plain files alone.
pub(super) fn remove_temp(dir: &Path) {
    if dir.join(MANIFEST).is_file() {
        let _ = remove_output(dir, true);
        let _ = std::fs::remove_dir(dir);
    } else if holds_files_only(dir) {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Whether `dir` is a directory holding plain files only, as a run's
/// temporary directory does.
fn holds_files_only(dir: &Path) -> bool {
    let is_dir = std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir());
    is_dir
        && std::fs::read_dir(dir).is_ok_and(|entries| {
            entries
                .flatten()
                .all(|e| e.file_type().is_ok_and(|t| t.is_file()))
        })
}

/// The entries of `dir` that are neither its manifest nor a file it lists
/// (nor one of `own`), sorted.
pub(super) fn foreign_entries(
    dir: &Path,
    listed: &Manifest,
    own: &[String],
) -> Result<Vec<String>> {
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
/// manifest); with `check`, only those that still have the SHA-256 it
/// lists. The names of the entries left in place: any others, and the
/// files that changed.
pub(super) fn remove_output(dir: &Path, check: bool) -> Result<Vec<String>> {
    let listed = Manifest::read(dir)?;
    let mut kept = foreign_entries(dir, &listed, &[])?;
    for (name, sha) in &listed.files {
        let path = dir.join(name);
        let changed = check
            && sha.as_ref().is_some_and(|sha| {
                crate::manifest::sha256_file(&path).is_ok_and(|actual| &actual != sha)
            });
        if kept.contains(name) || changed {
            kept.push(name.clone());
            continue;
        }
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(Error::io(&path, e)),
            _ => {}
        }
    }
    let manifest = dir.join(MANIFEST);
    match std::fs::remove_file(&manifest) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(&manifest, e)),
        _ => {
            kept.sort();
            kept.dedup();
            Ok(kept)
        }
    }
}
