//! `calls.parquet`: the attributed call-level table, one row per billed
//! request, for a warehouse engine (Spark, Trino, BigQuery, DuckDB) to roll up
//! further. Written with polars (built with the `parquet` cargo feature).
//!
//! Money is `Decimal(38, 6)`: each request's exact cost split by largest
//! remainder, so `cost_usd` sums exactly to the reports' total, and
//! `billed_usd` (under a true-up) to the billed total less the invoiced
//! usage that no request makes up.

use polars::prelude::*;
use rust_decimal::Decimal;

use crate::dimension::{Dimension, NONE, UNATTRIBUTED};
use crate::error::{Error, Result};
use crate::intern::{Interner, Sym};
use crate::model::{RequestIds, TokenType};
use crate::money::round_column;
use crate::posting::{Posting, Postings};

/// The table's rows, column by column: one per posting.
pub struct CallsTable<'a> {
    /// The month's postings.
    pub postings: Postings<'a>,
    /// The records' request ids.
    pub ids: &'a RequestIds,
    /// Names.
    pub interner: &'a Interner,
}

fn polars_error(e: PolarsError) -> Error {
    Error::fatal(format!("writing calls.parquet: {e}"))
}

/// Micro-dollars of each exact amount, split to sum to their rounded sum,
/// as a `Decimal(38, 6)` column.
fn money(name: &str, exact: &[Decimal]) -> Result<Column> {
    let cells = round_column(exact);
    let values: Vec<i128> = cells.iter().map(|m| m.0).collect();
    let decimal = Int128Chunked::from_vec(name.into(), values)
        .into_decimal(38, 6)
        .map_err(polars_error)?;
    Ok(decimal.into_series().into())
}

impl CallsTable<'_> {
    /// The table as Parquet bytes.
    pub fn to_parquet(&self) -> Result<Vec<u8>> {
        // Read in passes over the postings, not collected: a million
        // postings, each with its cost, would be 144 MB.
        let postings = &self.postings;
        let mut columns = self.call_columns(postings);
        columns.extend(self.record_columns(postings));
        let exact: Vec<Decimal> = postings.iter().map(|p| p.cost.total()).collect();
        columns.push(money("cost_usd", &exact)?);
        if self.postings.trued_up() {
            let exact: Vec<Decimal> = postings.iter().map(|p| p.billed_total()).collect();
            columns.push(money("billed_usd", &exact)?);
        }
        let mut frame = DataFrame::new(postings.len(), columns).map_err(polars_error)?;
        let mut bytes = Vec::new();
        ParquetWriter::new(&mut bytes)
            .with_compression(ParquetCompression::Zstd(None))
            .finish(&mut frame)
            .map_err(polars_error)?;
        Ok(bytes)
    }

    /// The run and span of each posting's call, the record's id, time,
    /// provider and model, and every span dimension's label.
    fn call_columns(&self, postings: &Postings) -> Vec<Column> {
        let name = |s: Sym| self.interner.get(s);
        let column = |title: &str, values: Vec<Option<String>>| Column::new(title.into(), values);
        let text = |title: &str, values: Vec<&str>| Column::new(title.into(), values);
        let mut columns = vec![
            column(
                "run_id",
                postings
                    .iter()
                    .map(|p| p.call.map(|c| format!("{:032x}", c.trace_id)))
                    .collect(),
            ),
            column(
                "span_id",
                postings
                    .iter()
                    .map(|p| p.call.map(|c| format!("{:016x}", c.span_id)))
                    .collect(),
            ),
            text(
                "request_id",
                postings.iter().map(|p| self.ids.get(p.index)).collect(),
            ),
            Column::new(
                "timestamp".into(),
                postings
                    .iter()
                    .map(|p| {
                        p.record
                            .timestamp
                            .get()
                            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                    })
                    .collect::<Vec<_>>(),
            ),
            text(
                "provider",
                postings.iter().map(|p| name(p.record.provider)).collect(),
            ),
            text(
                "model",
                postings.iter().map(|p| name(p.record.model)).collect(),
            ),
        ];
        for d in Dimension::FROM_SPANS {
            let labels = postings
                .iter()
                .map(|p| p.key(d).label(self.interner))
                .collect();
            columns.push(text(d.name(), labels));
        }
        let root = |p: Posting| match p.call {
            None => UNATTRIBUTED,
            Some(c) => c.dims.root_agent.map_or(NONE, name),
        };
        columns.push(text("root_agent", postings.iter().map(root).collect()));
        columns
    }

    /// Each posting's step, batch flag and token counts.
    fn record_columns(&self, postings: &Postings) -> Vec<Column> {
        let mut columns = vec![
            Column::new(
                "step".into(),
                postings
                    .iter()
                    .map(|p| p.call.map(|c| c.step))
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "batch".into(),
                postings
                    .iter()
                    .map(|p| p.record.service.tier == crate::model::Tier::Batch)
                    .collect::<Vec<_>>(),
            ),
        ];
        for t in TokenType::ALL {
            let counts: Vec<u64> = postings.iter().map(|p| p.record.tokens.get(t)).collect();
            columns.push(Column::new(t.tokens_column().into(), counts));
        }
        let reasoning: Vec<u64> = postings
            .iter()
            .map(|p| p.record.tokens.reasoning())
            .collect();
        columns.push(Column::new(
            crate::model::REASONING_COLUMN.into(),
            reasoning,
        ));
        columns
    }
}
