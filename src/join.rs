//! Stage 3, join: match inference calls to billed usage records on the
//! provider's request id. Every record ends up joined to exactly one call
//! or unattributed; every call not joined is listed as unbilled.

use crate::hash::FastMap;

use std::collections::{BTreeSet, HashMap};

use crate::error::{Error, Result};
use crate::intern::Interner;
use crate::model::{bare_model, Origin, TokenType, UsageRecord};
use crate::tree::Call;

/// Why a call has no usage record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unbilled {
    /// The span carries no join attribute.
    NoJoinKey,
    /// No usage record has the span's id.
    NoRecord,
    /// The span's usage record falls outside `--period`.
    OutsidePeriod,
    /// Another span (earlier in trace/span id order) already claimed the id.
    AlreadyJoined,
    /// No id joined, and several billed records fit its fingerprint (model,
    /// tokens, time) equally well: never guessed.
    Ambiguous,
}

impl Unbilled {
    /// The reason as written in `unbilled_spans.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Unbilled::NoJoinKey => "no join attribute on span",
            Unbilled::NoRecord => "no usage record with this id",
            Unbilled::OutsidePeriod => "outside --period",
            Unbilled::AlreadyJoined => "id already joined to another span",
            Unbilled::Ambiguous => {
                "ambiguous: several billed records fit its model, tokens and time"
            }
        }
    }
}

/// The outcome of the join.
#[derive(Debug)]
pub struct Joined {
    /// For each usage record, the index of its call, if any.
    pub call_of: Vec<Option<u32>>,
    /// Calls without a usage record, with the reason.
    pub unbilled: Vec<(u32, Unbilled)>,
    /// Records joined by fingerprint rather than by id.
    pub by_fingerprint: u64,
    /// Inference spans that repeat another of the same trace with the same
    /// id (one span per event, as BeeAI writes them): one request, counted
    /// once and listed nowhere.
    pub repeats: u64,
}

/// The fingerprint join: a call with no id, or whose id matches no record,
/// joins the one billed record, not joined by id, of the same model (as
/// [`model_key`] normalises it) and the same input and output token counts
/// whose time lies within `window_ns` of the call's start: the nearest in
/// time, never a tie.
#[derive(Clone, Copy, Debug)]
pub struct Fingerprint {
    /// How far apart a call's start and its record's time may be.
    pub window_ns: i64,
}

/// A model name as the fingerprint compares it: [`bare_model`], in lower
/// case.
pub fn model_key(model: &str) -> String {
    bare_model(model).to_ascii_lowercase()
}

/// Drop usage records that repeat an earlier record (returning how many
/// were dropped), so each request is billed once:
/// - the same request id twice: the rows must be identical, else it is an
///   error that shows both;
/// - one source's request id as another's alternative id (a canonical
///   `req-1` and an OpenRouter record whose `upstream_id` is `req-1`): one
///   request seen by two sources, whose names for the model may differ; the
///   two must count the same tokens, else it is an error.
pub fn dedupe(records: &mut Vec<UsageRecord>, describe: impl Fn(Origin) -> String) -> Result<u64> {
    let mut first: FastMap<&str, usize> =
        FastMap::with_capacity_and_hasher(records.len(), Default::default());
    let mut drop = vec![false; records.len()];
    for (i, r) in records.iter().enumerate() {
        let ids = std::iter::once(&*r.request_id).chain(r.alt_request_id.as_deref());
        let Some((id, j)) = ids.clone().find_map(|id| first.get(id).map(|&j| (id, j))) else {
            for id in ids {
                first.insert(id, i);
            }
            continue;
        };
        let earlier = &records[j];
        let same = if earlier.request_id == r.request_id {
            (UsageRecord {
                origin: r.origin,
                ..earlier.clone()
            }) == *r
        } else {
            earlier.tokens.0.iter().sum::<u64>() == r.tokens.0.iter().sum::<u64>()
        };
        if !same {
            return Err(Error::fatal(format!(
                "{}: request_id {id} already appeared at {} with different values; \
                 a request is billed once, so one of the two rows is wrong",
                describe(r.origin),
                describe(earlier.origin)
            )));
        }
        drop[i] = true;
    }
    let dropped = drop.iter().filter(|&&d| d).count() as u64;
    let mut d = drop.iter();
    records.retain(|_| !*d.next().unwrap());
    Ok(dropped)
}

