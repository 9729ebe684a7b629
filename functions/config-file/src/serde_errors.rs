//! serde's deserialization errors explained in terms of the document, with what to write.
//!
//! serde reports these as text in a stable format (`unknown field `x`, expected one of ...`,
//! `invalid type: integer `10`, expected a string`, `missing field `x``); the value itself comes
//! from the document, so hints can quote what the person wrote.

use serde_json::Value;

use crate::path::{JsonPath, Segment};

/// An explained error and how deserialization can go on to find the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Explained {
    pub(crate) path: JsonPath,
    pub(crate) message: String,
    pub(crate) hint: Option<String>,
    /// Point at the key rather than the value (an unknown field is its key's fault).
    pub(crate) at_key: bool,
    /// The member found missing, to drop a follow-up of an already reported wrong value.
    pub(crate) missing: Option<JsonPath>,
    /// Remove this member from a scratch copy and deserialize again; `None` stops.
    pub(crate) remove: Option<JsonPath>,
}

/// The words between backticks in `text`, in order.
fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

pub(crate) fn explain(path: JsonPath, message: &str, root: &Value) -> Explained {
    let message = message
        .rfind(" at line ")
        .map_or(message, |end| &message[..end]);
    let plain = |path: JsonPath, text: String, hint: Option<String>| Explained {
        remove: removable(&path),
        path,
        message: text,
        hint,
        at_key: false,
        missing: None,
    };
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let (field, expected) = match rest.split_once(", expected") {
            Some((field, expected)) => (backticked(field), backticked(expected)),
            None => (backticked(rest), Vec::new()),
        };
        let field = field.into_iter().next().unwrap_or_default();
        // serde_path_to_error stops before a key that failed; add it unless it is there.
        let full = if path.last() == Some(&Segment::Key(field.clone())) {
            path
        } else {
            path.key(field.as_str())
        };
        return Explained {
            remove: removable(&full),
            path: full,
            message: format!("unknown field `{field}`"),
            hint: Some(unknown_field_hint(&field, &expected)),
            at_key: true,
            missing: None,
        };
    }
    if let Some(rest) = message.strip_prefix("missing field ") {
        let field = backticked(rest).into_iter().next().unwrap_or_default();
        let place = if path.is_root() {
            "the top-level object".to_owned()
        } else {
            format!("the object at {path}")
        };
        return Explained {
            missing: Some(path.key(field.as_str())),
            message: format!("missing required field `{field}`"),
            hint: Some(format!("add `\"{field}\": ...` to {place}")),
            remove: removable(&path),
            path,
            at_key: false,
        };
    }
    let found = path.lookup(root);
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        let expected = rest.split_once(", expected ").map_or("", |(_, e)| e);
        let wanted = Wanted::from_serde(expected);
        let text = format!(
            "expected {}, found {}",
            wanted.describe(),
            found.map_or_else(|| "something else".to_owned(), describe_value)
        );
        let hint = found.and_then(|value| wanted.hint(value));
        return plain(path, text, hint);
    }
    if let Some(rest) = message.strip_prefix("invalid value: ") {
        let expected = rest.split_once(", expected ").map_or("", |(_, e)| e);
        let wanted = Wanted::from_serde(expected);
        let written = found.map_or_else(String::new, Value::to_string);
        let (text, hint) = match wanted.range() {
            Some((low, high)) => (
                format!("`{written}` is out of range for {}", wanted.describe()),
                Some(format!("write a whole number from {low} to {high}")),
            ),
            None => (format!("`{written}` is not {}", wanted.describe()), None),
        };
        return plain(path, text, hint);
    }
    Explained {
        path,
        message: message.to_owned(),
        hint: None,
        at_key: false,
        missing: None,
        remove: None,
    }
}

/// The member to drop from the scratch copy to go on: the path itself, or for an array element
/// the whole array (dropping one element would shift the indices of the later ones).
fn removable(path: &JsonPath) -> Option<JsonPath> {
    let segments = path.segments();
    let last_key = segments
        .iter()
        .rposition(|segment| matches!(segment, Segment::Key(_)))?;
    Some(segments[..=last_key].iter().cloned().collect())
}

/// What the type wanted, from serde's `expected ...` text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wanted {
    String,
    Integer { bits: u32 },
    Number,
    Boolean,
    List,
    Object,
    Other,
}

