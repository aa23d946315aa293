//! Interned strings: dimension values (tenants, features, agents, tools,
//! models) repeat across millions of spans and records, so each distinct
//! string is stored once and referred to by a 4-byte [`Sym`].

use std::collections::HashMap;

/// A handle to an interned string; resolve it with [`Interner::get`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(u32);

/// The table of distinct strings.
#[derive(Debug, Default)]
pub struct Interner {
    ids: HashMap<Box<str>, Sym>,
    names: Vec<Box<str>>,
}

impl Interner {
    /// The symbol for `name`, adding it on first sight.
    pub fn intern(&mut self, name: &str) -> Sym {
        if let Some(&sym) = self.ids.get(name) {
            return sym;
        }
        let sym = Sym(u32::try_from(self.names.len()).expect("fewer than 2^32 distinct names"));
        self.names.push(name.into());
        self.ids.insert(name.into(), sym);
        sym
    }

    /// The string behind `sym`.
    pub fn get(&self, sym: Sym) -> &str {
        &self.names[sym.0 as usize]
    }
}