/// Join calls (sorted by trace and span id) to records by request id. When
/// two spans carry the same id, the first in that order gets the record.
/// `outside` holds the ids of the records left out by `--period`, so that a
/// call billed in another month says so.
pub fn join(
    calls: &[Call],
    records: &[UsageRecord],
    outside: &[Box<str>],
    fingerprint: Option<(Fingerprint, &Interner)>,
) -> Joined {
    let outside: FastMap<&str, ()> = outside.iter().map(|id| (&**id, ())).collect();
    // Every id a record is known by; a record's own request id wins over
    // another record's alternative id.
    let mut index: FastMap<&str, u32> =
        FastMap::with_capacity_and_hasher(records.len(), Default::default());
    for (i, r) in records.iter().enumerate() {
        if let Some(alt) = r.alt_request_id.as_deref() {
            index.insert(alt, i as u32);
        }
    }
    for (i, r) in records.iter().enumerate() {
        index.insert(&r.request_id, i as u32);
    }
    let mut call_of: Vec<Option<u32>> = vec![None; records.len()];
    let mut unbilled = Vec::new();
    let mut repeats = 0;
    // Ids with no record, per trace, so a repeat of one is counted once.
    let mut seen: FastMap<(u128, &str), ()> = FastMap::default();
    for (ci, call) in calls.iter().enumerate() {
        let ci = ci as u32;
        let Some(key) = call.info.join_key.as_deref() else {
            unbilled.push((ci, Unbilled::NoJoinKey));
            continue;
        };
        match index.get(key) {
            None if seen.insert((call.trace_id, key), ()).is_some() => repeats += 1,
            None if outside.contains_key(key) => unbilled.push((ci, Unbilled::OutsidePeriod)),
            None => unbilled.push((ci, Unbilled::NoRecord)),
            Some(&ri) => match call_of[ri as usize] {
                Some(first) if calls[first as usize].trace_id == call.trace_id => repeats += 1,
                Some(_) => unbilled.push((ci, Unbilled::AlreadyJoined)),
                None => call_of[ri as usize] = Some(ci),
            },
        }
    }
    let mut joined = Joined {
        call_of,
        unbilled,
        by_fingerprint: 0,
        repeats,
    };
    if let Some((fingerprint, interner)) = fingerprint {
        join_by_fingerprint(calls, records, &mut joined, fingerprint, interner);
    }
    joined
}

/// A call's or record's fingerprint: model, input tokens (cached ones
/// included), output tokens.
type Print = (String, u64, u64);

