//! Coverage: the per-request usage against the provider's own usage report,
//! per (provider, model, UTC day, token type). A gateway log that misses
//! traffic which bypassed it shows as coverage below 100 %.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};

use crate::model::{TokenType, UsageRecord};
use crate::price::PriceTable;
use crate::read::provider_usage::ProviderUsage;
use crate::reconcile::Names;

/// The model label of report rows not grouped by model.
pub const ALL_MODELS: &str = "(all models)";

/// The token type `provider`'s tokens of type `t` are compared under.
/// OpenAI's cache writes are input: its usage report counts them
/// (`input_cache_write_tokens`), a per-request source mostly cannot (chat
/// completions' usage has no such count, so they are in its uncached
/// input), so both sides' writes and uncached input are compared as one.
fn compared_as(provider: &str, t: TokenType) -> TokenType {
    match t {
        TokenType::CacheWrite5m | TokenType::CacheWrite1h if provider == "openai" => {
            TokenType::Input
        }
        t => t,
    }
}

/// One compared (provider, model, day, token type).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoverageRow {
    /// Provider.
    pub provider: String,
    /// Canonical model name, or [`ALL_MODELS`].
    pub model: String,
    /// UTC day.
    pub day: NaiveDate,
    /// Token type.
    pub token_type: TokenType,
    /// Tokens in the per-request usage.
    pub per_request: u128,
    /// Tokens in the provider's report.
    pub provider_tokens: u128,
}

impl CoverageRow {
    /// Per-request tokens as a percentage of the provider's, rounded down
    /// to 2 places, so a row never shows more coverage than it has (89.999
    /// is 89.99, below a 90 % gate); `None` when the provider reports none.
    pub fn pct(&self) -> Option<Decimal> {
        let pct = self.exact_pct()?;
        Some(pct.round_dp_with_strategy(2, RoundingStrategy::ToNegativeInfinity))
    }

    /// The same percentage, unrounded (28 significant digits): what
    /// `--min-coverage` is compared with.
    fn exact_pct(&self) -> Option<Decimal> {
        let per_request = Decimal::from(self.per_request);
        let pct = per_request.checked_mul(Decimal::ONE_HUNDRED)?;
        pct.checked_div(Decimal::from(self.provider_tokens))
    }
}

/// Every compared row, sorted by provider, model, day and token type.
#[derive(Clone, Debug, Default)]
pub struct Coverage {
    /// The rows.
    pub rows: Vec<CoverageRow>,
}

impl Coverage {
    /// The lowest coverage over rows the provider reports tokens for.
    pub fn lowest(&self) -> Option<Decimal> {
        self.rows.iter().filter_map(CoverageRow::pct).min()
    }

    /// Rows below `min` percent.
    pub fn below(&self, min: Decimal) -> usize {
        self.rows
            .iter()
            .filter(|r| r.exact_pct().is_some_and(|p| p < min))
            .count()
    }
}

/// Compare `records` with the provider `reports`. Only the providers that
/// reports cover are compared.
pub fn coverage(
    records: &[UsageRecord],
    names: &Names,
    table: &PriceTable,
    reports: &[ProviderUsage],
) -> Coverage {
    type Key = (String, String, NaiveDate, TokenType);
    let mut sides: BTreeMap<Key, (u128, u128)> = BTreeMap::new();
    let providers: std::collections::BTreeSet<&str> = reports.iter().map(|r| r.provider).collect();
    // Days a provider reported without a model split: compare all models.
    let unsplit: std::collections::BTreeSet<(&str, NaiveDate)> = reports
        .iter()
        .filter(|r| r.model.is_none())
        .map(|r| (r.provider, r.day))
        .collect();
    for report in reports {
        // A day reported without a model split is compared whole, its
        // split rows (another organisation's report) in it.
        let model = match report.model.as_deref() {
            Some(_) if unsplit.contains(&(report.provider, report.day)) => ALL_MODELS,
            Some(m) => table.canonical_model(report.provider, m),
            None => ALL_MODELS,
        };
        for t in TokenType::ALL {
            let key = (
                report.provider.to_string(),
                model.to_string(),
                report.day,
                compared_as(report.provider, t),
            );
            sides.entry(key).or_default().1 += u128::from(report.tokens[t.index()]);
        }
    }
    for r in records {
        let provider = names.provider(r.provider);
        if !providers.contains(provider) {
            continue;
        }
        let day = r.timestamp.date_naive();
        let model = if unsplit.contains(&(provider, day)) {
            ALL_MODELS
        } else {
            names.model(r.provider, r.model)
        };
        for t in TokenType::ALL {
            let key = (
                provider.to_string(),
                model.to_string(),
                day,
                compared_as(provider, t),
            );
            sides.entry(key).or_default().0 += u128::from(r.tokens.get(t));
        }
    }
    let rows = sides
        .into_iter()
        .filter(|(_, (per_request, provider))| *per_request > 0 || *provider > 0)
        .map(
            |((provider, model, day, token_type), (per_request, provider_tokens))| CoverageRow {
                provider,
                model,
                day,
                token_type,
                per_request,
                provider_tokens,
            },
        )
        .collect();
    Coverage { rows }
}

/// The coverage part of `summary.json`.
#[derive(Debug, serde::Serialize)]
pub struct CoverageJson {
    /// Rows compared.
    pub rows: usize,
    /// The lowest coverage percentage (over rows the provider reports).
    pub lowest_pct: Option<String>,
    /// `--min-coverage`, if given.
    pub min_coverage_pct: Option<String>,
    /// Rows below it.
    pub below_min: usize,
}

impl CoverageJson {
    /// The summary of `coverage` against `min`.
    pub fn new(coverage: &Coverage, min: Option<Decimal>) -> CoverageJson {
        CoverageJson {
            rows: coverage.rows.len(),
            lowest_pct: coverage.lowest().map(|p| format!("{p:.2}")),
            min_coverage_pct: min.map(|m| m.normalize().to_string()),
            below_min: min.map_or(0, |m| coverage.below(m)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(per_request: u128, provider_tokens: u128) -> CoverageRow {
        CoverageRow {
            provider: "openai".into(),
            model: "m".into(),
            day: NaiveDate::from_ymd_opt(2025, 6, 10).unwrap(),
            token_type: TokenType::Input,
            per_request,
            provider_tokens,
        }
    }

    #[test]
    fn the_gate_compares_the_exact_coverage_and_the_cell_never_shows_more() {
        // 89.999 % is below 90 %, and shows as 89.99, not 90.00; 499,999
        // tokens missing of 10 billion are below 100 %.
        for (per_request, provider, min, shown) in [
            (89_999, 100_000, 90, "89.99"),
            (9_999_500_001, 10_000_000_000, 100, "99.99"),
            (2, 3, 67, "66.66"),
        ] {
            let coverage = Coverage {
                rows: vec![row(per_request, provider)],
            };
            assert_eq!(coverage.below(Decimal::from(min)), 1, "{per_request}");
            assert_eq!(coverage.rows[0].pct().unwrap().to_string(), shown);
        }
        let exact = Coverage {
            rows: vec![row(90_000, 100_000), row(5, 0)],
        };
        assert_eq!(exact.below(Decimal::from(90)), 0);
        assert_eq!(exact.rows[1].pct(), None);
    }
}
