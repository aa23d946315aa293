//! The manifest AWS delivers beside a bill's files: a legacy Cost and
//! Usage Report's (`<report>-Manifest.json`, its `assemblyId` and
//! `reportKeys`) or a Data Export's (CUR 2.0, FOCUS: under
//! `metadata/BILLING_PERIOD=…/`, its `executionId` and `dataFiles`): which
//! files make up the current version. A month's report is restated into a
//! new folder beside the old ones (`<period>/<assemblyId>/`,
//! `BILLING_PERIOD=…/<executionId>/`); synced together, the two versions
//! would be summed. So a CUR or FOCUS file lying under a manifest's folder
//! is read only if that manifest lists it, and a listed file missing from
//! under the outermost manifest's folder is an error: the bill would be
//! short (each assembly folder has its own manifest too). Without a
//! manifest, files of two versions of one period are an error
//! ([`check_one_version`]). Other files delivered beside bills (an Azure
//! run's `manifest.json`, a CUR's Redshift manifest) are told apart
//! ([`other_delivery_file`]).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

/// One manifest: its file, the folder of the files it governs and the
/// report keys it lists.
#[derive(Debug)]
struct Manifest {
    path: PathBuf,
    /// Resolved (absolute, links followed), to compare with files however
    /// their paths are spelled (`./x`, `../../data`).
    folder: PathBuf,
    /// As the paths given spell it, for messages.
    shown: PathBuf,
    assembly: String,
    keys: Vec<String>,
}

/// A legacy CUR's manifest (`assemblyId`, `reportKeys`) or a Data Export's
/// (CUR 2.0, FOCUS: `executionId`, `dataFiles`, full S3 URIs).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManifestFile {
    #[serde(alias = "executionId")]
    assembly_id: String,
    #[serde(alias = "dataFiles")]
    report_keys: Vec<String>,
}

/// The manifests among a run's bill files.
#[derive(Debug, Default)]
pub struct CurManifests {
    manifests: Vec<Manifest>,
}

/// Whether `text` is the manifest AWS delivers beside a CUR's files (a
/// legacy report's, or a Data Export's).
pub fn is_cur_manifest(text: &str) -> bool {
    let has = |key| has_key(text, key);
    text.trim_start().starts_with('{')
        && (has("assemblyId") && has("reportKeys") || has("executionId") && has("dataFiles"))
}

/// Whether a JSON text names `key` (as a key, or a string).
fn has_key(text: &str, key: &str) -> bool {
    text.contains(&format!("\"{key}\""))
}

/// Why a JSON file delivered beside a cloud bill's files is none of the
/// bill: an Azure export run's `manifest.json` (`manifestVersion`,
/// `runInfo`, `blobs`), a legacy CUR's `<report>-RedshiftManifest.json`
/// (`entries` of `url` and `mandatory`).
pub fn other_delivery_file(text: &str) -> Option<&'static str> {
    let has = |key| has_key(text, key);
    if !text.trim_start().starts_with('{') {
        None
    } else if has("manifestVersion") && has("runInfo") && has("blobs") {
        Some("an Azure cost export run's manifest (it lists the run's files): not a bill")
    } else if has("entries") && has("url") && has("mandatory") {
        Some("an AWS CUR's Redshift manifest (it lists the report's files): not a bill")
    } else {
        None
    }
}

/// The folder whose files a manifest at `path` governs: its own, or for a
/// Data Export's (`<export>/metadata/BILLING_PERIOD=…/<export>-Manifest.json`)
/// the period's data folder (`<export>/data/BILLING_PERIOD=…`).
fn governed_folder(path: &Path) -> PathBuf {
    let parent = path.parent().unwrap_or(Path::new(""));
    let metadata = parent
        .parent()
        .filter(|m| m.file_name() == Some("metadata".as_ref()));
    match (metadata.and_then(Path::parent), parent.file_name()) {
        (Some(export), Some(period)) => export.join("data").join(period),
        _ => parent.to_path_buf(),
    }
}

impl CurManifests {
    /// Add the manifest `text` read from `path`.
    pub fn add(&mut self, path: &Path, text: &str) -> Result<()> {
        let file: ManifestFile = serde_json::from_str(text).map_err(|e| {
            let why = format!(
                "an AWS CUR or Data Exports manifest whose `assemblyId` and `reportKeys` (or \
                 `executionId` and `dataFiles`) are unread: {e}"
            );
            Error::fatal(format!("{}: {why}", path.display()))
        })?;
        self.manifests.push(Manifest {
            path: path.to_path_buf(),
            folder: resolve_dir(&governed_folder(
                &std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
            )),
            shown: governed_folder(path),
            assembly: file.assembly_id,
            keys: file.report_keys,
        });
        Ok(())
    }

    /// Why the CUR file `path` is not read (a manifest over it does not
    /// list it: another version of the report), or `None` to read it.
    pub fn passed_over(&self, path: &Path) -> Option<String> {
        let unlisted = self.manifests.iter().find(|m| {
            relative(&resolved(path), &m.folder)
                .is_some_and(|rel| !m.keys.iter().any(|k| names(k, &rel)))
        })?;
        Some(format!(
            "an AWS bill file {} does not list (version {}): another version of the report",
            unlisted.path.display(),
            unlisted.assembly
        ))
    }

