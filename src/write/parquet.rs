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

use crate::attribute::{NONE, UNATTRIBUTED};
use crate::error::{Error, Result};
use crate::intern::{Interner, Sym};
use crate::join::Joined;
use crate::model::{Cost, TokenType, UsageRecord};
use crate::money::{apportion, Micros};
use crate::tree::Call;

/// The table's rows, column by column.
pub struct CallsTable<'a> {
    /// Priced usage records.
    pub records: &'a [UsageRecord],
    /// Their exact costs.
    pub costs: &'a [Cost],
    /// Their trued-up costs, under `--true-up`.
    pub billed: Option<&'a [Cost]>,
    /// Resolved calls.
    pub calls: &'a [Call],
    /// Which call each record joined.
    pub joined: &'a Joined,
    /// Names.
    pub interner: &'a Interner,
}

fn polars_error(e: PolarsError) -> Error {
    Error::fatal(format!("writing calls.parquet: {e}"))
}

/// Micro-dollars of each exact amount, split to sum to their rounded sum,
/// as a `Decimal(38, 6)` column.
fn money(name: &str, exact: &[Decimal]) -> Result<Column> {
    let cells = apportion(exact, Micros::round(exact.iter().sum()))?;
    let values: Vec<i128> = cells.iter().map(|m| m.0).collect();
    let decimal = Int128Chunked::from_vec(name.into(), values)
        .into_decimal(38, 6)
        .map_err(polars_error)?;
    Ok(decimal.into_series().into())
}

impl CallsTable<'_> {
    /// The table as Parquet bytes.
    pub fn to_parquet(&self) -> Result<Vec<u8>> {
        let call = |i: usize| self.joined.call_of[i].map(|c| &self.calls[c as usize]);
        let n = self.records.len();
        let label = |i: usize, pick: fn(&Call) -> Option<Sym>| -> &str {
            match call(i) {
                None => UNATTRIBUTED,
                Some(c) => pick(c).map_or(NONE, |s| self.interner.get(s)),
            }
        };
        let text = |name: &str, pick: fn(&Call) -> Option<Sym>| -> Column {
            let values: Vec<&str> = (0..n).map(|i| label(i, pick)).collect();
            Column::new(name.into(), values)
        };
        let name = |s: Sym| self.interner.get(s);
        let mut columns = vec![
            Column::new(
                "run_id".into(),
                (0..n)
                    .map(|i| call(i).map(|c| format!("{:032x}", c.trace_id)))
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "span_id".into(),
                (0..n)
                    .map(|i| call(i).map(|c| format!("{:016x}", c.span_id)))
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "request_id".into(),
                self.records
                    .iter()
                    .map(|r| &*r.request_id)
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "timestamp".into(),
                self.records
                    .iter()
                    .map(|r| {
                        r.timestamp
                            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                    })
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "provider".into(),
                self.records
                    .iter()
                    .map(|r| name(r.provider))
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "model".into(),
                self.records
                    .iter()
                    .map(|r| name(r.model))
                    .collect::<Vec<_>>(),
            ),
            text("tenant", |c| c.dims.tenant),
            text("feature", |c| c.dims.feature),
            text("agent", |c| c.dims.agent),
            text("tool", |c| c.dims.tool),
            text("root_agent", |c| c.dims.root_agent),
            Column::new(
                "step".into(),
                (0..n).map(|i| call(i).map(|c| c.step)).collect::<Vec<_>>(),
            ),
            Column::new(
                "batch".into(),
                self.records
                    .iter()
                    .map(|r| r.service.tier == crate::model::Tier::Batch)
                    .collect::<Vec<_>>(),
            ),
        ];
        for t in TokenType::ALL {
            columns.push(Column::new(
                t.tokens_column().into(),
                self.records
                    .iter()
                    .map(|r| r.tokens.get(t))
                    .collect::<Vec<_>>(),
            ));
        }
        columns.push(Column::new(
            crate::model::REASONING_COLUMN.into(),
            self.records
                .iter()
                .map(|r| r.reasoning_tokens)
                .collect::<Vec<_>>(),
        ));
        let exact: Vec<Decimal> = self.costs.iter().map(Cost::total).collect();
        columns.push(money("cost_usd", &exact)?);
        if let Some(billed) = self.billed {
            let exact: Vec<Decimal> = billed.iter().map(Cost::total).collect();
            columns.push(money("billed_usd", &exact)?);
        }
        let mut frame = DataFrame::new(n, columns).map_err(polars_error)?;
        let mut bytes = Vec::new();
        ParquetWriter::new(&mut bytes)
            .with_compression(ParquetCompression::Zstd(None))
            .finish(&mut frame)
            .map_err(polars_error)?;
        Ok(bytes)
    }
}
