//! Defaults for any flag from a config file, so a cron line stays short:
//! `--config FILE`, else `$TOKENLEDGER_CONFIG`, else `./tokenledger.toml`
//! if present. One table per command (`[report]`, `[reconcile]`,
//! `[merge]`, `[diff]`, `[pricing]`, `[pricing.check]`, …), keys spelled as
//! the long flags:
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
//! Every key must land somewhere: the whole file is checked whichever
//! command runs, and a key above every table, a table named after no
//! command, a sub-table of a command without subcommands, a key that is no
//! flag of its command and a value its flag refuses are errors naming the
//! file and line. A key of a command with subcommands (`[pricing]`) applies
//! to each of them that has the flag; a sub-table's key (`[pricing.check]`)
//! wins over it. A flag typed on the command line wins over its key, and
//! over every key of a flag it conflicts with. Relative paths are read from
//! the config file's directory, as Cargo reads its own. The defaults are
//! inserted into the arguments before clap parses them, so every flag's own
//! checks apply to them as to typed flags; a usage error they cause (a key
//! whose flag needs another) is followed by the lines of the keys without
//! which the command line parses.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{Arg, Command, ValueHint};
use toml_edit::{Item, Table, Value};

use tokenledger::error::{Error, Result};
use tokenledger::read::toml::{line_of, parse};

/// The environment variable naming the config file.
pub const ENV: &str = "TOKENLEDGER_CONFIG";

/// The config file looked for in the working directory.
pub const DEFAULT_FILE: &str = "tokenledger.toml";

/// The config file being applied.
struct Config<'t> {
    text: &'t str,
    source: String,
    /// Where relative paths in it are read from.
    dir: PathBuf,
}

impl Config<'_> {
    /// An error at `line`.
    fn error(&self, line: usize, message: String) -> Error {
        Error::fatal(format!("{}:{line}: {message}", self.source))
    }

    /// The line of `key` in `table`.
    fn line(&self, table: &Table, key: &str) -> usize {
        let span = table
            .key(key)
            .and_then(|k| k.span())
            .or_else(|| table.get(key).and_then(Item::span));
        span.map_or(0, |s| line_of(self.text, s.start))
    }
}

/// The command line with a config file's defaults.
pub struct WithDefaults {
    /// The arguments, the file's defaults after the subcommand's name.
    pub argv: Vec<OsString>,
    /// The config file used, if any.
    pub file: Option<PathBuf>,
    /// Each key the file gave: where its values are in `argv`, and its
    /// `FILE:LINE: key`.
    given: Vec<(std::ops::Range<usize>, String)>,
}

impl WithDefaults {
    /// `message` (clap's usage error) followed by the `FILE:LINE` of the
    /// keys without which the arguments parse (`parses`): each key alone
    /// that does (a flag needing another, or conflicting with another
    /// key), else each pair (two keys each needing a flag).
    pub fn explain(&self, message: &str, parses: impl Fn(&[OsString]) -> bool) -> String {
        let parses_without = |keys: &[usize]| {
            let mut without = self.argv.clone();
            let mut ranges: Vec<_> = keys.iter().map(|&k| self.given[k].0.clone()).collect();
            ranges.sort_by_key(|r| std::cmp::Reverse(r.start));
            for range in ranges {
                without.drain(range);
            }
            parses(&without)
        };
        let n = self.given.len();
        let mut blamed: Vec<usize> = (0..n).filter(|&k| parses_without(&[k])).collect();
        if blamed.is_empty() {
            for (a, b) in (0..n).flat_map(|a| (a + 1..n).map(move |b| (a, b))) {
                if parses_without(&[a, b]) {
                    blamed.extend([a, b]);
                }
            }
            blamed.sort_unstable();
            blamed.dedup();
        }
        let places: Vec<&str> = blamed.iter().map(|&k| self.given[k].1.as_str()).collect();
        match places.is_empty() {
            true => message.to_string(),
            false => format!("{message}\n(from the config file: {})", places.join(", ")),
        }
    }
}

