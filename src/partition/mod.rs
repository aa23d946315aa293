//! `tokenledger partition`: the map step of a split that divides the
//! parsing too. Span files are cut by trace id into `N` partitions, each a
//! directory `part-IIIII-of-NNNNN/` holding, for every input file, a file
//! of the same name (`.jsonl`) with the spans of the traces that
//! [`crate::model::Shard::owns`] gives to shard `I`. `report --shard I/N --whole-traces`
//! then reads partition `I` alone, with no hash filter.
//!
//! What makes the shards' merged reports byte-identical to one run over the
//! inputs:
//! - Every line is checked by the span reader itself first; a line it would
//!   reject stops the run, naming the file and line (nothing is written).
//! - Each OTLP line (a `TracesData`) is split by trace: a partition's line
//!   holds its spans in their order, each span's JSON as it was, under its
//!   resource and scope (their other members kept, as written). Resource
//!   attributes, which spans inherit, are therefore always there.
//! - A partition file keeps its source's line numbers: a line with none of
//!   the partition's spans is left empty. Span origins (`file:line` in
//!   `unbilled_spans.csv`, the order of calls at one instant) are the same.
//! - The first line of every partition file also holds
//!   `"tokenledgerPartition": {"source": …, "index": I, "count": N, "at": …}`
//!   ([`PartOf`]): the shard checks it is reading its own partition,
//!   `merge` names the file by its source (as typed), and a later
//!   `partition` into the same `--out` tells two files typed alike apart
//!   by `at` (the source's absolute path, links resolved).
//! - A file that is one OTLP JSON document becomes one line (its spans'
//!   origin in one run is line 1 too).
//! - The last line of every partition file is partition's own
//!   `"tokenledgerPartitionEnd": {"source_bytes", "source_sha256", "spans",
//!   "part_bytes", "part_sha256"}` ([`crate::read::spans::PartEnd`]): the
//!   shard checks it read the part's bytes as written (its length and
//!   SHA-256) and every span the partition got, `merge` that every partition of a
//!   source was cut from the same bytes, and a rerun that the part is as
//!   partition wrote it, its length and SHA-256 (else it was edited: not
//!   replaced).
//!
//! Flat JSONL and Jaeger v1 JSON files are refused: shard those with
//! `report --shard I/N`, which reads every file.
//!
//! Runs over disjoint groups of input files may share `--out`: files are
//! named after their input, and a name already taken by another source
//! (another path as typed, or another file) is refused, also when another
//! run takes it while this one cuts (a free place gets its part by a link,
//! which never replaces a file). `--out` may not be
//! or lie inside an input, nor hold an input file itself (partitions beside
//! it would be read with it), nor be a symbolic link. A rerun over the same inputs replaces its own files. Each file is
//! written beside its place and renamed in once every input is cut; on an
//! error the run removes what it wrote (the partition directories stay:
//! other runs may be writing into them).

//!
//! `cut` cuts one file's lines; `otlp` reads a `TracesData` line down to
//! each span's JSON text, keeping everything else as written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::read::spans::{header_of, PartEnd, PartOf};

mod cut;
mod otlp;

use cut::cut_file;

/// The most partitions one run writes: each is an open file while an input
/// is cut.
pub const MAX_PARTITIONS: u32 = 1000;

/// What `partition` is asked to do.
#[derive(Clone, Debug)]
pub struct Config {
    /// Span files or directories.
    pub paths: Vec<PathBuf>,
    /// How many partitions (shards).
    pub count: u32,
    /// The directory the partition directories go in.
    pub out: PathBuf,
    /// Threads cutting lines.
    pub threads: usize,
}

/// What a run wrote.
#[derive(Clone, Debug, Default)]
pub struct Partitioned {
    /// Each input file and the name of its parts.
    pub files: Vec<(PathBuf, String)>,
    /// Spans written into each partition.
    pub spans: Vec<u64>,
    /// The partition directories.
    pub dirs: Vec<PathBuf>,
}

/// The name of partition `index` of `count`.
pub fn dir_name(index: u32, count: u32) -> String {
    format!("part-{index:05}-of-{count:05}")
}

