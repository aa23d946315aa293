//! `tokenledger partition`: the map step of a split that divides the
//! parsing too. Span files are cut by trace id into `N` partitions, each a
//! directory `part-IIIII-of-NNNNN/` holding, for every input file, a file
//! of the same name (`.jsonl`) with the spans of the traces that
//! [`Shard::owns`] gives to shard `I`. `report --shard I/N --whole-traces`
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
//!   `"tokenledgerPartition": {"source": …, "index": I, "count": N}`
//!   ([`PartOf`]): the shard checks it is reading its own partition, and
//!   `merge` names the file by its source.
//! - A file that is one OTLP JSON document becomes one line (its spans'
//!   origin in one run is line 1 too).
//! - The last line of every partition file is partition's own
//!   `"tokenledgerPartitionEnd": {"source_bytes", "source_sha256", "spans"}`
//!   ([`crate::read::spans::PartEnd`]): the shard checks it read every span
//!   the partition got, and `merge` that every partition of a source was
//!   cut from the same bytes.
//!
//! Flat JSONL and Jaeger files are refused: shard those with
//! `report --shard I/N`, which reads every file.
//!
//! Runs over disjoint groups of input files may share `--out`: files are
//! named after their input, and a name already taken by another source is
//! refused. A rerun over the same inputs replaces its own files. Each file is
//! written beside its place and renamed in once every input is cut; on an
//! error the run removes what it wrote (the partition directories stay:
//! other runs may be writing into them).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufWriter, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::{Error, Result};
use crate::model::Shard;
use crate::read::spans::{
    in_parallel, open, Dialect, Opened, PartEnd, PartOf, PARTITION_END_KEY, PARTITION_KEY,
};
use crate::read::Fingerprint;

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

/// Cut the span files into `config.count` partitions under `config.out`.
pub fn partition(config: &Config) -> Result<Partitioned> {
    let count = config.count;
    if !(1..=MAX_PARTITIONS).contains(&count) {
        return Err(Error::fatal(format!(
            "--into {count}: expected 1 to {MAX_PARTITIONS} partitions"
        )));
    }
    let inputs = crate::read::expand(&config.paths, &[".json", ".jsonl"], false)?.files;
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
    let dirs = partition_dirs(&config.out, count)?;
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
        staged.files.extend(temps.iter().cloned().zip(finals));
        cut_file(path, &temps, count, config.threads, &mut spans)?;
    }
    staged.commit()?;
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

/// Create (or find) the `count` partition directories under `out`, which
/// runs over other files may be creating at the same time; refuse an `out`
/// that holds partitions of another count.
fn partition_dirs(out: &Path, count: u32) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
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
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                return Err(Error::io(dir, e))
            }
            _ => {}
        }
    }
    Ok(dirs)
}

/// Remove the temporary files an earlier run over the same inputs left
/// when it was killed: those of the files this run writes (`names`) only,
/// since runs over other files may be writing theirs beside them (from
/// other machines, where their process ids mean nothing here).
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
        if ours && names.contains_key(name) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Refuse to replace a part of another source: runs over different inputs
/// share `--out` by name.
fn check_not_taken(dirs: &[PathBuf], name: &str, source: &Path) -> Result<()> {
    for dir in dirs {
        let path = dir.join(name);
        let Ok(file) = File::open(&path) else {
            continue;
        };
        let mut first = String::new();
        let _ = std::io::BufReader::new(file).read_line(&mut first);
        #[derive(Deserialize)]
        struct Head {
            #[serde(rename = "tokenledgerPartition")]
            part: Option<PartOf>,
        }
        let theirs = serde_json::from_str::<Head>(&first)
            .ok()
            .and_then(|h| h.part);
        if theirs.as_ref().map(|p| p.source.as_str()) != Some(&source.display().to_string()) {
            return Err(Error::fatal(format!(
                "{}: already holds {}; partition runs sharing --out need input files of \
                 different names",
                path.display(),
                theirs.map_or_else(
                    || "a file partition did not write".to_string(),
                    |p| format!("a part of {}", p.source)
                )
            )));
        }
    }
    Ok(())
}

/// Temporary files, each renamed to its place by [`Staged::commit`], or
/// removed when dropped without one (an error).
#[derive(Default)]
struct Staged {
    files: Vec<(PathBuf, PathBuf)>,
    committed: bool,
}

