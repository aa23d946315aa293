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
    let months = group_months(lines);
    let whole_bills = whole_bill_ratios(lines, &months);
    let shared_steps = shared_steps(lines, &months);
    for GroupMonth {
        range: (start, end),
        amounts,
        ratio,
        step,
    } in months
    {
        let group = &mut lines[start..end];
        let whole_bill = whole_bills.get(&group[0].key.provider);
        let shared = step
            .as_ref()
            .is_some_and(|(day, ..)| shared_steps.contains(&(group[0].key.provider.clone(), *day)));
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
        let edge_short = super::edges::days_short(group, invoiced_days);
        for line in group.iter_mut().filter(|l| l.status != Status::Ok) {
            line.diagnosis = match line.status {
                _ if cancels => CANCELS.into(),
                Status::MissingInInvoice | Status::MissingInUsage => missing(line, invoiced_days),
                _ => match (whole_bill, ratio, &step) {
                    (Some(&(r, groups)), _, _) => {
                        whole_bill_diagnosis(r, &line.key.provider, groups)
                    }
                    (_, Some(r), _) => {
                        rate_diagnosis(r, &amounts, line.key.meter.token_type(), "on every line")
                    }
                    _ if edge_short.contains(&line.key.day) => super::edges::EDGE_DAY.into(),
                    (_, _, Some((day, r, after))) if line.key.day >= Some(*day) => {
                        step_diagnosis(*day, *r, after, (line.key.meter.token_type(), shared))
                    }
                    _ => String::new(),
                },
            };
        }
    }
    month_drifts
}

/// The diagnosis of days off both ways while the month agrees.
pub(super) const CANCELS: &str = "drifts that cancel across days: amounts shift between \
    adjacent days; check time zones (tokenledger uses UTC days)";

/// A (provider, model, token type) group of lines, read once: its range
/// of the lines, its month's amounts, its constant ratio of computed to
/// invoiced ([`group_month`]) and, without one, its [`step`].
struct GroupMonth {
    range: (usize, usize),
    amounts: Amounts,
    ratio: Option<Decimal>,
    step: Option<(NaiveDate, Decimal, Amounts)>,
}

/// Each (provider, model, token type) group of `lines` (sorted by those
/// three), read once.
fn group_months(lines: &[Line]) -> Vec<GroupMonth> {
    let mut months = Vec::new();
    let mut start = 0;
    while start < lines.len() {
        let k = &lines[start].key;
        let same = |l: &&Line| {
            (&l.key.provider, &l.key.model, &l.key.meter) == (&k.provider, &k.model, &k.meter)
        };
        let end = start + lines[start..].iter().take_while(same).count();
        let group = &lines[start..end];
        let (amounts, ratio) = group_month(group);
        let step = ratio.is_none().then(|| step(group)).flatten();
        months.push(GroupMonth {
            range: (start, end),
            amounts,
            ratio,
            step,
        });
        start = end;
    }
    months
}

/// Two ratios alike: to 0.1 % of the first.
fn alike(a: Decimal, b: Decimal) -> bool {
    (a - b).abs() <= a.abs() * Decimal::new(1, 3)
}

/// The providers every one of whose groups (of two models or more) is off
/// the invoice by one ratio on every line: that ratio and how many groups.
/// Not one rate but the whole bill differs (one model's rates all off
/// alike are that entry's, per 1K read as per 1M).
fn whole_bill_ratios(lines: &[Line], months: &[GroupMonth]) -> HashMap<String, (Decimal, usize)> {
    // Per provider: each group's model and constant ratio, and whether any
    // line fails (a small model's days may all pass at the same ratio).
    type Groups<'l> = (Vec<(&'l str, Option<Decimal>)>, bool);
    let mut per_provider: BTreeMap<&str, Groups> = BTreeMap::new();
    for month in months {
        let group = &lines[month.range.0..month.range.1];
        let key = &group[0].key;
        let entry = per_provider.entry(&key.provider).or_default();
        entry.0.push((&key.model, month.ratio));
        entry.1 |= group.iter().any(|l| l.status == Status::Drift);
    }
    let uniform = |(groups, failing): &Groups| {
        let first = groups[0].1?;
        let all = groups
            .iter()
            .all(|(_, r)| r.is_some_and(|r| alike(first, r)));
        let models = groups.iter().any(|(model, _)| *model != groups[0].0);
        let off = !alike(Decimal::ONE, first);
        (all && models && off && *failing).then_some((first, groups.len()))
    };
    (per_provider.into_iter())
        .filter_map(|(provider, ratios)| Some((provider.to_string(), uniform(&ratios)?)))
        .collect()
}

