//! Stage 1, read: find the input files and normalise every format into the
//! shared record shapes of [`crate::model`]. One module per input family.

pub mod flat;
pub mod invoice;
pub mod otlp;
pub mod outcomes;
pub mod provider_usage;
pub mod semconv;
pub mod spans;
pub mod toml;
pub mod usage;

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// One input file and what was read from it, for `summary.json`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct InputFile {
    /// The path as found.
    #[serde(serialize_with = "path_text")]
    pub path: PathBuf,
    /// `spans` or `usage`.
    pub kind: &'static str,
    /// The detected format, e.g. `otlp-jsonl`.
    pub format: &'static str,
    /// Records read (spans or usage rows).
    pub records: u64,
}

fn path_text<S: serde::Serializer>(path: &Path, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(&path.display())
}

/// Expand files and directories into a sorted list of files. Directories
/// are walked recursively for files whose name ends in one of `extensions`
/// (optionally followed by `.gz` or `.zst`);
/// files named explicitly are taken whatever their name.
pub fn expand(paths: &[PathBuf], extensions: &[&str]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        if meta.is_dir() {
            let before = files.len();
            walk(path, extensions, &mut files)?;
            if files.len() == before {
                return Err(Error::fatal(format!(
                    "{}: directory holds no {} files",
                    path.display(),
                    extensions.join(" or ")
                )));
            }
        } else {
            files.push(path.clone());
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

fn walk(dir: &Path, extensions: &[&str], out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        if path.is_dir() {
            walk(&path, extensions, out)?;
        } else if path
            .file_name()
            .and_then(|n| n.to_str())
            .map(|n| {
                n.strip_suffix(".gz")
                    .or_else(|| n.strip_suffix(".zst"))
                    .unwrap_or(n)
            })
            .is_some_and(|n| extensions.iter().any(|ext| n.ends_with(ext)))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// A whole (small) file as UTF-8 text; invalid UTF-8 or an empty file is an
/// error naming the file and line.
pub fn read_text(path: &Path) -> Result<String> {
    let mut bytes = Vec::new();
    open(path)?
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        Error::fatal(format!(
            "{}:{line}: invalid UTF-8 (byte {at})",
            path.display()
        ))
    })?;
    if text.trim().is_empty() {
        return Err(empty(path));
    }
    Ok(text)
}

/// The 1-based line a CSV record (or error) at `position` starts on in
/// `text`. The csv reader skips blank lines, but the position it gives a
/// record that follows some is that of the first blank line
/// (BurntSushi/rust-csv#208): the line ends between that position and the
/// record are counted here.
pub fn csv_line(text: &str, position: Option<&csv::Position>) -> u64 {
    let Some(position) = position else { return 0 };
    let rest = text
        .as_bytes()
        .get(position.byte() as usize..)
        .unwrap_or_default();
    let blank = rest
        .iter()
        .take_while(|&&b| b == b'\n' || b == b'\r')
        .count();
    let ends = (0..blank)
        .filter(|&i| rest[i] == b'\n' || rest.get(i + 1) != Some(&b'\n'))
        .count();
    position.line() + ends as u64
}

/// A CSV reading error in `text` (read from `path`), fatal, naming the line.
pub fn csv_error(path: &Path, text: &str, e: csv::Error) -> Error {
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("row has {len} fields, the header has {expected_len}"),
        _ => e.to_string(),
    };
    match e.position() {
        Some(p) => Error::fatal(format!(
            "{}:{}: {message}",
            path.display(),
            csv_line(text, Some(p))
        )),
        None => Error::fatal(format!("{}: {message}", path.display())),
    }
}

/// The error for an empty input file.
pub fn empty(path: &Path) -> Error {
    Error::fatal(format!(
        "{}: the file is empty; remove it from the inputs",
        path.display()
    ))
}

/// Open a file for buffered reading, decompressing gzip and zstd files,
/// which are recognised by their magic bytes whatever their name.
pub fn open(path: &Path) -> Result<BufReader<Box<dyn Read>>> {
    let io = |e| Error::io(path, e);
    let mut file = BufReader::with_capacity(1 << 16, File::open(path).map_err(io)?);
    let magic = file.fill_buf().map_err(io)?;
    let inner: Box<dyn Read> = if magic.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::bufread::MultiGzDecoder::new(file))
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        let decoder = ruzstd::decoding::StreamingDecoder::new(file).map_err(|e| {
            Error::fatal(format!("{}: not a readable zstd file: {e}", path.display()))
        })?;
        Box::new(decoder)
    } else {
        Box::new(file)
    };
    Ok(BufReader::with_capacity(1 << 16, inner))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_lines_count_the_blank_lines_the_reader_skips() {
        let text = "h,v\n\na,1\n\r\n\r\nb,2\n\"c\nc\",3\n\n\nd,4\n";
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let lines: Vec<(String, u64)> = reader
            .records()
            .map(|r| {
                let r = r.unwrap();
                (r[0].to_string(), csv_line(text, r.position()))
            })
            .collect();
        let expected = [("a", 3), ("b", 6), ("c\nc", 7), ("d", 11)];
        assert_eq!(lines, expected.map(|(k, l)| (k.to_string(), l)));
    }
}
