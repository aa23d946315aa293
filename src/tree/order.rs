//! The order calls are put in once resolved: by trace id, then span id.

use super::Call;

/// The most stretches in order that [`trace_order`] merges.
const MERGED_STRETCHES: usize = 64;

/// The order of `calls` by (trace id, span id), ties to the earlier call.
/// Calls lying in a few stretches each in that order already (a merge's
/// partials, one a shard) are merged, with nothing held but the order;
/// else, for calls lying trace by trace, their runs of one trace are sorted
/// (24 bytes a run, not 32 a call; a trace's runs sort together), then
/// each trace's calls by span id.
pub(super) fn trace_order(calls: &[Call]) -> Vec<u32> {
    let key = |c: &Call| (c.trace_id, c.span_id);
    let mut starts = vec![0];
    for (i, pair) in calls.windows(2).enumerate() {
        if key(&pair[1]) < key(&pair[0]) {
            starts.push(i + 1);
            if starts.len() > MERGED_STRETCHES {
                return trace_runs_order(calls);
            }
        }
    }
    merged_order(calls, &starts)
}

/// The order of `calls`, lying in stretches in order from each of `starts`,
/// by (trace id, span id), ties to the earlier call.
fn merged_order(calls: &[Call], starts: &[usize]) -> Vec<u32> {
    use std::cmp::Reverse;
    // Each stretch's next call, with the end of its stretch.
    let key = |i: usize, end: usize| Reverse((calls[i].trace_id, calls[i].span_id, i, end));
    let ends = (starts[1..].iter().copied()).chain([calls.len()]);
    let mut next: std::collections::BinaryHeap<_> = (starts.iter().zip(ends))
        .filter(|(&start, end)| start < *end)
        .map(|(&start, end)| key(start, end))
        .collect();
    let mut order = Vec::with_capacity(calls.len());
    while let Some(Reverse((_, _, i, end))) = next.pop() {
        order.push(i as u32);
        if i + 1 < end {
            next.push(key(i + 1, end));
        }
    }
    order
}

/// [`trace_order`] for calls lying trace by trace.
fn trace_runs_order(calls: &[Call]) -> Vec<u32> {
    let mut runs: Vec<([u64; 2], u32, u32)> = Vec::new();
    for (i, call) in calls.iter().enumerate() {
        let trace = [(call.trace_id >> 64) as u64, call.trace_id as u64];
        match runs.last_mut() {
            Some((last, _, len)) if *last == trace => *len += 1,
            _ => runs.push((trace, i as u32, 1)),
        }
    }
    runs.sort_unstable();
    let mut order = Vec::with_capacity(calls.len());
    let mut trace: Vec<(u64, u32)> = Vec::new();
    for same_trace in runs.chunk_by(|a, b| a.0 == b.0) {
        trace.clear();
        for &(_, start, len) in same_trace {
            trace.extend((start..start + len).map(|i| (calls[i as usize].span_id, i)));
        }
        trace.sort_unstable();
        order.extend(trace.iter().map(|&(_, i)| i));
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Origin;
    use crate::tree::Dims;

    fn call(trace_id: u128, span_id: u64) -> Call {
        Call {
            trace_id,
            span_id,
            info: None,
            dims: Dims::default(),
            step: 1,
            origin: Origin { file: 0, line: 0 },
        }
    }

    #[test]
    fn stretches_in_order_merge_as_the_calls_sort() {
        // Three shards' calls, each in order; a (trace, span) in two of
        // them goes to the earlier call first.
        let shards: [&[(u128, u64)]; 3] = [
            &[(1, 5), (3, 1), (3, 2), (9, 1)],
            &[(0, 7), (3, 1), (4, 4)],
            &[(2, 2), (3, 0), (8, 8), (9, 0)],
        ];
        let calls: Vec<Call> = (shards.concat().iter()).map(|&(t, s)| call(t, s)).collect();
        let mut sorted: Vec<u32> = (0..calls.len() as u32).collect();
        sorted.sort_by_key(|&i| (calls[i as usize].trace_id, calls[i as usize].span_id, i));
        assert_eq!(merged_order(&calls, &[0, 4, 7]), sorted);
        assert_eq!(trace_order(&calls), sorted);
        assert_eq!(trace_runs_order(&calls), sorted);
        // Past the most stretches merged, the calls are sorted trace by trace.
        let reversed: Vec<Call> = (0..200u128).rev().map(|t| call(t, 1)).collect();
        let expected: Vec<u32> = (0..200u32).rev().collect();
        assert_eq!(trace_order(&reversed), expected);
    }
}
