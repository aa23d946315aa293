//! One walk down a trace's tree ([`Walk`]): what each span inherits, and
//! the chain of agents above each agent span ([`AgentPaths`]).

use super::{Agents, Inherited, Resolved};
use crate::error::Result;
use crate::hash::FastMap;
use crate::intern::Sym;
use crate::model::{Role, Span};

/// What one walk down a trace's tree found for each span: what it inherits,
/// the nearest agent span above an agent span, and which inference spans
/// wrap another (an SDK span under a framework's).
pub(super) struct Walk {
    pub(super) ctx: Vec<Inherited>,
    pub(super) parent_agent: Vec<Option<u32>>,
    pub(super) wraps: Vec<bool>,
    pub(super) wrapped_by: Vec<Option<u32>>,
    /// Whether an inference span, or one it is inside, has a join id.
    named: Vec<bool>,
}

impl Walk {
    /// Walk up from each span (by span id) to a resolved ancestor or a
    /// root, then resolve downwards. A parent cycle goes to `on_cycle` (its
    /// spans, each the parent of the one before) and is cut where it closes (above the first of its spans reached from the
    /// lowest span id); a missing parent counts an orphan span.
    pub(super) fn down(
        spans: &[Span],
        index: &FastMap<u64, u32>,
        out: &mut Resolved,
        on_cycle: &mut impl FnMut(&[usize]) -> Result<()>,
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
            named: vec![false; spans.len()],
        };
        let mut path = Vec::new();
        // Walked up from the lowest span id first, a parent cycle is cut in
        // one place whatever order its spans were read in.
        let mut starts: Vec<u32> = (0..spans.len() as u32).collect();
        starts.sort_unstable_by_key(|&i| spans[i as usize].span_id);
        for start in starts {
            let mut cur = start as usize;
            let mut base = Inherited::default();
            while state[cur] != DONE {
                if state[cur] == ON_PATH {
                    let from = path.iter().position(|&p| p == cur).expect("on the path");
                    on_cycle(&path[from..])?;
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
            // An agent or tool span under a call (ADK 1.x runs a tool, an
            // `AgentTool`'s sub-agent too, under the `call_llm` that asked
            // for it): calls below it are its own, never the SDK's span of
            // the call above, which therefore wraps nothing.
            Role::Agent => {
                self.parent_agent[node] = base.agent;
                own.agent = Some(node as u32);
                own.call = None;
            }
            Role::Tool => {
                own.tool = span.tool.or(own.tool);
                own.call = None;
            }
            Role::Call => {
                // An inference span inside another one (an SDK span
                // under a framework's): the outer one only wraps it.
                if let Some(outer) = base.call {
                    self.wraps[outer as usize] = true;
                    self.wrapped_by[node] = Some(outer);
                }
                let has_id = span.call.as_ref().is_some_and(|c| c.join_key.is_some());
                self.named[node] = has_id || base.call.is_some_and(|o| self.named[o as usize]);
                own.call = Some(node as u32);
            }
            Role::Other | Role::IdOnly => {}
        }
        self.ctx[node] = own;
        own
    }

    /// Whether inference span `i` is inside one that has a join id (a
    /// framework's span with the response id around the SDK's without
    /// it): where `i` has none itself, it is that request, no call of its
    /// own.
    pub(super) fn copies_named(&self, i: usize) -> bool {
        self.wrapped_by[i].is_some_and(|outer| self.named[outer as usize])
    }

    /// Each agent invocation's calls numbered by start time, then span id
    /// (unique in a trace; not the order they were read in), then input
    /// order (a wrapper that only wraps is no call, nor is an agent span
    /// whose usage is the sum of calls below it: `summed`).
    pub(super) fn positions(&self, spans: &[Span], summed: &[bool]) -> Vec<u32> {
        let is_call = |i: usize| {
            let own = !self.wraps[i] && !self.copies_named(i);
            !summed[i] && (spans[i].call.as_ref()).is_some_and(|c| c.join_key.is_some() || own)
        };
        let mut order: Vec<usize> = (0..spans.len()).filter(|&i| is_call(i)).collect();
        order.sort_unstable_by_key(|&i| {
            let span = &spans[i];
            let start = span.call.as_ref().map_or(0, |c| c.start_ns);
            let origin = (span.origin.file, span.origin.line);
            (self.ctx[i].agent, start, span.span_id, origin)
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
pub(super) struct AgentPaths {
    pub(super) agents: Vec<Agents>,
    pub(super) root: Vec<u32>,
}

/// No span: the end of a child or sibling chain.
const NONE: u32 = u32::MAX;

impl AgentPaths {
    /// `parent_agent[i]`, for an agent span, is the nearest agent span
    /// above it (always resolved before it, so the links form a forest).
    pub(super) fn new(spans: &[Span], parent_agent: &[Option<u32>]) -> AgentPaths {
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
    pub(super) fn new(spans: &[Span], parent_agent: &[Option<u32>]) -> AgentForest {
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

/// The agent spans with usage of their own (read as calls) that have a
/// span read as a call below them, at any depth, or beside them a call
/// whose chain of parents breaks (a span between missing) with no such
/// agent on it, which may be theirs: their usage is their calls' sum (the
/// conventions recommend it, Logfire writes it), so they are agents only.
/// One with neither is its run's only record of the call, and is a call.
pub(super) fn summed_by_agents(spans: &[Span], index: &FastMap<u64, u32>) -> Vec<bool> {
    let mut below = vec![false; spans.len()];
    // Most traces have none: no pass over them.
    if !spans.iter().any(is_agent_with_usage) {
        return below;
    }
    for span in spans.iter().filter(|s| s.call.is_some()) {
        let mut parent = span.parent_id;
        // Marked once each: a climb stops at a span marked already, so a
        // parent cycle ends too.
        while let Some(&p) = (parent != 0).then(|| index.get(&parent)).flatten() {
            if std::mem::replace(&mut below[p as usize], true) {
                break;
            }
            parent = spans[p as usize].parent_id;
        }
    }
    let unplaced = holds_unplaced_call(spans, index);
    (spans.iter().zip(below))
        .map(|(span, below)| (below || unplaced) && is_agent_with_usage(span))
        .collect()
}

fn is_agent_with_usage(span: &Span) -> bool {
    span.role == Role::Agent && span.call.is_some()
}

/// Whether a call's chain of parents breaks (ends at a parent the trace
/// does not hold) with no agent span of usage of its own on it: the agent
/// whose call it is cannot be told.
fn holds_unplaced_call(spans: &[Span], index: &FastMap<u64, u32>) -> bool {
    const UNKNOWN: u8 = 0;
    const ON_PATH: u8 = 1;
    const PLACED: u8 = 2;
    const UNPLACED: u8 = 3;
    let mut state = vec![UNKNOWN; spans.len()];
    let mut path = Vec::new();
    for start in 0..spans.len() {
        let mut cur = start;
        // A root, a cycle or an agent with usage places what is below it.
        let end = loop {
            match state[cur] {
                UNKNOWN => {}
                ON_PATH => break PLACED,
                known => break known,
            }
            state[cur] = ON_PATH;
            path.push(cur);
            let parent = spans[cur].parent_id;
            if is_agent_with_usage(&spans[cur]) || parent == 0 {
                break PLACED;
            }
            match index.get(&parent) {
                Some(&p) => cur = p as usize,
                None => break UNPLACED,
            }
        };
        for node in path.drain(..) {
            state[node] = end;
        }
    }
    (spans.iter().zip(state)).any(|(s, end)| end == UNPLACED && s.role == Role::Call)
}