/// The span files `paths` name or hold, as `report` reads them (each
/// once, sorted): what `partition` cuts.
pub fn span_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    Ok(crate::read::expand(paths, &[".json", ".jsonl"], false)?.files)
}

/// Cut the span files into `config.count` partitions under `config.out`.
pub fn partition(config: &Config) -> Result<Partitioned> {
    let count = config.count;
    if !(1..=MAX_PARTITIONS).contains(&count) {
        return Err(Error::fatal(format!(
            "--into {count}: expected 1 to {MAX_PARTITIONS} partitions"
        )));
    }
    let inputs = span_files(&config.paths)?;
    let mut names: BTreeMap<String, &Path> = BTreeMap::new();
    let mut files = Vec::new();
    for path in &inputs {
        if path.as_os_str() == crate::read::STDIN {
            return Err(Error::fatal(
                "partition names its files after the input files: give span files, not `-`",
            ));
        }
        let name = part_name(path);
        if let Some(other) = names.insert(name.clone(), path) {
            return Err(Error::fatal(format!(
                "{} and {} would both be cut into files named {name}: partition them in separate \
                 runs into separate --out directories, or rename one",
                other.display(),
                path.display()
            )));
        }
        files.push((path.clone(), name));
    }
    crate::write::guard::check_target(&config.out, &config.paths, true)?;
    let owned = (config.out.ancestors())
        .filter(|dir| !dir.as_os_str().is_empty())
        .find(|dir| dir.join(crate::manifest::MANIFEST).exists());
    if let Some(owner) = owned {
        return Err(Error::fatal(format!(
            "--out {}: in another tokenledger command's output ({} holds {}): partition into a \
             directory of its own",
            config.out.display(),
            owner.display(),
            crate::manifest::MANIFEST
        )));
    }
    let mut created = CreatedDirs::default();
    let dirs = partition_dirs(&config.out, count, &mut created)?;
    for dir in &dirs {
        remove_leftovers(dir, &names);
    }
    let mut staged = Staged::default();
    for (path, name) in &files {
        check_not_taken(&dirs, name, path)?;
    }
    let mut spans = vec![0u64; count as usize];
    for (path, name) in &files {
        let temps: Vec<PathBuf> = dirs
            .iter()
            .map(|d| d.join(format!(".{name}.tmp-{}", std::process::id())))
            .collect();
        let finals: Vec<PathBuf> = dirs.iter().map(|d| d.join(name)).collect();
        let parts = temps.iter().cloned().zip(finals);
        staged
            .files
            .extend(parts.map(|(temp, part)| (temp, part, path.clone())));
        cut_file(path, &temps, count, config.threads, &mut spans)?;
    }
    staged.commit()?;
    created.0.clear();
    Ok(Partitioned { files, spans, dirs })
}

/// The name of an input's parts: its file name without `.gz`/`.zst` and
/// `.json`/`.jsonl`, then `.jsonl`.
fn part_name(path: &Path) -> String {
    let name = path
        .file_name()
        .map_or_else(|| "spans".into(), |n| n.to_string_lossy());
    let name = name
        .strip_suffix(".gz")
        .or_else(|| name.strip_suffix(".zst"))
        .unwrap_or(&name);
    let stem = name
        .strip_suffix(".jsonl")
        .or_else(|| name.strip_suffix(".json"))
        .unwrap_or(name);
    format!("{stem}.jsonl")
}

/// The directories a run created, removed if it stops before its parts are
/// in place (and only while empty: a run over other files sharing `--out`
/// may have written into them meanwhile).
#[derive(Default)]
struct CreatedDirs(Vec<PathBuf>);

