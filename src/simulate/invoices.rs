//! The provider's side of a simulated month: every billed call priced from
//! the pricing table and written as each provider exports it. Anthropic's
//! are daily cost-report pages (cents as strings), OpenAI's daily costs
//! pages (`line_item` strings) and Google's tokenledger invoice CSV, with a
//! credit and a tax line.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rust_decimal::Decimal;

use crate::error::{Error, Result};
use crate::model::{Modality, TokenType, Tokens};
use crate::price::{PriceTable, Qualifiers};

/// What each provider charged, per (provider, model, token type, day).
#[derive(Default)]
pub struct Invoicer {
    charges: BTreeMap<(&'static str, &'static str, TokenType, NaiveDate), Decimal>,
    /// Web search fees per (provider, model, day).
    searches: BTreeMap<(&'static str, &'static str, NaiveDate), Decimal>,
    unpriced: Option<String>,
}

impl Invoicer {
    /// Price one billed call ending `at` (its tokens, of which `modalities`
    /// are audio, served with `qualifiers` and in the time-of-day window of
    /// `at`, and its web searches), add it to the day's charges and return
    /// its cost.
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        pricing: &PriceTable,
        provider: &'static str,
        model: &'static str,
        at: DateTime<Utc>,
        tokens: &Tokens,
        modalities: &[(Modality, u64)],
        qualifiers: &Qualifiers,
        web_searches: u64,
    ) -> Option<Decimal> {
        let day = at.date_naive();
        let fee = match web_searches {
            0 => Some(Decimal::ZERO),
            n => pricing
                .find(provider, model, day)
                .and_then(|e| e.fee("web_search", n)),
        };
        let Some(fee) = fee else {
            self.unpriced.get_or_insert_with(|| {
                format!("{provider} {model} has no web_search price on {day}")
            });
            return None;
        };
        if !fee.is_zero() {
            *self.searches.entry((provider, model, day)).or_default() += fee;
        }
        match pricing.find(provider, model, day).map(|e| {
            let qualifiers = Qualifiers {
                hours: e.hours_at(at),
                ..*qualifiers
            };
            e.cost(tokens, modalities, &qualifiers)
        }) {
            Some(Ok(cost)) => {
                for t in TokenType::ALL {
                    if tokens.get(t) > 0 {
                        *self.charges.entry((provider, model, t, day)).or_default() +=
                            cost.tokens[t.index()];
                    }
                }
                Some(cost.total() + fee)
            }
            _ => {
                self.unpriced
                    .get_or_insert_with(|| format!("{provider} {model} has no price on {day}"));
                None
            }
        }
    }

    /// Write the invoices of `month` into `dir`.
    pub fn write(&self, dir: &Path, month: (i32, u32)) -> Result<()> {
        if let Some(what) = &self.unpriced {
            return Err(Error::fatal(format!(
                "cannot write the simulated invoices: {what}"
            )));
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let in_month = |day: &NaiveDate| (day.year(), day.month()) == month;
        let charges: Vec<_> = self
            .charges
            .iter()
            .filter(|((.., day), _)| in_month(day))
            .collect();
        // A provider with no charge this month has no bill: no empty file,
        // which the readers refuse.
        let write = |name: &str, text: String| {
            let path = dir.join(name);
            match text.is_empty() {
                true => Ok(()),
                false => std::fs::write(&path, text).map_err(|e| Error::io(&path, e)),
            }
        };
        let searches: BTreeMap<_, _> = self
            .searches
            .iter()
            .filter(|((.., day), _)| in_month(day))
            .map(|(k, v)| (*k, *v))
            .collect();
        write(
            "anthropic-cost-report.jsonl",
            anthropic(&charges, &searches),
        )?;
        write("openai-costs.jsonl", openai(&charges))?;
        if charges.iter().any(|((p, ..), _)| *p == BEDROCK) {
            write("bedrock-invoice.csv", invoice_csv(&charges, BEDROCK, None))?;
        }
        write(
            "google-invoice.csv",
            invoice_csv(&charges, "google", Some(month)),
        )
    }
}

type Charge<'a> = (
    &'a (&'static str, &'static str, TokenType, NaiveDate),
    &'a Decimal,
);

/// The charges of one provider grouped by day, in day order.
fn by_day<'a>(charges: &[Charge<'a>], provider: &str) -> BTreeMap<NaiveDate, Vec<Charge<'a>>> {
    let mut days: BTreeMap<NaiveDate, Vec<Charge>> = BTreeMap::new();
    for charge in charges.iter().filter(|((p, ..), _)| *p == provider) {
        days.entry(charge.0 .3).or_default().push(*charge);
    }
    days
}

/// Web search fees per (provider, model, day).
type Searches = BTreeMap<(&'static str, &'static str, NaiveDate), Decimal>;