impl Wanted {
    fn from_serde(expected: &str) -> Self {
        match expected {
            "a string" | "a borrowed string" | "a character" => Self::String,
            "i8" => Self::Integer { bits: 8 },
            "i16" => Self::Integer { bits: 16 },
            "i32" => Self::Integer { bits: 32 },
            "i64" => Self::Integer { bits: 64 },
            "f32" | "f64" => Self::Number,
            "a boolean" => Self::Boolean,
            "a sequence" => Self::List,
            _ if expected == "a map" || expected.starts_with("struct ") => Self::Object,
            _ => Self::Other,
        }
    }

    fn describe(self) -> String {
        match self {
            Self::String => "a string".into(),
            Self::Integer { bits: 64 } => "a whole number".into(),
            Self::Integer { bits } => format!("a whole number ({bits}-bit)"),
            Self::Number => "a number".into(),
            Self::Boolean => "true or false".into(),
            Self::List => "a list `[...]`".into(),
            Self::Object => "an object `{...}`".into(),
            Self::Other => "another type".into(),
        }
    }

    fn range(self) -> Option<(i64, i64)> {
        match self {
            Self::Integer { bits } if (1..=64).contains(&bits) => {
                let high = i64::MAX >> (64 - bits);
                Some((-high - 1, high))
            }
            _ => None,
        }
    }

    /// What to write instead of `value`.
    fn hint(self, value: &Value) -> Option<String> {
        match (self, value) {
            (_, Value::Null) => {
                Some("give a value, or leave the member out if it is optional".into())
            }
            (Self::String, Value::Number(_) | Value::Bool(_)) => {
                Some(format!("write `\"{value}\"` (in double quotes)"))
            }
            (Self::Integer { .. }, Value::String(text)) if text.trim().parse::<i64>().is_ok() => {
                Some(format!("write `{}` without quotes", text.trim()))
            }
            (Self::Integer { .. }, Value::Number(number)) if !number.is_i64() => {
                Some("write a whole number, without a decimal point".into())
            }
            (Self::Integer { .. }, _) => Some("write a whole number, e.g. `3600`".into()),
            (Self::Number, Value::String(text)) if text.trim().parse::<f64>().is_ok() => {
                Some(format!("write `{}` without quotes", text.trim()))
            }
            (Self::Boolean, Value::String(text))
                if matches!(text.trim().to_ascii_lowercase().as_str(), "true" | "false") =>
            {
                Some(format!(
                    "write `{}` without quotes",
                    text.trim().to_ascii_lowercase()
                ))
            }
            (Self::Boolean, _) => Some("write `true` or `false`".into()),
            (Self::List, _) => Some(format!("write a list, e.g. `[{value}]`")),
            (Self::Object, _) => Some("write an object: `{\"Key\": value, ...}`".into()),
            _ => None,
        }
    }
}

