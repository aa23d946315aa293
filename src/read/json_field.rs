//! A JSON record's type error said with the field it is in: serde names
//! the value and the type it expected (`invalid type: integer 5, expected
//! a string at line 1 column 61`), not the key; the key before that
//! position is found in the record's text.

/// `error`, from reading `text`, with the field it is in first where serde
/// does not name it (`model: invalid type: …`).
pub fn explained(text: &str, error: &serde_json::Error) -> String {
    let message = error.to_string();
    let names_a_field = message.contains("field `");
    let field = (error.is_data() && !names_a_field)
        .then(|| field_at(text, error.line(), error.column()))
        .flatten();
    match field {
        Some(field) => format!("{field}: {message}"),
        None => message,
    }
}

/// The key of the `"key": value` pair at (1-based) `line` and `column` of
/// `text`: the last key closed before that place.
fn field_at(text: &str, line: usize, column: usize) -> Option<&str> {
    let start = match line {
        0 | 1 => 0,
        n => text.match_indices('\n').nth(n - 2)?.0 + 1,
    };
    let at = (start + column).min(text.len());
    let before = text.get(..at)?;
    let colon = before.rfind("\":").or_else(|| before.rfind("\" :"))?;
    let open = before[..colon].rfind('"')?;
    Some(&before[open + 1..colon]).filter(|key| !key.is_empty() && !key.contains('\\'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Log {
        request_id: String,
        model: String,
    }

    #[test]
    fn a_type_error_names_its_field() {
        let explain = |text: &str| explained(text, &serde_json::from_str::<Log>(text).unwrap_err());
        let number = r#"{"request_id": "a", "model": 5}"#;
        assert!(explain(number).starts_with("model: invalid type: integer `5`"));
        let pretty = "{\n  \"request_id\": \"a\",\n  \"model\": [1]\n}";
        assert!(explain(pretty).starts_with("model: invalid type: sequence"));
        // serde names a missing field itself; a broken text has no field.
        assert!(explain(r#"{"request_id": "a"}"#).starts_with("missing field `model`"));
        assert!(!explain(r#"{"request_id": "a", "mod"#).contains(": EOF"));
    }
}
