//! A ZIP archive of one file read as that file: AWS delivers a legacy CUR
//! as `<report>-<n>.csv.zip` (or `.gz`). The entry is read as it streams
//! (stored or deflated, flate2's raw decoder), its CRC-32 checked at its
//! end (its data descriptor's sizes 64-bit in a ZIP64 entry); folders and
//! the metadata macOS Finder adds (`__MACOSX/`, `._` files, `.DS_Store`)
//! are passed over; the directory after the entry is read to the
//! archive's end. An archive of more than one file (two archives joined
//! into one file too), bytes of no ZIP record after the entry or after
//! the archive's end, or compression other than stored or deflated, are
//! errors, never a file read in part.

use std::io::{BufRead, Read};

/// A ZIP archive's first four bytes (a local file header).
pub fn is_zip(magic: &[u8]) -> bool {
    magic.starts_with(b"PK\x03\x04")
}

const LOCAL_HEADER: usize = 30;
/// The flag saying the sizes and CRC follow the data (a data descriptor).
const DESCRIPTOR_FLAG: u16 = 1 << 3;
/// The flag of an encrypted entry.
const ENCRYPTED_FLAG: u16 = 1;

/// The decompressed bytes of an archive's one entry.
pub struct Entry<R: BufRead> {
    data: EntryData<R>,
    crc: flate2::Crc,
    /// The CRC the local header states, unless it follows the data.
    stated_crc: Option<u32>,
    /// Its data descriptor's sizes are 64-bit (a ZIP64 entry).
    zip64: bool,
    /// The local entries read (folders and metadata included), which the
    /// directory must list, no more.
    entries: u64,
    done: bool,
}

enum EntryData<R: BufRead> {
    Stored(std::io::Take<R>),
    Deflated(flate2::bufread::DeflateDecoder<R>),
}

fn bad(what: impl Into<String>) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.into())
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// A local file header: what is needed to read or pass over its entry.
struct Header {
    flags: u16,
    method: u16,
    crc: u32,
    size: u32,
    name: Vec<u8>,
    /// Its extra field holds a ZIP64 record: 64-bit sizes.
    zip64: bool,
}

/// What follows an entry: another entry's local header, the archive's
/// directory (the signature of its first record, read), or the end of the
/// bytes.
enum Next {
    Entry(Header),
    Directory([u8; 4]),
    End,
}

impl Header {
    /// What comes next in `source`: a local header, or where the entries
    /// end (the central directory, or the end of the bytes).
    fn read(source: &mut impl BufRead) -> std::io::Result<Next> {
        let mut signature = Vec::with_capacity(4);
        source.take(4).read_to_end(&mut signature)?;
        match signature.as_slice() {
            b"PK\x03\x04" => {}
            [] => return Ok(Next::End),
            // The central directory (ZIP64's too).
            b"PK\x01\x02" | b"PK\x05\x06" | b"PK\x06\x06" => {
                return Ok(Next::Directory([b'P', b'K', signature[2], signature[3]]))
            }
            _ => {
                return Err(bad(
                    "bytes of no ZIP record after an entry: a damaged archive",
                ))
            }
        }
        let mut header = [0u8; LOCAL_HEADER];
        header[..4].copy_from_slice(&signature);
        source.read_exact(&mut header[4..])?;
        let mut name = vec![0; usize::from(u16_at(&header, 26))];
        source.read_exact(&mut name)?;
        let mut extra = vec![0; usize::from(u16_at(&header, 28))];
        source.read_exact(&mut extra)?;
        Ok(Next::Entry(Header {
            flags: u16_at(&header, 6),
            method: u16_at(&header, 8),
            crc: u32_at(&header, 14),
            size: u32_at(&header, 18),
            name,
            zip64: has_zip64_record(&extra),
        }))
    }

    /// Its sizes and CRC follow its data (a data descriptor).
    fn follows(&self) -> bool {
        self.flags & DESCRIPTOR_FLAG != 0
    }

    /// A folder, or the metadata macOS Finder adds to every archive it
    /// makes (`__MACOSX/`, `._` AppleDouble files): not a file's text.
    fn is_metadata(&self) -> bool {
        let name = String::from_utf8_lossy(&self.name);
        let base = name.rsplit('/').next().unwrap_or_default();
        name.ends_with('/')
            || name.starts_with("__MACOSX/")
            || base.starts_with("._")
            || base == ".DS_Store"
    }

