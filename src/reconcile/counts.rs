//! A drift at the table's own rate, told by the bill's count: where the
//! invoice states the tokens it bills (a cloud bill's usage amount in its
//! pricing unit) and charges them at the rate the table does, the line is
//! off by tokens, not by a rate: usage records missing (or counted twice),
//! never a rate to copy into `pricing.toml`.

use rust_decimal::Decimal;

use super::{Line, Status, Tolerance};

/// Name every drifting line whose invoice counts other tokens than the
/// usage at the table's rate (within `tolerance`) by its count, but for a
/// day the timing explains (a day billed in part, days that cancel): its
/// count is short by the hours another day or bill holds.
pub(super) fn name_counts(lines: &mut [Line], tolerance: &Tolerance) {
    let timing = [super::edges::EDGE_DAY, super::diagnose::CANCELS];
    let counted = |l: &&mut Line| l.status == Status::Drift && !timing.contains(&&*l.diagnosis);
    for line in lines.iter_mut().filter(counted) {
        if let Some(text) = count_diagnosis(line, tolerance) {
            line.diagnosis = text;
        }
    }
}

fn count_diagnosis(line: &Line, tolerance: &Tolerance) -> Option<String> {
    let billed = line.billed_tokens.filter(|b| !b.is_zero())?;
    let used = Decimal::from(line.tokens);
    if used.is_zero() || used == billed {
        return None;
    }
    // The usage's tokens at the bill's own rate come to what was computed.
    let at_bill_rate = line.invoiced.checked_mul(used)?.checked_div(billed)?;
    if tolerance.drifts(line.computed, at_bill_rate) {
        return None;
    }
    let million = Decimal::from(1_000_000);
    let rate = (line.invoiced * million / billed).round_dp(6).normalize();
    let why = match used < billed {
        true => "usage records are missing (an export left out, requests not logged)",
        false => {
            "the usage counts more than was billed (records given twice, or another \
                  account's)"
        }
    };
    Some(format!(
        "the invoice counts {} tokens, the usage {}, at the rate the table charges (the \
         invoice's ${rate} per 1M tokens): {why}; not a rate to change",
        billed.normalize(),
        used
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(tokens: u128, billed: Option<i64>, computed: &str, invoiced: &str) -> Line {
        let amount = |text: &str| text.parse::<Decimal>().unwrap();
        let mut line =
            super::super::diagnose::tests::line("m", 1, amount(computed), amount(invoiced));
        line.tokens = tokens;
        line.billed_tokens = billed.map(Decimal::from);
        line
    }

    #[test]
    fn a_bill_counting_more_tokens_at_the_tables_rate_is_a_count_not_a_rate() {
        let tolerance = Tolerance {
            pct: Decimal::new(5, 1),
            usd: Decimal::new(1, 2),
        };
        // 1M tokens used, 1.1M billed at $3.30 per 1M: $3.30 against $3.63.
        let mut lines = [line(1_000_000, Some(1_100_000), "3.30", "3.63")];
        name_counts(&mut lines, &tolerance);
        assert_eq!(
            lines[0].diagnosis,
            "the invoice counts 1100000 tokens, the usage 1000000, at the rate the table \
             charges (the invoice's $3.3 per 1M tokens): usage records are missing (an export \
             left out, requests not logged); not a rate to change"
        );
        // The same count at another rate, or no count stated: not a count.
        let mut rate = [line(1_000_000, Some(1_000_000), "3.30", "3.63")];
        let mut unstated = [line(1_000_000, None, "3.30", "3.63")];
        let mut other_rate = [line(1_000_000, Some(1_100_000), "3.30", "4.40")];
        for lines in [&mut rate, &mut unstated, &mut other_rate] {
            name_counts(lines, &tolerance);
            assert_eq!(lines[0].diagnosis, "");
        }
        // A day billed in part keeps its diagnosis: the hours are on
        // another bill, not missing from the usage.
        let mut edge = [line(1_000_000, Some(600_000), "3.30", "1.98")];
        edge[0].diagnosis = super::super::edges::EDGE_DAY.into();
        name_counts(&mut edge, &tolerance);
        assert_eq!(edge[0].diagnosis, super::super::edges::EDGE_DAY);
    }
}
