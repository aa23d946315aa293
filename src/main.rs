//! The `tokenledger` command line. Exit codes: 0 success, 1 a check failed
//! (reserved for gates), 2 an error.

mod cli;

use clap::{CommandFactory, Parser, Subcommand};
use tokenledger::cmd;
use tokenledger::error::Result;

/// Turn an LLM agent fleet's bill into per-tenant, per-feature, per-agent,
/// per-tool, per-model and per-run reports, to the cent.
#[derive(Debug, Parser)]
#[command(
    name = "tokenledger",
    version,
    after_help = "Defaults for any flag: --config FILE, $TOKENLEDGER_CONFIG, or ./tokenledger.toml \
                  ([report] spans = [\"spans/\"], out = \"reports\", ...).\n\
                  Exit codes: 0 success, 1 a gate failed (drift, budget, coverage, too little joined, growth), 2 an error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Attribute billed usage to spans and write the reports.
    Report(Box<cli::ReportArgs>),
    /// Combine the partials of `report --shard I/N` into the month's reports.
    Merge(Box<cli::MergeArgs>),
    /// Cut span files by trace id into one partition per shard, for
    /// `report --shard I/N --whole-traces`.
    Partition(cli::PartitionArgs),
    /// Compare priced usage with the invoice; exit 1 on drift.
    Reconcile(cli::ReconcileArgs),
    /// Compare two months' reports: what drove the change, price versus
    /// volume; exit 1 with --fail-on-growth.
    Diff(cli::DiffArgs),
    /// Generate a deterministic synthetic fleet month (spans + usage).
    Simulate(cli::SimulateArgs),
    /// Show a model's price, list what the table prices, or check the table
    /// against the usage and the genai-prices catalog (exit 1 on a gap).
    Pricing {
        #[command(subcommand)]
        command: cli::PricingCommand,
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
    // The UTC date, read once as the run starts: every later reading (the
    // month running, its as-of day) agrees with it.
    tokenledger::pipeline::config::today();
    let (cli, config_file) = parse();
    match run(cli, config_file) {
        Ok(cmd::Outcome::Pass) => {}
        Ok(cmd::Outcome::Fail(failed)) => {
            for gate in failed {
                tokenledger::stderr_line!(
                    "tokenledger: {}",
                    tokenledger::terminal::escape_lines(&gate)
                );
            }
            std::process::exit(1)
        }
        Err(err) => fail(&err.for_terminal()),
    }
}

/// Run the command, its flags converted into its configuration.
fn run(cli: Cli, config_file: Option<std::path::PathBuf>) -> Result<cmd::Outcome> {
    let pass = |()| cmd::Outcome::Pass;
    match cli.command {
        Command::Report(args) => cmd::report::run(&args.config(config_file)?),
        Command::Merge(args) => cmd::merge::run(&args.config(config_file)?),
        Command::Partition(args) => match args.config() {
            Some(config) => cmd::partition::run(&config, args.quiet()).map(pass),
            None => cmd::partition::list(&args.spans).map(pass),
        },
        Command::Reconcile(args) => cmd::reconcile::run(&args.config(config_file)?),
        Command::Diff(args) => cmd::diff::run(&args.config()),
        Command::Simulate(args) => {
            cmd::simulate::run(&args.config(), args.pricing.as_deref(), &args.out).map(pass)
        }
        Command::Pricing { command } => match command {
            cli::PricingCommand::Check(args) => cmd::pricing::check(&args.config()),
            cli::PricingCommand::Show(args) => cmd::pricing::show(&args.config()),
            cli::PricingCommand::List(args) => cmd::pricing::list(&args.config()),
        },
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "tokenledger", &mut out);
            cmd::print_stdout(&out).map(pass)
        }
        Command::Man => {
            let mut out = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut out)
                .expect("rendering into memory");
            cmd::print_stdout(&out).map(pass)
        }
    }
}

/// The command line with the config file's defaults, and that file; a
/// usage error exits 2 with a `tokenledger:` message, `--help` and
/// `--version` exit 0.
fn parse() -> (Cli, Option<std::path::PathBuf>) {
    let argv = std::env::args_os().collect();
    let with = cli::defaults::with_defaults(argv, &Cli::command())
        .unwrap_or_else(|e| fail(&e.for_terminal()));
    let cli = Cli::try_parse_from(&with.argv).unwrap_or_else(|e| {
        if !e.use_stderr() {
            // --help, --version: printed as every output is, so a full
            // disk or a closed pipe is an error, not a success.
            use std::io::Write;
            let printed = e.print().and_then(|()| std::io::stdout().flush());
            match printed {
                Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => {
                    fail(&format!("<stdout>: {err}"))
                }
                _ => std::process::exit(0),
            }
        }
        let text = e.render().to_string();
        let message = text.strip_prefix("error: ").unwrap_or(&text).trim_end();
        fail(&with.explain(message, |argv| Cli::try_parse_from(argv).is_ok()))
    });
    (cli, with.file)
}

/// Print `message` as the program's error and exit 2.
fn fail(message: &str) -> ! {
    tokenledger::stderr_line!("tokenledger: {message}");
    std::process::exit(2)
}
