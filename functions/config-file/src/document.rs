//! A parsed configuration file that can point into its own text.

use jsonc_parser::common::Ranged;
use jsonc_parser::{CollectOptions, CommentCollectionStrategy, ParseOptions, parse_to_ast};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::path::{JsonPath, Segment};
use crate::serde_errors::{self, Explained};
use crate::spans::{Lines, Node, Problem};
use crate::syntax;

/// Most errors one `deserialize` reports: enough to fix a file in one go, bounded work.
const MAX_DIAGNOSTICS: usize = 50;

/// Plain JSON, nothing of JSONC or JSON5.
const STRICT_JSON: ParseOptions = ParseOptions {
    allow_comments: false,
    allow_loose_object_property_names: false,
    allow_trailing_commas: false,
    allow_missing_commas: false,
    allow_single_quoted_strings: false,
    allow_hexadecimal_numbers: false,
    allow_unary_plus_numbers: false,
    allow_bare_decimal_point_numbers: false,
    allow_non_finite_numbers: false,
    allow_extended_string_escapes: false,
};

/// A JSON configuration file: its name, its text, its value, and where each value sits in the
/// text. Diagnostics always point into the text as written, even after `value_mut` changes.
#[derive(Debug, Clone)]
pub struct Document {
    file: String,
    text: String,
    value: Value,
    spans: Node,
    lines: Lines,
}

impl Document {
    /// Parses `text`, the content of `file`. Errors: empty file, invalid JSON, duplicate keys,
    /// nesting deeper than 64 levels, a top level that is not an object; all reported at once
    /// where the JSON itself is valid.
    pub fn parse(file: &str, text: &str) -> Result<Document, Diagnostics> {
        // Editors hide a byte order mark, so columns are counted after it.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let lines = Lines::new(text);
        let at = |offset: usize, path: JsonPath, message: String, hint: Option<String>| {
            let (line, column) = lines.position(text, offset);
            Diagnostic {
                file: file.to_owned(),
                path,
                line,
                column,
                message,
                hint,
            }
        };
        if text.trim().is_empty() {
            return Err(at(
                text.len(),
                JsonPath::root(),
                "the file is empty".into(),
                Some("write a JSON object: `{\"Key\": value, ...}`".into()),
            )
            .into());
        }
        let value = match serde_json::from_str::<Value>(text) {
            Ok(value) => value,
            Err(error) => {
                let offset = lines.offset_of(text, error.line(), error.column());
                let found = text.get(offset..).and_then(|rest| rest.chars().next());
                let problem = syntax::explain(&error, found);
                return Err(at(offset, JsonPath::root(), problem.message, problem.hint).into());
            }
        };
        let collect = CollectOptions {
            comments: CommentCollectionStrategy::Off,
            tokens: false,
        };
        // serde_json accepted the text; this strict parse only adds positions.
        let ast = match parse_to_ast(text, &collect, &STRICT_JSON) {
            Ok(parsed) => parsed.value,
            Err(error) => {
                let message = format!("invalid JSON: {}", error.kind());
                return Err(at(error.range().start, JsonPath::root(), message, None).into());
            }
        };
        let Some(ast) = ast else {
            return Err(at(
                0,
                JsonPath::root(),
                "the file holds no JSON value".into(),
                None,
            )
            .into());
        };
        let mut problems = Vec::new();
        let spans = Node::build(&ast, &mut problems);
        let mut diagnostics: Vec<Diagnostic> = Vec::new();
        if !value.is_object() {
            diagnostics.push(at(
                ast.range().start,
                JsonPath::root(),
                format!("the top level is {}, not an object", kind_of(&value)),
                Some("write the whole file as one JSON object: `{\"Key\": value, ...}`".into()),
            ));
        }
        for problem in problems {
            diagnostics.push(match problem {
                Problem::DuplicateKey {
                    path,
                    key,
                    at: offset,
                    first,
                } => {
                    let (line, column) = lines.position(text, first);
                    at(
                        offset,
                        path,
                        format!("duplicate key `{key}` (first at line {line}, column {column})"),
                        Some("keep one of them: which one counts differs between programs".into()),
                    )
                }
                Problem::TooDeep { path, at: offset } => at(
                    offset,
                    path,
                    format!(
                        "the JSON is nested more than {} levels deep",
                        crate::spans::MAX_DEPTH
                    ),
                    Some("flatten it: a configuration file is a few levels deep".into()),
                ),
            });
        }
        if !diagnostics.is_empty() {
            return Err(Diagnostics(diagnostics));
        }
        Ok(Document {
            file: file.to_owned(),
            text: text.to_owned(),
            value,
            spans,
            lines,
        })
    }

