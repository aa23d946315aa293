//! De-duplication of usage records: one request seen twice, by one source
//! or by two, is billed once, whichever file was read first.

use hashbrown::HashTable;

use super::{entry_id, ALTERNATIVE};
use crate::error::{Error, Result};
use crate::hash::{hash_of, part_of_hash, FastMap};
use crate::model::{Origin, RequestIds, Tier, TokenType, UsageRecord};
use crate::read::usage::UsageFormat;

/// Drop usage records that repeat another (returning how many were
/// dropped), so each request is billed once. Which copy stays never
/// depends on the order the files were read in:
/// - one source seeing a request twice (the same request id, one format):
///   the rows must be identical, else it is an error that shows both;
/// - two sources seeing one request (one's request id is the other's id or
///   alternative id: a canonical `req-1` and an OpenRouter record whose
///   `upstream_id` is `req-1`), whose names for the model may differ: they
///   must count the same tokens in all. Equal in every token class, the
///   record of the source that tells more classes apart stays, then by
///   [`UsageFormat::precedence`] (canonical CSV, Bedrock's log, LiteLLM,
///   OpenRouter). Split differently, the finer record stays when the other
///   is it as the coarser source would count it (classes it cannot tell
///   apart, such as OpenRouter's cache writes, counted as uncached input);
///   any other difference is an error naming both. A service tier one
///   source states (not standard) is the kept record's; two that state
///   different tiers are an error, however many records the request has;
/// - a record meeting a request seen before is compared with every earlier
///   record of it from its own source, not only with the one kept so far
///   (two OpenRouter generations naming one upstream request are an error
///   whichever source was read first); a record whose two ids lead to two
///   requests kept apart so far (a Bedrock log's request id and message
///   id) makes them one.
///
/// `describe` names a record's file and line, `source` its file's format;
/// `threads` search for repeated ids first ([`any_id_repeated`]), the
/// records being left as they are when there are none.
pub fn dedupe(
    (records, ids): (&mut Vec<UsageRecord>, &mut RequestIds),
    describe: impl Fn(Origin) -> String,
    source: impl Fn(Origin) -> UsageFormat,
    threads: usize,
) -> Result<u64> {
    if !any_id_repeated(records, ids, threads) {
        return Ok(0);
    }
    let mut requests = Requests {
        kept: FastMap::with_capacity_and_hasher(records.len(), Default::default()),
        groups: FastMap::default(),
        drop: vec![false; records.len()],
    };
    let billed = (&records[..], &*ids);
    for (i, record) in billed.0.iter().enumerate() {
        let own = record.ids(ids.get(i));
        // The requests this record's ids lead to (its request id and its
        // alternative one may lead to two, each kept by another record).
        let mut met: Vec<(&str, usize)> = Vec::new();
        for id in own.clone() {
            match requests.kept.get(id) {
                Some(&j) if !met.iter().any(|&(_, k)| k == j) => met.push((id, j)),
                _ => {}
            }
        }
        if met.is_empty() {
            for id in own {
                requests.kept.insert(id, i);
            }
            continue;
        }
        let mut current = i;
        for (id, j) in met {
            current = requests.merge((current, j), id, billed, (&describe, &source))?;
        }
    }
    let Requests { groups, drop, .. } = requests;
    let mut groups: Vec<(usize, Vec<usize>)> = groups
        .into_iter()
        .map(|(stays, g)| (stays, g.members))
        .collect();
    groups.sort_unstable();
    let mut stated = Vec::new();
    for (stays, members) in &mut groups {
        members.sort_unstable();
        stated.push((*stays, stated_tier(members, records, &describe)?));
    }
    for (at, tier) in stated {
        records[at].service.tier = tier;
    }
    let dropped = drop.iter().filter(|&&d| d).count() as u64;
    ids.retain_with(records, |i| !drop[i]);
    Ok(dropped)
}

/// The requests met so far: which record each id leads to (the one its
/// request keeps), and every record of each request met more than once.
struct Requests<'r> {
    kept: FastMap<&'r str, usize>,
    groups: FastMap<usize, Group>,
    drop: Vec<bool>,
}

