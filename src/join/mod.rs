//! Stage 3, join: match inference calls to billed usage records on the
//! provider's request id, then by fingerprint (model, tokens, nearest time;
//! [`fingerprint`]) where spans carry no id, one request given twice
//! found by [`twins`]. Every record ends up joined to exactly one call
//! or unattributed; every call not joined is listed as unbilled.

mod dedupe;
mod fingerprint;
pub mod twins;

pub use dedupe::dedupe;

use hashbrown::HashTable;

use crate::hash::{hash_of, part_of, part_of_hash, FastMap};

use crate::intern::Interner;
use crate::model::{bare_model, Billed, UsageRecord};
use crate::price::PriceTable;
use crate::threads::MIN_SHARE;
use crate::tree::{Call, Found};

/// Why a call has no usage record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unbilled {
    /// The span carries no join attribute.
    NoJoinKey,
    /// No join attribute, and the billed records fitting its model and
    /// tokens went to nearer calls or lie outside the fingerprint window.
    NoFingerprintLeft,
    /// No usage record has the span's id.
    NoRecord,
    /// The span's usage record falls outside `--period`.
    OutsidePeriod,
    /// A call of another trace claimed the id: one whose spans name more of
    /// the tenant, feature, agent and tool, or as many and earlier in
    /// trace/span id order.
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
            Unbilled::NoFingerprintLeft => {
                "no join attribute on span; the billed records fitting its model and tokens went \
                 to nearer calls or lie outside the fingerprint window"
            }
            Unbilled::NoRecord => "no usage record with this id",
            Unbilled::OutsidePeriod => "outside --period",
            Unbilled::AlreadyJoined => "id already joined to another span",
            Unbilled::Ambiguous => {
                "ambiguous: another call or billed record fits its model, tokens and time as well"
            }
        }
    }
}

/// The records `--period` left out, as the join weighs them: every one's
/// ids (and alternative ids), so a call naming one is billed in another
/// month; and the records within [`NEAR_PERIOD_NS`] of the period's edges,
/// each with its ids, so a call the fingerprint join finds nearest to one
/// of them is billed in that month too, never joined to the next nearest
/// record of this one.
#[derive(Debug, Default)]
pub struct Outside {
    /// Every left-out record's ids.
    pub ids: Vec<Box<str>>,
    /// The left-out records near the period's edges, with their ids.
    pub near: Vec<(UsageRecord, Vec<Box<str>>)>,
}

/// How far outside the period a record is weighed by the fingerprint join:
/// a day, far beyond its window (five minutes by default).
pub const NEAR_PERIOD_NS: i64 = 86_400 * 1_000_000_000;

/// For each usage record, the index of its call, if any (4 bytes).
pub type CallOf = crate::model::Refs;

/// The outcome of the join.
#[derive(Debug)]
pub struct Joined {
    /// For each usage record, the index of its call, if any.
    pub call_of: CallOf,
    /// Calls without a usage record, with the reason.
    pub unbilled: Vec<(u32, Unbilled)>,
    /// Records joined by fingerprint rather than by id.
    pub by_fingerprint: u64,
    /// Inference spans that repeat another of the same trace with the same
    /// id (one span per event, as BeeAI writes them): one request, counted
    /// once and listed nowhere.
    pub repeats: u64,
    /// Calls whose span carries a join attribute.
    pub keyed_calls: u64,
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

/// Every id a record is known by, to its record: a record's own request id
/// wins over another record's alternative id. The ids are cut by hash into
/// one part per thread, each part built on its own thread from every
/// record in order, so each holds what one map built in order would. An
/// entry is a record's number ([`ALTERNATIVE`] set where it stands for the
/// record's alternative id), its id read from the records when compared: 4
/// bytes an id, not a 16-byte reference to it beside the number (a
/// 3.4-million-record month's index: about 21 MiB, not 105).
pub struct IdIndex<'r> {
    parts: Vec<HashTable<u32>>,
    records: Billed<'r>,
}

/// The bit of an [`IdIndex`] entry that says its id is the record's
/// alternative id.
const ALTERNATIVE: u32 = 1 << 31;

impl<'r> IdIndex<'r> {
    /// The index of `records`' ids (theirs in `ids`, and their
    /// alternative ids), built on `threads` threads.
    pub fn new((records, ids): Billed<'r>, threads: usize) -> IdIndex<'r> {
        assert!(
            records.len() < ALTERNATIVE as usize,
            "a month's records are fewer than pipeline::usage::MAX_RECORDS"
        );
        let count = crate::threads::id_parts(records.len(), threads);
        let index = IdIndex {
            parts: Vec::new(),
            records: (records, ids),
        };
        let parts = crate::threads::in_order((0..count).collect(), |part| {
            let mut table = HashTable::with_capacity(records.len() / count);
            let alts = records
                .iter()
                .enumerate()
                .filter_map(|(i, r)| Some((r.alt_request_id()?, i as u32 | ALTERNATIVE)));
            let own = (ids.iter().enumerate()).map(|(i, id)| (id, i as u32));
            for (id, entry) in alts.chain(own) {
                let hash = hash_of(id);
                if part_of_hash(hash, count) != part {
                    continue;
                }
                match table.find_mut(hash, |&e| index.id(e) == id) {
                    Some(slot) => *slot = entry,
                    None => {
                        table.insert_unique(hash, entry, |&e| hash_of(index.id(e)));
                    }
                }
            }
            table
        });
        IdIndex { parts, ..index }
    }

    /// The id an entry stands for.
    fn id(&self, entry: u32) -> &'r str {
        entry_id(self.records, entry)
    }

