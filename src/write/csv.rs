//! CSV output: rows written a cell at a time into memory or straight into
//! an output file (hashed as it is written, for the manifest), with every
//! cell that a spreadsheet would run as a formula neutralised.

use std::borrow::Cow;
use std::io::Write;

use rust_decimal::Decimal;

use crate::error::{Error, Result};
use crate::manifest::Hashing;

/// CSV rows being written. Unless raw, a text cell that starts with `=`,
/// `+`, `-`, `@`, a tab or a carriage return is prefixed with `'`, so a
/// spreadsheet shows it instead of running it (OWASP CSV injection);
/// numbers are never touched.
pub struct CsvOut {
    writer: csv::Writer<Sink>,
    raw: bool,
}

/// Where CSV bytes go: memory (to print, or to test), or straight into the
/// output directory's file, so a large report is never held whole.
pub(super) enum Sink {
    Memory(Vec<u8>),
    File(Hashing<std::fs::File>),
}

impl Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Memory(v) => v.write(bytes),
            Sink::File(f) => f.write(bytes),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Memory(_) => Ok(()),
            Sink::File(f) => f.flush(),
        }
    }
}

impl CsvOut {
    pub(super) fn new(sink: Sink, raw: bool) -> CsvOut {
        CsvOut {
            writer: csv::WriterBuilder::new()
                .buffer_capacity(1 << 16)
                .from_writer(sink),
            raw,
        }
    }

    /// Run `write` on the rows and take the sink back.
    pub(super) fn render(
        mut self,
        write: impl FnOnce(&mut CsvOut) -> csv::Result<()>,
    ) -> csv::Result<Sink> {
        write(&mut self)?;
        self.writer
            .into_inner()
            .map_err(|e| csv::Error::from(e.into_error()))
    }

    /// Write one row, a cell at a time (no copy of a cell that is written
    /// as it is).
    pub fn row<S: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = S>) -> csv::Result<()> {
        for cell in cells {
            match self.raw {
                true => self.writer.write_field(cell.as_ref())?,
                false => self.writer.write_field(&*neutralise(cell.as_ref()))?,
            }
        }
        self.writer.write_record(std::iter::empty::<&[u8]>())
    }
}

/// A cell as a spreadsheet may safely show it: a text cell that starts
/// with a tab or a carriage return, or with `=`, `+`, `-` or `@` once its
/// leading blanks and controls are skipped (spaces, NUL, line feeds,
/// no-break and other Unicode spaces, and every character drawn as nothing,
/// which a spreadsheet may skip too), gets a leading `'`. Numbers are kept. A cell
/// that starts with `'` gets one more, so [`restore`] gives every value
/// back (`=acme` and `'=acme` stay two values).
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    // Most cells start with a letter or a digit: neither hidden nor risky.
    if cell
        .as_bytes()
        .first()
        .is_some_and(u8::is_ascii_alphanumeric)
    {
        return Cow::Borrowed(cell);
    }
    let hidden = |c: char| c.is_whitespace() || c.is_control() || crate::terminal::invisible(c);
    let risky = || {
        cell.starts_with(['\t', '\r'])
            || cell
                .trim_start_matches(hidden)
                .starts_with(['=', '+', '-', '@'])
    };
    let number = || cell.parse::<Decimal>().is_ok() || Decimal::from_scientific(cell).is_ok();
    if cell.starts_with('\'') || (risky() && !number()) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// The value a neutralised cell was written for: [`neutralise`] undone.
pub fn restore(cell: &str) -> &str {
    cell.strip_prefix('\'').unwrap_or(cell)
}

/// Render CSV rows into bytes; `raw` turns off formula neutralising.
pub fn csv_bytes(raw: bool, write: impl FnOnce(&mut CsvOut) -> csv::Result<()>) -> Result<Vec<u8>> {
    let rendered = CsvOut::new(Sink::Memory(Vec::new()), raw).render(write);
    match rendered.map_err(|e| Error::fatal(format!("writing CSV: {e}")))? {
        Sink::Memory(bytes) => Ok(bytes),
        Sink::File(_) => unreachable!("rendered into memory"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_numbers_kept() {
        assert_eq!(
            neutralise("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        assert_eq!(neutralise("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralise("+1+2"), "'+1+2");
        assert_eq!(neutralise("\tcmd"), "'\tcmd");
        assert_eq!(neutralise("-0.500000"), "-0.500000");
        assert_eq!(neutralise("-1e-7"), "-1e-7");
        assert_eq!(neutralise("acme-corp"), "acme-corp");
        // Leading blanks and controls do not hide a formula from a spreadsheet.
        for hidden in [
            "\0=HYPERLINK(\"http://x\")",
            " =1+2",
            "\u{a0}=HYPERLINK(\"http://x\")",
            "\n=HYPERLINK(\"http://x\")",
            "\u{3000}\u{200b}@SUM(A1)",
            "\u{feff}+1",
            " \t-2+3",
            // Format characters: soft hyphen, Mongolian vowel separator,
            // a left-to-right isolate, a language tag.
            "\u{ad}=HYPERLINK(\"http://x\")",
            "\u{180e}=1+2",
            "\u{2066}@SUM(A1)",
            "\u{e0001}-2+3",
        ] {
            assert_eq!(neutralise(hidden), format!("'{hidden}"), "{hidden:?}");
        }
        assert_eq!(neutralise("\rcmd"), "'\rcmd");
        assert_eq!(neutralise(" acme"), " acme");
        assert_eq!(neutralise("1e-7"), "1e-7");
        for value in ["=acme", "'=acme", "''x", "acme", "-0.5", "'"] {
            assert_eq!(restore(&neutralise(value)), value);
        }
    }
}
