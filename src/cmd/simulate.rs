//! `tokenledger simulate`: write a deterministic synthetic fleet month, for
//! the shipped samples, tests and benchmarks.

use std::path::PathBuf;

use crate::error::Result;
use crate::price::PriceTable;
use crate::simulate::{generate, parse_month, Config, Export};

/// Generate a synthetic fleet month: OTLP JSON lines under DIR/spans/, the
/// billed usage as DIR/usage.csv and the providers' invoices under
/// DIR/invoices/.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Agent runs (traces) to generate.
    #[arg(long, default_value_t = 400)]
    pub runs: u64,
    /// PRNG seed; the same seed and sizes give the same bytes.
    #[arg(long, default_value_t = 2025)]
    pub seed: u64,
    /// The UTC month to fill.
    #[arg(long, default_value = "2025-06", value_parser = parse_month)]
    pub month: (i32, u32),
    /// Span files to spread the export over.
    #[arg(long, default_value_t = 2)]
    pub span_files: u32,
    /// Typical bytes of message content on inference spans (0: none).
    #[arg(long, default_value_t = 0)]
    pub message_bytes: usize,
    /// How to export the billed usage.
    #[arg(long, value_enum, default_value = "canonical")]
    pub usage_format: Export,
    /// No batch requests and no cache writes: usage every gateway export can carry.
    #[arg(long)]
    pub plain: bool,
    /// Pricing table for the simulated invoices [default: ./pricing.toml if
    /// present, else the built-in table].
    #[arg(long, value_name = "FILE")]
    pub pricing: Option<PathBuf>,
    /// Output directory.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Generate and print what was written.
pub fn run(args: &Args) -> Result<()> {
    let config = Config {
        runs: args.runs,
        seed: args.seed,
        month: args.month,
        span_files: args.span_files,
        message_bytes: args.message_bytes,
        usage_format: args.usage_format,
        plain: args.plain,
    };
    let pricing = PriceTable::resolve(args.pricing.as_deref())?;
    let stats = generate(&config, &pricing, &args.out)?;
    eprintln!(
        "tokenledger: wrote {} spans ({} calls) and {} usage records to {}",
        stats.spans,
        stats.calls,
        stats.usage_records,
        args.out.display()
    );
    Ok(())
}
