//! Interned strings: dimension values (tenants, features, agents, tools,
//! models) repeat across millions of spans and records, so each distinct
//! string is stored once and referred to by a 4-byte [`Sym`]; and interned
//! label sets, a usage record's (name, value) pairs, by a 4-byte
//! [`LabelSet`].

use std::num::NonZeroU32;

use crate::hash::FastMap;

/// Where an [`Interner`] stood ([`Interner::mark`]).
#[derive(Clone, Copy, Debug)]
pub struct Mark {
    names: usize,
    sets: usize,
}

/// A handle to an interned string; resolve it with [`Interner::get`].
/// It holds the string's index plus one, so an `Option<Sym>` (a dimension
/// that may be absent, held per span and per call) takes 4 bytes, not 8.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(NonZeroU32);

impl Sym {
    fn index(self) -> usize {
        self.0.get() as usize - 1
    }

    /// The symbol as a nonzero integer (0 is free for "none"), for
    /// spilling to disk within one run.
    pub fn to_raw(sym: Option<Sym>) -> u32 {
        sym.map_or(0, |s| s.0.get())
    }

    /// The symbol [`Sym::to_raw`] gave `raw` (`None` for 0).
    pub fn from_raw(raw: u32) -> Option<Sym> {
        NonZeroU32::new(raw).map(Sym)
    }

    /// This symbol in the interner that absorbed its own (see
    /// [`Interner::absorb`]).
    pub fn remap(self, map: &[Sym]) -> Sym {
        map[self.index()]
    }
}

/// The table of distinct strings, and of distinct label sets.
#[derive(Debug, Default)]
pub struct Interner {
    ids: FastMap<Box<str>, Sym>,
    names: Vec<Box<str>>,
    /// Each distinct set of (name, value) labels; [`LabelSet`] is one's
    /// place plus one.
    sets: Vec<Box<[(Sym, Sym)]>>,
    set_ids: FastMap<Box<[(Sym, Sym)]>, LabelSet>,
}

/// A label as `name=value`, as `unattributed.csv`'s `labels` (joined by
/// `;`) and the summary's largest labels write it: a `\\`, `;` or `=` in
/// the name or value is escaped with a backslash, so `team=a;b` (one
/// label) never reads as two.
pub fn label_text(name: &str, value: &str) -> String {
    let mut text = String::with_capacity(name.len() + value.len() + 1);
    for (i, part) in [name, value].into_iter().enumerate() {
        if i == 1 {
            text.push('=');
        }
        for c in part.chars() {
            if matches!(c, '\\' | ';' | '=') {
                text.push('\\');
            }
            text.push(c);
        }
    }
    text
}

/// A usage record's labels, (name, value) pairs sorted by name, interned
/// in the [`Interner`] (a month's records repeat a few teams and keys):
/// 4 bytes a record. The default is no labels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct LabelSet(u32);

/// What [`Interner::absorb`] renumbered: each symbol and each label set
/// of the interner taken in, by its old number.
#[derive(Debug, Default)]
pub struct Renumbered {
    /// The symbols, for [`Sym::remap`].
    pub syms: Vec<Sym>,
    /// The label sets, for [`LabelSet::remap`].
    pub sets: Vec<LabelSet>,
}

impl LabelSet {
    /// Whether it holds no labels.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The set's number in the interner that absorbed its own.
    pub fn remap(self, renumbered: &Renumbered) -> LabelSet {
        match self.0 {
            0 => self,
            n => renumbered.sets[n as usize - 1],
        }
    }
}

impl Interner {
    /// The symbol for `name`, adding it on first sight.
    pub fn intern(&mut self, name: &str) -> Sym {
        if let Some(&sym) = self.ids.get(name) {
            return sym;
        }
        let sym = u32::try_from(self.names.len() + 1)
            .ok()
            .and_then(NonZeroU32::new)
            .map(Sym)
            .expect("fewer than 2^32 - 1 distinct names");
        self.names.push(name.into());
        self.ids.insert(name.into(), sym);
        sym
    }

    /// Where the interner stands, for [`Interner::forget_since`].
    pub fn mark(&self) -> Mark {
        Mark {
            names: self.names.len(),
            sets: self.sets.len(),
        }
    }

    /// Forget every string and label set interned since `mark`: their
    /// symbols name nothing from now on.
    pub fn forget_since(&mut self, mark: Mark) {
        for set in self.sets.drain(mark.sets..) {
            self.set_ids.remove(&set);
        }
        for name in self.names.drain(mark.names..) {
            self.ids.remove(&name);
        }
    }

    /// The string behind `sym`.
    pub fn get(&self, sym: Sym) -> &str {
        &self.names[sym.index()]
    }

