//! The manifest of an output directory (`.tokenledger-manifest`): the files
//! a run wrote there, each with its SHA-256, so that
//! - a later run replaces exactly those files and nothing else, and
//! - a later command that reads an output back (`diff` a month's ledger,
//!   `merge` a shard's partial) checks each file against what wrote it
//!   before trusting it ([`read_verified`]).
//!
//! Its header names the kind of output (`reports`, `partial`,
//! `reconciliation`, `diff`): a run replaces only its own kind.
//! Each line after the header is `<sha256>  <name>`, the format of
//! `sha256sum`, so `sha256sum -c .tokenledger-manifest` checks a directory
//! by hand too. A name listed twice, with two hashes, may hold either (a
//! mount point's files being replaced one by one). A line holding only a
//! name (an older tokenledger's, or an edit) lists the file without a
//! hash: it cannot be checked, so no run replaces or trusts it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};

/// The manifest's file name in every output directory.
pub const MANIFEST: &str = ".tokenledger-manifest";

/// The manifest's first line: `# tokenledger KIND output: …` (an older
/// one names no kind).
const HEADER: (&str, &str) = (
    "# tokenledger ",
    " output: a rerun replaces exactly these files",
);

/// A file's SHA-256, as 64 lower-case hex digits.
pub type Sha = String;

/// The files an output directory lists: name → the hashes it may have
/// (one; two while a mount point's files are replaced; none in an older
/// manifest).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    /// Every file the run wrote, by name.
    pub files: BTreeMap<String, Vec<Sha>>,
    /// Which kind of output the directory is (`reports`, `partial`,
    /// `reconciliation`, `diff`); none in an older manifest.
    pub kind: Option<String>,
}

impl Manifest {
    /// Parse a manifest's text; names that could leave the directory
    /// (`/`, `..`) are never listed.
    pub fn parse(text: &str) -> Manifest {
        let mut files: BTreeMap<String, Vec<Sha>> = BTreeMap::new();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let (name, sha) = match line.split_once("  ") {
                Some((sha, name)) if is_sha(sha) => (name, Some(sha.to_string())),
                _ => (line, None),
            };
            if name.contains(['/', '\\']) || name == "." || name == ".." {
                continue;
            }
            let hashes = files.entry(name.to_string()).or_default();
            hashes.extend(sha.filter(|sha| !hashes.contains(sha)));
        }
        let kind = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix(HEADER.0)?.strip_suffix(HEADER.1))
            .filter(|kind| !kind.is_empty() && !kind.contains(' '))
            .map(str::to_string);
        Manifest { files, kind }
    }

    /// The manifest in `dir` (empty when there is none).
    pub fn read(dir: &Path) -> Result<Manifest> {
        let path = dir.join(MANIFEST);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Manifest::parse(&text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Manifest::default()),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    /// The manifest's text.
    pub fn render(&self) -> String {
        let mut text = match &self.kind {
            Some(kind) => format!("{}{kind}{}\n", HEADER.0, HEADER.1),
            None => format!("{}{}\n", HEADER.0.trim_end(), HEADER.1),
        };
        for (name, hashes) in &self.files {
            for sha in hashes {
                text.push_str(&format!("{sha}  {name}\n"));
            }
            if hashes.is_empty() {
                text.push_str(&format!("{name}\n"));
            }
        }
        text
    }

    /// Whether the manifest lists `name`.
    pub fn lists(&self, name: &str) -> bool {
        self.files.contains_key(name)
    }
}

fn is_sha(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> Sha {
    hex(&Sha256::digest(bytes))
}

/// The SHA-256 of the file at `path`, read in pieces.
pub fn sha256_file(path: &Path) -> std::io::Result<Sha> {
    sha256_reader(std::fs::File::open(path)?)
}

/// The SHA-256 of everything `reader` gives, read in pieces.
pub fn sha256_reader(mut reader: impl std::io::Read) -> std::io::Result<Sha> {
    let mut hasher = Hasher::default();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        match reader.read(&mut buffer)? {
            0 => return Ok(hasher.finish()),
            n => hasher.update(&buffer[..n]),
        }
    }
}

fn hex(bytes: &[u8]) -> Sha {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A writer that hashes what passes through it.
pub struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    /// Bytes written so far.
    pub len: u64,
}

impl<W: Write> Hashing<W> {
    /// Hash what is written to `inner`.
    pub fn new(inner: W) -> Hashing<W> {
        Hashing {
            inner,
            hasher: Sha256::new(),
            len: 0,
        }
    }

