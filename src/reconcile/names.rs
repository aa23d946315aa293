//! The names both sides of a reconciliation use: each usage record's
//! provider and its model's canonical name, computed once per (provider,
//! model).

use std::collections::HashMap;

use crate::intern::{Interner, Sym};
use crate::model::UsageRecord;
use crate::price::PriceTable;

/// Canonical model names of the usage records, computed once per
/// (provider, model).
pub struct Names<'a> {
    pub(super) interner: &'a Interner,
    table: &'a PriceTable,
    canonical: HashMap<(Sym, Sym), String>,
}

impl<'a> Names<'a> {
    /// The canonical names of every record's model.
    pub fn new(
        records: &[UsageRecord],
        table: &'a PriceTable,
        interner: &'a Interner,
    ) -> Names<'a> {
        let mut canonical = HashMap::new();
        for r in records {
            canonical.entry((r.provider, r.model)).or_insert_with(|| {
                table
                    .canonical_model(interner.get(r.provider), interner.get(r.model))
                    .to_string()
            });
        }
        Names {
            interner,
            table,
            canonical,
        }
    }

    /// The canonical name of a record's model.
    pub fn model(&self, provider: Sym, model: Sym) -> &str {
        &self.canonical[&(provider, model)]
    }

    /// A record's provider.
    pub fn provider(&self, provider: Sym) -> &str {
        self.interner.get(provider)
    }

    /// The pricing table that names the models.
    pub fn table(&self) -> &'a PriceTable {
        self.table
    }

    /// The names the records' names are interned in.
    pub fn interner(&self) -> &'a Interner {
        self.interner
    }

    /// An interned name as written.
    pub fn name(&self, sym: Sym) -> &str {
        self.interner.get(sym)
    }
}