    /// Refuse a manifest whose listed file is not among `read`, the CUR
    /// files under its folder that were read: the report would be short.
    /// Only the outermost manifests are checked: AWS writes one in each
    /// assembly folder too, and an older version's is passed over with it.
    pub fn check_complete(&self, read: &[PathBuf]) -> Result<()> {
        let inner = |m: &Manifest| {
            (self.manifests.iter()).any(|o| o.folder != m.folder && m.folder.starts_with(&o.folder))
        };
        let read: Vec<PathBuf> = read.iter().map(|p| resolved(p)).collect();
        for m in self.manifests.iter().filter(|m| !inner(m)) {
            let under: Vec<String> = (read.iter())
                .filter_map(|p| relative(p, &m.folder))
                .collect();
            if let Some(key) = m
                .keys
                .iter()
                .find(|k| !under.iter().any(|rel| names(k, rel)))
            {
                return Err(Error::fatal(format!(
                    "{}: lists `{key}` (version {}), not found under {}: give every file of \
                     the report's current version",
                    m.path.display(),
                    m.assembly,
                    m.shown.display()
                )));
            }
        }
        Ok(())
    }
}

/// Refuse a cloud bill file of two versions of one billing period among
/// `read` (those no manifest passed over): under one period's folder, one
/// file (its path below the period the same but for its versions) in two
/// versions, a version being a folder named by an id or a run time, or the
/// ids in the file's name. So a legacy CUR restated into a second assembly
/// folder (`20261101-20261201/<assemblyId>/`), a Data Export's second
/// execution folder, an Azure export's second run (`20261101-20261130/<run
/// id>/`, or `<run time>/<run id>/`) or second month-to-date file
/// (`<export>_<guid>.csv`). Summed, the versions would bill the month
/// twice; AWS's manifest says which is current. Files of other names, and
/// folders named otherwise (two accounts' exports), are read.
pub fn check_one_version(read: &[PathBuf]) -> Result<()> {
    let mut seen: Vec<Placed> = Vec::new();
    for path in read {
        let Some(placed) = Placed::of(path) else {
            continue;
        };
        let other = seen.iter().find(|o| {
            o.period == placed.period && o.key == placed.key && o.version != placed.version
        });
        if let Some(other) = other {
            return Err(Error::fatal(format!(
                "{} and {}: two versions of one billing period's export ({}), summed they \
                 would bill it twice: give the current version's files alone, or (AWS) the \
                 manifest delivered with them, <report>-Manifest.json",
                other.path.display(),
                path.display(),
                placed.period.display()
            )));
        }
        seen.push(placed);
    }
    Ok(())
}

/// A bill file's place under a billing period's folder (up to three
/// folders down, resolved, so `./x` and `x` are one place): its path under
/// the period with each version (a folder named by an id or a time, the
/// ids in the file's name) as `*`, and those versions.
struct Placed<'a> {
    path: &'a Path,
    period: PathBuf,
    key: String,
    version: Vec<String>,
}

impl Placed<'_> {
    fn of(path: &Path) -> Option<Placed<'_>> {
        let folder = resolve_dir(path.parent()?);
        let period = folder
            .ancestors()
            .take(4)
            .find(|d| is_period(d))?
            .to_path_buf();
        let (mut key, mut version) = (String::new(), Vec::new());
        for part in folder.strip_prefix(&period).ok()?.components() {
            let name = part.as_os_str().to_string_lossy();
            // A version folder is no part of the key: `<period>/x.csv` and
            // `<period>/<assemblyId>/x.csv` are one file in two versions.
            match is_version_name(&name) {
                true => version.push(name.into_owned()),
                false => {
                    key.push_str(&name);
                    key.push('/');
                }
            }
        }
        let file = path.file_name()?.to_string_lossy();
        let (name, ids) = without_ids(unpacked(&file));
        key.push_str(&name);
        version.extend(ids);
        Some(Placed {
            path,
            period,
            key,
            version,
        })
    }
}

/// Whether a folder's name makes it a version of its period's export: an
/// id in it (a legacy CUR's assemblyId, a Data Export's execution, an Azure
/// run) or a run time (an Azure export's `202611021557`: a time of this
/// century to the minute, not a 12-digit AWS account id).
fn is_version_name(name: &str) -> bool {
    let run_time = (12..=14).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_digit())
        && chrono::NaiveDateTime::parse_from_str(&name[..12], "%Y%m%d%H%M")
            .is_ok_and(|t| (2000..2100).contains(&chrono::Datelike::year(&t)));
    !without_ids(name).1.is_empty() || run_time
}

