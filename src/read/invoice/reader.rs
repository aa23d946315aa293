//! One bill file being read: its path, its context (the pricing table's
//! currency and names, `--fx`), and what its readers share (errors naming
//! the file and line, currency conversion, pages, the buckets read).

use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::{meters, Columns, Context, InvoiceLine, RowError, RowReader, ALL_USAGE};
use crate::error::{Error, Result, Skips};
use crate::model::Origin;
use crate::read::csv_lines::check_header;
use crate::read::csv_lines::next_csv_record;

pub(super) struct Reader<'a> {
    pub(super) path: &'a Path,
    pub(super) file: u32,
    pub(super) context: &'a Context<'a>,
}

/// What a cost report's line is a cost of, its amount aside.
fn line_identity(l: &InvoiceLine) -> impl std::fmt::Debug + '_ {
    (&l.description, &l.model, &l.meter, &l.qualifiers)
}

/// The group a line of `group` is compared under: none for a line with no
/// group, or of $0.
fn compared<'g>(group: Option<&'g str>, item: &InvoiceLine) -> Option<&'g str> {
    let group = group.map(str::trim).filter(|g| !g.is_empty())?;
    (!item.amount.is_zero()).then_some(group)
}

/// A bucket's times, as the cost reports' checks name them.
pub(super) fn times_text(start: DateTime<Utc>, end: DateTime<Utc>) -> String {
    format!("{start} to {end}")
}

