//! `[[rule]]`s on usage records' labels: which owner each record no span
//! attributed is given, and the dimensions a span left empty (`(none)`)
//! of the others (with `override`, every dimension it sets). Rules are tried
//! in file order and the first that matches wins; a rule naming a label no
//! record carries is an error, a rule that matches nothing and a rule whose
//! records an earlier rule took are warnings.

use std::collections::{BTreeMap, HashMap};

use crate::dimension::{Dimension, Key};
use crate::error::{Error, Result};
use crate::glob::glob_match;
use crate::hash::FastMap;
use crate::intern::{Interner, Sym};
use crate::posting::Postings;
use crate::read::allocation::{placeholder, Part, Rule};

/// The owner a rule gave: its number and each dimension's value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Owner {
    /// The rule's number (`rule:<n>`).
    pub rule: usize,
    /// The values it set.
    pub values: Vec<(Dimension, String)>,
}

/// Each record's owner by rule, and what the rules did.
#[derive(Debug, Default)]
pub struct Assigned {
    /// Per record: an index into `owners`, or `u32::MAX` for none.
    pub of: Vec<u32>,
    /// The distinct owners the rules gave.
    pub owners: Vec<Owner>,
    /// Per rule: the records it took.
    pub records: Vec<u64>,
    /// Warnings: rules that matched nothing or only what others took.
    pub warnings: Vec<String>,
}

impl Owner {
    /// The value it set in `dimension`, if any.
    pub fn value(&self, dimension: Dimension) -> Option<&String> {
        self.values
            .iter()
            .find(|(d, _)| *d == dimension)
            .map(|(_, v)| v)
    }
}

impl Assigned {
    /// The owner rule assigned record `index`, if any.
    pub fn owner(&self, index: usize) -> Option<&Owner> {
        self.of
            .get(index)
            .filter(|&&o| o != u32::MAX)
            .map(|&o| &self.owners[o as usize])
    }
}

/// The label names the rules use, resolved against the month's records.
struct LabelNames {
    /// Every label name a rule uses, in first-use order.
    names: Vec<String>,
    /// Record label-name symbol → its index in `names` (or none).
    by_sym: FastMap<Sym, Option<usize>>,
}

