//! `[[split]]`s: the bill's lines no usage record explains (provisioned
//! throughput, platform fees, credits, tax), matched by provider, model,
//! charge and description, declared in the reconciliation (status `split`)
//! and spread over each dimension's owners exactly.

use std::collections::BTreeMap;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::dimension::{Dimension, PerDimension};

use crate::glob::glob_match;
use crate::hash::FastMap;
use crate::intern::Sym;
use crate::money::SHARE_PLACES;
use crate::posting::Postings;
use crate::price::PriceTable;
use crate::read::allocation::Split;
use crate::read::invoice::meters::Cloud;
use crate::read::invoice::Meter;
use crate::reconcile::Names;
use crate::reconcile::{Reconciliation, Status};

/// A bill line a split spreads.
#[derive(Clone, Debug, PartialEq)]
pub struct SplitLine {
    /// The split's index in the file.
    pub split: usize,
    /// The line's amount.
    pub amount: Decimal,
    /// The bill line's provider (a cloud's name for its credits and tax).
    pub provider: String,
    /// The model the line is of, where it names one (a model's provisioned
    /// throughput, a credit on a model's row), as the table names it.
    pub model: Option<String>,
}

/// A bill line's fields, as splits match them.
struct Fields<'a> {
    provider: &'a str,
    model: Option<&'a str>,
    charge: &'a str,
    description: &'a str,
}

impl Fields<'_> {
    fn get(&self, field: &str) -> Option<&str> {
        match field {
            "provider" => Some(self.provider),
            "model" => self.model,
            "charge" => Some(self.charge),
            _ => Some(self.description),
        }
    }

    /// The other name a field's value goes by: a cloud bill's credits, tax
    /// and other services carry the cloud's name (`gcp`), its model usage
    /// and fixed charges the provider's (`google`); a split may name either,
    /// whichever the line carries. A model under a Bedrock cross-region
    /// profile (`global.anthropic.…`) goes by its in-region name too.
    fn alias(&self, field: &str) -> Option<&str> {
        match field {
            "provider" => {
                let of_provider = (Cloud::ALL.into_iter())
                    .find(|c| c.provider().eq_ignore_ascii_case(self.provider));
                match Cloud::parse(self.provider) {
                    Some(cloud) => Some(cloud.provider()),
                    None => of_provider.map(Cloud::name),
                }
            }
            "model" => {
                let provider = Cloud::usage_provider(self.provider);
                crate::price::in_region_name(provider, self.model?)
            }
            _ => None,
        }
    }

    /// The first split every match of which fits.
    fn split(&self, splits: &[Split]) -> Option<usize> {
        let fits = |pattern: &str, v: &str| glob_match(pattern.as_bytes(), v.as_bytes());
        splits.iter().position(|s| {
            s.matches.iter().all(|(field, pattern)| {
                self.get(field).is_some_and(|v| fits(pattern, v))
                    || self.alias(field).is_some_and(|v| fits(pattern, v))
            })
        })
    }
}

/// Match the bill's unexplained lines to the splits, declare them in the
/// reconciliation, and return them with a warning for each split that
/// matched nothing.
pub fn declare(
    splits: &[Split],
    rec: &mut Reconciliation,
    source: &str,
) -> (Vec<SplitLine>, Vec<String>) {
    let mut found = Vec::new();
    let (mut usage, mut other) = (Vec::new(), Vec::new());
    for (i, line) in rec.lines.iter().enumerate() {
        if line.status != Status::MissingInUsage || rec.made_up(&line.key) {
            continue;
        }
        // A line not charged per token is matched by its description, and
        // by its model where it names one (a model's provisioned
        // throughput: the key holds the model, not the description).
        let description = line.description.as_deref();
        let names_model =
            line.key.meter != Meter::Other || description.is_some_and(|d| d != line.key.model);
        let fields = Fields {
            provider: &line.key.provider,
            model: names_model.then_some(line.key.model.as_str()),
            charge: "usage",
            description: description.unwrap_or(match line.key.meter {
                Meter::Other => &line.key.model,
                _ => "",
            }),
        };
        if let Some(s) = fields.split(splits) {
            usage.push((i, splits[s].number));
            let of_model = names_model && line.key.model != crate::read::invoice::ALL_USAGE;
            found.push(SplitLine {
                split: s,
                amount: line.invoiced,
                provider: line.key.provider.clone(),
                model: of_model.then(|| line.key.model.clone()),
            });
        }
    }
    for (i, line) in rec.other.iter().enumerate() {
        let fields = Fields {
            provider: &line.provider,
            model: line.model.as_deref(),
            charge: line.charge.name(),
            description: &line.label,
        };
        if let Some(s) = fields.split(splits) {
            other.push((i, splits[s].number));
            found.push(SplitLine {
                split: s,
                amount: line.amount,
                provider: line.provider.clone(),
                model: line.model.clone(),
            });
        }
    }
    rec.split(&usage, &other);
    let warnings = splits
        .iter()
        .enumerate()
        .filter(|(s, _)| !found.iter().any(|l| l.split == *s))
        .map(|(_, split)| {
            format!(
                "{source}:{}: split:{} matches no line of the bill",
                split.line, split.number
            )
        })
        .collect();
    (found, warnings)
}

