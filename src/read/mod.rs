//! Stage 1, read: find the input files and normalise every format into the
//! shared record shapes of [`crate::model`]. One module per input family.

pub mod allocation;
pub mod blocks;
pub mod budgets;
pub mod csv_lines;
pub mod flat;
mod gzip_members;
pub mod invoice;
pub mod jaeger;
pub mod json_field;
pub mod otlp;
pub mod otlp_logs;
mod otlp_value;
pub mod outcomes;
pub mod provider_usage;
pub mod report_pages;
pub mod semconv;
pub mod span;
mod span_ids;
pub mod span_keys;
pub mod spans;
pub mod special;
mod streams;
pub mod toml;
pub mod usage;
mod zip_entry;
mod zstd_frames;

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufReader, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
pub use streams::Fingerprint;
use streams::{Decompressing, Fingerprinting, LineBound, ShrinkCheck, MAX_LINE};

/// One input file and what was read from it, for `summary.json`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct InputFile {
    /// The path as found.
    #[serde(serialize_with = "path_text")]
    pub path: PathBuf,
    /// What the file holds.
    pub kind: InputKind,
    /// The detected format, e.g. `otlp-jsonl`.
    pub format: &'static str,
    /// Records read (spans or usage rows).
    pub records: u64,
    /// Records `--lenient` skipped in this file (absent when none).
    #[serde(skip_serializing_if = "is_zero")]
    pub skipped: u64,
    /// For a span file written by `tokenledger partition`: the file it was
    /// cut from and the shard whose traces it holds (not in the summary).
    #[serde(skip)]
    pub part_of: Option<spans::PartOf>,
    /// Under `--shard`: the size and SHA-256 of what the shard read (of
    /// the source a partition was cut from), for `merge` to compare.
    #[serde(skip)]
    pub fingerprint: Option<(u64, crate::manifest::Sha)>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What an input file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputKind {
    /// Billed usage records.
    Usage,
    /// An invoice or cost report.
    Invoice,
    /// A provider usage report (coverage).
    ProviderUsage,
    /// Spans.
    Spans,
}

fn path_text<S: serde::Serializer>(path: &Path, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(&path.display())
}

/// The input path that means standard input.
pub const STDIN: &str = "-";

/// A file of a walked directory that was not read, and why: listed in the
/// summary, so nothing is left out unseen.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SkippedFile {
    /// The path as found.
    #[serde(serialize_with = "path_text")]
    pub path: PathBuf,
    /// Why it was not read.
    pub why: String,
}

/// Why a link to nothing is skipped (under `--lenient` only: a strict run
/// stops on it).
pub const DANGLING: &str = "a link to nothing";

/// Whether `path` is the metadata macOS writes beside a file (`._x.csv`,
/// left by an unzipped Finder archive or a copy to a foreign disk).
fn is_apple_double(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("._"))
}

/// Why a file of an input directory that cannot be opened is skipped
/// under `--lenient`.
const UNREADABLE: &str = "not readable (its permissions, or gone)";

/// Whether a file failed to open for what it is (its permissions, or
/// removed since the directory was listed), not for the machine's state
/// (too many open files, a disk error): only the first is skipped.
fn is_unreadable(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::NotFound
    )
}

impl SkippedFile {
    /// Say on stderr that it is skipped, and why.
    pub fn note(&self) {
        let path = self.path.display().to_string();
        let path = crate::terminal::escape(&path);
        crate::stderr_line!("tokenledger: note: {path}: {}; skipped", self.why);
    }
}

/// Input files found, and the files of walked directories left aside.
#[derive(Clone, Debug, Default)]
pub struct Walked {
    /// The files to read, sorted, each once.
    pub files: Vec<PathBuf>,
    /// Files of the walked directories not read.
    pub skipped: Vec<SkippedFile>,
}

