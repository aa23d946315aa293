//! The run's own gates against a plausible-looking wrong answer: a month
//! with no usage or no spans, a join that matched little of the bill, and a
//! tenant or feature key that leaves most of the cost unlabelled; usage of
//! several months read without `--period`, and names of one owner written
//! two ways ([`look_alikes`]), are warned of. Each
//! failed gate is one line (exit 1, even with `--quiet`); each warning is
//! one line on stderr; both go into `summary.json`. The messages name what
//! the inputs do contain, read from a sample of the span files only when a
//! message is due.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rust_decimal::Decimal;

use crate::read::span::AttrKeys;
use crate::read::span_keys::{id_like, SpanKeys};

/// What the gates look at, from one run.
pub struct Facts<'a> {
    /// `--period`, if given.
    pub period: Option<String>,
    /// Billed usage records read per UTC month (`YYYY-MM`), before `--period`.
    pub months: &'a BTreeMap<String, u64>,
    /// Usage records in the period.
    pub usage_records: u64,
    /// Spans read.
    pub spans: u64,
    /// Inference calls, and how many carry a join attribute.
    pub calls: (u64, u64),
    /// Cost of the records in the period, and of those that joined no span.
    pub cost: (Decimal, Decimal),
    /// Cost labelled `(none)` in the tenant and feature reports.
    pub none_cost: (Decimal, Decimal),
    /// The attribute keys the run looked for.
    pub keys: &'a AttrKeys,
    /// The span files read.
    pub span_files: Vec<PathBuf>,
    /// `--min-match`: the least share (%) of cost that must join a span.
    pub min_match: Decimal,
    /// Whether allocation rules ran (they may own what joined no span).
    pub allocated: bool,
}

/// The failed gates and the warnings.
#[derive(Debug, Default)]
pub struct Verdict {
    /// One line per failed gate.
    pub failed: Vec<String>,
    /// One line per warning.
    pub warnings: Vec<String>,
}

/// Judge a run.
pub fn judge(facts: &Facts) -> Verdict {
    let mut verdict = Verdict::default();
    let cell = std::cell::OnceCell::new();
    let sampled = || cell.get_or_init(|| SpanKeys::sample(&facts.span_files));
    // --min-match 0 accepts a run that joins nothing, such as one that
    // only reads spans or only prices usage; a --period that misses every
    // record read is wrong whatever the flag.
    let gated = facts.min_match > Decimal::ZERO;
    if facts.usage_records == 0 && (gated || (facts.period.is_some() && !facts.months.is_empty())) {
        verdict
            .failed
            .push(no_usage(facts.period.as_deref(), facts.months));
    }
    if facts.spans == 0 && gated {
        verdict.failed.push(format!(
            "no span was read from the {} span file(s): check --spans",
            facts.span_files.len()
        ));
        return verdict;
    }
    verdict.warnings.extend(months_together(facts));
    let (total, unattributed) = facts.cost;
    let (calls, carrying) = facts.calls;
    if total > Decimal::ZERO {
        let matched = pct(total - unattributed, total);
        // Sums of costs held to 28 digits may leave `matched` a hair below
        // 0 %: the gate is off at 0, whatever the sums' last digit.
        if gated && matched < facts.min_match {
            let hint = join_hint(facts, sampled());
            verdict.failed.push(format!(
                "only {} % of the billed cost joined a span (--min-match {}): {hint}",
                shown(matched),
                facts.min_match
            ));
        } else if calls > 0 && carrying == 0 {
            verdict.warnings.push(join_hint(facts, sampled()));
        }
        for (dimension, flag, none, looked_for) in [
            (
                "tenant",
                "--tenant-attr",
                facts.none_cost.0,
                facts.keys.tenant.join(","),
            ),
            (
                "feature",
                "--feature-attr",
                facts.none_cost.1,
                facts.keys.feature.clone(),
            ),
        ] {
            let share = pct(none, total);
            let unseen = pct(none + unattributed, total);
            // What joined no span is the --min-match gate's where it failed,
            // and the rules' to own under --allocation.
            let unjoined_told = (gated && matched < facts.min_match) || facts.allocated;
            let half = Decimal::from(50);
            if share <= half && unseen > half && facts.spans > 0 && !unjoined_told {
                verdict.warnings.push(format!(
                    "{} % of the cost has no {dimension}: {} % joined no span (unattributed.csv) \
                     and {} % joined calls that name none",
                    shown(unseen),
                    shown(pct(unattributed, total)),
                    shown(share)
                ));
            }
            if share > Decimal::from(50) {
                let root = sampled().root.iter().take(20).cloned().collect::<Vec<_>>();
                verdict.warnings.push(format!(
                    "{} % of the cost has no {dimension}: {flag} {looked_for} is on no ancestor of \
                     those calls; root spans carry {}",
                    shown(share),
                    if root.is_empty() { "no attributes".to_string() } else { root.join(", ") }
                ));
            }
        }
    }
    verdict
}

/// The warning for usage of several UTC months read without `--period`:
/// every report then sums them as one month (a month's export run with a
/// late day of the next, or a quarter given whole by mistake).
fn months_together(facts: &Facts) -> Option<String> {
    if facts.period.is_some() || facts.months.len() < 2 {
        return None;
    }
    Some(format!(
        "the usage holds {} and no --period was given: every report (and budget) sums those \
         months as one; give --period YYYY-MM for one month's reports",
        months_held(facts.months)
    ))
}

/// The months of the usage read, with their record counts.
fn months_held(months: &BTreeMap<String, u64>) -> String {
    let held: Vec<String> = (months.iter())
        .map(|(month, n)| format!("{month} ({n} record{})", if *n == 1 { "" } else { "s" }))
        .collect();
    held.join(", ")
}

