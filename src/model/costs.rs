//! Every record's exact cost, held compactly ([`Costs`]): a month holds
//! millions of records, and a [`Cost`]'s six `Decimal`s take 96 bytes.

use rust_decimal::Decimal;

use super::Cost;

/// Every record's exact [`Cost`], held compactly: a month holds millions.
/// Each of a cost's six decimals is a byte (its scale, and how many bytes
/// its mantissa takes) and its 64-bit mantissa's significant bytes
/// (zig-zag coded, so a small negative is short too): about 18 bytes a
/// record with its place, not 96; each is given back bit for bit as the
/// `Decimal` it was. A cost any of whose decimals does not fit (a mantissa
/// of 8 bytes or more, a negative zero) is held whole, apart.
#[derive(Clone, Debug, Default)]
pub struct Costs {
    /// The costs' bytes, one after the other.
    bytes: Vec<u8>,
    /// Per block of [`BLOCK`] costs, where its first begins in `bytes`.
    blocks: Vec<usize>,
    /// Per cost, where it begins, from its block's start (a cost takes at
    /// most 48 bytes, so a block's costs lie within 64 KiB).
    offsets: Vec<u16>,
    /// The costs held whole.
    whole: Vec<Cost>,
}

/// Costs per block of [`Costs::offsets`].
const BLOCK: usize = 1024;

/// The byte that begins a cost held whole (a decimal's byte is at most
/// 28 + 7 × 32 = 252), its index in `whole` following.
const WHOLE: u8 = u8::MAX;

/// A decimal's byte: its scale in the low 5 bits, its mantissa's byte
/// count above.
const SCALE_BITS: u32 = 5;

impl Costs {
    /// Room for `n` costs.
    pub fn with_capacity(n: usize) -> Costs {
        Costs {
            bytes: Vec::with_capacity(n * 16),
            blocks: Vec::with_capacity(n.div_ceil(BLOCK)),
            offsets: Vec::with_capacity(n),
            whole: Vec::new(),
        }
    }

    /// Add the next record's cost.
    pub fn push(&mut self, cost: Cost) {
        if self.offsets.len().is_multiple_of(BLOCK) {
            self.blocks.push(self.bytes.len());
        }
        let start = *self.blocks.last().expect("a block begun");
        self.offsets.push((self.bytes.len() - start) as u16);
        let at = self.bytes.len();
        let parts = cost.tokens.into_iter().chain([cost.fees]);
        for d in parts {
            if !encode(d, &mut self.bytes) {
                self.bytes.truncate(at);
                self.bytes.push(WHOLE);
                let index = self.whole.len() as u32;
                self.bytes.extend_from_slice(&index.to_le_bytes());
                self.whole.push(cost);
                return;
            }
        }
    }

    /// The cost of record `index`.
    pub fn get(&self, index: usize) -> Cost {
        let start = self.blocks[index / BLOCK] + usize::from(self.offsets[index]);
        let mut bytes = &self.bytes[start..];
        if bytes[0] == WHOLE {
            let whole = u32::from_le_bytes(bytes[1..5].try_into().expect("4 bytes"));
            return self.whole[whole as usize];
        }
        let mut d = || decode(&mut bytes);
        Cost {
            tokens: [d(), d(), d(), d(), d()],
            fees: d(),
        }
    }

    /// How many costs.
    pub fn len(&self) -> usize {
        self.offsets.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    /// Every cost, in record order.
    pub fn iter(&self) -> impl Iterator<Item = Cost> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }
}

impl FromIterator<Cost> for Costs {
    fn from_iter<I: IntoIterator<Item = Cost>>(iter: I) -> Costs {
        let iter = iter.into_iter();
        let mut costs = Costs::with_capacity(iter.size_hint().0);
        iter.for_each(|c| costs.push(c));
        costs
    }
}

