//! Stage 2, tree: gather spans by trace, rebuild each trace's parent links
//! (whatever order the spans arrived in) and resolve, for every inference
//! call, the dimensions it inherits from its ancestors.
//!
//! An inference span with no join id whose subtree holds another inference
//! span, not below an agent or tool span, is a wrapper (a framework's span
//! around the SDK's), not a call of its own: it is counted, not listed as unbilled. Each run's outcome is its
//! root span's ([`Outcomes`]). Resolution is memoised and iterative (no
//! recursion), so a span is visited once however deep the tree, and a
//! parent cycle is detected, not looped on. The agents above a call are a
//! list shared with the enclosing invocations ([`Agents`]), so agents
//! nested N deep (a leaked context) take time and memory linear in N.

mod agents;
mod duplicates;
mod order;
mod outcomes;
mod thoughts;
mod walk;

pub use agents::{Agents, SharedAgents};
pub use outcomes::Outcomes;

use duplicates::drop_duplicate_spans;
use order::trace_order;
use walk::{AgentPaths, Walk};

use crate::dimension::PerDimension;
use crate::error::{Error, Result, Skips};
use crate::hash::{trace_hash, FastMap};
use crate::intern::{Interner, Sym};
use crate::model::{CallInfo, Origin, Role, Span};

/// The dimensions a call inherits from its ancestors-or-self.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dims {
    /// Each span dimension's value ([`crate::dimension::Dimension::FROM_SPANS`]; the model
    /// is the record's, `None` here): the tenant per `--tenant-attr` key in
    /// order, the nearest span carrying it; the feature, the nearest span
    /// carrying `--feature-attr`; the agent of the nearest `invoke_agent`
    /// span; the tool of the nearest `execute_tool` ancestor.
    pub values: PerDimension<Option<Sym>>,
    /// The outermost `invoke_agent` span's agent: the run's root agent.
    pub root_agent: Option<Sym>,
    /// Every distinct agent on the path from the call up to the root: the
    /// agents whose inclusive cost includes this call.
    pub agents: Agents,
}

/// An inference call with its resolved dimensions.
#[derive(Clone, Debug)]
pub struct Call {
    /// The run (trace) the call belongs to.
    pub trace_id: u128,
    /// The call's span id.
    pub span_id: u64,
    /// What the span said about the call: read by the join (and by a
    /// shard's partial, before it); where memory is tight, then released
    /// ([`Resolved::release_infos`]) for every call but the unbilled ones,
    /// which `unbilled_spans.csv` lists (in a spilled `report` or a
    /// `merge`, a call that found its record released them as its range or
    /// its batch of a partial was read: [`Resolved::found`]).
    pub info: Option<Box<CallInfo>>,
    /// Inherited dimensions.
    pub dims: Dims,
    /// The call's step (1-based) within its agent invocation:
    /// `gen_ai.agent.step` where the span gives it, else its position among
    /// the invocation's calls by start time (then span id).
    pub step: u32,
    /// Where the span was read.
    pub origin: Origin,
}

/// Spans gathered by trace, waiting for resolution.
#[derive(Debug, Default)]
pub struct Forest {
    traces: FastMap<u128, Vec<Span>>,
}

/// The outcome of resolving every trace.
#[derive(Debug, Default)]
pub struct Resolved {
    /// Every inference call, sorted by (trace id, span id).
    pub calls: Vec<Call>,
    /// Traces seen.
    pub traces: u64,
    /// Spans whose parent never appeared (resolved as roots).
    pub orphan_spans: u64,
    /// Spans seen more than once (the first copy is kept).
    pub duplicate_spans: u64,
    /// Inference spans without a join id that wrap another inference span
    /// (a framework span around the SDK span that carries the id): not calls.
    pub wrapper_spans: u64,
    /// Spans carrying a join attribute that are no model call (never
    /// joined).
    pub ids_not_calls: u64,
    /// Each run's outcome, from its root span.
    pub outcomes: Outcomes,
    /// Every trace id seen, for a shard's partial (`merge` tells a trace
    /// split between two shards by them); emptied once resolved otherwise.
    pub trace_ids: Vec<u128>,
    /// Memory is tight: the spans were spilled to disk (their state
    /// outgrew a sixth of `--memory-limit`), or the calls were read back
    /// from shard partials (`merge` holds a whole month's records and
    /// calls). Once joined, the month then releases what only the join
    /// reads, and writes the run answers before FOCUS and the charge lines.
    pub memory_tight: bool,
    /// Where the calls had their join ids looked up as they were read (a
    /// spilled `report`, range by range; a `merge`, a batch at a time):
    /// each call's record, in call order. The calls that found one
    /// released their span facts there and then.
    pub found: Option<Found>,
    /// Where those facts can be read again (the spilled ranges, kept until
    /// the join; the partials), for the calls the join lists unbilled
    /// ([`Resolved::restore_infos`]).
    pub reread: Option<Box<dyn Reread>>,
    /// The agent lists calls share ([`SharedAgents`]): each thread's run of
    /// traces its own (dropped once absorbed), and a merge's.
    pub shared_agents: SharedAgents,
}