/// The records of one request met more than once, and the first of each
/// source among them (a group's records of one source are identical:
/// anything else is an error when they meet), which stand for them all.
struct Group {
    members: Vec<usize>,
    firsts: Vec<(UsageFormat, usize)>,
}

impl Group {
    /// The group of record `m` alone.
    fn of(m: usize, format: UsageFormat) -> Group {
        Group {
            members: vec![m],
            firsts: vec![(format, m)],
        }
    }

    /// `other`'s records added: the first of each source is the earlier.
    fn take(&mut self, other: Group) {
        for (format, m) in other.firsts {
            match self.firsts.iter_mut().find(|(f, _)| *f == format) {
                Some((_, first)) => *first = (*first).min(m),
                None => self.firsts.push((format, m)),
            }
        }
        self.members.extend(other.members);
    }
}

impl<'r> Requests<'r> {
    /// One request's two groups of records, kept by `x` and `y` and met
    /// by `id`, made one: the records of one compared with the records of
    /// the other from their own source, dropped or not (so whether they
    /// meet never depends on which stays), each source's by its first
    /// ([`Group`]); of the two kept records, the one [`later_stays`]
    /// chooses stays. Every id of the request then leads to it; only the
    /// group that loses its keeper is led anew, so a request repeated
    /// 100,000 times is merged in linear time. Returns the record that
    /// stays.
    fn merge(
        &mut self,
        (x, y): (usize, usize),
        id: &str,
        (records, ids): (&'r [UsageRecord], &'r RequestIds),
        (describe, source): (&impl Fn(Origin) -> String, &impl Fn(Origin) -> UsageFormat),
    ) -> Result<usize> {
        let mut group = |k: usize| {
            let alone = || Group::of(k, source(records[k].origin));
            self.groups.remove(&k).unwrap_or_else(alone)
        };
        let (of_x, of_y) = (group(x), group(y));
        let pair = |k: usize| (&records[k], ids.get(k));
        for &(format, m) in &of_x.firsts {
            for &(_, n) in of_y.firsts.iter().filter(|(f, _)| *f == format) {
                later_stays(id, pair(m.min(n)), pair(m.max(n)), describe, source)?;
            }
        }
        let (earlier, later) = (x.min(y), x.max(y));
        let stays = match later_stays(id, pair(earlier), pair(later), describe, source)? {
            true => later,
            false => earlier,
        };
        self.drop[earlier + later - stays] = true;
        let (mut kept, moved) = match stays == x {
            true => (of_x, of_y),
            false => (of_y, of_x),
        };
        // The keeper's own ids (a record met for the first time has none
        // in the map yet), and every id of the group it takes over.
        for &m in std::iter::once(&stays).chain(&moved.members) {
            for id in records[m].ids(ids.get(m)) {
                self.kept.insert(id, stays);
            }
        }
        kept.take(moved);
        self.groups.insert(stays, kept);
        Ok(stays)
    }
}

/// The service tier of one request seen by several records: the one they
/// state (standard is what a source that states none reads as), the same
/// whichever stays; two that state different tiers are an error naming
/// both.
fn stated_tier(
    members: &[usize],
    records: &[UsageRecord],
    describe: &impl Fn(Origin) -> String,
) -> Result<Tier> {
    let mut stated = members
        .iter()
        .map(|&m| &records[m])
        .filter(|r| r.service.tier != Tier::Standard);
    let Some(first) = stated.next() else {
        return Ok(Tier::Standard);
    };
    match stated.find(|r| r.service.tier != first.service.tier) {
        None => Ok(first.service.tier),
        Some(other) => Err(Error::fatal(format!(
            "{}: one request in service tier {}, and at {} in service tier {}; a request is \
             billed once, so one of the two rows is wrong",
            describe(other.origin),
            other.service.tier.key(),
            describe(first.origin),
            first.service.tier.key()
        ))),
    }
}

