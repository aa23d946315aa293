//! Allocation rules (`--allocation allocation.toml`): who owns the spend no
//! span saw, and how the bill's lines no usage explains are split.
//!
//! ```toml
//! [[rule]]                                   # usage records no span attributed
//! match = { "label.team_alias" = "search-*" } # every label must match (exact or globs, crate::glob)
//! tenant = "{label.end_user}"                # tenant, feature, agent: text and {label.<name>}
//! feature = "search"
//! # override = true                          # also records a span attributed
//!
//! [[split]]                                  # bill lines no usage record explains
//! match = { description = "Provisioned throughput*" }  # provider, model, charge, description
//! by = "cost"                                # or "requests"
//!
//! [[split]]
//! match = { provider = "openai", description = "Platform fee*" }
//! dimension = "tenant"                       # fixed shares over one dimension
//! shares = { "acme" = 60, "globex" = 40 }
//! ```

use std::path::Path;

use rust_decimal::Decimal;
use toml_edit::{Item, Table, Value};

use crate::dimension::{Dimension, PLACEHOLDERS};
use crate::error::{Error, Result};
use crate::glob::is_glob;
use crate::read::invoice::Charge;
use crate::read::toml::{self, Number, TomlReader};

/// The dimensions a rule may set: those spans give, but the tool (a rule
/// owns a whole request, never one tool call of it).
pub const RULE_DIMENSIONS: [Dimension; 3] =
    [Dimension::Tenant, Dimension::Feature, Dimension::Agent];

/// A label named in a rule: `label.<name>`.
pub const LABEL: &str = "label.";

/// One part of a template: text, or a label's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    /// Literal text.
    Text(String),
    /// The value of the named label.
    Label(String),
}

/// One `[[rule]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Its place in the file, from 1: `rule:<n>`.
    pub number: usize,
    /// Its line in the file.
    pub line: usize,
    /// (label name, exact value or glob (`*`, `[0-9]`)): all must match.
    pub matches: Vec<(String, String)>,
    /// The dimensions it sets, each from a template.
    pub sets: Vec<(Dimension, Vec<Part>)>,
    /// Whether it applies to records a span attributed too.
    pub overrides: bool,
}

/// How a split spreads its lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SplitBy {
    /// Each value's share of the cost owned so far, in every dimension.
    Cost,
    /// Each value's share of the requests owned so far, in every dimension.
    Requests,
    /// Fixed shares over one dimension (the others: unallocated).
    Shares(Dimension, Vec<(String, Decimal)>),
}

/// One `[[split]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split {
    /// Its place in the file, from 1: `split:<n>`.
    pub number: usize,
    /// Its line in the file.
    pub line: usize,
    /// (field, exact value or glob (`*`, `[0-9]`)) over `provider`, `model`, `charge`
    /// and `description`: all must match.
    pub matches: Vec<(String, String)>,
    /// How it spreads.
    pub by: SplitBy,
}

/// An allocation file.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct AllocationFile {
    /// Rules, in file order: the first that matches a record wins.
    pub rules: Vec<Rule>,
    /// Splits, in file order: the first that matches a line wins.
    pub splits: Vec<Split>,
}

/// The fields a split matches on.
pub const SPLIT_FIELDS: [&str; 4] = ["provider", "model", "charge", "description"];

impl AllocationFile {
    /// Read and check an allocation file.
    pub fn load(path: &Path) -> Result<AllocationFile> {
        let text = crate::read::read_text(path)?;
        AllocationFile::parse(&text, &path.display().to_string())
    }

    /// Parse allocation TOML; `source` names it in messages.
    pub fn parse(text: &str, source: &str) -> Result<AllocationFile> {
        let doc = toml::parse(text, source)?;
        let reader = TomlReader::new(text, source);
        let root: &Table = &doc;
        reader.only_keys(root, &["rule", "split"], "the top level")?;
        let entries = |key: &str| -> Result<Vec<&Table>> {
            match root.get(key) {
                None => Ok(Vec::new()),
                Some(item) => item
                    .as_array_of_tables()
                    .map(|a| a.iter().collect())
                    .ok_or_else(|| {
                        reader.error(item.span(), format!("{key} must be [[{key}]] entries"))
                    }),
            }
        };
        let rules = entries("rule")?
            .into_iter()
            .enumerate()
            .map(|(i, t)| rule(&reader, t, i + 1))
            .collect::<Result<Vec<_>>>()?;
        let splits = entries("split")?
            .into_iter()
            .enumerate()
            .map(|(i, t)| split(&reader, t, i + 1))
            .collect::<Result<Vec<_>>>()?;
        if rules.is_empty() && splits.is_empty() {
            return Err(Error::fatal(format!(
                "{source}: no [[rule]] or [[split]] entries"
            )));
        }
        Ok(AllocationFile { rules, splits })
    }
}

