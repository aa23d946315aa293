//! CSV read one physical line at a time, for the inputs whose fields never
//! hold a line break: a stray `"` then spoils only its own row (a counted
//! bad record), never the rows after it. Every CSV header is also checked
//! for a column named twice. The inputs whose fields may hold one (bills,
//! provider usage reports) are read record by record ([`next_csv_record`]),
//! a quote never closed named rather than taking in the rows after it.

use std::io::{BufRead, Cursor, SeekFrom};
use std::path::Path;

use crate::error::{Error, Result};

/// A CSV source read line by line.
pub struct CsvLines<R> {
    source: R,
    /// Reused for each line; its parsing state is reset between lines.
    parser: csv::Reader<Cursor<Vec<u8>>>,
    /// What follows a line's first record, if anything does.
    rest: csv::ByteRecord,
    line_no: u64,
}

impl<R: BufRead> CsvLines<R> {
    /// Read `source`, whose first non-blank line is the header.
    pub fn new(source: R) -> CsvLines<R> {
        let parser = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(Cursor::new(Vec::new()));
        CsvLines {
            source,
            parser,
            rest: csv::ByteRecord::new(),
            line_no: 0,
        }
    }

    /// The same, its first line numbered `first_line`.
    pub fn starting_at(source: R, first_line: u64) -> CsvLines<R> {
        let mut lines = CsvLines::new(source);
        lines.line_no = first_line.saturating_sub(1);
        lines
    }

    /// The source, positioned after the last line read, and that line's
    /// number.
    pub fn into_rest(self) -> (R, u64) {
        (self.source, self.line_no)
    }

    /// The next non-blank line's number (`None` at the end), and the line
    /// parsed into `record` or why it is not valid CSV on its own.
    pub fn next(
        &mut self,
        path: &Path,
        record: &mut csv::ByteRecord,
    ) -> Result<Option<(u64, std::result::Result<(), String>)>> {
        loop {
            let line = self.parser.get_mut().get_mut();
            line.clear();
            if self
                .source
                .read_until(b'\n', line)
                .map_err(|e| Error::io(path, e))?
                == 0
            {
                return Ok(None);
            }
            self.line_no += 1;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            // Only a line holding a `\r` can hold a second record.
            let has_cr = memchr::memchr(b'\r', line).is_some();
            let mut start = csv::Position::new();
            start.set_line(self.line_no);
            self.parser
                .seek_raw(SeekFrom::Start(0), start)
                .map_err(|e| Error::fatal(format!("{}: {e}", path.display())))?;
            let parsed = match self.parser.read_byte_record(record) {
                Err(e) => Err(csv_message(&e)),
                Ok(_) if record.iter().any(|f| f.contains(&b'\n')) => Err(
                    "a quoted field is not closed on its line: a line break inside a quoted \
                         field (these files are read one row per line: write it as a space or \
                         `\\n`) or a stray `\"`"
                        .to_string(),
                ),
                Ok(_) if has_cr && self.more_on_the_line() => Err(
                    "a carriage return (`\\r`) ends a row in the middle of the line, and more \
                     follows it: the file's line ends are `\\r` alone (convert them to `\\n` or \
                     `\\r\\n`), or a field holds a `\\r`"
                        .to_string(),
                ),
                Ok(_) => Ok(()),
            };
            return Ok(Some((self.line_no, parsed)));
        }
    }

    /// Whether the line holds more than the record just read: the parser
    /// ends a record at a lone `\r` as at `\n`, so what follows one would
    /// be lost. Blank space after it is nothing.
    fn more_on_the_line(&mut self) -> bool {
        loop {
            match self.parser.read_byte_record(&mut self.rest) {
                Ok(false) => return false,
                Ok(true) if self.rest.iter().all(|f| f.trim_ascii().is_empty()) => {}
                Ok(true) | Err(_) => return true,
            }
        }
    }

    /// The header (the first non-blank line), checked by [`check_header`].
    pub fn header(&mut self, path: &Path) -> Result<csv::ByteRecord> {
        let mut header = csv::ByteRecord::new();
        match self.next(path, &mut header)? {
            None => Err(super::empty(path)),
            Some((line, Err(e))) => Err(Error::fatal(format!("{}:{line}: {e}", path.display()))),
            Some((line, Ok(()))) => {
                header.trim();
                check_header(path, line, header.iter())?;
                Ok(header)
            }
        }
    }
}

/// A header that names a column twice is refused: which of the two holds
/// the values cannot be known; so is one whose column runs over lines (a
/// stray quote took in the first rows).
pub fn check_header<'h>(
    path: &Path,
    line: u64,
    names: impl Iterator<Item = &'h [u8]>,
) -> Result<()> {
    let names: Vec<&[u8]> = names.collect();
    for (i, name) in names.iter().enumerate() {
        if name.is_empty() {
            continue;
        }
        if name.contains(&b'\n') {
            return Err(Error::fatal(format!(
                "{}: the header's column {} runs over several lines (a stray `\"`?): it takes in \
                 the rows after it",
                path.display(),
                i + 1
            )));
        }
        if let Some(j) = names[i + 1..].iter().position(|n| n == name) {
            return Err(Error::fatal(format!(
                "{}:{line}: the header names column {} twice (columns {} and {}); which one holds \
                 the values is unknown: rename or remove one",
                path.display(),
                String::from_utf8_lossy(name),
                i + 1,
                i + j + 2
            )));
        }
    }
    Ok(())
}