fn describe_value(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("`{b}`"),
        Value::Number(n) => format!("the number `{n}`"),
        Value::String(_) => format!("the string `{value}`"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// Keys compared loosely: `channel_name`, `channelName` and `ChannelName` are one key.
fn loose(key: &str) -> String {
    key.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Similarity above which an unknown key is taken for a typo of a known one.
const TYPO_SIMILARITY: f64 = 0.85;

pub(crate) fn unknown_field_hint(field: &str, expected: &[String]) -> String {
    if expected.is_empty() {
        return "remove it: this object takes no fields".into();
    }
    let list = expected
        .iter()
        .map(|e| format!("`{e}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let same: Vec<&String> = expected
        .iter()
        .filter(|e| loose(e) == loose(field))
        .collect();
    if let [only] = same.as_slice() {
        let style = if expected.iter().all(|e| e.starts_with(char::is_uppercase)) {
            "keys here are PascalCase"
        } else {
            "keys are case-sensitive"
        };
        return format!("write `{only}` ({style})");
    }
    let closest = expected
        .iter()
        .map(|e| (strsim::jaro_winkler(&loose(field), &loose(e)), e))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match closest {
        Some((score, name)) if score >= TYPO_SIMILARITY => {
            format!("did you mean `{name}`? Expected one of {list}")
        }
        _ => format!("expected one of {list}"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn unknown_field_hints_name_the_exact_key() {
        let expected = names(&["ChannelName", "DataSource"]);
        for written in ["channelName", "channel_name", "CHANNELNAME", "Channel-Name"] {
            assert_eq!(
                unknown_field_hint(written, &expected),
                "write `ChannelName` (keys here are PascalCase)"
            );
        }
        assert_eq!(
            unknown_field_hint("chanelname", &expected),
            "did you mean `ChannelName`? Expected one of `ChannelName`, `DataSource`"
        );
        assert_eq!(
            unknown_field_hint("Foo", &expected),
            "expected one of `ChannelName`, `DataSource`"
        );
        assert_eq!(
            unknown_field_hint("a", &names(&["A", "b"])),
            "write `A` (keys are case-sensitive)"
        );
        assert_eq!(
            unknown_field_hint("a", &[]),
            "remove it: this object takes no fields"
        );
    }

    #[test]
    fn unknown_field_path_ends_in_the_key() {
        let root = json!({"A": {"bogus": 1}});
        let e = explain(
            JsonPath::root().key("A"),
            "unknown field `bogus`, expected `B`",
            &root,
        );
        assert_eq!(e.path, JsonPath::root().key("A").key("bogus"));
        assert_eq!(e.remove, Some(e.path.clone()));
        assert!(e.at_key);
        assert_eq!(e.message, "unknown field `bogus`");
    }

    #[test]
    fn missing_field_says_where_to_add_it() {
        let root = json!({});
        let e = explain(JsonPath::root(), "missing field `RoleArn`", &root);
        assert_eq!(e.message, "missing required field `RoleArn`");
        assert_eq!(
            e.hint.as_deref(),
            Some("add `\"RoleArn\": ...` to the top-level object")
        );
        assert_eq!(e.missing, Some(JsonPath::root().key("RoleArn")));
        assert_eq!(e.remove, None, "the top level cannot be dropped");
        let inner = explain(JsonPath::root().key("A"), "missing field `B`", &root);
        assert_eq!(
            inner.hint.as_deref(),
            Some("add `\"B\": ...` to the object at A")
        );
        assert_eq!(
            inner.remove,
            Some(JsonPath::root().key("A")),
            "drop A to go on"
        );
    }

    #[test]
    fn wrong_types_say_what_to_write() {
        let root =
            json!({"S": 10, "I": "3600", "F": 1.5, "B": "True", "L": "x", "O": 1, "N": null});
        let cases = [
            (
                "S",
                "a string",
                "expected a string, found the number `10`",
                "write `\"10\"` (in double quotes)",
            ),
            (
                "I",
                "i32",
                "expected a whole number (32-bit), found the string `\"3600\"`",
                "write `3600` without quotes",
            ),
            (
                "F",
                "i32",
                "expected a whole number (32-bit), found the number `1.5`",
                "write a whole number, without a decimal point",
            ),
            (
                "B",
                "a boolean",
                "expected true or false, found the string `\"True\"`",
                "write `true` without quotes",
            ),
            (
                "L",
                "a sequence",
                "expected a list `[...]`, found the string `\"x\"`",
                "write a list, e.g. `[\"x\"]`",
            ),
            (
                "O",
                "struct X",
                "expected an object `{...}`, found the number `1`",
                "write an object: `{\"Key\": value, ...}`",
            ),
            (
                "N",
                "a string",
                "expected a string, found null",
                "give a value, or leave the member out if it is optional",
            ),
        ];
        for (key, expected, message, hint) in cases {
            let serde_message = format!("invalid type: whatever, expected {expected}");
            let e = explain(JsonPath::root().key(key), &serde_message, &root);
            assert_eq!(e.message, message);
            assert_eq!(e.hint.as_deref(), Some(hint));
            assert_eq!(e.remove, Some(JsonPath::root().key(key)));
        }
    }

    #[test]
    fn out_of_range_numbers_give_the_range() {
        let root = json!({"I": 3_000_000_000_u64});
        let e = explain(
            JsonPath::root().key("I"),
            "invalid value: integer `3000000000`, expected i32",
            &root,
        );
        assert_eq!(
            e.message,
            "`3000000000` is out of range for a whole number (32-bit)"
        );
        assert_eq!(
            e.hint.as_deref(),
            Some("write a whole number from -2147483648 to 2147483647")
        );
    }

    #[test]
    fn errors_in_array_elements_drop_the_whole_array() {
        let root = json!({"L": [[1]]});
        let e = explain(
            JsonPath::root().key("L").index(0).index(0),
            "invalid type: integer `1`, expected a string",
            &root,
        );
        assert_eq!(e.remove, Some(JsonPath::root().key("L")));
        let e = explain(
            JsonPath::root().index(0),
            "invalid type: integer `1`, expected a string",
            &root,
        );
        assert_eq!(e.remove, None);
    }
}
