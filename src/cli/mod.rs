//! The command line: clap's definitions of every flag, with their help,
//! converted once into the library's clap-free configurations (where the
//! flags are checked). `defaults` fills in flags from a config file first.
//!
//! `month` holds the flags of the commands that run the month (`report`,
//! `merge`, `reconcile`); `tools` those of `partition`, `diff`, `pricing`
//! and `simulate`; this file the value parsers they share.

pub mod defaults;
mod month;
mod tools;

pub use month::{MergeArgs, ReconcileArgs, ReportArgs};
pub use tools::{DiffArgs, PartitionArgs, PricingCommand, SimulateArgs};

use std::path::PathBuf;

use rust_decimal::Decimal;

use tokenledger::error::{Error, Result};

/// `--fx CUR=RATE`.
fn exchange_rate(text: &str) -> std::result::Result<(String, Decimal), String> {
    let bad = || {
        format!("expected CUR=RATE (EUR=0.92: units of CUR per unit of the pricing table's currency), got \"{text}\"")
    };
    let (currency, rate) = text.split_once('=').ok_or_else(bad)?;
    let currency = currency.trim().to_ascii_uppercase();
    let rate = tokenledger::money::exact_decimal(rate.trim()).ok_or_else(bad)?;
    let code = currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase());
    if !code || rate <= Decimal::ZERO {
        return Err(bad());
    }
    Ok((currency, rate))
}

fn non_negative(text: &str) -> std::result::Result<Decimal, String> {
    // Read exactly: a value with more digits than a decimal holds is
    // refused, never rounded (1e-31 read as 0).
    match tokenledger::money::exact_decimal(text.trim()) {
        Some(d) if d >= Decimal::ZERO => Ok(d),
        _ => Err(format!(
            "expected a non-negative decimal number (at most 28 decimal places), got \"{text}\""
        )),
    }
}

/// `--min-coverage`: non-negative, with at most the 2 decimals
/// `coverage_pct` is written with (rounded down), so a row that passes
/// never reads as below the gate.
fn coverage_gate(text: &str) -> std::result::Result<Decimal, String> {
    let gate = non_negative(text)?;
    match gate.normalize().scale() <= 2 {
        true => Ok(gate),
        false => Err(format!(
            "expected at most 2 decimals, as coverage_pct is written, got \"{text}\""
        )),
    }
}

fn percentage(text: &str) -> std::result::Result<Decimal, String> {
    tokenledger::money::exact_decimal(text.trim())
        .filter(|d| (Decimal::ZERO..=Decimal::ONE_HUNDRED).contains(d))
        .ok_or_else(|| format!("expected a percentage from 0 to 100, got \"{text}\""))
}

/// A size in bytes: digits with an optional K, M, G or T (powers of 1024),
/// which may be followed by `B` or `iB` (`512M`, `2GiB`, `1500000000`).
fn memory_size(text: &str) -> std::result::Result<u64, String> {
    let bad = || format!("expected a size such as 512M, 2G or 1500000000, got \"{text}\"");
    let upper = text.to_ascii_uppercase();
    let unit = ["IB", "B"]
        .iter()
        .find_map(|suffix| upper.strip_suffix(suffix))
        .unwrap_or(&upper);
    let shift = match unit.chars().last() {
        Some('K') => 10,
        Some('M') => 20,
        Some('G') => 30,
        Some('T') => 40,
        _ => 0,
    };
    let digits = if shift == 0 {
        unit
    } else {
        &unit[..unit.len() - 1]
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u64 = digits.parse().map_err(|_| bad())?;
    n.checked_mul(1 << shift)
        .filter(|&bytes| bytes > 0)
        .ok_or_else(bad)
}

/// Half the memory this process may use: the machine's (`MemTotal`), or
/// its cgroup's limit when lower; 4 GiB where neither can be read.
fn default_memory_limit() -> u64 {
    let machine =
        tokenledger::pipeline::proc_kib("/proc/meminfo", "MemTotal").map(|kib| kib * 1024);
    let total = [machine, cgroup_limit()]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(8 << 30);
    total / 2
}

/// The lowest memory limit of this process's cgroup and its parents
/// (cgroup v2's `memory.max` along the path `/proc/self/cgroup` names, or
/// v1's `memory.limit_in_bytes`).
fn cgroup_limit() -> Option<u64> {
    let read = |path: &std::path::Path| -> Option<u64> {
        std::fs::read_to_string(path).ok()?.trim().parse().ok()
    };
    let root = std::path::Path::new("/sys/fs/cgroup");
    let own = std::fs::read_to_string("/proc/self/cgroup")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("0::"))?;
            Some(root.join(line["0::".len()..].trim_start_matches('/')))
        });
    let v2 = own
        .iter()
        .flat_map(|dir| dir.ancestors().take_while(|d| d.starts_with(root)))
        .filter_map(|dir| read(&dir.join("memory.max")))
        .min();
    v2.or_else(|| read(&root.join("memory/memory.limit_in_bytes")))
}

/// A thread count: a whole number, at least 1.
fn thread_count(text: &str) -> std::result::Result<usize, String> {
    text.parse::<usize>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| format!("expected a whole number of threads, at least 1, got \"{text}\""))
}

/// A span attribute key: not empty and without spaces around it (such a
/// key names no attribute, so every span would go without it:
/// `tenant.id, gen_ai.conversation.id` would never find the second).
fn attribute_key(text: &str) -> std::result::Result<String, String> {
    match text.trim() {
        "" => Err("expected an attribute key, got an empty one".to_string()),
        key if key != text => Err(format!(
            "expected an attribute key without spaces around it, got \"{text}\""
        )),
        _ => Ok(text.to_string()),
    }
}

fn positive_decimal(text: &str) -> std::result::Result<Decimal, String> {
    tokenledger::money::exact_decimal(text.trim())
        .filter(|d| *d > Decimal::ZERO)
        .ok_or_else(|| format!("expected a number above 0, got \"{text}\""))
}

/// Refuse `-` (standard input) named by two input flags: it can be read
/// once.
fn stdin_once(inputs: &[(&str, &[PathBuf])]) -> Result<()> {
    let flags: Vec<&str> = inputs
        .iter()
        .flat_map(|(flag, paths)| {
            paths
                .iter()
                .filter(|p| p.as_os_str() == tokenledger::read::STDIN)
                .map(move |_| *flag)
        })
        .collect();
    if flags.len() > 1 {
        return Err(Error::fatal(format!(
            "`-` (standard input) is given to {}: standard input can be read once; give the \
             others files",
            flags.join(" and ")
        )));
    }
    Ok(())
}
