//! tokenledger's canonical usage CSV: one billed request per row, input
//! tokens already split into uncached, cache read and cache writes.

use std::path::Path;

use rust_decimal::Decimal;

use super::labels::labels_of;
use super::{modalities, parse_count, parse_timestamp, reasoning_within_output, RowError, RowSink};
use crate::error::{Error, Result};
use crate::intern::{Interner, LabelSet};
use crate::model::{
    BilledRequest, Modality, Origin, Rare, Service, Tier, TokenType, UsageRecord, FREE_SUFFIX,
    GLOBAL, REASONING_COLUMN, REQUESTS_SUFFIX,
};
use crate::read::blocks::{parse_in_order, Blocks};
use crate::read::csv_lines::CsvLines;

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
    /// Required unless `service_tier` is there.
    batch: Option<usize>,
    service_tier: Option<usize>,
    inference_geo: Option<usize>,
    speed: Option<usize>,
    reasoning: Option<usize>,
    /// Audio and image token columns, by [`Modality::index`].
    modalities: [Option<usize>; 4],
    /// `<charge>_requests` columns: (position, charge name).
    charges: Vec<(usize, String)>,
    reported_cost: Option<usize>,
    /// `label.<name>` columns: (position, name).
    labels: Vec<(usize, String)>,
}

impl Columns {
    fn find(path: &Path, headers: &csv::ByteRecord) -> Result<Columns> {
        // A column name that is not UTF-8 would be no column read, its
        // values lost (a `service_tier` priced as standard).
        if let Some(i) = headers.iter().position(|h| std::str::from_utf8(h).is_err()) {
            return Err(Error::fatal(format!(
                "{}:1: the header's column {} is not UTF-8 text",
                path.display(),
                i + 1
            )));
        }
        let pos = |name: &str| headers.iter().position(|h| h == name.as_bytes());
        let missing: Vec<&str> = CANONICAL_COLUMNS
            .iter()
            .copied()
            .filter(|c| pos(c).is_none())
            .filter(|c| *c != "batch" || pos("service_tier").is_none())
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
            batch: pos("batch"),
            service_tier: pos("service_tier"),
            inference_geo: pos("inference_geo"),
            speed: pos("speed"),
            reasoning: pos(REASONING_COLUMN),
            charges: charge_columns(path, headers)?,
            modalities: Modality::ALL.map(|m| pos(m.column())),
            reported_cost: pos("reported_cost_usd"),
            labels: label_columns(path, headers)?,
        })
    }
}

/// The `label.<name>` columns of a header; a `label.` naming no label is
/// an error (its values would be dropped).
fn label_columns(path: &Path, headers: &csv::ByteRecord) -> Result<Vec<(usize, String)>> {
    let mut labels = Vec::new();
    for (i, header) in headers.iter().enumerate() {
        let Some(name) = std::str::from_utf8(header)
            .ok()
            .and_then(|h| h.strip_prefix(LABEL_PREFIX))
        else {
            continue;
        };
        if name.trim().is_empty() {
            return Err(Error::fatal(format!(
                "{}:1: column {} \"{LABEL_PREFIX}{name}\" names no label: name it \"label.<name>\"",
                path.display(),
                i + 1
            )));
        }
        labels.push((i, name.to_string()));
    }
    Ok(labels)
}

/// A row's labels from its `label.<name>` columns.
fn labels(
    row: &csv::ByteRecord,
    columns: &[(usize, String)],
    interner: &mut Interner,
) -> Result<LabelSet, RowError> {
    let mut pairs = Vec::with_capacity(columns.len());
    for (index, name) in columns {
        let value = field(row, *index, &format!("{LABEL_PREFIX}{name}"))?;
        pairs.push((name.clone(), value.to_string()));
    }
    Ok(labels_of(pairs, interner))
}

/// The prefix of a label column: `label.team` holds label `team`.
pub const LABEL_PREFIX: &str = "label.";

/// The `<charge>_requests` columns of a header: per-request charges
/// (`web_search_requests` counts `web_search` requests). Free requests
/// (`web_search_free_requests`, a report's column) are the table's to
/// make: such a column is refused, never read as requests priced at $0.
fn charge_columns(path: &Path, headers: &csv::ByteRecord) -> Result<Vec<(usize, String)>> {
    let mut charges: Vec<(usize, String)> = headers
        .iter()
        .enumerate()
        .filter_map(|(i, h)| {
            let name = std::str::from_utf8(h).ok()?.strip_suffix(REQUESTS_SUFFIX)?;
            (!name.is_empty()).then(|| (i, name.to_string()))
        })
        .collect();
    let free = charges
        .iter()
        .find_map(|(i, name)| Some((i, name, name.strip_suffix(FREE_SUFFIX)?)));
    if let Some((i, name, charge)) = free {
        return Err(Error::fatal(format!(
            "{}:1: column {} \"{name}{REQUESTS_SUFFIX}\": free requests are what the pricing \
             table's allowance makes free; give every request as \"{charge}{REQUESTS_SUFFIX}\"",
            path.display(),
            i + 1
        )));
    }
    charges.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(charges)
}

