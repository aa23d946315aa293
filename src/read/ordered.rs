//! A file's blocks of lines parsed on several threads and handed over in
//! file order. Each thread takes the next block (reading is serial, under
//! a lock), parses it, and hands over every block that is next in order
//! (serial too, under a second lock), so one thread's reading and handing
//! over overlap with the other's parsing instead of leaving a core idle.
//! The result is the same whatever the number of threads.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use super::spans::Blocks;
use crate::error::{Error, Result};

/// Parse every block of `blocks` with `parse` (its first line's number
/// and its bytes) on `threads` threads, and pass each result to
/// `hand_over` in block order. The first problem in file order (a read
/// error, or what `hand_over` returns) stops the reading and is returned.
pub(crate) fn parse_in_order<T: Send>(
    blocks: &mut Blocks,
    threads: usize,
    parse: impl Fn(u64, &[u8]) -> T + Sync,
    hand_over: &mut (dyn FnMut(T) -> Result<()> + Send),
) -> Result<()> {
    let reader = Mutex::new((blocks, 0usize));
    let order = Mutex::new(Order {
        next: 0,
        ready: BTreeMap::new(),
        hand_over,
        failed: None,
    });
    let stop = AtomicBool::new(false);
    let work = || work(&reader, &order, &stop, &parse);
    std::thread::scope(|scope| {
        for _ in 1..threads.max(1) {
            scope.spawn(work);
        }
        work();
    });
    let order = order.into_inner().expect("a parser thread does not panic");
    order.failed.map_or(Ok(()), Err)
}

/// The blocks parsed but not yet handed over, and where the order stands.
struct Order<'h, T> {
    /// The index of the block to hand over next.
    next: usize,
    /// Parsed blocks (or the error reading them) waiting for their turn.
    ready: BTreeMap<usize, Result<T>>,
    hand_over: &'h mut (dyn FnMut(T) -> Result<()> + Send),
    /// The first problem, in block order.
    failed: Option<Error>,
}

impl<T> Order<'_, T> {
    /// Hand over every block that is next in order; `false` once a
    /// problem has stopped the reading.
    fn drain(&mut self) -> bool {
        while self.failed.is_none() {
            let Some(result) = self.ready.remove(&self.next) else {
                break;
            };
            self.next += 1;
            if let Err(e) = result.and_then(|parsed| (self.hand_over)(parsed)) {
                self.failed = Some(e);
            }
        }
        self.failed.is_none()
    }
}

/// One thread's loop: take a block, parse it, hand over what is in order.
fn work<T>(
    reader: &Mutex<(&mut Blocks, usize)>,
    order: &Mutex<Order<T>>,
    stop: &AtomicBool,
    parse: &(impl Fn(u64, &[u8]) -> T + Sync),
) {
    while !stop.load(Ordering::Relaxed) {
        let (index, block) = {
            let mut reader = reader.lock().expect("a parser thread does not panic");
            let index = reader.1;
            reader.1 += 1;
            (index, reader.0.next_block())
        };
        let result = match block {
            Ok(None) => return,
            Ok(Some((first, bytes))) => {
                let parsed = parse(first, &bytes);
                let mut reader = reader.lock().expect("a parser thread does not panic");
                reader.0.reuse(bytes);
                Ok(parsed)
            }
            Err(e) => Err(e),
        };
        let mut order = order.lock().expect("a parser thread does not panic");
        order.ready.insert(index, result);
        if !order.drain() {
            stop.store(true, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::spans::{open, Opened};
    use super::*;

    #[test]
    fn hands_over_in_file_order_and_stops_at_the_first_problem() {
        // 60,000 lines of 100 bytes: three blocks and more.
        let path = std::env::temp_dir().join(format!("tl-ordered-{}", std::process::id()));
        let line = |i: usize| format!("{{\"n\":{i:<90}}}\n");
        std::fs::write(&path, (1..=60_000).map(line).collect::<String>()).unwrap();
        let mut firsts = Vec::new();
        for threads in [1, 2, 3] {
            let Opened::Lines { mut blocks, .. } = open(&path, None).unwrap() else {
                panic!("lines");
            };
            let mut next_line = 1;
            let mut handed = Vec::new();
            let lines =
                |first: u64, block: &[u8]| (first, memchr::memchr_iter(b'\n', block).count());
            let result = parse_in_order(&mut blocks, threads, lines, &mut |(first, n)| {
                assert_eq!(first, next_line, "blocks in file order");
                next_line += n as u64;
                handed.push(first);
                match first + n as u64 > 50_000 {
                    true => Err(Error::fatal(format!("the block from line {first}"))),
                    false => Ok(()),
                }
            });
            let failed = result.unwrap_err().to_string();
            assert!(handed.len() >= 2, "{handed:?}");
            assert_eq!(
                failed,
                format!("the block from line {}", handed.last().unwrap())
            );
            firsts.push(handed);
        }
        std::fs::remove_file(&path).unwrap();
        assert!(firsts.windows(2).all(|w| w[0] == w[1]), "{firsts:?}");
    }
}
