//! Reading `pricing.toml` into a [`PriceTable`]: the table and the one
//! base it may `extend` (a chain or a cycle is an error naming it); each
//! entry is read by [`super::toml_entry`].

use std::path::Path;

use chrono::NaiveDate;

use toml_edit::{Item, Table};

use super::allowances::check_pools;
use super::ambiguity::check_ambiguity;
use super::bill_names::{read_bill_names, read_priced_as, BillName};
use super::entry::PriceEntry;
use super::toml_entry::PricingToml;
use super::{PriceTable, BUILTIN, SAVED_BASE};
use crate::error::{Error, Result};
use crate::read::toml::{self, TomlReader};

impl PriceTable {
    /// When the table stops pricing `model` of `provider`, if every entry
    /// that matches it ends on or before `date` (a retired name, as
    /// DeepSeek's `deepseek-chat` alias): the latest such end.
    pub fn ended_by(&self, provider: &str, model: &str, date: NaiveDate) -> Option<NaiveDate> {
        let ends: Option<Vec<NaiveDate>> = self
            .entries
            .iter()
            .filter(|e| e.provider == provider && e.fit(model).is_some())
            .map(|e| e.effective_to.filter(|to| *to <= date))
            .collect();
        ends?.into_iter().max()
    }

    /// The table to use: `--pricing` if given, else `./pricing.toml` if
    /// present, else the built-in table.
    pub fn resolve(flag: Option<&Path>) -> Result<PriceTable> {
        let local = Path::new("pricing.toml");
        match flag {
            Some(path) => PriceTable::load_file(path),
            None if local.is_file() => PriceTable::load_file(local),
            None => PriceTable::parse(BUILTIN, BUILT_IN),
        }
    }

    /// Load a pricing file from disk; a relative `extends` is read from
    /// the file's directory.
    pub fn load_file(path: &Path) -> Result<PriceTable> {
        let text = crate::read::read_text(path)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        PriceTable::parse_with(&text, &path.display().to_string(), &from_disk(dir))
    }

    /// Parse pricing TOML; `source` names it in messages and the summary;
    /// a relative `extends` is read from the working directory.
    pub fn parse(text: &str, source: &str) -> Result<PriceTable> {
        PriceTable::parse_with(text, source, &from_disk(Path::new(".")))
    }

    /// Parse pricing TOML whose `extends` (if any) `base` reads: given the
    /// name, the base's text and source.
    pub fn parse_with(text: &str, source: &str, base: &Resolver) -> Result<PriceTable> {
        let (extends, at) = extends_of(text, source)?;
        let base = match extends {
            None => None,
            Some(name) => {
                let (base_text, base_source) = match name.as_str() {
                    BUILT_IN => (BUILTIN.to_string(), BUILT_IN.to_string()),
                    _ => base(&name)?,
                };
                if let (Some(next), _) = extends_of(&base_text, &base_source)? {
                    return Err(chain_error(source, &base_source, &next, base));
                }
                Some(parse_layer(&base_text, &base_source, None)?)
            }
        };
        let mut table = parse_layer(text, source, base)?;
        table.extends_at = at;
        Ok(table)
    }

    /// The table this one extends, read on its own: the published rates
    /// a layered table's own (negotiated) entries replace, FOCUS's list
    /// prices. `None` for a table that extends none.
    pub fn base_table(&self) -> Result<Option<PriceTable>> {
        let read = |(source, text): &(String, std::sync::Arc<str>)| parse_layer(text, source, None);
        self.base.as_ref().map(read).transpose()
    }

    /// The text to save beside a month's reports as `pricing.toml`: the
    /// table as read, its `extends` pointing at [`SAVED_BASE`] when it has
    /// a base (saved as that file), however the key was spelled.
    pub fn saved_text(&self) -> String {
        match &self.extends_at {
            Some(at) if self.base.is_some() => format!(
                "{}\"{SAVED_BASE}\"{}",
                &self.text[..at.start],
                &self.text[at.end..]
            ),
            _ => self.text.to_string(),
        }
    }
}

/// Reads the base a table `extends`: its text and source, by name.
pub type Resolver<'a> = dyn Fn(&str) -> Result<(String, String)> + 'a;

/// The name of the built-in table, as `extends` and messages give it.
const BUILT_IN: &str = "built-in";

/// A resolver of bases that are files relative to `dir`.
fn from_disk(dir: &Path) -> impl Fn(&str) -> Result<(String, String)> + '_ {
    move |name: &str| {
        let path = dir.join(name);
        Ok((crate::read::read_text(&path)?, path.display().to_string()))
    }
}

