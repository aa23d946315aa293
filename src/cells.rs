//! A row's formatted cells, one after another in one buffer reused row
//! after row: the CSV writers format millions of numbers without an
//! allocation each.

use std::fmt::{Arguments, Write};

/// The cells formatted so far for one row.
#[derive(Debug, Default)]
pub struct Cells {
    text: String,
    ends: Vec<usize>,
}

impl Cells {
    /// Start the next row (the buffer's capacity stays).
    pub fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
    }

    /// Format one more cell: `cells.push(format_args!("{cost}"))`.
    pub fn push(&mut self, value: Arguments) {
        self.text
            .write_fmt(value)
            .expect("formatting into a String cannot fail");
        self.ends.push(self.text.len());
    }

    /// The `i`-th cell of the row.
    pub fn get(&self, i: usize) -> &str {
        let start = i.checked_sub(1).map_or(0, |before| self.ends[before]);
        &self.text[start..self.ends[i]]
    }

    /// The row's cells, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.ends.len()).map(|i| self.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_come_back_as_pushed_and_a_cleared_row_starts_empty() {
        let mut cells = Cells::default();
        cells.push(format_args!("{}", 42));
        cells.push(format_args!(""));
        cells.push(format_args!("{}:{}", "a", 1.5));
        assert_eq!(cells.iter().collect::<Vec<_>>(), ["42", "", "a:1.5"]);
        cells.clear();
        cells.push(format_args!("x"));
        assert_eq!(cells.iter().collect::<Vec<_>>(), ["x"]);
    }
}
