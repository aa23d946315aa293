//! What a run that did not finish (killed, or failed half-way) left
//! beside an output directory or inside it (its temporary directory, the
//! previous output it had moved aside, a file being placed), as it
//! recorded them in the target's lock: found and removed, or put back, by
//! the next run into the same `--out`, under that lock.

use std::path::Path;

use super::checked::{stamp, Stamps};
use crate::error::{Error, Result};
use crate::manifest::{Manifest, MANIFEST};
use crate::owner::is_unique_suffix;

/// How a run's own entries inside a target updated in place (a mount
/// point) begin.
pub(super) const INNER_PREFIX: &str = ".tokenledger.";

/// Clean up after a run that did not finish, under the target's lock (so
/// no run that could own them is still going): `left` is what it recorded
/// in the lock, one `KIND NAME` line for each entry it was about to create
/// (`tmp`, `old`, `part` in `home`, named `PREFIX KIND-PID-NANOS` with
/// `(home, prefix)`; `inner`, a part file inside the target). Those
/// entries, and only they, are removed; the previous output it had moved
/// aside is put back if the target is missing (it stopped between the two
/// renames), else its files are removed. A lock holding anything else is
/// not tokenledger's: an error, and it is left as it is.
pub(super) fn recover((home, prefix): (&Path, &str), left: &str, target: &Path) -> Result<()> {
    let mut entries = Vec::new();
    for line in left.lines() {
        let entry = line.split_once(' ').and_then(|(kind, name)| {
            let (dir, start) = match kind {
                "inner" => (target, format!("{INNER_PREFIX}part-")),
                "tmp" | "old" | "part" => (home, format!("{prefix}{kind}-")),
                _ => return None,
            };
            let suffix = name.strip_prefix(&start)?;
            is_unique_suffix(suffix).then(|| (kind, dir.join(name)))
        });
        let Some(entry) = entry else {
            return Err(Error::fatal(format!(
                "{}: holds \"{line}\", which tokenledger did not write: move the file away \
                 (no tokenledger run is using it)",
                home.join(format!("{prefix}lock")).display()
            )));
        };
        entries.push(entry);
    }
    for (kind, path) in entries {
        if std::fs::symlink_metadata(&path).is_ok() {
            remove_leftover(kind, &path, target)?;
        }
    }
    Ok(())
}

/// Remove (or put back) one leftover; see [`recover`].
fn remove_leftover(kind: &str, path: &Path, target: &Path) -> Result<()> {
    match kind {
        "old" if std::fs::symlink_metadata(target).is_err() => {
            std::fs::rename(path, target).map_err(|e| Error::io(target, e))?
        }
        "old" => {
            remove_output(path, Check::Hash)?;
            let _ = std::fs::remove_dir(path);
        }
        "tmp" => remove_temp(path),
        _ if path.is_file() => std::fs::remove_file(path).map_err(|e| Error::io(path, e))?,
        _ => {}
    }
    Ok(())
}

/// Remove a run's temporary directory: one holding a manifest (a run that
/// failed or was killed while it committed; or the previous output, swapped
/// out of its place) loses its listed files unchanged; the files it does
/// not list (none, in a directory written file by file; those after the
/// place a manifest was cut short) are removed when named as a tokenledger
/// output is ([`is_output_name`]) and the directory holds plain files
/// alone. It goes only once empty: a file put there by someone else stays,
/// and so does the directory holding it.
pub(super) fn remove_temp(dir: &Path) {
    // A manifest cut short (a run killed while it wrote it) lists only some
    // of the files written before it: the others go by their names, as in
    // a directory without one. A listed file that changed stays.
    let listed = Manifest::read(dir).unwrap_or_default();
    if dir.join(MANIFEST).is_file() {
        let _ = remove_output(dir, Check::Hash);
    }
    if holds_files_only(dir) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_output_name(&name) && !listed.lists(&name) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    let _ = std::fs::remove_dir(dir);
}

/// Whether `name` is one a command writes into its output directory.
fn is_output_name(name: &str) -> bool {
    const OTHERS: [&str; 8] = [
        "summary.json",
        "report.html",
        "pricing.toml",
        "calls.parquet",
        "diff.html",
        "partial.json",
        "calls.jsonl",
        "traces.txt",
    ];
    super::CSV_FILES.contains(&name)
        || OTHERS.contains(&name)
        || name.starts_with("diff_by_") && name.ends_with(".csv")
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

/// How [`remove_output`] tells a listed file is still the one its run
/// wrote before removing it.
pub(super) enum Check<'a> {
    /// Its SHA-256 is the listed one.
    Hash,
    /// Its stamp is the one taken when it was checked against its hash.
    Stamps(&'a Stamps),
}

/// Remove an earlier output's files (those its manifest lists, and the
/// manifest), those still as written (`check`). The names of the entries
/// left in place: any others, and the files that changed.
pub(super) fn remove_output(dir: &Path, check: Check) -> Result<Vec<String>> {
    let listed = Manifest::read(dir)?;
    let mut kept = foreign_entries(dir, &listed, &[])?;
    for (name, sha) in &listed.files {
        let path = dir.join(name);
        let changed = match &check {
            // Listed without a hash: it cannot be checked, so it stays.
            Check::Hash => {
                crate::manifest::sha256_file(&path).is_ok_and(|actual| !sha.contains(&actual))
            }
            Check::Stamps(stamps) => stamps
                .get(name)
                .is_some_and(|before| stamp(&path).is_ok_and(|now| &now != before)),
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leftover_temp_loses_only_what_tokenledger_writes() {
        let dir = std::env::temp_dir().join(format!("tokenledger-temp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for name in [
            "by_tenant.csv",
            "summary.json",
            "diff_by_model.csv",
            "MY-NOTES.txt",
        ] {
            std::fs::write(dir.join(name), "x").unwrap();
        }
        remove_temp(&dir);
        let left: Vec<String> = (std::fs::read_dir(&dir).unwrap().flatten())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, ["MY-NOTES.txt"]);
        std::fs::remove_file(dir.join("MY-NOTES.txt")).unwrap();
        std::fs::write(dir.join("ledger.csv"), "x").unwrap();
        remove_temp(&dir);
        assert!(!dir.exists());
    }

    #[test]
    fn a_temp_whose_manifest_was_cut_short_goes_whole_but_a_changed_file() {
        let dir = std::env::temp_dir().join(format!("tokenledger-cut-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let written = [
            ("by_agent.csv", "a"),
            ("by_tenant.csv", "t"),
            ("summary.json", "s"),
        ];
        for (name, text) in written {
            std::fs::write(dir.join(name), text).unwrap();
        }
        // Killed while it wrote the manifest: by_agent.csv listed, the rest not yet.
        let sha = crate::manifest::sha256(b"a");
        let cut = format!("{sha}  by_agent.csv\n{}", &sha[..9]);
        std::fs::write(dir.join(MANIFEST), cut).unwrap();
        remove_temp(&dir);
        assert!(!dir.exists());
        // A listed file changed since stays, and so does its directory.
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("by_agent.csv"), "changed").unwrap();
        std::fs::write(dir.join(MANIFEST), format!("{sha}  by_agent.csv\n")).unwrap();
        remove_temp(&dir);
        assert!(dir.join("by_agent.csv").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
