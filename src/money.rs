//! Money at output: exact [`Decimal`] sums are rounded to micro-dollars
//! (6 places) only when written, so that every report's rows add up
//! exactly to the total.
//!
//! - [`split`]: the grand total is rounded half-to-even to 6 places and
//!   split over the cost columns (input, cache read, cache write, output,
//!   fees) by largest remainder: every report's columns sum to these.
//! - A report's cells are then rounded together by controlled rounding
//!   ([`crate::rounding`]): each row and each column adds up to its total.
//! - [`apportion`] splits a rounded amount over its exact parts by
//!   largest remainder; [`round_column`] rounds a column to its rounded sum.
//!
//! Largest remainder: every cell is first rounded down; the micro-dollars
//! still missing go one each to the cells that lost the most, ties going to
//! the earlier row in key order. No cell moves by a micro-dollar or more.

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::error::{Error, Result};

/// The decimal places a share of an amount is held to (a record's
/// trued-up part of an invoice line, an owner's part of a split line): far
/// below the micro-dollar the reports show, and few enough that sums of
/// such shares stay exact in a [`Decimal`] (96 bits) in any order, up to
/// about 79 billion dollars, where a 28-digit quotient would be rounded by
/// the sum and leave a residue.
pub const SHARE_PLACES: u32 = 18;

/// The largest amount (in either direction) one input value, or one priced
/// record, may hold: a trillion dollars. Larger values are corruption; the
/// bound keeps sums of millions of them exact and far from overflow.
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(3_567_587_328, 232, 0, false, 0);

/// Whether `amount` is within [`MAX_AMOUNT`] either way.
pub fn plausible(amount: Decimal) -> bool {
    amount.abs() <= MAX_AMOUNT
}

/// A decimal amount from its literal text, exactly: plain or scientific
/// notation (JSON numbers are written both ways), within the plausible range.
pub fn parse_amount(text: &str) -> Option<Decimal> {
    exact_decimal(text.trim()).filter(|a| plausible(*a))
}

/// Why `text` is no amount [`parse_amount`] reads: beyond the plausible
/// range, or more digits than a decimal holds; `None` when it is no number.
pub fn amount_problem(text: &str) -> Option<&'static str> {
    match exact_decimal(text.trim()) {
        Some(_) => Some("beyond the plausible maximum of 1000000000000"),
        None if text.trim().parse::<f64>().is_ok_and(f64::is_finite) => Some(
            "more digits than tokenledger holds exactly (28 decimal places, 28 significant digits)",
        ),
        None => None,
    }
}

/// A number from its literal text, exactly: plain (`0.25`) or scientific
/// (`2.5e-1`); `None` when it is no number, or when it has more digits than
/// a decimal holds (28 places, 28 significant digits), so that reading it
/// would round it. Trailing zeros after the point are exact, so
/// `1.000…0` with 30 zeros reads as 1. An underscore, which the decimal
/// parser would skip (`3_0` as 30), is no digit: no export writes one.
pub fn exact_decimal(text: &str) -> Option<Decimal> {
    if text.contains('_') {
        return None;
    }
    let Some((mantissa, exponent)) = text.split_once(['e', 'E']) else {
        return Decimal::from_str_exact(text).ok().or_else(|| {
            let trimmed = text.contains('.').then(|| text.trim_end_matches('0'))?;
            Decimal::from_str_exact(trimmed.strip_suffix('.').unwrap_or(trimmed)).ok()
        });
    };
    let exponent: i64 = exponent.parse().ok()?;
    let digits = mantissa.trim_start_matches(['+', '-']);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let fraction = fraction.trim_end_matches('0');
    let significant = format!("{whole}{fraction}");
    let significant = significant.trim_start_matches('0');
    let places = fraction.len() as i64 - exponent;
    if places > 28 || significant.len() > 28 {
        return None;
    }
    Decimal::from_scientific(text).ok()
}

/// An amount of USD in whole micro-dollars, as written in reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Micros(pub i128);

impl Micros {
    /// Round an exact amount half-to-even to micro-dollars.
    pub fn round(amount: Decimal) -> Micros {
        let rounded = amount.round_dp_with_strategy(6, RoundingStrategy::MidpointNearestEven);
        Micros(scaled(rounded))
    }
}

impl Micros {
    /// The amount as an exact decimal.
    pub fn to_decimal(self) -> Decimal {
        Decimal::from_i128_with_scale(self.0, 6)
    }

    /// The amount as a length to draw (a chart's bars), never money.
    pub fn drawn(self) -> f64 {
        self.0 as f64
    }