/// Each call's record, where its join id found one, in call order.
pub type Found = crate::model::Refs;

/// Gives back the span facts of calls that released them before the join
/// ([`Resolved::found`]): a spilled month's ranges, kept on disk, or a
/// merge's partials.
pub trait Reread: std::fmt::Debug + Send + Sync {
    /// Put back the span facts of every call `wanted` holds
    /// ([`Wanted::take`]), its names interned in `interner`.
    fn restore(&mut self, wanted: &mut Wanted, interner: &mut Interner) -> Result<()>;
}

/// The calls whose span facts are read again, by trace and span id.
pub struct Wanted<'c> {
    calls: &'c mut [Call],
    slots: FastMap<(u128, u64), u32>,
}

impl Wanted<'_> {
    /// The traces of the calls still wanted.
    pub fn traces(&self) -> impl Iterator<Item = u128> + '_ {
        self.slots.keys().map(|&(trace, _)| trace)
    }

    /// Whether every call wanted has its facts back.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The call of `trace` and `span`, if it is wanted still (it is not
    /// once taken): its facts go into its `info`.
    pub fn take(&mut self, trace: u128, span: u64) -> Option<&mut Call> {
        let ci = self.slots.remove(&(trace, span))?;
        Some(&mut self.calls[ci as usize])
    }
}

/// What a span passes down to its children.
#[derive(Clone, Copy, Debug, Default)]
struct Inherited {
    tenant: Option<(u8, Sym)>,
    feature: Option<Sym>,
    /// Index of the nearest agent span.
    agent: Option<u32>,
    tool: Option<Sym>,
    /// Index of the nearest inference span.
    call: Option<u32>,
}

impl Call {
    /// What the span said about the call.
    ///
    /// # Panics
    /// For a call that released them: in a spilled `report`, every call
    /// that found its record, as its range was resolved (given back to
    /// those the join lists unbilled, [`Resolved::restore_infos`]); after
    /// [`Resolved::release_infos`], every call but the unbilled. Only the
    /// join (and a shard's partial, written before any join) reads every
    /// call's.
    pub fn info(&self) -> &CallInfo {
        self.info
            .as_deref()
            .expect("a call's span facts are read before the join releases them")
    }
}

impl Resolved {
    /// Release what the spans said about every call but those `kept`
    /// (call indexes): once joined, a call is its ids and dimensions, and
    /// the month holds millions of calls.
    pub fn release_infos(&mut self, kept: impl Iterator<Item = u32>) {
        let mut keep = vec![false; self.calls.len()];
        for ci in kept {
            keep[ci as usize] = true;
        }
        let released = (self.calls.iter_mut().zip(keep))
            .filter(|(_, keep)| !keep)
            .filter_map(|(call, _)| call.info.take())
            .collect();
        crate::shrink::free_in_address_order(released, |info| {
            std::ptr::from_ref::<CallInfo>(info) as usize
        });
    }

    /// Give the unbilled calls that released their span facts before the
    /// join (each found a record, but its id went to a call of another
    /// trace: [`crate::join::join`]'s rule) their facts back
    /// ([`Resolved::reread`], which then goes); `unbilled_spans.csv` lists
    /// them.
    pub fn restore_infos(
        &mut self,
        unbilled: impl Iterator<Item = u32>,
        interner: &mut Interner,
    ) -> Result<()> {
        let calls = &self.calls;
        let slots: FastMap<(u128, u64), u32> = unbilled
            .filter(|&ci| calls[ci as usize].info.is_none())
            .map(|ci| {
                (
                    (calls[ci as usize].trace_id, calls[ci as usize].span_id),
                    ci,
                )
            })
            .collect();
        let reread = self.reread.take();
        if slots.is_empty() {
            return Ok(());
        }
        let mut reread = reread.expect("span facts released before the join can be read again");
        let mut wanted = Wanted {
            calls: &mut self.calls,
            slots,
        };
        reread.restore(&mut wanted, interner)?;
        match wanted.slots.keys().next() {
            None => Ok(()),
            Some((trace, span)) => Err(Error::fatal(format!(
                "span {span:016x} of trace {trace:032x}: its span facts are not where they were \
                 read from any more ({reread:?}): were its files changed during the run?"
            ))),
        }
    }