/// Expand files and directories into a sorted list of files, each once.
/// Directories are walked recursively for regular files whose name ends in
/// one of `extensions` (in any case: `.CSV` too; optionally followed by
/// `.gz`, `.zst` or `.zip`); every other file of a walked directory is listed as
/// skipped. A directory reached again through a link (a loop) is walked
/// once; anything that is not a regular file (a FIFO, a socket) is skipped
/// with a note on stderr; a link to nothing is an error, or (`lenient`) a
/// skip with a note. Files named explicitly are taken whatever their name
/// or kind (`-`, `/dev/stdin` and process substitution are read once, as
/// streams). One file reached by two paths (`inv` and `./inv/x.csv`) is
/// read once.
pub fn expand(paths: &[PathBuf], extensions: &[&str], lenient: bool) -> Result<Walked> {
    let mut walk = Walk {
        extensions,
        lenient,
        seen_dirs: HashSet::new(),
        revisits: 0,
        lenient_skips: 0,
        found: Walked::default(),
    };
    for path in paths {
        if path.as_os_str() == STDIN {
            walk.found.files.push(path.clone());
            continue;
        }
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        if meta.is_dir() {
            let found = |w: &Walk| (w.found.files.len(), w.revisits, w.lenient_skips);
            let before = found(&walk);
            walk.dir(path, &meta)?;
            // A directory whose files were found by another path is read.
            if found(&walk) == before {
                return Err(Error::fatal(format!(
                    "{}: directory holds no {} files",
                    path.display(),
                    extensions.join(" or ")
                )));
            }
        } else {
            walk.found.files.push(path.clone());
        }
    }
    let mut found = walk.found;
    if found
        .files
        .iter()
        .filter(|f| f.as_os_str() == STDIN)
        .count()
        > 1
    {
        return Err(Error::fatal(
            "`-` (standard input) can be named only once among the inputs",
        ));
    }
    found.files.sort();
    found.files.dedup();
    // The same file under two names: keep the first name, sorted.
    let mut identities = HashSet::new();
    found.files.retain(|f| match std::fs::metadata(f) {
        Ok(m) if m.is_file() => identities.insert((m.dev(), m.ino())),
        _ => true,
    });
    Ok(found)
}

/// A directory walk in progress.
struct Walk<'e> {
    extensions: &'e [&'e str],
    lenient: bool,
    /// Directories walked, by (device, inode), so a loop is walked once.
    seen_dirs: HashSet<(u64, u64)>,
    /// Directories reached again (given twice, or linked from another).
    revisits: usize,
    /// Files found but skipped under `--lenient` (unreadable, dangling):
    /// a directory of only these is not empty.
    lenient_skips: usize,
    found: Walked,
}

impl Walk<'_> {
    fn dir(&mut self, dir: &Path, meta: &std::fs::Metadata) -> Result<()> {
        if !self.seen_dirs.insert((meta.dev(), meta.ino())) {
            self.revisits += 1;
            return Ok(());
        }
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
            entries.push(entry.map_err(|e| Error::io(dir, e))?.path());
        }
        entries.sort();
        for path in entries {
            let meta = match std::fs::metadata(&path) {
                Ok(meta) => meta,
                Err(_) => {
                    self.dangling(path)?;
                    continue;
                }
            };
            if meta.is_dir() {
                self.dir(&path, &meta)?;
            } else if is_apple_double(&path) {
                let why = "macOS metadata (an AppleDouble `._` file), not an export";
                self.skip(path, why, false);
            } else if !self.wanted(&path) {
                self.skip(path, "not a file of the kinds read here", false);
            } else if meta.is_file() {
                match File::open(&path) {
                    Ok(_) => self.found.files.push(path),
                    Err(e) if self.lenient && is_unreadable(&e) => {
                        self.skip(path, UNREADABLE, true);
                        self.lenient_skips += 1;
                    }
                    Err(e) => return Err(Error::io(&path, e)),
                }
            } else {
                self.skip(path, "not a regular file (a pipe, socket or device)", true);
            }
        }
        Ok(())
    }

    /// A link to nothing: an error, or under `--lenient` a listed skip.
    fn dangling(&mut self, path: PathBuf) -> Result<()> {
        let to = std::fs::read_link(&path).unwrap_or_default();
        if !self.lenient {
            return Err(Error::fatal(format!(
                "{}: a link to nothing ({}); remove it, or skip it with --lenient",
                path.display(),
                to.display()
            )));
        }
        self.skip(path, DANGLING, true);
        self.lenient_skips += 1;
        Ok(())
    }

    fn skip(&mut self, path: PathBuf, why: &'static str, note: bool) {
        let file = SkippedFile {
            path,
            why: why.to_string(),
        };
        if note {
            file.note();
        }
        self.found.skipped.push(file);
    }

    fn wanted(&self, path: &Path) -> bool {
        // A name that is not UTF-8 is judged by its ending all the same.
        let Some(name) = path.file_name() else {
            return false;
        };
        let name = name.to_string_lossy().to_ascii_lowercase();
        let name = name
            .strip_suffix(".gz")
            .or_else(|| name.strip_suffix(".zst"))
            .or_else(|| name.strip_suffix(".zip"))
            .unwrap_or(&name);
        self.extensions.iter().any(|ext| name.ends_with(ext))
    }
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

