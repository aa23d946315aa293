//! Name patterns, for the pricing table's `match` lists and the
//! allocation rules' label and bill-line matches: exact names and globs,
//! where `*` stands for any run of characters and `[…]` for one ASCII
//! character of a class (`[0-9]`, `[a-z_]`, `[!0-9]` for one that is not a
//! digit; `[[]` for a `[` itself; a `[` with no `]` after it is itself). A
//! class with a reversed range (`[9-0]`), one that matches nothing, or one
//! naming a character beyond ASCII is refused where the pattern is read
//! ([`problem`]).

/// Whether `pattern` is a glob (has a `*` or a class) rather than one name.
pub fn is_glob(pattern: &str) -> bool {
    let bytes = pattern.as_bytes();
    bytes
        .iter()
        .enumerate()
        .any(|(at, &b)| b == b'*' || (b == b'[' && class(bytes, at).is_some()))
}

/// One place of a pattern: any run of characters, or one character of a set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token {
    Star,
    /// The bytes this place may be, a bit each.
    Set([u64; 4]),
}

/// `set` with byte `b` in it.
fn add(set: &mut [u64; 4], b: u8) {
    set[usize::from(b / 64)] |= 1 << (b % 64);
}

impl Token {
    fn byte(b: u8) -> Token {
        let mut set = [0u64; 4];
        add(&mut set, b);
        Token::Set(set)
    }

    fn matches(&self, b: u8) -> bool {
        match self {
            Token::Star => true,
            Token::Set(set) => set[usize::from(b / 64)] & (1 << (b % 64)) != 0,
        }
    }

    /// Whether one character can stand at both places (neither is a star).
    fn meets(&self, other: &Token) -> bool {
        match (self, other) {
            (Token::Set(a), Token::Set(b)) => a.iter().zip(b).any(|(x, y)| x & y != 0),
            _ => false,
        }
    }
}

/// The place of `pattern` that starts at byte `at`, and where the next one
/// starts.
fn token_at(pattern: &[u8], at: usize) -> (Token, usize) {
    match pattern[at] {
        b'*' => (Token::Star, at + 1),
        b'[' => class(pattern, at).unwrap_or((Token::byte(b'['), at + 1)),
        b => (Token::byte(b), at + 1),
    }
}

/// The places of `pattern`, runs of `*` written once.
fn tokens(pattern: &[u8]) -> Vec<Token> {
    let mut out = Vec::with_capacity(pattern.len());
    let mut at = 0;
    while at < pattern.len() {
        let (token, next) = token_at(pattern, at);
        if !(token == Token::Star && out.last() == Some(&Token::Star)) {
            out.push(token);
        }
        at = next;
    }
    out
}

/// The class that opens at `pattern[open]` (a `[`) and the place after its
/// `]`, if it is closed: characters and ranges (`a-z`), a leading `!`
/// negating them, a `]` first or a `-` first or last taken as itself.
fn class(pattern: &[u8], open: usize) -> Option<(Token, usize)> {
    let (inside, negated, next) = class_parts(pattern, open)?;
    let mut set = [0u64; 4];
    for (low, high) in class_ranges(inside) {
        (low..=high).for_each(|b| add(&mut set, b));
    }
    if negated {
        // One ASCII character not in the class.
        set = [!set[0], !set[1], 0, 0];
    }
    Some((Token::Set(set), next))
}

/// The class that opens at `pattern[open]`, if it is closed: its inside
/// (between `[` or `[!` and `]`), whether it is negated, and the place
/// after its `]`.
fn class_parts(pattern: &[u8], open: usize) -> Option<(&[u8], bool, usize)> {
    let negated = pattern.get(open + 1) == Some(&b'!');
    let first = open + 1 + usize::from(negated);
    let close = first + 1 + pattern.get(first + 1..)?.iter().position(|&b| b == b']')?;
    Some((&pattern[first..close], negated, close + 1))
}

/// The ranges of a class's inside: `a-z`, or one character as a range of
/// one.
fn class_ranges(inside: &[u8]) -> impl Iterator<Item = (u8, u8)> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        let (low, high, width) = match inside.get(i + 1..i + 3) {
            Some(&[b'-', high]) => (*inside.get(i)?, high, 3),
            _ => (*inside.get(i)?, *inside.get(i)?, 1),
        };
        i += width;
        Some((low, high))
    })
}

/// What is wrong with `pattern`'s classes, if anything: a reversed range
/// (`[9-0a]`), a class that matches no character, or one naming a
/// character beyond ASCII (a class stands for one ASCII character).
pub fn problem(pattern: &str) -> Option<String> {
    let bytes = pattern.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let Some((inside, _, next)) = (bytes[at] == b'[')
            .then(|| class_parts(bytes, at))
            .flatten()
        else {
            at += 1;
            continue;
        };
        let text = &pattern[at..next];
        if !text.is_ascii() {
            return Some(format!("the class {text} names a character beyond ASCII; a class stands for one ASCII character"));
        }
        if class_ranges(inside).any(|(low, high)| low > high) {
            return Some(format!(
                "the class {text} holds a reversed range (a range is written low-high, [0-9])"
            ));
        }
        if class(bytes, at).is_some_and(|(token, _)| token == Token::Set([0; 4])) {
            return Some(format!("the class {text} matches no character"));
        }
        at = next;
    }
    None
}