/// The diagnosis of a provider whose whole bill is off by `ratio` over
/// `groups` (models and token types).
fn whole_bill_diagnosis(ratio: Decimal, provider: &str, groups: usize) -> String {
    let ratio = ratio.round_dp(4).normalize();
    format!(
        "computed is {ratio}× the invoice on every line of every {provider} model and token type \
         ({groups} of them): not one rate but the whole bill differs; {}, or an invoice in \
         another currency?{}",
        bill_causes(ratio),
        cents_hint(ratio)
    )
}

/// What makes a whole bill differ from the usage by `ratio` (computed ÷
/// invoiced): below 1, more billed than the records make up; above, less.
fn bill_causes(ratio: Decimal) -> &'static str {
    match ratio < Decimal::ONE {
        true => {
            "another organisation's or project's costs in the invoice, or usage exports \
                 missing the same share of every day"
        }
        false => {
            "a discount on the whole bill the pricing table lacks (negotiated rates: a \
                  table that extends the built-in one), or usage given twice"
        }
    }
}

/// The (provider, day) on which two models or more of the provider step
/// off the invoice ([`step`]): the bill or the usage changed that day, not
/// one price.
fn shared_steps(
    lines: &[Line],
    months: &[GroupMonth],
) -> std::collections::HashSet<(String, NaiveDate)> {
    let mut models: BTreeMap<(String, NaiveDate), std::collections::BTreeSet<&str>> =
        BTreeMap::new();
    for month in months {
        if let Some((day, ..)) = month.step {
            let key = &lines[month.range.0].key;
            models
                .entry((key.provider.clone(), day))
                .or_default()
                .insert(&key.model);
        }
    }
    (models.into_iter())
        .filter(|(_, models)| models.len() > 1)
        .map(|(key, _)| key)
        .collect()
}

/// A group whose lines agree with the invoice up to a day and, from it
/// on, are off by one ratio on every line, three days or more (a price
/// change the pricing table lacks): that day, the ratio, and the amounts
/// from it on.
fn step(group: &[Line]) -> Option<(NaiveDate, Decimal, Amounts)> {
    let mut days: Vec<(NaiveDate, Decimal)> = (group.iter())
        .map(|l| Some((l.key.day?, l.computed.checked_div(l.invoiced)?)))
        .collect::<Option<_>>()?;
    days.sort_by_key(|&(day, _)| day);
    let first_off = days.iter().position(|&(_, r)| !alike(Decimal::ONE, r))?;
    let (day, ratio) = days[first_off];
    let constant = days[first_off..].iter().all(|&(_, r)| alike(ratio, r));
    // Three days off at least: a last day cut short is no price change.
    if first_off == 0 || !constant || days.len() - first_off < 3 {
        return None;
    }
    let after: Vec<Line> = group
        .iter()
        .filter(|l| l.key.day >= Some(day))
        .cloned()
        .collect();
    Some((day, ratio, group_month(&after).0))
}