/// An open input: buffered, decompressed text.
pub type Source = BufReader<Box<dyn Read + Send>>;

/// Open a file for buffered reading, once: `-` is standard input; gzip and
/// zstd files, and a ZIP archive of one file, are decompressed, recognised
/// by their magic bytes whatever their name; a UTF-8 byte-order mark is dropped; a regular file that
/// shrinks while it is read (a log rotated by `copytruncate`) is an error.
pub fn open(path: &Path) -> Result<Source> {
    Ok(open_with_head(path, 0)?.1)
}

/// [`open`], also returning the first `n` bytes of the (decompressed) text,
/// fewer if it is shorter, which the reader still yields: formats are
/// detected from them without opening the file twice.
pub fn open_with_head(path: &Path, n: usize) -> Result<(Vec<u8>, Source)> {
    open_fingerprinted(path, n, None)
}

/// [`open_with_head`], the file's bytes (as stored, before any
/// decompression) also added to `fingerprint` as they are read.
pub fn open_fingerprinted(
    path: &Path,
    n: usize,
    fingerprint: Option<&Fingerprint>,
) -> Result<(Vec<u8>, Source)> {
    let io = |e| Error::io(path, e);
    let stored: Box<dyn Read + Send> = if path.as_os_str() == STDIN {
        Box::new(std::io::stdin())
    } else {
        special::check(path)?;
        let file = File::open(path).map_err(io)?;
        Box::new(ShrinkCheck { file, read: 0 })
    };
    // Standard input too: shards given two streams must not pass for
    // shards of one.
    let mut raw: Box<dyn Read + Send> = match fingerprint {
        Some(fingerprint) => Box::new(Fingerprinting {
            stored,
            fingerprint: fingerprint.clone(),
        }),
        None => stored,
    };
    let magic = read_head(&mut raw, 4).map_err(io)?;
    let raw = BufReader::with_capacity(1 << 16, std::io::Cursor::new(magic.clone()).chain(raw));
    let text: Box<dyn Read + Send> = match packing(&magic) {
        Some(Packing::Gzip) => Box::new(Decompressing {
            decoder: gzip_members::Members::new(raw),
            format: "gzip",
        }),
        Some(Packing::Zip) => {
            let entry = zip_entry::Entry::new(raw).map_err(|e| {
                Error::fatal(format!("{}: not a readable ZIP file: {e}", path.display()))
            })?;
            Box::new(entry)
        }
        Some(Packing::Zstd) => {
            let decoder = zstd_frames::Frames::new(raw).map_err(|e| {
                Error::fatal(format!("{}: not a readable zstd file: {e}", path.display()))
            })?;
            Box::new(Decompressing {
                decoder,
                format: "zstd",
            })
        }
        None => Box::new(raw),
    };
    let mut text: Box<dyn Read + Send> = Box::new(LineBound::new(text, MAX_LINE));
    let mut head = read_head(&mut text, n.max(BOM.len())).map_err(io)?;
    if head.starts_with(&[0xff, 0xfe]) || head.starts_with(&[0xfe, 0xff]) {
        return Err(Error::fatal(format!(
            "{}: UTF-16 text (it starts with a UTF-16 byte-order mark); inputs are read as \
             UTF-8: save it as UTF-8, or convert it (iconv -f UTF-16 -t UTF-8)",
            path.display()
        )));
    }
    if head.starts_with(BOM) {
        head.drain(..BOM.len());
        head.extend(read_head(&mut text, BOM.len()).map_err(io)?);
    }
    let text: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(head.clone()).chain(text));
    head.truncate(n);
    Ok((head, BufReader::with_capacity(1 << 16, text)))
}

