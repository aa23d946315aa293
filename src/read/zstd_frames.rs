//! A zstd file read to its end: every frame in turn, as `zstd -d` does, not
//! only the first. Files of several frames are common: `zstd >> file`,
//! `pzstd` (which also starts with a skippable frame), log shippers that
//! append a frame per batch. Skippable frames are passed over; a frame's
//! content checksum, where it has one (`zstd` writes it by default), is
//! checked, as `zstd -d` checks it.

use std::io::Read;

use ruzstd::decoding::{FrameDecoder, StreamingDecoder};

/// Whether `magic` (a file's first four bytes) starts a zstd frame or a
/// skippable frame.
pub fn is_zstd(magic: &[u8]) -> bool {
    magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
        || matches!(magic, [0x50..=0x5f, 0x2a, 0x4d, 0x18, ..])
}

/// A frame's decoder reads its magic number again from this.
type Source<R> = std::io::Chain<std::io::Cursor<[u8; 4]>, R>;

/// The decompressed bytes of every frame of `source`.
pub struct Frames<R: Read> {
    decoder: Option<StreamingDecoder<Source<R>, FrameDecoder>>,
}

impl<R: Read> Frames<R> {
    /// Start at the first frame; an error if `source` does not start one.
    pub fn new(source: R) -> std::io::Result<Self> {
        Ok(Frames {
            decoder: next_frame(source, FrameDecoder::new())?,
        })
    }
}

/// A decoder for the next data frame of `source`, skippable frames passed
/// over; `None` at the end of the input.
fn next_frame<R: Read>(
    mut source: R,
    frame: FrameDecoder,
) -> std::io::Result<Option<StreamingDecoder<Source<R>, FrameDecoder>>> {
    let cut = |what: &str| std::io::Error::other(format!("the zstd file ends inside {what}"));
    loop {
        let mut magic = [0u8; 4];
        match read_full(&mut source, &mut magic)? {
            0 => return Ok(None),
            4 => {}
            _ => return Err(cut("a frame's magic number")),
        }
        if !matches!(magic, [0x50..=0x5f, 0x2a, 0x4d, 0x18]) {
            let source = std::io::Cursor::new(magic).chain(source);
            let decoder = StreamingDecoder::new_with_decoder(source, frame);
            return decoder.map(Some).map_err(std::io::Error::other);
        }
        let mut length = [0u8; 4];
        if read_full(&mut source, &mut length)? != 4 {
            return Err(cut("a skippable frame"));
        }
        let length = u64::from(u32::from_le_bytes(length));
        let skipped = std::io::copy(&mut (&mut source).take(length), &mut std::io::sink())?;
        if skipped != length {
            return Err(cut("a skippable frame"));
        }
    }
}

/// Read until `buf` is full or the input ends; how many bytes were read.
fn read_full(source: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match source.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

impl<R: Read> Read for Frames<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while let Some(decoder) = self.decoder.as_mut() {
            let n = decoder.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            if !decoder.decoder.is_finished() {
                return Err(std::io::Error::other("the zstd file ends inside a frame"));
            }
            let written = decoder.decoder.get_checksum_from_data();
            if written.is_some() && written != decoder.decoder.get_calculated_checksum() {
                return Err(std::io::Error::other(
                    "a frame's content does not match its checksum",
                ));
            }
            let (source, frame) = self.decoder.take().expect("a decoder").into_parts();
            let (_, source) = source.into_inner();
            self.decoder = next_frame(source, frame)?;
        }
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_frame_is_read_and_skippable_frames_passed_over() {
        let frame = |text: &[u8]| {
            ruzstd::encoding::compress_to_vec(text, ruzstd::encoding::CompressionLevel::Fastest)
        };
        let mut file = vec![0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3];
        file.extend(frame(b"first\n"));
        file.extend(frame(b"second\n"));
        file.extend([0x5f, 0x2a, 0x4d, 0x18, 0, 0, 0, 0]);
        file.extend(frame(b"third\n"));
        assert!(is_zstd(&file[..4]));
        let mut text = String::new();
        Frames::new(&file[..])
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "first\nsecond\nthird\n");
        // One byte of the last frame's content changed: its checksum
        // (the frame's last 4 bytes) no longer matches.
        let text_at = file.windows(6).rposition(|w| w == b"third\n").unwrap();
        let mut changed = file.clone();
        changed[text_at] = b'T';
        let mut out = Vec::new();
        let err = Frames::new(&changed[..]).unwrap().read_to_end(&mut out);
        assert!(err.unwrap_err().to_string().contains("checksum"));
        let cut = &file[..file.len() - 3];
        let mut out = Vec::new();
        assert!(
            Frames::new(cut).unwrap().read_to_end(&mut out).is_err(),
            "a cut frame is an error"
        );
    }
}
