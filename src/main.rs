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
    Report(Box<cmd::report::Args>),
    /// Combine the partials of `report --shard I/N` into the month's reports.
    Merge(Box<cmd::merge::Args>),
    /// Compare priced usage with the invoice; exit 1 on drift.
    Reconcile(cmd::reconcile::Args),
    /// Generate a deterministic synthetic fleet month (spans + usage).
    Simulate(cmd::simulate::Args),
    /// Show a model's price, or check the table against the usage and the
    /// genai-prices catalog (exit 1 on a gap).
    Pricing {
        #[command(subcommand)]
        command: cmd::pricing::Command,
    },
}

fn main() {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Report(args) => cmd::report::run(args),
        Command::Merge(args) => cmd::merge::run(args),
        Command::Reconcile(args) => cmd::reconcile::run(args),
        Command::Simulate(args) => cmd::simulate::run(args).map(|()| cmd::Outcome::Pass),
        Command::Pricing { command } => cmd::pricing::run(command),
    };
    match result {
        Ok(cmd::Outcome::Pass) => {}
        Ok(cmd::Outcome::Fail) => std::process::exit(1),
        Err(err) => {
            eprintln!("tokenledger: {}", err.for_terminal());
            std::process::exit(2);
        }
    }
}