/// Read the canonical usage CSV from `source`, passing each row to `row`
/// in file order. Rows are read one line each (no field holds a line
/// break), in blocks of lines parsed on `threads` threads.
pub fn read<R: std::io::BufRead + Send>(
    source: R,
    path: &Path,
    (file, threads): (u32, usize),
    interner: &mut Interner,
    row: &mut RowSink,
) -> Result<()> {
    let mut lines = CsvLines::new(source);
    let headers = lines.header(path)?;
    let columns = Columns::find(path, &headers)?;
    let (source, header_line) = lines.into_rest();
    let mut blocks = Blocks::new(path, source, Vec::new(), header_line + 1);
    let parse = |first, block: &[u8]| {
        let mut parsed = Parsed::default();
        let mut lines = CsvLines::starting_at(block, first);
        let mut record = csv::ByteRecord::new();
        loop {
            let (line, csv) = match lines.next(path, &mut record) {
                Ok(Some(line)) => line,
                Ok(None) => break,
                Err(e) => {
                    parsed.failed = Some(e);
                    break;
                }
            };
            let origin = Origin { file, line };
            let result = parse_line(
                csv,
                &record,
                (&headers, &columns),
                origin,
                &mut parsed.interner,
            );
            parsed.rows.push((line, result));
        }
        parsed
    };
    parse_in_order(&mut blocks, threads, parse, &mut |parsed: Parsed| {
        let map = interner.absorb(parsed.interner);
        parsed.rows.into_iter().try_for_each(|(line, mut result)| {
            if let Ok(Some(record)) = &mut result {
                record.record.remap(&map);
            }
            row(line, result)
        })?;
        parsed.failed.map_or(Ok(()), Err)
    })
}

/// What one thread made of a block of lines: each line's number and
/// record (or problem), with the names it interned.
#[derive(Default)]
struct Parsed {
    rows: Vec<(u64, Result<Option<BilledRequest>, RowError>)>,
    interner: Interner,
    /// What stopped the block's reading, after its rows.
    failed: Option<Error>,
}

/// One line's record, or what is wrong with it.
fn parse_line(
    csv: std::result::Result<(), String>,
    record: &csv::ByteRecord,
    (headers, columns): (&csv::ByteRecord, &Columns),
    origin: Origin,
    interner: &mut Interner,
) -> Result<Option<BilledRequest>, RowError> {
    match csv {
        Err(message) => Err(("bad-csv", message)),
        Ok(()) if record.len() != headers.len() => Err((
            "bad-csv",
            format!(
                "row has {} fields, the header has {}",
                record.len(),
                headers.len()
            ),
        )),
        Ok(()) => parse_row(record, columns, origin, interner).map(Some),
    }
}

fn field<'r>(row: &'r csv::ByteRecord, index: usize, name: &str) -> Result<&'r str, RowError> {
    std::str::from_utf8(&row[index]).map_err(|_| ("invalid-utf8", format!("{name}: invalid UTF-8")))
}

/// An optional column's trimmed value; empty when the column is absent.
fn optional<'r>(
    row: &'r csv::ByteRecord,
    index: Option<usize>,
    name: &str,
) -> Result<&'r str, RowError> {
    index.map_or(Ok(""), |i| field(row, i, name).map(str::trim))
}

