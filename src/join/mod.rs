//! Stage 3, join: match inference calls to billed usage records on the
//! provider's request id. Every record ends up joined to exactly one call
//! or unattributed; every call not joined is listed as unbilled.

mod dedupe;
mod fingerprint;

pub use dedupe::dedupe;

use crate::hash::FastMap;

use crate::intern::Interner;
use crate::model::{bare_model, UsageRecord};
use crate::price::PriceTable;
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
                "ambiguous: another call or billed record fits its model, tokens and time as well"
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
/// joins a billed record, not joined by id, of the same model (the same
/// pricing-table entry: a span's requested alias `gpt-4o` meets the billed
/// snapshot `gpt-4o-2024-08-06`; else the same name as [`model_key`]
/// normalises it) and the same input and output token counts
/// whose time lies within `window_ns` of the call's start. Pairs are
/// decided for all calls at once, nearest first, and a tie is never
/// guessed ([`fingerprint`]).
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

/// Join calls (sorted by trace and span id) to records by request id. When
/// two spans carry the same id, the first in that order gets the record.
/// `outside` holds the ids of the records left out by `--period`, so that a
/// call billed in another month says so.
pub fn join(
    calls: &[Call],
    records: &[UsageRecord],
    outside: &[Box<str>],
    fingerprint: Option<(Fingerprint, &Interner, &PriceTable)>,
) -> Joined {
    let outside: FastMap<&str, ()> = outside.iter().map(|id| (&**id, ())).collect();
    // Every id a record is known by; a record's own request id wins over
    // another record's alternative id.
    let mut index: FastMap<&str, u32> =
        FastMap::with_capacity_and_hasher(records.len(), Default::default());
    for (i, r) in records.iter().enumerate() {
        if let Some(alt) = r.alt_request_id() {
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
    if let Some((fingerprint, interner, table)) = fingerprint {
        let names = (interner, table);
        fingerprint::join_by_fingerprint(calls, records, &mut joined, fingerprint, names);
    }
    joined
}
