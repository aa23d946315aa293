//! Google Cloud SKU descriptions: Gemini's and Claude on Vertex's, and the
//! Gemini API's (`Generate content input token count gemini 3.5 flash text`).

use super::{usage, Read};
use crate::model::TokenType;
use crate::read::invoice::Meter;

/// A Google Cloud SKU description (`Gemini 2.5 Flash GA Text Input -
/// Predictions`, `Claude Sonnet 4.6 — Input Tokens — global — Context Window
/// Size from 0 to 200000 Tokens`, `AI Dev Tools: Claude Opus 4.8 Output
/// Tokens (Long)`). Under the Gemini API `service`, a SKU that names no
/// token (an Imagen image, a Veo second) is a charge of its own; one that
/// names tokens this grammar cannot read stays unread.
pub fn gcp(sku: &str, service: Option<&str>) -> Read {
    let names_tokens = || sku.to_ascii_lowercase().contains("token");
    match sku_read(sku) {
        Read::Unknown if service == Some("Gemini API") && !names_tokens() => Read::Fixed,
        read => read,
    }
}

fn sku_read(sku: &str) -> Read {
    let sku = sku.trim();
    let lower = sku.to_ascii_lowercase();
    // Grounding with Google Search is billed per grounded request, no
    // model named: every Gemini model's `web_search` requests.
    if lower.contains("grounding with google search") {
        return Read::Requests("web_search".into());
    }
    // Storage, other grounding and ranking are not per token.
    let fixed = ["storage", "grounding with", "search: ranking"];
    if fixed.iter().any(|w| lower.contains(w)) {
        return Read::Fixed;
    }
    if let Some(read) = gemini_api(&lower) {
        return read;
    }
    let sku = sku.strip_prefix("AI Dev Tools: ").unwrap_or(sku);
    if sku.contains(" — ") {
        return gcp_em_dash(sku);
    }
    let mut qualifiers = Vec::new();
    let mut text = sku.to_string();
    for (suffix, q) in [
        (" - Batch Predictions", Some("batch")),
        (" - Predictions", None),
    ] {
        if let Some(t) = text.strip_suffix(suffix) {
            text = t.to_string();
            qualifiers.extend(q.map(str::to_string));
        }
    }
    if let Some(open) = text.rfind(" (") {
        let band = text[open + 2..].trim_end_matches(')').to_ascii_lowercase();
        if band.starts_with("long") {
            qualifiers.push("long-context".into());
        } else if band.starts_with("thinking") {
            qualifiers.push("thinking".into());
        }
        text.truncate(open);
    }
    let Some((model, meter, words)) = gcp_type(&text) else {
        return Read::Unknown;
    };
    qualifiers.extend(words);
    usage(&model, meter, qualifiers)
}

/// Whether a SKU (`lower`, in lower case) is the Gemini API's, which
/// names its model after `token count`.
pub fn is_gemini_api(lower: &str) -> bool {
    gemini_api_rest(lower).is_some()
}

fn gemini_api_rest(lower: &str) -> Option<&str> {
    ["generate content ", "generatecontent ", "embedcontent "]
        .iter()
        .find_map(|p| lower.strip_prefix(p))
}

/// A Gemini API model's SKU (`Generate content input token count gemini
/// 3.5 flash text`, `… cached input token count …`, `… Gemini 2.5 Pro long
/// input text`, `… text batch`, `… gemini 2.5 flash image output image`,
/// `GenerateContent text output token count for Gemini 2.0 Flash`,
/// `EmbedContent input token count for gemini-embedding-2 text`), read:
/// the model is the words after `token count` up to the first that says
/// the band, direction, modality, thinking, tier or caching (`image` only
/// after a direction: before one it names an image model).
fn gemini_api(lower: &str) -> Option<Read> {
    let (kind, model) = gemini_api_rest(lower)?.split_once(" token count ")?;
    let model = model.strip_prefix("for ").unwrap_or(model);
    let words: Vec<&str> = (model.split_whitespace())
        .map(|w| w.trim_matches(['(', ')']))
        .collect();
    let stop = [
        "short",
        "long",
        "input",
        "output",
        "text",
        "audio",
        "video",
        "batch",
        "flex",
        "priority",
        "caching",
        "cached",
        "thinking",
        "non-thinking",
    ];
    let end = (words.iter().position(|w| stop.contains(w))).unwrap_or(words.len());
    let after = &words[end..];
    let cached = after.contains(&"caching") || after.contains(&"cached");
    let token = match kind.contains("cached") || cached {
        true => TokenType::CacheRead,
        false => match direction(kind) {
            Some(token) => token,
            None => return Some(Read::Unknown),
        },
    };
    let named = [
        ("long", "long-context"),
        ("batch", "batch"),
        ("flex", "flex"),
        ("priority", "priority"),
    ];
    let qualifiers = (named.into_iter())
        .filter(|(word, _)| after.contains(word))
        .map(|(_, q)| q.to_string())
        .collect();
    let model = words[..end].join(" ");
    Some(usage(&model, Meter::Tokens(token), qualifiers))
}

