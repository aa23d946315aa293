//! The `tokenledger` command line. Exit codes: 0 success, 1 a check failed
//! (reserved for gates), 2 an error.

use clap::{CommandFactory, Parser, Subcommand};
use tokenledger::{cmd, config};

/// Turn an LLM agent fleet's bill into per-tenant, per-feature, per-agent,
/// per-tool, per-model and per-run reports, to the cent.
#[derive(Debug, Parser)]
#[command(
    name = "tokenledger",
    version,
    after_help = "Defaults for any flag: --config FILE, $TOKENLEDGER_CONFIG, or ./tokenledger.toml \
                  ([report] spans = [\"spans/\"], out = \"reports\", ...).\n\
                  Exit codes: 0 success, 1 a gate failed (drift, budget, coverage, too little joined), 2 an error."
)]
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
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `tokenledger man > tokenledger.1`.
    Man,
}

fn main() {
    let cli = parse();
    let result = match &cli.command {
        Command::Report(args) => cmd::report::run(args),
        Command::Merge(args) => cmd::merge::run(args),
        Command::Reconcile(args) => cmd::reconcile::run(args),
        Command::Simulate(args) => cmd::simulate::run(args).map(|()| cmd::Outcome::Pass),
        Command::Pricing { command } => cmd::pricing::run(command),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "tokenledger", &mut out);
            cmd::print_stdout(&out).map(|()| cmd::Outcome::Pass)
        }
        Command::Man => {
            let mut out = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut out)
                .expect("rendering into memory");
            cmd::print_stdout(&out).map(|()| cmd::Outcome::Pass)
        }
    };
    match result {
        Ok(cmd::Outcome::Pass) => {}
        Ok(cmd::Outcome::Fail(failed)) => {
            for gate in failed {
                eprintln!(
                    "tokenledger: {}",
                    tokenledger::terminal::escape_lines(&gate)
                );
            }
            std::process::exit(1)
        }
        Err(err) => fail(&err.for_terminal()),
    }
}

/// The command line with the config file's defaults; a usage error exits 2
/// with a `tokenledger:` message, `--help` and `--version` exit 0.
fn parse() -> Cli {
    let argv = std::env::args_os().collect();
    let (argv, config) =
        config::with_defaults(argv, &Cli::command()).unwrap_or_else(|e| fail(&e.for_terminal()));
    let mut cli = Cli::try_parse_from(argv).unwrap_or_else(|e| {
        if !e.use_stderr() {
            e.exit(); // --help, --version
        }
        let text = e.render().to_string();
        fail(text.strip_prefix("error: ").unwrap_or(&text).trim_end())
    });
    let output = match &mut cli.command {
        Command::Report(args) => Some(&mut args.pipeline.output),
        Command::Merge(args) => Some(&mut args.pipeline.output),
        Command::Reconcile(args) => Some(&mut args.output),
        _ => None,
    };
    if let Some(output) = output {
        output.config = config;
    }
    cli
}

/// Print `message` as the program's error and exit 2.
fn fail(message: &str) -> ! {
    eprintln!("tokenledger: {message}");
    std::process::exit(2)
}
