//! Each run's outcome, from its root span, by trace ([`Outcomes`]): a
//! million runs' in about 34 MiB (a list of 24-byte entries and a table of
//! their 4-byte places), not a map's 66 (its 32-byte entries, half empty).

use hashbrown::HashTable;

use crate::hash::trace_hash;
use crate::intern::Sym;

/// Each run's outcome, by trace.
#[derive(Debug, Default)]
pub struct Outcomes {
    /// (the trace id's high and low halves, its outcome), in the order
    /// first inserted.
    entries: Vec<([u64; 2], Sym)>,
    /// Each entry's place in `entries`, by its trace's hash.
    places: HashTable<u32>,
}

impl Outcomes {
    /// Set `trace`'s outcome (a later one replaces an earlier).
    pub fn insert(&mut self, trace: u128, outcome: Sym) {
        let (hash, key) = (trace_hash(trace), halves(trace));
        let entries = &mut self.entries;
        if let Some(&at) = self.places.find(hash, |&i| entries[i as usize].0 == key) {
            entries[at as usize].1 = outcome;
            return;
        }
        let at = u32::try_from(entries.len()).expect("fewer than 2^32 runs");
        entries.push((key, outcome));
        let entries = &self.entries;
        let rehash = |&i: &u32| trace_hash(whole(entries[i as usize].0));
        self.places.insert_unique(hash, at, rehash);
    }

    /// `trace`'s outcome, if its root span gave one.
    pub fn get(&self, trace: u128) -> Option<Sym> {
        let key = halves(trace);
        let at = self
            .places
            .find(trace_hash(trace), |&i| self.entries[i as usize].0 == key)?;
        Some(self.entries[*at as usize].1)
    }

    /// Add `other`'s outcomes (replacing this one's for the same trace).
    pub fn extend(&mut self, other: Outcomes) {
        for (key, outcome) in other.entries {
            self.insert(whole(key), outcome);
        }
    }

    /// Every (trace, outcome), in the order first inserted.
    pub fn iter(&self) -> impl Iterator<Item = (u128, Sym)> + '_ {
        self.entries.iter().map(|&(key, o)| (whole(key), o))
    }
}

fn halves(trace: u128) -> [u64; 2] {
    [(trace >> 64) as u64, trace as u64]
}

fn whole([high, low]: [u64; 2]) -> u128 {
    u128::from(high) << 64 | u128::from(low)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intern::Interner;

    #[test]
    fn outcomes_are_found_by_trace_and_the_later_one_kept() {
        let mut names = Interner::default();
        let (ok, failed) = (names.intern("ok"), names.intern("failed"));
        let mut outcomes = Outcomes::default();
        let traces: Vec<u128> = (0..5_000u128)
            .map(|t| ((t * 0x9e37_79b9_7f4a_7c15) << 40) | t)
            .collect();
        for &t in &traces {
            outcomes.insert(t, ok);
        }
        let mut later = Outcomes::default();
        later.insert(traces[7], failed);
        later.insert(u128::MAX, failed);
        outcomes.extend(later);
        assert_eq!(outcomes.get(traces[7]), Some(failed));
        assert_eq!(outcomes.get(traces[8]), Some(ok));
        assert_eq!(outcomes.get(u128::MAX), Some(failed));
        assert_eq!(outcomes.get(12345), None);
        assert_eq!(outcomes.iter().count(), 5_001);
        assert_eq!(outcomes.iter().next(), Some((traces[0], ok)));
    }
}