/// `argv` with the config file's defaults for its subcommand inserted after
/// the subcommand's name, and the config file used (if any). `command` is
/// the program's clap command, against which every key is checked.
pub fn with_defaults(mut argv: Vec<OsString>, command: &Command) -> Result<WithDefaults> {
    let Some(path) = config_path(&mut argv)? else {
        return Ok(WithDefaults {
            argv,
            file: None,
            given: Vec::new(),
        });
    };
    tokenledger::read::special::check(&path)?;
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let config = Config {
        text: &text,
        source: path.display().to_string(),
        dir: path.parent().map_or_else(PathBuf::new, Path::to_path_buf),
    };
    let doc = parse(&text, &config.source)?;
    check_tables(doc.as_table(), command, &config, true)?;
    // The subcommand path: the words after the program name, up to the
    // first flag, with the tables along it (innermost last).
    let mut sub = command;
    let mut tables: Vec<&Table> = Vec::new();
    let mut table = Some(doc.as_table());
    let mut at = 1;
    while let Some(word) = argv.get(at).and_then(|w| w.to_str()) {
        let Some(next) = sub.find_subcommand(word) else {
            break;
        };
        sub = next;
        at += 1;
        table = table.and_then(|t| t.get(word)).and_then(Item::as_table);
        tables.extend(table);
    }
    let typed = typed_flags(&argv[at..], sub);
    let mut defaults = Vec::new();
    let mut given = Vec::new();
    let mut set: Vec<&str> = Vec::new();
    for table in tables.iter().rev() {
        for (key, item) in table.iter().filter(|(_, i)| !i.is_table()) {
            let Some(flag) = sub.get_arguments().find(|a| a.get_long() == Some(key)) else {
                continue; // a parent's key for another subcommand
            };
            if set.contains(&key)
                || typed
                    .iter()
                    .any(|t| t.get_id() == flag.get_id() || conflict(sub, t, flag))
            {
                continue;
            }
            set.push(key);
            let line = config.line(table, key);
            let values = flag_values(flag, item, line, &config)?;
            let start = at + defaults.len();
            let place = format!("{}:{line}: {key}", config.source);
            given.push((start..start + values.len(), place));
            defaults.extend(values);
        }
    }
    argv.splice(at..at, defaults);
    Ok(WithDefaults {
        argv,
        file: Some(path),
        given,
    })
}

/// Check every table and key of the file against the commands: see the
/// module's documentation.
fn check_tables(table: &Table, command: &Command, config: &Config, top: bool) -> Result<()> {
    let commands = || {
        let names: Vec<&str> = command.get_subcommands().map(Command::get_name).collect();
        names.join(", ")
    };
    for (key, item) in table.iter() {
        let line = config.line(table, key);
        let Some(sub) = item.as_table().map(|t| (t, command.find_subcommand(key))) else {
            if top {
                return Err(config.error(
                    line,
                    format!(
                        "`{key}` is above every table: put it under the table of its command \
                     ([report], [reconcile], …), where keys are spelled as the long flags"
                    ),
                ));
            }
            check_key(command, key, item, line, config)?;
            continue;
        };
        match sub {
            (t, Some(cmd)) => check_tables(t, cmd, config, false)?,
            (_, None) if top => {
                return Err(config.error(
                    line,
                    format!(
                        "[{key}] names no command; tables are named after one: {}",
                        commands()
                    ),
                ))
            }
            (_, None) => {
                return Err(config.error(
                    line,
                    format!(
                        "[{}.{key}]: `{}` has no subcommand {key}{}",
                        command.get_name(),
                        command.get_name(),
                        match command.get_arguments().any(|a| a.get_long() == Some(key)) {
                            true => format!("; write its flag as a key: {key} = …"),
                            false => String::new(),
                        }
                    ),
                ))
            }
        }
    }
    Ok(())
}

/// A key of `command`'s table: a long flag of it, or (for a command with
/// subcommands) of one of them, with a value that flag takes.
fn check_key(
    command: &Command,
    key: &str,
    item: &Item,
    line: usize,
    config: &Config,
) -> Result<()> {
    let with_flag = |cmd: &Command| -> Option<Arg> {
        cmd.get_arguments()
            .find(|a| a.get_long() == Some(key))
            .cloned()
    };
    let flag = with_flag(command).or_else(|| command.get_subcommands().find_map(with_flag));
    let Some(flag) = flag else {
        return Err(config.error(
            line,
            format!(
                "`{}` has no flag --{key}; keys are spelled as the long flags",
                command.get_name()
            ),
        ));
    };
    flag_values(&flag, item, line, config).map(|_| ())
}

/// The flags typed on the command line (long or short).
fn typed_flags<'c>(args: &[OsString], sub: &'c Command) -> Vec<&'c Arg> {
    let mut typed = Vec::new();
    for arg in args.iter().filter_map(|a| a.to_str()) {
        if arg == "--" {
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let name = long.split('=').next().unwrap_or(long);
            typed.extend(sub.get_arguments().find(|a| a.get_long() == Some(name)));
        } else if let Some(shorts) = arg.strip_prefix('-') {
            for c in shorts.chars() {
                typed.extend(sub.get_arguments().find(|a| a.get_short() == Some(c)));
            }
        }
    }
    typed
}