impl Staged {
    fn commit(mut self) -> Result<()> {
        for (temp, path) in &self.files {
            std::fs::rename(temp, path).map_err(|e| Error::io(path, e))?;
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            for (temp, _) in &self.files {
                let _ = std::fs::remove_file(temp);
            }
        }
    }
}

/// Cut one span file into `temps` (one per partition), adding the spans
/// each partition got to `spans`.
fn cut_file(
    path: &Path,
    temps: &[PathBuf],
    count: u32,
    threads: usize,
    spans: &mut [u64],
) -> Result<()> {
    let source = path.display().to_string();
    let heads: Vec<String> = (0..count)
        .map(|index| {
            let part = PartOf {
                source: source.clone(),
                index,
                count,
            };
            let json = serde_json::to_string(&part).expect("a header serialises");
            format!("\"{PARTITION_KEY}\":{json}")
        })
        .collect();
    let mut outs = temps
        .iter()
        .map(|t| {
            File::create(t)
                .map(|f| BufWriter::with_capacity(1 << 16, f))
                .map_err(|e| Error::io(t, e))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut own = vec![0u64; count as usize];
    let mut write = |cut: Cut| -> Result<()> {
        for (i, bytes) in cut.parts.iter().enumerate() {
            outs[i]
                .write_all(bytes)
                .map_err(|e| Error::io(&temps[i], e))?;
        }
        for (total, n) in own.iter_mut().zip(cut.spans) {
            *total += n;
        }
        Ok(())
    };
    let fingerprint = Fingerprint::default();
    let not_otlp = |dialect: Dialect| {
        Error::fatal(format!(
            "{}: {} spans; partition cuts OTLP JSON only: shard this file with `report --shard I/N` \
             instead (every shard reads it and keeps its own traces)",
            path.display(),
            dialect.name()
        ))
    };
    match open(path, Some(&fingerprint))? {
        Opened::Document(text) => {
            if crate::read::jaeger::is_jaeger(&text) {
                return Err(not_otlp(Dialect::Jaeger));
            }
            // The reader's own verdict first: what it refuses, partition refuses.
            let traces = crate::read::otlp::document_trace_ids(path, &text)?;
            let mut cut = Cut::new(count);
            cut.line(1, Some((&text, &traces)), &heads)
                .map_err(|e| Error::fatal(format!("{}: {e}", path.display())))?;
            write(cut)?;
        }
        Opened::Lines {
            dialect,
            part_of,
            mut blocks,
        } => {
            if dialect != Dialect::Otlp {
                return Err(not_otlp(dialect));
            }
            if let Some(part) = part_of {
                return Err(Error::fatal(format!(
                    "{}: already partition {}/{} of {}: partition the source files",
                    path.display(),
                    part.index,
                    part.count,
                    part.source
                )));
            }
            loop {
                let read = blocks.next(threads)?;
                if read.is_empty() {
                    break;
                }
                let cuts = in_parallel(&read, |first, block| {
                    cut_block(block, first, count, path, &heads)
                });
                blocks.recycle(read);
                for cut in cuts {
                    write(cut?)?;
                }
            }
        }
    }
    let (source_bytes, source_sha256) = fingerprint.get();
    for (i, (out, temp)) in outs.iter_mut().zip(temps).enumerate() {
        let end = PartEnd {
            source_bytes,
            source_sha256: source_sha256.clone(),
            spans: own[i],
        };
        let json = serde_json::to_string(&end).expect("a trailer serialises");
        writeln!(
            out,
            "{{\"{PARTITION_END_KEY}\":{json},\"resourceSpans\":[]}}"
        )
        .map_err(|e| Error::io(temp, e))?;
        spans[i] += own[i];
        out.flush().map_err(|e| Error::io(temp, e))?;
        out.get_ref().sync_all().map_err(|e| Error::io(temp, e))?;
    }
    Ok(())
}

/// A block's lines, cut: the bytes each partition gets, and its spans.
struct Cut {
    parts: Vec<Vec<u8>>,
    spans: Vec<u64>,
}

/// A scope's spans grouped by partition.
type ScopeCut<'s, 'a> = (&'s Scope<'a>, usize, BTreeMap<u32, Vec<&'a str>>);

impl Cut {
    fn new(count: u32) -> Cut {
        Cut {
            parts: vec![Vec::new(); count as usize],
            spans: vec![0; count as usize],
        }
    }

    /// One input line (`None`: an empty one), a `TracesData` the reader
    /// accepts whose spans' trace ids are `traces`, in order. Each
    /// partition gets its spans of it, under their resources and scopes,
    /// or an empty line; line 1 carries the header whatever it holds.
    fn line(
        &mut self,
        line_no: u64,
        line: Option<(&str, &[u128])>,
        heads: &[String],
    ) -> std::result::Result<(), String> {
        let count = self.parts.len() as u32;
        let top: Option<Top> = match line {
            Some((text, _)) => Some(serde_json::from_str(text).map_err(|e| e.to_string())?),
            None => None,
        };
        // As the reader finds them: `resourceSpans`, else Tempo's `batches`,
        // else the same inside Tempo's `trace`.
        let resources = match top {
            Some(top) => match top.trace {
                Some(inner) if top.resource_spans.is_none() && top.batches.is_none() => {
                    inner.resource_spans.or(inner.batches)
                }
                _ => top.resource_spans.or(top.batches),
            },
            None => None,
        }
        .unwrap_or_default();
        let mut traces = line.map_or(&[][..], |(_, t)| t).iter();
        // Each resource (with its scope list's place, its scopes' spans by
        // partition, and the partitions it holds spans of).
        let mut cut: Vec<(&Resource, usize, Vec<ScopeCut>, Vec<u32>)> = Vec::new();
        for resource in &resources {
            let Some((at, scopes)) = resource.nested() else {
                continue;
            };
            let mut scope_cuts = Vec::new();
            let mut parts = Vec::new();
            for scope in scopes {
                let Some((spans_at, spans)) = scope.nested() else {
                    continue;
                };
                let mut by_part: BTreeMap<u32, Vec<&str>> = BTreeMap::new();
                for span in spans {
                    let trace = traces
                        .next()
                        .ok_or("the line holds more spans than the reader found")?;
                    by_part
                        .entry(Shard::index_of(*trace, count))
                        .or_default()
                        .push(span.get());
                }
                parts.extend(by_part.keys());
                scope_cuts.push((scope, spans_at, by_part));
            }
            parts.sort_unstable();
            parts.dedup();
            cut.push((resource, at, scope_cuts, parts));
        }
        if traces.next().is_some() {
            return Err("the line holds fewer spans than the reader found".into());
        }
        for i in 0..count {
            let out = &mut self.parts[i as usize];
            let head = (line_no == 1).then(|| heads[i as usize].as_bytes());
            let start = out.len();
            let mut first = true;
            for (resource, at, scopes, parts) in &cut {
                if parts.binary_search(&i).is_err() {
                    continue;
                }
                out.extend_from_slice(if first { b"{" } else { b"," });
                if first {
                    if let Some(head) = head {
                        out.extend_from_slice(head);
                        out.push(b',');
                    }
                    out.extend_from_slice(b"\"resourceSpans\":[");
                    first = false;
                }
                resource.write_with(*at, "scopeSpans", out, |out| {
                    out.push(b'[');
                    let mut first = true;
                    for (scope, spans_at, by_part) in scopes {
                        let Some(spans) = by_part.get(&i) else {
                            continue;
                        };
                        if !std::mem::take(&mut first) {
                            out.push(b',');
                        }
                        self.spans[i as usize] += spans.len() as u64;
                        scope.write_with(*spans_at, "spans", out, |out| {
                            out.push(b'[');
                            for (k, span) in spans.iter().enumerate() {
                                if k > 0 {
                                    out.push(b',');
                                }
                                out.extend_from_slice(span.as_bytes());
                            }
                            out.push(b']');
                        });
                    }
                    out.push(b']');
                });
            }
            if !first {
                out.extend_from_slice(b"]}");
                // One line whatever the input's layout (a pretty-printed
                // document): outside strings a line break is whitespace,
                // and JSON strings hold none.
                let written = &mut out[start..];
                while let Some(at) = memchr::memchr2(b'\n', b'\r', written) {
                    written[at] = b' ';
                }
            } else if let Some(head) = head {
                out.push(b'{');
                out.extend_from_slice(head);
                out.extend_from_slice(b",\"resourceSpans\":[]}");
            }
            out.push(b'\n');
        }
        Ok(())
    }
}

/// Cut the lines of `block`, the first being line `first_line`; the first
/// line the reader refuses is the error.
fn cut_block(
    block: &[u8],
    first_line: u64,
    count: u32,
    path: &Path,
    heads: &[String],
) -> Result<Cut> {
    let mut cut = Cut::new(count);
    let mut start = 0;
    let ends: Vec<usize> = memchr::memchr_iter(b'\n', block)
        .chain((block.last() != Some(&b'\n')).then_some(block.len()))
        .collect();
    for (i, end) in ends.into_iter().enumerate() {
        let line = &block[start..end];
        start = end + 1;
        let line_no = first_line + i as u64;
        let bad = |kind, message: String| {
            Error::record(
                path,
                line_no,
                kind,
                format!(
                    "{message} (partition stops at a line the reader refuses: fix or remove it, or \
                     shard with `report --shard I/N --lenient`)"
                ),
            )
        };
        let text = std::str::from_utf8(line)
            .map_err(|e| {
                bad(
                    "invalid-utf8",
                    format!("invalid UTF-8 at byte {}", e.valid_up_to()),
                )
            })?
            .trim();
        if text.is_empty() {
            cut.line(line_no, None, heads)
                .map_err(|m| bad("bad-json", m))?;
            continue;
        }
        // The reader's own verdict first: what it refuses, partition refuses.
        let traces = crate::read::otlp::trace_ids(text).map_err(|(kind, m)| bad(kind, m))?;
        cut.line(line_no, Some((text, &traces)), heads)
            .map_err(|m| bad("bad-json", m))?;
    }
    Ok(cut)
}

/// The members of an OTLP object that lead to spans (`K::KEYS`), parsed
/// as `N`; its other members kept as they were written, in order.
struct Obj<'a, N, K> {
    members: Vec<(String, Member<'a, N>)>,
    keys: PhantomData<K>,
}

enum Member<'a, N> {
    Raw(&'a RawValue),
    /// `None` for `null`.
    Parsed(Option<N>),
}

/// The member names that lead down to spans.
trait Keys {
    const KEYS: &'static [&'static str];
}

/// A resource's scopes (`instrumentationLibrarySpans` before OTLP 1.0).
struct ResourceKeys;
impl Keys for ResourceKeys {
    const KEYS: &'static [&'static str] = &["scopeSpans", "instrumentationLibrarySpans"];
}

/// A scope's spans.
struct ScopeKeys;
impl Keys for ScopeKeys {
    const KEYS: &'static [&'static str] = &["spans"];
}