impl<'a> Reader<'a> {
    /// A reader of the bill file `path`, input number `file`.
    pub(super) fn new(path: &'a Path, file: u32, context: &'a Context<'a>) -> Reader<'a> {
        Reader {
            path,
            file,
            context,
        }
    }

    /// Note a page of the cost report `kind` read: whether it says a page
    /// follows, and the day its `latest` bucket starts on.
    pub(super) fn page_read(
        &self,
        kind: &'static str,
        has_more: Option<bool>,
        latest: Option<NaiveDate>,
    ) {
        if let Some(more) = has_more {
            let page = crate::read::report_pages::PageSeen { kind, more, latest };
            self.context.pages.borrow_mut().push(page);
        }
    }

    /// [`Reader::bucket_once`], then [`Reader::line_once`] and
    /// [`Reader::grouping_once`] for each line, its group one of `groups`:
    /// ids unique across organisations.
    pub(super) fn bucket_and_lines_once(
        &self,
        (times, groups): (&str, &[Option<String>]),
        lines: &[InvoiceLine],
        line: u64,
    ) -> Result<()> {
        self.bucket_once((times, groups), lines, line)?;
        for (item, group) in lines.iter().zip(groups) {
            (self.line_once((times, group.as_deref()), item, line))
                .map_err(|(kind, message)| self.error(line, kind, message))?;
            if let Some(group) = compared(group.as_deref(), item) {
                self.grouping_once((times, group), item, line)?;
            }
        }
        Ok(())
    }

    /// Refuse a cost report's bucket given twice, in this file or another
    /// (the same times and the same lines, read on `line`: a page fetched
    /// twice by a retried pagination loop, or saved in two files), which
    /// summed would double its days. `groups` are its lines' grouping ids
    /// (project and API key, workspace, an analytics item's group), one a
    /// line: two projects' buckets alike are two buckets.
    pub(super) fn bucket_once(
        &self,
        (times, groups): (&str, &[Option<String>]),
        lines: &[InvoiceLine],
        line: u64,
    ) -> Result<()> {
        // Nothing at stake in a bucket of zeros (two projects' idle day).
        if lines.iter().all(|l| l.amount.is_zero()) {
            return Ok(());
        }
        let content: Vec<_> = (lines.iter())
            .map(|l| (line_identity(l), l.amount))
            .collect();
        let key = format!("{times} {groups:?} {content:?}");
        match (self.context.buckets.borrow_mut()).again(key, self.path, line) {
            Some(place) => Err(self.error(
                line,
                "repeated-bucket",
                format!(
                    "the bucket of {times} is given again, line for line, as {place}: a page \
                     fetched or saved twice? give each page once"
                ),
            )),
            None => Ok(()),
        }
    }

    /// Refuse a line of `group` (ids unique across organisations: a
    /// project, an API key, a workspace) given again for the same `times`
    /// (a day fetched twice: a partial fetch, then the full one), which
    /// summed would count the group's day twice. A line with no group, or
    /// of $0, is not compared: two organisations' reports of a day are
    /// summed.
    pub(super) fn line_once(
        &self,
        (times, group): (&str, Option<&str>),
        item: &InvoiceLine,
        line: u64,
    ) -> Result<(), RowError> {
        let Some(group) = compared(group, item) else {
            return Ok(());
        };
        let key = format!("{times} {group} {:?}", line_identity(item));
        let mut seen = self.context.grouped_lines.borrow_mut();
        match seen.again(key, self.path, line) {
            None => Ok(()),
            Some(place) => Err((
                "repeated-line",
                format!(
                    "{group}'s \"{}\" of {times} is given again, {place}: one day fetched twice \
                     (a partial fetch, then the full one)? give each day once",
                    item.description
                ),
            )),
        }
    }

    /// Refuse the lines of `group` given by line item in one bucket and
    /// not in another of the same `times` (read on `line`): the same costs
    /// fetched twice, whatever the amounts. A page grouped by line item
    /// may hold a result of none, so one bucket is never compared with
    /// itself.
    fn grouping_once(
        &self,
        (times, group): (&str, &str),
        item: &InvoiceLine,
        line: u64,
    ) -> Result<()> {
        let whole = item.description == ALL_USAGE;
        let kind = |whole: bool| format!("{times} {group} whole: {whole}");
        let place = {
            let mut seen = self.context.grouped_lines.borrow_mut();
            seen.again(kind(whole), self.path, line);
            seen.seen_elsewhere(&kind(!whole), self.path, line)
        };
        let Some(place) = place else {
            return Ok(());
        };
        let ways = ["by line item", "not by line item"];
        let (this, other) = if whole {
            (ways[1], ways[0])
        } else {
            (ways[0], ways[1])
        };
        Err(self.error(
            line,
            "repeated-line",
            format!(
                "{group}'s costs of {times} are given {this} here and {other} {place}: one day \
                 fetched twice? give each day once"
            ),
        ))
    }

    pub(super) fn error(&self, line: u64, kind: &'static str, message: String) -> Error {
        Error::record(self.path, line, kind, message)
    }

    /// `amount` in `currency` as an amount in the table's currency: as it
    /// is, at the rate the bill itself `states` (units of `currency` per
    /// unit of the table's), or at the user's `--fx` rate, rounded
    /// half-to-even to [`crate::money::SHARE_PLACES`]; never compared
    /// across currencies without a rate.
    pub(super) fn convert(
        &self,
        amount: Decimal,
        currency: &str,
        states: Option<Decimal>,
    ) -> Result<Decimal, RowError> {
        let currency = currency.trim();
        let table = self.context.currency;
        if currency.is_empty() || currency.eq_ignore_ascii_case(table) {
            return Ok(amount);
        }
        let given = self
            .context
            .fx
            .iter()
            .find(|(c, _)| c.eq_ignore_ascii_case(currency));
        if let Some(stated) = states.filter(|r| r.is_sign_negative() && !r.is_zero()) {
            let why =
                format!("the bill's exchange rate {stated} {currency} per {table} is negative");
            return Err(("bad-exchange-rate", why));
        }
        let rate = states.filter(|r| !r.is_zero()).or(given.map(|(_, r)| *r));
        // The quotient held to SHARE_PLACES, as a share is: 28 digits would
        // leave the bill's sums (its total, the true-up's bases) a residue
        // that depends on the order its lines are read in.
        match rate {
            Some(rate) => amount
                .checked_div(rate)
                .map(|a| a.round_dp(crate::money::SHARE_PLACES))
                .filter(|usd| crate::money::plausible(*usd))
                .ok_or_else(|| {
                    let why = format!(
                        "{amount} {currency} at {rate} per {table} is beyond the plausible \
                         maximum of 1000000000000 {table}"
                    );
                    ("bad-amount", why)
                }),
            None => Err((
                "no-exchange-rate",
                format!(
                    "billed in {currency}, but the pricing table is in {table}, and the bill states \
                     no exchange rate into {table}: give one with --fx {currency}=<{currency} per \
                     {table}>"
                ),
            )),
        }
    }

    /// The exchange rate a row billed in `currency` states from its pricing
    /// currency into its billing currency (units of billing currency per
    /// unit of pricing currency: Azure's `ExchangeRatePricingToBilling`,
    /// Microsoft FOCUS's `x_BillingExchangeRate`), where its pricing
    /// currency (one of `pricing`'s columns) is the table's and its billing
    /// currency is not; `None` otherwise, and for a rate of 0 (none stated).
    pub(super) fn stated_rate(
        &self,
        (c, r): (&Columns, &csv::StringRecord),
        rate: &str,
        pricing: &[&str],
        currency: &str,
    ) -> Result<Option<Decimal>, RowError> {
        let table = self.context.currency;
        let converts = !currency.trim().is_empty() && !currency.trim().eq_ignore_ascii_case(table);
        match c
            .any(r, &[rate])
            .filter(|_| converts && self.priced_in_table((c, r), pricing))
        {
            None => Ok(None),
            Some(text) => match crate::money::parse_amount(text) {
                Some(rate) if rate.is_zero() => Ok(None),
                Some(rate) if rate > Decimal::ZERO => Ok(Some(rate)),
                _ => Err((
                    "bad-exchange-rate",
                    format!("{rate}: expected a positive exchange rate, got \"{text}\""),
                )),
            },
        }
    }

    /// The pricing table's currency.
    pub(super) fn currency(&self) -> &str {
        self.context.currency
    }

    /// Whether a row's pricing currency (one of `pricing`'s columns) is the
    /// table's.
    pub(super) fn priced_in_table(
        &self,
        (c, r): (&Columns, &csv::StringRecord),
        pricing: &[&str],
    ) -> bool {
        (c.any(r, pricing)).is_some_and(|p| p.eq_ignore_ascii_case(self.context.currency))
    }

    /// Whether the pricing table is in US dollars (a bill's own USD
    /// column is then read instead of converting).
    pub(super) fn in_usd(&self) -> bool {
        self.context.currency.eq_ignore_ascii_case("USD")
    }

    /// The model a cloud bill names, as the pricing table names it.
    pub(super) fn model(
        &self,
        cloud: meters::Cloud,
        name: &str,
        qualifiers: &[String],
        day: NaiveDate,
    ) -> Option<(String, String)> {
        self.context.names.resolve(cloud, name, qualifiers, day)
    }

    /// The error for a JSON document that is not a page of its format.
    pub(super) fn not_a_page(&self, line: u64, message: String) -> Error {
        Error::fatal(format!(
            "{}:{line}: not a cost report page: {message}",
            self.path.display()
        ))
    }

    /// Where a line was read.
    pub(super) fn origin(&self, line: u64) -> Origin {
        Origin {
            file: self.file,
            line,
        }
    }

    /// One page of a JSON export (whole document, array element or line,
    /// as [`for_each_json`] walks them). A broken page is a file-level error.
    pub(super) fn page<T: for<'de> Deserialize<'de>>(
        &self,
        line: u64,
        json: Result<&str, RowError>,
    ) -> Result<T> {
        let bad = |message: String| {
            Error::fatal(format!(
                "{}:{line}: not a cost report page: {message}",
                self.path.display()
            ))
        };
        let json = json.map_err(|(_, message)| bad(message))?;
        crate::read::json_field::from_json(json, "a cost report page").map_err(|(_, message)| {
            Error::fatal(format!("{}:{line}: {message}", self.path.display()))
        })
    }

    /// Read a CSV invoice with `row` turning each record into a line.
    pub(super) fn csv(
        &self,
        text: &str,
        skips: &mut Skips,
        out: &mut Vec<InvoiceLine>,
        row: RowReader,
    ) -> Result<()> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| Error::fatal(format!("{}: {e}", self.path.display())))?;
        let columns = Columns(headers.iter().map(|h| h.trim().to_string()).collect());
        let line = reader.position().line().saturating_sub(1).max(1);
        check_header(self.path, line, columns.0.iter().map(|h| h.as_bytes()))?;
        let mut record = csv::StringRecord::new();
        let source = (self.path, text, columns.0.len());
        let mut next = |record: &mut _| next_csv_record(source, &mut reader, record);
        while let Some((line, unclosed)) = next(&mut record)? {
            if let Some(why) = unclosed {
                skips.handle(self.error(line, "bad-csv", why))?;
                continue;
            }
            if record.iter().all(|f| f.trim().is_empty()) {
                continue; // dashboard exports write empty buckets as blank rows
            }
            let result = if record.len() == columns.0.len() {
                row(self, &columns, &record, line)
            } else {
                Err((
                    "bad-csv",
                    format!(
                        "row has {} fields, the header has {}",
                        record.len(),
                        columns.0.len()
                    ),
                ))
            };
            match result {
                Ok(Some(l)) => out.push(l),
                Ok(None) => {}
                Err((kind, message)) => skips.handle(self.error(line, kind, message))?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoNames;

    impl super::super::meters::ModelNames for NoNames {
        fn resolve(
            &self,
            _: super::super::meters::Cloud,
            _: &str,
            _: &[String],
            _: chrono::NaiveDate,
        ) -> Option<(String, String)> {
            None
        }
    }

    /// Converted amounts are held to SHARE_PLACES: their sum is the same to
    /// the last digit in any order (28-digit quotients summed differently).
    #[test]
    fn converted_amounts_sum_the_same_in_any_order() {
        let fx = [("EUR".to_string(), Decimal::new(92, 2))];
        let context = Context::new("USD", &fx, &NoNames);
        let reader = Reader {
            path: Path::new("bill.csv"),
            file: 0,
            context: &context,
        };
        let amounts = [
            Decimal::new(2_234_303, 2),
            Decimal::new(54_938, 2),
            Decimal::new(8_859, 2),
        ];
        let raw: Vec<Decimal> = amounts.iter().map(|a| a / fx[0].1).collect();
        assert_ne!(
            raw.iter().sum::<Decimal>(),
            raw.iter().rev().sum::<Decimal>(),
            "the premise: unrounded, the order shows"
        );
        let converted: Vec<Decimal> = amounts
            .iter()
            .map(|a| reader.convert(*a, "EUR", None).unwrap())
            .collect();
        let forward: Decimal = converted.iter().sum();
        let backward: Decimal = converted.iter().rev().sum();
        assert_eq!(forward.to_string(), backward.to_string());
    }
}
