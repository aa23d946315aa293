//! Controlled rounding of a report: exact amounts (rows × cost columns) to
//! micro-dollars such that, at once,
//! 1. every cell is its exact value rounded down or up,
//! 2. every row's cells sum to the row's total, itself its exact total
//!    rounded down or up, and
//! 3. every column sums to its given total (the same in every report).
//!
//! The choice of which cells round up is a small flow problem (Cox & Ernst's
//! controlled rounding): rows need between ⌊F⌋ and ⌈F⌉ of their cells
//! rounded up (F the sum of their fractional parts), column `j` needs
//! exactly `K_j`. Rows with the same columns to choose from and the same
//! bounds are one node of the flow, so the network has at most a few
//! hundred nodes whatever the number of rows; each group's rounded-up cells
//! are then dealt to its rows in a cycle, which never gives a row the same
//! column twice. Deterministic: the same table gives the same cells.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::error::{Error, Result};
use crate::money::Micros;
use flow::Network;

mod flow;

/// Round `exact` (rows of `N` amounts in dollars, given one at a time: a
/// million-run table's are not held at once; in consecutive parts, each
/// read on a thread of its own) so that column `j` sums to `targets[j]`,
/// each cell and each row total being its exact value rounded down or up.
/// `targets` must be roundings of the exact column totals.
pub fn controlled<const N: usize, I>(exact: Vec<I>, targets: &[Micros; N]) -> Result<Rounding<N>>
where
    I: ExactSizeIterator<Item = [Decimal; N]> + Send,
{
    let mut rows = 0;
    let mut parts = Vec::with_capacity(exact.len());
    for part in exact {
        let start = rows;
        rows += part.len();
        parts.push((start, part));
    }
    let grouped = crate::threads::in_order(parts, |(start, part)| group_rows(start, part));
    let (groups, mut need) = merge_groups(grouped);
    for j in 0..N {
        need[j] += targets[j].0;
    }
    let mut groups: Vec<Group> = groups
        .into_iter()
        .map(|((mask, low, high), rows)| Group {
            mask,
            low,
            high,
            rows,
        })
        .collect();
    let ups = solve(&groups, &need).ok_or_else(|| {
        Error::fatal(format!(
            "internal error: no controlled rounding of {rows} rows to column totals {targets:?} \
             (a conservation bug; please report it)"
        ))
    })?;
    let mut rounding = Rounding { ups: vec![0; rows] };
    for (group, columns) in groups.iter_mut().zip(ups) {
        deal(group, &columns, &mut rounding.ups);
    }
    Ok(rounding)
}

/// Rows by the columns they may round up and their bounds (the nodes of
/// the flow), each row's fraction beyond its lower bound and its number.
type Grouped = BTreeMap<(u8, u8, u8), Vec<(Decimal, u32)>>;

/// The rows of one part (the first numbered `start`) grouped, and the
/// negated sum of each column's floors.
fn group_rows<const N: usize>(
    start: usize,
    part: impl Iterator<Item = [Decimal; N]>,
) -> (Grouped, [i128; N]) {
    let mut groups = Grouped::new();
    let mut need = [0i128; N];
    for (i, row) in part.enumerate() {
        let floored = floor(&row);
        for (need, floor) in need.iter_mut().zip(floored.floors) {
            *need -= floor.0;
        }
        let key = (floored.mask, floored.low, floored.high);
        let row = (floored.excess, (start + i) as u32);
        groups.entry(key).or_default().push(row);
    }
    (groups, need)
}

/// The parts' groups as one part's would be: each group's rows in order.
fn merge_groups<const N: usize>(parts: Vec<(Grouped, [i128; N])>) -> (Grouped, [i128; N]) {
    let mut parts = parts.into_iter();
    let (mut groups, mut need) = parts.next().unwrap_or_else(|| (Grouped::new(), [0; N]));
    for (more, more_need) in parts {
        for (need, more) in need.iter_mut().zip(more_need) {
            *need += more;
        }
        for (key, rows) in more {
            let group = groups.entry(key).or_default();
            group.reserve_exact(rows.len());
            group.extend(rows);
        }
    }
    (groups, need)
}