impl LabelNames {
    fn new(rules: &[Rule]) -> LabelNames {
        let mut names: Vec<String> = Vec::new();
        let used = rules.iter().flat_map(|r| {
            let matched = r.matches.iter().map(|(n, _)| n.clone());
            let templated = r.sets.iter().flat_map(|(_, parts)| {
                parts.iter().filter_map(|p| match p {
                    Part::Label(n) => Some(n.clone()),
                    Part::Text(_) => None,
                })
            });
            matched.chain(templated).collect::<Vec<_>>()
        });
        for name in used {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        LabelNames {
            names,
            by_sym: FastMap::default(),
        }
    }

    fn index(&self, name: &str) -> usize {
        self.names
            .iter()
            .position(|n| n == name)
            .expect("every rule label is listed")
    }

    /// A record's values of the rules' labels.
    fn values(
        &mut self,
        labels: &[(Sym, Sym)],
        interner: &Interner,
        seen: &mut [bool],
    ) -> Vec<Option<Sym>> {
        let mut values = vec![None; self.names.len()];
        for &(name, value) in labels {
            let names = &self.names;
            let at = *self
                .by_sym
                .entry(name)
                .or_insert_with(|| names.iter().position(|n| n == interner.get(name)));
            if let Some(at) = at {
                values[at] = Some(value);
                seen[at] = true;
            }
        }
        values
    }
}

/// Give each record the owner of the first rule that matches it.
pub fn assign(
    rules: &[Rule],
    postings: &Postings,
    interner: &Interner,
    source: &str,
) -> Result<Assigned> {
    let mut names = LabelNames::new(rules);
    let mut seen = vec![false; names.names.len()];
    let mut globs: HashMap<(usize, usize, Sym), bool> = HashMap::new();
    let mut owners: HashMap<Owner, u32> = HashMap::new();
    let mut assigned = Assigned {
        records: vec![0; rules.len()],
        ..Assigned::default()
    };
    // Per rule: the records it matched that an earlier rule took, by the
    // rule that took them.
    let mut shadowed: Vec<BTreeMap<usize, u64>> = vec![BTreeMap::new(); rules.len()];
    for posting in postings.iter() {
        let values = names.values(interner.labels(posting.record.labels), interner, &mut seen);
        let mut owner = None;
        for (i, rule) in rules.iter().enumerate() {
            // A span's value wins (unless the rule overrides it): a rule
            // fills only the dimensions the record's span left empty.
            let spanned = posting.call.is_some() && !rule.overrides;
            let empty = |d: Dimension| posting.key(d) == Key::None;
            if spanned && !rule.sets.iter().any(|(d, _)| empty(*d)) {
                continue;
            }
            let Some(mut found) = matches(rule, i, &values, &names, interner, &mut globs) else {
                continue;
            };
            if spanned {
                found.retain(|(d, _)| empty(*d));
            }
            match owner {
                None => {
                    reserved(rule, &found, source)?;
                    owner = Some((i, found));
                }
                Some((first, _)) => *shadowed[i].entry(first).or_default() += 1,
            }
        }
        let index = match owner {
            None => u32::MAX,
            Some((i, values)) => {
                assigned.records[i] += 1;
                let next = owners.len() as u32;
                *owners
                    .entry(Owner {
                        rule: rules[i].number,
                        values,
                    })
                    .or_insert(next)
            }
        };
        assigned.of.push(index);
    }
    if let Some(at) = seen.iter().position(|s| !s) {
        let name = &names.names[at];
        let rule = rules
            .iter()
            .find(|r| uses(r, name))
            .expect("a rule uses it");
        return Err(Error::fatal(format!(
            "{source}:{}: the [[rule]] names label \"{name}\", which no usage record of the month carries",
            rule.line
        )));
    }
    let mut ordered: Vec<(Owner, u32)> = owners.into_iter().collect();
    ordered.sort_by_key(|(_, i)| *i);
    assigned.owners = ordered.into_iter().map(|(o, _)| o).collect();
    assigned.warnings = warnings(rules, &assigned.records, &shadowed, source);
    Ok(assigned)
}

/// A rule's values for a record, made from its labels, must not be a row
/// name of spend no owner holds.
fn reserved(rule: &Rule, values: &[(Dimension, String)], source: &str) -> Result<()> {
    match values.iter().find_map(|(d, v)| Some((d, placeholder(v)?))) {
        Some((dimension, problem)) => Err(Error::fatal(format!(
            "{source}:{}: rule:{} takes the {} of a usage record from its labels: {problem}; \
             rename the label's value upstream or match it out",
            rule.line,
            rule.number,
            dimension.name()
        ))),
        None => Ok(()),
    }
}

/// Whether `rule` matches a record with `values`: every match, and every
/// label its templates use present. The values it sets, if so.
fn matches(
    rule: &Rule,
    i: usize,
    values: &[Option<Sym>],
    names: &LabelNames,
    interner: &Interner,
    globs: &mut HashMap<(usize, usize, Sym), bool>,
) -> Option<Vec<(Dimension, String)>> {
    for (k, (name, pattern)) in rule.matches.iter().enumerate() {
        let value = values[names.index(name)]?;
        let fits = *globs
            .entry((i, k, value))
            .or_insert_with(|| glob_match(pattern.as_bytes(), interner.get(value).as_bytes()));
        if !fits {
            return None;
        }
    }
    rule.sets
        .iter()
        .map(|(d, parts)| {
            let mut text = String::new();
            for part in parts {
                match part {
                    Part::Text(t) => text.push_str(t),
                    Part::Label(name) => text.push_str(interner.get(values[names.index(name)]?)),
                }
            }
            Some((*d, text.trim().to_string()))
        })
        .collect()
}

fn uses(rule: &Rule, name: &str) -> bool {
    rule.matches.iter().any(|(n, _)| n == name)
        || rule
            .sets
            .iter()
            .any(|(_, parts)| parts.contains(&Part::Label(name.to_string())))
}

/// A rule that took no record: it matched nothing, or only records an
/// earlier rule took; a rule some of whose records an earlier one took
/// overlaps it.
fn warnings(
    rules: &[Rule],
    records: &[u64],
    shadowed: &[BTreeMap<usize, u64>],
    source: &str,
) -> Vec<String> {
    let mut warnings = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let at = format!("{source}:{}", rule.line);
        if records[i] == 0 && shadowed[i].is_empty() {
            warnings.push(format!(
                "{at}: rule:{} matches no usage record of the month",
                rule.number
            ));
        }
        for (&first, overlap) in &shadowed[i] {
            let earlier = &rules[first];
            warnings.push(format!(
                "{at}: rule:{} overlaps rule:{} (line {}): {overlap} record(s) it matches went to the earlier rule",
                rule.number, earlier.number, earlier.line
            ));
        }
    }
    warnings
}