    /// The record each call's join id names, if any, in call order.
    pub fn look_up(&self, calls: &[Call], threads: usize) -> Found {
        let runs = crate::threads::runs(calls.len(), threads, MIN_SHARE);
        let found = crate::threads::in_order(runs, |run| {
            calls[run]
                .iter()
                .map(|c| c.info().join_key.as_deref().and_then(|key| self.get(key)))
                .collect::<Found>()
        });
        found.into_iter().flatten().collect()
    }

    /// [`IdIndex::look_up`], and the calls that found their record
    /// release what their spans said (the join reads the record found
    /// instead, [`join`]'s `found`; an unbilled one takes its facts back,
    /// [`crate::tree::Resolved::restore_infos`]).
    pub fn look_up_releasing(&self, calls: &mut [Call], threads: usize) -> Found {
        let found = self.look_up(calls, threads);
        for (call, _) in calls
            .iter_mut()
            .zip(found.iter())
            .filter(|(_, f)| f.is_some())
        {
            call.info = None;
        }
        found
    }

    fn get(&self, id: &str) -> Option<u32> {
        let part = part_of(id, self.parts.len());
        let found = self.parts[part].find(hash_of(id), |&e| self.id(e) == id);
        found.map(|&e| e & !ALTERNATIVE)
    }
}

/// The id an entry of a table of record numbers stands for: the record's
/// request id, or its alternative id where the entry has [`ALTERNATIVE`].
fn entry_id<'r>((records, ids): Billed<'r>, entry: u32) -> &'r str {
    let record = (entry & !ALTERNATIVE) as usize;
    match entry & ALTERNATIVE {
        0 => ids.get(record),
        _ => (records[record].alt_request_id()).expect("an alternative id's record has one"),
    }
}

/// A model name as the fingerprint compares it: [`bare_model`], in lower
/// case.
pub fn model_key(model: &str) -> String {
    bare_model(model).to_ascii_lowercase()
}

/// How many span dimensions (tenant, feature, agent, tool) a call's spans
/// name: of two traces' calls claiming one id, the one naming more is the
/// request's.
fn named(call: &Call) -> usize {
    call.dims.values.iter().filter(|(_, v)| v.is_some()).count()
}

