//! Stages 1 and 4 for usage: read every usage file, de-duplicate and keep
//! the period ([`Usage::read`]); then price every record
//! ([`Usage::price`]), its free allowances first.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::config::{Period, UsageConfig};
use super::intake::{describe, Intake};
use crate::attribute::Totals;
use crate::error::Result;
use crate::intern::Interner;
use crate::join::{dedupe, Outside, NEAR_PERIOD_NS};
use crate::model::{Costs, Origin, RequestIds, Timestamp, UsageRecord, MAX_ID_BYTES};
use crate::price::{apply_allowances, price_all, PriceTable};
use crate::read::usage::{self, UsageFormat};
use crate::read::{self, InputFile, InputKind};

/// The month's billed usage: every usage file's records, deduplicated and
/// filtered to the period, with the table that prices them and (once
/// priced) their exact costs.
pub struct Usage {
    /// The pricing table used.
    pub pricing: PriceTable,
    /// Interned names of every record (and later spans).
    pub interner: Interner,
    /// Records in period.
    pub records: Vec<UsageRecord>,
    /// Their request ids, in the same order.
    pub ids: RequestIds,
    /// Exact cost of each record (empty until [`Usage::price`]).
    pub costs: Costs,
    /// `--period`.
    pub period: Option<Period>,
    /// The records `--period` left out, as the join weighs them.
    pub outside_period: Outside,
}

/// The most billed records one month holds: they are numbered in 31 bits
/// (the join's id index keeps a bit beside each number).
pub const MAX_RECORDS: usize = 1 << 31;

/// Read every usage file of `args` into records and their ids, each file
/// and what it held into `intake`; a paged listing must be read whole.
fn read_files(
    args: &UsageConfig,
    intake: &mut Intake,
    interner: &mut Interner,
) -> Result<(Vec<UsageRecord>, RequestIds)> {
    let mut records = Vec::new();
    let mut ids = RequestIds::default();
    let walked = read::expand(
        &args.paths,
        &[".csv", ".json", ".jsonl", ".log"],
        args.lenient,
    )?;
    intake.skipped_files = walked.skipped;
    let mut pages = Vec::new();
    for path in walked.files {
        let file = intake.inputs.len() as u32;
        let skipped_before = intake.skips.total();
        let mut too_long = None;
        let (format, stats) = usage::read_file(
            &path,
            args.format,
            (file, args.threads),
            interner,
            &mut intake.skips,
            &mut |billed| match ids.push(&billed.request_id) {
                true => records.push(billed.record),
                false => {
                    too_long.get_or_insert((billed.record.origin, billed.request_id.len()));
                }
            },
        )?;
        if let Some((origin, bytes)) = too_long {
            return Err(long_id(&path, origin, bytes));
        }
        intake.counts.usage_rows_not_billed += stats.not_billed;
        pages.extend((stats.pages.iter()).map(|&(number, empty)| (path.clone(), number, empty)));
        intake.inputs.push(InputFile {
            path,
            kind: InputKind::Usage,
            format: format.name(),
            records: stats.records,
            skipped: intake.skips.total() - skipped_before,
            part_of: None,
            fingerprint: None,
        });
    }
    usage::pages::check_listings(&pages)?;
    Ok((records, ids))
}

/// Fail for a month of [`MAX_RECORDS`] billed records or more.
fn within_max_records(records: usize) -> Result<()> {
    if records >= MAX_RECORDS {
        return Err(crate::error::Error::fatal(format!(
            "{records} billed records in the month: one run holds fewer than {MAX_RECORDS} \
             (records are numbered in 31 bits): split the usage by time and run each part"
        )));
    }
    Ok(())
}

impl Usage {
    /// Read, dedupe and filter the usage (not priced yet); the files read,
    /// skips and counts go into a new [`Intake`].
    pub fn read(args: &UsageConfig) -> Result<(Usage, Intake)> {
        let pricing = PriceTable::resolve(args.pricing.as_deref())?;
        let mut intake = Intake::new(args.lenient);
        let mut interner = Interner::default();
        let (mut records, mut ids) = read_files(args, &mut intake, &mut interner)?;
        let counts = &mut intake.counts;
        counts.usage_records_read = records.len() as u64;
        let inputs = &intake.inputs;
        let source = |o: Origin| {
            let name = inputs[o.file as usize].format;
            UsageFormat::from_name(name).expect("a usage file's format")
        };
        counts.duplicate_usage_records = dedupe(
            (&mut records, &mut ids),
            describe(inputs),
            source,
            args.threads,
        )?;
        intake.months = months_of(&records);
        let outside_period = keep_period((&mut records, &mut ids), args.period);
        let counts = &mut intake.counts;
        if args.period.is_some() {
            counts.out_of_period =
                counts.usage_records_read - counts.duplicate_usage_records - records.len() as u64;
        }
        counts.usage_records = records.len() as u64;
        within_max_records(records.len())?;
        // Held to the end of the run: give back what growing the vector
        // left unused (up to half of it).
        records.shrink_to_fit();
        let usage = Usage {
            pricing,
            interner,
            records,
            ids,
            costs: Costs::default(),
            period: args.period,
            outside_period,
        };
        Ok((usage, intake))
    }