/// A controlled rounding of `N` columns: which cells of each row round
/// up, a bit each (a byte a row, where a million-run table's cells would
/// take 80 bytes each: the rest is the exact amount floored, made again).
#[derive(Debug)]
pub struct Rounding<const N: usize> {
    ups: Vec<u8>,
}

impl<const N: usize> Rounding<N> {
    /// Which of row `i`'s cells round up, a bit each (column `j` the
    /// `j`th bit): its cells are [`cells`] of its exact amounts (those
    /// [`controlled`] was given for it) and these.
    pub fn ups(&self, i: usize) -> u8 {
        self.ups[i]
    }
}

/// A row's rounded cells: its exact amounts floored to micro-dollars, plus
/// one where `ups` has the column's bit.
pub fn cells<const N: usize>(row: &[Decimal; N], ups: u8) -> [Micros; N] {
    let mut cells = floor(row).floors;
    for (j, cell) in cells.iter_mut().enumerate() {
        cell.0 += i128::from(ups >> j & 1);
    }
    cells
}

/// The bits [`cells`] needs to make `cells` from the exact `row`, if it
/// can (each cell the amount floored, or one more).
pub fn ups_of<const N: usize>(row: &[Decimal; N], cells: &[Micros; N]) -> Option<u8> {
    let floors = floor(row).floors;
    let mut ups = 0;
    for j in 0..N {
        match cells[j].0 - floors[j].0 {
            0 => {}
            1 => ups |= 1 << j,
            _ => return None,
        }
    }
    Some(ups)
}

/// A row's cells in micro-dollars rounded down, which of them have a
/// fraction (`mask`), how many of them may round up (`low..=high`: the sum
/// of the fractions rounded down and up), and that sum's excess over `low`.
#[derive(Debug, PartialEq)]
struct Floored<const N: usize> {
    floors: [Micros; N],
    mask: u8,
    low: u8,
    high: u8,
    excess: Decimal,
}

/// A row's cells floored ([`floor_row_exactly`] where it can, else
/// [`floor_row`]): [`controlled`] and [`cells`] floor alike.
fn floor<const N: usize>(row: &[Decimal; N]) -> Floored<N> {
    floor_row_exactly(row).unwrap_or_else(|| floor_row(row))
}

/// [`Floored`] by decimal arithmetic: each cell times a million, floored.
fn floor_row<const N: usize>(row: &[Decimal; N]) -> Floored<N> {
    let million = Decimal::from(1_000_000u32);
    let mut floors = [Micros(0); N];
    let (mut mask, mut fraction) = (0u8, Decimal::ZERO);
    for j in 0..N {
        let micros = row[j] * million;
        let floor = micros.floor();
        floors[j] = Micros(floor.mantissa() / 10i128.pow(floor.scale()));
        if micros > floor {
            mask |= 1 << j;
            fraction += micros - floor;
        }
    }
    let (low, high) = (fraction.floor(), fraction.ceil());
    Floored {
        floors,
        mask,
        low: to_u8(low),
        high: to_u8(high),
        excess: fraction - low,
    }
}

/// The fractions of micro-dollars over one denominator, 10^22 (a cell's
/// scale is at most 28, six of its digits being whole micro-dollars).
const FRACTION_SCALE: u32 = 22;