    /// Dollars for reading, not for summing: two places (half a cent up),
    /// thousands commas: `$1,240.50`.
    pub fn dollars(self) -> String {
        let cents = (self.0.abs() + 5_000) / 10_000;
        let sign = if self.0 < 0 { "-" } else { "" };
        format!("{sign}${}.{:02}", grouped(cents / 100), cents % 100)
    }
}

/// A whole number with thousands commas.
pub fn grouped(n: impl fmt::Display) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl std::iter::Sum for Micros {
    fn sum<I: Iterator<Item = Micros>>(iter: I) -> Micros {
        Micros(iter.map(|m| m.0).sum())
    }
}

impl fmt::Display for Micros {
    /// A plain decimal with 6 places, never an exponent: `12.345678`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:06}", abs / 1_000_000, abs % 1_000_000)
    }
}

/// `amount` × 10⁶ as an integer; `amount` must have at most 6 places.
fn scaled(amount: Decimal) -> i128 {
    let mut m = amount;
    m.rescale(6);
    m.mantissa()
}

/// Split `exact` amounts into micro-dollars that sum to `target`, by largest
/// remainder. `target` must lie within a micro-dollar per cell of the exact
/// sum, which holds whenever it is a rounding of that sum; anything else is a
/// conservation bug and is reported as one.
pub fn apportion(exact: &[Decimal], target: Micros) -> Result<Vec<Micros>> {
    let million = Decimal::from(1_000_000u32);
    let mut cells = Vec::with_capacity(exact.len());
    let mut remainders = Vec::with_capacity(exact.len());
    for (i, &x) in exact.iter().enumerate() {
        let micros = x * million;
        let floor = micros.floor();
        cells.push(Micros(scaled(floor / million)));
        remainders.push((micros - floor, i));
    }
    let missing = target.0 - cells.iter().map(|c| c.0).sum::<i128>();
    if missing < 0 || missing > exact.len() as i128 {
        return Err(Error::fatal(format!(
            "internal error: cannot split {target} over {} cells summing to {} (a conservation bug; please report it)",
            exact.len(),
            exact.iter().sum::<Decimal>()
        )));
    }
    // The `missing` largest remainders (ties: the earlier cell), found
    // without sorting them all: the order is strict, so the set is the same.
    let missing = missing as usize;
    if missing > 0 {
        let order = |a: &(Decimal, usize), b: &(Decimal, usize)| b.0.cmp(&a.0).then(a.1.cmp(&b.1));
        if missing < remainders.len() {
            remainders.select_nth_unstable_by(missing - 1, order);
        }
        for &(_, i) in &remainders[..missing] {
            cells[i].0 += 1;
        }
    }
    Ok(cells)
}

/// [`apportion`] beside a column already split: a cell whose exact amount
/// equals its neighbour's in `beside` (that column's exact amounts and
/// cells) takes the neighbour's cell, so the two never differ where their
/// amounts do not (a row with no saving, usage repriced at its own
/// price), and the other cells split what is left of `target`. Where what
/// is left cannot be split so (a few other cells beside many neighbours
/// all rounded one way), the column is split whole.
pub fn apportion_beside(
    exact: &[Decimal],
    target: Micros,
    beside: (&[Decimal], &[Micros]),
) -> Result<Vec<Micros>> {
    let same: Vec<bool> = (exact.iter().zip(beside.0)).map(|(a, b)| a == b).collect();
    let taken: i128 = (same.iter().zip(beside.1))
        .filter(|(same, _)| **same)
        .map(|(_, cell)| cell.0)
        .sum();
    let others: Vec<Decimal> = (exact.iter().zip(&same))
        .filter(|(_, same)| !**same)
        .map(|(amount, _)| *amount)
        .collect();
    let Ok(other_cells) = apportion(&others, Micros(target.0 - taken)) else {
        return apportion(exact, target);
    };
    let mut other_cells = other_cells.into_iter();
    Ok((same.iter().zip(beside.1))
        .map(|(same, cell)| match same {
            true => *cell,
            false => other_cells.next().expect("a cell for each other amount"),
        })
        .collect())
}

/// `exact` amounts as a column of micro-dollars summing to the rounding of
/// their own sum, by largest remainder ([`apportion`]); a rounding of the
/// sum always splits.
pub fn round_column(exact: &[Decimal]) -> Vec<Micros> {
    apportion(exact, Micros::round(exact.iter().sum()))
        .expect("a rounding of the sum always splits")
}

/// Round a grand total half-to-even and split it over `components` by
/// largest remainder.
pub fn split<const N: usize>(components: [Decimal; N]) -> Result<[Micros; N]> {
    let total = Micros::round(components.iter().sum());
    let cells = apportion(&components, total)?;
    Ok(std::array::from_fn(|i| cells[i]))
}