    /// Price every record: its per-request charges' free allowances first,
    /// then its exact cost (an unpriced model is an error naming it and
    /// where its first record was read, from `intake`'s files).
    pub fn price(&mut self, intake: &Intake) -> Result<()> {
        let billed = (&mut self.records[..], &self.ids);
        apply_allowances(&self.pricing, billed, &mut self.interner);
        let billed = (&self.records[..], &self.ids);
        self.costs = price_all(&self.pricing, billed, &self.interner, &intake.describe())?;
        Ok(())
    }

    /// Release the request ids of the records that joined a call
    /// (`call_of`, per record): the join was their last reader, and only
    /// the unattributed records' ids are written (`unattributed.csv`). With
    /// the `parquet` feature, `calls.parquet` lists every record's id, and
    /// they are kept.
    pub fn release_ids(&mut self, call_of: &crate::join::CallOf) {
        if cfg!(feature = "parquet") {
            return;
        }
        self.ids.release(|i| call_of.get(i).is_none());
    }

    /// Totals over every record (no trued-up cost: `reconcile` compares
    /// the computed one).
    pub fn total(&self) -> Totals {
        let mut total = Totals::default();
        for (r, c) in self.records.iter().zip(self.costs.iter()) {
            total.add(r, &c, Decimal::ZERO);
        }
        total
    }

    /// The sum of the costs the usage sources reported themselves, over the
    /// records that carry one; `None` when none does.
    pub fn reported_cost(&self) -> Option<Decimal> {
        let mut reported = self
            .records
            .iter()
            .filter_map(UsageRecord::reported_cost_usd)
            .peekable();
        reported.peek().is_some().then(|| reported.sum())
    }
}

/// Keep the records of `period` (all without one); those left out as the
/// join weighs them ([`Outside`]): every one's ids (and alternative ids),
/// so a call billed in another month says so, and those within
/// [`NEAR_PERIOD_NS`] of the period's edges, for the fingerprint join.
fn keep_period(
    (records, ids): (&mut Vec<UsageRecord>, &mut RequestIds),
    period: Option<Period>,
) -> Outside {
    let mut outside = Outside::default();
    let Some(period) = period else {
        return outside;
    };
    let range = period.nanos();
    let inside: Vec<bool> = records
        .iter()
        .map(|r| range.contains(&i128::from(r.timestamp.nanos())))
        .collect();
    if inside.iter().all(|&i| i) {
        return outside;
    }
    let margin = i128::from(NEAR_PERIOD_NS);
    let near = (range.start - margin)..(range.end + margin);
    for (i, r) in records.iter().enumerate().filter(|&(i, _)| !inside[i]) {
        let record_ids: Vec<Box<str>> = r.ids(ids.get(i)).map(Box::from).collect();
        if near.contains(&i128::from(r.timestamp.nanos())) {
            outside.near.push((r.clone(), record_ids.clone()));
        }
        outside.ids.extend(record_ids);
    }
    ids.retain_with(records, |i| inside[i]);
    outside
}

/// The error for a request id too long to hold.
fn long_id(path: &std::path::Path, origin: Origin, bytes: usize) -> crate::error::Error {
    let message =
        format!("request_id of {bytes} bytes, beyond the {MAX_ID_BYTES} a request id may take");
    crate::error::Error::record(path, origin.line, "bad-request-id", message)
}

/// Records per UTC month (`YYYY-MM`).
fn months_of(records: &[UsageRecord]) -> BTreeMap<String, u64> {
    let mut by_month = BTreeMap::<(i32, u32), u64>::new();
    // Most records fall in the month of the one before: its range is kept,
    // and a month found only for a record outside it.
    let mut current: Option<((i32, u32), std::ops::Range<i128>)> = None;
    for r in records {
        let nanos = i128::from(r.timestamp.nanos());
        let month = match &current {
            Some((month, range)) if range.contains(&nanos) => *month,
            _ => {
                let (year, month) = r.timestamp.year_month();
                let range = Timestamp::month_range(year, month).expect("a time's month");
                current.insert(((year, month), range)).0
            }
        };
        *by_month.entry(month).or_default() += 1;
    }
    by_month
        .into_iter()
        .map(|((y, m), n)| (format!("{y:04}-{m:02}"), n))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_of_2_to_the_31_records_stops_with_its_count() {
        assert!(within_max_records(MAX_RECORDS - 1).is_ok());
        let message = within_max_records(MAX_RECORDS).unwrap_err().to_string();
        assert!(message.contains("2147483648 billed records"), "{message}");
    }
}
