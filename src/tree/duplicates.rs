//! A span exported twice in one trace (a Collector retrying, two
//! pipelines writing one span): one copy is kept and the others counted
//! (of a call's copies whose starts differ within a microsecond, as an
//! OTLP and a Jaeger export of it do, the earliest start, so the join and
//! the steps never depend on which file was read first); a copy that says
//! something else is not a copy, and which one is right cannot be known.

use super::Resolved;
use crate::error::Result;
use crate::hash::FastMap;
use crate::model::{CallInfo, Span};

/// Keep one copy of a span exported twice (the first read; of a call's,
/// the earliest start), counting the others in `duplicate_spans`; the
/// index from span id to position in `spans`. A copy that differs from
/// the kept one in anything but where it was read is handed to `conflict`
/// (an error; under `--lenient` counted, and the first kept).
pub(super) fn drop_duplicate_spans(
    spans: &mut Vec<Span>,
    out: &mut Resolved,
    mut conflict: impl FnMut(&Span, &Span) -> Result<()>,
) -> Result<FastMap<u64, u32>> {
    let mut index: FastMap<u64, u32> =
        FastMap::with_capacity_and_hasher(spans.len(), Default::default());
    let mut keep = vec![true; spans.len()];
    let mut duplicates = 0;
    for (i, span) in spans.iter().enumerate() {
        match index.entry(span.span_id) {
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(i as u32);
            }
            std::collections::hash_map::Entry::Occupied(mut first) => {
                let at = *first.get() as usize;
                let kept = &spans[at];
                let same = same_content(kept, span);
                if !same {
                    conflict(kept, span)?;
                }
                // Copies a part of a microsecond apart: the earlier start
                // is kept, whichever file was read first.
                let dropped = match same && start(span) < start(kept) {
                    true => std::mem::replace(first.get_mut(), i as u32) as usize,
                    false => i,
                };
                keep[dropped] = false;
                duplicates += 1;
            }
        }
    }
    if duplicates > 0 {
        out.duplicate_spans += duplicates;
        let mut k = keep.iter();
        spans.retain(|_| *k.next().unwrap());
        index = spans
            .iter()
            .enumerate()
            .map(|(i, s)| (s.span_id, i as u32))
            .collect();
    }
    Ok(index)
}

/// A call span's start (0 for other spans, whose copies are alike).
fn start(span: &Span) -> u64 {
    span.call.as_ref().map_or(0, |c| c.start_ns)
}

/// Whether two copies of a span say the same, wherever each was read.
fn same_content(a: &Span, b: &Span) -> bool {
    let Span {
        trace_id,
        span_id,
        parent_id,
        role,
        agent,
        tool,
        tenant,
        feature,
        outcome,
        call,
        origin: _,
    } = a;
    (*trace_id, *span_id, *parent_id, role, agent, tool)
        == (
            b.trace_id,
            b.span_id,
            b.parent_id,
            &b.role,
            &b.agent,
            &b.tool,
        )
        && (tenant, feature, outcome) == (&b.tenant, &b.feature, &b.outcome)
        && match (call, &b.call) {
            (Some(a), Some(b)) => same_call(a, b),
            (a, b) => a.is_none() && b.is_none(),
        }
}

/// Whether two copies of a call say the same; their starts to the
/// microsecond (a Jaeger export holds no finer).
fn same_call(a: &CallInfo, b: &CallInfo) -> bool {
    if a.start_ns / 1_000 != b.start_ns / 1_000 {
        return false;
    }
    let mut b = b.clone();
    b.start_ns = a.start_ns;
    *a == b
}
