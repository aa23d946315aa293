//! Interned strings: dimension values (tenants, features, agents, tools,
//! models) repeat across millions of spans and records, so each distinct
//! string is stored once and referred to by a 4-byte [`Sym`].

use std::num::NonZeroU32;

use crate::hash::FastMap;

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

/// The table of distinct strings.
#[derive(Debug, Default)]
pub struct Interner {
    ids: FastMap<Box<str>, Sym>,
    names: Vec<Box<str>>,
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

    /// The string behind `sym`.
    pub fn get(&self, sym: Sym) -> &str {
        &self.names[sym.index()]
    }

    /// Take in every name of `other` (another thread's interner); returns
    /// the symbol each of its symbols has here, for [`Sym::remap`].
    pub fn absorb(&mut self, other: Interner) -> Vec<Sym> {
        other.names.iter().map(|name| self.intern(name)).collect()
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