/// The diagnosis of a line of a group off from `day` on by `ratio`: a
/// price change, unless other models of the provider step that day too
/// (`shared`).
fn step_diagnosis(
    day: NaiveDate,
    ratio: Decimal,
    after: &Amounts,
    (t, shared): (Option<TokenType>, bool),
) -> String {
    let scope = format!("on every line from {day} on, the days before agreeing");
    if shared {
        let ratio = ratio.round_dp(4).normalize();
        return format!(
            "computed is {ratio}× the invoice {scope}, as other models of the provider are: not \
             a price but the bill or the usage changed on {day}; {}?",
            bill_causes(ratio)
        );
    }
    format!(
        "{}: a price change on {day} that pricing.toml lacks? add the new rate with \
         effective_from = {day}",
        rate_diagnosis(ratio, after, t, &scope)
    )
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
    let constant =
        !both.is_empty() && both.len() == group.len() && both.iter().all(|&r| alike(both[0], r));
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
        format!(
            ": {}",
            rate_diagnosis(r, amounts, k.meter.token_type(), "on every line")
        )
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

/// The diagnosis of lines `scope` describes, off by `ratio`: the rate the
/// invoice implies beside the table's (`a`: their amounts).
fn rate_diagnosis(ratio: Decimal, a: &Amounts, t: Option<TokenType>, scope: &str) -> String {
    let ratio = ratio.round_dp(4).normalize();
    let mut text = format!("computed is {ratio}× the invoice {scope}");
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
    text + cents_hint(ratio)
}

/// At a ratio of about 100 (or 1/100), that cents look read as dollars.
fn cents_hint(ratio: Decimal) -> &'static str {
    let hundred = Decimal::ONE_HUNDRED;
    let cents = (ratio - hundred).abs() < Decimal::ONE
        || (ratio.checked_mul(hundred))
            .is_some_and(|r| (r - Decimal::ONE).abs() < Decimal::new(1, 2));
    match cents {
        true => "; a factor of 100 suggests cents read as dollars (or the reverse)",
        false => "",
    }
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

/// An invoice line not charged per token (its description is the key's
/// charge, or its model where the line names none): says what it is.
pub(super) fn name_not_per_token(lines: &mut [Line]) {
    for line in lines.iter_mut() {
        let key = &line.key;
        if key.meter != Meter::Other || key.model == crate::read::invoice::ALL_USAGE {
            continue;
        }
        let what = match key.charge.is_empty() {
            true => key.model.clone(),
            false => key.charge.clone(),
        };
        line.diagnosis = format!(
            "\"{what}\" is not charged per token: no usage record makes it up, but it is \
             part of the invoiced usage"
        );
        line.description = Some(what);
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A line of `model`'s input on June `day`: 1M tokens, `computed`
    /// against `invoiced` (the lines every reconcile test builds).
    pub(in crate::reconcile) fn line(
        model: &str,
        day: u32,
        computed: impl Into<Decimal>,
        invoiced: impl Into<Decimal>,
    ) -> Line {
        let (computed, invoiced) = (computed.into(), invoiced.into());
        let drifts = computed != invoiced;
        Line {
            key: LineKey {
                provider: "openai".into(),
                model: model.into(),
                meter: Meter::Tokens(TokenType::Input),
                day: NaiveDate::from_ymd_opt(2025, 6, day),
                charge: String::new(),
            },
            computed,
            invoiced,
            list: None,
            tokens: 1_000_000,
            long_context: (0, Decimal::ZERO),
            billed_tokens: None,
            status: if drifts { Status::Drift } else { Status::Ok },
            diagnosis: String::new(),
            description: None,
        }
    }

    const TOLERANCE: Tolerance = Tolerance {
        pct: Decimal::ZERO,
        usd: Decimal::ZERO,
    };

    #[test]
    fn a_price_change_the_table_lacks_is_named_by_its_day() {
        // o3 at $10 all month; the invoice at $2 from June 10th.
        let mut lines: Vec<Line> = (8..=12)
            .map(|day| line("o3", day, 10, if day < 10 { 10 } else { 2 }))
            .collect();
        diagnose(&mut lines, &TOLERANCE, true);
        assert_eq!(lines[0].diagnosis, "");
        assert_eq!(
            lines[2].diagnosis,
            "computed is 5× the invoice on every line from 2025-06-10 on, the days before \
             agreeing: the input rate looks wrong; the invoice implies $2 per 1M tokens, the \
             pricing table charged $10: a price change on 2025-06-10 that pricing.toml lacks? \
             add the new rate with effective_from = 2025-06-10"
        );
        assert_eq!(lines[4].diagnosis, lines[2].diagnosis);
        // Every model off from one day on: the bill or the usage changed.
        let mut both: Vec<Line> = (8..=12)
            .flat_map(|day| {
                let invoiced = if day < 10 { 10 } else { 20 };
                [
                    line("gpt-4.1", day, 10, invoiced),
                    line("o3", day, 10, invoiced),
                ]
            })
            .collect();
        both.sort_by(|a, b| (&a.key.model, a.key.day).cmp(&(&b.key.model, b.key.day)));
        diagnose(&mut both, &TOLERANCE, true);
        assert!(
            both[2].diagnosis.starts_with(
                "computed is 0.5× the invoice on every line from 2025-06-10 on, the days before \
                 agreeing, as other models of the provider are: not a price but the bill or the \
                 usage changed on 2025-06-10; another organisation's"
            ),
            "{}",
            both[2].diagnosis
        );
        // Two days off at the end (a last day cut short, say): no step.
        let mut late: Vec<Line> = (8..=12)
            .map(|day| line("o3", day, 10, if day < 11 { 10 } else { 2 }))
            .collect();
        diagnose(&mut late, &TOLERANCE, true);
        assert_eq!(late[4].diagnosis, "");
    }

    #[test]
    fn every_model_of_a_provider_off_alike_is_the_whole_bill_not_a_rate() {
        let mut lines = vec![
            line("gpt-4.1", 1, 3, 4),
            line("o3", 1, 30, 40),
            line("o3", 2, 6, 8),
        ];
        diagnose(&mut lines, &TOLERANCE, true);
        for line in &lines {
            assert!(
                line.diagnosis.starts_with(
                    "computed is 0.75× the invoice on every line of every openai model and token \
                     type (2 of them): not one rate but the whole bill differs;"
                ),
                "{}",
                line.diagnosis
            );
        }
        // One model's rates all off alike are that model's.
        let mut lines = vec![line("o3", 1, 30, 40), line("o3", 2, 6, 8)];
        diagnose(&mut lines, &TOLERANCE, true);
        assert!(
            lines[0].diagnosis.contains("the input rate looks wrong"),
            "{}",
            lines[0].diagnosis
        );
    }
}