/// Whether `name` matches `pattern` (see the module doc for the syntax):
/// read place by place as it goes, nothing allocated (a month's lookups
/// try every pattern of the table).
pub fn glob_match(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    // After the last star: where the pattern goes on, and the name's place.
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pattern.len() {
            let (token, next) = token_at(pattern, p);
            if token == Token::Star {
                star = Some((next, n));
                p = next;
                continue;
            }
            if token.matches(name[n]) {
                p = next;
                n += 1;
                continue;
            }
        }
        let Some((after, from)) = star else {
            return false;
        };
        p = after;
        n = from + 1;
        star = Some((after, from + 1));
    }
    while p < pattern.len() {
        let (token, next) = token_at(pattern, p);
        if token != Token::Star {
            return false;
        }
        p = next;
    }
    true
}

/// Whether some name matches both patterns: which prefix pairs of the two
/// can spell the same text, found row by row, in time O(len_a × len_b) and
/// memory O(len_b), without recursion.
pub fn globs_intersect(a: &[u8], b: &[u8]) -> bool {
    let (a, b) = (tokens(a), tokens(b));
    let star = |p: &[Token], i: usize| p.get(i) == Some(&Token::Star);
    // prev[j]: a[..i-1] and b[..j] can spell the same text; cur: a[..i].
    let mut prev = vec![false; b.len() + 1];
    let mut cur = vec![false; b.len() + 1];
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            let up = i > 0 && prev[j];
            let left = j > 0 && cur[j - 1];
            let diagonal = i > 0 && j > 0 && prev[j - 1] && a[i - 1].meets(&b[j - 1]);
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

/// How many places of `pattern` stand for one character (a class counts
/// as one): how much of a name the glob fixes.
pub fn fixed_places(pattern: &str) -> usize {
    tokens(pattern.as_bytes())
        .iter()
        .filter(|t| **t != Token::Star)
        .count()
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
        // Every pair of globs of up to 3 places over a, b, *, a class and a
        // negated class: they overlap exactly when some name over a, b and
        // c of up to 6 characters matches both.
        let units: [&[u8]; 5] = [b"a", b"b", b"*", b"[ab]", b"[!a]"];
        let mut globs: Vec<Vec<u8>> = vec![Vec::new()];
        for _ in 0..3 {
            let longer: Vec<Vec<u8>> = globs
                .iter()
                .flat_map(|g| units.iter().map(move |u| [g.as_slice(), u].concat()))
                .collect();
            globs.extend(longer);
        }
        globs.sort();
        globs.dedup();
        let mut names: Vec<Vec<u8>> = vec![Vec::new()];
        for len in 1..=6 {
            let longer: Vec<Vec<u8>> = names
                .iter()
                .filter(|n| n.len() == len - 1)
                .flat_map(|n| b"abc".iter().map(move |&c| [n.as_slice(), &[c]].concat()))
                .collect();
            names.extend(longer);
        }
        for a in &globs {
            for b in &globs {
                let witness = names.iter().any(|n| glob_match(a, n) && glob_match(b, n));
                assert_eq!(globs_intersect(a, b), witness, "{:?} {:?}", a, b);
            }
        }
    }

    #[test]
    fn a_class_stands_for_one_character_of_it() {
        let dated = b"claude-x-5-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]";
        assert!(glob_match(dated, b"claude-x-5-20261001"));
        assert!(!glob_match(dated, b"claude-x-5-2"));
        assert!(!glob_match(dated, b"claude-x-5-thinking"));
        assert!(glob_match(b"a[!0-9]", b"ax") && !glob_match(b"a[!0-9]", b"a7"));
        assert!(glob_match(b"a[]]b", b"a]b") && glob_match(b"a[-z]", b"a-"));
        // A `[` never closed is itself; so is one in an exact name.
        assert!(glob_match(b"a[b*", b"a[bc") && !is_glob("grok-4[fast"));
        assert!(is_glob("x-[0-9]") && is_glob("x-*") && !is_glob("x-1"));
        assert!(!glob_match(b"x-[!0-9]", "x-é".as_bytes()) && glob_match(b"a[[]b", b"a[b"));
        assert_eq!(problem("x-[0-9]*"), None);
        assert!(problem("x-[9-0]").unwrap().contains("reversed range"));
        assert!(problem("x-[é]").unwrap().contains("beyond ASCII"));
        assert!(problem("m-[9-0a]").unwrap().contains("reversed range"));
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
