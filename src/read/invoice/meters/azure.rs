//! Azure OpenAI and Foundry meter names, in all their abbreviations.

use super::{usage, Read};
use crate::model::TokenType;
use crate::read::invoice::Meter;

/// An Azure meter name (`gpt-4o-mini-0718-Inp-glbl Tokens`, `gpt 4o 0513
/// Input global Tokens`, `5.6 luna ShortCo Cd Inp Std DZ 1M Tokens`,
/// `Provisioned Managed Global Unit`).
pub fn azure(meter: &str) -> Read {
    let lower = meter.to_ascii_lowercase();
    if lower.contains("provisioned") || lower.contains(" ptu") || lower.contains(" ccu") {
        return Read::Fixed;
    }
    let Some(body) = lower
        .strip_suffix(" 1m tokens")
        .or_else(|| lower.strip_suffix(" 1k tokens"))
        .or_else(|| lower.strip_suffix(" tokens"))
    else {
        return Read::Unknown;
    };
    let words: Vec<&str> = body.split([' ', '-']).filter(|w| !w.is_empty()).collect();
    let mut model = Vec::new();
    let (mut token, mut cached, mut write) = (None, false, false);
    let mut qualifiers = Vec::new();
    let mut seen_keyword = false;
    for (i, w) in words.iter().enumerate() {
        let next = words.get(i + 1).copied();
        let keyword = match *w {
            "inp" | "input" | "inpt" | "in" => {
                token = token.or(Some(TokenType::Input));
                true
            }
            "outp" | "output" | "outpt" | "opt" | "out" => {
                token = Some(TokenType::Output);
                true
            }
            "cached" | "cchd" | "ccchd" | "cd" => {
                cached = true;
                true
            }
            "wr" => {
                write = true;
                true
            }
            "glbl" | "global" | "gl" => push(&mut qualifiers, "global"),
            "regnl" | "regional" | "rg" => push(&mut qualifiers, "regional"),
            "dz" | "dzone" => push(&mut qualifiers, "data-zone"),
            "data" if next == Some("zone") => push(&mut qualifiers, "data-zone"),
            "zone" if seen_keyword => true,
            "batch" => push(&mut qualifiers, "batch"),
            "pp" => push(&mut qualifiers, "priority"),
            "std" | "shortco" => true,
            "longco" => push(&mut qualifiers, "long-context"),
            _ => false,
        };
        seen_keyword |= keyword;
        if !seen_keyword {
            model.push(*w);
        }
    }
    let token = match (token, cached, write) {
        (_, true, true) => TokenType::CacheWrite5m,
        (Some(TokenType::Input), true, false) => TokenType::CacheRead,
        (Some(t), _, _) => t,
        (None, true, _) => TokenType::CacheRead,
        (None, false, _) => return Read::Unknown,
    };
    if model.is_empty() {
        return Read::Unknown;
    }
    usage(&model.join(" "), Meter::Tokens(token), qualifiers)
}

fn push(qualifiers: &mut Vec<String>, q: &str) -> bool {
    if !qualifiers.iter().any(|x| x == q) {
        qualifiers.push(q.to_string());
    }
    true
}

#[cfg(test)]
mod tests {
    use super::super::tests::read;
    use super::*;
    use crate::model::TokenType;

    #[test]
    fn azure_meters_in_all_their_spellings() {
        use TokenType::*;
        let cases = [
            (
                "gpt 4o 0513 Input global Tokens",
                read("gpt 4o 0513", Input, &["global"]),
            ),
            (
                "gpt-4o-mini-0718-Inp-glbl Tokens",
                read("gpt 4o mini 0718", Input, &["global"]),
            ),
            (
                "gpt-4o-0806-Outp-regnl Tokens",
                read("gpt 4o 0806", Output, &["regional"]),
            ),
            (
                "gpt 4o 1120 cached Inp glbl Tokens",
                read("gpt 4o 1120", CacheRead, &["global"]),
            ),
            (
                "gpt-4o-mini-0718-Batch-Inp-glbl Tokens",
                read("gpt 4o mini 0718", Input, &["batch", "global"]),
            ),
            (
                "gpt 4o 0806 Batch Inp Data Zone Tokens",
                read("gpt 4o 0806", Input, &["batch", "data-zone"]),
            ),
            (
                "5.6 luna ShortCo Cd Inp Std DZ 1M Tokens",
                read("5.6 luna", CacheRead, &["data-zone"]),
            ),
            (
                "5.6 sol ShortCo Cd Wr Std Gl 1M Tokens",
                read("5.6 sol", CacheWrite5m, &["global"]),
            ),
            (
                "GPT 5 outpt Glbl 1M Tokens",
                read("gpt 5", Output, &["global"]),
            ),
            (
                "5 mini pp Inp Gl 1M Tokens",
                read("5 mini", Input, &["priority", "global"]),
            ),
            (
                "o4-mini 0416 Inp glbl Tokens",
                read("o4 mini 0416", Input, &["global"]),
            ),
            ("R1 Inp glbl Tokens", read("r1", Input, &["global"])),
            (
                "codex mini inp cchd glbl Tokens",
                read("codex mini", CacheRead, &["global"]),
            ),
        ];
        for (meter, want) in cases {
            assert_eq!(azure(meter), want, "{meter}");
        }
        assert_eq!(azure("Provisioned Managed Global Unit"), Read::Fixed);
        assert_eq!(azure("Standard Text Records"), Read::Unknown);
    }
}