/// `batch`, `service_tier`, `inference_geo` and `speed`: absent or empty
/// means standard, global, standard; `batch=true` is `service_tier=batch`.
fn parse_service(
    row: &csv::ByteRecord,
    columns: &Columns,
    interner: &mut Interner,
) -> Result<Service, RowError> {
    let batch = match optional(row, columns.batch, "batch")? {
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
    let tier = match optional(row, columns.service_tier, "service_tier")? {
        "" if batch => Tier::Batch,
        name => super::service_tier(Some(name))?,
    };
    if batch && tier != Tier::Batch {
        let message = format!("batch is true but service_tier is {}", tier.key());
        return Err(("bad-service-tier", message));
    }
    let geo = match optional(row, columns.inference_geo, "inference_geo")? {
        "" => None,
        g if g.eq_ignore_ascii_case(GLOBAL) => None,
        g => Some(interner.intern(&g.to_ascii_lowercase())),
    };
    let fast = match optional(row, columns.speed, "speed")? {
        "" => false,
        s if s.eq_ignore_ascii_case("standard") => false,
        s if s.eq_ignore_ascii_case("fast") => true,
        other => {
            let message = format!("speed: expected standard, fast or empty, got \"{other}\"");
            return Err(("bad-speed", message));
        }
    };
    Ok(Service { tier, geo, fast })
}

fn parse_row(
    row: &csv::ByteRecord,
    columns: &Columns,
    origin: Origin,
    interner: &mut Interner,
) -> Result<BilledRequest, RowError> {
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
    let mut counts = [0; 5];
    for t in TokenType::ALL {
        counts[t.index()] = parse_count(
            field(row, columns.tokens[t.index()], t.tokens_column())?,
            t.tokens_column(),
        )?;
    }
    let tokens = super::tokens(counts)?;
    let service = parse_service(row, columns, interner)?;
    let reasoning_tokens = match optional(row, columns.reasoning, REASONING_COLUMN)? {
        "" => 0,
        n => parse_count(n, REASONING_COLUMN)?,
    };
    let tokens = reasoning_within_output(reasoning_tokens, &tokens, "output_tokens")?;
    let modalities = modalities(&tokens, |m| {
        parse_count(
            optional(row, columns.modalities[m.index()], m.column())?,
            m.column(),
        )
    })?;
    let mut requests = Vec::new();
    for (index, charge) in &columns.charges {
        let column = format!("{charge}{REQUESTS_SUFFIX}");
        match parse_count(field(row, *index, &column)?, &column)? {
            0 => {}
            n => requests.push((interner.intern(charge), n)),
        }
    }
    let reported_cost_usd = reported_cost(row, columns)?;
    Ok(BilledRequest {
        request_id: request_id.into(),
        record: UsageRecord {
            tenant_hint: None,
            labels: labels(row, &columns.labels, interner)?,
            timestamp,
            provider,
            model,
            tokens,
            service,
            origin,
            rare: Rare {
                requests: requests.into(),
                modalities,
                reported_cost_usd,
                ..Rare::default()
            }
            .boxed(),
        },
    })
}

/// `reported_cost_usd`, where the file has the column and the row a value.
fn reported_cost(row: &csv::ByteRecord, columns: &Columns) -> Result<Option<Decimal>, RowError> {
    let Some(index) = columns.reported_cost else {
        return Ok(None);
    };
    match field(row, index, "reported_cost_usd")?.trim() {
        "" => Ok(None),
        v => crate::money::parse_amount(v).map(Some).ok_or_else(|| {
            (
                "bad-cost",
                format!("reported_cost_usd: expected a decimal number of USD, got \"{v}\""),
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{read_from, UsageFormat};
    use super::*;
    use crate::error::Skips;

    /// 64,000 rows (three blocks) with labels, a bad count on row 20,000
    /// and an unclosed quote on row 50,000.
    fn usage() -> String {
        let mut csv = String::from("request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch,label.team\n");
        for i in 1..=64_000 {
            let team = format!("team-{}", i % 7);
            let tokens = if i == 20_000 { "-3" } else { "120" };
            let model = if i == 50_000 { "\"gpt-4o" } else { "gpt-4o" };
            csv += &format!(
                "req-{i},2025-06-01T00:00:{:02}Z,openai,{model},{tokens},0,0,0,7,false,{team}\n",
                i % 60
            );
        }
        csv
    }

    #[test]
    fn blocks_read_on_several_threads_give_what_one_thread_gives() {
        let text = usage();
        assert!(text.len() > 4 << 20, "{} bytes", text.len());
        let read = |threads, lenient| {
            let (mut interner, mut skips) = (Interner::default(), Skips::new(lenient));
            let mut records = Vec::new();
            let path = Path::new("usage.csv");
            let at = (0, threads);
            let result = read_from(
                text.as_bytes(),
                path,
                UsageFormat::Canonical,
                at,
                &mut interner,
                &mut skips,
                &mut |r| records.push(r),
            );
            // The same names under the same numbers, whatever the threads.
            let names: Vec<(&str, &str)> = records
                .iter()
                .map(|b| &b.record)
                .flat_map(|r| {
                    let labels = interner.labels(r.labels).iter().copied();
                    labels.chain([(r.provider, r.model)])
                })
                .map(|(a, b)| (interner.get(a), interner.get(b)))
                .collect();
            let names = format!("{names:?}");
            (
                result.map_err(|e| e.to_string()).map(|s| s.records),
                format!("{records:?}"),
                names,
                skips.first,
            )
        };
        let one = read(1, true);
        assert_eq!(one.0, Ok(63_998));
        assert_eq!(one.3.len(), 2, "{:?}", one.3);
        assert!(one.3[0].contains("usage.csv:20001"), "{:?}", one.3);
        assert_eq!(one, read(2, true));
        assert_eq!(one, read(3, true));
        let strict = read(1, false);
        assert!(
            strict.0.as_ref().unwrap_err().contains("usage.csv:20001"),
            "{:?}",
            strict.0
        );
        assert_eq!(strict, read(3, false));
    }

    #[test]
    fn a_label_column_naming_no_label_is_refused() {
        let header = "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch,label.team,label.";
        let headers = csv::ByteRecord::from(header.split(',').collect::<Vec<_>>());
        let error = Columns::find(Path::new("u.csv"), &headers)
            .err()
            .unwrap()
            .to_string();
        assert_eq!(
            error,
            "u.csv:1: column 12 \"label.\" names no label: name it \"label.<name>\""
        );
    }
}