fn rule(reader: &TomlReader, table: &Table, number: usize) -> Result<Rule> {
    let line = table.span().map_or(0, |s| reader.line(s.start));
    let what = format!("the [[rule]] at line {line}");
    reader.only_keys(
        table,
        &["match", "tenant", "feature", "agent", "override"],
        &what,
    )?;
    let matches = match_table(reader, table, &what)?;
    if let Some((key, _)) = matches.iter().find(|(k, _)| !k.starts_with(LABEL)) {
        return Err(reader.error(
            table.span(),
            format!("{what}: match key \"{key}\" is not a label: name labels as \"label.<name>\""),
        ));
    }
    let matches = matches
        .into_iter()
        .map(|(k, v)| (k[LABEL.len()..].to_string(), v))
        .collect();
    let mut sets = Vec::new();
    for d in RULE_DIMENSIONS {
        if table.contains_key(d.name()) {
            let text = reader.string(table, d.name(), &what)?;
            let parts = template(text)
                .and_then(|parts| match placeholder(text) {
                    Some(m) => Err(m),
                    None => Ok(parts),
                })
                .map_err(|m| {
                    reader.error(
                        table.get(d.name()).and_then(Item::span),
                        format!("{what}: {m}"),
                    )
                })?;
            sets.push((d, parts));
        }
    }
    if sets.is_empty() {
        return Err(reader.error(
            table.span(),
            format!("{what} sets no tenant, feature or agent"),
        ));
    }
    let overrides = match table.get("override") {
        None => false,
        Some(item) => item.as_bool().ok_or_else(|| {
            reader.error(item.span(), "\"override\" must be true or false".into())
        })?,
    };
    Ok(Rule {
        number,
        line,
        matches,
        sets,
        overrides,
    })
}

fn split(reader: &TomlReader, table: &Table, number: usize) -> Result<Split> {
    let line = table.span().map_or(0, |s| reader.line(s.start));
    let what = format!("the [[split]] at line {line}");
    reader.only_keys(table, &["match", "by", "dimension", "shares"], &what)?;
    let matches = match_table(reader, table, &what)?;
    if let Some((key, _)) = matches
        .iter()
        .find(|(k, _)| !SPLIT_FIELDS.contains(&k.as_str()))
    {
        return Err(reader.error(
            table.span(),
            format!(
                "{what}: match key \"{key}\" is not one of {}",
                SPLIT_FIELDS.join(", ")
            ),
        ));
    }
    if let Some((_, name)) = matches
        .iter()
        .find(|(k, v)| k == "charge" && !is_glob(v) && !Charge::ALL.iter().any(|c| c.name() == v))
    {
        let names: Vec<&str> = Charge::ALL.iter().map(|c| c.name()).collect();
        return Err(reader.error(
            table.span(),
            format!(
                "{what}: charge \"{name}\" is not one of {}",
                names.join(", ")
            ),
        ));
    }
    if table.contains_key("by") && table.contains_key("dimension") {
        return Err(reader.error(
            table.get("dimension").and_then(Item::span),
            format!("{what}: dimension goes with shares; by = \"cost\" or \"requests\" splits in every dimension"),
        ));
    }
    let by = match (table.get("by"), table.get("shares")) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(reader.error(
                table.span(),
                format!(
                    "{what}: give either by = \"cost\" | \"requests\", or dimension and shares"
                ),
            ))
        }
        (Some(_), None) => match reader.string(table, "by", &what)? {
            "cost" => SplitBy::Cost,
            "requests" => SplitBy::Requests,
            other => {
                return Err(reader.error(
                    table.get("by").and_then(Item::span),
                    format!("{what}: by \"{other}\" is not cost or requests"),
                ))
            }
        },
        (None, Some(_)) => shares(reader, table, &what)?,
    };
    Ok(Split {
        number,
        line,
        matches,
        by,
    })
}