/// Per provider, per model, an owner's cost and record count.
type ByModel = BTreeMap<String, BTreeMap<String, [Decimal; 2]>>;

/// The usage a split line's weights are taken from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Over {
    /// Its model's, of its provider.
    Model,
    /// Its provider's (a line naming no model, or a model no usage is of).
    Provider,
    /// Every provider's (a provider with no usage in the month).
    All,
}

/// What a split by cost or requests spreads by: each dimension's owners'
/// cost and records (as spans and rules owned them), per usage provider
/// and model.
pub struct Weights {
    /// Per dimension, per owner (`None`: the usage a span left `(none)`
    /// there, whose share of a line stays `(unallocated)`), per (provider,
    /// model).
    owned: PerDimension<BTreeMap<Option<String>, ByModel>>,
    /// Every usage provider and model of the month, owned or not.
    usage: BTreeMap<String, std::collections::BTreeSet<String>>,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            owned: PerDimension::from_fn(|_| BTreeMap::new()),
            usage: BTreeMap::new(),
        }
    }
}

/// `map`'s value at `key`, inserted (its key copied) the first time.
fn entry<'m, V: Default>(map: &'m mut BTreeMap<String, V>, key: &str) -> &'m mut V {
    if !map.contains_key(key) {
        map.insert(key.to_string(), V::default());
    }
    map.get_mut(key).expect("inserted above")
}

impl Weights {
    /// The month has usage of `model` (as the table names it) of
    /// `provider`.
    pub fn saw(&mut self, provider: &str, model: &str) {
        let models = entry(&mut self.usage, provider);
        if !models.contains(model) {
            models.insert(model.to_string());
        }
    }

    /// `label` owns `amount` of a record of `provider`'s `model` in
    /// `dimension` (the names copied only the first time the owner meets
    /// them); `None` for a record whose span left `dimension` empty.
    pub fn add(
        &mut self,
        dimension: Dimension,
        label: Option<String>,
        (provider, model): (&str, &str),
        amount: Decimal,
    ) {
        let owner = self.owned[dimension].entry(label).or_default();
        let weights = entry(entry(owner, provider), model);
        weights[0] += amount;
        weights[1] += Decimal::ONE;
    }

    /// The owners' weights in `dimension` for a line of `provider` (and
    /// `model`, where it names one): their cost (`by_requests` false) or
    /// records of that model's usage of that provider, where the month has
    /// some; else of the provider's usage (a cloud's model usage for its
    /// credits and tax: `aws` is `aws.bedrock`'s); else, for a provider
    /// with no usage in the month (a platform fee), of every provider's.
    /// None where that usage has no owner in `dimension`, so the line stays
    /// `(unallocated)` there, as its usage does.
    pub fn of(
        &self,
        dimension: Dimension,
        (provider, model): (&str, Option<&str>),
        by_requests: bool,
    ) -> (Vec<(Option<String>, Decimal)>, Over) {
        let cloud = Cloud::parse(provider).map(Cloud::provider);
        let its = |q: &str| q.eq_ignore_ascii_case(provider) || cloud == Some(q);
        let of_model = |(q, m): (&str, &str)| its(q) && Some(m) == model;
        let usage = || (self.usage.iter()).flat_map(|(q, ms)| ms.iter().map(move |m| (q, m)));
        let over = match () {
            _ if usage().any(|(q, m)| of_model((q, m))) => Over::Model,
            _ if self.usage.keys().any(|q| its(q)) => Over::Provider,
            _ => Over::All,
        };
        let keep = |key: (&str, &str)| match over {
            Over::Model => of_model(key),
            Over::Provider => its(key.0),
            Over::All => true,
        };
        (self.sum(dimension, by_requests, &keep), over)
    }

