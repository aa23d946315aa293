//! The fingerprint join, decided for all calls at once: within each
//! fingerprint (model, input tokens, output tokens) the calls and records
//! are points in time, and pairs are taken nearest first, the closest of
//! all before any other. A pair is taken only when neither its call nor
//! its record has another candidate at that same distance; where they do
//! (two identical calls and one record, a record midway between two
//! calls), every call and record of the tie is set aside, the calls as
//! `ambiguous`: never guessed, whatever order the traces came in.
//!
//! Nearest-first on a line needs only neighbours: the closest pair of a
//! call and a record is always two adjacent instants with no other open
//! point between them, so a queue of adjacent pairs, refreshed as instants
//! empty, takes O(n log n) for n points.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

use super::{model_key, Fingerprint, Joined, Unbilled};
use crate::intern::{Interner, Sym};
use crate::model::{bare_model, without_version, TokenType, UsageRecord};
use crate::price::PriceTable;
use crate::tree::Call;

/// A call's or record's fingerprint: model, input tokens (cached ones
/// included), output tokens.
type Print = (String, u64, u64);

/// Points in time: (nanoseconds, call or record index).
type Points = Vec<(i64, u32)>;

/// Join what the ids left, by fingerprint (see [`Fingerprint`]). The
/// records `--period` left out near its edges (`near`) take part: a call
/// whose pair is one of them is outside the period.
pub(super) fn join_by_fingerprint(
    calls: &[Call],
    (records, near): (&[UsageRecord], &[&UsageRecord]),
    joined: &mut Joined,
    fingerprint: Fingerprint,
    (interner, table): (&Interner, &PriceTable),
) {
    let mut families = Families::new((records, near), interner, table);
    // (calls, records) per fingerprint, each as (time, index).
    let mut points: HashMap<Print, (Points, Points)> = HashMap::new();
    let all = records.iter().chain(near.iter().copied());
    for (i, r) in all.enumerate() {
        if i >= records.len() || joined.call_of.get(i).is_none() {
            let print = (
                families.of(r.model),
                r.tokens.prompt(),
                r.tokens.get(TokenType::Output),
            );
            let at = r.timestamp.nanos();
            points.entry(print).or_default().1.push((at, i as u32));
        }
    }
    // The fingerprint's candidates: calls with no id, or whose id found no
    // record (a spilled month or a merge released the facts of those that
    // found one).
    let candidates = (joined.unbilled.iter())
        .filter(|(_, why)| matches!(why, Unbilled::NoJoinKey | Unbilled::NoRecord));
    // The calls some record fits by model and tokens.
    let mut tried: HashSet<u32> = HashSet::new();
    for &(ci, _) in candidates {
        let info = calls[ci as usize].info();
        if let (Some(m), Some(input), Some(output), true) = (
            info.model,
            info.input_tokens,
            info.output_tokens,
            info.start_ns > 0,
        ) {
            let print = (families.of(m), input, output);
            if let Some(bucket) = points.get_mut(&print) {
                bucket.0.push((info.start_ns as i64, ci));
                tried.insert(ci);
            }
        }
    }
    let mut matched: HashMap<u32, u32> = HashMap::new();
    // The unbilled calls whose reason the fingerprint changed.
    let mut reasons: HashMap<u32, Unbilled> = HashMap::new();
    for (calls, points) in points.into_values() {
        if calls.is_empty() {
            continue;
        }
        let outcome = assign(&calls, &points, fingerprint.window_ns);
        for (call, record) in outcome.pairs {
            if record as usize >= records.len() {
                reasons.insert(call, Unbilled::OutsidePeriod);
                continue;
            }
            joined.call_of.set(record as usize, call);
            matched.insert(call, record);
        }
        reasons.extend(
            outcome
                .ambiguous
                .into_iter()
                .map(|c| (c, Unbilled::Ambiguous)),
        );
    }
    joined.by_fingerprint += matched.len() as u64;
    joined.unbilled.retain(|(ci, _)| !matched.contains_key(ci));
    for (ci, why) in &mut joined.unbilled {
        if let Some(&reason) = reasons.get(ci) {
            *why = reason;
        } else if *why == Unbilled::NoJoinKey && tried.contains(ci) {
            *why = Unbilled::NoFingerprintLeft;
        }
    }
}

/// The model a fingerprint compares, per model symbol: its family under
/// the providers the month's records are billed by
/// ([`PriceTable::model_family`]: a span names no provider, so a record's
/// is not used either), else the name as [`model_key`] normalises it (a
/// Bedrock `:N` version dropped, as the records drop it). So
/// an alias and its dated snapshots meet; two models never do.
struct Families<'a> {
    interner: &'a Interner,
    table: &'a PriceTable,
    /// The providers of the month's records.
    providers: Vec<Sym>,
    of: HashMap<Sym, String>,
}

