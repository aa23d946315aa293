//! Stage 7, write: the outputs, one module per output: [`reports`] (the
//! `by_*.csv` reports and the listings), [`summary`] (`summary.json` and
//! the terminal summary), [`reconciliation`], [`coverage`], [`allocation`],
//! [`ledger`], [`answers`], [`month_to_date`] (`forecast.csv`,
//! `anomalies.csv`), [`html`], `parquet` (`calls.parquet`, with the feature)
//! and [`pricing`] (what `tokenledger pricing` prints). `pipeline::output` writes a whole month with them, `diff::write`
//! a comparison.
//!
//! Where the files go is [`outputs`]: an output directory written as a
//! whole ([`out_dir`]), whose manifest lists every file with its hash, and
//! the one CSV printed. Every CSV cell that a spreadsheet would run as a
//! formula is neutralised ([`csv`]).

pub mod allocation;
pub mod answers;
mod checked;
pub mod coverage;
pub mod csv;
pub mod fresh;
pub mod guard;
pub mod html;
pub mod ledger;
mod leftovers;
pub mod month_to_date;
pub mod out_dir;
pub mod outputs;
#[cfg(feature = "parquet")]
pub mod parquet;
pub mod pricing;
pub mod reconciliation;
mod rename;
pub mod reports;
pub mod summary;

pub use self::csv::{csv_bytes, restore, CsvOut};
pub use out_dir::{OutDir, OutputKind};
pub use outputs::{printable, Outputs, CSV_FILES};
