//! Two entries that match one model name equally well in overlapping
//! periods make a table ambiguous: it is refused when it loads.

use super::entry::PriceEntry;
use super::glob::Fit;
use crate::error::{Error, Result};
use crate::glob::globs_intersect;

/// Reject two entries of one provider with overlapping periods whose
/// patterns are equally good for some model name. Only patterns of one
/// provider and one [`Fit`] class can be equally good, so only those are
/// compared (a table of hundreds of entries loads in milliseconds).
pub(super) fn check_ambiguity(entries: &[PriceEntry], source: &str) -> Result<()> {
    // (provider, fit class, pattern, entry index, pattern index).
    type Pattern<'e> = (&'e str, Fit, &'e str, usize, usize);
    let mut patterns: Vec<Pattern> = entries
        .iter()
        .enumerate()
        .flat_map(|(i, e)| {
            e.patterns
                .iter()
                .enumerate()
                .map(move |(k, p)| (e.provider.as_str(), Fit::class(p), p.as_str(), i, k))
        })
        .collect();
    patterns.sort_unstable();
    // Exact names are compared by name, globs by class.
    let same_group =
        |x: &Pattern, y: &Pattern| (x.0, x.1) == (y.0, y.1) && (x.1 != Fit::Exact || x.2 == y.2);
    // The clash reported is the first in the file: by the later entry's
    // line, then the earlier's, then the patterns' places in them.
    let mut first: Option<((usize, usize, usize, usize), String)> = None;
    for group in patterns.chunk_by(same_group) {
        for (n, &(_, fit, pa, ia, ka)) in group.iter().enumerate() {
            for &(_, _, pb, ib, kb) in &group[n + 1..] {
                let same_names = match fit {
                    Fit::Exact => pa == pb,
                    Fit::Glob(_) => globs_intersect(pa.as_bytes(), pb.as_bytes()),
                };
                if ia == ib || !same_names || !entries[ia].overlaps(&entries[ib]) {
                    continue;
                }
                let ((a, pa, ka), (b, pb, kb)) = match ia < ib {
                    true => ((&entries[ia], pa, ka), (&entries[ib], pb, kb)),
                    false => ((&entries[ib], pb, kb), (&entries[ia], pa, ka)),
                };
                let at = (b.line, a.line, ka, kb);
                if first.as_ref().is_none_or(|(seen, _)| at < *seen) {
                    let message = format!(
                        "{source}:{}: entry matches \"{pb}\" and the entry at line {} matches \"{pa}\" \
                         equally well in overlapping periods; set effective_to on the older one \
                         or make one match more specific",
                        b.line, a.line
                    );
                    first = Some((at, message));
                }
            }
        }
    }
    match first {
        Some((_, message)) => Err(Error::fatal(message)),
        None => Ok(()),
    }
}
