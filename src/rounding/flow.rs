//! The small max-flow network the controlled rounding is solved on.

/// A max-flow network (Dinic's algorithm); small: one node per row group.
pub(super) struct Network {
    head: Vec<Vec<usize>>,
    to: Vec<usize>,
    cap: Vec<i64>,
    original: Vec<i64>,
}

impl Network {
    pub(super) fn new(nodes: usize) -> Network {
        Network {
            head: vec![Vec::new(); nodes],
            to: Vec::new(),
            cap: Vec::new(),
            original: Vec::new(),
        }
    }

    /// Add an edge; returns its id.
    pub(super) fn add(&mut self, from: usize, to: usize, cap: i64) -> usize {
        let id = self.to.len();
        for (a, b, c) in [(from, to, cap), (to, from, 0)] {
            self.head[a].push(self.to.len());
            self.to.push(b);
            self.cap.push(c);
            self.original.push(c);
        }
        id
    }

    /// The flow on edge `id`.
    pub(super) fn flow(&self, id: usize) -> i64 {
        self.original[id] - self.cap[id]
    }

    pub(super) fn max_flow(&mut self, source: usize, sink: usize) -> i64 {
        let mut total = 0;
        loop {
            let Some(level) = self.levels(source, sink) else {
                return total;
            };
            let mut next = vec![0usize; self.head.len()];
            loop {
                let pushed = self.push(source, sink, i64::MAX, &level, &mut next);
                if pushed == 0 {
                    break;
                }
                total += pushed;
            }
        }
    }

    fn levels(&self, source: usize, sink: usize) -> Option<Vec<i32>> {
        let mut level = vec![-1; self.head.len()];
        level[source] = 0;
        let mut queue = std::collections::VecDeque::from([source]);
        while let Some(u) = queue.pop_front() {
            for &e in &self.head[u] {
                let v = self.to[e];
                if self.cap[e] > 0 && level[v] < 0 {
                    level[v] = level[u] + 1;
                    queue.push_back(v);
                }
            }
        }
        (level[sink] >= 0).then_some(level)
    }

    /// One augmenting path's flow (the graph is a few hundred nodes deep at
    /// most, so recursion is shallow).
    fn push(
        &mut self,
        u: usize,
        sink: usize,
        limit: i64,
        level: &[i32],
        next: &mut [usize],
    ) -> i64 {
        if u == sink {
            return limit;
        }
        while next[u] < self.head[u].len() {
            let e = self.head[u][next[u]];
            let v = self.to[e];
            if self.cap[e] > 0 && level[v] == level[u] + 1 {
                let pushed = self.push(v, sink, limit.min(self.cap[e]), level, next);
                if pushed > 0 {
                    self.cap[e] -= pushed;
                    self.cap[e ^ 1] += pushed;
                    return pushed;
                }
            }
            next[u] += 1;
        }
        0
    }
}
