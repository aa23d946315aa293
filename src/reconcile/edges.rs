//! A day the invoice bills in part, its first or last: a bill whose month
//! is cut at another midnight than UTC's (Google Cloud's invoice month is
//! Pacific time), the day's other hours on the neighbouring month's bill.

use chrono::NaiveDate;

use super::{Line, Status};

/// The diagnosis of a day the invoice bills part of, its first or last.
pub(super) const EDGE_DAY: &str =
    "the invoice bills part of this day, its first or last: a bill whose \
    month is cut at another midnight (Google Cloud's invoice month is Pacific time) puts the \
    day's other hours on the next or previous month's invoice; give that invoice too, or read \
    the gap as timing";

/// The days of `group` that drift short of their usage on the first or
/// last day the invoice covers (`invoiced_days`), where no other day of
/// the group drifts: the bill's month cut at another midnight.
pub(super) fn days_short(
    group: &[Line],
    invoiced_days: Option<(NaiveDate, NaiveDate)>,
) -> Vec<Option<NaiveDate>> {
    let Some((first, last)) = invoiced_days else {
        return Vec::new();
    };
    let edge = |l: &Line| l.key.day == Some(first) || l.key.day == Some(last);
    let off: Vec<&Line> = group.iter().filter(|l| l.status == Status::Drift).collect();
    let only_edges = !off.is_empty() && off.iter().all(|l| edge(l) && l.invoiced < l.computed);
    let quiet_elsewhere = group.iter().all(|l| l.status == Status::Ok || edge(l));
    match only_edges && quiet_elsewhere {
        true => off.iter().map(|l| l.key.day).collect(),
        false => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32, invoiced: i64) -> Line {
        crate::reconcile::diagnose::tests::line("gemini-2.5-pro", d, 24, invoiced)
    }

    #[test]
    fn a_first_day_billed_in_part_is_the_bills_midnight_a_day_within_not() {
        // Google's June invoice starts at 07:00 UTC on June 1st.
        let june = NaiveDate::from_ymd_opt(2025, 6, 1).zip(NaiveDate::from_ymd_opt(2025, 6, 4));
        let first = [day(1, 17), day(2, 24), day(3, 24), day(4, 24)];
        assert_eq!(
            days_short(&first, june),
            vec![NaiveDate::from_ymd_opt(2025, 6, 1)]
        );
        let within = [day(1, 17), day(2, 17), day(3, 24), day(4, 24)];
        assert!(days_short(&within, june).is_empty());
        // More billed than used on the first day is no hours missing.
        let over = [day(1, 30), day(2, 24), day(3, 24), day(4, 24)];
        assert!(days_short(&over, june).is_empty());
    }
}