/// Join calls (sorted by trace and span id) to records by request id. When
/// two spans carry the same id, the first in that order gets the record.
/// `outside` holds the records left out by `--period` ([`Outside`]), so
/// that a call billed in another month says so. The index is built and the ids
/// looked up on `threads` threads, unless `found` holds each call's record
/// already ([`IdIndex::look_up_releasing`] as a spilled month's ranges or a
/// merge's partials were read: a call that found one may have released
/// its span facts); which call gets which record is then decided on one,
/// in call order.
pub fn join(
    calls: &[Call],
    (records, ids): Billed<'_>,
    (left_out, threads, found): (&Outside, usize, Option<Found>),
    fingerprint: Option<(Fingerprint, &Interner, &PriceTable)>,
) -> Joined {
    let mut outside: FastMap<&str, bool> = left_out.ids.iter().map(|id| (&**id, false)).collect();
    let found =
        found.unwrap_or_else(|| IdIndex::new((records, ids), threads).look_up(calls, threads));
    let mut call_of = CallOf::none(records.len());
    let mut unbilled = Vec::new();
    let mut repeats = 0;
    let mut keyed_calls = 0;
    // Ids with no record, per trace, so a repeat of one is counted once.
    let mut seen: FastMap<(u128, &str), ()> = FastMap::default();
    for (ci, (call, found)) in calls.iter().zip(found).enumerate() {
        let ci = ci as u32;
        // A call that found its record may have released its span facts:
        // its id is not read again.
        if let Some(ri) = found {
            keyed_calls += 1;
            match call_of.get(ri as usize) {
                Some(first) if calls[first as usize].trace_id == call.trace_id => repeats += 1,
                // Two traces claim one id (a gateway's own trace beside its
                // client's): the call whose spans name more dimensions
                // takes it; at equal, the first in call order.
                Some(first) if named(call) > named(&calls[first as usize]) => {
                    unbilled.push((first, Unbilled::AlreadyJoined));
                    call_of.set(ri as usize, ci);
                }
                Some(_) => unbilled.push((ci, Unbilled::AlreadyJoined)),
                None => call_of.set(ri as usize, ci),
            }
            continue;
        }
        let Some(key) = call.info().join_key.as_deref() else {
            unbilled.push((ci, Unbilled::NoJoinKey));
            continue;
        };
        keyed_calls += 1;
        if seen.insert((call.trace_id, key), ()).is_some() {
            repeats += 1;
        } else if let Some(taken) = outside.get_mut(key) {
            *taken = true;
            unbilled.push((ci, Unbilled::OutsidePeriod));
        } else {
            unbilled.push((ci, Unbilled::NoRecord));
        }
    }
    unbilled.sort_unstable_by_key(|&(ci, _)| ci);
    let mut joined = Joined {
        call_of,
        unbilled,
        by_fingerprint: 0,
        repeats,
        keyed_calls,
    };
    if let Some((fingerprint, interner, table)) = fingerprint {
        // The left-out records near the edges that no call took by id.
        let near: Vec<&UsageRecord> = (left_out.near.iter())
            .filter(|(_, ids)| !ids.iter().any(|id| outside.get(&**id) == Some(&true)))
            .map(|(record, _)| record)
            .collect();
        let names = (interner, table);
        let records = (records, &near[..]);
        fingerprint::join_by_fingerprint(calls, records, &mut joined, fingerprint, names);
    }
    joined
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::{BilledRequest, Origin, Rare, RequestIds, Service, Tokens, UsageRecord};

    /// The records of `billed`, and their ids apart.
    pub(crate) fn split(
        billed: impl IntoIterator<Item = BilledRequest>,
    ) -> (Vec<UsageRecord>, RequestIds) {
        let mut ids = RequestIds::default();
        let records = billed
            .into_iter()
            .map(|b| {
                assert!(ids.push(&b.request_id));
                b.record
            })
            .collect();
        (records, ids)
    }

    /// A billed record with the id `id` (and `alt`), for tests.
    pub(crate) fn record(
        interner: &mut Interner,
        id: String,
        alt: Option<String>,
    ) -> BilledRequest {
        let record = UsageRecord {
            timestamp: crate::model::Timestamp::from_nanos(0),
            provider: interner.intern("openai"),
            model: interner.intern("gpt-4o"),
            tokens: Tokens::default(),
            service: Service::default(),
            tenant_hint: None,
            labels: Default::default(),
            origin: Origin { file: 0, line: 1 },
            rare: Rare {
                alt_request_id: alt.map(Into::into),
                ..Rare::default()
            }
            .boxed(),
        };
        BilledRequest {
            request_id: id.into(),
            record,
        }
    }

    #[test]
    fn a_repeated_id_is_found_whatever_the_threads() {
        // Unique ids, one record also known by its own id: nothing repeats;
        // then a later record known by an earlier one's id, as its own or
        // as its alternative id.
        let mut interner = Interner::default();
        let n = 3 * MIN_SHARE;
        let mut records: Vec<BilledRequest> = (0..n)
            .map(|i| {
                let alt = (i == 9).then(|| "req-9".to_string());
                record(&mut interner, format!("req-{i}"), alt)
            })
            .collect();
        let repeated = |billed: &[BilledRequest]| {
            let (records, ids) = split(billed.iter().cloned());
            let found: Vec<bool> = [1, 2, 3]
                .map(|threads| dedupe::any_id_repeated(&records, &ids, threads))
                .into();
            assert!(found.windows(2).all(|w| w[0] == w[1]), "{found:?}");
            found[0]
        };
        assert!(!repeated(&records));
        records.push(record(&mut interner, "up-1".into(), Some("req-5".into())));
        assert!(repeated(&records));
        records.pop();
        records.push(record(&mut interner, "req-7".into(), None));
        assert!(repeated(&records));
    }

    #[test]
    fn the_index_cut_over_threads_finds_what_one_map_finds() {
        // Every third record is also known by the next record's id, which
        // that record's own id must win; the last 100 records repeat the
        // first 100 ids, which the later record must win.
        let mut interner = Interner::default();
        let n = 3 * MIN_SHARE;
        let (records, ids) = split((0..n).map(|i| {
            let id = format!("req-{}", i % (n - 100));
            let alt = (i % 3 == 0).then(|| format!("req-{}", i + 1));
            record(&mut interner, id, alt)
        }));
        let one = IdIndex::new((&records, &ids), 1);
        assert_eq!(one.get("req-1"), Some((n - 100 + 1) as u32));
        assert_eq!(one.get(&format!("req-{}", n - 2)), Some((n - 3) as u32));
        assert_eq!(one.get("req-none"), None);
        for threads in [2, 3] {
            let cut = IdIndex::new((&records, &ids), threads);
            assert_eq!(cut.parts.len(), threads);
            for (i, r) in records.iter().enumerate() {
                for id in r.ids(ids.get(i)) {
                    assert_eq!(cut.get(id), one.get(id), "{id} on {threads} threads");
                }
            }
        }
    }
}
