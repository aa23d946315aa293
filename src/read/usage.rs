//! Billed usage, one record per request. The canonical CSV is read here;
//! other sources (gateway logs, provider exports) are adapters that produce
//! the same [`UsageRecord`], chosen by [`UsageFormat::detect`].

use std::path::Path;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::error::{Error, Result, Skips};
use crate::intern::Interner;
use crate::model::{Origin, TokenType, Tokens, UsageRecord, MAX_TOKENS};
use crate::money::plausible;

/// The usage formats tokenledger reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UsageFormat {
    /// tokenledger's canonical usage CSV.
    Canonical,
}

impl UsageFormat {
    /// The name shown in the summary.
    pub fn name(self) -> &'static str {
        match self {
            UsageFormat::Canonical => "canonical-csv",
        }
    }

    /// Detect a file's format from its header.
    pub fn detect(path: &Path) -> Result<UsageFormat> {
        let mut reader = csv::Reader::from_reader(super::open(path)?);
        let headers = reader.byte_headers().map_err(|e| csv_error(path, e))?;
        if headers.iter().all(|h| h.is_empty()) {
            return Err(super::empty(path));
        }
        if headers.iter().any(|h| h == b"request_id") {
            Ok(UsageFormat::Canonical)
        } else {
            Err(Error::fatal(format!(
                "{}: not a usage file tokenledger knows: expected a CSV header with {}",
                path.display(),
                CANONICAL_COLUMNS.join(",")
            )))
        }
    }
}

/// The canonical CSV's required columns (order free; extra columns ignored).
pub const CANONICAL_COLUMNS: [&str; 10] = [
    "request_id",
    "timestamp",
    "provider",
    "model",
    "uncached_input_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "batch",
];

/// Column positions of the canonical CSV, found from its header.
struct Columns {
    request_id: usize,
    timestamp: usize,
    provider: usize,
    model: usize,
    tokens: [usize; 5],
    batch: usize,
    reported_cost: Option<usize>,
}

impl Columns {
    fn find(path: &Path, headers: &csv::ByteRecord) -> Result<Columns> {
        let pos = |name: &str| headers.iter().position(|h| h == name.as_bytes());
        let missing: Vec<&str> = CANONICAL_COLUMNS
            .iter()
            .copied()
            .filter(|c| pos(c).is_none())
            .collect();
        if !missing.is_empty() {
            return Err(Error::fatal(format!(
                "{}:1: usage CSV header lacks column(s) {}; required: {}",
                path.display(),
                missing.join(","),
                CANONICAL_COLUMNS.join(",")
            )));
        }
        let col = |name: &str| pos(name).expect("checked above");
        Ok(Columns {
            request_id: col("request_id"),
            timestamp: col("timestamp"),
            provider: col("provider"),
            model: col("model"),
            tokens: TokenType::ALL.map(|t| col(t.tokens_column())),
            batch: col("batch"),
            reported_cost: pos("reported_cost_usd"),
        })
    }
}

fn csv_error(path: &Path, e: csv::Error) -> Error {
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("row has {len} fields, the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { err, .. } => format!("invalid UTF-8 in field {}", err.field() + 1),
        _ => e.to_string(),
    };
    match e.position() {
        Some(p) => Error::record(path, p.line(), "bad-csv", message),
        None => Error::fatal(format!("{}: {message}", path.display())),
    }
}

/// Read every usage record of one file in `format`, passing each to `sink`.
/// Returns the number of records read.
pub fn read_file(
    path: &Path,
    format: UsageFormat,
    file: u32,
    interner: &mut Interner,
    skips: &mut Skips,
    sink: &mut dyn FnMut(UsageRecord),
) -> Result<u64> {
    read_from(
        super::open(path)?,
        path,
        format,
        file,
        interner,
        skips,
        sink,
    )
}

/// Read usage records in `format` from `source`; `path` names it in errors.
pub fn read_from(
    source: impl std::io::Read,
    path: &Path,
    format: UsageFormat,
    file: u32,
    interner: &mut Interner,
    skips: &mut Skips,
    sink: &mut dyn FnMut(UsageRecord),
) -> Result<u64> {
    match format {
        UsageFormat::Canonical => read_canonical(source, path, file, interner, skips, sink),
    }
}