/// The table's `extends` value, if any, and where it is in `text`.
fn extends_of(
    text: &str,
    source: &str,
) -> Result<(Option<String>, Option<std::ops::Range<usize>>)> {
    let doc = toml::parse(text, source)?;
    let Some(item) = doc.get("extends") else {
        return Ok((None, None));
    };
    let reader = TomlReader::new(text, source);
    let name = reader.string(doc.as_table(), "extends", "the top level")?;
    Ok((Some(name.to_string()), item.span()))
}

/// The error for a base that extends another table: a table extends at
/// most one base, so the chain is named (and a cycle called one).
fn chain_error(source: &str, base_source: &str, next: &str, base: &Resolver) -> Error {
    let same = |a: &str, b: &str| {
        let canonical = |p: &str| std::fs::canonicalize(p).ok();
        a == b || canonical(a).is_some_and(|c| Some(c) == canonical(b))
    };
    let next_source = base(next).map_or_else(|_| next.to_string(), |(_, s)| s);
    if same(source, base_source) {
        return Error::fatal(format!(
            "{source}: extends itself; a table extends at most one other table"
        ));
    }
    let cycle = same(&next_source, source) || same(&next_source, base_source);
    let what = if cycle { "a cycle" } else { "a chain" };
    Error::fatal(format!(
        "{source}: extends {base_source}, which extends {next_source}: {what} \
         ({source} → {base_source} → {next_source}); a table extends at most one base"
    ))
}

/// One table's own entries, on top of `base`'s.
fn parse_layer(text: &str, source: &str, base: Option<PriceTable>) -> Result<PriceTable> {
    let doc = toml::parse(text, source)?;
    let reader = TomlReader::new(text, source);
    let root: &Table = &doc;
    reader.only_keys(
        root,
        &[
            "version",
            "currency",
            "model",
            "extends",
            "meter",
            "priced_as",
        ],
        "the top level",
    )?;
    let version = reader.string(root, "version", "the top level")?.to_string();
    let currency = read_currency(&reader, root)?;
    // A table that extends another may add only meters or bill names.
    let models = match root.get("model") {
        None if base.is_some() => None,
        models => Some(
            models
                .and_then(Item::as_array_of_tables)
                .ok_or_else(|| Error::fatal(format!("{source}: no [[model]] entries")))?,
        ),
    };
    let own = models
        .iter()
        .flat_map(|m| m.iter())
        .map(|t| reader.entry(t))
        .collect::<Result<Vec<_>>>()?;
    check_ambiguity(&own, source)?;
    let mut entries = Vec::new();
    if let Some(base) = &base {
        if base.currency != currency {
            return Err(Error::fatal(format!(
                "{source}: currency {currency}, but the table it extends ({}) is in {}",
                base.source, base.currency
            )));
        }
        entries.extend(base.entries.iter().cloned());
    }
    let layer = u8::from(base.is_some());
    entries.extend(own.into_iter().map(|e| PriceEntry { layer, ..e }));
    check_pools(&entries)?;
    let mut bill_names = base
        .as_ref()
        .map_or_else(Vec::new, |b| b.bill_names.clone());
    let own_names = read_bill_names(&reader, root)?;
    bill_names.extend(own_names.into_iter().map(|n| BillName { layer, ..n }));
    let mut priced_as = base.as_ref().map_or_else(Vec::new, |b| b.priced_as.clone());
    for (provider, list) in read_priced_as(&reader, root)? {
        priced_as.retain(|(p, _)| *p != provider);
        priced_as.push((provider, list));
    }
    let table = PriceTable {
        version,
        currency,
        source: source.to_string(),
        entries,
        bill_names,
        priced_as,
        text: text.into(),
        base: base.map(|b| (b.source, b.text)),
        extends_at: None,
    };
    table.check_bill_names(source)?;
    Ok(table)
}

/// The table's `currency`: an ISO 4217 code, as every output names it
/// (`focus.csv`'s `BillingCurrency`, summary.json), in capitals (`usd`, as
/// OpenAI's cost API writes it, is `USD`).
fn read_currency(reader: &TomlReader, root: &Table) -> Result<String> {
    let currency = reader.string(root, "currency", "the top level")?;
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(reader.error(
            root.get("currency").and_then(Item::span),
            format!("currency \"{currency}\" is not an ISO 4217 code: three letters (USD, EUR)"),
        ));
    }
    Ok(currency.to_ascii_uppercase())
}
