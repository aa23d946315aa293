//! Where an output may not go: into an input, inside an input directory,
//! over one, or (`partition`'s) beside an input file, where the next run
//! over that directory would read it with its inputs.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// For outputs not written by [`super::OutDir`] (`partition`'s directories, added
/// into `target`, which is never replaced): refuse a `target` that is a
/// symbolic link, or that is or lies inside one of `inputs`, or (`beside`)
/// that holds an input file itself: what is added beside a file is read
/// with it by the next run over its directory.
pub fn check_target(target: &Path, inputs: &[PathBuf], beside: bool) -> Result<()> {
    let target: PathBuf = target.components().collect();
    if std::fs::symlink_metadata(&target).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(Error::fatal(format!(
            "--out {}: a symbolic link; tokenledger never writes through a link: name the \
             directory itself",
            target.display()
        )));
    }
    not_an_input(&target, &parent_of(&target), inputs, false)?;
    let canonical = |p: &Path| std::fs::canonicalize(p).ok();
    let Some(dir) = canonical(&target).filter(|_| beside) else {
        return Ok(());
    };
    let files = inputs
        .iter()
        .filter_map(|i| canonical(i))
        .filter(|i| i.is_file());
    match files
        .into_iter()
        .find(|f| f.parent() == Some(dir.as_path()))
    {
        Some(file) => Err(Error::fatal(format!(
            "--out {}: holds the input {}; what is written beside it would be read with it: \
             choose another directory",
            target.display(),
            file.display()
        ))),
        None => Ok(()),
    }
}

/// Refuse an output directory that is one of `inputs`, holds one (when it
/// is replaced as a whole: `replaced`), or lies inside an input directory:
/// writing it would replace or add to what the run reads.
pub(super) fn not_an_input(
    target: &Path,
    parent: &Path,
    inputs: &[PathBuf],
    replaced: bool,
) -> Result<()> {
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

/// The directory `target` lies in (`.` for a bare name).
pub(super) fn parent_of(target: &Path) -> PathBuf {
    match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}