/// `name` with each id in it (a GUID or UUID: 32 hex digits, in groups of
/// 8-4-4-4-12 or not) as `*`, and the ids.
fn without_ids(name: &str) -> (String, Vec<String>) {
    let (mut rest, mut kept, mut ids) = (name, String::new(), Vec::new());
    while let Some(c) = rest.chars().next() {
        let id_len = [36, 32]
            .into_iter()
            .find(|&n| rest.get(..n).is_some_and(is_id));
        match id_len {
            Some(n) => {
                ids.push(rest[..n].to_ascii_lowercase());
                kept.push('*');
                rest = &rest[n..];
            }
            None => {
                kept.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    (kept, ids)
}

/// Whether `text` is a GUID: 32 hex digits, or 8-4-4-4-12 with dashes.
fn is_id(text: &str) -> bool {
    let hex = |s: &str| s.bytes().all(|b| b.is_ascii_hexdigit());
    match text.len() {
        32 => hex(text),
        36 => {
            let groups: Vec<&str> = text.split('-').collect();
            groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12]) && groups.iter().all(|g| hex(g))
        }
        _ => false,
    }
}

/// Whether `folder` is a billing period's: an AWS Data Export's
/// `BILLING_PERIOD=2026-11`, a legacy CUR's `20261101-20261201`, an Azure
/// export's `20261101-20261130`.
fn is_period(folder: &Path) -> bool {
    let name = folder.file_name().unwrap_or_default().to_string_lossy();
    let digits = |s: &str| s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit());
    name.starts_with("BILLING_PERIOD=")
        || name
            .split_once('-')
            .is_some_and(|(a, b)| digits(a) && digits(b))
}

/// A folder absolute, its links followed where it exists (`./x` and `x`,
/// `../../data` and the data folder, meet), else absolute as spelled.
fn resolve_dir(folder: &Path) -> PathBuf {
    let folder = if folder.as_os_str().is_empty() {
        Path::new(".")
    } else {
        folder
    };
    folder
        .canonicalize()
        .or_else(|_| std::path::absolute(folder))
        .unwrap_or_else(|_| folder.to_path_buf())
}

/// A file's path with its folder resolved ([`resolve_dir`]); the file
/// itself, maybe a link (a git-annex or DVC store), stays where it lies.
fn resolved(path: &Path) -> PathBuf {
    let folder = resolve_dir(path.parent().unwrap_or(Path::new("")));
    folder.join(path.file_name().unwrap_or_default())
}

/// `path` relative to `folder`, with `/` between its parts, if under it.
fn relative(path: &Path, folder: &Path) -> Option<String> {
    let rel = path.strip_prefix(folder).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(parts.join("/"))
}

/// Whether the report key `key` names the file at `rel`: the key (an S3
/// key, its bucket's folders first) ends with it, compressed or not.
fn names(key: &str, rel: &str) -> bool {
    let (key, rel) = (unpacked(key), unpacked(rel));
    key == rel
        || key
            .strip_suffix(rel)
            .is_some_and(|head| head.ends_with('/'))
}

fn unpacked(name: &str) -> &str {
    [".gz", ".zst", ".zstd", ".zip"]
        .iter()
        .find_map(|ext| name.strip_suffix(ext))
        .unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifests(keys: &[&str]) -> CurManifests {
        let keys: Vec<String> = keys.iter().map(|k| format!("\"{k}\"")).collect();
        let text = format!(r#"{{"assemblyId":"a2","reportKeys":[{}]}}"#, keys.join(","));
        let mut all = CurManifests::default();
        all.add(Path::new("bills/p/cur-Manifest.json"), &text)
            .unwrap();
        all
    }

    #[test]
    fn a_file_under_a_manifest_is_read_only_if_listed() {
        let all = manifests(&["pre/cur/20261101-20261201/a2/cur-1.csv.gz"]);
        assert_eq!(all.passed_over(Path::new("bills/p/a2/cur-1.csv.gz")), None);
        assert_eq!(all.passed_over(Path::new("bills/p/a2/cur-1.csv")), None);
        assert!(all
            .passed_over(Path::new("bills/p/a1/cur-1.csv.gz"))
            .is_some());
        assert!(all
            .passed_over(Path::new("bills/p/a2/xcur-1.csv.gz"))
            .is_some());
        assert_eq!(all.passed_over(Path::new("bills/q/a1/cur-1.csv.gz")), None);
        let read = [PathBuf::from("bills/p/a1/cur-1.csv.gz")];
        assert!(all.check_complete(&read).is_err());
        let read = [PathBuf::from("bills/p/a2/cur-1.csv")];
        assert!(all.check_complete(&read).is_ok());
        // The older version's own manifest, inside its folder: not checked.
        let old =
            r#"{"assemblyId":"a1","reportKeys":["pre/cur/20261101-20261201/a1/cur-1.csv.zip"]}"#;
        let mut both = manifests(&["pre/cur/20261101-20261201/a2/cur-1.csv.gz"]);
        both.add(Path::new("bills/p/a1/cur-Manifest.json"), old)
            .unwrap();
        assert!(both
            .passed_over(Path::new("bills/p/a1/cur-1.csv"))
            .is_some());
        assert!(both.check_complete(&read).is_ok());
    }
}