type Scope<'a> = Obj<'a, Vec<&'a RawValue>, ScopeKeys>;
type Resource<'a> = Obj<'a, Vec<Scope<'a>>, ResourceKeys>;

/// A `TracesData` line, down to each span's JSON text, in one pass over the
/// line. Members that hold no spans (`resourceLogs`) are skipped.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Top<'a> {
    #[serde(borrow)]
    resource_spans: Option<Vec<Resource<'a>>>,
    #[serde(borrow)]
    batches: Option<Vec<Resource<'a>>>,
    #[serde(borrow)]
    trace: Option<Box<Top<'a>>>,
}

impl<'de: 'a, 'a, N: Deserialize<'de>, K: Keys> Deserialize<'de> for Obj<'a, N, K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<'a, N, K>(PhantomData<(&'a (), N, K)>);
        impl<'de: 'a, 'a, N: Deserialize<'de>, K: Keys> Visitor<'de> for V<'a, N, K> {
            type Value = Obj<'a, N, K>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut members = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    let value = if K::KEYS.contains(&key.as_str()) {
                        Member::Parsed(map.next_value()?)
                    } else {
                        Member::Raw(map.next_value::<&'a RawValue>()?)
                    };
                    members.push((key, value));
                }
                Ok(Obj {
                    members,
                    keys: PhantomData,
                })
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

