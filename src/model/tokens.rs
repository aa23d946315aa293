//! A request's token counts, packed: 5 bytes a count ([`Tokens`]).

use super::TokenType;

/// The largest token count one record may hold in one column (a trillion):
/// anything larger is corruption, not usage. The bound also keeps every sum
/// of money far inside the exact decimal range.
pub const MAX_TOKENS: u64 = 1_000_000_000_000;

/// A count written as a floating-point number (`1000.0`, a pipeline that
/// retyped it), if it is whole, non-negative and at most [`MAX_TOKENS`].
pub fn whole_tokens(f: f64) -> Option<u64> {
    (f >= 0.0 && f.fract() == 0.0 && f <= MAX_TOKENS as f64).then_some(f as u64)
}

/// Token counts of one request, indexed by [`TokenType::index`], then its
/// reasoning count (a part of the output count). Each is at most
/// [`MAX_TOKENS`], under 2^40, so each is held in 5 bytes (30, not 48: a
/// month holds millions of records).
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Tokens([u8; 6 * COUNT_BYTES]);

/// The bytes of one count in [`Tokens`].
const COUNT_BYTES: usize = 5;

/// The place of the reasoning count in [`Tokens`], after the token types'.
const REASONING_AT: usize = 5;

impl Tokens {
    /// The counts, indexed by [`TokenType::index`]; `None` when one is
    /// beyond [`MAX_TOKENS`] (a reader's range check names it first).
    /// No reasoning count.
    pub fn new(counts: [u64; 5]) -> Option<Tokens> {
        let mut tokens = Tokens::default();
        for (i, n) in counts.into_iter().enumerate() {
            if n > MAX_TOKENS {
                return None;
            }
            tokens.set(i, n);
        }
        Some(tokens)
    }

    /// These counts with `reasoning` reasoning tokens, at most the output
    /// count (checked by the readers: `reasoning_within_output`).
    pub fn with_reasoning(mut self, reasoning: u64) -> Tokens {
        assert!(
            reasoning <= self.get(TokenType::Output),
            "reasoning within output"
        );
        self.set(REASONING_AT, reasoning);
        self
    }

    /// The count of one token type.
    pub fn get(&self, t: TokenType) -> u64 {
        self.at(t.index())
    }

    /// Reasoning (thinking) tokens: a part of the output count.
    pub fn reasoning(&self) -> u64 {
        self.at(REASONING_AT)
    }

    fn at(&self, i: usize) -> u64 {
        let mut le = [0u8; 8];
        le[..COUNT_BYTES].copy_from_slice(&self.0[i * COUNT_BYTES..][..COUNT_BYTES]);
        u64::from_le_bytes(le)
    }

    fn set(&mut self, i: usize, n: u64) {
        self.0[i * COUNT_BYTES..][..COUNT_BYTES].copy_from_slice(&n.to_le_bytes()[..COUNT_BYTES]);
    }

    /// Every count, indexed by [`TokenType::index`].
    pub fn counts(&self) -> [u64; 5] {
        TokenType::ALL.map(|t| self.get(t))
    }

    /// Every input token of the request: uncached, cache reads and writes.
    /// This is what long-context thresholds compare against.
    pub fn prompt(&self) -> u64 {
        // Each count is at most MAX_TOKENS, so four of them fit in a u64.
        self.counts()[..4].iter().sum()
    }
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Tokens")
            .field(&self.counts())
            .field(&self.reasoning())
            .finish()
    }
}
