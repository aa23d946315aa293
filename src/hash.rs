//! A fast hasher for the maps on the hot path, keyed by ids, symbols and
//! request ids: the multiply-rotate hash rustc uses (FxHash), finished with
//! SplitMix64's finaliser ([`mix64`]). FxHash alone leaves the low bits,
//! which pick a hash table's bucket, blind to the last bytes of a string:
//! ids with a constant prefix and a counter (`gateway-req-000000000001`)
//! fell into a few dozen buckets and made the join quadratic. The hash is
//! fixed (no random seed), so runs stay reproducible; it is not resistant
//! to inputs crafted to collide, which a batch tool reading its own fleet's
//! exports does not need. Also the maps built on it: [`DenseMap`] (entries
//! in the order first seen) and [`SharedKeyMap`] (sums keyed by a part many
//! items share and a part each has).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// SplitMix64's finaliser: every input bit flips about half the output
/// bits. It finishes every [`FxHasher`] hash, spreads trace ids over
/// shards and drives the fleet simulator.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A trace id's 64-bit hash: [`mix64`] of its two halves XORed. Shards take
/// it modulo their count; traces are resolved in its order, and spilled
/// span state is cut by its ranges, so both give the same order.
pub fn trace_hash(trace: u128) -> u64 {
    mix64((trace as u64) ^ ((trace >> 64) as u64))
}

/// The [`FxHasher`] every fast map builds: `hash_one` gives a key's hash
/// as those maps see it.
pub type FastBuild = BuildHasherDefault<FxHasher>;

/// A `HashMap` with [`FxHasher`].
pub type FastMap<K, V> = HashMap<K, V, FastBuild>;

/// An [`indexmap::IndexMap`] with [`FxHasher`]: its entries sit in one
/// dense `Vec`, in the order their keys were first seen, and its hash table
/// holds positions only. A `HashMap` holds its entries at up to twice its
/// length; for large ones (a report row's 300 bytes of totals, a FOCUS
/// row's key) over a million keys that doubled the month's memory.
pub type DenseMap<K, V> = indexmap::IndexMap<K, V, FastBuild>;

/// Sums keyed by two parts: one many items share (a posting's day, model
/// and labels), found once an item, and one each has of a few (its
/// charge), found among the shared part's few groups. The groups come out
/// in the order first seen, as one map keyed by both would keep them, for
/// one hash an item rather than one a part (a posting has several
/// charges).
pub struct SharedKeyMap<S, P, V> {
    /// Each shared part, and its latest group (`NONE`: none yet).
    shared: DenseMap<S, u32>,
    /// Each group in the order first seen: its shared part's place, its
    /// own part, its sums, and the shared part's group before it.
    groups: Vec<(u32, P, V, u32)>,
}

/// No group.
const NONE: u32 = u32::MAX;

impl<S, P, V> Default for SharedKeyMap<S, P, V> {
    fn default() -> Self {
        SharedKeyMap {
            shared: DenseMap::default(),
            groups: Vec::new(),
        }
    }
}

impl<S: std::hash::Hash + Eq, P: Eq, V: Default> SharedKeyMap<S, P, V> {
    /// The place of the shared part `key`, added if new.
    pub fn shared(&mut self, key: S) -> u32 {
        let entry = self.shared.entry(key);
        let place = entry.index() as u32;
        entry.or_insert(NONE);
        place
    }

    /// The sums of the shared part at `place` (from [`Self::shared`]) and
    /// `part`, added if new.
    pub fn entry(&mut self, place: u32, part: P) -> &mut V {
        let latest = &mut self.shared[place as usize];
        let mut at = *latest;
        while at != NONE && self.groups[at as usize].1 != part {
            at = self.groups[at as usize].3;
        }
        if at == NONE {
            at = self.groups.len() as u32;
            self.groups.push((place, part, V::default(), *latest));
            *latest = at;
        }
        &mut self.groups[at as usize].2
    }

    /// Every group in the order first seen: its shared part, its own part
    /// and its sums.
    pub fn into_groups(self) -> impl Iterator<Item = (S, P, V)>
    where
        S: Copy,
    {
        let shared = self.shared;
        (self.groups.into_iter()).map(move |(place, part, sums, _)| {
            (
                *shared.get_index(place as usize).expect("a shared part").0,
                part,
                sums,
            )
        })
    }
}

/// FxHash: one multiply and rotate per machine word, and [`mix64`] at the end.
#[derive(Clone, Copy, Debug, Default)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_u128(&mut self, i: u128) {
        self.add(i as u64);
        self.add((i >> 64) as u64);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        mix64(self.hash)
    }
}

/// An id's hash, as its part's table keys it.
pub fn hash_of(id: &str) -> u64 {
    std::hash::BuildHasher::hash_one(&FastBuild::default(), id)
}

/// The part of `count` an id falls in: its hash mixed once more, so the
/// parts' own tables see the hash's full spread (an id index, or the
/// search for repeated ids, cut into one part per thread).
pub fn part_of(id: &str, count: usize) -> usize {
    if count == 1 {
        return 0;
    }
    part_of_hash(hash_of(id), count)
}

/// [`part_of`] an id whose [`hash_of`] is `hash`.
pub fn part_of_hash(hash: u64, count: usize) -> usize {
    (mix64(hash) % count as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn a_dense_map_keeps_first_sight_order_and_one_value_per_key() {
        let mut map: DenseMap<u32, u64> = DenseMap::default();
        for key in [7, 3, 7, 9, 3, 7] {
            *map.entry(key).or_default() += 1;
        }
        let entries: Vec<(u32, u64)> = map.into_iter().collect();
        assert_eq!(entries, vec![(7, 3), (3, 2), (9, 1)]);
    }

    #[test]
    fn a_shared_key_map_groups_and_orders_as_one_map_of_both_parts() {
        let items = [
            (1, 'a'),
            (2, 'b'),
            (1, 'c'),
            (1, 'a'),
            (3, 'a'),
            (2, 'b'),
            (1, 'c'),
        ];
        let (mut one, mut two) = (DenseMap::default(), SharedKeyMap::default());
        for (n, &(shared, part)) in items.iter().enumerate() {
            *one.entry((shared, part)).or_insert(0) += n;
            let place = two.shared(shared);
            *two.entry(place, part) += n;
        }
        let one: Vec<(u32, char, usize)> = one.into_iter().map(|((s, p), v)| (s, p, v)).collect();
        assert_eq!(two.into_groups().collect::<Vec<_>>(), one);
    }

    #[test]
    fn counter_ids_spread_over_the_low_bits() {
        // A gateway's request ids: a constant prefix and a counter. A hash
        // table picks the bucket from the low bits: 4,096 ids in 4,096
        // buckets should fill about 1 − 1/e of them (2,589), as random ids do.
        let build = BuildHasherDefault::<FxHasher>::default();
        let mut buckets = std::collections::HashSet::new();
        for n in 0..4096u64 {
            let id = format!("gateway-req-{n:012}");
            buckets.insert(build.hash_one(id.as_str()) & 0xfff);
        }
        assert!(
            buckets.len() > 2400,
            "{} of 4096 buckets used",
            buckets.len()
        );
    }
}