    /// Each owner with usage `keep` keeps, and its weight.
    fn sum(
        &self,
        dimension: Dimension,
        by_requests: bool,
        keep: &dyn Fn((&str, &str)) -> bool,
    ) -> Vec<(Option<String>, Decimal)> {
        let at = usize::from(by_requests);
        let weight = |per: &ByModel| {
            let all = per
                .iter()
                .flat_map(|(q, ms)| ms.iter().map(move |(m, w)| (q, m, w)));
            let kept = all.filter(|(q, m, _)| keep((q, m)));
            kept.map(|(_, _, w)| w[at]).reduce(|a, b| a + b)
        };
        (self.owned[dimension].iter())
            .filter_map(|(label, per)| Some((label.clone(), weight(per)?)))
            .collect()
    }
}

/// Each record's (provider, model) as a split line of a model meets it:
/// the in-region model, by the table's name
/// ([`crate::price::PriceTable::in_region_model`]), once per pair.
pub fn in_region_models(postings: &Postings, names: &Names) -> FastMap<(Sym, Sym), String> {
    let mut models = FastMap::default();
    for p in postings.iter() {
        let (provider, model) = (p.record.provider, p.record.model);
        models.entry((provider, model)).or_insert_with(|| {
            let canonical = names.model(provider, model);
            let in_region = names
                .table()
                .in_region_model(names.provider(provider), canonical);
            in_region.to_string()
        });
    }
    models
}

impl SplitLine {
    /// The model the line is of, as [`in_region_models`] names the usage's
    /// (a credit on a `global.` row is of its model's usage under every
    /// profile).
    pub fn in_region_model<'l>(&'l self, table: &'l PriceTable) -> Option<&'l str> {
        let provider = Cloud::usage_provider(&self.provider);
        Some(table.in_region_model(provider, self.model.as_deref()?))
    }
}

