//! A file's lines cut into blocks of whole lines ([`Blocks`]), and the
//! blocks parsed on several threads: all at once ([`in_parallel`]), or
//! each thread taking the next block, parsing it and handing over every
//! block next in file order ([`parse_in_order`]). In the latter, reading
//! (under a lock) and handing over (under a second lock) are serial, but
//! one thread's overlap with the other's parsing instead of leaving a core
//! idle. Either way the result is the same whatever the number of threads.

use std::collections::BTreeMap;
use std::io::{BufRead, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};

use crate::error::{Error, Result};

/// Bytes of lines one thread parses at a time.
const BLOCK: usize = 2 << 20;

/// A file's lines, cut into blocks of about [`BLOCK`] bytes that end at a
/// line's end.
pub(crate) struct Blocks<'p, R = super::Source> {
    path: &'p Path,
    reader: R,
    /// What follows the last cut: it starts the next block.
    carry: Vec<u8>,
    /// Block buffers are reused: fresh allocations for every block would
    /// be faulted in page by page, over and over.
    spare: Vec<Vec<u8>>,
    next_line: u64,
    done: bool,
    /// A read that failed, reported after the lines read before it.
    failed: Option<Box<Error>>,
}

impl<R: BufRead> Blocks<'_, R> {
    /// Up to `n` blocks, each with the number of its first line; none once
    /// the file is read to its end.
    pub(crate) fn next(&mut self, n: usize) -> Result<Vec<(u64, Vec<u8>)>> {
        let mut blocks = Vec::new();
        while blocks.len() < n.max(1) {
            match self.next_block()? {
                Some(block) => blocks.push(block),
                None => break,
            }
        }
        Ok(blocks)
    }

    /// The next block and the number of its first line; `None` once the
    /// file is read to its end. A read that fails gives the whole lines
    /// read before it as a block first, then its error; nothing is read
    /// after it.
    pub(crate) fn next_block(&mut self) -> Result<Option<(u64, Vec<u8>)>> {
        while !self.done {
            let mut block = self
                .spare
                .pop()
                .unwrap_or_else(|| Vec::with_capacity(BLOCK + (1 << 16)));
            block.extend_from_slice(&self.carry);
            self.carry.clear();
            if let Err(e) = self.fill(&mut block) {
                // The line the failure cut short is not a line.
                self.done = true;
                self.failed = Some(Box::new(Error::io(self.path, e)));
                block.truncate(memchr::memrchr(b'\n', &block).map_or(0, |end| end + 1));
            }
            if block.is_empty() {
                self.spare.push(block);
                continue;
            }
            let first = self.next_line;
            self.next_line += memchr::memchr_iter(b'\n', &block).count() as u64;
            return Ok(Some((first, block)));
        }
        self.failed.take().map_or(Ok(None), |e| Err(*e))
    }

    /// Read up to a block's worth after what `block` holds, and cut it at
    /// its last line's end (the rest is carried to the next block).
    fn fill(&mut self, block: &mut Vec<u8>) -> std::io::Result<()> {
        let want = BLOCK.saturating_sub(block.len()) as u64;
        let got = (&mut self.reader).take(want).read_to_end(block)?;
        self.done = (got as u64) < want;
        if !self.done {
            match memchr::memrchr(b'\n', block) {
                Some(end) => {
                    self.carry.extend_from_slice(&block[end + 1..]);
                    block.truncate(end + 1);
                }
                // A line longer than a block: read to its end.
                None => self.done = self.reader.read_until(b'\n', block)? == 0,
            }
        }
        Ok(())
    }

    /// Take blocks back once their lines are parsed, for reuse.
    pub(crate) fn recycle(&mut self, blocks: Vec<(u64, Vec<u8>)>) {
        blocks.into_iter().for_each(|(_, block)| self.reuse(block));
    }

    /// Take one block's buffer back for reuse.
    pub(crate) fn reuse(&mut self, mut block: Vec<u8>) {
        block.clear();
        self.spare.push(block);
    }
}