/// [`floor_row`] in integers, five times faster (a million-run table's
/// rounding spent most of its time there): each cell's mantissa divided by
/// its scale's power of ten, the remainders summed over [`FRACTION_SCALE`].
/// Equal to [`floor_row`] wherever a cell times a million is exact as a
/// decimal (its mantissa within 2^96 / 10^6), for rows of at most 7
/// cells (whose fractions' decimal sum stays exact); `None` for a row with
/// a cell beyond, which [`floor_row`] then takes.
fn floor_row_exactly<const N: usize>(row: &[Decimal; N]) -> Option<Floored<N>> {
    const {
        assert!(
            N <= 7,
            "the decimal path's fraction sums are exact up to 7 cells"
        )
    };
    const LARGEST: u128 = ((1u128 << 96) - 1) / 1_000_000;
    let mut floors = [Micros(0); N];
    let (mut mask, mut fraction) = (0u8, 0i128);
    for j in 0..N {
        let (mantissa, scale) = (row[j].mantissa(), row[j].scale());
        if mantissa.unsigned_abs() > LARGEST {
            return None;
        }
        if scale <= 6 {
            floors[j] = Micros(mantissa * 10i128.pow(6 - scale));
            continue;
        }
        let (floor, rest) = floor_div_pow10(mantissa, scale - 6);
        floors[j] = Micros(floor);
        if rest > 0 {
            mask |= 1 << j;
            fraction += rest * 10i128.pow(FRACTION_SCALE + 6 - scale);
        }
    }
    // At most N fractions under one each: count the whole ones.
    let one = 10i128.pow(FRACTION_SCALE);
    let mut low = 0u8;
    while fraction >= i128::from(low + 1) * one {
        low += 1;
    }
    let excess = fraction - i128::from(low) * one;
    Some(Floored {
        floors,
        mask,
        low,
        high: low + u8::from(excess > 0),
        excess: Decimal::from_i128_with_scale(excess, FRACTION_SCALE),
    })
}

/// `mantissa` divided by 10^`digits`, rounded down, and the remainder (at
/// least zero): by one 64-bit division where both fit (an `i128` division
/// is a call into software, many times slower).
fn floor_div_pow10(mantissa: i128, digits: u32) -> (i128, i128) {
    match u64::try_from(mantissa) {
        Ok(m) if digits <= 19 => {
            let unit = 10u64.pow(digits);
            (i128::from(m / unit), i128::from(m % unit))
        }
        _ => {
            let unit = 10i128.pow(digits);
            (mantissa.div_euclid(unit), mantissa.rem_euclid(unit))
        }
    }
}

fn to_u8(d: Decimal) -> u8 {
    u8::try_from(d.mantissa() / 10i128.pow(d.scale())).expect("at most one per column")
}

/// Rows with the same columns to round up from (`mask`) and the same bounds
/// on how many (`low..=high`), with each row's fractional excess over `low`
/// and its index.
struct Group {
    mask: u8,
    low: u8,
    high: u8,
    rows: Vec<(Decimal, u32)>,
}

/// How many cells of each column each group rounds up, or `None` when no
/// choice meets the column needs.
fn solve<const N: usize>(groups: &[Group], need: &[i128; N]) -> Option<Vec<[i64; N]>> {
    if need.iter().any(|&k| k < 0) {
        return None;
    }
    // Nodes: 0 source, 1 sink, 2 + j columns, 2 + N + g groups. Lower
    // bounds become demands on a super source and sink (2 more nodes).
    let (super_source, super_sink) = (2 + N + groups.len(), 3 + N + groups.len());
    let mut flow = Network::new(super_sink + 1);
    let mut excess = vec![0i64; super_sink + 1];
    let mut edges = Vec::with_capacity(groups.len());
    for (g, group) in groups.iter().enumerate() {
        let node = 2 + N + g;
        let n = group.rows.len() as i64;
        let (low, high) = (n * i64::from(group.low), n * i64::from(group.high));
        flow.add(0, node, high - low);
        excess[node] += low;
        excess[0] -= low;
        let mut ids = [usize::MAX; N];
        for (j, id) in ids.iter_mut().enumerate() {
            if group.mask & (1 << j) != 0 {
                *id = flow.add(node, 2 + j, n);
            }
        }
        edges.push(ids);
    }
    for (j, &k) in need.iter().enumerate() {
        let k = i64::try_from(k).ok()?;
        excess[1] += k;
        excess[2 + j] -= k;
    }
    flow.add(1, 0, i64::MAX / 4);
    let mut required = 0;
    for (node, &e) in excess.iter().enumerate() {
        if e > 0 {
            flow.add(super_source, node, e);
            required += e;
        } else if e < 0 {
            flow.add(node, super_sink, -e);
        }
    }
    if flow.max_flow(super_source, super_sink) != required {
        return None;
    }
    Some(
        edges
            .iter()
            .map(|ids| {
                std::array::from_fn(|j| {
                    if ids[j] == usize::MAX {
                        0
                    } else {
                        flow.flow(ids[j])
                    }
                })
            })
            .collect(),
    )
}

