//! Coverage: the per-request usage against the provider's own usage report,
//! per (provider, model, UTC day, token type). A gateway log that misses
//! traffic which bypassed it shows as coverage below 100 %.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::model::{TokenType, UsageRecord};
use crate::money::ratio;
use crate::price::PriceTable;
use crate::read::provider_usage::ProviderUsage;
use crate::reconcile::Names;

/// The model label of report rows not grouped by model.
pub const ALL_MODELS: &str = "(all models)";

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
    /// Per-request tokens as a percentage of the provider's, 2 places;
    /// `None` when the provider reports none.
    pub fn pct(&self) -> Option<Decimal> {
        ratio(
            Decimal::from(self.per_request),
            Decimal::from(self.provider_tokens),
            100,
            2,
        )
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
            .filter(|r| r.pct().is_some_and(|p| p < min))
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
        let model = report
            .model
            .as_deref()
            .map_or(ALL_MODELS, |m| table.canonical_model(report.provider, m));
        for t in TokenType::ALL {
            let key = (
                report.provider.to_string(),
                model.to_string(),
                report.day,
                t,
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
            let key = (provider.to_string(), model.to_string(), day, t);
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
