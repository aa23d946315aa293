//! How a cloud bill's model names meet the table's models.
//!
//! A cloud bill names a model in its own words (`Claude4.6Sonnet`,
//! `Gemini 3.0 Pro`, `gpt 4o mini 0718`). The table resolves them:
//!
//! 1. a `[[meter]]` entry naming it for that cloud (`cloud`, `names`,
//!    `model`; the extending table's entries win over its base's);
//! 2. else the name itself, then its slug (`gemini-2.5-flash`), then its
//!    slug with dots as dashes (`claude-sonnet-4-6`), then the name with
//!    AWS's `-v1` version suffix, where the table prices it on the line's
//!    day; AWS lines that say `global` meet the model's `global.` profile.
//!
//! The provider is the cloud's (`aws.bedrock`, `google`, `azure`). A
//! provider whose models are priced at other makers' rates says so in
//! `[priced_as]` (Azure sells OpenAI, DeepSeek, xAI and Mistral models at
//! their makers' list rates): its own entries are looked up first, then
//! those providers' in order.

use chrono::NaiveDate;
use toml_edit::{Item, Table};

use super::PriceTable;
use crate::error::{Error, Result};
use crate::read::invoice::meters::{slug, slug_dashed, Cloud, ModelNames};
use crate::read::toml::TomlReader;

/// One name a cloud bill gives a model (`[[meter]]`).
#[derive(Clone, Debug)]
pub struct BillName {
    /// The cloud whose bill spells it so.
    pub cloud: Cloud,
    /// The name, as [`normalised`].
    pub name: String,
    /// The model the table prices it as.
    pub model: String,
    /// 0 for a base table's entries, 1 for the table that extends it.
    pub layer: u8,
    /// Its entry's line in the pricing file.
    pub line: usize,
}

/// A bill's model name without case, and with spaces, dashes and
/// underscores alike: `gpt-4o-mini-0718` and `gpt 4o mini 0718` meet.
pub fn normalised(name: &str) -> String {
    name.split(|c: char| c.is_whitespace() || c == '-' || c == '_')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The `[[meter]]` entries of one table.
pub(super) fn read_bill_names(reader: &TomlReader, root: &Table) -> Result<Vec<BillName>> {
    let Some(item) = root.get("meter") else {
        return Ok(Vec::new());
    };
    let entries = item
        .as_array_of_tables()
        .ok_or_else(|| reader.error(item.span(), "meter must be [[meter]] entries".into()))?;
    let mut names: Vec<BillName> = Vec::new();
    for table in entries {
        let line = table.span().map_or(0, |s| reader.line(s.start));
        let what = format!("the [[meter]] entry at line {line}");
        reader.only_keys(table, &["cloud", "names", "model"], &what)?;
        let cloud_name = reader.string(table, "cloud", &what)?;
        let cloud = Cloud::parse(cloud_name).ok_or_else(|| {
            reader.error(
                table.get("cloud").and_then(Item::span),
                format!("{what}: cloud \"{cloud_name}\" is not aws, gcp or azure"),
            )
        })?;
        let model = reader.string(table, "model", &what)?.to_string();
        for name in strings(reader, table, "names", &what)? {
            let name = normalised(&name);
            if let Some(other) = names.iter().find(|n| n.cloud == cloud && n.name == name) {
                return Err(reader.error(
                    table.span(),
                    format!(
                        "{what}: {} meter name \"{name}\" is already the entry's at line {}; a \
                         name means one model",
                        cloud.name(),
                        other.line
                    ),
                ));
            }
            let model = model.clone();
            names.push(BillName {
                cloud,
                name,
                model,
                layer: 0,
                line,
            });
        }
    }
    Ok(names)
}

/// The `[priced_as]` table: providers whose models other providers' entries
/// price, in the order they are tried.
pub(super) fn read_priced_as(
    reader: &TomlReader,
    root: &Table,
) -> Result<Vec<(String, Vec<String>)>> {
    let Some(item) = root.get("priced_as") else {
        return Ok(Vec::new());
    };
    let table = item
        .as_table()
        .ok_or_else(|| reader.error(item.span(), "priced_as must be a table".into()))?;
    table
        .iter()
        .map(|(provider, _)| {
            let list = strings(reader, table, provider, "[priced_as]")?;
            Ok((provider.to_string(), list))
        })
        .collect()
}

/// A non-empty array of strings.
fn strings(reader: &TomlReader, table: &Table, key: &str, what: &str) -> Result<Vec<String>> {
    let value = reader.value(table, key, what)?;
    let list: Option<Vec<String>> = value
        .as_array()
        .and_then(|a| a.iter().map(|v| v.as_str().map(str::to_string)).collect());
    list.filter(|l| !l.is_empty()).ok_or_else(|| {
        reader.error(
            value.span(),
            format!("{what}: \"{key}\" must be a non-empty array of strings"),
        )
    })
}

impl PriceTable {
    /// The providers whose entries price `provider`'s models: itself, then
    /// its `[priced_as]` providers.
    pub fn pricing_providers<'a>(&'a self, provider: &'a str) -> impl Iterator<Item = &'a str> {
        let others = self
            .priced_as
            .iter()
            .find(|(p, _)| p == provider)
            .map_or(&[][..], |(_, list)| list.as_slice());
        std::iter::once(provider).chain(others.iter().map(String::as_str))
    }

    /// Check every `[[meter]]` entry names a model the table prices.
    pub(super) fn check_bill_names(&self, source: &str) -> Result<()> {
        for n in self
            .bill_names
            .iter()
            .filter(|n| n.layer == self.top_layer())
        {
            let provider = n.cloud.provider();
            let priced = self.entries.iter().any(|e| {
                self.pricing_providers(provider).any(|p| p == e.provider)
                    && e.fit(&n.model).is_some()
            }) || self.canonical_model(provider, &n.model) != n.model;
            if !priced {
                return Err(Error::fatal(format!(
                    "{source}:{}: [[meter]] names model \"{}\", which no {provider} entry prices",
                    n.line, n.model
                )));
            }
        }
        Ok(())
    }

    fn top_layer(&self) -> u8 {
        u8::from(self.base.is_some())
    }

    /// The model a bill's `name` means by its `[[meter]]` entry, the top
    /// layer's first.
    fn named(&self, cloud: Cloud, name: &str) -> Option<&str> {
        let name = normalised(name);
        self.bill_names
            .iter()
            .filter(|n| n.cloud == cloud && n.name == name)
            .max_by_key(|n| n.layer)
            .map(|n| n.model.as_str())
    }
}

impl ModelNames for PriceTable {
    fn resolve(
        &self,
        cloud: Cloud,
        name: &str,
        qualifiers: &[String],
        day: NaiveDate,
    ) -> Option<(String, String)> {
        let provider = cloud.provider();
        let priced = |model: &str| self.find(provider, model, day).is_some();
        // An AWS line that says `global` is of the model's `global.` profile.
        let global = cloud == Cloud::Aws && qualifiers.iter().any(|q| q == "global");
        let profile = |model: String| match format!("global.{model}") {
            p if global && !model.starts_with("global.") && priced(&p) => p,
            _ => model,
        };
        let model = match self.named(cloud, name) {
            Some(model) => profile(model.to_string()),
            None => [
                name.to_string(),
                slug(cloud, name),
                slug_dashed(cloud, name),
                format!("{name}-v1"),
            ]
            .into_iter()
            .map(profile)
            .find(|m| priced(m))?,
        };
        Some((provider.to_string(), model))
    }
}
