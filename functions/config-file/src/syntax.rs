//! Invalid JSON explained: serde_json's message, made plain, with the usual fix as a hint.

use serde_json::error::Category;

/// What is wrong with the text and how to fix it; the position is serde_json's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxProblem {
    pub(crate) message: String,
    pub(crate) hint: Option<String>,
}

/// serde_json's message without its " at line L column C" suffix (the diagnostic has those).
fn bare_message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(end) => text[..end].to_owned(),
        None => text,
    }
}

/// Explains a serde_json parse error; `found` is the character at the error, if any.
pub(crate) fn explain(error: &serde_json::Error, found: Option<char>) -> SyntaxProblem {
    let bare = bare_message(error);
    let hint = |text: &str| Some(text.to_owned());
    let (message, hint) = if bare == "recursion limit exceeded" {
        (
            format!(
                "the JSON is nested more than {} levels deep",
                crate::spans::MAX_DEPTH
            ),
            hint("flatten it: a configuration file is a few levels deep"),
        )
    } else if error.classify() == Category::Eof {
        (
            format!("the file ends too early ({bare})"),
            hint("close every string, `[` and `{` that is opened"),
        )
    } else if bare == "trailing comma" {
        (
            "trailing comma".to_owned(),
            hint("remove the comma before the closing bracket: JSON allows no trailing commas"),
        )
    } else if bare == "trailing characters" {
        (
            "unexpected text after the JSON value".to_owned(),
            hint("the file holds exactly one JSON object: remove what follows its closing `}`"),
        )
    } else if bare.starts_with("control character") {
        (
            "line break or other control character inside a string".to_owned(),
            hint("write it escaped: `\\n` for a line break, `\\t` for a tab"),
        )
    } else if bare == "invalid escape" {
        (
            "invalid escape sequence in a string".to_owned(),
            hint("write a backslash as `\\\\` (Windows paths, regular expressions)"),
        )
    } else {
        let hint = match (bare.as_str(), found) {
            (_, Some('/')) => hint("JSON has no comments: remove them"),
            (_, Some('\'')) => hint("write strings and keys in double quotes: `\"text\"`"),
            ("key must be a string", _) => hint("write the key in double quotes: `\"Key\": value`"),
            ("expected value", Some(c)) if c.is_alphabetic() => hint(
                "write text in double quotes; the only bare words in JSON are true, false and null",
            ),
            ("expected ident", _) => hint(
                "write text in double quotes; the only bare words in JSON are true, false and null",
            ),
            ("expected value", Some(']' | '}')) => {
                hint("remove the comma before the closing bracket, or give a value")
            }
            ("expected `,` or `}`" | "expected `,` or `]`", _) => {
                hint("separate members and elements with a comma")
            }
            ("expected `:`", _) => hint("write a colon between a key and its value"),
            _ => None,
        };
        (format!("invalid JSON: {bare}"), hint)
    };
    SyntaxProblem { message, hint }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(text: &str) -> SyntaxProblem {
        let Err(error) = serde_json::from_str::<serde_json::Value>(text) else {
            panic!("{text} must be invalid")
        };
        let found = text.chars().nth(error.column().saturating_sub(1));
        explain(&error, found)
    }

    #[test]
    fn explains_the_usual_mistakes() {
        let cases = [
            (r#"{"A": 1,}"#, "trailing comma", "no trailing commas"),
            (
                r#"{"A": 1 "B": 2}"#,
                "invalid JSON: expected `,` or `}`",
                "with a comma",
            ),
            (
                r#"{'A': 1}"#,
                "invalid JSON: key must be a string",
                "double quotes",
            ),
            (
                r#"{"A": 'x'}"#,
                "invalid JSON: expected value",
                "double quotes",
            ),
            (
                r#"{"A": True}"#,
                "invalid JSON: expected value",
                "true, false and null",
            ),
            (
                r#"{"A": nul}"#,
                "invalid JSON: expected ident",
                "true, false and null",
            ),
            (
                r#"{"A": x}"#,
                "invalid JSON: expected value",
                "true, false and null",
            ),
            (
                "{\"A\": 1 // note\n}",
                "invalid JSON: expected `,` or `}`",
                "no comments",
            ),
            (
                r#"{"A": 1} x"#,
                "unexpected text after the JSON value",
                "exactly one",
            ),
            (
                r#"{"A": "C:\path"}"#,
                "invalid escape sequence in a string",
                "`\\\\`",
            ),
            ("{\"A\": \"a\nb\"}", "line break or other control", "`\\n`"),
            (r#"{"A": [1, 2"#, "the file ends too early", "close every"),
            (r#"{"A" 1}"#, "invalid JSON: expected `:`", "a colon"),
        ];
        for (text, message, hint) in cases {
            let p = problem(text);
            assert!(p.message.starts_with(message), "{text}: {p:?}");
            assert!(p.hint.unwrap_or_default().contains(hint), "{text}: hint");
        }
    }

    #[test]
    fn explains_deep_nesting() {
        let text = "[".repeat(200);
        let p = problem(&text);
        assert!(p.message.contains("nested more than 64 levels"), "{p:?}");
    }
}
