//! What a failing line's numbers point at: a rate, a time zone, a missing
//! export or name; and which of a drifting line's rates drifted.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{Line, LineKey, Status, Tolerance};
use crate::model::TokenType;
use crate::money::Micros;
use crate::read::invoice::Meter;

/// Where the invoice states each line's rate qualifiers (Anthropic's cost
/// report: service tier and context window), add to a drifting line's
/// diagnosis which of its rates drifted, with both sides' amounts.
pub(super) fn name_drifting_rates(
    lines: &mut [Line],
    by_rate: &BTreeMap<(LineKey, String), (Decimal, Decimal)>,
    tolerance: &Tolerance,
) {
    for line in lines.iter_mut().filter(|l| l.status == Status::Drift) {
        let rates: Vec<(&String, &(Decimal, Decimal))> = by_rate
            .range((line.key.clone(), String::new())..)
            .take_while(|((key, _), _)| *key == line.key)
            .map(|((_, rate), sides)| (rate, sides))
            .collect();
        if rates.iter().all(|(_, (_, invoiced))| invoiced.is_zero()) {
            continue;
        }
        let drifting: Vec<String> = rates
            .iter()
            .filter(|(_, (computed, invoiced))| tolerance.drifts(*computed, *invoiced))
            .map(|(rate, (computed, invoiced))| {
                format!(
                    "{rate}: computed ${}, invoiced ${}",
                    Micros::round(*computed),
                    Micros::round(*invoiced)
                )
            })
            .collect();
        if !drifting.is_empty() {
            let sep = if line.diagnosis.is_empty() { "" } else { "; " };
            line.diagnosis += &format!("{sep}the rates that drift: {}", drifting.join(", "));
        }
    }
}

/// Explain each failing line from the numbers of its (provider, model,
/// token type) group: a constant ratio points at a rate, drifts that cancel
/// across days at time zones, a one-sided line at a missing export or name.
/// Returns, for the usage total, each group whose days all pass but whose
/// month drifts (a wrong rate on lines too small to fail a day).
pub(super) fn diagnose(lines: &mut [Line], tolerance: &Tolerance, daily: bool) -> Vec<String> {
    let mut month_drifts = Vec::new();
    // The days the invoice covers: usage on a day outside them is most
    // likely another month's, not a missing export.
    let invoiced_days = lines
        .iter()
        .filter(|l| !l.invoiced.is_zero())
        .filter_map(|l| l.key.day)
        .fold(None, |range: Option<(NaiveDate, NaiveDate)>, d| {
            Some(range.map_or((d, d), |(lo, hi)| (lo.min(d), hi.max(d))))
        });
    let mut start = 0;
    while start < lines.len() {
        let k = &lines[start].key;
        let group_key = (k.provider.clone(), k.model.clone(), k.meter.clone());
        let end = start
            + lines[start..]
                .iter()
                .take_while(|l| {
                    (&l.key.provider, &l.key.model, &l.key.meter)
                        == (&group_key.0, &group_key.1, &group_key.2)
                })
                .count();
        let group = &mut lines[start..end];
        let (amounts, ratio) = group_month(group);
        let (computed, invoiced) = (amounts.computed, amounts.invoiced);
        // Days off in both directions while the month agrees: amounts moved
        // between days.
        let off = |over: bool| {
            group
                .iter()
                .any(|l| l.status != Status::Ok && (l.computed > l.invoiced) == over)
        };
        let cancels = daily && off(true) && off(false) && !tolerance.drifts(computed, invoiced);
        let quiet = group.iter().all(|l| l.status == Status::Ok);
        if daily && quiet && tolerance.drifts(computed, invoiced) {
            month_drifts.push(month_drift(group, &amounts, ratio));
        }
        for line in group.iter_mut().filter(|l| l.status != Status::Ok) {
            line.diagnosis = match line.status {
                _ if cancels => {
                    "drifts that cancel across days: amounts shift between adjacent days; \
                     check time zones (tokenledger uses UTC days)"
                        .into()
                }
                Status::MissingInInvoice | Status::MissingInUsage => missing(line, invoiced_days),
                _ => match ratio {
                    Some(r) => rate_diagnosis(r, &amounts, line.key.meter.token_type()),
                    None => String::new(),
                },
            };
        }
        start = end;
    }
    month_drifts
}

/// A (provider, model, token type) group's month: its amounts, and the
/// ratio of computed to invoiced when every line has the same one (to
/// 0.1 %).
fn group_month(group: &[Line]) -> (Amounts, Option<Decimal>) {
    let (computed, invoiced, tokens) = group
        .iter()
        .fold((Decimal::ZERO, Decimal::ZERO, 0u128), |(c, i, n), l| {
            (c + l.computed, i + l.invoiced, n + l.tokens)
        });
    let long = group.iter().fold((0u128, Decimal::ZERO), |(n, c), l| {
        (n + l.long_context.0, c + l.long_context.1)
    });
    // Checked: a ratio beyond the decimal range (a tiny invoiced amount)
    // is no constant rate.
    let both: Vec<Decimal> = group
        .iter()
        .filter(|l| !l.computed.is_zero())
        .filter_map(|l| l.computed.checked_div(l.invoiced))
        .collect();
    let constant = !both.is_empty()
        && both.len() == group.len()
        && both
            .iter()
            .all(|r| (*r - both[0]).abs() <= both[0] * Decimal::new(1, 3));
    let amounts = Amounts {
        computed,
        invoiced,
        tokens,
        long,
    };
    (amounts, constant.then(|| both[0]))
}