    /// Sort the calls (and their records found) by (trace id, span id), and
    /// give back the vector's unused room (held to the end of the run).
    pub fn sort_calls(&mut self) {
        match self.found.take() {
            None => self.calls.sort_unstable_by_key(|c| (c.trace_id, c.span_id)),
            Some(mut found) => {
                let order = trace_order(&self.calls);
                let calls = &mut self.calls;
                crate::shrink::permute_by(order, |a, b| {
                    calls.swap(a, b);
                    found.swap(a, b);
                });
                self.found = Some(found);
            }
        }
        self.calls.shrink_to_fit();
    }

    /// Add the calls, counts and outcomes of traces resolved apart (the
    /// calls are left in their order: sort them once after the last).
    pub fn absorb(&mut self, other: Resolved) {
        self.calls.extend(other.calls);
        self.traces += other.traces;
        self.orphan_spans += other.orphan_spans;
        self.duplicate_spans += other.duplicate_spans;
        self.wrapper_spans += other.wrapper_spans;
        self.ids_not_calls += other.ids_not_calls;
        self.outcomes.extend(other.outcomes);
        self.trace_ids.extend(other.trace_ids);
        self.memory_tight |= other.memory_tight;
        debug_assert!(
            other.found.is_none(),
            "records found are set once all calls are in"
        );
    }
}

impl Forest {
    /// Add one span.
    pub fn insert(&mut self, span: Span) {
        self.traces.entry(span.trace_id).or_default().push(span);
    }

    /// Every span held, trace by trace, each trace's in the order added.
    pub fn into_spans(self) -> impl Iterator<Item = Span> {
        self.traces.into_values().flatten()
    }

    /// Resolve every trace into calls with dimensions, on up to `threads`
    /// threads. `describe` renders a span's origin for error messages.
    /// A trace with two root spans (a reused trace id) or a parent cycle is
    /// a record error: strict stops, `--lenient` counts it and resolves the
    /// trace anyway (each root on its own; a cycle cut where it closes).
    pub fn resolve(
        self,
        threads: usize,
        describe: impl Fn(Origin) -> String + Sync,
        skips: &mut Skips,
    ) -> Result<Resolved> {
        let mut out = self.resolve_unsorted(threads, describe, skips)?;
        out.sort_calls();
        Ok(out)
    }

    /// [`Forest::resolve`] with the calls left in trace order, for a caller
    /// that gathers several forests' calls and sorts them once
    /// ([`Resolved::sort_calls`]).
    pub fn resolve_unsorted(
        self,
        threads: usize,
        describe: impl Fn(Origin) -> String + Sync,
        skips: &mut Skips,
    ) -> Result<Resolved> {
        let mut out = Resolved::default();
        self.resolve_into(threads, describe, skips, &mut out)?;
        Ok(out)
    }

