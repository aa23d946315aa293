//! The `tokenledger` command line. Exit codes: 0 success, 1 a check failed
//! (reserved for gates), 2 an error.

use clap::{Parser, Subcommand};
use tokenledger::cmd;

/// Turn an LLM agent fleet's bill into per-tenant, per-feature, per-agent,
/// per-tool, per-model and per-run reports, to the cent.
#[derive(Debug, Parser)]
#[command(name = "tokenledger", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Attribute billed usage to spans and write the reports.
    Report(cmd::report::Args),
    /// Generate a deterministic synthetic fleet month (spans + usage).
    Simulate(cmd::simulate::Args),
}

fn main() {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Report(args) => cmd::report::run(args),
        Command::Simulate(args) => cmd::simulate::run(args),
    };
    if let Err(err) = result {
        eprintln!("tokenledger: {err}");
        std::process::exit(2);
    }
}
