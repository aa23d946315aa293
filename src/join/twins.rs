//! Records that look like one request billed twice: a record no span
//! joined whose model (the pricing table's entry: an alias meets its dated
//! snapshot) and token counts (all input, cache reads and writes
//! included, and all output: formats split them differently) equal,
//! within [`TWIN_WINDOW_NS`], those of a record of another usage format
//! that did join. Two sources describing one request under two ids (a
//! gateway's own id beside the provider's) are not de-duplicated by id,
//! and the second copy lies unattributed; this finds such pairs. Files of one format (daily files, a gateway's replicas) are
//! never compared: one source does not bill one request twice.

use std::collections::{HashMap, HashSet};

use super::CallOf;
use crate::intern::Sym;
use crate::model::UsageRecord;

/// How far apart two copies of one request may lie: the fingerprint
/// join's default window (a gateway logs the start, a provider the end).
pub const TWIN_WINDOW_NS: i64 = 300 * 1_000_000_000;

/// What two copies of one request share: input and output tokens, and
/// model.
type Shape = ([u64; 2], u32);

/// Per shape and format, the records no span joined, by time, then by
/// their five counts (records at one time are taken by what they are, not
/// by where they were read), and the first of them not yet taken or passed.
type Lonely<'f> = HashMap<(Shape, &'f str), (Vec<(i64, [u64; 5], usize)>, usize)>;

/// The pairs (a record no span joined, its twin that joined), each record
/// in one pair at most: the joined records taken in time order, each the
/// earliest untaken twin within the window. `formats` is each input file's
/// format, by its place. None unless the records come in two formats.
pub fn twins(
    records: &[UsageRecord],
    (unattributed, call_of): (&[usize], &CallOf),
    formats: &[&'static str],
    model_of: &dyn Fn(&UsageRecord) -> String,
) -> Vec<(usize, usize)> {
    let format = |r: &UsageRecord| formats.get(r.origin.file as usize).copied().unwrap_or("");
    let first = records.first().map(format);
    if unattributed.is_empty() || records.iter().all(|r| Some(format(r)) == first) {
        return Vec::new();
    }
    let mut names: HashMap<String, u32> = HashMap::new();
    let mut models: HashMap<(Sym, Sym), u32> = HashMap::new();
    let mut shape = |r: &UsageRecord| {
        let c = r.tokens.counts();
        let counts = [c[0] + c[1] + c[2] + c[3], c[4]];
        let model = *models.entry((r.provider, r.model)).or_insert_with(|| {
            let next = names.len() as u32;
            *names.entry(model_of(r)).or_insert(next)
        });
        counts.iter().any(|&n| n > 0).then_some((counts, model))
    };
    let mut lonely: Lonely = HashMap::new();
    for &i in unattributed {
        if let Some(s) = shape(&records[i]) {
            let list = &mut lonely.entry((s, format(&records[i]))).or_default().0;
            list.push((records[i].timestamp.nanos(), records[i].tokens.counts(), i));
        }
    }
    lonely
        .values_mut()
        .for_each(|(list, _)| list.sort_unstable());
    let mut kinds: Vec<&str> = lonely.keys().map(|(_, f)| *f).collect();
    kinds.sort_unstable();
    kinds.dedup();
    // Only the joined records of a shape some lonely record has are held.
    let wanted: HashSet<Shape> = lonely.keys().map(|(s, _)| *s).collect();
    let mut joined: Vec<(i64, usize, Shape)> = (0..records.len())
        .filter(|&j| call_of.get(j).is_some())
        .filter_map(|j| Some((j, shape(&records[j]).filter(|s| wanted.contains(s))?)))
        .map(|(j, s)| (records[j].timestamp.nanos(), j, s))
        .collect();
    joined.sort_unstable();
    let mut pairs = Vec::new();
    for (at, j, s) in joined {
        // The earliest twin, of any other format: at one time, one whose
        // five counts are the joined record's, else the one of the least
        // counts; then of the format first by name.
        let own = records[j].tokens.counts();
        let mut earliest: Option<(Rank, &str, usize)> = None;
        for &kind in kinds.iter().filter(|&&k| k != format(&records[j])) {
            let Some((list, next)) = lonely.get_mut(&(s, kind)) else {
                continue;
            };
            let Some((rank, at_k)) = first_untaken(list, next, at, own) else {
                continue;
            };
            // Kinds are visited by name: the first of equal rank is kept.
            if earliest.is_none_or(|e| rank < e.0) {
                earliest = Some((rank, kind, at_k));
            }
        }
        if let Some((_, kind, k)) = earliest {
            // Taken: moved to the front of the untaken (the rest of its
            // time kept in order), then passed.
            let (list, next) = lonely.get_mut(&(s, kind)).expect("found above");
            list[*next..=k].rotate_right(1);
            pairs.push((list[*next].2, j));
            *next += 1;
        }
    }
    pairs.sort_unstable();
    pairs
}

/// Where twins are ranked: time, then whether the counts differ from the
/// joined record's, then the counts.
type Rank = (i64, bool, [u64; 5]);

/// The first untaken record of `list` from `next` (moved past those too
/// early) within the window around `at`, its rank and place: at one time,
/// one whose five counts are `own` before the first of that time.
fn first_untaken(
    list: &[(i64, [u64; 5], usize)],
    next: &mut usize,
    at: i64,
    own: [u64; 5],
) -> Option<(Rank, usize)> {
    while list
        .get(*next)
        .is_some_and(|&(t, ..)| t < at.saturating_sub(TWIN_WINDOW_NS))
    {
        *next += 1;
    }
    let &(t, ..) = list.get(*next)?;
    let mut same_time = (*next..list.len()).take_while(|&k| list[k].0 == t);
    let k = same_time.find(|&k| list[k].1 == own).unwrap_or(*next);
    let (t, counts, _) = list[k];
    (t <= at.saturating_add(TWIN_WINDOW_NS)).then_some(((t, counts != own, counts), k))
}
