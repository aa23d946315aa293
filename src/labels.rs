//! A report row's labels ([`Keys`]): a list of shared labels, or a run's:
//! its id (the trace id's 32 hex digits) inline, and its root agent, tenant
//! and feature shared with every run that has the same three, so that a
//! million run rows hold no list and no id of their own on the heap (144
//! bytes a run, a row 40 bytes of labels, not 24).

use std::cmp::Ordering;
use std::sync::Arc;

use crate::dimension::UNATTRIBUTED;

/// A row's label: shared, as a million runs' rows repeat a few root
/// agents, tenants and features.
pub type Label = Arc<str>;

/// A row's labels, read as strings in column order.
#[derive(Clone, Debug)]
pub enum Keys {
    /// Any report's labels.
    List(Box<[Label]>),
    /// A run's: its id, then its root agent, tenant and feature (shared).
    Run(RunId, Arc<[Label; 3]>),
}

/// A run's id: its trace id as 32 lowercase hex digits, as `by_run.csv`
/// writes it, or none (the records that joined no call).
#[derive(Clone, Copy, Debug)]
pub struct RunId([u8; 32]);

impl RunId {
    /// The id of `trace`'s run, or of the unattributed records.
    pub fn of(trace: Option<u128>) -> RunId {
        let mut digits = [0u8; 32];
        if let Some(trace) = trace {
            use std::io::Write;
            write!(&mut digits[..], "{trace:032x}").expect("32 hex digits fill 32 bytes");
        }
        RunId(digits)
    }

    /// The id as written: the hex digits, or `(unattributed)`.
    pub fn as_str(&self) -> &str {
        if self.0[0] == 0 {
            return UNATTRIBUTED;
        }
        std::str::from_utf8(&self.0).expect("hex digits")
    }
}

impl Keys {
    /// How many labels.
    pub fn len(&self) -> usize {
        match self {
            Keys::List(labels) => labels.len(),
            Keys::Run(..) => 4,
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The labels in column order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).map(|i| &self[i])
    }

    /// The first label.
    pub fn first(&self) -> Option<&str> {
        self.iter().next()
    }
}

impl From<Vec<Label>> for Keys {
    fn from(labels: Vec<Label>) -> Keys {
        Keys::List(labels.into_boxed_slice())
    }
}

impl std::ops::Index<usize> for Keys {
    type Output = str;
    fn index(&self, i: usize) -> &str {
        match self {
            Keys::List(labels) => &labels[i],
            Keys::Run(id, _) if i == 0 => id.as_str(),
            Keys::Run(_, labels) => &labels[i - 1],
        }
    }
}

/// Labels compare as their strings do, column by column (a run's as a
/// list of the same strings would).
impl Ord for Keys {
    fn cmp(&self, other: &Keys) -> Ordering {
        self.iter().cmp(other.iter())
    }
}

impl PartialOrd for Keys {
    fn partial_cmp(&self, other: &Keys) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Keys {
    fn eq(&self, other: &Keys) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Keys {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_reads_and_orders_as_the_list_of_its_strings() {
        let labels = || ["agent".into(), "tenant".into(), "feature".into()];
        let run = |trace| Keys::Run(RunId::of(trace), Arc::new(labels()));
        let list = |id: String| {
            let [a, t, f] = labels();
            Keys::from(vec![id.into(), a, t, f])
        };
        for trace in [None, Some(0), Some(1), Some(u128::MAX), Some(0xab << 100)] {
            let id = trace.map_or(UNATTRIBUTED.to_string(), |t| format!("{t:032x}"));
            assert_eq!(
                run(trace).iter().collect::<Vec<_>>(),
                list(id.clone()).iter().collect::<Vec<_>>()
            );
            assert_eq!(run(trace), list(id));
        }
        assert!(run(Some(1)) < run(Some(2)));
        assert!(run(None) < run(Some(0)));
        assert_eq!(run(Some(7))[3].len(), 7);
    }
}
