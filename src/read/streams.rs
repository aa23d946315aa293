//! The readers an input's bytes pass through: the shrink check on a file
//! being read, its fingerprint, a decompressor's errors worded as the
//! data's, and the bound on a line's length.

use std::fs::File;
use std::io::Read;

/// The longest line an input may have: no format read here writes one
/// as long (an OTLP export's line is one batch of spans, megabytes), and a
/// stream of none (a small compressed file of gigabytes of zeros,
/// `/dev/zero` as standard input) was held whole until memory ran out.
pub(super) const MAX_LINE: u64 = 1 << 30;

/// A text whose lines are at most `max` bytes long ([`MAX_LINE`]): a
/// longer one is an error, before it is held. The line breaks of each
/// read are found by SIMD search, so the check costs next to nothing.
pub(super) struct LineBound<R> {
    text: R,
    max: u64,
    /// Bytes read since the last line break.
    since_newline: u64,
}

impl<R> LineBound<R> {
    pub(super) fn new(text: R, max: u64) -> LineBound<R> {
        LineBound {
            text,
            max,
            since_newline: 0,
        }
    }
}

impl<R: Read> Read for LineBound<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.text.read(buf)?;
        // Each line the read ends (the first begun in earlier reads), then
        // the one its last break begins.
        let mut longest = 0;
        for at in memchr::memchr_iter(b'\n', &buf[..n]) {
            longest = longest.max(self.since_newline.wrapping_add(at as u64));
            self.since_newline = 0u64.wrapping_sub(at as u64 + 1);
        }
        self.since_newline = self.since_newline.wrapping_add(n as u64);
        if longest.max(self.since_newline) > self.max {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "a line longer than {}: no export writes one (a damaged file, or no text of \
                     lines; a JSON array this large is read when written as JSON lines or pretty-printed)",
                    match self.max {
                        MAX_LINE => "1 GiB".to_string(),
                        max => format!("{max} bytes"),
                    }
                ),
            ));
        }
        Ok(n)
    }
}

/// A decompressing reader whose errors say the compressed data is bad,
/// the decoder's own words after it ("incomplete deflate stream").
pub(super) struct Decompressing<R> {
    pub(super) decoder: R,
    pub(super) format: &'static str,
}

impl<R: Read> Read for Decompressing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.decoder.read(buf).map_err(|e| match e.kind() {
            std::io::ErrorKind::Interrupted => e,
            kind => std::io::Error::new(
                kind,
                format!("the {} data is cut short or corrupt ({e})", self.format),
            ),
        })
    }
}

/// The size and SHA-256 of a file's bytes, taken as a reader reads them:
/// what a shard read, for `merge` to compare across shards; and, where
/// asked, the SHA-256 of its first bytes up to a mark (a partition file's
/// body, before its trailer).
#[derive(Clone, Default)]
pub struct Fingerprint(std::sync::Arc<std::sync::Mutex<Hashing>>);

#[derive(Default)]
struct Hashing {
    hasher: crate::manifest::Hasher,
    /// The offset to take the hash at, until it is taken.
    mark: Option<u64>,
    /// The hash of the bytes before the mark, once read past it.
    marked: Option<crate::manifest::Sha>,
}

impl Fingerprint {
    /// A fingerprint that also takes the SHA-256 of the first `mark` bytes.
    pub fn marked_at(mark: u64) -> Fingerprint {
        let hashing = Hashing {
            mark: Some(mark),
            ..Hashing::default()
        };
        Fingerprint(std::sync::Arc::new(std::sync::Mutex::new(hashing)))
    }

    /// Bytes read and their SHA-256, so far (at the end: the file's).
    pub fn get(&self) -> (u64, crate::manifest::Sha) {
        let hasher = self.0.lock().expect("a fingerprint").hasher.clone();
        (hasher.len, hasher.finish())
    }

    /// The SHA-256 of the bytes before the mark, once read past it.
    pub fn at_mark(&self) -> Option<crate::manifest::Sha> {
        self.0.lock().expect("a fingerprint").marked.clone()
    }

    fn add(&self, bytes: &[u8]) {
        let mut hashing = self.0.lock().expect("a fingerprint");
        let read = hashing.hasher.len;
        let cut = hashing
            .mark
            .filter(|&m| m >= read && m - read <= bytes.len() as u64);
        if let Some(mark) = cut {
            let (before, after) = bytes.split_at((mark - read) as usize);
            hashing.hasher.update(before);
            hashing.marked = Some(hashing.hasher.clone().finish());
            hashing.mark = None;
            hashing.hasher.update(after);
        } else {
            hashing.hasher.update(bytes);
        }
    }
}

/// A file being read that must not shrink while it is: at its end, a file
/// now shorter than what was read from it was truncated under the reader.
pub(super) struct ShrinkCheck {
    pub(super) file: File,
    pub(super) read: u64,
}

impl Read for ShrinkCheck {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        self.read += n as u64;
        if n == 0 && !buf.is_empty() {
            let meta = self.file.metadata()?;
            if meta.is_file() && meta.len() < self.read {
                return Err(std::io::Error::other(format!(
                    "the file shrank to {} bytes while {} were read (rotated or truncated \
                     mid-read?); read it again once it is complete",
                    meta.len(),
                    self.read
                )));
            }
        }
        Ok(n)
    }
}

/// The bytes of a file or stream as stored, added to a fingerprint as
/// they are read.
pub(super) struct Fingerprinting {
    pub(super) stored: Box<dyn Read + Send>,
    pub(super) fingerprint: Fingerprint,
}

impl Read for Fingerprinting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.stored.read(buf)?;
        self.fingerprint.add(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::open;

    /// A stream with no line break (a compressed file of zeros) stops
    /// when its line outgrows the bound, before it is held whole.
    #[test]
    fn a_line_longer_than_the_bound_is_an_error() {
        let lines = b"abc\ndefghij\nk".repeat(1000);
        let mut out = Vec::new();
        LineBound::new(&lines[..], 7).read_to_end(&mut out).unwrap();
        assert_eq!(out, lines);
        // A line between two others in one read, and a line begun in one
        // read and ended in the next, are bounded too.
        let middle = LineBound::new(&b"a\n0123456789\nb"[..], 7).read_to_end(&mut out);
        assert!(middle.is_err());
        let straddling = std::io::Read::chain(&b"abcdef"[..], &b"ghijkl\nxy"[..]);
        let err = LineBound::new(straddling, 7)
            .read_to_end(&mut out)
            .unwrap_err();
        assert!(
            err.to_string().starts_with("a line longer than 7 bytes"),
            "{err}"
        );
        let endless = std::io::repeat(0).take(1 << 20);
        let err = LineBound::new(endless, 1000)
            .read_to_end(&mut out)
            .unwrap_err();
        assert!(
            err.to_string().starts_with("a line longer than 1000 bytes"),
            "{err}"
        );
    }

    #[test]
    fn a_file_truncated_while_read_is_an_error() {
        let path = std::env::temp_dir().join(format!("tokenledger-shrink-{}", std::process::id()));
        std::fs::write(&path, "x".repeat(300_000)).unwrap();
        let mut reader = open(&path).unwrap();
        let mut first = vec![0; 100_000];
        reader.read_exact(&mut first).unwrap();
        // logrotate's copytruncate, mid-read.
        std::fs::File::create(&path).unwrap();
        let mut rest = Vec::new();
        let err = reader.read_to_end(&mut rest).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert!(
            err.to_string().contains("the file shrank to 0 bytes"),
            "{err}"
        );
    }
}