impl<'a> Families<'a> {
    /// The families under the providers of `records` and `near`.
    fn new(
        (records, near): (&[UsageRecord], &[&UsageRecord]),
        interner: &'a Interner,
        table: &'a PriceTable,
    ) -> Families<'a> {
        let all = records.iter().chain(near.iter().copied());
        let mut providers: Vec<Sym> = all.map(|r| r.provider).collect();
        providers.sort_unstable();
        providers.dedup();
        Families {
            interner,
            table,
            providers,
            of: HashMap::new(),
        }
    }

    fn of(&mut self, model: Sym) -> String {
        let (interner, table) = (self.interner, self.table);
        self.of
            .entry(model)
            .or_insert_with(|| {
                let name = without_version(bare_model(interner.get(model)));
                let providers = self.providers.iter().map(|&p| interner.get(p));
                let family = table.model_family(name, providers);
                model_key(family.as_deref().unwrap_or(name))
            })
            .clone()
    }
}

/// What the assignment of one fingerprint's points decided.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Assignment {
    /// (call, record) pairs taken.
    pub pairs: Vec<(u32, u32)>,
    /// Calls set aside in a tie.
    pub ambiguous: Vec<u32>,
}

/// The calls and records of one instant.
#[derive(Debug, Default)]
struct Instant {
    at: i64,
    calls: Vec<u32>,
    records: Vec<u32>,
    prev: Option<usize>,
    next: Option<usize>,
}

impl Instant {
    fn is_empty(&self) -> bool {
        self.calls.is_empty() && self.records.is_empty()
    }
}

/// Pair `calls` with `records` (each `(time, id)`), nearest first within
/// `window`, ties set aside.
pub(super) fn assign(calls: &[(i64, u32)], records: &[(i64, u32)], window: i64) -> Assignment {
    let mut instants = instants(calls, records);
    let mut out = Assignment::default();
    // Candidate pairs of instants: (distance, instant, instant).
    let mut queue: BinaryHeap<Reverse<(i64, usize, usize)>> = BinaryHeap::new();
    for g in 0..instants.len() {
        queue.push(Reverse((0, g, g)));
        if g + 1 < instants.len() {
            push_pair(&instants, &mut queue, g, g + 1, window);
        }
    }
    while let Some(Reverse((distance, ..))) = queue.peek().copied() {
        let mut level = Vec::new();
        while let Some(&Reverse((d, a, b))) = queue.peek() {
            if d != distance {
                break;
            }
            queue.pop();
            if live(&instants, a, b) {
                level.push(oriented(&instants, a, b));
            }
        }
        let emptied = settle(&mut instants, &level, &mut out);
        for g in emptied {
            unlink(&mut instants, &mut queue, g, window);
        }
    }
    out.pairs.sort_unstable();
    out.ambiguous.sort_unstable();
    out
}

/// The points grouped by instant, in time order, linked both ways.
fn instants(calls: &[(i64, u32)], records: &[(i64, u32)]) -> Vec<Instant> {
    let mut points: Vec<(i64, bool, u32)> = calls
        .iter()
        .map(|&(t, c)| (t, true, c))
        .chain(records.iter().map(|&(t, r)| (t, false, r)))
        .collect();
    points.sort_unstable();
    let mut instants: Vec<Instant> = Vec::new();
    for (at, is_call, id) in points {
        if instants.last().is_none_or(|i| i.at != at) {
            let n = instants.len();
            instants.push(Instant {
                at,
                prev: n.checked_sub(1),
                next: None,
                ..Instant::default()
            });
            if n > 0 {
                instants[n - 1].next = Some(n);
            }
        }
        let last = instants.last_mut().expect("an instant");
        match is_call {
            true => last.calls.push(id),
            false => last.records.push(id),
        }
    }
    instants
}

/// Queue the pair of instants `a` and `b` if one holds calls and the other
/// records, within `window`.
fn push_pair(
    instants: &[Instant],
    queue: &mut BinaryHeap<Reverse<(i64, usize, usize)>>,
    a: usize,
    b: usize,
    window: i64,
) {
    let (x, y) = (&instants[a], &instants[b]);
    let bichromatic = (!x.calls.is_empty() && !y.records.is_empty())
        || (!x.records.is_empty() && !y.calls.is_empty());
    let distance = (y.at - x.at).abs();
    if bichromatic && distance <= window {
        queue.push(Reverse((distance, a, b)));
    }
}

