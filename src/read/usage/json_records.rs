//! A JSON source's records, as text with their line numbers: one JSON
//! array of records, one pretty-printed document, or JSON lines read as a
//! stream (LiteLLM's logs, cost and usage report pages).

use std::io::BufRead;
use std::path::Path;

use serde_json::value::RawValue;

use super::{JsonSink, RowError};
use crate::error::{Error, Result};

/// Call `each` with every JSON record of a source (or the record's problem):
/// one JSON array of records, one document, or one record per line (read as
/// a stream). A first line that is not JSON on its own is the start of one
/// pretty-printed document, unless the next line is a JSON record: then the
/// file is JSON lines whose first record is torn, a bad record like any
/// other.
pub fn for_each_json(mut source: impl BufRead, path: &Path, each: &mut JsonSink) -> Result<()> {
    let io = |e| Error::io(path, e);
    let mut lines = Lines { line_no: 0 };
    let Some(first) = lines.next_text(&mut source).map_err(io)? else {
        return Err(crate::read::empty(path));
    };
    let first_no = lines.line_no;
    let first = match first {
        Ok(first) => first,
        // A record of JSON lines that is not UTF-8, a bad record like any
        // other; the start of an array or a document that is not: the file.
        Err(raw) if is_one_line_record(&raw) => {
            each(first_no, Err(invalid_utf8(&raw)))?;
            return each_line(source, lines, path, each);
        }
        // Torn (cut from the front) where the next line is a record.
        Err(raw) => match lines.next_text(&mut source).map_err(io)? {
            Some(second) if is_record_line(&second) => {
                each(first_no, Err(invalid_utf8(&raw)))?;
                each(lines.line_no, as_record(&second))?;
                return each_line(source, lines, path, each);
            }
            _ => return Err(not_utf8(path, first_no, &raw)),
        },
    };
    if first.trim_start().starts_with('[') {
        let mut text = first;
        source.read_to_string(&mut text).map_err(io)?;
        return for_each_in_array(&text, first_no, path, each);
    }
    let mut pending = None;
    if !is_json(&first) {
        let second = lines.next_text(&mut source).map_err(io)?;
        let torn = match &second {
            Some(Err(raw)) if !is_one_line_record(raw) => {
                return Err(not_utf8(path, lines.line_no, raw))
            }
            Some(line) => is_record_line(line),
            None => false,
        };
        if !torn {
            let mut text = first;
            text.push_str(second.and_then(|t| t.ok()).as_deref().unwrap_or(""));
            source.read_to_string(&mut text).map_err(io)?;
            return each(first_no, Ok(&text));
        }
        pending = second.map(|t| (lines.line_no, t));
    }
    each(first_no, Ok(first.trim()))?;
    if let Some((line_no, line)) = pending {
        each(line_no, as_record(&line))?;
    }
    each_line(source, lines, path, each)
}

/// Whether a line is a record of JSON lines: a JSON object on its own, or,
/// not UTF-8, one by its first and last bytes.
fn is_record_line(line: &std::result::Result<String, Vec<u8>>) -> bool {
    match line {
        Ok(t) => t.trim_start().starts_with('{') && is_json(t),
        Err(raw) => is_one_line_record(raw),
    }
}

/// Whether `text` is one JSON value on its own.
fn is_json(text: &str) -> bool {
    serde_json::from_str::<serde::de::IgnoredAny>(text.trim()).is_ok()
}

/// A line as the record it holds: its text, or the error of one that is
/// not UTF-8.
fn as_record(line: &std::result::Result<String, Vec<u8>>) -> std::result::Result<&str, RowError> {
    line.as_deref()
        .map(str::trim)
        .map_err(|raw| invalid_utf8(raw))
}

/// Whether a line's bytes are a whole JSON object on one line (a record of
/// JSON lines), by its first and last bytes.
fn is_one_line_record(raw: &[u8]) -> bool {
    let raw = raw.trim_ascii();
    raw.starts_with(b"{") && raw.ends_with(b"}")
}

/// The error for a line of an array or a document that is not UTF-8: the
/// file's, since no record of it can be read apart.
fn not_utf8(path: &Path, line: u64, raw: &[u8]) -> Error {
    let (_, why) = invalid_utf8(raw);
    Error::fatal(format!("{}:{line}: {why}", path.display()))
}

