//! A span's ids as its export writes them: trace, span and parent ids in
//! hex (either case, an optional `0x`) or base64, read into numbers.

/// A span's ids as written, with the field names for messages, and its
/// start time.
pub struct Ids<'a> {
    /// Trace id text and its field name.
    pub trace: (&'a str, &'static str),
    /// Span id text and its field name.
    pub span: (&'a str, &'static str),
    /// Parent id text (absent or empty for a root) and its field name.
    pub parent: (Option<&'a str>, &'static str),
    /// Start in nanoseconds since the Unix epoch; 0 when unknown.
    pub start_ns: u64,
}

impl Ids<'_> {
    /// The trace, span and parent ids (0: none) of the span called `name`,
    /// or what is wrong with them (with a call's token counts, the problems
    /// [`super::span::compact`] finds with a span).
    pub fn parse(&self, name: &str) -> std::result::Result<(u128, u64, u64), String> {
        let what = |field: &str, value: &str| format!("span \"{name}\": {field} \"{value}\"");
        // An all-zero trace id is invalid (W3C Trace Context, OTLP): no run.
        let trace_id = (parse_hex_id(self.trace.0, 32).filter(|&id| id != 0)).ok_or_else(|| {
            what(self.trace.1, self.trace.0)
                + " is not 32 hex digits or 16 bytes in base64 (non-zero)"
        })?;
        let span_id = parse_hex_id(self.span.0, 16)
            .map(|id| id as u64)
            .filter(|&id| id != 0)
            .ok_or_else(|| {
                what(self.span.1, self.span.0)
                    + " is not 16 hex digits or 8 bytes in base64 (non-zero)"
            })?;
        let parent_id = match self.parent.0 {
            None | Some("") => 0,
            Some(p) => parse_hex_id(p, 16).map(|id| id as u64).ok_or_else(|| {
                what(self.parent.1, p) + " is not 16 hex digits or 8 bytes in base64"
            })?,
        };
        Ok((trace_id, span_id, parent_id))
    }
}

/// Parse a hex id of exactly `digits` digits (16 or 32 in use, at most
/// 32), in either case, with an optional `0x` prefix; or the same bytes in
/// base64 (24 or 12 characters with their padding, as Grafana Tempo's JSON
/// API and protobuf's JSON mapping write ids), which no hex id's length
/// can be mistaken for.
pub fn parse_hex_id(text: &str, digits: usize) -> Option<u128> {
    let hex = text.strip_prefix("0x").unwrap_or(text).as_bytes();
    if hex.len() != digits || digits > 32 {
        return base64_id(text.as_bytes(), digits / 2);
    }
    // Up to 16 digits per 64-bit half: a u128 shift per digit is slow.
    let (high, low) = hex.split_at(digits.saturating_sub(16));
    Some(u128::from(hex_u64(high)?) << 64 | u128::from(hex_u64(low)?))
}

/// An id of `bytes` bytes (16 or 8) in standard or URL-safe base64, padded
/// or not, as a number.
fn base64_id(text: &[u8], bytes: usize) -> Option<u128> {
    let text = text
        .strip_suffix(b"==")
        .or(text.strip_suffix(b"="))
        .unwrap_or(text);
    let chars = (bytes * 8).div_ceil(6);
    if text.len() != chars || !(1..=16).contains(&bytes) {
        return None;
    }
    let sextet = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    };
    let (&last, body) = text.split_last()?;
    let mut bits = 0u128;
    for &c in body {
        bits = bits << 6 | u128::from(sextet(c)?);
    }
    // The last character's spare low bits are zero in a canonical encoding.
    let (last, spare) = (sextet(last)?, chars * 6 - bytes * 8);
    (last & ((1 << spare) - 1) == 0).then(|| bits << (6 - spare) | u128::from(last >> spare))
}

/// Up to 16 hex digits as a number.
fn hex_u64(hex: &[u8]) -> Option<u64> {
    let mut value = 0u64;
    let mut bad = 0u8;
    for &b in hex {
        let digit = HEX[usize::from(b)];
        bad |= digit;
        value = value << 4 | u64::from(digit & 0x0f);
    }
    (bad & 0x80 == 0).then_some(value)
}

/// Each byte's value as a hex digit; 0x80 for a byte that is none.
const HEX: [u8; 256] = {
    let mut table = [0x80u8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};