/// Append `d`'s byte and its mantissa's significant bytes to `out`; false
/// (nothing written) when it cannot be given back bit for bit that way.
fn encode(d: Decimal, out: &mut Vec<u8>) -> bool {
    let Ok(mantissa) = i64::try_from(d.mantissa()) else {
        return false;
    };
    let scale = d.scale();
    if Decimal::new(mantissa, scale).serialize() != d.serialize() {
        return false;
    }
    let zigzag = ((mantissa << 1) ^ (mantissa >> 63)) as u64;
    let len = (8 - zigzag.leading_zeros() / 8) as usize;
    if len >= 8 {
        return false;
    }
    out.push(scale as u8 | (len as u8) << SCALE_BITS);
    out.extend_from_slice(&zigzag.to_le_bytes()[..len]);
    true
}

/// The decimal at the front of `bytes`, which moves past it.
fn decode(bytes: &mut &[u8]) -> Decimal {
    let head = bytes[0];
    let len = usize::from(head >> SCALE_BITS);
    let mut le = [0u8; 8];
    le[..len].copy_from_slice(&bytes[1..=len]);
    *bytes = &bytes[1 + len..];
    let zigzag = u64::from_le_bytes(le);
    let mantissa = (zigzag >> 1) as i64 ^ -((zigzag & 1) as i64);
    Decimal::new(mantissa, u32::from(head & ((1 << SCALE_BITS) - 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost(parts: [&str; 6]) -> Cost {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        Cost {
            tokens: [
                d(parts[0]),
                d(parts[1]),
                d(parts[2]),
                d(parts[3]),
                d(parts[4]),
            ],
            fees: d(parts[5]),
        }
    }

    #[test]
    fn every_cost_comes_back_bit_for_bit() {
        let wide = "7922816251426433759354395033.5";
        let negative_zero = -Decimal::new(0, 3);
        let mut odd = cost(["0", "0", "0", "0", "0", "0"]);
        odd.fees = negative_zero;
        let given = [
            cost([
                "0.000003",
                "0.00000030",
                "0",
                "0.0000000000000000000000000001",
                "12.5",
                "0",
            ]),
            cost(["0", "0", "0", "0", "0", "0.010"]),
            cost(["1", "2", "3", "4", wide, "-0.25"]),
            odd,
            cost([
                "9223372036854775807",
                "-9223372036854775808",
                "0",
                "0",
                "0",
                "0",
            ]),
            cost(["0", "0", "922337203685477580.8", "0", "0", "0"]),
        ];
        let costs: Costs = given.iter().copied().collect();
        assert_eq!(costs.len(), given.len());
        // Held whole: the 96-bit mantissa, the negative zero, the 64-bit
        // extremes (8 bytes zig-zag coded) and the mantissa one past
        // i64::MAX; the others take a byte per decimal and their
        // mantissas' significant bytes.
        assert_eq!(costs.whole.len(), 4);
        assert_eq!(costs.get(0).tokens[0], Decimal::new(3, 6));
        let first = usize::from(costs.offsets[1]);
        assert_eq!(first, 6 + 4, "six bytes and four one-byte mantissas");
        for (i, c) in given.iter().enumerate() {
            let back = costs.get(i);
            let bits = |c: &Cost| c.tokens.map(|d| d.serialize()).to_vec();
            assert_eq!(bits(&back), bits(c), "cost {i}");
            assert_eq!(back.fees.serialize(), c.fees.serialize(), "cost {i}");
        }
    }

    #[test]
    fn costs_across_blocks_come_back_bit_for_bit() {
        // Mantissas of every byte length and sign, every scale, across
        // several blocks, some held whole among them.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let given: Vec<Cost> = (0..3 * BLOCK + 5)
            .map(|_| {
                let mut d = || {
                    let bits = next();
                    let mantissa = (bits as i64) >> (bits % 64);
                    Decimal::new(mantissa, (bits >> 8) as u32 % 29)
                };
                Cost {
                    tokens: [d(), d(), d(), d(), d()],
                    fees: d(),
                }
            })
            .collect();
        let costs: Costs = given.iter().copied().collect();
        assert!(!costs.whole.is_empty() && costs.whole.len() < given.len() / 2);
        for (i, c) in given.iter().enumerate() {
            let bits = |c: &Cost| c.tokens.map(|d| d.serialize()).to_vec();
            assert_eq!(bits(&costs.get(i)), bits(c), "cost {i}");
            assert_eq!(costs.get(i).fees.serialize(), c.fees.serialize());
        }
    }
}
