//! Defaults for any flag from a config file, so a cron line stays short:
//! `--config FILE`, else `$TOKENLEDGER_CONFIG`, else `./tokenledger.toml`
//! if present. One table per subcommand (`[report]`, `[reconcile]`,
//! `[merge]`, `[pricing.check]`), keys spelled as the long flags:
//!
//! ```toml
//! [report]
//! spans = ["spans/"]
//! usage = ["usage/"]
//! tenant-attr = ["tenant.id"]
//! out = "reports"
//! quiet = true
//! ```
//!
//! A flag given on the command line overrides its key. The defaults are
//! inserted into the arguments before clap parses them, so every flag's own
//! checks apply to them as to typed flags.

use std::ffi::OsString;
use std::path::PathBuf;

use toml_edit::{Item, Table, Value};

use tokenledger::error::{Error, Result};
use tokenledger::read::toml::{line_of, parse};

/// The environment variable naming the config file.
pub const ENV: &str = "TOKENLEDGER_CONFIG";

/// The config file looked for in the working directory.
pub const DEFAULT_FILE: &str = "tokenledger.toml";

/// `argv` with the config file's defaults for its subcommand inserted after
/// the subcommand's name, and the config file used (if any). `command` is
/// the program's clap command, to check each key names one of its flags.
pub fn with_defaults(
    mut argv: Vec<OsString>,
    command: &clap::Command,
) -> Result<(Vec<OsString>, Option<PathBuf>)> {
    let Some(path) = config_path(&mut argv)? else {
        return Ok((argv, None));
    };
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let source = path.display().to_string();
    let doc = parse(&text, &source)?;
    // The subcommand path: the words after the program name, up to the first flag.
    let mut sub = command;
    let mut table: &Table = doc.as_table();
    let mut at = 1;
    while let Some(word) = argv.get(at).and_then(|w| w.to_str()) {
        let Some(next) = sub.find_subcommand(word) else {
            break;
        };
        sub = next;
        at += 1;
        match table.get(word).and_then(Item::as_table) {
            Some(t) => table = t,
            None => return Ok((argv, Some(path))),
        }
    }
    if at == 1 {
        return Ok((argv, Some(path)));
    }
    let given: Vec<String> = argv[at..]
        .iter()
        .filter_map(|a| a.to_str())
        .filter_map(|a| a.strip_prefix("--"))
        .map(|a| a.split('=').next().unwrap_or(a).to_string())
        .collect();
    let mut defaults = Vec::new();
    for (key, item) in table.iter() {
        if item.is_table() {
            continue; // a nested subcommand's table
        }
        let line = item.span().map_or(0, |s| line_of(&text, s.start));
        let flag = sub
            .get_arguments()
            .find(|a| a.get_long() == Some(key))
            .ok_or_else(|| {
                Error::fatal(format!(
                    "{source}:{line}: `{}` has no flag --{key}; keys are spelled as the long flags",
                    sub.get_name()
                ))
            })?;
        if given.iter().any(|g| g == key) {
            continue;
        }
        let takes_values = flag.get_action().takes_values();
        let at = Place {
            text: &text,
            source: &source,
            line,
        };
        defaults.extend(flag_values(key, item, takes_values, &at)?);
    }
    argv.splice(at..at, defaults);
    Ok((argv, Some(path)))
}

/// The config file named by `--config` (removed from `argv`), the
/// environment, or the working directory.
fn config_path(argv: &mut Vec<OsString>) -> Result<Option<PathBuf>> {
    let mut named = None;
    let mut i = 1;
    while i < argv.len() {
        let arg = argv[i].to_string_lossy().into_owned();
        if arg == "--" {
            break;
        }
        if arg == "--config" {
            let value = argv
                .get(i + 1)
                .cloned()
                .ok_or_else(|| Error::fatal("--config needs a file: --config tokenledger.toml"))?;
            named = Some(PathBuf::from(value));
            argv.drain(i..i + 2);
        } else if let Some(value) = arg.strip_prefix("--config=") {
            named = Some(PathBuf::from(value));
            argv.remove(i);
        } else {
            i += 1;
        }
    }
    let named = named.or_else(|| {
        std::env::var_os(ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    if let Some(path) = named {
        if !path.is_file() {
            return Err(Error::fatal(format!(
                "{}: config file not found (named by --config or ${ENV})",
                path.display()
            )));
        }
        return Ok(Some(path));
    }
    let local = PathBuf::from(DEFAULT_FILE);
    Ok(local.is_file().then_some(local))
}

/// Where a key is, for its values' literal text and messages.
struct Place<'t> {
    text: &'t str,
    source: &'t str,
    line: usize,
}

/// The arguments for one key: `--key=value` per value, `--key` for `true`.
fn flag_values(key: &str, item: &Item, takes_values: bool, at: &Place) -> Result<Vec<OsString>> {
    let bad = |what: &str| Error::fatal(format!("{}:{}: \"{key}\" {what}", at.source, at.line));
    let value = item.as_value().ok_or_else(|| bad("must be a value"))?;
    if !takes_values {
        return match value.as_bool() {
            Some(true) => Ok(vec![format!("--{key}").into()]),
            Some(false) => Ok(Vec::new()),
            None => Err(bad("is a switch: write true or false")),
        };
    }
    let values: Vec<&Value> = match value.as_array() {
        Some(array) => array.iter().collect(),
        None => vec![value],
    };
    values
        .into_iter()
        .map(|v| {
            let text = match v {
                Value::String(s) => s.value().clone(),
                Value::Integer(i) => i.value().to_string(),
                Value::Float(_) => v
                    .span()
                    .map(|s| at.text[s].trim().to_string())
                    .ok_or_else(|| bad("has a number without its text"))?,
                Value::Boolean(b) => b.value().to_string(),
                _ => return Err(bad("must be a string, a number, or an array of them")),
            };
            Ok(format!("--{key}={text}").into())
        })
        .collect()
}