    pub fn file(&self) -> &str {
        &self.file
    }

    /// The text as written (without a byte order mark).
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn value(&self) -> &Value {
        &self.value
    }

    /// For filling placeholders before `deserialize`; positions still refer to the text.
    pub fn value_mut(&mut self) -> &mut Value {
        &mut self.value
    }

    /// Deserializes the current value. On failure reports every error it can reach (unknown
    /// fields, wrong types, then a missing field), each at its place in the text.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, Diagnostics> {
        // Each error is explained, its member dropped from a scratch copy, and the rest tried
        // again: serde itself stops at the first error.
        let mut scratch = self.value.clone();
        let mut removed: Vec<JsonPath> = Vec::new();
        let mut diagnostics = Vec::new();
        while diagnostics.len() < MAX_DIAGNOSTICS {
            let error = match serde_path_to_error::deserialize::<_, T>(&scratch) {
                Ok(value) if diagnostics.is_empty() => return Ok(value),
                Ok(_) => break,
                Err(error) => error,
            };
            let path = to_json_path(error.path());
            let explained = serde_errors::explain(path, &error.inner().to_string(), &scratch);
            if explained
                .missing
                .as_ref()
                .is_some_and(|missing| removed.contains(missing))
            {
                // Missing only because we removed its wrong value: already reported.
                break;
            }
            let remove = explained.remove.clone();
            diagnostics.push(self.explained(explained));
            match remove {
                Some(path) if remove_member(&mut scratch, &path) => removed.push(path),
                _ => break,
            }
        }
        let mut diagnostics = Diagnostics(diagnostics);
        diagnostics.sort();
        Err(diagnostics)
    }

    /// A diagnostic at the value at `path`, or at its nearest existing ancestor when the path is
    /// absent (a missing member points at the object that should hold it).
    pub fn diagnostic(
        &self,
        path: &JsonPath,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> Diagnostic {
        self.at(self.spans.value_offset(path), path, message.into(), hint)
    }

    /// A diagnostic at the key that ends `path` (an unknown or misspelt key), else as `diagnostic`.
    pub fn key_diagnostic(
        &self,
        path: &JsonPath,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> Diagnostic {
        let offset = self
            .spans
            .key_offset(path)
            .unwrap_or_else(|| self.spans.value_offset(path));
        self.at(offset, path, message.into(), hint)
    }

    fn explained(&self, explained: Explained) -> Diagnostic {
        if explained.at_key {
            self.key_diagnostic(&explained.path, explained.message, explained.hint)
        } else {
            self.diagnostic(&explained.path, explained.message, explained.hint)
        }
    }

    fn at(
        &self,
        offset: usize,
        path: &JsonPath,
        message: String,
        hint: Option<String>,
    ) -> Diagnostic {
        let (line, column) = self.lines.position(&self.text, offset);
        Diagnostic {
            file: self.file.clone(),
            path: path.clone(),
            line,
            column,
            message,
            hint,
        }
    }
}

fn to_json_path(path: &serde_path_to_error::Path) -> JsonPath {
    path.iter()
        .filter_map(|segment| match segment {
            serde_path_to_error::Segment::Seq { index } => Some(Segment::Index(*index)),
            serde_path_to_error::Segment::Map { key } => Some(Segment::Key(key.clone())),
            serde_path_to_error::Segment::Enum { variant } => Some(Segment::Key(variant.clone())),
            serde_path_to_error::Segment::Unknown => None,
        })
        .collect()
}

/// Removes the member at `path` (which ends in a key); false when there is none.
fn remove_member(root: &mut Value, path: &JsonPath) -> bool {
    let Some(Segment::Key(key)) = path.last() else {
        return false;
    };
    path.parent()
        .lookup_mut(root)
        .and_then(Value::as_object_mut)
        .is_some_and(|object| object.remove(key).is_some())
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
