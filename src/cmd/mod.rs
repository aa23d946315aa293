//! Subcommands: each module holds its arguments (with their help text) and
//! its `run`.

pub mod report;
pub mod simulate;
