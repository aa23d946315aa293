//! The dimensions a month is reported by, modelled once: [`Dimension`]
//! names them (and every report, column and budget that follows them),
//! [`PerDimension`] holds one value per dimension, and [`Key`] is a
//! report row's key within one.
//!
//! Adding a dimension is a variant here and where its value comes from (a
//! span attribute in `tree`, a usage record's field in `posting`); every
//! report, day table and budget follows [`Dimension::ALL`], and the files
//! `docs/architecture.md` lists under "A new dimension" name them one by one.

use crate::intern::{Interner, Sym, TextOrder};

/// A dimension of the reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    /// The customer: `--tenant-attr` on the call or an ancestor.
    Tenant,
    /// The product feature: `--feature-attr`.
    Feature,
    /// The nearest agent invocation above the call.
    Agent,
    /// The nearest tool execution above the call.
    Tool,
    /// The model as billed.
    Model,
}

impl Dimension {
    /// Every dimension, in report order.
    pub const ALL: [Dimension; 5] = [
        Dimension::Tenant,
        Dimension::Feature,
        Dimension::Agent,
        Dimension::Tool,
        Dimension::Model,
    ];

    /// The dimensions that spans give (the model comes from the record).
    pub const FROM_SPANS: [Dimension; 4] = [
        Dimension::Tenant,
        Dimension::Feature,
        Dimension::Agent,
        Dimension::Tool,
    ];

    /// Its name: the report `by_<name>.csv`, the column, the budget's
    /// `dimension`.
    pub const fn name(self) -> &'static str {
        match self {
            Dimension::Tenant => "tenant",
            Dimension::Feature => "feature",
            Dimension::Agent => "agent",
            Dimension::Tool => "tool",
            Dimension::Model => "model",
        }
    }

    /// Its place in [`Dimension::ALL`] and in a [`PerDimension`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The dimension called `name`.
    pub fn parse(name: &str) -> Option<Dimension> {
        Dimension::ALL.into_iter().find(|d| d.name() == name)
    }

    /// Every dimension's name, for messages (`tenant, feature, …`).
    pub fn names() -> String {
        Dimension::ALL.map(Dimension::name).join(", ")
    }
}

/// One value per dimension, indexed by [`Dimension`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PerDimension<T>(pub [T; 5]);

impl<T> PerDimension<T> {
    /// The value of every dimension, from `f`.
    pub fn from_fn(mut f: impl FnMut(Dimension) -> T) -> PerDimension<T> {
        PerDimension(Dimension::ALL.map(&mut f))
    }

    /// (dimension, value) pairs in report order.
    pub fn iter(&self) -> impl Iterator<Item = (Dimension, &T)> {
        Dimension::ALL.into_iter().zip(&self.0)
    }
}

impl<T> std::ops::Index<Dimension> for PerDimension<T> {
    type Output = T;

    fn index(&self, d: Dimension) -> &T {
        &self.0[d.index()]
    }
}

impl<T> std::ops::IndexMut<Dimension> for PerDimension<T> {
    fn index_mut(&mut self, d: Dimension) -> &mut T {
        &mut self.0[d.index()]
    }
}

/// Row label for usage records that joined no span.
pub const UNATTRIBUTED: &str = "(unattributed)";
/// Row label for a dimension found on no ancestor.
pub const NONE: &str = "(none)";
/// Run label for a dimension whose calls disagree.
pub const MIXED: &str = "(mixed)";
/// Row label, under `--true-up`, for invoiced usage no record makes up.
pub const INVOICE_ONLY: &str = "(invoice only)";
/// Row label, under `--allocation`, for what no span, rule or split reached.
pub const UNALLOCATED: &str = "(unallocated)";
/// The row labels of spend no owner holds: an allocation rule or split
/// cannot give one to an owner (the amount would read as owned by nobody,
/// or merge into the row of what nothing owns).
pub const PLACEHOLDERS: [&str; 4] = [UNATTRIBUTED, NONE, UNALLOCATED, INVOICE_ONLY];

/// A report row's key within one dimension.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Key {
    /// The record joined no span.
    Unattributed,
    /// The dimension was found nowhere.
    #[default]
    None,
    /// A named value.
    Name(Sym),
}

impl Key {
    /// A named value, or `None`.
    pub fn of(sym: Option<Sym>) -> Key {
        sym.map_or(Key::None, Key::Name)
    }

    /// The row label: the name, `(none)` or `(unattributed)`.
    pub fn label<'a>(&self, interner: &'a Interner) -> &'a str {
        match self {
            Key::Unattributed => UNATTRIBUTED,
            Key::None => NONE,
            Key::Name(sym) => interner.get(*sym),
        }
    }

    /// The owner it names in `dimension`, under allocation: a name, but
    /// not one that is itself a row name of no owner (the text `(none)`:
    /// a model keeps any name); none for `(none)` and `(unattributed)`.
    pub fn owner<'a>(&self, dimension: Dimension, interner: &'a Interner) -> Option<&'a str> {
        let Key::Name(sym) = *self else { return None };
        let name = interner.get(sym);
        (dimension == Dimension::Model || !PLACEHOLDERS.contains(&name)).then_some(name)
    }

    /// Its place in `text` (the interner's text order with the labels
    /// `(none)` and `(unattributed)`): a name that prints like one of them
    /// comes after it, so rows that print alike never fall in input order.
    pub fn text_rank(self, text: &TextOrder, interner: &Interner) -> (u64, bool) {
        match self {
            Key::Name(sym) => (text.of_sym(sym), true),
            other => (text.of_str(other.label(interner)), false),
        }
    }
}
