//! A spilled month's range files, kept from the trees to the join: a call
//! that released its span facts as its range was resolved, and that the
//! join then lists as unbilled, takes them back by resolving its trace
//! again from its range's file (the same spans in the same order, so the
//! same facts). Each range file holding such a call is read once more,
//! whole, after the join: a month with few ids claimed by two traces reads
//! a few; one where every id is, all of them, one at a time.

use super::{forest_of, range_of, TempDir};
use std::collections::BTreeMap;

use crate::error::{Error, Result, Skips};
use crate::hash::FastMap;
use crate::intern::Interner;
use crate::tree::{Reread, Wanted};

/// The range files, removed with their directory when dropped.
pub struct Kept {
    dir: TempDir,
    parts: u32,
}

impl Kept {
    /// The `parts` range files of `dir`.
    pub fn new(dir: TempDir, parts: u32) -> Kept {
        Kept { dir, parts }
    }
}

impl std::fmt::Debug for Kept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kept")
            .field("dir", &self.dir.path)
            .field("parts", &self.parts)
            .finish()
    }
}

impl Reread for Kept {
    fn restore(&mut self, wanted: &mut Wanted, _: &mut Interner) -> Result<()> {
        let mut ranges: BTreeMap<usize, FastMap<u128, ()>> = BTreeMap::new();
        for trace in wanted.traces() {
            let range = range_of(trace, self.parts as usize);
            ranges.entry(range).or_default().insert(trace, ());
        }
        for (range, traces) in ranges {
            let path = self.dir.part(range as u32);
            let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
            let forest = forest_of(&bytes, |trace| traces.contains_key(&trace));
            // The trace resolved once already: whatever it met then was
            // reported then.
            let again = forest.resolve_unsorted(1, |_| String::new(), &mut Skips::new(true))?;
            for call in again.calls {
                if let Some(wanted) = wanted.take(call.trace_id, call.span_id) {
                    wanted.info = call.info;
                }
            }
        }
        Ok(())
    }
}
