//! The agents above a call: a shared list, so agents nested N deep take
//! time and memory linear in N.

use std::sync::Arc;

use crate::hash::FastMap;
use crate::intern::Sym;

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

/// Equal agent lists, one shared list each: a month's calls hold a
/// million traces' lists, most the same few (each trace's own links,
/// a small allocation apiece, are freed once its calls hold the shared
/// one). Lists are equal here when they list the same agents in the same
/// order, so a call's list iterates as its own did.
#[derive(Debug, Default)]
pub struct SharedAgents(FastMap<([u32; SHARED_DEPTH], u8), Agents>);

/// The longest list shared; a deeper one is kept as it is.
const SHARED_DEPTH: usize = 4;

impl SharedAgents {
    /// The shared list equal to `list` (`list` itself, the first time).
    pub fn shared(&mut self, list: &Agents) -> Agents {
        let mut key = [0; SHARED_DEPTH];
        let mut depth = 0;
        for agent in list.iter() {
            if depth == SHARED_DEPTH {
                return list.clone();
            }
            key[depth] = Sym::to_raw(agent);
            depth += 1;
        }
        let shared = self.0.entry((key, depth as u8));
        shared.or_insert_with(|| list.clone()).clone()
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
        // Equal lists come back as one; another order or depth does not.
        let mut shared = SharedAgents::default();
        let first = shared.shared(&Agents::of([a, b]));
        let again = shared.shared(&Agents::of([a, b]));
        assert!(Arc::ptr_eq(
            first.0.as_ref().unwrap(),
            again.0.as_ref().unwrap()
        ));
        let other = shared.shared(&Agents::of([b, a]));
        assert!(!Arc::ptr_eq(
            first.0.as_ref().unwrap(),
            other.0.as_ref().unwrap()
        ));
        assert_eq!(other.iter().collect::<Vec<_>>(), [a, b]);
        let deep = Agents::of([a, b, None, Some(names.intern("c")), Some(names.intern("d"))]);
        assert_eq!(shared.shared(&deep).iter().count(), 5);
    }
}
