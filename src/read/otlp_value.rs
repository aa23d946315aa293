//! OTLP JSON's attribute values and resources, shared by the span reader
//! ([`super::otlp`]) and the log reader ([`super::otlp_logs`]).

use std::borrow::Cow;

use serde::de;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::span::Scalar;

#[derive(Debug, Default, Deserialize, PartialEq)]
pub(super) struct Resource<'a> {
    #[serde(borrow, default)]
    pub(super) attributes: Vec<KeyValue<'a>>,
}

#[derive(Debug, Deserialize, PartialEq)]
pub(super) struct KeyValue<'a> {
    #[serde(borrow)]
    pub(super) key: Cow<'a, str>,
    #[serde(borrow, default)]
    pub(super) value: AnyValue<'a>,
}

/// An attribute value; array, kvlist and bytes values are skipped unread.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(super) struct AnyValue<'a> {
    /// Kept as its JSON text: a string nobody asks for (message contents)
    /// is skipped without being unescaped or copied.
    #[serde(borrow, default, deserialize_with = "raw_json")]
    pub(super) string_value: Option<&'a str>,
    pub(super) int_value: Option<IntValue>,
    #[serde(default, deserialize_with = "double_value")]
    pub(super) double_value: Option<f64>,
    pub(super) bool_value: Option<bool>,
}

/// OTLP's `doubleValue`: a number, or a string as proto3's JSON mapping
/// writes what a number cannot (`"NaN"`, `"Infinity"`, `"-Infinity"`) and
/// may write any double.
pub(super) fn parse_double(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ => text.parse().ok(),
    }
}

fn double_value<'de, D: de::Deserializer<'de>>(d: D) -> std::result::Result<Option<f64>, D::Error> {
    struct V;
    impl de::Visitor<'_> for V {
        type Value = Option<f64>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a doubleValue: a number, or NaN, Infinity or a number as a string")
        }
        fn visit_unit<E: de::Error>(self) -> std::result::Result<Option<f64>, E> {
            Ok(None)
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Option<f64>, E> {
            Ok(Some(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Option<f64>, E> {
            Ok(Some(v as f64))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Option<f64>, E> {
            Ok(Some(v as f64))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Option<f64>, E> {
            parse_double(v)
                .map(Some)
                .ok_or_else(|| E::custom(format!("doubleValue \"{v}\" is not a number")))
        }
    }
    d.deserialize_any(V)
}

/// A value kept as its JSON text (serde's `RawValue`); `None` for `null`.
pub(super) fn raw_json<'de: 'a, 'a, D: de::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<&'a str>, D::Error> {
    Ok(Option::<&'de RawValue>::deserialize(d)?.map(RawValue::get))
}

/// OTLP's 64-bit `intValue`: a decimal string by the spec, a bare number in
/// many real exports. Anything else (a float, out of range) is an error.
#[derive(Debug, PartialEq)]
pub(super) struct IntValue(pub(super) i64);

impl<'de> Deserialize<'de> for IntValue {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = IntValue;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an intValue: a 64-bit integer as a decimal string or a number")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<IntValue, E> {
                Ok(IntValue(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<IntValue, E> {
                i64::try_from(v).map(IntValue).map_err(|_| {
                    E::custom(format!("intValue {v} is out of the 64-bit signed range"))
                })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<IntValue, E> {
                v.parse()
                    .map(IntValue)
                    .map_err(|_| E::custom(format!("intValue \"{v}\" is not a 64-bit integer")))
            }
        }
        d.deserialize_any(V)
    }
}

impl AnyValue<'_> {
    /// What is wrong with a value OTLP would not write: a `stringValue`
    /// that is no JSON string, or more than one of the scalar fields (a
    /// value has one type).
    pub(super) fn malformed(&self) -> Option<&'static str> {
        // A JSON null reads as no value (`None`), here as everywhere.
        if self.string_value.is_some_and(|raw| !raw.starts_with('"')) {
            return Some("has a stringValue that is not a string");
        }

        let set = [
            self.string_value.is_some(),
            self.int_value.is_some(),
            self.double_value.is_some(),
            self.bool_value.is_some(),
        ];
        (set.iter().filter(|&&s| s).count() > 1).then_some("has a value of two types")
    }

    /// What is wrong with a value read for a span: as [`AnyValue::malformed`],
    /// or a `stringValue` whose escapes decode to no text (a lone UTF-16
    /// surrogate, `\ud800`): taken as absent, a tenant or join id was lost.
    /// Decoded again only where a surrogate's escape is written.
    pub(super) fn malformed_when_read(&self) -> Option<&'static str> {
        self.malformed().or_else(|| {
            let surrogate = self.string_value.is_some_and(has_surrogate_escape);
            (surrogate && self.scalar().is_none())
                .then_some("has a stringValue that is not text (a lone UTF-16 surrogate escape such as \\ud800)")
        })
    }

    pub(super) fn scalar(&self) -> Option<Scalar<'_>> {
        if let Some(raw) = self.string_value {
            // A JSON string without escapes reads as its text between the
            // quotes: borrowed, not copied.
            let json = raw;
            let plain = json.len() >= 2 && json.starts_with('"') && !json.contains('\\');
            let text = match plain {
                true => Some(Cow::Borrowed(&json[1..json.len() - 1])),
                false => serde_json::from_str::<String>(json).ok().map(Cow::Owned),
            };
            text.map(Scalar::Text)
        } else if let Some(IntValue(i)) = self.int_value {
            Some(Scalar::Int(i))
        } else if let Some(d) = self.double_value {
            Some(Scalar::Float(d))
        } else {
            self.bool_value.map(Scalar::Bool)
        }
    }
}

/// Whether a JSON string's text holds the escape of a UTF-16 surrogate
/// (`\ud800` to `\udfff`, either case).
fn has_surrogate_escape(raw: &str) -> bool {
    raw.contains('\\')
        && raw.as_bytes().windows(4).any(|w| {
            w[0] == b'\\'
                && w[1] == b'u'
                && w[2].eq_ignore_ascii_case(&b'd')
                && matches!(w[3], b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F')
        })
}