/// Whether any two records share an id (a request id or an alternative
/// one): most months have none. The ids are cut by hash into one part per
/// thread; each thread walks every record and looks for repeats among its
/// part's ids (a million-record month's de-duplication spent a second on
/// one core finding nothing), in a table of record numbers, 4 bytes an
/// id, each id read from the records when compared (as the join's
/// [`super::IdIndex`]; a table of 24-byte entries missed the cache at
/// every id).
pub(super) fn any_id_repeated(records: &[UsageRecord], ids: &RequestIds, threads: usize) -> bool {
    if records.len() >= ALTERNATIVE as usize {
        // Past what a record number holds (before `--period` leaves
        // records out, which may bring them under it): searched in full.
        return true;
    }
    let count = crate::threads::id_parts(records.len(), threads);
    let id_of = |entry: u32| entry_id((records, ids), entry);
    let found = crate::threads::in_order((0..count).collect(), |part| {
        let mut first: HashTable<u32> = HashTable::with_capacity(records.len() / count);
        for (i, r) in records.iter().enumerate() {
            let i = i as u32;
            let alt = r.alt_request_id().map(|id| (id, i | ALTERNATIVE));
            for (id, entry) in std::iter::once((ids.get(i as usize), i)).chain(alt) {
                let hash = hash_of(id);
                if part_of_hash(hash, count) != part {
                    continue;
                }
                match first.find(hash, |&e| id_of(e) == id) {
                    Some(&e) if e & !ALTERNATIVE != i => return true,
                    Some(_) => {}
                    None => {
                        first.insert_unique(hash, entry, |&e| hash_of(id_of(e)));
                    }
                }
            }
        }
        false
    });
    found.into_iter().any(|repeated| repeated)
}

/// Of two records of one request, whether the later one read stays (see
/// [`dedupe`]); an error when neither may.
fn later_stays(
    id: &str,
    (earlier, earlier_id): (&UsageRecord, &str),
    (later, later_id): (&UsageRecord, &str),
    describe: &impl Fn(Origin) -> String,
    source: &impl Fn(Origin) -> UsageFormat,
) -> Result<bool> {
    let (fa, fb) = (source(earlier.origin), source(later.origin));
    let refuse = |why: &str| {
        Err(Error::fatal(format!(
            "{}: request_id {id} already appeared at {} {why}; a request is billed once, so one of \
             the two rows is wrong",
            describe(later.origin),
            describe(earlier.origin)
        )))
    };
    let identical = earlier_id == later_id
        && UsageRecord {
            origin: later.origin,
            ..earlier.clone()
        } == *later;
    if fa == fb {
        return match identical {
            true => Ok(false),
            false => refuse("with different values"),
        };
    }
    let (a, b) = (earlier.tokens.counts(), later.tokens.counts());
    if a.iter().sum::<u64>() != b.iter().sum::<u64>() {
        return refuse(&format!(
            "({}) counting other tokens than this {}",
            fa.name(),
            fb.name()
        ));
    }
    let detail = |f: UsageFormat| {
        let told = f.expresses().iter().filter(|&&t| t).count();
        (std::cmp::Reverse(told), f.precedence())
    };
    if a == b {
        return Ok(detail(fb) < detail(fa));
    }
    if fold(a, fb.expresses()) == b {
        return Ok(false);
    }
    if fold(b, fa.expresses()) == a {
        return Ok(true);
    }
    refuse(&format!(
        "({}) splitting the same tokens otherwise than this {}, beyond what either cannot tell apart",
        fa.name(),
        fb.name()
    ))
}

/// `tokens` as a source telling only the classes `expresses` marks would
/// count them: the others counted as uncached input.
fn fold(tokens: [u64; 5], expresses: [bool; 5]) -> [u64; 5] {
    let mut folded = tokens;
    for t in TokenType::ALL.into_iter().filter(|t| !expresses[t.index()]) {
        folded[TokenType::Input.index()] += folded[t.index()];
        folded[t.index()] = 0;
    }
    folded
}