    /// [`Forest::resolve_unsorted`], the calls and counts added to `out`
    /// (the calls after those it holds).
    pub fn resolve_into(
        self,
        threads: usize,
        describe: impl Fn(Origin) -> String + Sync,
        skips: &mut Skips,
        out: &mut Resolved,
    ) -> Result<()> {
        out.traces += self.traces.len() as u64;
        let mut traces: Vec<(u128, Vec<Span>)> = self.traces.into_iter().collect();
        // Trace order decides which error is reported first: make it stable,
        // and the same whether the spans were spilled or not (by hash, as
        // `spill` cuts them, then id).
        traces.sort_unstable_by_key(|(id, _)| (trace_hash(*id), *id));
        out.trace_ids.extend(traces.iter().map(|(id, _)| *id));
        // Each thread resolves a run of consecutive traces, with skips of
        // its own; the runs are taken back in order, so the first problem
        // and the messages kept are those of one thread's resolution.
        let mut runs: Vec<Vec<(u128, Vec<Span>)>> =
            crate::threads::runs(traces.len(), threads, crate::threads::MIN_SHARE)
                .into_iter()
                .rev()
                .map(|run| traces.split_off(run.start))
                .collect();
        runs.reverse();
        let lenient = skips.is_lenient();
        let resolve_run = |run: Vec<(u128, Vec<Span>)>| {
            let (mut part, mut run_skips) = (Resolved::default(), Skips::new(lenient));
            let result = run.into_iter().try_for_each(|(trace_id, spans)| {
                resolve_trace(trace_id, spans, &mut part, &describe, &mut run_skips)
            });
            result.map(|()| (part, run_skips))
        };
        for part in crate::threads::in_order(runs, resolve_run) {
            let (part, run_skips) = part?;
            skips.absorb(&run_skips.by_kind, &run_skips.first);
            out.absorb(part);
        }
        Ok(())
    }
}

fn resolve_trace(
    trace_id: u128,
    mut spans: Vec<Span>,
    out: &mut Resolved,
    describe: &impl Fn(Origin) -> String,
    skips: &mut Skips,
) -> Result<()> {
    let error = |span: &Span, kind: &'static str, message: String| {
        let message = format!("trace {trace_id:032x}: {message}");
        Error::record_at(describe(span.origin), kind, message)
    };
    let index = drop_duplicate_spans(&mut spans, out, |kept, copy| {
        let message = format!(
            "span {:016x} is exported twice with different content (the first at {}): which \
             copy is right cannot be known",
            copy.span_id,
            describe(kept.origin)
        );
        skips.handle(error(copy, "conflicting-duplicate-span", message))
    })?;
    let (first_root, second) = two_lowest_roots(&spans);
    if let Some(outcome) = first_root.and_then(|root| root.outcome) {
        out.outcomes.insert(trace_id, outcome);
    }
    if let (Some(first), Some(second)) = (first_root, second) {
        let message = format!(
            "a second root span {:016x} (the first, {:016x}, is at {}): the trace id was reused",
            second.span_id,
            first.span_id,
            describe(first.origin)
        );
        skips.handle(error(second, "reused-trace-id", message))?;
    }
    let walk = Walk::down(&spans, &index, out, &mut |cycle| {
        let message = cycle_message(&spans, cycle, describe);
        skips.handle(error(&spans[cycle[0]], "parent-cycle", message))
    })?;
    let summed = walk::summed_by_agents(&spans, &index);
    let position = walk.positions(&spans, &summed);
    thoughts::pass_down(&mut spans, &walk.wrapped_by);
    let agent_names: Vec<Option<Sym>> = spans.iter().map(|s| s.agent).collect();
    let paths = AgentPaths::new(&spans, &walk.parent_agent);
    for (i, span) in spans.into_iter().enumerate() {
        let Some(info) = span.call.filter(|_| !summed[i]) else {
            out.ids_not_calls += u64::from(span.role == Role::IdOnly);
            continue;
        };
        if (walk.wraps[i] || walk.copies_named(i)) && info.join_key.is_none() {
            out.wrapper_spans += 1;
            continue;
        }
        let step = info.step.unwrap_or(position[i]);
        let inherited = walk.ctx[i];
        let agent = inherited.agent.map(|a| a as usize);
        let dims = Dims {
            values: PerDimension([
                inherited.tenant.map(|(_, t)| t),
                inherited.feature,
                agent.and_then(|a| agent_names[a]),
                inherited.tool,
                None,
            ]),
            root_agent: agent.and_then(|a| agent_names[paths.root[a] as usize]),
            agents: agent.map_or_else(Agents::default, |a| {
                out.shared_agents.shared(&paths.agents[a])
            }),
        };
        out.calls.push(Call {
            trace_id,
            span_id: span.span_id,
            info: Some(info),
            dims,
            step,
            origin: span.origin,
        });
    }
    Ok(())
}

/// A trace's two roots of the lowest span ids: the first's outcome is the
/// run's; a second (a trace id reused, kept under `--lenient`) is named
/// by its span id, whatever order the roots were read in.
fn two_lowest_roots(spans: &[Span]) -> (Option<&Span>, Option<&Span>) {
    let roots = || spans.iter().filter(|s| s.parent_id == 0);
    let first = roots().min_by_key(|s| s.span_id);
    let second = first.and_then(|f| {
        roots()
            .filter(|s| s.span_id != f.span_id)
            .min_by_key(|s| s.span_id)
    });
    (first, second)
}