fn read_canonical(
    source: impl std::io::Read,
    path: &Path,
    file: u32,
    interner: &mut Interner,
    skips: &mut Skips,
    sink: &mut dyn FnMut(UsageRecord),
) -> Result<u64> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(source);
    let headers = reader
        .byte_headers()
        .map_err(|e| csv_error(path, e))?
        .clone();
    let columns = Columns::find(path, &headers)?;
    let mut row = csv::ByteRecord::new();
    let mut count = 0;
    loop {
        match reader.read_byte_record(&mut row) {
            Ok(false) => break,
            Ok(true) => {
                let line = row.position().map_or(0, |p| p.line());
                let origin = Origin { file, line };
                match parse_row(&row, &columns, origin, interner) {
                    Ok(record) => {
                        sink(record);
                        count += 1;
                    }
                    Err((kind, message)) => {
                        skips.handle(Error::record(path, line, kind, message))?
                    }
                }
            }
            Err(e) => {
                let err = csv_error(path, e);
                if matches!(err, Error::Fatal(_)) {
                    return Err(err);
                }
                skips.handle(err)?;
            }
        }
    }
    Ok(count)
}

type RowError = (&'static str, String);

fn field<'r>(row: &'r csv::ByteRecord, index: usize, name: &str) -> Result<&'r str, RowError> {
    std::str::from_utf8(&row[index]).map_err(|_| ("invalid-utf8", format!("{name}: invalid UTF-8")))
}

fn parse_row(
    row: &csv::ByteRecord,
    columns: &Columns,
    origin: Origin,
    interner: &mut Interner,
) -> Result<UsageRecord, RowError> {
    let request_id = field(row, columns.request_id, "request_id")?.trim();
    if request_id.is_empty() {
        return Err(("missing-request-id", "request_id is empty".into()));
    }
    let timestamp = parse_timestamp(field(row, columns.timestamp, "timestamp")?)?;
    let text = |index: usize, name: &str| -> Result<&str, RowError> {
        let value = field(row, index, name)?.trim();
        if value.is_empty() {
            return Err(("missing-field", format!("{name} is empty")));
        }
        Ok(value)
    };
    let provider = interner.intern(text(columns.provider, "provider")?);
    let model = interner.intern(text(columns.model, "model")?);
    let mut tokens = Tokens::default();
    for t in TokenType::ALL {
        tokens.0[t.index()] = parse_count(
            field(row, columns.tokens[t.index()], t.tokens_column())?,
            t.tokens_column(),
        )?;
    }
    let batch = match field(row, columns.batch, "batch")?.trim() {
        "" => false,
        b if b.eq_ignore_ascii_case("true") => true,
        b if b.eq_ignore_ascii_case("false") => false,
        other => {
            return Err((
                "bad-batch",
                format!("batch: expected true, false or empty, got \"{other}\""),
            ))
        }
    };
    let reported_cost_usd =
        match columns.reported_cost {
            None => None,
            Some(index) => match field(row, index, "reported_cost_usd")?.trim() {
                "" => None,
                v => Some(
                    Decimal::from_str(v)
                        .ok()
                        .filter(|d| plausible(*d))
                        .ok_or_else(|| {
                            (
                    "bad-cost",
                    format!("reported_cost_usd: expected a decimal number of USD, got \"{v}\""),
                )
                        })?,
                ),
            },
        };
    Ok(UsageRecord {
        request_id: request_id.into(),
        timestamp,
        provider,
        model,
        tokens,
        batch,
        reported_cost_usd,
        origin,
    })
}

/// A token count: a whole, non-negative number; empty means 0.
fn parse_count(value: &str, name: &str) -> Result<u64, RowError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(0);
    }
    match value.parse::<u64>() {
        Ok(n) if n <= MAX_TOKENS => Ok(n),
        Ok(n) => Err((
            "bad-token-count",
            format!(
                "{name}: {n} tokens in one request is beyond the plausible maximum of {MAX_TOKENS}"
            ),
        )),
        Err(_) => Err((
            "bad-token-count",
            format!("{name}: expected a whole non-negative number of tokens, got \"{value}\""),
        )),
    }
}

/// An RFC 3339 timestamp with an explicit offset, converted to UTC.
pub fn parse_timestamp(value: &str) -> Result<DateTime<Utc>, RowError> {
    DateTime::parse_from_rfc3339(value.trim()).map(|t| t.with_timezone(&Utc)).map_err(|_| {
        ("bad-timestamp", format!("timestamp: expected RFC 3339 with a time zone (2025-06-01T12:00:00Z), got \"{value}\""))
    })
}