    /// The writer and the hash of everything written.
    pub fn finish(self) -> (W, Sha) {
        (self.inner, hex(&self.hasher.finalize()))
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(bytes)?;
        self.hasher.update(&bytes[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A streaming SHA-256, for input files hashed as they are read.
#[derive(Clone, Default)]
pub struct Hasher {
    hasher: Sha256,
    /// Bytes hashed so far.
    pub len: u64,
}

impl Hasher {
    /// Add `bytes`.
    pub fn update(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.len += bytes.len() as u64;
    }

    /// The hash of everything added.
    pub fn finish(self) -> Sha {
        hex(&self.hasher.finalize())
    }
}

/// The file `name` of the output directory `dir`, read whole and checked
/// against the directory's manifest: it must be listed with a hash, and
/// its bytes must have that hash. `what` says which command wrote the
/// directory, for the messages.
pub fn read_verified(dir: &Path, name: &str, what: &str) -> Result<Vec<u8>> {
    let path = dir.join(name);
    if let Err(e) = std::fs::metadata(dir) {
        return Err(Error::io(dir, e));
    }
    let expected = listed_sha(dir, name, what)?;
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    check(&path, &sha256(&bytes), &expected, what)?;
    Ok(bytes)
}

/// The hash `dir`'s manifest lists for `name`, or why there is none.
fn listed_sha(dir: &Path, name: &str, what: &str) -> Result<Sha> {
    let path = dir.join(name);
    let manifest = Manifest::read(dir)?;
    match manifest.files.get(name).map(Vec::as_slice) {
        Some([sha]) => Ok(sha.clone()),
        Some([_, _, ..]) => Err(Error::fatal(format!(
            "{}: {}'s manifest lists several SHA-256s for it: a run replacing the directory's files \
             stopped part way, so which it holds cannot be told; rerun {what} for it",
            path.display(),
            dir.display()
        ))),
        Some([]) => Err(Error::fatal(format!(
            "{}: {}'s manifest lists no SHA-256 for it (an older tokenledger's, or edited), so it \
             cannot be checked; rerun {what} for it",
            path.display(),
            dir.display()
        ))),
        None => Err(Error::fatal(format!(
            "{}: not listed in {}'s manifest ({MANIFEST}): not written by {what}, or by a \
             tokenledger too old to check; rerun {what} for it",
            path.display(),
            dir.display()
        ))),
    }
}

/// An error unless `actual` is `expected`.
fn check(path: &Path, actual: &str, expected: &str, what: &str) -> Result<()> {
    if actual == expected {
        return Ok(());
    }
    Err(Error::fatal(format!(
        "{}: changed since {what} wrote it (SHA-256 {actual}, the manifest says {expected}): \
         edited, cut short or replaced; tokenledger does not trust it. Rerun {what} for it",
        path.display()
    )))
}

/// A file of an output directory being read, hashed as it goes, checked
/// against the directory's manifest by [`Checked::verify`] once read to
/// its end (what was read is not trusted before).
pub struct Checked {
    file: std::fs::File,
    hasher: Hasher,
    expected: Sha,
    path: std::path::PathBuf,
    what: &'static str,
}

impl Checked {
    /// Open `dir/name`, which `dir`'s manifest must list with a hash.
    pub fn open(dir: &Path, name: &str, what: &'static str) -> Result<Checked> {
        let path = dir.join(name);
        let expected = listed_sha(dir, name, what)?;
        let file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
        Ok(Checked {
            file,
            hasher: Hasher::default(),
            expected,
            path,
            what,
        })
    }

    /// The hash the manifest lists, which [`Checked::verify`] holds the
    /// bytes read to.
    pub fn sha(&self) -> &Sha {
        &self.expected
    }

    /// Whether what was read is the file the manifest lists.
    pub fn verify(&self) -> Result<()> {
        check(
            &self.path,
            &self.hasher.clone().finish(),
            &self.expected,
            self.what,
        )
    }
}

impl std::io::Read for Checked {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_round_trip_and_read_older_lines() {
        let text = "# header\nab.csv\n";
        let old = Manifest::parse(text);
        assert_eq!(old.files.get("ab.csv"), Some(&Vec::new()));
        let mut m = Manifest::default();
        m.files.insert("a b.csv".into(), vec![sha256(b"x")]);
        m.files
            .insert("either.csv".into(), vec![sha256(b"x"), sha256(b"y")]);
        m.files.insert("../evil".into(), Vec::new());
        m.kind = Some("diff".into());
        let parsed = Manifest::parse(&m.render());
        assert_eq!(parsed.kind.as_deref(), Some("diff"));
        assert_eq!(
            Manifest::parse("# tokenledger output: a rerun replaces exactly these files\n").kind,
            None
        );
        assert_eq!(parsed.files.len(), 2);
        assert_eq!(parsed.files["a b.csv"], vec![sha256(b"x")]);
        assert_eq!(parsed.files["either.csv"], vec![sha256(b"x"), sha256(b"y")]);
        assert_eq!(
            sha256(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let mut w = Hashing::new(Vec::new());
        w.write_all(b"ab").unwrap();
        w.write_all(b"c").unwrap();
        assert_eq!(w.finish().1, sha256(b"abc"));
    }
}