/// `part / whole` × `scale`, rounded half-to-even to `places`; `None` when
/// `whole` is zero or the ratio is beyond the decimal range (a part
/// 10²⁸ times the whole).
pub fn ratio(part: Decimal, whole: Decimal, scale: u32, places: u32) -> Option<Decimal> {
    part.checked_mul(Decimal::from(scale))?
        .checked_div(whole)
        .map(|r| r.round_dp_with_strategy(places, RoundingStrategy::MidpointNearestEven))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn the_largest_amount_is_a_trillion() {
        assert_eq!(MAX_AMOUNT, Decimal::from(1_000_000_000_000u64));
        assert!(plausible(-MAX_AMOUNT) && !plausible(MAX_AMOUNT + Decimal::new(1, 6)));
    }

    #[test]
    fn formats_plain_six_places() {
        assert_eq!(Micros(12_345_678).to_string(), "12.345678");
        assert_eq!(Micros(5).to_string(), "0.000005");
        assert_eq!(Micros(-1_500_000).to_string(), "-1.500000");
        assert_eq!(Micros::round(d("0.0000025")).to_string(), "0.000002");
        assert_eq!(Micros::round(d("0.0000035")).to_string(), "0.000004");
    }

    #[test]
    fn largest_remainder_sums_exactly() {
        // Three thirds of a micro-dollar-and-a-bit: 0.0000014 each, total 0.0000042 -> 0.000004.
        let cells = [d("0.0000014"), d("0.0000014"), d("0.0000014")];
        let cells = apportion(&cells, Micros::round(cells.iter().sum())).unwrap();
        assert_eq!(cells, vec![Micros(2), Micros(1), Micros(1)]);
        let parts = split::<2>([d("0.0000005"), d("0.0000005")]).unwrap();
        assert_eq!(parts, [Micros(1), Micros(0)]);
    }

    #[test]
    fn amounts_read_exactly_or_not_at_all() {
        let zeros = format!("1.5{}", "0".repeat(30));
        assert_eq!(exact_decimal(&zeros), Some(d("1.5")));
        assert_eq!(
            exact_decimal(&format!("2.{}", "0".repeat(30))),
            Some(d("2"))
        );
        assert_eq!(exact_decimal("0.25"), Some(d("0.25")));
        assert_eq!(exact_decimal("2.5e-1"), Some(d("0.25")));
        let beyond = format!("0.{}1", "0".repeat(28));
        assert_eq!(exact_decimal(&beyond), None, "29 places would round");
        assert_eq!(exact_decimal("100"), Some(d("100")));
        for typo in ["3_0", "1_000.5", "2.5e_1", "_1"] {
            assert_eq!(
                exact_decimal(typo),
                None,
                "{typo} is no number an export writes"
            );
        }
    }

    #[test]
    fn a_ratio_beyond_the_decimal_range_is_none() {
        assert_eq!(
            ratio(d("1000"), d("0.0000000000000000000000000001"), 100, 2),
            None
        );
        assert_eq!(ratio(d("1"), d("0"), 100, 2), None);
        assert_eq!(ratio(d("1"), d("3"), 100, 2), Some(d("33.33")));
    }

    #[test]
    fn impossible_target_is_a_conservation_error() {
        assert!(apportion(&[d("1")], Micros(2_000_000)).is_err());
    }

    #[test]
    fn a_column_beside_another_keeps_its_cells_where_the_amounts_agree() {
        let beside = |other: &[&str], mine: &[&str]| {
            let other: Vec<Decimal> = other.iter().map(|a| d(a)).collect();
            let mine: Vec<Decimal> = mine.iter().map(|a| d(a)).collect();
            let cells = round_column(&other);
            let target = Micros::round(mine.iter().sum());
            (
                cells.clone(),
                apportion_beside(&mine, target, (&other, &cells)).unwrap(),
            )
        };
        // Contracted 0.4 + 0.4 + 0.4 µ$ (one rounds up); the third row
        // lists at 0.05: the first two keep their cells, the third takes
        // what is left of the 0.85 µ$ total rounded, never below zero.
        let (cells, list) = beside(&["0.0000004"; 3], &["0.0000004", "0.0000004", "0.00000005"]);
        assert_eq!(cells, [Micros(1), Micros(0), Micros(0)]);
        assert_eq!(list, [Micros(1), Micros(0), Micros(0)]);
        // Two neighbours of 0.45 rounded up (1.8 µ$ in all) beside a cell
        // of 0: what is left, 1 − 2, cannot be split, so the column is
        // split whole.
        let other = ["0.00000045"; 4];
        let (cells, list) = beside(&other, &["0.00000045", "0.00000045", "0.00000045", "0"]);
        assert_eq!(cells, [Micros(1), Micros(1), Micros(0), Micros(0)]);
        assert_eq!(list, [Micros(1), Micros(0), Micros(0), Micros(0)]);
    }
}
