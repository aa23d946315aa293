//! Typed values out of a parsed TOML file (`pricing.toml`, budgets), with
//! errors that name the file, line and key. Numbers are read from their
//! literal text, never through f64.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use toml_edit::{Document, Item, Table, Value};

use crate::error::{Error, Result};

/// Parse TOML text; `source` names it in messages.
pub fn parse<'t>(text: &'t str, source: &str) -> Result<Document<&'t str>> {
    Document::parse(text).map_err(|e| {
        let line = e.span().map_or(0, |s| line_of(text, s.start));
        Error::fatal(format!("{source}:{line}: invalid TOML: {}", e.message()))
    })
}

/// What a decimal value is, for its bound and messages.
pub struct Number {
    /// What it counts (`USD per million tokens`).
    pub unit: &'static str,
    /// What such values are called (`rates`).
    pub noun: &'static str,
    /// The largest plausible value.
    pub max: Decimal,
    /// Why a larger value is refused.
    pub too_large: &'static str,
    /// The smallest plausible value above zero (zero itself is allowed):
    /// smaller ones are typing errors, and dividing by them overflows.
    pub min: Decimal,
    /// Why a smaller value (above zero) is refused.
    pub too_small: &'static str,
}

/// 1-based line of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        + 1
}

/// Reads typed values out of the parsed document, with errors that name the
/// file, line and key.
pub struct TomlReader<'t> {
    /// The file's text.
    pub text: &'t str,
    /// The file's name, for messages.
    pub source: &'t str,
    /// Byte offset of every line's start, for [`TomlReader::line`].
    line_starts: Vec<usize>,
}

impl<'t> TomlReader<'t> {
    /// A reader of `text`, named `source` in messages.
    pub fn new(text: &'t str, source: &'t str) -> Self {
        let newlines = text.bytes().enumerate().filter(|&(_, b)| b == b'\n');
        let line_starts = std::iter::once(0)
            .chain(newlines.map(|(i, _)| i + 1))
            .collect();
        TomlReader {
            text,
            source,
            line_starts,
        }
    }

    /// 1-based line of byte `offset`, as [`line_of`] but without rescanning
    /// the text (a table of hundreds of entries asks for each).
    pub fn line(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&start| start <= offset)
    }

    /// An error at the line of `span`.
    pub fn error(&self, span: Option<std::ops::Range<usize>>, message: String) -> Error {
        let line = span.map_or(0, |s| self.line(s.start));
        Error::fatal(format!("{}:{line}: {message}", self.source))
    }

    /// Refuse any key of `table` not in `allowed`.
    pub fn only_keys(&self, table: &Table, allowed: &[&str], what: &str) -> Result<()> {
        for (key, item) in table.iter() {
            if !allowed.contains(&key) {
                return Err(self.error(
                    item.span().or(table.span()),
                    format!(
                        "unknown key \"{key}\" in {what}; allowed: {}",
                        allowed.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The value under `key`, which must be present.
    pub fn value<'d>(&self, table: &'d Table, key: &str, what: &str) -> Result<&'d Value> {
        table
            .get(key)
            .and_then(Item::as_value)
            .ok_or_else(|| self.error(table.span(), format!("{what} lacks \"{key}\"")))
    }

    /// The string under `key`.
    pub fn string<'d>(&self, table: &'d Table, key: &str, what: &str) -> Result<&'d str> {
        let value = self.value(table, key, what)?;
        value
            .as_str()
            .ok_or_else(|| self.error(value.span(), format!("\"{key}\" must be a string")))
    }

    /// The date (`2025-09-29`) under `key`.
    pub fn date(&self, table: &Table, key: &str, what: &str) -> Result<NaiveDate> {
        let value = self.value(table, key, what)?;
        let text = match (value.as_str(), value.as_datetime()) {
            (Some(s), _) => s.to_string(),
            (_, Some(d)) => d.to_string(),
            _ => String::new(),
        };
        NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| {
            self.error(
                value.span(),
                format!("\"{key}\" must be a date like 2025-09-29"),
            )
        })
    }

    /// A price per million tokens (or per 1,000 requests) under `key`, as
    /// [`TomlReader::decimal`] reads it, held to 22 decimal places and 16
    /// significant digits: its price per token (÷ 10⁶) is then exact, and so
    /// is its product with any count up to 10¹².
    pub fn price(&self, table: &Table, key: &str, what: &str, kind: &Number) -> Result<Decimal> {
        let price = self.decimal(table, key, what, kind)?;
        let digits = price.mantissa().unsigned_abs().to_string().len();
        if price.scale() <= 22 && digits <= 16 {
            return Ok(price);
        }
        let span = self.value(table, key, what)?.span();
        let why = format!(
            "\"{key}\" is {price}: more digits than a cost holds exactly (a price has at most 16 \
             significant digits and 22 decimal places)"
        );
        Err(self.error(span, why))
    }

    /// A non-negative decimal under `key`, read from the number's literal
    /// text: zero, or within `kind`'s bounds.
    pub fn decimal(&self, table: &Table, key: &str, what: &str, kind: &Number) -> Result<Decimal> {
        let value = self.value(table, key, what)?;
        let span = value.span();
        let literal = span.clone().map(|s| self.text[s].trim().replace('_', ""));
        let parsed = match (value.is_float() || value.is_integer(), literal) {
            (true, Some(lit)) => match crate::money::exact_decimal(&lit) {
                Some(d) => Some(d),
                // A number no decimal holds exactly: never rounded quietly.
                None if lit.parse::<f64>().is_ok_and(f64::is_finite) => {
                    return Err(self.error(
                        span,
                        format!(
                            "\"{key}\" is {lit}: more digits than tokenledger holds exactly \
                             (28 decimal places, 28 significant digits)"
                        ),
                    ))
                }
                None => None,
            },
            _ => None,
        };
        match parsed {
            Some(d) if d > kind.max => {
                Err(self.error(span, format!("\"{key}\" is {d}: {}", kind.too_large)))
            }
            Some(d) if d > Decimal::ZERO && d < kind.min => {
                Err(self.error(span, format!("\"{key}\" is {d}: {}", kind.too_small)))
            }
            Some(d) if d >= Decimal::ZERO => Ok(d.normalize()),
            Some(d) => Err(self.error(
                span,
                format!("\"{key}\" is {d}: {} must not be negative", kind.noun),
            )),
            None => Err(self.error(span, format!("\"{key}\" must be a number ({})", kind.unit))),
        }
    }
}
