//! A gzip file read as `gzip -d` reads it: every member in turn (a log
//! shipper appends one per flush), each checked by its CRC-32 and length;
//! zero bytes after the last member (a block device's or an archiver's
//! padding) are passed over, as `gzip` does; any other byte after it is an
//! error, never text read past.

use std::io::{BufRead, Read};

/// The decompressed text of every member of a gzip stream.
pub struct Members<R: BufRead> {
    /// The member being read; `None` once the stream has ended.
    member: Option<flate2::bufread::GzDecoder<R>>,
}

impl<R: BufRead> Members<R> {
    /// Start reading the first member of `source`.
    pub fn new(source: R) -> Self {
        Members {
            member: Some(flate2::bufread::GzDecoder::new(source)),
        }
    }
}

/// Whether only zero bytes are left in `rest`.
fn only_zeros(rest: &mut impl BufRead) -> std::io::Result<bool> {
    loop {
        let bytes = rest.fill_buf()?;
        if bytes.is_empty() {
            return Ok(true);
        }
        if bytes.iter().any(|&b| b != 0) {
            return Ok(false);
        }
        let n = bytes.len();
        rest.consume(n);
    }
}

impl<R: BufRead> Read for Members<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while let Some(member) = &mut self.member {
            let n = member.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            let mut rest = self.member.take().expect("read above").into_inner();
            let first = rest.fill_buf()?.first().copied();
            match first {
                None => {}
                Some(0) if only_zeros(&mut rest)? => {}
                Some(0) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "bytes other than padding after the last gzip member",
                    ))
                }
                Some(_) => self.member = Some(flate2::bufread::GzDecoder::new(rest)),
            }
        }
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(text: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(text).unwrap();
        encoder.finish().unwrap()
    }

    fn read_all(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
        let mut text = Vec::new();
        Members::new(bytes).read_to_end(&mut text)?;
        Ok(text)
    }

    #[test]
    fn members_are_read_in_turn_and_zero_padding_passed_over() {
        let mut two = [gzip(b"a,b\n"), gzip(b""), gzip(b"c,d\n")].concat();
        assert_eq!(read_all(&two).unwrap(), b"a,b\nc,d\n");
        two.extend([0; 700]);
        assert_eq!(read_all(&two).unwrap(), b"a,b\nc,d\n");
        two.push(7);
        assert!(read_all(&two).is_err());
        let mut garbage = gzip(b"a,b\n");
        garbage.extend(b"x,y\n");
        assert!(read_all(&garbage).is_err());
        let cut = gzip(b"a,b\n");
        assert!(read_all(&cut[..cut.len() - 3]).is_err());
    }
}
