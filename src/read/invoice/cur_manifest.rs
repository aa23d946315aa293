//! The manifest AWS delivers beside a legacy Cost and Usage Report's files
//! (`<report>-Manifest.json`, its `assemblyId` and `reportKeys`): which
//! files make up the report's current version. A month's report is
//! restated into a new assembly folder beside the old ones
//! (`<period>/<assemblyId>/<report>-00001.csv.gz`); synced together, the
//! two versions would be summed. So a CUR file lying under a manifest's
//! folder is read only if that manifest lists it, and a listed file missing
//! from under the outermost manifest's folder is an error: the bill would
//! be short (each assembly folder has its own manifest too).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

/// One manifest: its file, its folder and the report keys it lists.
#[derive(Debug)]
struct Manifest {
    path: PathBuf,
    folder: PathBuf,
    assembly: String,
    keys: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManifestFile {
    assembly_id: String,
    report_keys: Vec<String>,
}

/// The manifests among a run's bill files.
#[derive(Debug, Default)]
pub struct CurManifests {
    manifests: Vec<Manifest>,
}

/// Whether `text` is the manifest AWS delivers beside a CUR's files.
pub fn is_cur_manifest(text: &str) -> bool {
    let head = text.trim_start();
    head.starts_with('{') && text.contains("\"assemblyId\"") && text.contains("\"reportKeys\"")
}

impl CurManifests {
    /// Add the manifest `text` read from `path`.
    pub fn add(&mut self, path: &Path, text: &str) -> Result<()> {
        let file: ManifestFile = serde_json::from_str(text).map_err(|e| {
            let why =
                format!("an AWS CUR manifest whose `assemblyId` or `reportKeys` is unread: {e}");
            Error::fatal(format!("{}: {why}", path.display()))
        })?;
        let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
        self.manifests.push(Manifest {
            path: path.to_path_buf(),
            folder,
            assembly: file.assembly_id,
            keys: file.report_keys,
        });
        Ok(())
    }

    /// Why the CUR file `path` is not read (a manifest over it does not
    /// list it: another version of the report), or `None` to read it.
    pub fn passed_over(&self, path: &Path) -> Option<String> {
        let unlisted = self.manifests.iter().find(|m| {
            relative(path, &m.folder).is_some_and(|rel| !m.keys.iter().any(|k| names(k, &rel)))
        })?;
        Some(format!(
            "an AWS CUR file {} does not list (assembly {}): another version of the report",
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
        for m in self.manifests.iter().filter(|m| !inner(m)) {
            let under: Vec<String> = read.iter().filter_map(|p| relative(p, &m.folder)).collect();
            if let Some(key) = m
                .keys
                .iter()
                .find(|k| !under.iter().any(|rel| names(k, rel)))
            {
                return Err(Error::fatal(format!(
                    "{}: lists `{key}` (assembly {}), not found under {}: give every file of \
                     the report's current version",
                    m.path.display(),
                    m.assembly,
                    m.folder.display()
                )));
            }
        }
        Ok(())
    }
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
