//! A ZIP archive of one file read as that file: AWS delivers a legacy CUR
//! as `<report>-<n>.csv.zip` (or `.gz`). The entry is read as it streams
//! (stored or deflated, flate2's raw decoder), its CRC-32 checked at its
//! end; an archive of more than one file, or compressed otherwise, is an
//! error, never a file read in part.

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

impl<R: BufRead> Entry<R> {
    /// Read the local header of `source`'s first entry.
    pub fn new(mut source: R) -> std::io::Result<Self> {
        let mut header = [0u8; LOCAL_HEADER];
        source.read_exact(&mut header)?;
        let (flags, method) = (u16_at(&header, 6), u16_at(&header, 8));
        let size = u32_at(&header, 18);
        let skip = u64::from(u16_at(&header, 26)) + u64::from(u16_at(&header, 28));
        std::io::copy(&mut (&mut source).take(skip), &mut std::io::sink())?;
        if flags & ENCRYPTED_FLAG != 0 {
            return Err(bad("an encrypted ZIP entry: decrypt and unzip it first"));
        }
        let follows = flags & DESCRIPTOR_FLAG != 0;
        let data = match method {
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
            stated_crc: (!follows).then(|| u32_at(&header, 14)),
            done: false,
        })
    }

    /// At the entry's end: its CRC checked, and what follows it must be the
    /// archive's directory, not a second file.
    fn finish(&mut self) -> std::io::Result<()> {
        let rest = match &mut self.data {
            EntryData::Stored(take) => take.get_mut(),
            EntryData::Deflated(decoder) => decoder.get_mut(),
        };
        let mut next = Vec::new();
        rest.take(28).read_to_end(&mut next)?;
        let mut at = 0;
        let stated = match self.stated_crc {
            Some(crc) => crc,
            None => {
                // A data descriptor: its signature is optional.
                at = if next.starts_with(b"PK\x07\x08") {
                    4
                } else {
                    0
                };
                let crc = next.get(at..at + 4).map(|b| u32_at(b, 0));
                at += 12;
                crc.ok_or_else(|| bad("the ZIP archive ends inside its entry"))?
            }
        };
        if stated != self.crc.sum() {
            return Err(bad(
                "the ZIP entry's CRC-32 does not match its data: a damaged archive",
            ));
        }
        let tail = next.get(at..).unwrap_or_default();
        if tail.windows(4).any(|w| w == b"PK\x03\x04") {
            return Err(bad(
                "a ZIP archive of more than one file: give each file unzipped (or one per archive)",
            ));
        }
        Ok(())
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

    /// A one-entry archive of `text`, deflated, its CRC in the local
    /// header or (`descriptor`) in a data descriptor after the data.
    fn archive(text: &[u8], descriptor: bool) -> Vec<u8> {
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
        zip.extend(5u16.to_le_bytes());
        zip.extend(0u16.to_le_bytes());
        zip.extend(b"x.csv");
        zip.extend(&data);
        if descriptor {
            zip.extend(b"PK\x07\x08");
            zip.extend(sum.to_le_bytes());
            zip.extend([0; 8]);
        }
        zip.extend(b"PK\x01\x02");
        zip
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
        let at = two.len() - 4;
        two.splice(at.., archive(b"more", false));
        assert!(read_all(&two)
            .unwrap_err()
            .to_string()
            .contains("more than one file"));
        let mut locked = archive(&text, false);
        locked[6] |= 1;
        let error = read_all(&locked).unwrap_err().to_string();
        assert!(error.contains("encrypted"), "{error}");
    }
}