    /// The label set of `pairs` (sorted by name), adding it on first
    /// sight.
    pub fn label_set(&mut self, pairs: Vec<(Sym, Sym)>) -> LabelSet {
        if pairs.is_empty() {
            return LabelSet::default();
        }
        if let Some(&set) = self.set_ids.get(pairs.as_slice()) {
            return set;
        }
        let set = u32::try_from(self.sets.len() + 1)
            .map(LabelSet)
            .expect("fewer than 2^32 distinct label sets");
        let pairs: Box<[(Sym, Sym)]> = pairs.into();
        self.sets.push(pairs.clone());
        self.set_ids.insert(pairs, set);
        set
    }

    /// The labels of `set`.
    pub fn labels(&self, set: LabelSet) -> &[(Sym, Sym)] {
        match set.0 {
            0 => &[],
            n => &self.sets[n as usize - 1],
        }
    }

    /// Take in every name and label set of `other` (another thread's
    /// interner); returns the number each has here.
    pub fn absorb(&mut self, other: Interner) -> Renumbered {
        let syms: Vec<Sym> = other.names.iter().map(|name| self.intern(name)).collect();
        let sets = (other.sets.iter())
            .map(|pairs| {
                let pairs = pairs.iter().map(|&(n, v)| (n.remap(&syms), v.remap(&syms)));
                self.label_set(pairs.collect())
            })
            .collect();
        Renumbered { syms, sets }
    }

    /// The order of every interned string and of `labels` (fixed ones such
    /// as `(none)`) by their text, for sorting output by integers instead of
    /// by newly built strings.
    pub fn text_order(&self, labels: &[&'static str]) -> TextOrder<'_> {
        let mut sorted: Vec<&str> = self.names.iter().map(|n| &**n).collect();
        sorted.extend(labels);
        sorted.sort_unstable();
        sorted.dedup();
        let rank = self
            .names
            .iter()
            .map(|name| 2 * sorted.partition_point(|s| *s < &**name) as u64 + 1)
            .collect();
        TextOrder { sorted, rank }
    }
}

/// Ranks that order strings as their text does (see
/// [`Interner::text_order`]): equal text, equal rank.
pub struct TextOrder<'i> {
    /// Every interned string, sorted, without repeats.
    sorted: Vec<&'i str>,
    /// Each symbol's rank, by symbol index.
    rank: Vec<u64>,
}

impl TextOrder<'_> {
    /// The rank of an interned string.
    pub fn of_sym(&self, sym: Sym) -> u64 {
        self.rank[sym.index()]
    }

    /// The rank of any string: an interned one's (or a label's) own, else
    /// one between its neighbours' (two such strings between the same
    /// neighbours tie).
    pub fn of_str(&self, text: &str) -> u64 {
        let at = self.sorted.partition_point(|s| *s < text);
        match self.sorted.get(at) == Some(&text) {
            true => 2 * at as u64 + 1,
            false => 2 * at as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_reads_as_one_label() {
        assert_eq!(label_text("team", "search"), "team=search");
        assert_eq!(
            label_text("team", "a;customer=globex"),
            "team=a\\;customer\\=globex"
        );
        assert_eq!(label_text("k\\", "v"), "k\\\\=v");
    }

    #[test]
    fn label_sets_are_shared_and_renumbered_when_absorbed() {
        let mut main = Interner::default();
        let (team, key) = (main.intern("team"), main.intern("key"));
        let (k1, red) = (main.intern("k1"), main.intern("red"));
        let a = main.label_set(vec![(key, k1), (team, red)]);
        assert_eq!(main.label_set(vec![]), LabelSet::default());
        assert!(main.label_set(vec![]).is_empty() && !a.is_empty());
        // Another thread's interner numbers its names and sets apart.
        let mut other = Interner::default();
        let blue = other.intern("blue");
        let team_there = other.intern("team");
        let b = other.label_set(vec![(team_there, blue)]);
        let red = other.intern("red");
        let key_there = other.intern("key");
        let k1 = other.intern("k1");
        let a_there = other.label_set(vec![(key_there, k1), (team_there, red)]);
        let renumbered = main.absorb(other);
        assert_eq!(
            a_there.remap(&renumbered),
            a,
            "the same set, the same number"
        );
        let b_here = b.remap(&renumbered);
        assert_ne!(b_here, a);
        let text: Vec<(&str, &str)> = (main.labels(b_here).iter())
            .map(|&(n, v)| (main.get(n), main.get(v)))
            .collect();
        assert_eq!(text, [("team", "blue")]);
        assert_eq!(LabelSet::default().remap(&renumbered), LabelSet::default());
    }
}