impl<'p, R> Blocks<'p, R> {
    /// The lines `reader` holds after `head`, which starts them, the first
    /// being line `first_line`.
    pub(crate) fn new(path: &'p Path, reader: R, head: Vec<u8>, first_line: u64) -> Blocks<'p, R> {
        Blocks {
            path,
            reader,
            carry: head,
            spare: Vec::new(),
            next_line: first_line,
            done: false,
            failed: None,
        }
    }
}

/// `f` applied to every block (its first line's number and its bytes), one
/// thread per block, the results in block order.
pub(crate) fn in_parallel<T: Send>(
    blocks: &[(u64, Vec<u8>)],
    f: impl Fn(u64, &[u8]) -> T + Sync,
) -> Vec<T> {
    crate::threads::in_order(blocks.iter().collect(), |(first, block)| f(*first, block))
}

/// Parse every block of `blocks` with `parse` (its first line's number
/// and its bytes) on `threads` threads, and pass each result to
/// `hand_over` in block order. The first problem in file order (a read
/// error, or what `hand_over` returns) stops the reading and is returned.
pub(crate) fn parse_in_order<T: Send, R: BufRead + Send>(
    blocks: &mut Blocks<R>,
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
    let order = (order, Condvar::new(), 2 * threads.max(1));
    let stop = AtomicBool::new(false);
    let work = || work(&reader, &order, &stop, &parse);
    std::thread::scope(|scope| {
        for _ in 1..threads.max(1) {
            scope.spawn(work);
        }
        work();
    });
    let order = order
        .0
        .into_inner()
        .expect("a parser thread does not panic");
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

/// The blocks parsed but not handed over, the signal that some were,
/// and how many may wait (for an earlier block still being parsed).
type Waiting<'h, T> = (Mutex<Order<'h, T>>, Condvar, usize);

/// One thread's loop: take a block, parse it, hand over what is in order.
fn work<T, R: BufRead>(
    reader: &Mutex<(&mut Blocks<R>, usize)>,
    (order, handed, most): &Waiting<T>,
    stop: &AtomicBool,
    parse: &(impl Fn(u64, &[u8]) -> T + Sync),
) {
    // The last block's buffer, given back when the next one is read (not
    // under a second wait for the reader).
    let mut used: Option<Vec<u8>> = None;
    while !stop.load(Ordering::Relaxed) {
        let (index, block) = {
            let mut reader = reader.lock().expect("a parser thread does not panic");
            if let Some(bytes) = used.take() {
                reader.0.reuse(bytes);
            }
            let index = reader.1;
            reader.1 += 1;
            (index, reader.0.next_block())
        };
        let result = match block {
            Ok(None) => return,
            Ok(Some((first, bytes))) => {
                let parsed = parse(first, &bytes);
                used = Some(bytes);
                Ok(parsed)
            }
            Err(e) => Err(e),
        };
        let mut order = order.lock().expect("a parser thread does not panic");
        order.ready.insert(index, result);
        if !order.drain() {
            stop.store(true, Ordering::Relaxed);
        }
        handed.notify_all();
        // Memory stays bounded: this thread parses no further while `most`
        // blocks wait for the one being parsed elsewhere (which never waits
        // here before its block is in).
        while order.ready.len() >= *most && order.failed.is_none() {
            order = handed.wait(order).expect("a parser thread does not panic");
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

    /// Lines of `text`, then a failed read.
    struct Failing(std::io::Cursor<Vec<u8>>);

    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            match self.0.read(buf)? {
                0 => Err(std::io::Error::other("the disk went away")),
                n => Ok(n),
            }
        }
    }

    #[test]
    fn a_failed_read_comes_after_the_lines_read_before_it() {
        // 30,000 lines (two blocks), the last cut short by the failure.
        let text: String = (1..=30_000)
            .map(|i| format!("{{\"n\":{i:<90}}}\n"))
            .collect();
        let text = text + "{\"n\":30001";
        let path = Path::new("spans.jsonl");
        for (bad_line, threads) in [(None, 1), (None, 2), (Some(25_000), 1), (Some(25_000), 2)] {
            let reader =
                std::io::BufReader::new(Failing(std::io::Cursor::new(text.clone().into_bytes())));
            let mut blocks = Blocks::new(path, reader, Vec::new(), 1);
            let mut lines = 0;
            let count = |first: u64, block: &[u8]| {
                (first, memchr::memchr_iter(b'\n', block).count() as u64)
            };
            let result = parse_in_order(&mut blocks, threads, count, &mut |(first, n)| {
                lines += n;
                match bad_line.filter(|&bad| first <= bad && bad < first + n) {
                    Some(bad) => Err(Error::fatal(format!("spans.jsonl:{bad}: bad"))),
                    None => Ok(()),
                }
            });
            let error = result.unwrap_err().to_string();
            match bad_line {
                None => {
                    assert_eq!(lines, 30_000);
                    assert!(error.contains("the disk went away"), "{error}");
                }
                Some(_) => assert_eq!(error, "spans.jsonl:25000: bad"),
            }
        }
    }
}
