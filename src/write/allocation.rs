//! `allocation.csv`: how every dimension's owners got their amounts, the
//! audit trail of `allocated_usd`.

use super::CsvOut;
use crate::allocate::Allocation;
use crate::dimension::Dimension;

/// One row per (dimension, owner, source): `span`, `record` (the model a
/// record names), `rule:<n>`, `split:<n>` or `unallocated`, with the exact
/// amount; each dimension's rows sum to the allocation's total.
pub fn allocation_csv(w: &mut CsvOut, allocation: &Allocation) -> csv::Result<()> {
    w.row(["dimension", "value", "source", "allocated_usd"])?;
    for d in Dimension::ALL {
        for (value, sources) in &allocation.owners[d] {
            for (source, amount) in sources {
                w.row([
                    d.name(),
                    value,
                    &source.name(),
                    &amount.normalize().to_string(),
                ])?;
            }
        }
    }
    Ok(())
}