/// Round up `ups[j]` cells of column `j` among the group's rows: the rows
/// with the largest fractional excess take the extra cell (`high`), then
/// the cells are dealt in a cycle over the rows, so a column's cells (at
/// most one per row) land on distinct rows.
fn deal<const N: usize>(group: &mut Group, ups: &[i64; N], rows_up: &mut [u8]) {
    let n = group.rows.len();
    let total: i64 = ups.iter().sum();
    let order = &mut group.rows;
    // Row numbers are distinct: an unstable sort orders alike, and needs
    // no buffer of half a million-run table's rows.
    order.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let full = n * usize::from(group.low);
    let mut position = 0usize;
    for (j, &count) in ups.iter().enumerate() {
        for _ in 0..count {
            let row = if position < full {
                order[position % n].1
            } else {
                order[position - full].1
            };
            debug_assert_eq!(rows_up[row as usize] >> j & 1, 0, "a cell rounds up once");
            rows_up[row as usize] |= 1 << j;
            position += 1;
        }
    }
    debug_assert_eq!(position as i64, total);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    /// Every cell within a micro-dollar, rows summing to a rounding of their
    /// exact total, columns to the targets.
    fn check<const N: usize>(exact: &[[Decimal; N]], targets: &[Micros; N]) {
        let rounding = controlled(vec![exact.iter().copied()], targets).unwrap();
        // Cut into parts, the rows round alike.
        for cut in [exact.len() / 3, exact.len() / 2] {
            let (a, b) = exact.split_at(cut);
            let parts = vec![a.iter().copied(), b.iter().copied()];
            assert_eq!(controlled(parts, targets).unwrap().ups, rounding.ups);
        }
        let cells: Vec<[Micros; N]> = (exact.iter().enumerate())
            .map(|(i, row)| cells(row, rounding.ups(i)))
            .collect();
        let m = Decimal::from(1_000_000);
        for (row, rounded) in exact.iter().zip(&cells) {
            for j in 0..N {
                let x = row[j] * m;
                let c = Decimal::from(rounded[j].0);
                assert!(c == x.floor() || c == x.ceil(), "{x} → {c}");
            }
            let exact_total: Decimal = row.iter().sum::<Decimal>() * m;
            let total = Decimal::from(rounded.iter().map(|c| c.0).sum::<i128>());
            assert!(total == exact_total.floor() || total == exact_total.ceil());
        }
        for j in 0..N {
            assert_eq!(cells.iter().map(|r| r[j].0).sum::<i128>(), targets[j].0);
        }
    }

    #[test]
    fn the_issues_tenant_is_rounded_correctly() {
        // Four columns whose largest remainders would each round down,
        // leaving the row 2 µ$ short of its exact 0.5356722.
        let exact = [
            [
                d("0.1000004"),
                d("0.1000004"),
                d("0.1000004"),
                d("0.235671"),
            ],
            [d("0.0000006"), d("0.0000006"), d("0.0000006"), d("0")],
        ];
        let targets = [
            Micros(100001),
            Micros(100001),
            Micros(100001),
            Micros(235671),
        ];
        check(&exact, &targets);
    }

    #[test]
    fn integer_flooring_equals_decimal_flooring() {
        // Every scale, signs, whole and fractional micro-dollars, mantissas
        // at and around the integer path's limit: the same floors, mask,
        // bounds and excess (by value) as decimal arithmetic, or `None`.
        let mut state = 0xf100_u64;
        let mut next = || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            crate::hash::mix64(state)
        };
        let largest = ((1i128 << 96) - 1) / 1_000_000;
        let edges = [
            0,
            1,
            5,
            999_999,
            1_000_000,
            largest - 1,
            largest,
            largest + 1,
        ];
        let (mut exact_rows, mut fallbacks) = (0, 0);
        for _ in 0..20_000 {
            let row: [Decimal; 5] = std::array::from_fn(|_| {
                let pick = next();
                let magnitude = match pick % 4 {
                    0 => edges[(next() % edges.len() as u64) as usize],
                    1 => i128::from(next() % 10_000_000),
                    2 => i128::from(next()) * i128::from(next() % 1_000),
                    _ => i128::from(next()) * i128::from(next() % 1_000_000_000),
                };
                let mantissa = if pick & 16 != 0 {
                    -magnitude
                } else {
                    magnitude
                };
                let mantissa = mantissa.clamp(-((1 << 96) - 1), (1 << 96) - 1);
                Decimal::from_i128_with_scale(mantissa, (next() % 29) as u32)
            });
            match floor_row_exactly(&row) {
                Some(by_integers) => {
                    exact_rows += 1;
                    let by_decimals = floor_row(&row);
                    assert_eq!(by_integers.floors, by_decimals.floors, "{row:?}");
                    assert_eq!(
                        (by_integers.mask, by_integers.low, by_integers.high),
                        (by_decimals.mask, by_decimals.low, by_decimals.high),
                        "{row:?}"
                    );
                    assert_eq!(by_integers.excess, by_decimals.excess, "{row:?}");
                }
                None => {
                    fallbacks += 1;
                    assert!(row.iter().any(|c| c.mantissa().abs() > largest), "{row:?}");
                }
            }
        }
        assert!(
            exact_rows > 3_000 && fallbacks > 100,
            "{exact_rows} {fallbacks}"
        );
    }

    #[test]
    fn random_tables_near_half_a_micro_dollar() {
        // Adversarial: fractions at, just below and just above .5 µ$, zeros,
        // whole micro-dollars, and rows of a single fractional cell.
        let mut state = 0x5eed_u64;
        let mut next = || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            crate::hash::mix64(state)
        };
        let fractions = [
            "0",
            "0.5",
            "0.4999999",
            "0.5000001",
            "0.1",
            "0.9",
            "0.25",
            "0.75",
        ];
        for _ in 0..300 {
            let rows = 1 + (next() % 60) as usize;
            let exact: Vec<[Decimal; 4]> = (0..rows)
                .map(|_| {
                    std::array::from_fn(|_| {
                        let whole = Decimal::from(next() % 5);
                        let f = d(fractions[(next() % fractions.len() as u64) as usize]);
                        (whole + f) / Decimal::from(1_000_000)
                    })
                })
                .collect();
            // Column targets as the reports choose them: the grand total
            // rounded, split over the columns by largest remainder.
            let columns: [Decimal; 4] = std::array::from_fn(|j| exact.iter().map(|r| r[j]).sum());
            let targets = crate::money::split(columns).unwrap();
            check(&exact, &targets);
        }
    }

    #[test]
    fn half_micro_dollars_everywhere() {
        // Each column's exact total is 50.5 µ$; the grand total, 202 µ$, is
        // exact. Every rounding of the column totals that keeps it works.
        let exact: Vec<[Decimal; 4]> = (0..101).map(|_| [d("0.0000005"); 4]).collect();
        for targets in [[51, 51, 50, 50], [50, 51, 50, 51], [51, 50, 51, 50]] {
            check(&exact, &targets.map(Micros));
        }
        // Rows of one fractional cell each, in different columns.
        let exact: Vec<[Decimal; 4]> = (0..40)
            .map(|i| {
                std::array::from_fn(|j| {
                    if i % 4 == j {
                        d("0.0000004999")
                    } else {
                        d("0.000001")
                    }
                })
            })
            .collect();
        check(&exact, &[Micros(35); 4]);
    }
}