impl Drop for CreatedDirs {
    fn drop(&mut self) {
        for dir in self.0.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Create (or find) the `count` partition directories under `out`, which
/// runs over other files may be creating at the same time; refuse an `out`
/// that holds partitions of another count.
fn partition_dirs(out: &Path, count: u32, created: &mut CreatedDirs) -> Result<Vec<PathBuf>> {
    let missing = out
        .ancestors()
        .take_while(|dir| !dir.as_os_str().is_empty() && !dir.exists());
    let mut missing: Vec<PathBuf> = missing.map(Path::to_path_buf).collect();
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    missing.reverse();
    created.0.extend(missing);
    let mut names = Vec::new();
    for entry in std::fs::read_dir(out).map_err(|e| Error::io(out, e))? {
        let entry = entry.map_err(|e| Error::io(out, e))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    for name in names {
        let Some((_, of)) = name
            .strip_prefix("part-")
            .and_then(|rest| rest.split_once("-of-"))
        else {
            continue;
        };
        // An empty one (a failed run's) is no partition.
        let empty = std::fs::read_dir(out.join(&name)).is_ok_and(|mut d| d.next().is_none());
        match of.parse::<u32>() {
            Ok(n) if n != count && !empty => {
                return Err(Error::fatal(format!(
                    "--out {}: holds {name}, a partition into {n}, not {count}: use another --out \
                     for another count",
                    out.display()
                )))
            }
            _ => {}
        }
    }
    let dirs: Vec<PathBuf> = (0..count).map(|i| out.join(dir_name(i, count))).collect();
    for dir in &dirs {
        match std::fs::create_dir(dir) {
            Ok(()) => created.0.push(dir.clone()),
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                return Err(Error::io(dir, e))
            }
            Err(_) => {}
        }
    }
    Ok(dirs)
}

/// Remove the temporary files an earlier run over the same inputs left
/// when it was killed: those of the files this run writes (`names`) whose
/// first line says they are parts of the same source (written first, so a
/// part killed at any point says it), since runs over
/// other files may be writing theirs beside them (from other machines,
/// where their process ids mean nothing here), and a file named alike
/// that partition did not write is not ours to remove.
fn remove_leftovers(dir: &Path, names: &BTreeMap<String, &Path>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some((name, pid)) = file.strip_prefix('.').and_then(|n| n.rsplit_once(".tmp-")) else {
            continue;
        };
        let ours = pid
            .parse::<u32>()
            .is_ok_and(|pid| pid != std::process::id());
        let source = names.get(name).filter(|_| ours);
        let path = entry.path();
        if source.is_some_and(|source| is_part_of(&header_of(&path), source)) {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Whether `header` names `source` (typed alike, and the same file: a
/// header of an older tokenledger names no file).
fn is_part_of(header: &Option<PartOf>, source: &Path) -> bool {
    header.as_ref().is_some_and(|p| {
        p.source == source.display().to_string()
            && (p.at.is_none() || p.at == cut::canonical(source))
    })
}

/// Refuse to replace a part of another source: runs over different inputs
/// share `--out` by name.
fn check_not_taken(dirs: &[PathBuf], name: &str, source: &Path) -> Result<()> {
    dirs.iter()
        .try_for_each(|dir| check_part(&dir.join(name), source))
}

/// Refuse to replace the file at `path` unless it is a part of `source`
/// as partition wrote it (none there: nothing to replace).
fn check_part(path: &Path, source: &Path) -> Result<()> {
    if !path.exists() {
        return Ok(());
    }
    let theirs = header_of(path);
    if !is_part_of(&theirs, source) {
        return Err(Error::fatal(format!(
            "{}: already holds {}; partition runs sharing --out need input files of \
             different names",
            path.display(),
            theirs.map_or_else(
                || "a file partition did not write".to_string(),
                |p| match p.at {
                    Some(at) => format!("a part of {} (the file {at})", p.source),
                    None => format!("a part of {}", p.source),
                }
            )
        )));
    }
    unchanged(path)
}

/// Refuse to replace a part changed since partition wrote it (an edited
/// part is yours): one whose last line is not the trailer partition ends
/// every part with, or that is not as long as its trailer says, or whose
/// bytes before it have another SHA-256 (an older tokenledger's trailer
/// says neither: such a part is replaced).
fn unchanged(path: &Path) -> Result<()> {
    let changed = |what: String| {
        Error::fatal(format!(
            "{}: {what}: changed since partition wrote it, so not replaced; move it, or \
             partition into another --out",
            path.display()
        ))
    };
    let Some(end) = PartEnd::of(path)? else {
        return Err(changed("its last line is not a part's trailer".into()));
    };
    let Some(bytes) = end.part_bytes else {
        return Ok(());
    };
    let expected = bytes + end.line().len() as u64;
    let len = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    if len != expected {
        return Err(changed(format!(
            "{len} bytes, not the {expected} its trailer says"
        )));
    }
    let Some(sha) = end.part_sha256 else {
        return Ok(());
    };
    match body_sha256(path, bytes).map_err(|e| Error::io(path, e))? == sha {
        true => Ok(()),
        false => Err(changed(
            "its SHA-256 is not the one its trailer says".into(),
        )),
    }
}

/// The SHA-256 of the first `bytes` bytes of the file at `path`.
fn body_sha256(path: &Path, bytes: u64) -> std::io::Result<String> {
    use std::io::Read;
    crate::manifest::sha256_reader(std::fs::File::open(path)?.take(bytes))
}

/// Temporary files, each renamed to its place by [`Staged::commit`], or
/// removed when dropped without one (an error).
#[derive(Default)]
struct Staged {
    /// (temporary file, its place, the source it was cut from).
    files: Vec<(PathBuf, PathBuf, PathBuf)>,
    committed: bool,
}

impl Staged {
    /// Put each part in place. A place found free gets its part by a link,
    /// which never replaces a file: a part another run put there since the
    /// start (cutting a file of the same name into this `--out`) is found,
    /// and checked as at the start (a part of another source is never
    /// replaced). On a file system without links the check is made just
    /// before the rename. A failed run removes the parts it placed, each
    /// only while it is still the file this run wrote (its inode).
    fn commit(mut self) -> Result<()> {
        use std::os::unix::fs::MetadataExt;
        let inode = |path: &Path| std::fs::symlink_metadata(path).map(|m| (m.dev(), m.ino()));
        let mut placed = Vec::new();
        let done = self.files.iter().try_for_each(|(temp, path, source)| {
            let ours = inode(temp).map_err(|e| Error::io(temp, e))?;
            match std::fs::hard_link(temp, path) {
                Ok(()) => std::fs::remove_file(temp).map_err(|e| Error::io(temp, e))?,
                // Taken meanwhile, or a file system without links.
                Err(_) => {
                    check_part(path, source)?;
                    std::fs::rename(temp, path).map_err(|e| Error::io(path, e))?;
                }
            }
            placed.push((path, ours));
            Ok(())
        });
        if done.is_err() {
            for (path, ours) in placed {
                if inode(path).is_ok_and(|now| now == ours) {
                    let _ = std::fs::remove_file(path);
                }
            }
        }
        done?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            for (temp, _, _) in &self.files {
                let _ = std::fs::remove_file(temp);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_drop_compression_and_extension() {
        assert_eq!(part_name(Path::new("a/b/part-1.jsonl.gz")), "part-1.jsonl");
        assert_eq!(part_name(Path::new("doc.json")), "doc.jsonl");
        assert_eq!(part_name(Path::new("x.zst")), "x.jsonl");
        assert_eq!(dir_name(3, 16), "part-00003-of-00016");
    }

    /// A place taken after the start (another run cutting a file of the
    /// same name) is found at commit: never replaced, and the parts this
    /// run placed are removed again.
    #[test]
    fn a_part_placed_meanwhile_by_another_run_is_never_replaced() {
        let dir = std::env::temp_dir().join(format!("tl-staged-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = |name: &str| dir.join(name);
        std::fs::write(file("t0"), "part 0").unwrap();
        std::fs::write(file("t1"), "part 1").unwrap();
        std::fs::write(file("p1"), "theirs").unwrap();
        let source = PathBuf::from("in/b.jsonl");
        let staged = Staged {
            files: vec![
                (file("t0"), file("p0"), source.clone()),
                (file("t1"), file("p1"), source),
            ],
            committed: false,
        };
        let err = staged.commit().unwrap_err().to_string();
        assert!(
            err.contains("already holds a file partition did not write"),
            "{err}"
        );
        assert!(!file("p0").exists() && !file("t0").exists() && !file("t1").exists());
        assert_eq!(std::fs::read_to_string(file("p1")).unwrap(), "theirs");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
