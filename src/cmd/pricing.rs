//! `tokenledger pricing`: look at the pricing table before month end.
//! `show` prints the entry that prices a model on a date with every rate;
//! `check` finds the usage that has no price (exit 1) and lists the rates
//! that differ from the `genai-prices` catalog ([`crate::catalog`]).

use std::collections::BTreeSet;
use std::path::PathBuf;

use chrono::NaiveDate;

use super::{print_stdout, Outcome};
use crate::catalog::{catalog_rates, compare, every_entry, Checked};
use crate::error::Result;
use crate::model::{Modality, Tier, TokenType};
use crate::pipeline::config::UsageConfig;
use crate::pipeline::usage::Usage;
use crate::price::price_each;
use crate::price::{PriceEntry, PriceTable, TierPrice};
use crate::terminal::escape_lines;

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
    use comfy_table::{presets::UTF8_FULL_CONDENSED, Table as Grid};
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
    let mut grid = Grid::new();
    grid.load_preset(UTF8_FULL_CONDENSED);
    let mut header = vec!["provider", "match", "effective"];
    header.extend(TokenType::ALL.map(TokenType::key));
    header.extend(["also", "from"]);
    grid.set_header(header);
    for e in entries {
        let effective = match e.effective_to {
            Some(to) => format!("{} to {to}", e.effective_from),
            None => format!("{} on", e.effective_from),
        };
        let mut row = vec![e.provider.clone(), e.patterns.join(", "), effective];
        row.extend(e.rates.0.iter().map(|r| r.to_string()));
        row.push(extras(e));
        row.push(format!("{}:{}", e.file, e.line));
        grid.add_row(row);
    }
    print_stdout(escape_lines(&format!("{grid}\n")).as_bytes())?;
    Ok(Outcome::Pass)
}

/// An entry's prices beyond the five standard rates, in a few words.
fn extras(e: &PriceEntry) -> String {
    let mut also = Vec::new();
    if let Some(d) = e.batch_discount {
        also.push(format!("batch ×{d}"));
    }
    if let Some(lc) = &e.long_context {
        also.push(format!("long context >{}", lc.threshold));
    }
    for (tier, _) in &e.tiers {
        also.push(tier.key().to_string());
    }
    for hours in &e.hours {
        also.push(format!("hours {}", hours.window().label()));
    }
    for (region, m) in &e.geo {
        also.push(format!("{region} ×{m}"));
    }
    if let Some(m) = e.fast {
        also.push(format!("fast ×{m}"));
    }
    for (charge, price) in &e.requests {
        also.push(format!("{charge} ${price}/1k"));
    }
    for (charge, a) in &e.free {
        also.push(format!("{charge} {} free/{}", a.count, a.per()));
    }
    for m in Modality::ALL {
        if let Some(rate) = e.modal[m.index()] {
            also.push(format!("{} {rate}", m.key()));
        }
    }
    also.join(", ")
}

/// `pricing check`: every model in the usage (else every entry of the
/// table) against the table and the genai-prices catalog; exit 1 on a gap.
pub fn check(args: &UsageConfig) -> Result<Outcome> {
    let checked = if args.paths.is_empty() {
        let table = PriceTable::resolve(args.pricing.as_deref())?;
        let today = crate::pipeline::config::today();
        every_entry(table, args.period.map(|p| p.first_day()), today)
    } else {
        let (usage, _) = Usage::read(args)?;
        let (_, gaps) = price_each(&usage.pricing, &usage.records, &usage.interner);
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

/// Rates per token type, as `input 3, cache_read 0.3, …`.
fn rate_list(rates: &[impl std::fmt::Display; 5]) -> String {
    TokenType::ALL
        .map(|t| format!("{} {}", t.key(), rates[t.index()]))
        .join(", ")
}

/// One entry as `pricing show` prints it.
fn describe(entry: &PriceEntry, model: &str, date: NaiveDate) -> String {
    let mut text = format!(
        "{model} ({}) on {date}: {}:{}\n  match:        {}\n  effective:    from {}{}\n  USD per 1M:   {}\n",
        entry.provider,
        entry.file,
        entry.line,
        entry.patterns.join(", "),
        entry.effective_from,
        entry
            .effective_to
            .map_or_else(|| " (no end)".to_string(), |to| format!(" to {to} (exclusive)")),
        rate_list(&entry.rates.0),
    );
    let batch_tier = entry.tiers.iter().any(|(t, _)| *t == Tier::Batch);
    text += &match entry.batch_discount {
        Some(d) => format!("  batch:        {d} of the standard cost\n"),
        None if batch_tier => String::new(),
        None => "  batch:        no batch rate (batch records are refused)\n".to_string(),
    };
    for (tier, price) in &entry.tiers {
        let price = match price {
            TierPrice::Rates(own) => {
                let mut list = rate_list(&own.rates.0);
                if let Some(lc) = &own.long_context {
                    list += &format!("; long context {}", rate_list(&lc.0));
                }
                for m in Modality::ALL {
                    if let Some(rate) = own.modal[m.index()] {
                        list += &format!(", {} {rate}", m.key());
                    }
                }
                list
            }
            TierPrice::Multiplier(m) => format!("{m} × every rate"),
        };
        text += &format!("  tier {:<8} {price}\n", format!("{}:", tier.key()));
    }
    for (region, m) in &entry.geo {
        text += &format!("  region {region}: {m} × every rate\n");
    }
    if let Some(m) = entry.fast {
        text += &format!("  speed fast:   {m} × every rate\n");
    }
    for hours in &entry.hours {
        let label = hours.window().label();
        text += &format!("  hours {label}: {}\n", rate_list(&hours.rates.0));
    }
    for (charge, price) in &entry.requests {
        text += &format!("  requests:     {charge} ${price} per 1,000\n");
    }
    for (charge, a) in &entry.free {
        text += &format!(
            "  free:         {charge} {} per UTC {} (pool {})\n",
            a.count,
            a.per(),
            a.pool
        );
    }
    for m in Modality::ALL {
        if let Some(rate) = entry.modal[m.index()] {
            text += &format!("  {:<13} {rate} per 1M\n", format!("{}:", m.key()));
        }
    }
    if let Some(citation) = &entry.citation {
        text += &format!("  source:       {citation}\n");
    }
    if let Some(lc) = &entry.long_context {
        text += &format!(
            "  long context: above {} prompt tokens, the whole request at {}\n",
            lc.threshold,
            rate_list(&lc.rates.0)
        );
    }
    text += &match catalog_rates(&entry.provider, model, date) {
        Some(theirs) => format!("  genai-prices: {}\n", rate_list(&theirs)),
        None => "  genai-prices: model not in the catalog\n".to_string(),
    };
    text
}
