//! The commands: each takes its configuration (built once by the command
//! line, `src/cli/` in the binary), runs the [`crate::pipeline`] and hands
//! what it computed to [`crate::write`]. The only `process::exit` is in
//! `main`, but for [`print_stdout`]'s quiet exit 0 on a closed pipe.

pub mod diff;
pub mod merge;
pub mod partition;
pub mod pricing;
pub mod reconcile;
pub mod report;
pub mod simulate;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::pipeline::config::AnswerConfig;
use crate::pipeline::output::{terminal, write_month};
use crate::pipeline::{Month, Timings};
use crate::write::summary::summary_json;
use crate::write::{OutputKind, Outputs};

/// What a command concluded: exit 0, or exit 1 when a check it ran failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Everything checked passed.
    Pass,
    /// The run completed, but a gate (drift, …) failed: one line per failed
    /// gate, printed on stderr even with `--quiet`.
    Fail(Vec<String>),
}

impl Outcome {
    /// Pass when no gate failed.
    pub fn of(failed: Vec<String>) -> Outcome {
        if failed.is_empty() {
            Outcome::Pass
        } else {
            Outcome::Fail(failed)
        }
    }
}

/// Where and how a command's outputs go.
#[derive(Clone, Debug, Default)]
pub struct OutputConfig {
    /// The output directory.
    pub out: Option<PathBuf>,
    /// The one CSV to print to stdout.
    pub print: Option<String>,
    /// CSV cells as they are, formulas not neutralised.
    pub raw_csv: bool,
    /// No summary and no warnings.
    pub quiet: bool,
    /// `summary.json` on stdout instead of the human summary.
    pub json: bool,
}

/// Write a computed month: its files (and answers) into `--out` and
/// `--print`, then the summary, the warnings, and its gates as the outcome.
pub fn emit(
    month: &mut Month,
    answers: &AnswerConfig,
    output: &OutputConfig,
    inputs: &[PathBuf],
    timings: &mut Timings,
) -> Result<Outcome> {
    let outputs = Outputs::new(
        output.out.as_deref(),
        output.print.as_deref(),
        inputs,
        OutputKind::Reports,
    )?;
    month.summary.raw_csv = output.raw_csv;
    if outputs.wanted() {
        write_month(month, answers, &outputs, output.raw_csv)?;
    } else {
        // Said even under --quiet: a cron job that lost its --out would
        // otherwise end with exit 0 and no reports.
        crate::stderr_line!(
            "tokenledger: note: no --out given: no report was written (--out DIR writes them, \
             --print FILE prints one)"
        );
    }
    let month = &*month;
    if let Some(bytes) = outputs.finish()? {
        print_stdout(&bytes)?;
    }
    if output.json {
        print_stdout(&summary_json(&month.summary)?)?;
    } else if !output.quiet {
        let text = terminal(month);
        if output.print.is_some() {
            crate::stderr_text!("{text}");
        } else {
            print_stdout(text.as_bytes())?;
        }
    }
    timings.phase("answers and write");
    if !output.quiet {
        print_warnings(&month.summary.warnings);
    }
    Ok(Outcome::of(month.summary.failed_gates.clone()))
}

/// Each warning on stderr, on a line of its own.
pub fn print_warnings(warnings: &[String]) {
    for warning in warnings {
        crate::stderr_line!("tokenledger: warning: {}", crate::terminal::escape(warning));
    }
}

/// Write to stdout; a closed pipe (`| head`) ends the program quietly.
pub fn print_stdout(bytes: &[u8]) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        result => result.map_err(|e| Error::io(Path::new("<stdout>"), e)),
    }
}