/// Whether two flags of `cmd` may not be given together.
fn conflict(cmd: &Command, a: &Arg, b: &Arg) -> bool {
    let with = |x: &Arg, y: &Arg| {
        cmd.get_arg_conflicts_with(x)
            .iter()
            .any(|c| c.get_id() == y.get_id())
    };
    with(a, b) || with(b, a)
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
        let value = if arg == "--config" {
            let value = argv
                .get(i + 1)
                .cloned()
                .ok_or_else(|| Error::fatal("--config needs a file: --config tokenledger.toml"))?;
            argv.drain(i..i + 2);
            value
        } else if let Some(value) = arg.strip_prefix("--config=") {
            let value = value.into();
            argv.remove(i);
            value
        } else {
            i += 1;
            continue;
        };
        // One file gives the defaults: a second is refused, never settled
        // by its place on the command line.
        if let Some(first) = named.replace(PathBuf::from(value)) {
            return Err(Error::fatal(format!(
                "--config given twice ({} and {}): give one file",
                first.display(),
                named.unwrap_or_default().display()
            )));
        }
    }
    let named = named.or_else(|| {
        std::env::var_os(ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    if let Some(path) = named {
        // Any file that reads (`/dev/null`: no defaults), not a directory.
        let why = match std::fs::metadata(&path) {
            Err(_) => "config file not found",
            Ok(meta) if meta.is_dir() => "a directory, not a config file",
            Ok(_) => return Ok(Some(path)),
        };
        return Err(Error::fatal(format!(
            "{}: {why} (named by --config or ${ENV})",
            path.display()
        )));
    }
    // Any entry of the name is meant as the defaults: a link to a volume
    // not mounted, or a directory, is refused, never a run without them.
    let local = PathBuf::from(DEFAULT_FILE);
    if std::fs::symlink_metadata(&local).is_err() {
        return Ok(None);
    }
    let why = match std::fs::metadata(&local) {
        Err(_) => "a link to no file",
        Ok(meta) if meta.is_dir() => "a directory, not a config file",
        Ok(_) => return Ok(Some(local)),
    };
    Err(Error::fatal(format!(
        "./{DEFAULT_FILE}: {why}; the defaults it holds (budgets, gates, --period) would go \
         unread: fix it, or name another with --config (/dev/null: none)"
    )))
}

/// The arguments for one key: `--key=value` per value, `--key` for `true`;
/// each value checked by the flag's own parser here, so that a refusal
/// names the file and line, and a relative path made relative to the
/// config file's directory.
fn flag_values(flag: &Arg, item: &Item, line: usize, config: &Config) -> Result<Vec<OsString>> {
    let key = flag.get_long().unwrap_or_default();
    let bad = |what: &str| config.error(line, format!("\"{key}\" {what}"));
    let value = item.as_value().ok_or_else(|| bad("must be a value"))?;
    if !flag.get_action().takes_values() {
        return match value.as_bool() {
            Some(true) => Ok(vec![format!("--{key}").into()]),
            Some(false) => Ok(Vec::new()),
            None => Err(bad("is a switch: write true or false")),
        };
    }
    let several = matches!(flag.get_action(), clap::ArgAction::Append);
    let values: Vec<&Value> = match value.as_array() {
        Some(array) if array.is_empty() => {
            return Err(bad("is an empty list: give a value, or remove the key"))
        }
        Some(_) if !several => return Err(bad("takes one value, not a list")),
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
                    // TOML's `1_000.5` is 1000.5.
                    .map(|s| config.text[s].trim().replace('_', ""))
                    .ok_or_else(|| bad("has a number without its text"))?,
                Value::Boolean(_) => return Err(bad("takes a value, not true or false")),
                _ => return Err(bad("must be a string, a number, or an array of them")),
            };
            let text = relative_to(flag, text, &config.dir);
            check_value(flag, &text).map_err(|why| config.error(line, why))?;
            Ok(format!("--{key}={text}").into())
        })
        .collect()
}

/// A path value relative to `dir` (the config file's), unless absolute or
/// standard input.
fn relative_to(flag: &Arg, text: String, dir: &Path) -> String {
    let path_flag = matches!(
        flag.get_value_hint(),
        ValueHint::AnyPath | ValueHint::FilePath | ValueHint::DirPath
    );
    if !path_flag || text == "-" || Path::new(&text).is_absolute() || dir.as_os_str().is_empty() {
        return text;
    }
    dir.join(text).to_string_lossy().into_owned()
}

/// The flag's own parser's verdict on one value.
fn check_value(flag: &Arg, value: &str) -> std::result::Result<(), String> {
    let key: &'static str = Box::leak(flag.get_long().unwrap_or_default().into());
    let mut probe = Arg::new("value")
        .long(key)
        .value_parser(flag.get_value_parser().clone());
    if let Some(names) = flag.get_value_names() {
        probe = probe.value_names(names.iter().cloned());
    }
    Command::new("tokenledger")
        .arg(probe)
        .try_get_matches_from(["tokenledger", &format!("--{key}={value}")])
        .map(|_| ())
        .map_err(|e| {
            let text = e.render().to_string();
            let text = text.strip_prefix("error: ").unwrap_or(&text);
            text.lines().next().unwrap_or_default().to_string()
        })
}
