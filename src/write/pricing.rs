//! What `tokenledger pricing` prints: `list`'s table of entries and
//! `show`'s description of the entry pricing a model.

use chrono::NaiveDate;

use crate::catalog::catalog_rates;
use crate::model::{Modality, Tier, TokenType};
use crate::price::{PriceEntry, TierPrice};

/// `pricing list`'s table: one row per entry, with the file and line each
/// comes from.
pub fn entry_table(entries: &[&PriceEntry]) -> String {
    use comfy_table::{presets::UTF8_FULL_CONDENSED, Table as Grid};
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
    format!("{grid}\n")
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

/// Rates per token type, as `input 3, cache_read 0.3, …`.
fn rate_list(rates: &[impl std::fmt::Display; 5]) -> String {
    TokenType::ALL
        .map(|t| format!("{} {}", t.key(), rates[t.index()]))
        .join(", ")
}

/// One entry as `pricing show` prints it.
pub fn describe(entry: &PriceEntry, model: &str, date: NaiveDate) -> String {
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
