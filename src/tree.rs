//! Stage 2, tree: gather spans by trace, rebuild each trace's parent links
//! (whatever order the spans arrived in) and resolve, for every inference
//! call, the dimensions it inherits from its ancestors.
//!
//! An inference span with no join id whose subtree holds another inference
//! span is a wrapper (a framework's span around the SDK's), not a call of its
//! own: it is counted, not listed as unbilled.
//!
//! Resolution is memoised and iterative (no recursion), so a span is visited
//! once however deep the tree, and a parent cycle is detected, not looped on.
//! The agents above a call are a list shared with the enclosing invocations
//! ([`Agents`]), so agents nested N deep (a leaked context) take time and
//! memory linear in N, not quadratic.

use std::sync::Arc;

use crate::hash::{trace_hash, FastMap};

use crate::dimension::PerDimension;
use crate::error::{Error, Result, Skips};
use crate::intern::Sym;
use crate::model::{CallInfo, Origin, Role, Span};

/// The dimensions a call inherits from its ancestors-or-self.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dims {
    /// Each span dimension's value ([`Dimension::FROM_SPANS`]; the model
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

/// The distinct agents on a path from a span up to its root, in no
/// particular order. The list is shared: an invocation's list is its
/// parent invocation's with at most one link added (its own agent, unless
/// an agent of that name is already above it), so every call and every
/// nested invocation holds one pointer, however deep the nesting.
#[derive(Clone, Default)]
pub struct Agents(Option<Arc<Link>>);

/// One link of [`Agents`].
struct Link {
    agent: Option<Sym>,
    up: Agents,
}

impl Agents {
    /// This list with `agent` added (it must not be in it already).
    pub fn with(&self, agent: Option<Sym>) -> Agents {
        let up = self.clone();
        Agents(Some(Arc::new(Link { agent, up })))
    }

    /// A list of distinct `agents`.
    pub fn of(agents: impl IntoIterator<Item = Option<Sym>>) -> Agents {
        agents
            .into_iter()
            .fold(Agents::default(), |list, agent| list.with(agent))
    }

    /// The agents, the last added first.
    pub fn iter(&self) -> impl Iterator<Item = Option<Sym>> + '_ {
        std::iter::successors(self.0.as_deref(), |link| link.up.0.as_deref()).map(|l| l.agent)
    }

    fn sorted(&self) -> Vec<Option<Sym>> {
        let mut agents: Vec<_> = self.iter().collect();
        agents.sort_unstable();
        agents
    }
}

impl Drop for Link {
    /// Unlink the links only this one holds one by one: dropping a list
    /// thousands of links long must not recurse once per link.
    fn drop(&mut self) {
        let mut next = self.up.0.take();
        while let Some(link) = next {
            next = Arc::try_unwrap(link)
                .ok()
                .and_then(|mut link| link.up.0.take());
        }
    }
}

impl PartialEq for Agents {
    /// The same agents, in any order.
    fn eq(&self, other: &Agents) -> bool {
        self.sorted() == other.sorted()
    }
}

impl Eq for Agents {}

