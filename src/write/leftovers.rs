//! What a killed run left beside an output directory (its temporary
//! directory, the previous output it had moved aside, its lock and part
//! files), found and removed or put back by the next run into the same
//! `--out`, under that target's lock.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::manifest::{Manifest, MANIFEST};
use crate::owner::abandoned;

/// Clean up after a run that was killed, under the target's lock (so no
/// run that could own them is still going): its temporary directory is
/// removed, and if it was killed between moving the previous output aside
/// and moving the new one in, the previous output is put back. Only
/// entries named as tokenledger names them (a process id in digits) are
/// touched: a temporary directory only when it holds plain files alone,
/// an old output only its listed files. The lock file of an older
/// tokenledger (one per process id) still held means a run still going.
pub(super) fn recover(parent: &Path, name: &str, target: &Path) -> Result<()> {
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
            let pid_like = !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit());
            let older_lock = dir.join(format!("{prefix}lock-{pid}"));
            if !pid_like || held(&older_lock) {
                continue;
            }
            remove_leftover(kind, &path, target)?;
        }
    }
    Ok(())
}

/// Remove (or put back) one leftover of a killed run; see [`recover`].
fn remove_leftover(kind: &str, path: &Path, target: &Path) -> Result<()> {
    match kind {
        // Killed between moving the previous output aside and moving the
        // new one in: put it back.
        "old" if !target.exists() => {
            std::fs::rename(path, target).map_err(|e| Error::io(target, e))?
        }
        "old" => {
            remove_output(path)?;
            let _ = std::fs::remove_dir(path);
        }
        "tmp" => remove_temp(path),
        "part" | "lock" if path.is_file() => {
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
        let _ = remove_output(dir);
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

/// Whether the lock file `lock` exists and a live run holds it.
fn held(lock: &Path) -> bool {
    lock.exists() && !abandoned(lock)
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
/// manifest); the names of any other entries, left in place.
pub(super) fn remove_output(dir: &Path) -> Result<Vec<String>> {
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