impl<N, K> Obj<'_, N, K> {
    /// The member leading to spans, and its place.
    fn nested(&self) -> Option<(usize, &N)> {
        self.members
            .iter()
            .enumerate()
            .find_map(|(i, (_, m))| match m {
                Member::Parsed(Some(n)) => Some((i, n)),
                _ => None,
            })
    }

    /// The object as written, with member `at` replaced by `key` and what
    /// `value` writes.
    fn write_with(
        &self,
        at: usize,
        key: &str,
        out: &mut Vec<u8>,
        value: impl FnOnce(&mut Vec<u8>),
    ) {
        out.push(b'{');
        let mut value = Some(value);
        for (i, (k, m)) in self.members.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let k = if i == at { key } else { k.as_str() };
            serde_json::to_writer(&mut *out, k).expect("writing to memory");
            out.push(b':');
            match m {
                _ if i == at => (value.take().expect("one member replaced"))(out),
                Member::Raw(raw) => out.extend_from_slice(raw.get().as_bytes()),
                Member::Parsed(_) => out.extend_from_slice(b"null"),
            }
        }
        out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::span::parse_hex_id;

    const A: &str = "5b8efff798038103d269b633813fc60c";

    /// Cut as `partition` does (the reader's trace ids, then the cut) a
    /// line after the first: what each partition gets, `None` for nothing.
    fn cut(line: &str, count: u32) -> Vec<Option<(String, u64)>> {
        let traces = crate::read::otlp::trace_ids(line).unwrap();
        let mut cut = Cut::new(count);
        cut.line(2, Some((line, &traces)), &[]).unwrap();
        cut.parts
            .into_iter()
            .zip(cut.spans)
            .map(|(bytes, n)| {
                let text = String::from_utf8(bytes).unwrap();
                let text = text.strip_suffix('\n').unwrap().to_string();
                (!text.is_empty()).then_some((text, n))
            })
            .collect()
    }

    fn trace_of(part: u32, count: u32) -> String {
        (1u128..)
            .map(|t| format!("{:032x}", t.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
            .find(|t| Shard::index_of(parse_hex_id(t, 32).unwrap(), count) == part)
            .unwrap()
    }

    #[test]
    fn a_line_splits_by_trace_keeping_resource_and_scope() {
        let (t0, t1) = (trace_of(0, 2), trace_of(1, 2));
        let line = format!(
            r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"tenant.id","value":{{"stringValue":"acme"}}}}]}},"scopeSpans":[{{"scope":{{"name":"s"}},"spans":[{{"traceId":"{t0}","spanId":"0000000000000001"}},{{"traceId":"{t1}","spanId":"0000000000000002"}},{{"traceId":"{t0}","spanId":"0000000000000003"}}]}}],"schemaUrl":"x"}}]}}"#
        );
        let split = cut(&line, 2);
        let (zero, n0) = split[0].clone().unwrap();
        assert_eq!(n0, 2);
        assert_eq!(
            zero,
            format!(
                r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"tenant.id","value":{{"stringValue":"acme"}}}}]}},"scopeSpans":[{{"scope":{{"name":"s"}},"spans":[{{"traceId":"{t0}","spanId":"0000000000000001"}},{{"traceId":"{t0}","spanId":"0000000000000003"}}]}}],"schemaUrl":"x"}}]}}"#
            )
        );
        let (one, n1) = split[1].clone().unwrap();
        assert_eq!(n1, 1);
        assert!(one.contains(&t1) && !one.contains(&t0), "{one}");
    }

    #[test]
    fn tempo_shapes_and_signals_without_spans() {
        let line = format!(
            r#"{{"trace":{{"batches":[{{"instrumentationLibrarySpans":[{{"spans":[{{"traceId":"{A}","spanId":"0000000000000001"}}]}}]}}]}}}}"#
        );
        let split = cut(&line, 1);
        let (list, n) = split[0].clone().unwrap();
        assert_eq!(n, 1);
        assert!(list.contains("\"scopeSpans\":"), "{list}");
        assert_eq!(cut(r#"{"resourceLogs":[]}"#, 3), vec![None; 3]);
        // Both lists: the reader takes resourceSpans, whatever comes first.
        let both = format!(
            r#"{{"batches":[{{"scopeSpans":[{{"spans":[{{"traceId":"{A}","spanId":"0000000000000001"}}]}}]}}],"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"{A}","spanId":"0000000000000002"}}]}}]}}]}}"#
        );
        let (list, n) = cut(&both, 1)[0].clone().unwrap();
        assert_eq!(n, 1);
        assert!(list.contains("0000000000000002") && !list.contains("0000000000000001"));
    }

    #[test]
    fn names_drop_compression_and_extension() {
        assert_eq!(part_name(Path::new("a/b/part-1.jsonl.gz")), "part-1.jsonl");
        assert_eq!(part_name(Path::new("doc.json")), "doc.jsonl");
        assert_eq!(part_name(Path::new("x.zst")), "x.jsonl");
        assert_eq!(dir_name(3, 16), "part-00003-of-00016");
    }
}