impl std::fmt::Debug for Agents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// An inference call with its resolved dimensions.
#[derive(Clone, Debug)]
pub struct Call {
    /// The run (trace) the call belongs to.
    pub trace_id: u128,
    /// The call's span id.
    pub span_id: u64,
    /// What the span said about the call.
    pub info: Box<CallInfo>,
    /// Inherited dimensions.
    pub dims: Dims,
    /// The call's step (1-based) within its agent invocation:
    /// `gen_ai.agent.step` where the span gives it, else its position among
    /// the invocation's calls by start time (then input order).
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
    pub outcomes: FastMap<u128, Sym>,
    /// Every trace id seen (a shard's partial lists them, so `merge` can
    /// tell a trace split between two shards).
    pub trace_ids: Vec<u128>,
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

impl Resolved {
    /// Sort the calls by (trace id, span id), as [`Resolved::calls`] holds
    /// them, and give back the vector's unused room (they are held to the
    /// end of the run).
    pub fn sort_calls(&mut self) {
        self.calls.sort_unstable_by_key(|c| (c.trace_id, c.span_id));
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

    /// Resolve every trace into calls with dimensions. `describe` renders a
    /// span's origin for error messages.
    /// A trace with two root spans (a reused trace id) or a parent cycle is
    /// a record error: strict stops, `--lenient` counts it and resolves the
    /// trace anyway (each root on its own; a cycle cut where it closes).
    pub fn resolve(
        self,
        describe: impl Fn(Origin) -> String,
        skips: &mut Skips,
    ) -> Result<Resolved> {
        let mut out = self.resolve_unsorted(describe, skips)?;
        out.sort_calls();
        Ok(out)
    }

    /// [`Forest::resolve`] with the calls left in trace order, for a caller
    /// that gathers several forests' calls and sorts them once
    /// ([`Resolved::sort_calls`]).
    pub fn resolve_unsorted(
        self,
        describe: impl Fn(Origin) -> String,
        skips: &mut Skips,
    ) -> Result<Resolved> {
        let mut out = Resolved {
            traces: self.traces.len() as u64,
            ..Resolved::default()
        };
        let mut traces: Vec<(u128, Vec<Span>)> = self.traces.into_iter().collect();
        // Trace order decides which error is reported first: make it stable,
        // and the same whether the spans were spilled or not (by hash, as
        // `spill` cuts them, then id).
        traces.sort_unstable_by_key(|(id, _)| (trace_hash(*id), *id));
        out.trace_ids = traces.iter().map(|(id, _)| *id).collect();
        for (trace_id, spans) in traces {
            resolve_trace(trace_id, spans, &mut out, &describe, skips)?;
        }
        Ok(out)
    }
}

/// An inference span inside a wrapper that counted thinking tokens its own
/// output count leaves out (ADK's `call_llm`, whose raw Gemini response has
/// `thoughts_token_count`, around google-genai's `generate_content`) takes
/// the wrapper's output and reasoning counts: what the request was billed.
fn pass_thoughts_down(spans: &mut [Span], wrapped_by: &[Option<u32>]) {
    for (inner, outer) in wrapped_by.iter().enumerate() {
        let Some(outer) = outer.map(|o| o as usize) else {
            continue;
        };
        let Some(wrapper) = spans[outer].call.as_ref() else {
            continue;
        };
        let (Some(thoughts), Some(output)) = (wrapper.reasoning_tokens, wrapper.output_tokens)
        else {
            continue;
        };
        if let Some(call) = spans[inner].call.as_mut() {
            if call.reasoning_tokens.is_none()
                && call.output_tokens.map(|n| n + thoughts) == Some(output)
            {
                call.output_tokens = Some(output);
                call.reasoning_tokens = Some(thoughts);
            }
        }
    }
}

fn resolve_trace(
    trace_id: u128,
    mut spans: Vec<Span>,
    out: &mut Resolved,
    describe: &impl Fn(Origin) -> String,
    skips: &mut Skips,
) -> Result<()> {
    let error = |span: &Span, kind: &'static str, message: String| Error::Record {
        at: describe(span.origin),
        kind,
        message: format!("trace {trace_id:032x}: {message}"),
    };
    let index = drop_duplicate_spans(&mut spans, out);
    let mut roots = spans.iter().filter(|s| s.parent_id == 0);
    let first_root = roots.next();
    if let Some(outcome) = first_root.and_then(|root| root.outcome) {
        out.outcomes.insert(trace_id, outcome);
    }
    if let (Some(first), Some(second)) = (first_root, roots.next()) {
        let message = format!(
            "a second root span {:016x} (the first, {:016x}, is at {}): the trace id was reused",
            second.span_id,
            first.span_id,
            describe(first.origin)
        );
        skips.handle(error(second, "reused-trace-id", message))?;
    }
    let walk = Walk::down(&spans, &index, out, &mut |span, message| {
        skips.handle(error(span, "parent-cycle", message))
    })?;
    let position = walk.positions(&spans);
    pass_thoughts_down(&mut spans, &walk.wrapped_by);
    let agent_names: Vec<Option<Sym>> = spans.iter().map(|s| s.agent).collect();
    let paths = AgentPaths::new(&spans, &walk.parent_agent);
    for (i, span) in spans.into_iter().enumerate() {
        let Some(info) = span.call else {
            out.ids_not_calls += u64::from(span.role == Role::IdOnly);
            continue;
        };
        if walk.wraps[i] && info.join_key.is_none() {
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
            agents: agent.map_or_else(Agents::default, |a| paths.agents[a].clone()),
        };
        out.calls.push(Call {
            trace_id,
            span_id: span.span_id,
            info,
            dims,
            step,
            origin: span.origin,
        });
    }
    Ok(())
}

/// Keep the first copy of a span exported twice (counted in
/// `duplicate_spans`); the index from span id to position in `spans`.
fn drop_duplicate_spans(spans: &mut Vec<Span>, out: &mut Resolved) -> FastMap<u64, u32> {
    let mut index: FastMap<u64, u32> =
        FastMap::with_capacity_and_hasher(spans.len(), Default::default());
    let mut keep = vec![true; spans.len()];
    let mut duplicates = 0;
    for (i, span) in spans.iter().enumerate() {
        if let std::collections::hash_map::Entry::Vacant(slot) = index.entry(span.span_id) {
            slot.insert(i as u32);
        } else {
            keep[i] = false;
            duplicates += 1;
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
    index
}

/// What one walk down a trace's tree found for each span: what it inherits,
/// the nearest agent span above an agent span, and which inference spans
/// wrap another (an SDK span under a framework's).
struct Walk {
    ctx: Vec<Inherited>,
    parent_agent: Vec<Option<u32>>,
    wraps: Vec<bool>,
    wrapped_by: Vec<Option<u32>>,
}

impl Walk {
    /// Walk up from each span to a resolved ancestor or a root, then
    /// resolve downwards. A parent cycle goes to `on_cycle` and is cut
    /// where it closes; a missing parent counts an orphan span.
    fn down(
        spans: &[Span],
        index: &FastMap<u64, u32>,
        out: &mut Resolved,
        on_cycle: &mut impl FnMut(&Span, String) -> Result<()>,
    ) -> Result<Walk> {
        const UNSEEN: u8 = 0;
        const ON_PATH: u8 = 1;
        const DONE: u8 = 2;
        let mut state = vec![UNSEEN; spans.len()];
        let mut walk = Walk {
            ctx: vec![Inherited::default(); spans.len()],
            parent_agent: vec![None; spans.len()],
            wraps: vec![false; spans.len()],
            wrapped_by: vec![None; spans.len()],
        };
        let mut path = Vec::new();
        for start in 0..spans.len() {
            let mut cur = start;
            let mut base = Inherited::default();
            while state[cur] != DONE {
                if state[cur] == ON_PATH {
                    let id = spans[cur].span_id;
                    on_cycle(
                        &spans[cur],
                        format!("span {id:016x} is its own ancestor (parent cycle)"),
                    )?;
                    break;
                }
                state[cur] = ON_PATH;
                path.push(cur);
                let parent = spans[cur].parent_id;
                match (parent != 0).then(|| index.get(&parent)).flatten() {
                    Some(&p) => cur = p as usize,
                    None => {
                        out.orphan_spans += u64::from(parent != 0);
                        break;
                    }
                }
            }
            if state[cur] == DONE {
                base = walk.ctx[cur];
            }
            while let Some(node) = path.pop() {
                base = walk.inherit(&spans[node], node, base);
                state[node] = DONE;
            }
        }
        Ok(walk)
    }

    /// What span `node` holds, given what its parent holds.
    fn inherit(&mut self, span: &Span, node: usize, base: Inherited) -> Inherited {
        let mut own = base;
        if let Some((rank, value)) = span.tenant {
            if own.tenant.is_none_or(|(best, _)| rank <= best) {
                own.tenant = Some((rank, value));
            }
        }
        own.feature = span.feature.or(own.feature);
        match span.role {
            Role::Agent => {
                self.parent_agent[node] = base.agent;
                own.agent = Some(node as u32);
            }
            Role::Tool => own.tool = span.tool.or(own.tool),
            Role::Call => {
                // An inference span inside another one (an SDK span
                // under a framework's): the outer one only wraps it.
                if let Some(outer) = base.call {
                    self.wraps[outer as usize] = true;
                    self.wrapped_by[node] = Some(outer);
                }
                own.call = Some(node as u32);
            }
            Role::Other | Role::IdOnly => {}
        }
        self.ctx[node] = own;
        own
    }

    /// Each agent invocation's calls numbered by start time, then input
    /// order (a wrapper that only wraps is no call).
    fn positions(&self, spans: &[Span]) -> Vec<u32> {
        let is_call = |i: usize| {
            spans[i]
                .call
                .as_ref()
                .is_some_and(|c| !self.wraps[i] || c.join_key.is_some())
        };
        let mut order: Vec<usize> = (0..spans.len()).filter(|&i| is_call(i)).collect();
        order.sort_unstable_by_key(|&i| {
            let span = &spans[i];
            let start = span.call.as_ref().map_or(0, |c| c.start_ns);
            (self.ctx[i].agent, start, span.origin.file, span.origin.line)
        });
        let mut position = vec![0u32; spans.len()];
        for (n, &i) in order.iter().enumerate() {
            let first = n == 0 || self.ctx[order[n - 1]].agent != self.ctx[i].agent;
            position[i] = if first { 1 } else { position[order[n - 1]] + 1 };
        }
        position
    }
}

/// For every agent span of a trace: its [`Agents`] (itself and the agents
/// above it) and its outermost agent span, found in one walk down the tree
/// of agent spans that counts the agent names on the current path.
struct AgentPaths {
    agents: Vec<Agents>,
    root: Vec<u32>,
}

/// No span: the end of a child or sibling chain.
const NONE: u32 = u32::MAX;

impl AgentPaths {
    /// `parent_agent[i]`, for an agent span, is the nearest agent span
    /// above it (always resolved before it, so the links form a forest).
    fn new(spans: &[Span], parent_agent: &[Option<u32>]) -> AgentPaths {
        let n = spans.len();
        let names: Vec<Option<Sym>> = spans.iter().map(|s| s.agent).collect();
        let forest = AgentForest::new(spans, parent_agent);
        let mut paths = AgentPaths {
            agents: vec![Agents::default(); n],
            root: (0..n as u32).collect(),
        };
        // Depth first, each span entered (true) then left (false).
        let mut stack: Vec<(u32, bool)> = forest.roots.iter().map(|&r| (r, true)).collect();
        let mut on_path: FastMap<Option<Sym>, u32> = FastMap::default();
        while let Some((node, entering)) = stack.pop() {
            let i = node as usize;
            let count = on_path.entry(names[i]).or_default();
            if !entering {
                *count -= 1;
                continue;
            }
            let above = parent_agent[i].map(|p| p as usize);
            let inherited = above.map_or_else(Agents::default, |p| paths.agents[p].clone());
            paths.agents[i] = match *count {
                0 => inherited.with(names[i]),
                _ => inherited,
            };
            paths.root[i] = above.map_or(node, |p| paths.root[p]);
            *count += 1;
            stack.push((node, false));
            stack.extend(forest.children(node).map(|c| (c, true)));
        }
        paths
    }
}

/// The agent spans of a trace as a forest: each one's first child and next
/// sibling.
struct AgentForest {
    roots: Vec<u32>,
    first_child: Vec<u32>,
    next_sibling: Vec<u32>,
}

impl AgentForest {
    fn new(spans: &[Span], parent_agent: &[Option<u32>]) -> AgentForest {
        let n = spans.len();
        let mut forest = AgentForest {
            roots: Vec::new(),
            first_child: vec![NONE; n],
            next_sibling: vec![NONE; n],
        };
        for i in (0..n).filter(|&i| spans[i].role == Role::Agent) {
            match parent_agent[i] {
                Some(p) => {
                    forest.next_sibling[i] = forest.first_child[p as usize];
                    forest.first_child[p as usize] = i as u32;
                }
                None => forest.roots.push(i as u32),
            }
        }
        forest
    }

    fn children(&self, node: u32) -> impl Iterator<Item = u32> + '_ {
        let first = Some(self.first_child[node as usize]).filter(|&c| c != NONE);
        std::iter::successors(first, |&c| {
            Some(self.next_sibling[c as usize]).filter(|&s| s != NONE)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intern::Interner;

    #[test]
    fn agent_lists_are_shared_compared_as_sets_and_dropped_without_recursion() {
        let mut names = Interner::default();
        let (a, b) = (Some(names.intern("a")), Some(names.intern("b")));
        let outer = Agents::of([a]);
        let inner = outer.with(b);
        assert_eq!(inner.iter().collect::<Vec<_>>(), [b, a]);
        assert_eq!(inner, Agents::of([b, a]));
        assert_ne!(inner, outer);
        // A list 300,000 agents long: each link is freed in a loop.
        let long = Agents::of((0..300_000).map(|i| Some(names.intern(&i.to_string()))));
        assert_eq!(long.iter().count(), 300_000);
        drop(long);
    }
}
