//! Per item of one table, the index of an item of another, or none, in 4
//! bytes ([`Refs`]): each call's record found by its join id, each
//! record's call once joined (millions of each in a large month).

use std::num::NonZeroU32;

/// Indexes below `u32::MAX`, or none: each held as the index plus one (0
/// for none), 4 bytes, not an `Option<u32>`'s 8.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Refs(Vec<Option<NonZeroU32>>);

impl Refs {
    /// `n` items, none with an index.
    pub fn none(n: usize) -> Refs {
        Refs(vec![None; n])
    }

    /// None yet, room for `n`.
    pub fn with_capacity(n: usize) -> Refs {
        Refs(Vec::with_capacity(n))
    }

    /// How many items.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Item `i`'s index, if any.
    pub fn get(&self, i: usize) -> Option<u32> {
        Self::index(self.0[i])
    }

    /// Give item `i` the index `to`.
    pub fn set(&mut self, i: usize, to: u32) {
        self.0[i] = Some(Self::held(to));
    }

    /// Exchange items `a` and `b`.
    pub fn swap(&mut self, a: usize, b: usize) {
        self.0.swap(a, b);
    }

    /// Every item's index, in order.
    pub fn iter(&self) -> impl Iterator<Item = Option<u32>> + '_ {
        self.0.iter().map(|&r| Self::index(r))
    }

    /// An index as held: plus one, 0 for none.
    fn held(index: u32) -> NonZeroU32 {
        NonZeroU32::new(index.wrapping_add(1)).expect("an index below u32::MAX")
    }

    /// An index as given back.
    fn index(held: Option<NonZeroU32>) -> Option<u32> {
        held.map(|r| r.get() - 1)
    }
}

impl FromIterator<Option<u32>> for Refs {
    fn from_iter<I: IntoIterator<Item = Option<u32>>>(items: I) -> Refs {
        Refs(items.into_iter().map(|r| r.map(Refs::held)).collect())
    }
}

impl Extend<Option<u32>> for Refs {
    fn extend<I: IntoIterator<Item = Option<u32>>>(&mut self, items: I) {
        self.0.extend(items.into_iter().map(|r| r.map(Refs::held)));
    }
}

impl IntoIterator for Refs {
    type Item = Option<u32>;
    type IntoIter = std::iter::Map<
        std::vec::IntoIter<Option<NonZeroU32>>,
        fn(Option<NonZeroU32>) -> Option<u32>,
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter().map(Refs::index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_and_none_come_back_as_given() {
        let given = [Some(0), None, Some(7), Some(u32::MAX - 1), None];
        let refs: Refs = given.into_iter().collect();
        assert_eq!(refs.iter().collect::<Vec<_>>(), given);
        assert_eq!(refs.clone().into_iter().collect::<Vec<_>>(), given);
        let mut set = Refs::none(5);
        set.set(2, 7);
        set.set(0, 0);
        set.set(3, u32::MAX - 1);
        assert_eq!(set, refs);
        assert_eq!(std::mem::size_of::<Option<NonZeroU32>>(), 4);
    }
}