/// Anthropic Admin API cost_report pages, a week per page, one page per
/// line; each day's web searches are `cost_type` `web_search` results.
fn anthropic(charges: &[Charge], searches: &Searches) -> String {
    let days = by_day(charges, "anthropic");
    let days: Vec<_> = days.into_iter().collect();
    let pages: Vec<_> = days.chunks(7).collect();
    let mut out = String::new();
    for (i, page) in pages.iter().enumerate() {
        let buckets: Vec<serde_json::Value> = page
            .iter()
            .map(|(day, charges)| {
                let mut results: Vec<serde_json::Value> = charges
                    .iter()
                    .map(|((_, model, t, _), usd)| {
                        let (name, kind) = match t {
                            TokenType::Input => ("uncached_input_tokens", "Input Tokens"),
                            TokenType::CacheRead => ("cache_read_input_tokens", "Cache Read Tokens"),
                            TokenType::CacheWrite5m => ("cache_creation.ephemeral_5m_input_tokens", "5m Cache Write Tokens"),
                            TokenType::CacheWrite1h => ("cache_creation.ephemeral_1h_input_tokens", "1h Cache Write Tokens"),
                            TokenType::Output => ("output_tokens", "Output Tokens"),
                        };
                        serde_json::json!({
                            "currency": "USD",
                            "amount": (**usd * Decimal::ONE_HUNDRED).round_dp(5).normalize().to_string(),
                            "workspace_id": null,
                            "description": format!("{} Usage - {kind}", display_name(model)),
                            "cost_type": "tokens",
                            "context_window": "0-200k",
                            "model": model,
                            "service_tier": "standard",
                            "token_type": name,
                        })
                    })
                    .collect();
                let day_searches = searches.iter().filter(|((p, _, d), _)| *p == "anthropic" && d == day);
                for ((_, model, _), usd) in day_searches {
                    results.push(serde_json::json!({
                        "currency": "USD",
                        "amount": (*usd * Decimal::ONE_HUNDRED).round_dp(5).normalize().to_string(),
                        "workspace_id": null,
                        "description": "Web search",
                        "cost_type": "web_search",
                        "context_window": null,
                        "model": model,
                        "service_tier": "standard",
                        "token_type": null,
                    }));
                }
                let start = day.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
                serde_json::json!({
                    "starting_at": start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    "ending_at": (start + chrono::Duration::days(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    "results": results,
                })
            })
            .collect();
        let more = i + 1 < pages.len();
        let next = more.then(|| format!("page_{}", i + 2));
        let page = serde_json::json!({ "data": buckets, "has_more": more, "next_page": next });
        out += &page.to_string();
        out.push('\n');
    }
    out
}

/// OpenAI /v1/organization/costs pages grouped by line_item, a week per
/// page, one page per line; amounts are JSON numbers in dollars.
fn openai(charges: &[Charge]) -> String {
    let days: Vec<_> = by_day(charges, "openai").into_iter().collect();
    let pages: Vec<_> = days.chunks(7).collect();
    let mut out = String::new();
    for (i, page) in pages.iter().enumerate() {
        let mut buckets = Vec::new();
        for (day, charges) in page.iter() {
            let start = day
                .and_hms_opt(0, 0, 0)
                .expect("midnight")
                .and_utc()
                .timestamp();
            let mut results = Vec::new();
            for ((_, model, t, _), usd) in charges {
                let kind = match t {
                    TokenType::CacheRead => "cached input",
                    TokenType::Output => "output",
                    _ => "input",
                };
                results.push(format!(
                    r#"{{"object":"organization.costs.result","amount":{{"value":{},"currency":"usd"}},"line_item":"{model}, {kind}","project_id":"proj_fleet"}}"#,
                    usd.round_dp(10).normalize()
                ));
            }
            buckets.push(format!(
                r#"{{"object":"bucket","start_time":{start},"end_time":{},"results":[{}]}}"#,
                start + 86_400,
                results.join(",")
            ));
        }
        let more = i + 1 < pages.len();
        let next = if more {
            format!("\"page_{}\"", i + 2)
        } else {
            "null".into()
        };
        let _ = writeln!(
            out,
            r#"{{"object":"page","data":[{}],"has_more":{more},"next_page":{next}}}"#,
            buckets.join(",")
        );
    }
    out
}

/// Amazon Bedrock's provider name.
const BEDROCK: &str = "aws.bedrock";

/// One provider's charges as tokenledger's invoice CSV: a line per day,
/// model and token type; with a `month`, then a promotional credit and tax
/// for it (as Google's).
fn invoice_csv(charges: &[Charge], provider: &str, month: Option<(i32, u32)>) -> String {
    let mut out = String::from("provider,model,token_type,amount_usd,period_start,period_end,charge_category,description,currency\n");
    let mut usage = Decimal::ZERO;
    for ((_, model, t, day), usd) in charges.iter().filter(|((p, ..), _)| *p == provider) {
        let amount = usd.round_dp(6);
        usage += amount;
        let next = day.succ_opt().expect("a day after");
        let _ = writeln!(
            out,
            "{provider},{model},{},{amount:.6},{day},{next},usage,,USD",
            t.key()
        );
    }
    let Some((year, month)) = month else {
        return out;
    };
    let start = NaiveDate::from_ymd_opt(year, month, 1).expect("a valid month");
    let end = start
        .checked_add_months(chrono::Months::new(1))
        .expect("a month after");
    let _ = writeln!(
        out,
        "{provider},,,-5.000000,{start},{end},credit,Promotional credit,USD"
    );
    let tax = (usage * Decimal::new(8, 2)).round_dp(2);
    let _ = writeln!(
        out,
        "{provider},,,{tax:.6},{start},{end},tax,Sales tax 8%,USD"
    );
    out
}

/// The name Anthropic's console and descriptions use for a model.
fn display_name(model: &str) -> &str {
    match model {
        "claude-sonnet-4-20250514" => "Claude Sonnet 4",
        "claude-3-5-haiku-20241022" => "Claude Haiku 3.5",
        other => other,
    }
}