/// `amount` spread over `weights` in proportion, exactly: every part but
/// the last is its fraction cut (towards zero) to [`SHARE_PLACES`], the
/// last the rest (never short of its own fraction), so the parts sum to
/// `amount`, and an owner's sum of parts stays exact.
/// Nothing when the weights sum to zero.
pub fn spread<L: Clone>(amount: Decimal, weights: &[(L, Decimal)]) -> Vec<(L, Decimal)> {
    let total: Decimal = weights.iter().map(|(_, w)| *w).sum();
    if total.is_zero() {
        return Vec::new();
    }
    let mut given = Decimal::ZERO;
    let last = weights.len() - 1;
    weights
        .iter()
        .enumerate()
        .map(|(i, (label, w))| {
            let part = if i == last {
                amount - given
            } else {
                (amount * *w / total).round_dp_with_strategy(SHARE_PLACES, RoundingStrategy::ToZero)
            };
            given += part;
            (label.clone(), part)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_parts_sum_to_the_line() {
        let weights: Vec<(String, Decimal)> = [("a", 1), ("b", 1), ("c", 1)]
            .map(|(l, w)| (l.to_string(), Decimal::from(w)))
            .to_vec();
        let parts = spread(Decimal::from(100), &weights);
        assert_eq!(
            parts.iter().map(|(_, p)| *p).sum::<Decimal>(),
            Decimal::from(100)
        );
        assert_eq!(parts[0].1.to_string(), "33.333333333333333333");
        assert_eq!(parts[2].1.to_string(), "33.333333333333333334");
        // A zero weight last gets dust at most, never a negative part.
        let tiny = spread(
            Decimal::new(3, 18),
            &[
                ("a", Decimal::ONE),
                ("b", Decimal::ONE),
                ("c", Decimal::ZERO),
            ],
        );
        assert!(tiny.iter().all(|(_, p)| *p >= Decimal::ZERO), "{tiny:?}");
        assert!(spread(Decimal::ONE, &[("a", Decimal::ZERO)]).is_empty());
    }

    /// Owners' sums of parts of several lines add up to the lines exactly:
    /// 28-digit parts lost digits in such sums, leaving `(unallocated)`
    /// a residue of 3e-26 beside fully allocated lines.
    #[test]
    fn owners_sums_of_parts_stay_exact() {
        let owners = |n: usize| {
            (0..n)
                .map(|i| (format!("t{i}"), Decimal::ONE))
                .collect::<Vec<_>>()
        };
        let lines = [
            (Decimal::from(100), 3),
            (Decimal::new(1, 2), 7),
            (Decimal::new(-333, 2), 7),
        ];
        let mut sums = [Decimal::ONE; 7];
        for (amount, n) in lines {
            for (i, (_, part)) in spread(amount, &owners(n)).into_iter().enumerate() {
                sums[i] += part;
            }
        }
        let total: Decimal = sums.iter().sum();
        assert_eq!(total, Decimal::new(10368, 2));
    }

    #[test]
    fn a_cloud_line_is_matched_by_its_cloud_or_its_provider_name() {
        let split = |provider: &str| Split {
            number: 1,
            line: 1,
            matches: vec![("provider".into(), provider.into())],
            by: crate::read::allocation::SplitBy::Cost,
        };
        let credit = |provider| Fields {
            provider,
            model: None,
            charge: "credit",
            description: "Free tier",
        };
        for name in ["gcp", "google", "goo*"] {
            assert_eq!(credit("gcp").split(&[split(name)]), Some(0), "{name}");
        }
        assert_eq!(credit("gcp").split(&[split("aws.bedrock")]), None);
        assert_eq!(credit("openai").split(&[split("google")]), None);
        // A credit on a global profile's row meets its in-region model.
        let global = Fields {
            model: Some("global.anthropic.claude-x-v1"),
            ..credit("aws")
        };
        let by_model = |pattern: &str| Split {
            matches: vec![("model".into(), pattern.into())],
            ..split("aws")
        };
        for pattern in ["anthropic.claude-x*", "global.anthropic.claude-x*"] {
            assert_eq!(global.split(&[by_model(pattern)]), Some(0), "{pattern}");
        }
    }

    #[test]
    fn a_line_of_a_provider_spelled_in_capitals_spreads_over_its_usage() {
        let mut weights = Weights::default();
        for (provider, tenant) in [("aws.bedrock", "acme"), ("openai", "hooli")] {
            weights.saw(provider, "m");
            let usage = (provider, "m");
            weights.add(Dimension::Tenant, Some(tenant.into()), usage, Decimal::ONE);
        }
        let acme = vec![(Some("acme".to_string()), Decimal::ONE)];
        for provider in ["aws", "AWS", "Aws.Bedrock"] {
            let of = weights.of(Dimension::Tenant, (provider, None), false);
            assert_eq!(of, (acme.clone(), Over::Provider));
        }
        let hooli = vec![(Some("hooli".to_string()), Decimal::ONE)];
        let of = weights.of(Dimension::Tenant, ("OpenAI", None), true);
        assert_eq!(of, (hooli, Over::Provider));
    }

    /// A line of one model (provisioned throughput for Sonnet) spreads over
    /// that model's owners, not the provider's other models'; a model no
    /// usage is of falls back to its provider's usage, an unknown provider
    /// to every provider's.
    #[test]
    fn a_line_of_a_model_spreads_over_that_models_usage() {
        let mut weights = Weights::default();
        let usage = [
            ("aws.bedrock", "sonnet", "acme", 3),
            ("aws.bedrock", "haiku", "hooli", 1),
            ("openai", "gpt", "initech", 2),
        ];
        for (provider, model, tenant, cost) in usage {
            weights.saw(provider, model);
            let amount = Decimal::from(cost);
            weights.add(
                Dimension::Tenant,
                Some(tenant.into()),
                (provider, model),
                amount,
            );
        }
        let tenants = |of: (Vec<(Option<String>, Decimal)>, Over)| {
            let names = of.0.into_iter().map(|(l, w)| format!("{}={w}", l.unwrap()));
            (names.collect::<Vec<_>>().join(" "), of.1)
        };
        let of = |line| tenants(weights.of(Dimension::Tenant, line, false));
        assert_eq!(of(("aws", Some("sonnet"))), ("acme=3".into(), Over::Model));
        let provider = ("acme=3 hooli=1".into(), Over::Provider);
        assert_eq!(of(("aws.bedrock", Some("opus"))), provider);
        assert_eq!(of(("aws.bedrock", None)), provider);
        let all = ("acme=3 hooli=1 initech=2".into(), Over::All);
        assert_eq!(of(("mistral", Some("sonnet"))), all);
    }
}
