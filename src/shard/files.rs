//! The month's span files rebuilt from the partials' lists of what each
//! shard read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::Meta;
use crate::error::{Error, Result};
use crate::read::{InputFile, InputKind};

/// The span files of partials that all read the same files (a hash-filtered
/// split): shard 0's list with the spans and skips of every shard, and for
/// each shard (by index) its files' places in that list.
pub(super) type Files = (Vec<InputFile>, Vec<Vec<u32>>);

pub(super) fn same_files(metas: &[(&PathBuf, Meta)]) -> Result<Files> {
    let first = &metas[0].1;
    let mut files = Vec::new();
    for (i, (path, format, _)) in first.span_files.iter().enumerate() {
        let read = |m: &Meta| m.span_file_fingerprints[i].clone();
        if let Some((_, other)) = metas.iter().find(|(_, m)| read(m) != read(first)) {
            return Err(changed_between(path, first, other));
        }
        files.push(InputFile {
            path: path.clone(),
            kind: InputKind::Spans,
            format: span_format(format)?,
            records: metas.iter().map(|(_, m)| m.span_files[i].2).sum(),
            skipped: metas
                .iter()
                .filter_map(|(_, m)| m.span_file_skips.get(i))
                .sum(),
            part_of: None,
            fingerprint: None,
        });
    }
    let same: Vec<u32> = (0..files.len() as u32).collect();
    Ok((files, vec![same; metas.len()]))
}

/// The span files of partials that each read their own whole traces: the
/// union of the shards' files, a partition named by the file it was cut
/// from (its spans and skips summed over the shards), sorted as one run
/// over those files would read them. Every file cut by `partition` must
/// have been read by every shard, and any other file by one shard only.
pub(super) fn union_of_files(metas: &[(&PathBuf, Meta)]) -> Result<Files> {
    let (sources, names) = sources_of(metas)?;
    every_part_read_once(&sources, metas[0].1.shard.count)?;
    let place: BTreeMap<&PathBuf, u32> = sources.keys().zip(0..).collect();
    let mut renumber = vec![Vec::new(); metas.len()];
    for ((_, meta), own) in metas.iter().zip(&names) {
        renumber[meta.shard.index as usize] = own.iter().map(|n| place[n]).collect();
    }
    let mut files = Vec::new();
    for (name, source) in sources {
        files.push(InputFile {
            path: name,
            kind: InputKind::Spans,
            format: span_format(&source.format)?,
            records: source.records,
            skipped: source.skipped,
            part_of: None,
            fingerprint: None,
        });
    }
    Ok((files, renumber))
}

/// A span file as the shards under `--whole-traces` read it.
struct Source {
    /// Its format, the spans kept and the lines skipped over the shards.
    format: String,
    records: u64,
    skipped: u64,
    shards: Vec<u32>,
    partitioned: bool,
    read: Option<(u64, String)>,
}

/// Each file the shards read, named by the file a partition was cut from,
/// and each shard's own list of those names.
type Sources = (BTreeMap<PathBuf, Source>, Vec<Vec<PathBuf>>);

fn sources_of(metas: &[(&PathBuf, Meta)]) -> Result<Sources> {
    let count = metas[0].1.shard.count;
    let mut sources: BTreeMap<PathBuf, Source> = BTreeMap::new();
    let mut names: Vec<Vec<PathBuf>> = Vec::new();
    for (dir, meta) in metas {
        let mut own: Vec<PathBuf> = Vec::new();
        for (k, (path, format, kept)) in meta.span_files.iter().enumerate() {
            let cut_from = meta.span_file_sources.get(k).cloned().flatten();
            let partitioned = cut_from.is_some();
            let name = cut_from.map_or_else(|| path.clone(), PathBuf::from);
            if own.contains(&name) {
                return Err(Error::fatal(format!(
                    "{}: two of this shard's span files hold parts of {}: was one partition \
                     directory given twice?",
                    dir.display(),
                    name.display()
                )));
            }
            let read = meta.span_file_fingerprints[k].clone();
            let source = sources.entry(name.clone()).or_insert_with(|| Source {
                format: format.clone(),
                records: 0,
                skipped: 0,
                shards: Vec::new(),
                partitioned,
                read: read.clone(),
            });
            if source.read != read {
                return Err(Error::fatal(format!(
                    "{}: shard {}/{count} read a partition cut from other bytes of it than \
                     shard {}/{count} did: it changed between two runs of `partition`; cut it \
                     once and run every shard on that cut",
                    name.display(),
                    meta.shard.index,
                    source.shards.first().copied().unwrap_or_default()
                )));
            }
            if source.format != *format || source.partitioned != partitioned {
                return Err(Error::fatal(format!(
                    "{}: read as {format} by shard {}/{count} but not so by another shard",
                    name.display(),
                    meta.shard.index
                )));
            }
            source.records += kept;
            source.skipped += meta.span_file_skips.get(k).copied().unwrap_or(0);
            source.shards.push(meta.shard.index);
            own.push(name);
        }
        names.push(own);
    }
    Ok((sources, names))
}

/// A partitioned file was read by every shard, any other by one.
fn every_part_read_once(sources: &BTreeMap<PathBuf, Source>, count: u32) -> Result<()> {
    let shard_list = |shards: &mut dyn Iterator<Item = u32>| {
        shards
            .map(|i| format!("{i}/{count}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for (name, source) in sources {
        if source.partitioned && source.shards.len() != count as usize {
            let mut missing = (0..count).filter(|i| !source.shards.contains(i));
            return Err(Error::fatal(format!(
                "{}: cut into {count} partitions, but shard {} read no part of it: was a file \
                 lost on the way? Rerun those shards with every partition file",
                name.display(),
                shard_list(&mut missing)
            )));
        }
        if !source.partitioned && source.shards.len() > 1 {
            return Err(Error::fatal(format!(
                "{}: read by shards {}; under --whole-traces each span file holds the traces of \
                 one shard (cut it with `tokenledger partition`, or shard with --shard alone)",
                name.display(),
                shard_list(&mut source.shards.iter().copied())
            )));
        }
    }
    Ok(())
}

/// The refusal of span files that two shards read in different states.
fn changed_between(path: &Path, a: &Meta, b: &Meta) -> Error {
    let shown = |m: &Meta| {
        let index = m.span_files.iter().position(|f| f.0 == path);
        match index.and_then(|i| m.span_file_fingerprints[i].clone()) {
            Some((bytes, sha)) => format!("{bytes} bytes, SHA-256 {}", &sha[..12]),
            None => "nothing".to_string(),
        }
    };
    Error::fatal(format!(
        "{}: shard {}/{} read {} of it, shard {}/{} {}: the file changed between the shards' runs \
         (it grew, or was rewritten); run every shard again on the same files",
        path.display(),
        a.shard.index,
        a.shard.count,
        shown(a),
        b.shard.index,
        b.shard.count,
        shown(b)
    ))
}

/// A span format as a partial names it.
fn span_format(format: &str) -> Result<&'static str> {
    Ok(crate::read::spans::Dialect::from_name(format)
        .ok_or_else(|| Error::fatal(format!("unknown span format \"{format}\"")))?
        .name())
}
