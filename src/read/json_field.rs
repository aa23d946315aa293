//! A JSON record's type error said with the field it is in: serde names
//! the value and the type it expected (`invalid type: integer 5, expected
//! a string at line 1 column 61`), not where it is; the path to that place
//! (`model`, `results[1]`, `service.description`) is found by walking the
//! record's text up to it.

/// `error`, from reading `text`, with the path of the field it is in first
/// where serde does not name it (`model: invalid type: …`).
fn explained(text: &str, error: &serde_json::Error) -> String {
    let message = error.to_string();
    let names_a_field = message.contains("field `");
    let path = (error.is_data() && !names_a_field)
        .then(|| path_at(text, error.line(), error.column()))
        .flatten();
    match path {
        Some(path) => format!("{path}: {message}"),
        None => message,
    }
}

/// `text` read as a `T` (a record of the format named `what`), or a bad
/// record whose message says where its type error is.
pub fn from_json<'t, T: serde::Deserialize<'t>>(
    text: &'t str,
    what: &str,
) -> Result<T, crate::read::usage::RowError> {
    serde_json::from_str(text).map_err(|e| {
        let why = explained(text, &e);
        ("bad-json", format!("not {what}: {why}"))
    })
}

/// A container open at a place in the text: an object with the key whose
/// value is being read, or an array with the index of its element.
enum Frame<'t> {
    Object(Option<&'t str>),
    Array(usize),
}

/// The path of the value at (1-based) `line` and byte `column` of `text`:
/// the containers open there, each key and index (`None` at the top).
fn path_at(text: &str, line: usize, column: usize) -> Option<String> {
    let start = match line {
        0 | 1 => 0,
        n => text.match_indices('\n').nth(n - 2)?.0 + 1,
    };
    let at = (start + column).min(text.len());
    let (bytes, mut frames, mut i) = (text.as_bytes(), Vec::new(), 0);
    while i < at {
        match bytes[i] {
            b'"' => {
                let end = string_end(bytes, i)?;
                if let Some(Frame::Object(key @ None)) = frames.last_mut() {
                    *key = text.get(i + 1..end);
                }
                i = end;
            }
            b'{' => frames.push(Frame::Object(None)),
            b'[' => frames.push(Frame::Array(0)),
            b'}' | b']' => {
                frames.pop();
            }
            b',' => match frames.last_mut() {
                Some(Frame::Array(index)) => *index += 1,
                Some(Frame::Object(key)) => *key = None,
                None => {}
            },
            _ => {}
        }
        i += 1;
    }
    let mut path = String::new();
    for frame in &frames {
        match frame {
            Frame::Object(Some(key)) if path.is_empty() => path += key,
            Frame::Object(Some(key)) => path += &format!(".{key}"),
            Frame::Object(None) => {}
            Frame::Array(index) => path += &format!("[{index}]"),
        }
    }
    Some(path).filter(|p| !p.is_empty())
}

/// The index of the quote closing the string that opens at `open`.
fn string_end(bytes: &[u8], open: usize) -> Option<usize> {
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Log {
        request_id: String,
        model: String,
        #[serde(default)]
        results: Vec<std::collections::BTreeMap<String, String>>,
    }

    #[test]
    fn a_type_error_names_the_path_to_its_field() {
        let explain = |text: &str| explained(text, &serde_json::from_str::<Log>(text).unwrap_err());
        let number = r#"{"request_id": "a", "model": 5}"#;
        assert!(explain(number).starts_with("model: invalid type: integer `5`"));
        let pretty = "{\n  \"request_id\": \"a\\\"\",\n  \"model\": [1]\n}";
        assert!(explain(pretty).starts_with("model: invalid type: sequence"));
        let element = r#"{"request_id": "a", "model": "m", "results": [{"k": "v"}, null]}"#;
        assert!(
            explain(element).starts_with("results[1]: invalid type: null"),
            "{}",
            explain(element)
        );
        let inner = r#"{"request_id": "a", "model": "m", "results": [{"k": 7}]}"#;
        assert!(explain(inner).starts_with("results[0].k: invalid type: integer"));
        // serde names a missing field itself; a broken text has no field.
        assert!(explain(r#"{"request_id": "a"}"#).starts_with("missing field `model`"));
        assert!(explain(r#"{"request_id": "a", "mod"#).starts_with("EOF"));
    }
}