/// Whether a queued pair still stands: the same instant with calls and
/// records open, or neighbours one of which holds calls, the other records.
fn live(instants: &[Instant], a: usize, b: usize) -> bool {
    let (x, y) = (&instants[a], &instants[b]);
    if a == b {
        return !x.calls.is_empty() && !x.records.is_empty();
    }
    x.next == Some(b)
        && ((!x.calls.is_empty() && !y.records.is_empty())
            || (!x.records.is_empty() && !y.calls.is_empty()))
}

/// A live pair as (the instant with calls, the instant with records).
fn oriented(instants: &[Instant], a: usize, b: usize) -> (usize, usize) {
    match instants[a].calls.is_empty() {
        true => (b, a),
        false => (a, b),
    }
}

/// Take the pairs of one distance: each whose call and record have no
/// other candidate at it; the rest, ties, set aside. Returns the instants
/// left empty.
fn settle(instants: &mut [Instant], level: &[(usize, usize)], out: &mut Assignment) -> Vec<usize> {
    // How many candidates each instant's points have at this distance.
    let mut call_degree: HashMap<usize, usize> = HashMap::new();
    let mut record_degree: HashMap<usize, usize> = HashMap::new();
    for &(c, r) in level {
        *call_degree.entry(c).or_default() += instants[r].records.len();
        *record_degree.entry(r).or_default() += instants[c].calls.len();
    }
    let mut touched = Vec::new();
    for &(c, r) in level {
        let unique = instants[c].calls.len() == 1
            && instants[r].records.len() == 1
            && call_degree[&c] == 1
            && record_degree[&r] == 1;
        if unique {
            let call = instants[c].calls.pop().expect("one call");
            let record = instants[r].records.pop().expect("one record");
            out.pairs.push((call, record));
        } else {
            out.ambiguous.append(&mut instants[c].calls);
            instants[r].records.clear();
        }
        touched.extend([c, r]);
    }
    touched.sort_unstable();
    touched.dedup();
    touched.retain(|&g| instants[g].is_empty());
    touched
}

/// Take the empty instant `g` out of the list, and queue its neighbours,
/// now adjacent.
fn unlink(
    instants: &mut [Instant],
    queue: &mut BinaryHeap<Reverse<(i64, usize, usize)>>,
    g: usize,
    window: i64,
) {
    let (prev, next) = (instants[g].prev, instants[g].next);
    if let Some(p) = prev {
        instants[p].next = next;
    }
    if let Some(n) = next {
        instants[n].prev = prev;
    }
    if let (Some(p), Some(n)) = (prev, next) {
        push_pair(instants, queue, p, n, window);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(calls: &[(i64, u32)], records: &[(i64, u32)]) -> Assignment {
        assign(calls, records, 100)
    }

    #[test]
    fn the_nearest_pair_is_taken_first_whatever_the_order() {
        // A record 95 s after one call and 5 s after another: the nearer.
        let a = pairs(&[(0, 1), (90, 2)], &[(95, 7)]);
        assert_eq!(a.pairs, [(2, 7)]);
        assert!(a.ambiguous.is_empty());
        let b = pairs(&[(90, 2), (0, 1)], &[(95, 7)]);
        assert_eq!(a, b);
        // A chain: each pair nearest first, then the next.
        let a = pairs(&[(0, 1), (10, 2), (40, 3)], &[(4, 7), (12, 8), (44, 9)]);
        assert_eq!(a.pairs, [(1, 7), (2, 8), (3, 9)]);
    }

    #[test]
    fn a_tie_is_never_guessed() {
        // Two identical calls and one record.
        let a = pairs(&[(50, 1), (50, 2)], &[(50, 7)]);
        assert!(a.pairs.is_empty());
        assert_eq!(a.ambiguous, [1, 2]);
        // A record midway between two calls.
        let a = pairs(&[(0, 1), (20, 2)], &[(10, 7)]);
        assert_eq!(a.ambiguous, [1, 2]);
        // A call midway between two records; a farther pair still joins.
        let a = pairs(&[(10, 1), (90, 2)], &[(0, 7), (20, 8), (95, 9)]);
        assert_eq!(a.pairs, [(2, 9)]);
        assert_eq!(a.ambiguous, [1]);
        // Out of the window: nothing.
        let a = pairs(&[(0, 1)], &[(500, 7)]);
        assert_eq!(a, Assignment::default());
    }

    #[test]
    fn a_million_points_of_one_fingerprint_take_n_log_n() {
        // A month of fixed-size embeddings: a call and its record a second apart.
        let calls: Vec<(i64, u32)> = (0..500_000).map(|i| (i * 2_000, i as u32)).collect();
        let records: Vec<(i64, u32)> = (0..500_000).map(|i| (i * 2_000 + 1, i as u32)).collect();
        let a = assign(&calls, &records, 300_000);
        assert_eq!(a.pairs.len(), 500_000);
        assert!(a.pairs.iter().all(|(c, r)| c == r));
    }
}