/// What is wrong with a CSV row, without its position.
pub fn csv_message(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("row has {len} fields, the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { err, .. } => format!("invalid UTF-8 in field {}", err.field() + 1),
        _ => e.to_string(),
    }
}

/// Read the next record of `text` (from `path`, whose header has
/// `columns` columns) into `record`: its line, and why it cannot be
/// trusted ([`unclosed_quote`], or a `\r` alone ending it with more of the
/// line after it, which the reader takes as a line end its line numbers do
/// not count); `None` at the end.
pub fn next_csv_record(
    (path, text, columns): (&Path, &str, usize),
    reader: &mut csv::Reader<&[u8]>,
    record: &mut csv::StringRecord,
) -> Result<Option<(u64, Option<String>)>> {
    let start = reader.position().byte() as usize;
    if !reader
        .read_record(record)
        .map_err(|e| super::csv_error(path, text, e))?
    {
        return Ok(None);
    }
    let raw = &text.as_bytes()[start..reader.position().byte() as usize];
    Ok(Some((
        super::csv_line(text, record.position()),
        unclosed_quote(raw, record, columns).or_else(|| {
            // Harmless where only blanks and line ends follow it on its line
            // (`\r\r\n`, a last row ending in `\r`).
            let rest = &text.as_bytes()[start + raw.len()..];
            let line_goes_on = rest
                .iter()
                .find(|b| !matches!(b, b'\r' | b' ' | b'\t'))
                .is_some_and(|&b| b != b'\n');
            (raw.ends_with(b"\r") && line_goes_on).then(|| {
                "a carriage return (`\\r`) ends the row with more of the line after it: the \
                 file's line ends are `\\r` alone (convert them to `\\n` or `\\r\\n`), or a \
                 field holds a `\\r` unquoted"
                    .to_string()
            })
        }),
    )))
}

/// Why a CSV record read from `raw` (its bytes) cannot be trusted: a row
/// over several lines whose quoted fields are not each closed just before
/// a comma or the row's end (a stray `"` opened one, which took in the
/// rows after it, up to the next quote or the end of the file).
fn unclosed_quote(raw: &[u8], record: &csv::StringRecord, columns: usize) -> Option<String> {
    if !record.iter().any(|f| f.contains('\n')) || well_quoted(raw) && !holds_rows(record, columns)
    {
        return None;
    }
    let lines = raw.iter().filter(|&&b| b == b'\n').count().max(2);
    Some(format!(
        "a quoted field is not closed (a stray `\"`?): the row runs over {lines} lines, \
         taking in the rows after it"
    ))
}

/// Whether a field's line break took in what reads as rows of their own
/// (a stray `"` opening it, another closing it rows later, where a field
/// ends): a line inside it with a separator for every column of a row.
fn holds_rows(record: &csv::StringRecord, columns: usize) -> bool {
    let row = |line: &str| line.matches(',').count() + 1 >= columns;
    columns > 2 && record.iter().any(|f| f.lines().skip(1).any(row))
}

/// Whether every quoted field of the CSV row `raw` closes, just before a
/// comma, a line end or the end (a `""` inside is a quote).
fn well_quoted(raw: &[u8]) -> bool {
    let (mut at, mut field_start) = (0, true);
    while let Some(&b) = raw.get(at) {
        at += 1;
        if !(field_start && b == b'"') {
            field_start = matches!(b, b',' | b'\n' | b'\r');
            continue;
        }
        loop {
            match (raw.get(at), raw.get(at + 1)) {
                (None, _) => return false,
                (Some(b'"'), Some(b'"')) => at += 2,
                (Some(b'"'), next) => {
                    at += 1;
                    if !matches!(next, None | Some(b',' | b'\n' | b'\r')) {
                        return false;
                    }
                    break;
                }
                (Some(_), _) => at += 1,
            }
        }
        field_start = false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows read record by record: a row over several lines is kept only
    /// if its quoted fields close where a field ends.
    #[test]
    fn a_row_over_lines_is_kept_only_with_its_quotes_closed() {
        let rows = |text: &str| {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(text.as_bytes());
            let mut record = csv::StringRecord::new();
            let mut seen = Vec::new();
            while let Some((line, why)) =
                next_csv_record((Path::new("b.csv"), text, 3), &mut reader, &mut record).unwrap()
            {
                seen.push((line, why.is_some()));
            }
            seen
        };
        // A line break and a "" inside closed quotes; a literal " unquoted.
        assert_eq!(
            rows("a,\"x\ny \"\"z\"\"\",1\nb,12\" fee,\"p\nq\"\n"),
            [(1, false), (3, false)]
        );
        // One stray quote takes in the rest; two stray ones, one row each.
        assert_eq!(rows("a,\"say hi,1\nb,x,2\nc,y,3\n"), [(1, true)]);
        assert_eq!(
            rows("a,\"say hi,1\nb,x\"oops,2\nc,y,3\n"),
            [(1, true), (3, false)]
        );
        // A stray quote opening a field, another closing it rows later.
        assert_eq!(rows("a,1,\"x\nb,2,y\"\nc,3,z\n"), [(1, true), (3, false)]);
        // A lone carriage return with more of the line after it; `\r\r\n`
        // and a last row ending in `\r` are line ends.
        assert_eq!(rows("a,1\rb,2\r"), [(1, true), (1, false)]);
        assert_eq!(rows("a,1\r\r\nb,2\r\r\n"), [(1, false), (2, false)]);
        assert_eq!(rows("a,1\r\nb,2\r"), [(1, false), (2, false)]);
    }
}