/// A split's fixed shares over its dimension.
fn shares(reader: &TomlReader, table: &Table, what: &str) -> Result<SplitBy> {
    let name = reader.string(table, "dimension", what)?;
    let dimension = Dimension::parse(name).ok_or_else(|| {
        reader.error(
            table.get("dimension").and_then(Item::span),
            format!(
                "{what}: dimension \"{name}\" is not one of {}",
                Dimension::names()
            ),
        )
    })?;
    let item = table.get("shares").expect("checked by the caller");
    let shares = item
        .as_inline_table()
        .map(|t| t.clone().into_table())
        .or_else(|| item.as_table().cloned())
        .ok_or_else(|| {
            reader.error(
                item.span(),
                format!("{what}: shares must be a table of value = share"),
            )
        })?;
    let share = Number {
        unit: "a share",
        noun: "shares",
        max: Decimal::from(1_000_000_000u64),
        too_large: "a share is a weight; keep them below a billion",
        min: Decimal::new(1, 6),
        too_small: "a share below 0.000001 is no share; leave the value out",
    };
    let mut list: Vec<(String, Decimal)> = Vec::new();
    for (value, _) in shares.iter() {
        let weight = reader.decimal(&shares, value, what, &share)?;
        let problem = if weight.is_zero() {
            Some(format!("the share of \"{value}\" is 0; leave it out"))
        } else if list.iter().any(|(v, _)| v == value.trim()) {
            Some(format!(
                "\"{value}\" is \"{}\" twice (names are read trimmed)",
                value.trim()
            ))
        } else {
            placeholder(value)
        };
        if let Some(problem) = problem {
            return Err(reader.error(item.span(), format!("{what}: {problem}")));
        }
        list.push((value.trim().to_string(), weight));
    }
    if list.is_empty() {
        return Err(reader.error(item.span(), format!("{what}: shares is empty")));
    }
    Ok(SplitBy::Shares(dimension, list))
}

/// A `match` table: (key, pattern) in file order; at least one.
fn match_table(reader: &TomlReader, table: &Table, what: &str) -> Result<Vec<(String, String)>> {
    let value = reader.value(table, "match", what)?;
    let Value::InlineTable(inline) = value else {
        return Err(reader.error(
            value.span(),
            format!("{what}: match must be a table like {{ \"label.team\" = \"search-*\" }}"),
        ));
    };
    let mut pairs = Vec::new();
    for (key, v) in inline.iter() {
        let pattern = v.as_str().ok_or_else(|| {
            reader.error(
                v.span(),
                format!("{what}: the match for \"{key}\" must be a string"),
            )
        })?;
        if let Some(why) = crate::glob::problem(pattern) {
            return Err(reader.error(v.span(), format!("{what}: the match for \"{key}\": {why}")));
        }
        // Trimmed, as the values it matches are read.
        pairs.push((key.to_string(), pattern.trim().to_string()));
    }
    if pairs.is_empty() {
        return Err(reader.error(value.span(), format!("{what}: match is empty")));
    }
    Ok(pairs)
}

/// A template's parts: text and `{label.<name>}` placeholders.
fn template(text: &str) -> std::result::Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            parts.push(Part::Text(rest[..open].to_string()));
        }
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| format!("\"{text}\" has a {{ without its }}"))?;
        let name = &rest[open + 1..open + close];
        let label = name
            .strip_prefix(LABEL)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                format!("\"{{{name}}}\" in \"{text}\" is not a label: write {{label.<name>}}")
            })?;
        parts.push(Part::Label(label.to_string()));
        rest = &rest[open + close + 1..];
    }
    if rest.contains('}') {
        return Err(format!("\"{text}\" has a }} without its {{"));
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest.to_string()));
    }
    if parts.is_empty() {
        return Err("an empty value sets nothing".into());
    }
    Ok(parts)
}