    /// Pass over the entry's data (and its data descriptor).
    fn skip(&self, source: &mut impl BufRead) -> std::io::Result<()> {
        match self.method {
            // A ZIP64 size (0xFFFFFFFF here, the size in its extra field):
            // taking it would pass over the rest of the archive.
            0 if self.size == u32::MAX && !self.follows() => {
                return Err(bad(
                    "a ZIP64 metadata entry stored without its size: unzip it first",
                ))
            }
            0 if !self.follows() => {
                let size = u64::from(self.size);
                std::io::copy(&mut source.take(size), &mut std::io::sink())?;
            }
            8 => {
                let mut data = flate2::bufread::DeflateDecoder::new(&mut *source);
                std::io::copy(&mut data, &mut std::io::sink())?;
            }
            0 if self.name.ends_with(b"/") => {}
            _ => {
                return Err(bad(
                    "a ZIP archive's metadata entry stored without its size: unzip it first",
                ))
            }
        }
        if self.follows() {
            descriptor_crc(source, self.zip64)?;
        }
        Ok(())
    }
}

fn more_than_one_file() -> std::io::Error {
    bad("a ZIP archive of more than one file: give each file unzipped (or one per archive)")
}

/// Read the archive's directory to its end, from the record whose
/// `signature` was just read: central directory headers, ZIP64's end
/// record and locator, then the end of central directory record and its
/// comment, with nothing after it; the entries it lists, counted. Bytes
/// after the end are refused: two archives joined into one file (`cat
/// a.zip b.zip`), whose second file would go unread.
fn directory_to_end(source: &mut impl BufRead, mut signature: [u8; 4]) -> std::io::Result<u64> {
    let cut = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => bad("the ZIP archive ends inside its directory"),
        _ => e,
    };
    let mut listed = 0;
    loop {
        listed += u64::from(signature == *b"PK\x01\x02");
        // Each record's fixed length, and where its variable lengths are.
        let (fixed, lengths): (usize, &[usize]) = match &signature {
            b"PK\x01\x02" => (46, &[28, 30, 32]),
            b"PK\x06\x06" => (12, &[]),
            b"PK\x06\x07" => (20, &[]),
            b"PK\x05\x06" => (22, &[20]),
            _ => {
                return Err(bad(
                    "bytes of no ZIP record in the archive's directory: a damaged archive",
                ))
            }
        };
        let mut record = vec![0u8; fixed];
        record[..4].copy_from_slice(&signature);
        source.read_exact(&mut record[4..]).map_err(cut)?;
        let variable = match &signature {
            // ZIP64's end record gives the length of its rest in 64 bits.
            b"PK\x06\x06" => u64::from_le_bytes(record[4..12].try_into().expect("8 bytes")),
            _ => lengths
                .iter()
                .map(|&at| u64::from(u16_at(&record, at)))
                .sum(),
        };
        let passed = std::io::copy(&mut source.take(variable), &mut std::io::sink())?;
        if passed < variable {
            return Err(cut(std::io::ErrorKind::UnexpectedEof.into()));
        }
        let mut next = Vec::with_capacity(4);
        source.take(4).read_to_end(&mut next)?;
        match (&signature, next.len()) {
            (b"PK\x05\x06", 0) => return Ok(listed),
            (b"PK\x05\x06", _) if next.starts_with(b"PK\x03\x04") => {
                return Err(more_than_one_file())
            }
            (b"PK\x05\x06", _) => {
                return Err(bad("bytes after the ZIP archive's end: a damaged archive"))
            }
            (_, 4) => signature = next.try_into().expect("4 bytes"),
            _ => return Err(cut(std::io::ErrorKind::UnexpectedEof.into())),
        }
    }
}

/// Whether an extra field holds a ZIP64 record (header id 0x0001).
fn has_zip64_record(mut extra: &[u8]) -> bool {
    while extra.len() >= 4 {
        if u16_at(extra, 0) == 1 {
            return true;
        }
        let next = 4 + usize::from(u16_at(extra, 2));
        extra = extra.get(next..).unwrap_or_default();
    }
    false
}

/// Read a data descriptor (its signature is optional; its two sizes 32-bit,
/// or 64-bit in a ZIP64 entry) and give its CRC.
fn descriptor_crc(source: &mut impl BufRead, zip64: bool) -> std::io::Result<u32> {
    let mut signature = [0u8; 4];
    source.read_exact(&mut signature)?;
    if signature == *b"PK\x07\x08" {
        source.read_exact(&mut signature)?;
    }
    let mut sizes = [0u8; 16];
    source.read_exact(&mut sizes[..if zip64 { 16 } else { 8 }])?;
    Ok(u32::from_le_bytes(signature))
}