/// Call `each` with every line left of `source` that is not blank,
/// numbered on from `lines`.
fn each_line(
    mut source: impl BufRead,
    mut lines: Lines,
    path: &Path,
    each: &mut JsonSink,
) -> Result<()> {
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if source
            .read_until(b'\n', &mut buf)
            .map_err(|e| Error::io(path, e))?
            == 0
        {
            return Ok(());
        }
        lines.line_no += 1;
        match std::str::from_utf8(&buf) {
            Ok(line) if line.trim().is_empty() => {}
            Ok(line) => each(lines.line_no, Ok(line.trim()))?,
            Err(_) => each(lines.line_no, Err(invalid_utf8(&buf)))?,
        }
    }
}

/// The record-level error for a line that is not UTF-8.
fn invalid_utf8(raw: &[u8]) -> RowError {
    let at = std::str::from_utf8(raw)
        .err()
        .map_or(raw.len(), |e| e.valid_up_to());
    ("invalid-utf8", format!("invalid UTF-8 at byte {at}"))
}

/// Line numbering while the first lines of a JSON source are looked at.
struct Lines {
    line_no: u64,
}

impl Lines {
    /// The next line that is not blank, with its line ending (`None` at the
    /// end of the input), or the bytes of a line that is not UTF-8.
    fn next_text(
        &mut self,
        source: &mut impl BufRead,
    ) -> std::io::Result<Option<std::result::Result<String, Vec<u8>>>> {
        loop {
            let mut buf = Vec::new();
            if source.read_until(b'\n', &mut buf)? == 0 {
                return Ok(None);
            }
            self.line_no += 1;
            match String::from_utf8(buf) {
                Ok(text) if text.trim().is_empty() => {}
                Ok(text) => return Ok(Some(Ok(text))),
                Err(e) => return Ok(Some(Err(e.into_bytes()))),
            }
        }
    }
}

/// Call `each` with every record of a JSON array that starts on line
/// `first_line`, numbering lines as it goes (once through the text).
pub(super) fn for_each_in_array(
    text: &str,
    first_line: u64,
    path: &Path,
    each: &mut JsonSink,
) -> Result<()> {
    let records: Vec<&RawValue> = serde_json::from_str(text).map_err(|e| {
        Error::fatal(format!(
            "{}:{}: not a JSON array of records: {e}",
            path.display(),
            first_line - 1 + e.line() as u64
        ))
    })?;
    let (mut counted_to, mut line) = (0, first_line);
    for raw in records {
        let offset = raw.get().as_ptr() as usize - text.as_ptr() as usize;
        line += memchr::memchr_iter(b'\n', &text.as_bytes()[counted_to..offset]).count() as u64;
        counted_to = offset;
        each(line, Ok(raw.get()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line of a JSON-lines file, the first too, is a bad record
    /// where it is not UTF-8 (the first lines were read lossily: a record
    /// with replacement characters in its team was taken).
    #[test]
    fn a_line_not_utf8_is_an_error_on_any_line() {
        for (text, at) in [
            (&b"{\"team\":\"a\xff\"}\n{\"team\":\"b\"}\n"[..], 1),
            (b"\n{\"team\":\"a\"}\n{\"team\":\"b\xff\"}\n", 3),
            (b"not json\n{\"team\":\"b\xff\"}\n", 2),
        ] {
            let mut seen = Vec::new();
            let mut each = |line: u64, record: std::result::Result<&str, RowError>| {
                seen.push((line, record.map(str::to_string).map_err(|(kind, _)| kind)));
                Ok(())
            };
            for_each_json(text, Path::new("u.jsonl"), &mut each).unwrap();
            let bad: Vec<u64> = (seen.iter().filter(|(_, r)| r == &Err("invalid-utf8")))
                .map(|(l, _)| *l)
                .collect();
            assert_eq!(bad, [at], "{seen:?}");
        }
        // A first line cut from the front inside a character, before a
        // record: a bad record, as a torn line of text is.
        let mut seen = Vec::new();
        let mut each = |line: u64, record: std::result::Result<&str, RowError>| {
            seen.push((line, record.is_ok()));
            Ok(())
        };
        let torn = b"\xa9 \"x\",\"n\":1}\n{\"team\":\"b\"}\n";
        for_each_json(&torn[..], Path::new("u.jsonl"), &mut each).unwrap();
        assert_eq!(seen, [(1, false), (2, true)]);
        // An array's or a document's line is no record of its own: the
        // file is refused, naming the line.
        for (text, at) in [
            (&b"[{\"team\":\"a\xff\"}]\n"[..], "u.jsonl:1:"),
            (b"{\n  \"team\": \"a\xff\"\n}\n", "u.jsonl:2:"),
        ] {
            let mut each = |_: u64, _: std::result::Result<&str, RowError>| Ok(());
            let error = for_each_json(text, Path::new("u.jsonl"), &mut each).unwrap_err();
            assert!(error.to_string().starts_with(at), "{error}");
        }
    }
}
