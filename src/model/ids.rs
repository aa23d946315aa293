//! Every usage record's request id, held in one buffer ([`RequestIds`]):
//! a month holds millions, and an id boxed apiece is a small allocation
//! apiece, whose room, once the joined records' ids are released, lies
//! scattered among the ids kept and cannot be handed back.

/// The request ids of a month's records, in record order, one after the
/// other in one buffer: each takes its bytes and 4 more.
#[derive(Clone, Debug, Default)]
pub struct RequestIds {
    /// The ids' bytes (UTF-8), one after the other.
    bytes: String,
    /// Per block of [`BLOCK`] ids, where its first begins in `bytes`.
    blocks: Vec<usize>,
    /// Per id, where it ends, from its block's start.
    ends: Vec<u32>,
}

/// Ids per block of [`RequestIds::ends`].
const BLOCK: usize = 1024;

/// The longest request id held: a block of [`BLOCK`] such ids still fits
/// its 32-bit ends (a real id is tens of bytes).
pub const MAX_ID_BYTES: usize = (u32::MAX as usize) / BLOCK;

impl RequestIds {
    /// Room for `n` ids of `bytes` bytes in all.
    pub fn with_capacity(n: usize, bytes: usize) -> RequestIds {
        RequestIds {
            bytes: String::with_capacity(bytes),
            blocks: Vec::with_capacity(n.div_ceil(BLOCK)),
            ends: Vec::with_capacity(n),
        }
    }

    /// Add the next record's id; false (nothing added) for an id longer
    /// than [`MAX_ID_BYTES`].
    #[must_use]
    pub fn push(&mut self, id: &str) -> bool {
        if id.len() > MAX_ID_BYTES {
            return false;
        }
        if self.ends.len().is_multiple_of(BLOCK) {
            self.blocks.push(self.bytes.len());
        }
        self.bytes.push_str(id);
        let start = self.blocks[self.blocks.len() - 1];
        self.ends.push((self.bytes.len() - start) as u32);
        true
    }

    /// The id of record `index`.
    pub fn get(&self, index: usize) -> &str {
        let start = self.blocks[index / BLOCK];
        let end = start + self.ends[index] as usize;
        let begin = match index % BLOCK {
            0 => start,
            _ => start + self.ends[index - 1] as usize,
        };
        &self.bytes[begin..end]
    }

    /// How many ids.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Every id, in record order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// The ids of the records `keep` says to keep, in order; or, with
    /// `emptied`, every record's id, but empty for those it does not keep.
    fn kept(&self, keep: impl Fn(usize) -> bool, emptied: bool) -> RequestIds {
        let (count, bytes) = (0..self.len())
            .filter(|&i| keep(i))
            .fold((0, 0), |(n, b), i| (n + 1, b + self.get(i).len()));
        let mut kept = RequestIds::with_capacity(if emptied { self.len() } else { count }, bytes);
        for (i, id) in self.iter().enumerate() {
            let pushed = match keep(i) {
                true => kept.push(id),
                false if emptied => kept.push(""),
                false => true,
            };
            debug_assert!(pushed, "an id held already fits");
        }
        kept
    }

    /// Keep the records `keep` (by index) says to keep, and their ids,
    /// in order.
    pub fn retain_with<R>(&mut self, records: &mut Vec<R>, keep: impl Fn(usize) -> bool) {
        let mut index = 0;
        records.retain(|_| {
            index += 1;
            keep(index - 1)
        });
        *self = self.kept(keep, false);
    }

    /// Empty the ids of the records `keep` (by index) does not keep,
    /// handing their room back.
    pub fn release(&mut self, keep: impl Fn(usize) -> bool) {
        *self = self.kept(keep, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_across_blocks_come_back_kept_and_released() {
        let given: Vec<String> = (0..3 * BLOCK + 7)
            .map(|i| "x".repeat(i % 37) + &i.to_string())
            .collect();
        let mut ids = RequestIds::default();
        for id in &given {
            assert!(ids.push(id));
        }
        assert!(!ids.push(&"y".repeat(MAX_ID_BYTES + 1)));
        assert_eq!(ids.len(), given.len());
        assert!(ids.iter().eq(given.iter().map(String::as_str)));
        let mut released = ids.clone();
        released.release(|i| i.is_multiple_of(3));
        let expect = |i: usize, id: &str| {
            if i.is_multiple_of(3) {
                id.to_string()
            } else {
                String::new()
            }
        };
        assert!(released
            .iter()
            .eq(given.iter().enumerate().map(|(i, id)| expect(i, id))));
        let mut records: Vec<usize> = (0..given.len()).collect();
        ids.retain_with(&mut records, |i| i % 5 != 1);
        let kept = given.iter().enumerate().filter(|(i, _)| i % 5 != 1);
        assert!(records.iter().copied().eq(kept.clone().map(|(i, _)| i)));
        assert!(ids.iter().eq(kept.map(|(_, id)| id.as_str())));
    }
}
