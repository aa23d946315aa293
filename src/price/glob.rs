//! Model-name patterns of the pricing table: exact names and `*` globs,
//! how well each fits a name, and the load-time check that no two entries
//! match one name equally well.

/// How well a pattern fits a name: exact names first, then longer globs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Fit {
    Glob(usize),
    Exact,
}

impl Fit {
    pub(super) fn of(pattern: &str, name: &str) -> Option<Fit> {
        if !pattern.contains('*') {
            return (pattern == name).then_some(Fit::Exact);
        }
        glob_match(pattern.as_bytes(), name.as_bytes()).then(|| Fit::class(pattern))
    }

    pub(super) fn class(pattern: &str) -> Fit {
        if pattern.contains('*') {
            Fit::Glob(pattern.len() - pattern.matches('*').count())
        } else {
            Fit::Exact
        }
    }
}

/// Whether `name` matches `pattern`, where `*` stands for any run of characters.
pub fn glob_match(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, n));
            p += 1;
        } else if p < pattern.len() && pattern[p] == name[n] {
            p += 1;
            n += 1;
        } else if let Some((sp, sn)) = star {
            p = sp + 1;
            n = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// The longest model name or glob a `match` list may hold.
pub const MAX_PATTERN: usize = 1000;

/// Whether some name matches both patterns: which prefix pairs of the two
/// can spell the same text, found row by row (runs of `*` collapsed first),
/// in time O(len_a × len_b) and memory O(len_b), without recursion.
pub(super) fn globs_intersect(a: &[u8], b: &[u8]) -> bool {
    let (a, b) = (collapse_stars(a), collapse_stars(b));
    let star = |p: &[u8], i: usize| p.get(i) == Some(&b'*');
    // prev[j]: a[..i-1] and b[..j] can spell the same text; cur: a[..i].
    let mut prev = vec![false; b.len() + 1];
    let mut cur = vec![false; b.len() + 1];
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            let up = i > 0 && prev[j];
            let left = j > 0 && cur[j - 1];
            let diagonal =
                i > 0 && j > 0 && prev[j - 1] && a[i - 1] == b[j - 1] && a[i - 1] != b'*';
            cur[j] = (i == 0 && j == 0)
                // a's star spells nothing more, or b's star spells a[i-1].
                || (up && (star(&a, i - 1) || star(&b, j)))
                // b's star spells nothing more, or a's star spells b[j-1].
                || (left && (star(&b, j - 1) || star(&a, i)))
                || diagonal;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// `pattern` with every run of `*` written once (it matches the same names).
fn collapse_stars(pattern: &[u8]) -> Vec<u8> {
    let mut out = pattern.to_vec();
    out.dedup_by(|x, y| *x == b'*' && *y == b'*');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_helpers() {
        assert!(glob_match(b"claude-*", b"claude-x"));
        assert!(!glob_match(b"claude-*-4", b"claude-x-5"));
        assert!(globs_intersect(b"a*c", b"ab*"));
        assert!(!globs_intersect(b"a*c", b"b*"));
    }

    #[test]
    fn glob_overlap_agrees_with_matching_every_short_name() {
        // Every pair of globs of up to 3 characters over a, b and *: they
        // overlap exactly when some name over a and b of up to 6 characters
        // matches both.
        let mut globs: Vec<Vec<u8>> = vec![Vec::new()];
        let mut names: Vec<Vec<u8>> = vec![Vec::new()];
        for len in 1..=6 {
            let grow = |set: &Vec<Vec<u8>>, alphabet: &[u8]| -> Vec<Vec<u8>> {
                set.iter()
                    .filter(|s| s.len() == len - 1)
                    .flat_map(|s| alphabet.iter().map(move |&c| [s.as_slice(), &[c]].concat()))
                    .collect()
            };
            if len <= 3 {
                globs.extend(grow(&globs, b"ab*"));
            }
            names.extend(grow(&names, b"ab"));
        }
        for a in &globs {
            for b in &globs {
                let witness = names.iter().any(|n| glob_match(a, n) && glob_match(b, n));
                assert_eq!(globs_intersect(a, b), witness, "{:?} {:?}", a, b);
            }
        }
    }

    #[test]
    fn glob_overlap_needs_no_stack_and_little_memory() {
        let stars = vec![b'*'; 300_000];
        assert!(globs_intersect(&stars, b"claude-*"));
        let a = [b"x".repeat(999), b"*".to_vec()].concat();
        let b = [b"*".to_vec(), b"x".repeat(999)].concat();
        assert!(globs_intersect(&a, &b));
        let c = [b"y*".to_vec(), b"x".repeat(998)].concat();
        assert!(!globs_intersect(&a, &c));
    }
}
