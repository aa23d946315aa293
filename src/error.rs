//! One error type for the whole program, and the strict/lenient policy for
//! record-level errors.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use crate::terminal::{escape, escape_lines};

/// Everything that can stop a run. Every variant renders as one message that
/// names where the problem is and what was expected.
#[derive(Debug)]
pub enum Error {
    /// One malformed input record (a span line, a usage row). `--lenient`
    /// turns these into counted skips; `kind` groups them in the summary.
    Record {
        /// `file:line` of the record.
        at: String,
        /// Short category, e.g. `bad-token-count`, counted under `--lenient`.
        kind: &'static str,
        /// What was wrong and what was expected.
        message: String,
    },
    /// A problem no record-level skip can fix: an unreadable file, a bad
    /// pricing table, an unpriced model, a bad flag.
    Fatal(String),
}

/// Shorthand for results carrying [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A record-level error at `file:line`.
    pub fn record(file: &Path, line: u64, kind: &'static str, message: impl Into<String>) -> Error {
        Error::record_at(format!("{}:{}", file.display(), line), kind, message)
    }

    /// A record-level error at `at`, already written as `file:line`.
    pub fn record_at(at: String, kind: &'static str, message: impl Into<String>) -> Error {
        Error::Record {
            at,
            kind,
            message: bounded(message.into()),
        }
    }

    /// A fatal error with a complete message.
    pub fn fatal(message: impl Into<String>) -> Error {
        Error::Fatal(message.into())
    }

    /// A fatal I/O error on `path`.
    pub fn io(path: &Path, err: std::io::Error) -> Error {
        Error::Fatal(format!("{}: {}", path.display(), err))
    }

    /// The message as a terminal may show it: the input values it quotes
    /// are escaped (see [`crate::terminal`]). A record error stays on one
    /// line whatever its values hold; a fatal message keeps its line breaks
    /// (a list of unpriced models).
    pub fn for_terminal(&self) -> String {
        match self {
            Error::Record { at, message, .. } => format!("{}: {}", escape(at), escape(message)),
            Error::Fatal(message) => escape_lines(message).into_owned(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Record { at, message, .. } => write!(f, "{at}: {message}"),
            Error::Fatal(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {}

/// The longest record-level message kept, in bytes: one naming a value
/// longer than this is cut there (a quote never closed took the rest of a
/// 65 MB file into one line of stderr and the summary).
const MAX_MESSAGE: usize = 2000;

/// `message` cut to [`MAX_MESSAGE`] bytes (on a character boundary), saying
/// how much was left out.
fn bounded(mut message: String) -> String {
    if message.len() <= MAX_MESSAGE {
        return message;
    }
    let mut end = MAX_MESSAGE;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    let more = message.len() - end;
    message.truncate(end);
    message.push_str(&format!(
        "… ({more} bytes more: a value this long is likely a damaged file, such as a quote never closed)"
    ));
    message
}

/// How many record-level errors of each kind were skipped, and where the
/// first few were. Strict by default: a record error is returned as is.
#[derive(Clone, Debug, Default)]
pub struct Skips {
    lenient: bool,
    /// Skipped records per error kind.
    pub by_kind: BTreeMap<String, u64>,
    /// The first [`Skips::KEEP`] skipped records, as full messages.
    pub first: Vec<String>,
}

impl Skips {
    /// How many skipped-record messages are kept for the summary.
    pub const KEEP: usize = 5;

    /// A policy that skips record errors (`lenient`) or stops on the first.
    pub fn new(lenient: bool) -> Skips {
        Skips {
            lenient,
            ..Skips::default()
        }
    }

    /// Apply the policy to `err`: under `--lenient` a record error is counted
    /// and `Ok` is returned; anything else is returned as the error.
    pub fn handle(&mut self, err: Error) -> Result<()> {
        match err {
            Error::Record { kind, .. } if self.lenient => {
                *self.by_kind.entry(kind.to_string()).or_default() += 1;
                if self.first.len() < Self::KEEP {
                    self.first.push(err.to_string());
                }
                Ok(())
            }
            err => Err(err),
        }
    }

    /// Add what another run (a shard) skipped: counts per kind, and its
    /// first messages while fewer than [`Skips::KEEP`] are kept.
    pub fn absorb(&mut self, by_kind: &BTreeMap<String, u64>, first: &[String]) {
        for (kind, n) in by_kind {
            *self.by_kind.entry(kind.clone()).or_default() += n;
        }
        let room = Self::KEEP.saturating_sub(self.first.len());
        self.first.extend(first.iter().take(room).cloned());
    }

    /// Whether record errors are skipped (`--lenient`).
    pub fn is_lenient(&self) -> bool {
        self.lenient
    }

    /// Total records skipped.
    pub fn total(&self) -> u64 {
        self.by_kind.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_for_the_terminal_escape_the_values_they_quote() {
        let record = Error::record(Path::new("s.jsonl"), 3, "bad-id", "span \"a\nb\u{1b}[2J\"");
        assert_eq!(record.for_terminal(), "s.jsonl:3: span \"a\\nb\\x1b[2J\"");
        let fatal = Error::fatal("no price:\n  openai gpt-\u{7}: 1 record(s)");
        assert_eq!(
            fatal.for_terminal(),
            "no price:\n  openai gpt-\\x07: 1 record(s)"
        );
    }

    #[test]
    fn a_record_message_quoting_a_huge_value_is_cut() {
        let value = "é".repeat(1_000_000);
        let record = Error::record(
            Path::new("i.csv"),
            3,
            "bad-currency",
            format!("billed in {value}"),
        );
        let text = record.for_terminal();
        assert!(text.len() < MAX_MESSAGE + 200, "{}", text.len());
        assert!(text.ends_with(
            "bytes more: a value this long is likely a damaged file, such as a quote never closed)"
        ));
        assert!(text.starts_with("i.csv:3: billed in éé"));
    }
}
