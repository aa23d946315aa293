//! Records that look like one request billed twice: a record no span
//! joined whose token counts (every type, and the reasoning count) equal,
//! within [`TWIN_WINDOW_NS`], those of a record from another usage file
//! that did join. Two sources describing one request under two ids (a
//! gateway's own id beside the provider's) are not de-duplicated by id,
//! and the second copy lies unattributed; this finds such pairs.

use std::collections::HashMap;

use super::CallOf;
use crate::model::UsageRecord;

/// How far apart two copies of one request may lie: the fingerprint
/// join's default window (a gateway logs the start, a provider the end).
pub const TWIN_WINDOW_NS: i64 = 300 * 1_000_000_000;

/// The pairs (a record no span joined, its twin that joined), each record
/// in one pair at most, the nearest in time first taken, in record order.
/// None unless the records come from two usage files or more.
pub fn twins(
    records: &[UsageRecord],
    unattributed: &[usize],
    call_of: &CallOf,
) -> Vec<(usize, usize)> {
    let mut files = records.iter().map(|r| r.origin.file);
    let first = files.next();
    if unattributed.is_empty() || files.all(|f| Some(f) == first) {
        return Vec::new();
    }
    let key = |r: &UsageRecord| {
        let c = r.tokens.counts();
        let key = [c[0], c[1], c[2], c[3], c[4], r.tokens.reasoning()];
        (key.iter().any(|&n| n > 0)).then_some(key)
    };
    let mut lonely: HashMap<[u64; 6], Vec<(i64, usize)>> = HashMap::new();
    for &i in unattributed {
        if let Some(k) = key(&records[i]) {
            lonely
                .entry(k)
                .or_default()
                .push((records[i].timestamp.nanos(), i));
        }
    }
    lonely.values_mut().for_each(|v| v.sort_unstable());
    let mut taken = vec![false; records.len()];
    let mut pairs = Vec::new();
    for (j, joined) in records.iter().enumerate() {
        let Some(candidates) = call_of.get(j).and(key(joined)).and_then(|k| lonely.get(&k)) else {
            continue;
        };
        let at = joined.timestamp.nanos();
        let from = candidates.partition_point(|&(t, _)| t < at.saturating_sub(TWIN_WINDOW_NS));
        let nearest = (candidates[from..].iter())
            .take_while(|&&(t, _)| t <= at.saturating_add(TWIN_WINDOW_NS))
            .filter(|&&(_, i)| !taken[i] && records[i].origin.file != joined.origin.file)
            .min_by_key(|&&(t, i)| (t.abs_diff(at), i));
        if let Some(&(_, i)) = nearest {
            taken[i] = true;
            pairs.push((i, j));
        }
    }
    pairs.sort_unstable();
    pairs
}