/// The warning for names of one `dimension` (the rows of its report) that
/// read alike on screen ([`shown_alike`]) but differ, as `Acme` and `acme`:
/// one owner written two ways, which the reports keep apart. The names
/// are given costliest first; the warning names the costliest group.
pub fn look_alikes<'n>(dimension: &str, names: impl Iterator<Item = &'n str>) -> Option<String> {
    let mut groups: Vec<Vec<&str>> = Vec::new();
    let mut place: std::collections::HashMap<String, usize> = Default::default();
    for name in names.filter(|n| !crate::dimension::PLACEHOLDERS.contains(n)) {
        let at = *place.entry(shown_alike(name)).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[at].push(name);
    }
    let alike: Vec<&Vec<&str>> = groups.iter().filter(|g| g.len() > 1).collect();
    let first = alike.first()?;
    let quoted: Vec<String> = first.iter().map(|n| format!("\"{n}\"")).collect();
    let more = match alike.len() {
        1 => String::new(),
        n => format!(" (and {} more such group(s))", n - 1),
    };
    Some(format!(
        "{dimension} names that differ only in case, spaces or characters that show as nothing: \
         {}{more}: one {dimension} written two ways? the reports keep them apart",
        quoted.join(" and ")
    ))
}

/// `name` as it reads on screen, to compare names: in lower case, every
/// kind of space (a no-break space, a Hangul filler) one space, runs of
/// them one, and what shows as nothing (zero-width spaces and joiners,
/// variation selectors, tags, soft hyphens, direction marks, controls)
/// left out.
fn shown_alike(name: &str) -> String {
    // The fillers show as a space; the rest of what the terminal escapes
    // as drawn as nothing shows as nothing.
    let space = |c: char| {
        c.is_whitespace() || matches!(c, '\u{115f}' | '\u{1160}' | '\u{3164}' | '\u{ffa0}')
    };
    let nothing = |c: char| c.is_control() || (crate::terminal::invisible(c) && !space(c));
    let mut shown = String::with_capacity(name.len());
    for c in name.chars() {
        if space(c) {
            if !shown.ends_with(' ') {
                shown.push(' ');
            }
        } else if !nothing(c) {
            shown.extend(c.to_lowercase());
        }
    }
    shown.trim().to_string()
}

/// A percentage, rounded to one decimal place for the message.
fn pct(part: Decimal, whole: Decimal) -> Decimal {
    part * Decimal::ONE_HUNDRED / whole
}

/// A percentage as a message shows it (`14.6`).
fn shown(pct: Decimal) -> String {
    format!("{:.1}", pct.round_dp(1))
}

/// The failed gate of a run with no usage record in its period: what the
/// usage read holds (`months`, before `--period`), if anything.
pub fn no_usage(period: Option<&str>, months: &BTreeMap<String, u64>) -> String {
    match (period, months.is_empty()) {
        (_, true) => "no billed usage record in the usage inputs".to_string(),
        (Some(period), false) => format!(
            "no usage record in --period {period}: the usage holds {}",
            months_held(months)
        ),
        (None, false) => "no usage record left after de-duplication".to_string(),
    }
}

/// What the join keys found, and the id-like keys inference spans carry.
fn join_hint(facts: &Facts, keys: &SpanKeys) -> String {
    let (_, carrying) = facts.calls;
    let join = facts.keys.join.join(",");
    let tried = if carrying == 0 {
        format!("--join-attr {join} is on no inference span")
    } else {
        format!("--join-attr {join} is on {carrying} inference span(s) whose ids match few usage records")
    };
    let candidates: Vec<&str> = id_like(&keys.call)
        .into_iter()
        .filter(|k| !facts.keys.join.iter().any(|j| j == k))
        .collect();
    match candidates.first() {
        Some(first) => format!(
            "{tried}; inference spans carry {}: did you mean --join-attr {first}?",
            candidates.join(", ")
        ),
        None => format!("{tried}; the inference spans sampled carry no other id-like attribute"),
    }
}

#[cfg(test)]
mod tests {
    use super::look_alikes;

    #[test]
    fn names_alike_but_for_case_spaces_or_invisible_characters_are_named() {
        let names = [
            "acme",
            "globex",
            "Acme",
            "ac\u{200b}me",
            "(none)",
            "(NONE)",
            "beta",
        ];
        let warning = look_alikes("tenant", names.into_iter()).unwrap();
        assert_eq!(
            warning,
            "tenant names that differ only in case, spaces or characters that show as nothing: \
             \"acme\" and \"Acme\" and \"ac\u{200b}me\": one tenant written two ways? the \
             reports keep them apart"
        );
        let two = look_alikes("agent", ["a", "A", "b", "B\u{200d}"].into_iter()).unwrap();
        assert!(
            two.contains("\"a\" and \"A\" (and 1 more such group(s))"),
            "{two}"
        );
        assert_eq!(
            look_alikes("feature", ["search", "chat", "(none)"].into_iter()),
            None
        );
        // A no-break space reads as a space, not as nothing; a variation
        // selector as nothing.
        let spaces = ["acme corp", "acmecorp", "acme\u{a0}corp", "acme  corp"];
        let warning = look_alikes("tenant", spaces.into_iter()).unwrap();
        let named = ": \"acme corp\" and \"acme\u{a0}corp\" and \"acme  corp\":";
        assert!(warning.contains(named), "{warning}");
        assert!(look_alikes("tool", ["\u{2b50}", "\u{2b50}\u{fe0f}"].into_iter()).is_some());
    }
}