impl<R: BufRead> Entry<R> {
    /// Read the local header of `source`'s one file, passing over the
    /// folders and metadata before it.
    pub fn new(mut source: R) -> std::io::Result<Self> {
        let mut entries = 1;
        let header = loop {
            match Header::read(&mut source)? {
                Next::Entry(header) if header.is_metadata() => header.skip(&mut source)?,
                Next::Entry(header) => break header,
                _ => return Err(bad("a ZIP archive with no file in it")),
            }
            entries += 1;
        };
        if header.flags & ENCRYPTED_FLAG != 0 {
            return Err(bad("an encrypted ZIP entry: decrypt and unzip it first"));
        }
        let (follows, size) = (header.follows(), header.size);
        let data = match header.method {
            0 if !follows && size != u32::MAX => EntryData::Stored(source.take(u64::from(size))),
            8 => EntryData::Deflated(flate2::bufread::DeflateDecoder::new(source)),
            0 => return Err(bad("a ZIP entry stored without its size: unzip it first")),
            other => {
                return Err(bad(format!(
                    "a ZIP entry compressed with method {other} (only stored and deflated are read): unzip it first"
                )))
            }
        };
        Ok(Entry {
            data,
            crc: flate2::Crc::new(),
            stated_crc: (!follows).then_some(header.crc),
            zip64: header.zip64,
            entries,
            done: false,
        })
    }

    /// At the entry's end: its CRC checked, and what follows it must be the
    /// archive's directory (or folders and metadata), not a second file.
    fn finish(&mut self) -> std::io::Result<()> {
        let rest = match &mut self.data {
            EntryData::Stored(take) => take.get_mut(),
            EntryData::Deflated(decoder) => decoder.get_mut(),
        };
        let cut = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => bad("the ZIP archive ends inside its entry"),
            _ => e,
        };
        let stated = match self.stated_crc {
            Some(crc) => crc,
            None => descriptor_crc(rest, self.zip64).map_err(cut)?,
        };
        if stated != self.crc.sum() {
            return Err(bad(
                "the ZIP entry's CRC-32 does not match its data: a damaged archive",
            ));
        }
        loop {
            match Header::read(rest).map_err(cut)? {
                Next::Entry(header) if header.is_metadata() => header.skip(rest).map_err(cut)?,
                Next::Entry(_) => return Err(more_than_one_file()),
                Next::Directory(signature) => {
                    let listed = directory_to_end(rest, signature)?;
                    if listed != self.entries {
                        return Err(bad(format!(
                            "the ZIP archive's directory lists {listed} entries where {} were \
                             read: a file hidden from a reader that streams it (give each file \
                             unzipped)",
                            self.entries
                        )));
                    }
                    return Ok(());
                }
                Next::End => {
                    return Err(bad("the ZIP archive ends before its directory: cut short?"))
                }
            }
            self.entries += 1;
        }
    }
}

