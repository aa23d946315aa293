//! `tokenledger pricing`: look at the pricing table before month end.
//! `show` prints the entry that prices a model on a date with every rate;
//! `list` the entries a table holds;
//! `check` finds the usage that has no price (exit 1) and lists the rates
//! that differ from the `genai-prices` catalog ([`crate::catalog`]).

use std::collections::BTreeSet;
use std::path::PathBuf;

use chrono::NaiveDate;

use super::{print_stdout, Outcome};
use crate::catalog::{compare, every_entry, Checked};
use crate::error::Result;
use crate::pipeline::config::UsageConfig;
use crate::pipeline::usage::Usage;
use crate::price::price_each;
use crate::price::{PriceEntry, PriceTable};
use crate::terminal::escape_lines;
use crate::write::pricing::{describe, entry_table};

/// What `pricing show` is asked for.
#[derive(Clone, Debug)]
pub struct ShowConfig {
    /// The model name as billed.
    pub model: String,
    /// Only this provider's entries.
    pub provider: Option<String>,
    /// The UTC date to price on (default: today).
    pub at: Option<NaiveDate>,
    /// The pricing table.
    pub pricing: Option<PathBuf>,
}

/// What `pricing list` is asked for.
#[derive(Clone, Debug)]
pub struct ListConfig {
    /// Only entries one of whose `match` names contains this (any case).
    pub pattern: Option<String>,
    /// Only this provider's entries.
    pub provider: Option<String>,
    /// Only entries in effect on this UTC date.
    pub at: Option<NaiveDate>,
    /// The pricing table.
    pub pricing: Option<PathBuf>,
}

/// `pricing list`: what a table prices, one row per entry, with the file
/// and line each comes from.
pub fn list(args: &ListConfig) -> Result<Outcome> {
    let table = PriceTable::resolve(args.pricing.as_deref())?;
    let wanted = |e: &&PriceEntry| {
        let pattern = args.pattern.as_deref().map(str::to_ascii_lowercase);
        args.provider.as_deref().is_none_or(|p| p == e.provider)
            && args.at.is_none_or(|day| e.covers(day))
            && pattern.is_none_or(|p| {
                e.patterns
                    .iter()
                    .any(|m| m.to_ascii_lowercase().contains(&p))
            })
    };
    let entries: Vec<&PriceEntry> = table.entries.iter().filter(wanted).collect();
    if entries.is_empty() {
        return Ok(Outcome::Fail(vec![format!(
            "no entry of {} matches; `tokenledger pricing list` with no pattern lists them all",
            table.source
        )]));
    }
    print_stdout(escape_lines(&entry_table(&entries)).as_bytes())?;
    Ok(Outcome::Pass)
}

/// `pricing check`: every model in the usage (else every entry of the
/// table) against the table and the genai-prices catalog; exit 1 on a gap.
pub fn check(args: &UsageConfig) -> Result<Outcome> {
    let checked = if args.paths.is_empty() {
        let table = PriceTable::resolve(args.pricing.as_deref())?;
        let today = crate::pipeline::config::today();
        every_entry(table, args.period.map(|p| p.first_day()), today)
    } else {
        let (usage, intake) = Usage::read(args)?;
        let (_, gaps) = price_each(
            &usage.pricing,
            (&usage.records, &usage.ids),
            &usage.interner,
            &intake.describe(),
        );
        let name = |s| usage.interner.get(s).to_string();
        let used = usage
            .records
            .iter()
            .map(|r| (name(r.provider), name(r.model), r.timestamp.date_naive()))
            .collect();
        Checked {
            table: usage.pricing,
            used,
            gaps,
            missing: None,
        }
    };
    let comparison = compare(checked)?;
    print_stdout(escape_lines(&comparison.text()).as_bytes())?;
    let gaps = comparison.gaps.len();
    Ok(Outcome::of(
        (gaps > 0)
            .then(|| format!("pricing check: {gaps} gap(s) in the table for the usage"))
            .into_iter()
            .collect(),
    ))
}

/// `pricing show`: the entry that prices a model on a date, with every rate.
pub fn show(args: &ShowConfig) -> Result<Outcome> {
    let table = PriceTable::resolve(args.pricing.as_deref())?;
    let date = args.at.unwrap_or_else(crate::pipeline::config::today);
    // A provider `[priced_as]` others has no entries of its own to list.
    let providers: BTreeSet<&str> = match args.provider.as_deref() {
        Some(want) => BTreeSet::from([want]),
        None => table.entries.iter().map(|e| e.provider.as_str()).collect(),
    };
    let mut text = String::new();
    for provider in providers {
        if let Some(entry) = table.find(provider, &args.model, date) {
            text += &describe(entry, &args.model, date);
        }
    }
    if text.is_empty() {
        // A negative answer, not an error: exit 1, as grep does.
        return Ok(Outcome::Fail(vec![format!(
            "no entry of {} prices \"{}\" on {date}{}; `tokenledger pricing check` lists every gap",
            table.source,
            args.model,
            args.provider
                .as_deref()
                .map_or_else(String::new, |p| format!(" for provider {p}")),
        )]));
    }
    print_stdout(escape_lines(&text).as_bytes())?;
    Ok(Outcome::Pass)
}
