//! How well a pricing table's `match` pattern (see [`crate::glob`]) fits
//! a model name, and the longest pattern a table may hold.

use crate::glob::{fixed_places, glob_match, is_glob};

/// How well a pattern fits a name: exact names first, then globs by how
/// many characters they fix (a class counts as one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Fit {
    Glob(usize),
    Exact,
}

impl Fit {
    pub(super) fn of(pattern: &str, name: &str) -> Option<Fit> {
        if !is_glob(pattern) {
            return (pattern == name).then_some(Fit::Exact);
        }
        glob_match(pattern.as_bytes(), name.as_bytes()).then(|| Fit::class(pattern))
    }

    pub(super) fn class(pattern: &str) -> Fit {
        if is_glob(pattern) {
            Fit::Glob(fixed_places(pattern))
        } else {
            Fit::Exact
        }
    }
}

/// The longest model name or glob a `match` list may hold.
pub const MAX_PATTERN: usize = 1000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_glob_that_fixes_more_places_fits_better() {
        assert_eq!(Fit::class("x-[0-9][0-9]"), Fit::Glob(4));
        assert!(Fit::class("x-[0-9][0-9]") > Fit::class("x-*"));
        assert_eq!(Fit::of("x-1", "x-1"), Some(Fit::Exact));
        assert_eq!(Fit::of("x-[0-9]", "x-a"), None);
    }
}