/// Join what the ids left, by fingerprint (see [`Fingerprint`]). The open
/// records of each fingerprint are kept sorted by time, so finding a call's
/// nearest is a logarithmic lookup however many records share a
/// fingerprint (a month of fixed-size embeddings), and a record taken is
/// removed.
fn join_by_fingerprint(
    calls: &[Call],
    records: &[UsageRecord],
    joined: &mut Joined,
    fingerprint: Fingerprint,
    interner: &Interner,
) {
    let mut open: HashMap<Print, BTreeSet<(i64, usize)>> = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        if joined.call_of[i].is_none() {
            let input = r.tokens.prompt();
            let print = (
                model_key(interner.get(r.model)),
                input,
                r.tokens.get(TokenType::Output),
            );
            let at = r.timestamp.timestamp_nanos_opt().unwrap_or(0);
            open.entry(print).or_default().insert((at, i));
        }
    }
    let mut still = Vec::with_capacity(joined.unbilled.len());
    for &(ci, why) in &joined.unbilled {
        let info = &calls[ci as usize].info;
        let print = match (info.model, info.input_tokens, info.output_tokens) {
            (Some(m), Some(input), Some(output))
                if matches!(why, Unbilled::NoJoinKey | Unbilled::NoRecord) && info.start_ns > 0 =>
            {
                (model_key(interner.get(m)), input, output)
            }
            _ => {
                still.push((ci, why));
                continue;
            }
        };
        let Some(bucket) = open.get_mut(&print) else {
            still.push((ci, why));
            continue;
        };
        match nearest(bucket, info.start_ns as i64, fingerprint.window_ns) {
            Nearest::One(entry) => {
                bucket.remove(&entry);
                joined.call_of[entry.1] = Some(ci);
                joined.by_fingerprint += 1;
            }
            Nearest::Tie => still.push((ci, Unbilled::Ambiguous)),
            Nearest::None => still.push((ci, why)),
        }
    }
    joined.unbilled = still;
}

/// What a fingerprint found.
enum Nearest {
    One((i64, usize)),
    Tie,
    None,
}

/// The open record nearest in time to `at`, within `window`: the first at
/// or after `at` and the last before it are the only candidates; two at
/// one distance (on either side, or at one instant) are a tie.
fn nearest(bucket: &BTreeSet<(i64, usize)>, at: i64, window: i64) -> Nearest {
    let mut after = bucket.range((at, 0)..);
    let mut before = bucket.range(..(at, 0)).rev();
    let (a, b) = (after.next().copied(), before.next().copied());
    let distance =
        |e: Option<(i64, usize)>| e.map(|(t, _)| (t - at).abs()).filter(|d| *d <= window);
    let (da, db) = (distance(a), distance(b));
    let best = match (da, db) {
        (None, None) => return Nearest::None,
        (Some(x), Some(y)) if x == y => return Nearest::Tie,
        (Some(x), Some(y)) if y < x => (b, before.next()),
        (Some(_), _) => (a, after.next()),
        (None, Some(_)) => (b, before.next()),
    };
    match best {
        // Another record at the very same instant.
        (Some(e), Some(next)) if next.0 == e.0 => Nearest::Tie,
        (Some(e), _) => Nearest::One(e),
        (None, _) => Nearest::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(n: Nearest) -> Option<(i64, usize)> {
        match n {
            Nearest::One(e) => Some(e),
            _ => None,
        }
    }

    #[test]
    fn the_nearest_record_in_time_wins_and_a_tie_is_never_guessed() {
        let bucket: BTreeSet<(i64, usize)> =
            [(100, 0), (200, 1), (260, 2), (400, 3), (400, 4)].into();
        assert_eq!(one(nearest(&bucket, 210, 50)), Some((200, 1)));
        assert_eq!(one(nearest(&bucket, 245, 50)), Some((260, 2)));
        assert!(matches!(nearest(&bucket, 150, 50), Nearest::Tie)); // 100 and 200
        assert!(matches!(nearest(&bucket, 390, 50), Nearest::Tie)); // two at 400
        assert!(matches!(nearest(&bucket, 1000, 50), Nearest::None));
    }

    #[test]
    fn a_million_records_of_one_fingerprint_stay_logarithmic() {
        // A month of fixed-size embeddings: one fingerprint, a record a
        // second. Each call takes its own record, one lookup each.
        let mut bucket: BTreeSet<(i64, usize)> = (0..1_000_000)
            .map(|i| (i * 1_000_000_000, i as usize))
            .collect();
        for i in 0..1_000_000i64 {
            let e = one(nearest(&bucket, i * 1_000_000_000 + 1, 300_000_000_000)).unwrap();
            assert_eq!(e.1, i as usize);
            bucket.remove(&e);
        }
    }
}