/// The model and token type of a SKU's text once its suffixes are off:
/// the type phrase is the first of its words that names one. `Image`
/// before `Output`, `Text` or `Image` names an image model (`Gemini 2.5
/// Flash Image Output`, `Gemini 3.1 Flash Image Text Input`), not a
/// modality: a text model has no image output.
fn gcp_type(text: &str) -> Option<(String, Meter, Vec<String>)> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let lower: Vec<String> = words.iter().map(|w| w.to_ascii_lowercase()).collect();
    let type_word = |w: &str| {
        matches!(
            w,
            "text" | "input" | "output" | "thinking" | "audio" | "image" | "video" | "completion"
        )
    };
    let mut start = lower.iter().position(|w| type_word(w))?;
    let image_model = |i: usize| {
        lower[i] == "image"
            && matches!(
                lower.get(i + 1).map(String::as_str),
                Some("output" | "text" | "image")
            )
    };
    if image_model(start) {
        start += 1;
    }
    let has = |w: &str| lower[start..].iter().any(|x| x == w);
    let token = if has("caching") || has("cache") && has("read") {
        TokenType::CacheRead
    } else if has("output") || has("completion") {
        TokenType::Output
    } else if has("input") {
        TokenType::Input
    } else {
        return None;
    };
    let mut model_words: Vec<&str> = words[..start].to_vec();
    let mut qualifiers = Vec::new();
    model_words.retain(|w| match w.to_ascii_lowercase().as_str() {
        "ga" => false,
        "global" | "regional" => {
            qualifiers.push(w.to_ascii_lowercase());
            false
        }
        _ => true,
    });
    for (word, q) in [("priority", "priority"), ("flex", "flex")] {
        if has(word) {
            qualifiers.push(q.to_string());
        }
    }
    Some((model_words.join(" "), Meter::Tokens(token), qualifiers))
}

/// The token type a SKU's words say by direction alone: output before
/// input (`… Output Tokens`, `… output token count`).
fn direction(kind: &str) -> Option<TokenType> {
    if kind.contains("output") {
        Some(TokenType::Output)
    } else if kind.contains("input") {
        Some(TokenType::Input)
    } else {
        None
    }
}

/// Claude on Vertex's `<Model> — <Token type> — <location> — Context Window
/// Size from A to B Tokens`.
fn gcp_em_dash(sku: &str) -> Read {
    let parts: Vec<&str> = sku.split(" — ").map(str::trim).collect();
    let kind = parts
        .get(1)
        .map_or(String::new(), |k| k.to_ascii_lowercase());
    let token = if kind.contains("cache write") && kind.contains("3600") {
        TokenType::CacheWrite1h
    } else if kind.contains("cache write") {
        TokenType::CacheWrite5m
    } else if kind.contains("cache read") {
        TokenType::CacheRead
    } else {
        match direction(&kind) {
            Some(token) => token,
            None => return Read::Unknown,
        }
    };
    let mut qualifiers: Vec<String> = parts.get(2).map(|l| l.to_string()).into_iter().collect();
    if parts.iter().any(|p| p.contains("from 200001")) {
        qualifiers.push("long-context".into());
    }
    usage(parts[0], Meter::Tokens(token), qualifiers)
}

#[cfg(test)]
mod tests {
    use super::super::tests::read;
    use super::*;
    use crate::model::TokenType;

