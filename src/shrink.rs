//! Giving memory back in a large month: converting a large table into
//! another while the source gives its room back as it empties
//! ([`convert`]: a table of a row per run holds a million rows, and holding
//! it twice was the month's highest memory); putting a large table in a
//! sorted order in place ([`permute`]); freeing millions of small
//! allocations in the order they lie in memory ([`free_in_address_order`]);
//! handing the pages freed back to the system ([`return_freed`]), and large
//! blocks as they are freed, where memory is tight
//! ([`give_back_large_blocks`]).

use std::hash::{BuildHasher, Hash};

/// A collection that gives up its last item, and the room it no longer
/// needs.
pub trait Shrinking {
    /// What it holds.
    type Item;
    /// How many it holds.
    fn count(&self) -> usize;
    /// Its last item.
    fn pop_last(&mut self) -> Option<Self::Item>;
    /// Give back the room beyond its length.
    fn give_back(&mut self);
}

impl<T> Shrinking for Vec<T> {
    type Item = T;
    fn count(&self) -> usize {
        self.len()
    }
    fn pop_last(&mut self) -> Option<T> {
        self.pop()
    }
    fn give_back(&mut self) {
        self.shrink_to_fit();
    }
}

impl<K: Hash + Eq, V, S: BuildHasher> Shrinking for indexmap::IndexMap<K, V, S> {
    type Item = (K, V);
    fn count(&self) -> usize {
        self.len()
    }
    fn pop_last(&mut self) -> Option<(K, V)> {
        self.pop()
    }
    fn give_back(&mut self) {
        self.shrink_to_fit();
    }
}

/// `items` converted by `f` (given each item's index), in order. They are
/// taken from the back, so `f` is called from the last item to the first,
/// and the source gives its room back every 65,536 items, so the two are
/// held about once between them, not twice.
pub fn convert<S: Shrinking, U>(mut items: S, mut f: impl FnMut(usize, S::Item) -> U) -> Vec<U> {
    const GIVE_BACK_EVERY: usize = 1 << 16;
    // Filled from its back: a deque of exactly the room needed (as the
    // standard library allocates it) ends up starting where its room
    // does, so it becomes a vector without moving an item.
    let mut converted = std::collections::VecDeque::with_capacity(items.count());
    while let Some(item) = items.pop_last() {
        converted.push_front(f(items.count(), item));
        if items.count().is_multiple_of(GIVE_BACK_EVERY) {
            items.give_back();
        }
    }
    Vec::from(converted)
}

/// Put `items[order[k]]` at `k`, for every `k`, in place: each cycle of the
/// permutation is followed once, so each item (a call is 80 bytes, a row
/// hundreds) moves about once, however the sort went.
pub fn permute<T>(items: &mut [T], order: Vec<u32>) {
    permute_by(order, |a, b| items.swap(a, b));
}

/// [`permute`] by `swap`, given two places: items held apart in several
/// arrays (each call and its record found) put in order together, none
/// copied.
pub fn permute_by(mut order: Vec<u32>, mut swap: impl FnMut(usize, usize)) {
    for start in 0..order.len() {
        let mut k = start;
        loop {
            let from = order[k] as usize;
            order[k] = k as u32;
            if from == start {
                break;
            }
            swap(k, from);
            k = from;
        }
    }
}

/// Drop `items` in the order of the memory they own (`address` of each):
/// a million allocations made in one order and freed in another are a
/// cache miss each (the 1,000,000-run month's 3.4 million calls' facts:
/// 1.8 s freed in call order, 0.56 s in address order).
pub fn free_in_address_order<T>(mut items: Vec<T>, address: impl Fn(&T) -> usize) {
    items.sort_unstable_by_key(address);
    drop(items);
}

/// Hand the pages the allocator holds free back to the system. Memory
/// freed in millions of small pieces (what the spans said about each call,
/// once joined) stays with the allocator, reusable by small allocations
/// only; the large tables made later are new mappings, so without this
/// they add to it. With glibc's allocator only (`malloc_trim`); elsewhere
/// it does nothing.
pub fn return_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> std::os::raw::c_int;
        }
        // SAFETY: malloc_trim only walks the allocator's own free lists
        // under its lock and releases whole free pages; it touches no
        // memory a caller holds.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// From now on, have the allocator give every large block (128 KiB or
/// more) back to the system as it is freed, rather than keep it for reuse:
/// glibc raises that size as large blocks are freed, up to 32 MiB, and the
/// blocks it then keeps, made and freed in turn, stay held (a spilled
/// 1,000,000-run month: about 100 MiB more at every step after the spill,
/// for no time its runs' spread shows). Where memory is tight only: a
/// month in memory keeps them for speed. It holds for the rest of the
/// process (a command's run). With glibc's allocator only (`mallopt`);
/// elsewhere it does nothing.
pub fn give_back_large_blocks() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::raw::c_int;
        const M_MMAP_THRESHOLD: c_int = -3;
        extern "C" {
            fn mallopt(param: c_int, value: c_int) -> c_int;
        }
        // SAFETY: mallopt only sets one of the allocator's own parameters;
        // it touches no memory a caller holds.
        unsafe {
            mallopt(M_MMAP_THRESHOLD, 128 * 1024);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permute_puts_each_item_where_its_order_says() {
        let mut items = ['a', 'b', 'c', 'd', 'e', 'f'];
        permute(&mut items, vec![2, 0, 3, 1, 4, 5]);
        assert_eq!(items, ['c', 'a', 'd', 'b', 'e', 'f']);
        let mut items = ['a', 'b', 'c', 'd'];
        permute(&mut items, vec![1, 0, 3, 2]);
        assert_eq!(items, ['b', 'a', 'd', 'c']);
        // Fixed points, a swap and a longer cycle.
        let mut items = vec!['a', 'b', 'c', 'd', 'e', 'f'];
        permute(&mut items, vec![0, 2, 1, 5, 3, 4]);
        assert_eq!(items, ['a', 'c', 'b', 'f', 'd', 'e']);
    }

    #[test]
    fn converting_keeps_the_order_and_gives_each_item_its_index() {
        let items: Vec<u32> = (0..200_000).collect();
        let converted = convert(items, |i, x| (i as u32, x * 2));
        assert_eq!(converted.len(), 200_000);
        let in_order = |(i, &(at, x)): (usize, &(u32, u32))| at == i as u32 && x == 2 * i as u32;
        assert!(converted.iter().enumerate().all(in_order));
        let map: crate::hash::DenseMap<u32, char> =
            [(7, 'a'), (3, 'b'), (9, 'c')].into_iter().collect();
        assert_eq!(
            convert(map, |i, kv| (i, kv)),
            [(0, (7, 'a')), (1, (3, 'b')), (2, (9, 'c'))]
        );
        assert!(convert(Vec::<u8>::new(), |_, x| x).is_empty());
    }
}