/// A parent cycle (`cycle`: each span the parent of the one before) named
/// span by span, with where each was read (of a long one, the first three
/// and the last two).
fn cycle_message(spans: &[Span], cycle: &[usize], describe: &impl Fn(Origin) -> String) -> String {
    let at = |&i: &usize| format!("{:016x} at {}", spans[i].span_id, describe(spans[i].origin));
    let first = spans[cycle[0]].span_id;
    let mut chain: Vec<String> = cycle.iter().take(3).map(at).collect();
    if cycle.len() > 5 {
        chain.push(format!("… {} more", cycle.len() - 5));
    }
    chain.extend(
        cycle
            .iter()
            .skip(3.max(cycle.len().saturating_sub(2)))
            .map(at),
    );
    format!(
        "span {first:016x} is its own ancestor (parent cycle): {} → {first:016x}",
        chain.join(" → ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intern::Interner;

    /// A month of 10,000 traces, a root and a call each; every 997th trace
    /// has a second root (a reused trace id).
    fn month(names: &mut Interner) -> Forest {
        let model = names.intern("m");
        let mut forest = Forest::default();
        for t in 1..=10_000u128 {
            let span = |span_id, parent_id, line| Span {
                trace_id: t << 64 | t,
                span_id,
                parent_id,
                role: Role::Other,
                agent: None,
                tool: None,
                tenant: None,
                feature: None,
                outcome: None,
                call: None,
                origin: Origin { file: 0, line },
            };
            forest.insert(span(1, 0, 3 * t as u64));
            let mut call = span(2, 1, 3 * t as u64 + 1);
            call.role = Role::Call;
            call.call = Some(Box::new(CallInfo {
                join_key: Some(format!("req-{t}").into()),
                name: model,
                model: Some(model),
                input_tokens: Some(10),
                output_tokens: Some(1),
                reasoning_tokens: None,
                start_ns: 0,
                step: None,
            }));
            forest.insert(call);
            if t % 997 == 0 {
                forest.insert(span(3, 0, 3 * t as u64 + 2));
            }
        }
        forest
    }

    #[test]
    fn resolving_on_several_threads_gives_what_one_thread_gives() {
        let describe = |o: Origin| format!("spans.jsonl:{}", { o.line });
        let strict = |threads| {
            let mut skips = Skips::new(false);
            let result = month(&mut Interner::default()).resolve(threads, describe, &mut skips);
            result.unwrap_err().to_string()
        };
        assert_eq!(strict(1), strict(2));
        assert_eq!(strict(1), strict(3));
        let lenient = |threads| {
            let mut skips = Skips::new(true);
            let resolved = month(&mut Interner::default()).resolve(threads, describe, &mut skips);
            let resolved = resolved.unwrap();
            let calls: Vec<_> = resolved
                .calls
                .iter()
                .map(|c| (c.trace_id, c.span_id, c.step))
                .collect();
            (calls, resolved.trace_ids, skips.by_kind, skips.first)
        };
        let one = lenient(1);
        assert_eq!(one.0.len(), 10_000);
        assert_eq!(one.2.get("reused-trace-id"), Some(&10));
        assert_eq!(one, lenient(2));
        assert_eq!(one, lenient(3));
    }

    #[test]
    fn sorting_the_calls_moves_each_ones_record_along() {
        let mut skips = Skips::new(true);
        let forest = month(&mut Interner::default());
        let mut resolved = forest.resolve_unsorted(2, |_| String::new(), &mut skips);
        let resolved = resolved.as_mut().unwrap();
        resolved.calls.reverse();
        resolved.calls.rotate_left(3_333);
        // Each call's record: its trace's number, or none for every third.
        let record = |c: &Call| (!c.trace_id.is_multiple_of(3)).then_some(c.trace_id as u32);
        resolved.found = Some(resolved.calls.iter().map(record).collect());
        resolved.sort_calls();
        assert!(resolved.calls.is_sorted_by_key(|c| (c.trace_id, c.span_id)));
        let found = resolved.found.as_ref().unwrap();
        assert_eq!(*found, resolved.calls.iter().map(record).collect::<Found>());
    }
}
