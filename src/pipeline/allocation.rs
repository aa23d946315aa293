//! The month's allocation (`--allocation`), in the pipeline: the file is
//! read and its splits declared in the reconciliation before the spans
//! ([`declare`]); after attribution every dimension's owners are computed,
//! each report gains `allocated_usd` and the summary its part
//! ([`apply`]); `--min-allocated` is the gate ([`gate`]).

use rust_decimal::Decimal;

use crate::allocate::{allocate, Allocation, AllocationJson, Declared};
use crate::attribute::Of;
use crate::checks::Checks;
use crate::dimension::Dimension;
use crate::error::Result;
use crate::ledger::{add_allocated, Report};
use crate::money::Micros;
use crate::posting::Postings;
use crate::read::allocation::AllocationFile;
use crate::reconcile::Names;
use crate::summary::Summary;

use super::config::AnswerConfig;
use super::usage::Usage;

/// Read the allocation file, if any, and declare its splits' bill lines.
pub fn declare(config: &AnswerConfig, checks: &mut Checks) -> Result<Option<Declared>> {
    let Some(path) = &config.allocation else {
        return Ok(None);
    };
    let file = AllocationFile::load(path)?;
    let source = path.display().to_string();
    Ok(Some(Declared::new(
        file,
        source,
        checks.reconciliation.as_mut(),
    )))
}

/// Allocate the month and give every dimension's report its
/// `allocated_usd`; the summary gets the allocation's part and warnings.
pub fn apply(
    declared: &Declared,
    postings: &Postings,
    checks: &Checks,
    usage: &Usage,
    reports: &mut [Report],
) -> Result<Allocation> {
    let names = Names::new(&usage.records, &usage.pricing, &usage.interner);
    let basis = match &checks.reconciliation {
        Some(rec) => ("invoice", rec.invoice_total()),
        None => ("usage", postings.iter().map(|p| p.cost.total()).sum()),
    };
    let allocation = allocate(declared, postings, &names, basis)?;
    let target = Micros::round(allocation.total);
    for report in reports.iter_mut() {
        if let Of::Dimension(d) = report.table.of {
            add_allocated(report, &allocation.allocated(d), target)?;
        }
    }
    Ok(allocation)
}

/// The summary's allocation part and warnings.
pub fn summarise(allocation: &Allocation, summary: &mut Summary) {
    summary.allocation = Some(AllocationJson::new(allocation));
}

/// `--min-allocated`: the failed gate when less than `min` % of the
/// tenants' total has an owner, naming the largest unallocated labels.
pub fn gate(allocation: &Allocation, min: Option<Decimal>) -> Option<String> {
    let min = min?;
    if !allocation.allocated_below(Dimension::Tenant, min) {
        return None;
    }
    // Shown to two places, or, where two would round up to the minimum,
    // cut (never rounded up) to six.
    let pct = match allocation.allocated_pct(Dimension::Tenant, 2) {
        pct if pct >= min => {
            let exact = allocation.allocated_pct(Dimension::Tenant, 20);
            let cut = exact.round_dp_with_strategy(6, rust_decimal::RoundingStrategy::ToZero);
            format!("{cut:.6}")
        }
        pct => format!("{pct:.2}"),
    };
    let labels: Vec<String> = allocation
        .unallocated_labels
        .iter()
        .map(|(label, usd)| format!("{label} ${}", Micros::round(*usd)))
        .collect();
    let named = match labels.is_empty() {
        true => String::new(),
        false => format!("; the largest unallocated labels: {}", labels.join(", ")),
    };
    Some(format!(
        "allocation: {pct} % of the cost has a tenant, below --min-allocated {min}{named}"
    ))
}