/// Why `name` (a rule's value or a split's owner, read trimmed) cannot
/// name an owner: it is blank, or a row label of spend no owner holds.
pub fn placeholder(name: &str) -> Option<String> {
    if name.trim().is_empty() {
        return Some(format!("\"{name}\" is blank: no name for an owner"));
    }
    PLACEHOLDERS.contains(&name.trim()).then(|| {
        format!(
            "{} names spend no owner holds in tokenledger's reports: a rule or split cannot give it",
            name.trim()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_mix_text_and_labels() {
        assert_eq!(
            template("team-{label.team_alias}").unwrap(),
            vec![Part::Text("team-".into()), Part::Label("team_alias".into())]
        );
        assert!(template("{team}").unwrap_err().contains("not a label"));
        assert!(template("{label.x").unwrap_err().contains("without its }"));
    }

    #[test]
    fn rules_and_splits_read_with_their_lines() {
        let file = AllocationFile::parse(
            "[[rule]]\nmatch = { \"label.team\" = \"search-*\" }\ntenant = \"{label.user}\"\n\n\
             [[split]]\nmatch = { description = \"Provisioned*\" }\nby = \"cost\"\n\n\
             [[split]]\nmatch = { provider = \"openai\" }\ndimension = \"tenant\"\nshares = { acme = 60, globex = 40 }\n",
            "a.toml",
        )
        .unwrap();
        assert_eq!(file.rules[0].line, 1);
        assert_eq!(
            file.rules[0].matches,
            vec![("team".to_string(), "search-*".to_string())]
        );
        assert_eq!(file.splits[1].line, 9);
        assert_eq!(
            file.splits[1].by,
            SplitBy::Shares(
                Dimension::Tenant,
                vec![
                    ("acme".into(), Decimal::from(60)),
                    ("globex".into(), Decimal::from(40))
                ]
            )
        );
        let bad = AllocationFile::parse(
            "[[rule]]\nmatch = { team = \"x\" }\ntenant = \"a\"\n",
            "a.toml",
        );
        assert!(bad
            .unwrap_err()
            .to_string()
            .contains("a.toml:1: the [[rule]] at line 1: match key \"team\" is not a label"));
    }

    #[test]
    fn a_split_or_rule_that_would_be_silently_ignored_is_refused() {
        let refused = |text: &str, message: &str| {
            let error = AllocationFile::parse(text, "a.toml")
                .unwrap_err()
                .to_string();
            assert!(error.contains(message), "{error}");
        };
        refused(
            "[[split]]\nmatch = { charge = \"credits\" }\nby = \"cost\"\n",
            "a.toml:1: the [[split]] at line 1: charge \"credits\" is not one of usage, credit, tax",
        );
        refused(
            "[[split]]\nmatch = { charge = \"credit\" }\nby = \"cost\"\ndimension = \"tenant\"\n",
            "a.toml:4: the [[split]] at line 1: dimension goes with shares",
        );
        refused(
            "[[rule]]\nmatch = { \"label.team\" = \"x\" }\ntenant = \"(unattributed)\"\n",
            "a.toml:3: the [[rule]] at line 1: (unattributed) names spend no owner holds",
        );
        refused(
            "[[rule]]\nmatch = { \"label.team\" = \"x\" }\nfeature = \" (none) \"\n",
            "a.toml:3: the [[rule]] at line 1: (none) names spend no owner holds",
        );
        refused(
            "[[split]]\nmatch = { charge = \"tax\" }\ndimension = \"tenant\"\nshares = { acme = 1, \"(unallocated)\" = 1 }\n",
            "(unallocated) names spend no owner holds",
        );
        refused(
            "[[rule]]\nmatch = { \"label.team\" = \"x\" }\ntenant = \" \"\n",
            "a.toml:3: the [[rule]] at line 1: \" \" is blank: no name for an owner",
        );
        refused(
            "[[split]]\nmatch = { charge = \"tax\" }\ndimension = \"tenant\"\nshares = { acme = 1, \"acme \" = 1 }\n",
            "\"acme \" is \"acme\" twice (names are read trimmed)",
        );
        let globbed = "[[split]]\nmatch = { charge = \"cre*\" }\nby = \"cost\"\n";
        assert!(AllocationFile::parse(globbed, "a.toml").is_ok());
    }
}
