//! Work split over threads, its results taken back in the work's order:
//! what keeps every output the same for any number of threads.

use std::ops::Range;

/// Fewer items than this (traces, postings, records, calls) are not worth
/// a thread of their own: starting one costs more than it saves.
pub const MIN_SHARE: usize = 4096;

/// `0..len` cut into consecutive runs, one per thread, each at least
/// `least` long (the last may be shorter); a single empty run when `len`
/// is 0.
pub fn runs(len: usize, threads: usize, least: usize) -> Vec<Range<usize>> {
    let share = len.div_ceil(threads.max(1)).max(least).max(1);
    let runs: Vec<Range<usize>> = (0..len)
        .step_by(share)
        .map(|start| start..(start + share).min(len))
        .collect();
    if runs.is_empty() {
        return std::iter::once(0..0).collect();
    }
    runs
}

/// How many parts `items` ids are cut into by hash, one per thread, each
/// at least [`MIN_SHARE`] long but the one part of a short list.
pub fn id_parts(items: usize, threads: usize) -> usize {
    threads.clamp(1, (items / MIN_SHARE).max(1))
}

/// `f` on every job, each on a thread of its own (a single job on this
/// one), the results in the jobs' order.
pub fn in_order<J: Send, R: Send>(jobs: Vec<J>, f: impl Fn(J) -> R + Sync) -> Vec<R> {
    if jobs.len() <= 1 {
        return jobs.into_iter().map(f).collect();
    }
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = jobs
            .into_iter()
            .map(|job| scope.spawn(move || f(job)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a worker thread does not panic"))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_cover_every_index_once_in_order() {
        let single = |run| std::iter::once(run).collect::<Vec<_>>();
        assert_eq!(runs(0, 2, 4), single(0..0));
        assert_eq!(runs(10, 2, 4), [0..5, 5..10]);
        assert_eq!(runs(10, 3, 4), [0..4, 4..8, 8..10]);
        assert_eq!(runs(10, 2, 100), single(0..10));
        assert_eq!(in_order(vec![3, 1, 2], |x| x * 10), [30, 10, 20]);
    }
}