impl<R: BufRead> Read for Entry<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        let n = match &mut self.data {
            EntryData::Stored(take) => take.read(buf)?,
            EntryData::Deflated(decoder) => decoder.read(buf)?,
        };
        self.crc.update(&buf[..n]);
        if n == 0 {
            self.done = true;
            self.finish()?;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A local entry `name` of `text`, deflated, its CRC in the local
    /// header or (`descriptor`) in a data descriptor after the data.
    fn entry(name: &str, text: &[u8], descriptor: bool) -> Vec<u8> {
        let mut deflate = flate2::write::DeflateEncoder::new(Vec::new(), Default::default());
        deflate.write_all(text).unwrap();
        let data = deflate.finish().unwrap();
        let mut crc = flate2::Crc::new();
        crc.update(text);
        let (sum, flags) = (crc.sum(), if descriptor { DESCRIPTOR_FLAG } else { 0 });
        let mut zip = b"PK\x03\x04\x14\x00".to_vec();
        zip.extend(flags.to_le_bytes());
        zip.extend(8u16.to_le_bytes());
        zip.extend([0; 4]);
        let header_crc = if descriptor { 0 } else { sum };
        zip.extend(header_crc.to_le_bytes());
        zip.extend((data.len() as u32).to_le_bytes());
        zip.extend((text.len() as u32).to_le_bytes());
        zip.extend((name.len() as u16).to_le_bytes());
        zip.extend(0u16.to_le_bytes());
        zip.extend(name.as_bytes());
        zip.extend(&data);
        if descriptor {
            zip.extend(b"PK\x07\x08");
            zip.extend(sum.to_le_bytes());
            zip.extend([0; 8]);
        }
        zip
    }

    /// An archive's directory of `n` entries: a central header each (no
    /// name), the end record (no comment).
    fn directory(n: usize) -> Vec<u8> {
        let header = [b"PK\x01\x02".as_slice(), &[0; 42]].concat();
        [header.repeat(n), b"PK\x05\x06".to_vec(), vec![0; 18]].concat()
    }

    /// A one-entry archive of `text`.
    fn archive(text: &[u8], descriptor: bool) -> Vec<u8> {
        [entry("x.csv", text, descriptor), directory(1)].concat()
    }

    fn read_all(zip: &[u8]) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        Entry::new(std::io::BufReader::new(zip))?.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn one_deflated_entry_reads_as_its_file_and_damage_or_a_second_file_is_refused() {
        let text = b"a,b\n1,2\n".repeat(100);
        for descriptor in [false, true] {
            let zip = archive(&text, descriptor);
            assert!(is_zip(&zip));
            assert_eq!(read_all(&zip).unwrap(), text);
        }
        let mut damaged = archive(&text, false);
        damaged[14] ^= 1;
        assert!(read_all(&damaged)
            .unwrap_err()
            .to_string()
            .contains("CRC-32"));
        let mut two = archive(&text, false);
        let at = two.len() - directory(1).len();
        two.splice(at.., archive(b"more", false));
        assert!(read_all(&two)
            .unwrap_err()
            .to_string()
            .contains("more than one file"));
        // Two archives joined (`cat a.zip b.zip`): the second's file is
        // never left unread.
        let joined = [archive(&text, false), archive(b"more", false)].concat();
        let error = read_all(&joined).unwrap_err().to_string();
        assert!(error.contains("more than one file"), "{error}");
        let cut = archive(&text, false);
        let error = read_all(&cut[..cut.len() - 5]).unwrap_err().to_string();
        assert!(error.contains("ends inside its directory"), "{error}");
        let padded = [archive(&text, false), b"junk".to_vec()].concat();
        assert!(read_all(&padded).is_err());
        // Cut before its directory (an interrupted download of two files),
        // or a directory listing a file no local header was read for.
        let error = read_all(&entry("x.csv", &text, false))
            .unwrap_err()
            .to_string();
        assert!(error.contains("ends before its directory"), "{error}");
        let hidden = [entry("x.csv", &text, false), directory(2)].concat();
        let error = read_all(&hidden).unwrap_err().to_string();
        assert!(
            error.contains("lists 2 entries where 1 were read"),
            "{error}"
        );
        let mut locked = archive(&text, false);
        locked[6] |= 1;
        let error = read_all(&locked).unwrap_err().to_string();
        assert!(error.contains("encrypted"), "{error}");
    }

    #[test]
    fn folders_and_macos_metadata_are_passed_over() {
        let text = b"a,b\n1,2\n".repeat(100);
        let folder = |name: &str| {
            // Stored, no data, its (zero) sizes in a data descriptor.
            let mut stored = entry(name, b"", true);
            stored[8] = 0;
            let data = 30 + name.len();
            stored.drain(data..data + 2);
            stored
        };
        let finder = [
            folder("r/"),
            entry("r/x.csv", &text, true),
            folder("__MACOSX/"),
            entry("__MACOSX/r/._x.csv", b"\0\x05\x16\x07 mac metadata", true),
            directory(4),
        ];
        assert_eq!(read_all(&finder.concat()).unwrap(), text);
        let only_metadata = [folder("r/"), directory(1)].concat();
        let error = read_all(&only_metadata).err().unwrap().to_string();
        assert!(error.contains("no file"), "{error}");
        let second = [entry("x.csv", &text, true), entry("y.csv", b"c\n", true)];
        let error = read_all(&second.concat()).unwrap_err().to_string();
        assert!(error.contains("more than one file"), "{error}");
    }

    #[test]
    fn a_zip64_entry_is_read_whole_and_a_second_file_after_it_refused() {
        // As a streaming writer makes it: a ZIP64 extra field, 64-bit sizes
        // in the data descriptor (their last 8 bytes once read as the next
        // record, so the second file passed unseen).
        let zip64 = |name: &str, text: &[u8]| {
            let mut e = entry(name, text, true);
            e[28..30].copy_from_slice(&20u16.to_le_bytes());
            let at = 30 + name.len();
            e.splice(at..at, [[1, 0, 16, 0].as_slice(), &[0; 16]].concat());
            e.extend([0; 8]);
            e
        };
        let text = b"a,b\n1,2\n".repeat(50);
        let one = [zip64("x.csv", &text), directory(1)].concat();
        assert_eq!(read_all(&one).unwrap(), text);
        let two = [zip64("x.csv", &text), zip64("y.csv", b"c\n"), directory(2)];
        let error = read_all(&two.concat()).unwrap_err().to_string();
        assert!(error.contains("more than one file"), "{error}");
        let junk = [zip64("x.csv", &text), b"junk".to_vec()].concat();
        assert!(read_all(&junk).is_err());
    }
}
