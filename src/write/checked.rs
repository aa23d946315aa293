//! An earlier output's files, checked before a run replaces them: when the
//! run starts, each against the SHA-256 its manifest lists (a report
//! edited since is the user's now); at commit, each still the same file,
//! unchanged since (its stamp: device, inode, size and last status
//! change, which no tool can set back).

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::error::{Error, Result};
use crate::manifest::{Manifest, Sha};

/// A file's identity and last change: the same file, unchanged, keeps it.
pub(super) type Stamp = (u64, u64, u64, i64, i64);

/// The previous output's files by name, with their stamps.
pub(super) type Stamps = BTreeMap<String, Stamp>;

pub(super) fn stamp(path: &Path) -> std::io::Result<Stamp> {
    let m = std::fs::symlink_metadata(path)?;
    Ok((m.dev(), m.ino(), m.len(), m.ctime(), m.ctime_nsec()))
}

/// A file an earlier output lists: its name, the hashes it may have, its
/// stamp.
type Listed = (String, Vec<Sha>, Stamp);

/// Check each file an earlier output lists against the hashes its manifest
/// gives: a report edited or replaced since it was written, or listed with
/// no hash (an older tokenledger's manifest, or one edited), is not
/// tokenledger's to replace. The files are hashed on two threads, each
/// given about half the bytes (a 1,000,000-run month's 310 MB: about
/// 0.1 s). The files' stamps, for the commit.
pub(super) fn check_listed(target: &Path) -> Result<Stamps> {
    let mut listed: Vec<Listed> = Vec::new();
    for (name, sha) in Manifest::read(target)?.files {
        // Listed but gone: nothing to replace.
        if let Ok(before) = stamp(&target.join(&name)) {
            listed.push((name, sha, before));
        }
    }
    listed.sort_by_key(|(_, _, stamp)| std::cmp::Reverse(stamp.2));
    let mut halves: [(u64, Vec<&Listed>); 2] = Default::default();
    for file in &listed {
        let lighter = usize::from(halves[1].0 < halves[0].0);
        halves[lighter].0 += file.2 .2;
        halves[lighter].1.push(file);
    }
    let changed = crate::threads::in_order(halves.into_iter().collect(), |(_, files)| {
        let mut changed = Vec::new();
        for (name, hashes, _) in files {
            let path = target.join(name);
            match crate::manifest::sha256_file(&path) {
                Ok(actual) if hashes.contains(&actual) => {}
                Ok(_) => changed.push(name.clone()),
                Err(e) => return Err(Error::io(&path, e)),
            }
        }
        Ok(changed)
    });
    let mut changed: Vec<String> = changed.into_iter().collect::<Result<Vec<_>>>()?.concat();
    changed.sort();
    if changed.is_empty() {
        return Ok(listed.into_iter().map(|(name, _, s)| (name, s)).collect());
    }
    let them = it_or_them(changed.len());
    Err(Error::fatal(format!(
        "--out {}: {} changed since tokenledger wrote {them}, or {} listed without a SHA-256 \
         to check (the manifest lists no hash, or another one); it would be replaced, so \
         tokenledger refuses: move {them} elsewhere, or choose another directory",
        target.display(),
        changed.join(", "),
        if changed.len() == 1 { "is" } else { "are" },
    )))
}

/// At commit: every file checked when the run started is still that file,
/// unchanged (its stamp).
pub(super) fn unchanged_since_checked(dir: &Path, target: &Path, checked: &Stamps) -> Result<()> {
    let changed: Vec<&str> = checked
        .iter()
        .filter(|(name, before)| stamp(&dir.join(name)).ok().as_ref() != Some(*before))
        .map(|(name, _)| name.as_str())
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    Err(while_writing(target, &changed, "changed"))
}

/// The refusal to commit over `names`, which `what` (appeared, changed) in
/// `target` while this run was writing.
pub(super) fn while_writing(target: &Path, names: &[&str], what: &str) -> Error {
    Error::fatal(format!(
        "--out {}: {} {what} while this run was writing; tokenledger replaced nothing and \
         removed nothing: move {} elsewhere and run again",
        target.display(),
        names.join(", "),
        it_or_them(names.len())
    ))
}

/// "it" or "them", for `n` things.
fn it_or_them(n: usize) -> &'static str {
    if n == 1 {
        "it"
    } else {
        "them"
    }
}
