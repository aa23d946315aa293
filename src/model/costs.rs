//! Every record's exact cost, held compactly ([`Costs`]): a month holds
//! millions of records, and a [`Cost`]'s six `Decimal`s take 96 bytes.

use rust_decimal::Decimal;

use super::Cost;

/// Every record's exact [`Cost`], held compactly: a month holds millions.
/// Each of a cost's six decimals is kept as its 64-bit mantissa and its
/// scale (56 bytes a record, not 96), and given back bit for bit the
/// `Decimal` it was; a cost any of whose decimals does not fit (a mantissa
/// beyond 64 bits, a negative zero) is held whole, apart.
#[derive(Clone, Debug, Default)]
pub struct Costs {
    packed: Vec<PackedCost>,
    whole: Vec<Cost>,
}

/// One cost's six decimals: the token types' then the fees'. A cost held
/// whole has `scales[0] == WHOLE` and its index in `mantissas[0]`.
#[derive(Clone, Copy, Debug)]
struct PackedCost {
    mantissas: [i64; 6],
    scales: [u8; 6],
}

const WHOLE: u8 = u8::MAX;

impl Costs {
    /// Room for `n` costs.
    pub fn with_capacity(n: usize) -> Costs {
        Costs {
            packed: Vec::with_capacity(n),
            whole: Vec::new(),
        }
    }

    /// Add the next record's cost.
    pub fn push(&mut self, cost: Cost) {
        let parts = cost.tokens.into_iter().chain([cost.fees]);
        let mut packed = PackedCost {
            mantissas: [0; 6],
            scales: [0; 6],
        };
        for (i, d) in parts.enumerate() {
            match i64::try_from(d.mantissa()) {
                Ok(m) if unpack(m, d.scale() as u8).serialize() == d.serialize() => {
                    (packed.mantissas[i], packed.scales[i]) = (m, d.scale() as u8);
                }
                _ => {
                    packed.scales[0] = WHOLE;
                    packed.mantissas[0] = self.whole.len() as i64;
                    self.whole.push(cost);
                    break;
                }
            }
        }
        self.packed.push(packed);
    }

    /// The cost of record `index`.
    pub fn get(&self, index: usize) -> Cost {
        let p = &self.packed[index];
        if p.scales[0] == WHOLE {
            return self.whole[p.mantissas[0] as usize];
        }
        let d = |i: usize| unpack(p.mantissas[i], p.scales[i]);
        Cost {
            tokens: [d(0), d(1), d(2), d(3), d(4)],
            fees: d(5),
        }
    }

    /// How many costs.
    pub fn len(&self) -> usize {
        self.packed.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.packed.is_empty()
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

/// The decimal of a mantissa and scale ([`Costs`] keeps only scales a
/// `Decimal` can have, 0 to 28).
fn unpack(mantissa: i64, scale: u8) -> Decimal {
    Decimal::from_i128_with_scale(i128::from(mantissa), u32::from(scale))
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
        assert!(
            std::mem::size_of::<PackedCost>() <= 56,
            "a packed cost grew"
        );
        // Held whole: the 96-bit mantissa, the negative zero, and the mantissa
        // one past i64::MAX; the 64-bit extremes themselves are packed.
        assert_eq!(costs.whole.len(), 3);
        for (i, c) in given.iter().enumerate() {
            let back = costs.get(i);
            let bits = |c: &Cost| c.tokens.map(|d| d.serialize()).to_vec();
            assert_eq!(bits(&back), bits(c), "cost {i}");
            assert_eq!(back.fees.serialize(), c.fees.serialize(), "cost {i}");
        }
    }
}