    #[test]
    fn gcp_skus_of_gemini_and_claude() {
        use TokenType::*;
        let cases = [
            ("Gemini 2.5 Flash GA Text Input - Predictions", read("Gemini 2.5 Flash", Input, &[])),
            ("Gemini 2.5 Flash GA Thinking Text Output - Predictions", read("Gemini 2.5 Flash", Output, &[])),
            ("Gemini 2.5 Flash GA Input Text Caching", read("Gemini 2.5 Flash", CacheRead, &[])),
            ("Gemini 3 Flash Text Input Caching", read("Gemini 3 Flash", CacheRead, &[])),
            ("Gemini 2.0 Flash Text Input (Long) - Predictions", read("Gemini 2.0 Flash", Input, &["long-context"])),
            ("Gemini 2.5 Flash Text Input - Batch Predictions", read("Gemini 2.5 Flash", Input, &["batch"])),
            ("Gemini 2.5 Flash Text Output (Thinking On) - Batch Predictions", read("Gemini 2.5 Flash", Output, &["batch", "thinking"])),
            ("Gemini 3.7 Flash Global Text Input - Predictions", read("Gemini 3.7 Flash", Input, &["global"])),
            ("Gemini 3.0 Pro Text Output", read("Gemini 3.0 Pro", Output, &[])),
            ("Claude Sonnet 4.6 — Input Tokens — global — Context Window Size from 0 to 200000 Tokens", read("Claude Sonnet 4.6", Input, &["global"])),
            ("Claude Opus 4 8 — Input Cache Write Tokens (TTL 3600 seconds) — us-east5 — Context Window Size from 200001 to 1000000 Tokens", read("Claude Opus 4 8", CacheWrite1h, &["us-east5", "long-context"])),
            ("AI Dev Tools: Claude Opus 4.8 Output Tokens (Long)", read("Claude Opus 4.8", Output, &["long-context"])),
            ("Claude 3 Haiku Input Tokens", read("Claude 3 Haiku", Input, &[])),
            ("Gemini 2.5 Flash Image Output", read("Gemini 2.5 Flash Image", Output, &[])),
            ("Gemini 3.1 Flash Image Image Output", read("Gemini 3.1 Flash Image", Output, &[])),
            ("Gemini 3.1 Flash Image Text Input - Predictions", read("Gemini 3.1 Flash Image", Input, &[])),
            ("Generate content input token count gemini 3.5 flash text", read("gemini 3.5 flash", Input, &[])),
            ("Generate content output token count gemini 3.7 flash text batch", read("gemini 3.7 flash", Output, &["batch"])),
            ("Generate content input token count Gemini 2.5 Pro long input text", read("gemini 2.5 pro", Input, &["long-context"])),
            ("Generate content cached input token count gemini 2.5 flash input image", read("gemini 2.5 flash", CacheRead, &[])),
            ("Generate content input token count gemini 3.7 flash image flex caching", read("gemini 3.7 flash image", CacheRead, &["flex"])),
            ("Generate content output token count gemini 2.5 flash image output image", read("gemini 2.5 flash image", Output, &[])),
            ("Generate content input token count gemini 2.5 flash cached text", read("gemini 2.5 flash", CacheRead, &[])),
            ("Generate content output token count gemini 2.5 flash short output text non-thinking", read("gemini 2.5 flash", Output, &[])),
            ("Generate content output token count gemini 2.5 pro thinking (long)", read("gemini 2.5 pro", Output, &["long-context"])),
            ("GenerateContent text output token count for Gemini 2.0 Flash", read("gemini 2.0 flash", Output, &[])),
            ("EmbedContent input token count for gemini-embedding-2 text", read("gemini-embedding-2", Input, &[])),
        ];
        for (sku, want) in cases {
            assert_eq!(gcp(sku, None), want, "{sku}");
        }
        assert_eq!(
            gcp("Gemini 3 Flash Text Input Caching Storage", None),
            Read::Fixed
        );
        assert_eq!(
            gcp("LLM Grounding with Google Search tool - Predictions", None),
            Read::Requests("web_search".into())
        );
        assert_eq!(gcp("Vertex AI Search: Ranking", None), Read::Fixed);
        assert_eq!(
            gcp("Vertex AI: Online Prediction: n1-standard-4", None),
            Read::Unknown
        );
        // The Gemini API's charges not per token are charges of their own.
        assert_eq!(
            gcp("Imagen 4 image generation", Some("Gemini API")),
            Read::Fixed
        );
        assert_eq!(
            gcp("Imagen 4 image generation", Some("Vertex AI")),
            Read::Unknown
        );
        let thoughts = "Generate content thoughts token count gemini 2.5 flash";
        assert_eq!(gcp(thoughts, Some("Gemini API")), Read::Unknown);
    }
}