/// The usage total's note on a group whose days all pass but whose month
/// drifts: its month's amounts, and at a constant ratio the rates.
fn month_drift(group: &[Line], amounts: &Amounts, ratio: Option<Decimal>) -> String {
    let k = &group[0].key;
    let rate = ratio.map_or_else(String::new, |r| {
        format!(": {}", rate_diagnosis(r, amounts, k.meter.token_type()))
    });
    format!(
        "{} {} {}: every day within the tolerance, the month not (computed ${}, invoiced ${}){rate}",
        k.provider,
        k.model,
        k.meter.name(),
        Micros::round(amounts.computed),
        Micros::round(amounts.invoiced)
    )
}

/// Why a line has no counterpart: usage on a day the invoice does not
/// cover, no invoice line, a request charge no record counts, or no usage.
fn missing(line: &Line, invoiced_days: Option<(NaiveDate, NaiveDate)>) -> String {
    match line.status {
        Status::MissingInInvoice => match (line.key.day, invoiced_days) {
            (Some(day), Some((first, last))) if day < first || day > last => format!(
                "usage on a day outside the invoice's days ({first} to {last}): records of \
                 another month (reconcile one with --period), or a bill whose month is cut at \
                 another midnight (Google Cloud's invoice month is Pacific time)"
            ),
            _ => "no invoice line: an invoice export may be missing, or the invoice \
                  names this model differently (add that name to the model's match list)"
                .into(),
        },
        Status::MissingInUsage => match &line.key.meter {
            Meter::Requests(name) => format!(
                "no usage record counts {name} requests: give the usage a \
                 {name}_requests column (or export the usage with its server-tool \
                 counts) so they are priced and attributed"
            ),
            _ => "no usage records: a usage export may be missing, or the invoice's \
                  model name matches no pricing entry"
                .into(),
        },
        _ => String::new(),
    }
}

/// A line group's amounts, for its diagnosis.
struct Amounts {
    computed: Decimal,
    invoiced: Decimal,
    tokens: u128,
    /// Tokens priced at a long-context rate, and their computed cost.
    long: (u128, Decimal),
}

/// USD per million tokens, to four places.
fn per_million(usd: Decimal, tokens: u128) -> String {
    let rate = usd.checked_mul(Decimal::from(1_000_000u32));
    match rate.and_then(|r| r.checked_div(Decimal::from(tokens))) {
        Some(rate) => rate.round_dp(4).normalize().to_string(),
        None => "(beyond the decimal range)".to_string(),
    }
}

fn rate_diagnosis(ratio: Decimal, a: &Amounts, t: Option<TokenType>) -> String {
    let ratio = ratio.round_dp(4).normalize();
    let mut text = format!("computed is {ratio}× the invoice on every line");
    let (long_tokens, long_cost) = a.long;
    match t.filter(|_| a.tokens > 0) {
        // Two rates behind the line: name both, never their blend.
        Some(t) if long_tokens > 0 && long_tokens < a.tokens => {
            let share =
                crate::money::ratio(Decimal::from(long_tokens), Decimal::from(a.tokens), 100, 1)
                    .expect("a line with long-context tokens has tokens");
            text += &format!(
                ": the {} line mixes standard and long-context requests: {share} % of its tokens \
                 at the long-context rate (${} per 1M tokens), the rest at the standard rate \
                 (${} per 1M); one of the two rates (or the long-context threshold) looks wrong; \
                 the invoice implies ${} per 1M over both",
                t.key(),
                per_million(long_cost, long_tokens),
                per_million(a.computed - long_cost, a.tokens - long_tokens),
                per_million(a.invoiced, a.tokens)
            );
        }
        Some(t) => {
            text += &format!(
                ": the {} rate looks wrong; the invoice implies ${} per 1M tokens, the pricing table charged ${}",
                t.key(),
                per_million(a.invoiced, a.tokens),
                per_million(a.computed, a.tokens)
            );
        }
        None => {}
    }
    let hundred = Decimal::ONE_HUNDRED;
    if (ratio - hundred).abs() < Decimal::ONE
        || ratio
            .checked_mul(hundred)
            .is_some_and(|r| (r - Decimal::ONE).abs() < Decimal::new(1, 2))
    {
        text += "; a factor of 100 suggests cents read as dollars (or the reverse)";
    }
    text
}

/// A failing per-request line some of whose requests pricing.toml's free
/// allowance made free: say so, as the likeliest cause (the allowance used
/// up elsewhere, another project's or key's, or a day that starts at
/// another hour), rather than that no record counts them.
pub(super) fn name_free_requests(lines: &mut [Line], free: &HashMap<LineKey, u128>) {
    for line in lines.iter_mut() {
        let (Meter::Requests(name), Some(&count)) = (&line.key.meter, free.get(&line.key)) else {
            continue;
        };
        if !matches!(line.status, Status::Drift | Status::MissingInUsage) {
            continue;
        }
        line.diagnosis = format!(
            "{count} {name} request(s) of the usage are inside pricing.toml's free allowance \
             and priced at $0, but the invoice charges more: the allowance may be used up \
             elsewhere (another project or key shares it) or count its days from another \
             hour; --true-up bills what the invoice says"
        );
    }
}
