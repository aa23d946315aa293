//! Text for a terminal. Names come from the inputs (tenants, budgets, span
//! attributes, models, invoice lines) and may hold control characters:
//! printed raw, `ESC ] 0 ; … BEL` retitles the terminal and `ESC [ 2 J`
//! clears it. Every name on its way to a terminal (the summary tables, the
//! budget lines, `pricing` output, error messages) goes through [`escape`]
//! or [`escape_lines`]. Files (CSV, JSON) are data and keep the real value;
//! HTML has its own escaping.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` must not reach a terminal as is: a control character (C0,
/// DEL, C1), one drawn as nothing ([`invisible`]: bidirectional marks,
/// which reorder the text after it on screen, zero-width spaces, tags,
/// variation selectors), or one drawn as a plain space (a no-break space,
/// a line separator), so `ac\u{200b}me` over its budget would read as
/// `acme`. The zero-width joiner stays: emoji are made with it (an
/// emoji's variation selector, drawn as nothing, is shown escaped).
fn hidden(c: char) -> bool {
    c.is_control()
        || (invisible(c) && c != '\u{200d}')
        || matches!(c, '\u{a0}' | '\u{2028}' | '\u{2029}' | '\u{202f}')
}

/// Whether `c` is drawn as nothing: a format character (Unicode category
/// Cf: soft hyphen, bidirectional marks and isolates, zero-width and
/// invisible operators, tags, …) or a default-ignorable one (variation
/// selectors, fillers, the combining grapheme joiner).
pub fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00ad}' | '\u{034f}' | '\u{0600}'..='\u{0605}' | '\u{061c}' | '\u{06dd}'
        | '\u{070f}' | '\u{0890}'..='\u{0891}' | '\u{08e2}' | '\u{115f}'..='\u{1160}'
        | '\u{17b4}'..='\u{17b5}' | '\u{180b}'..='\u{180f}' | '\u{200b}'..='\u{200f}'
        | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{3164}'
        | '\u{fe00}'..='\u{fe0f}' | '\u{feff}' | '\u{ffa0}' | '\u{fff0}'..='\u{fffb}'
        | '\u{110bd}' | '\u{110cd}' | '\u{13430}'..='\u{1343f}' | '\u{1bca0}'..='\u{1bca3}'
        | '\u{1d173}'..='\u{1d17a}' | '\u{e0000}'..='\u{e0fff}')
}

/// `text` as a terminal may show it: line feeds, tabs and carriage returns
/// as `\n`, `\t` and `\r`, other ASCII controls as `\x1b`, the rest as
/// `\u{9b}`. Text without any is returned as is.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(hidden) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if hidden(c) && c.is_ascii() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if hidden(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A text of several lines (a message, a report) as a terminal may show
/// it: each line escaped as by [`escape`], the line breaks kept.
pub fn escape_lines(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && hidden(c)) {
        return Cow::Borrowed(text);
    }
    let lines: Vec<Cow<str>> = text.split('\n').map(escape).collect();
    Cow::Owned(lines.join("\n"))
}

/// A line to standard error, as `eprintln!` writes it, but never a panic:
/// with standard error a pipe whose reader is gone, the line is lost, not
/// the run's exit code (`eprintln!` aborted the run with 134).
#[macro_export]
macro_rules! stderr_line {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// Text to standard error, as `eprint!` writes it, but never a panic.
#[macro_export]
macro_rules! stderr_text {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr(), $($arg)*);
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_shown_escaped_and_the_rest_kept() {
        assert_eq!(
            escape("acme\u{1b}]0;PWNED\u{7}\u{1b}[2J"),
            "acme\\x1b]0;PWNED\\x07\\x1b[2J"
        );
        assert_eq!(escape("a\tb\r\nc\0"), "a\\tb\\r\\nc\\x00");
        assert_eq!(
            escape("\u{9b}31m \u{202e}gnp.exe"),
            "\\u{9b}31m \\u{202e}gnp.exe"
        );
        assert!(matches!(
            escape("café – naïve ✓ 👩\u{200d}💻"),
            Cow::Borrowed(_)
        ));
        assert_eq!(
            escape("ac\u{200b}me\u{a0}\u{feff}"),
            "ac\\u{200b}me\\u{a0}\\u{feff}"
        );
        assert_eq!(escape("x\u{7f}"), "x\\x7f");
        // Tags, variation selectors and the combining grapheme joiner are
        // drawn as nothing: `ac<tag space>me` read as `acme`.
        assert_eq!(
            escape("ac\u{e0020}me\u{fe0f}\u{34f}"),
            "ac\\u{e0020}me\\u{fe0f}\\u{34f}"
        );
        assert_eq!(escape_lines("one \u{1b}[2J\ntwo\n"), "one \\x1b[2J\ntwo\n");
    }
}
