//! What a run read, skipped and counted ([`Intake`]): every stage that
//! reads a file adds to it (usage, invoices, provider usage, spans), the
//! month's stages add their counts, and `summary.json` is made from it once
//! ([`Intake::summary`]).

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::config::Period;
use crate::error::Skips;
use crate::ledger::Counts;
use crate::model::Origin;
use crate::price::PriceTable;
use crate::read::{InputFile, SkippedFile};
use crate::summary::{PricingInfo, SkippedJson, Summary, TotalsJson};

/// The run's inputs, skips and counts.
#[derive(Clone, Debug, Default)]
pub struct Intake {
    /// Every input file read so far, in the order read.
    pub inputs: Vec<InputFile>,
    /// The strict/lenient policy and what it skipped.
    pub skips: Skips,
    /// Files of walked input directories not read.
    pub skipped_files: Vec<SkippedFile>,
    /// Counts so far.
    pub counts: Counts,
    /// Billed usage records read per UTC month (`YYYY-MM`), before `--period`.
    pub months: BTreeMap<String, u64>,
}

impl Intake {
    /// A run that skips malformed records (`lenient`) or stops on the first.
    pub fn new(lenient: bool) -> Intake {
        Intake {
            skips: Skips::new(lenient),
            ..Intake::default()
        }
    }

    /// Pass over the input file `path`, saying why on the terminal and in
    /// the summary.
    pub fn skip_file(&mut self, path: PathBuf, why: String) {
        let file = SkippedFile { path, why };
        file.note();
        self.skipped_files.push(file);
    }

    /// Renders a record's [`Origin`] as `file:line`.
    pub fn describe(&self) -> impl Fn(Origin) -> String + '_ {
        describe(&self.inputs)
    }

    /// `summary.json` for this run priced by `pricing` over `period`, from
    /// its rounded totals.
    pub fn summary(
        &self,
        pricing: &PriceTable,
        period: Option<Period>,
        totals: TotalsJson,
    ) -> Summary {
        let mut counts = self.counts.clone();
        counts.skipped = self.skips.total();
        Summary {
            tokenledger_version: env!("CARGO_PKG_VERSION"),
            pricing: PricingInfo {
                source: pricing.source.clone(),
                version: pricing.version.clone(),
                currency: pricing.currency.clone(),
            },
            period: period.map(|p| p.to_string()),
            month_to_date: None,
            month_to_date_open: false,
            totals,
            counts,
            skipped: SkippedJson {
                by_kind: self.skips.by_kind.clone(),
                first: self.skips.first.clone(),
            },
            inputs: self.inputs.clone(),
            skipped_files: self.skipped_files.clone(),
            reconciliation: None,
            coverage: None,
            allocation: None,
            unattributed_labels: Vec::new(),
            config: None,
            failed_gates: Vec::new(),
            warnings: Vec::new(),
            raw_csv: false,
        }
    }
}

/// Renders an [`Origin`] as `file:line`.
pub fn describe(inputs: &[InputFile]) -> impl Fn(Origin) -> String + '_ {
    |o: Origin| format!("{}:{}", inputs[o.file as usize].path.display(), { o.line })
}