/// A warning for each usage or bill file of plain text rows (not JSON,
/// not compressed: a cut gzip, ZIP or zstd stream, or cut JSON, is an
/// error) that ends without a line break: its last row is read as
/// written, and a file cut short (a download or copy interrupted) cuts
/// that row too, inside a number as readily as between rows.
pub fn unterminated(inputs: &[InputFile]) -> Vec<String> {
    let rows = |kind| {
        matches!(
            kind,
            InputKind::Usage | InputKind::Invoice | InputKind::ProviderUsage
        )
    };
    (inputs.iter())
        .filter(|i| rows(i.kind) && i.path.as_os_str() != STDIN && ends_mid_row(&i.path))
        .map(|i| {
            format!(
                "{} ends without a line break: its last row is read as written; was the file \
                 cut short? check its last row",
                i.path.display()
            )
        })
        .collect()
}

/// Whether the plain text rows in the regular file `path` end without a
/// line break (read again: its first bytes and its last).
fn ends_mid_row(path: &Path) -> bool {
    use std::io::{Seek, SeekFrom};
    // A named pipe was read once, and opened again it would wait.
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return false;
    }
    let edges = || -> std::io::Result<(Vec<u8>, u8)> {
        let mut file = File::open(path)?;
        let head = read_head(&mut file, 256)?;
        file.seek(SeekFrom::End(-1))?;
        let mut last = [0u8];
        file.read_exact(&mut last)?;
        Ok((head, last[0]))
    };
    let Ok((head, last)) = edges() else {
        return false;
    };
    let text = head.strip_prefix(BOM).unwrap_or(&head).trim_ascii_start();
    let json = text.starts_with(b"{") || text.starts_with(b"[");
    packing(&head).is_none() && !json && last != b'\n'
}

/// How a file's bytes are packed, told by its first four (its magic
/// number) whatever its name: the one test `open` and `ends_mid_row` share.
enum Packing {
    Gzip,
    Zip,
    Zstd,
}

fn packing(magic: &[u8]) -> Option<Packing> {
    if magic.starts_with(&[0x1f, 0x8b]) {
        Some(Packing::Gzip)
    } else if zip_entry::is_zip(magic) {
        Some(Packing::Zip)
    } else if zstd_frames::is_zstd(magic) {
        Some(Packing::Zstd)
    } else {
        None
    }
}

/// The UTF-8 byte-order mark (a CSV saved from Excel starts with it).
const BOM: &[u8] = b"\xef\xbb\xbf";

/// Read the first `n` bytes (fewer at the end of the input; a pipe may hand
/// them over a few at a time).
fn read_head(reader: &mut dyn Read, n: usize) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(n);
    reader.take(n as u64).read_to_end(&mut head)?;
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_byte_order_mark_is_dropped_and_the_head_kept() {
        let path = std::env::temp_dir().join(format!("tokenledger-bom-{}", std::process::id()));
        std::fs::write(&path, "\u{feff}a,b\n1,2\n").unwrap();
        let (head, mut reader) = open_with_head(&path, 3).unwrap();
        let mut text = String::new();
        reader.read_to_string(&mut text).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(head, b"a,b");
        assert_eq!(text, "a,b\n1,2\n");
    }

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
