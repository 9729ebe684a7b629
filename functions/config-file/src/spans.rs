//! Where each value and key of a document starts in the original text.
//!
//! Built from jsonc-parser's AST (strict JSON options), kept owned so a `Document` can hold it
//! next to the text; `serde_json::Value` itself has no positions.

use std::collections::HashMap;

use jsonc_parser::ast;
use jsonc_parser::common::Ranged;

use crate::path::{JsonPath, Segment};

/// Deepest nesting accepted: real configuration is a handful of levels deep, and a bound keeps
/// every recursive walk (here, in serde, in drop) far from the stack's limit.
pub(crate) const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// Byte offset where the value starts.
    pub(crate) start: usize,
    pub(crate) kind: Kind,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Object(Vec<Member>),
    Array(Vec<Node>),
    Scalar,
}

#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub(crate) key: String,
    /// Byte offset of the key's opening quote.
    pub(crate) key_start: usize,
    pub(crate) value: Node,
}

/// A problem found while indexing: a duplicate key or nesting beyond `MAX_DEPTH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Problem {
    DuplicateKey {
        path: JsonPath,
        key: String,
        at: usize,
        first: usize,
    },
    TooDeep {
        path: JsonPath,
        at: usize,
    },
}

impl Node {
    /// Indexes `value`, collecting every duplicate key and the first too-deep value.
    pub(crate) fn build(value: &ast::Value<'_>, problems: &mut Vec<Problem>) -> Node {
        let mut path = JsonPath::root();
        Self::build_at(value, &mut path, problems)
    }

    fn build_at(value: &ast::Value<'_>, path: &mut JsonPath, problems: &mut Vec<Problem>) -> Node {
        let start = value.range().start;
        if path.segments().len() >= MAX_DEPTH
            && matches!(value, ast::Value::Object(_) | ast::Value::Array(_))
        {
            if !problems
                .iter()
                .any(|p| matches!(p, Problem::TooDeep { .. }))
            {
                problems.push(Problem::TooDeep {
                    path: path.clone(),
                    at: start,
                });
            }
            return Node {
                start,
                kind: Kind::Scalar,
            };
        }
        let kind = match value {
            ast::Value::Object(object) => {
                let mut seen: HashMap<&str, usize> = HashMap::new();
                let mut members = Vec::with_capacity(object.properties.len());
                for property in &object.properties {
                    let key = property.name.as_str();
                    let key_start = property.name.range().start;
                    if let Some(&first) = seen.get(key) {
                        problems.push(Problem::DuplicateKey {
                            path: path.key(key),
                            key: key.to_owned(),
                            at: key_start,
                            first,
                        });
                    } else {
                        seen.insert(key, key_start);
                    }
                    path.push_key(key);
                    let node = Self::build_at(&property.value, path, problems);
                    path.pop();
                    members.push(Member {
                        key: key.to_owned(),
                        key_start,
                        value: node,
                    });
                }
                Kind::Object(members)
            }
            ast::Value::Array(array) => {
                let mut elements = Vec::with_capacity(array.elements.len());
                for (index, element) in array.elements.iter().enumerate() {
                    path.push_index(index);
                    elements.push(Self::build_at(element, path, problems));
                    path.pop();
                }
                Kind::Array(elements)
            }
            _ => Kind::Scalar,
        };
        Node { start, kind }
    }

    /// The member named `key` (the last one, as serde_json keeps the last duplicate).
    fn member(&self, key: &str) -> Option<&Member> {
        match &self.kind {
            Kind::Object(members) => members.iter().rev().find(|m| m.key == key),
            _ => None,
        }
    }

    fn element(&self, index: usize) -> Option<&Node> {
        match &self.kind {
            Kind::Array(elements) => elements.get(index),
            _ => None,
        }
    }

    /// Byte offset of the value at `path`, or of its nearest existing ancestor.
    pub(crate) fn value_offset(&self, path: &JsonPath) -> usize {
        let mut node = self;
        for segment in path.segments() {
            let next = match segment {
                Segment::Key(key) => self_member_value(node, key),
                Segment::Index(index) => node.element(*index),
            };
            match next {
                Some(next) => node = next,
                None => break,
            }
        }
        node.start
    }

    /// Byte offset of the key at the end of `path`, when the path ends in an existing key.
    pub(crate) fn key_offset(&self, path: &JsonPath) -> Option<usize> {
        let Some((Segment::Key(key), parent)) = path.segments().split_last() else {
            return None;
        };
        let mut node = self;
        for segment in parent {
            node = match segment {
                Segment::Key(key) => self_member_value(node, key)?,
                Segment::Index(index) => node.element(*index)?,
            };
        }
        node.member(key).map(|m| m.key_start)
    }
}

fn self_member_value<'n>(node: &'n Node, key: &str) -> Option<&'n Node> {
    node.member(key).map(|m| &m.value)
}

/// Turns byte offsets into 1-based line and column, counting columns in characters as editors do.
#[derive(Debug, Clone)]
pub(crate) struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    pub(crate) fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self { starts }
    }

    /// Line and column of `offset`, clamped into the text and onto a character boundary.
    pub(crate) fn position(&self, text: &str, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&start| start <= offset);
        let line_start = self
            .starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(0);
        let column = text
            .get(line_start..offset)
            .map_or(0, |prefix| prefix.chars().count());
        (line.max(1), column + 1)
    }

    /// Byte offset of a 1-based line and a 1-based byte column (serde_json's convention).
    pub(crate) fn offset_of(&self, text: &str, line: usize, byte_column: usize) -> usize {
        let line_start = self
            .starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(text.len());
        line_start
            .saturating_add(byte_column.saturating_sub(1))
            .min(text.len())
    }
}

#[cfg(test)]
mod tests {
    use jsonc_parser::{CollectOptions, ParseOptions, parse_to_ast};

    use super::*;

    fn index(text: &str) -> (Node, Vec<Problem>) {
        let parsed = parse_to_ast(text, &CollectOptions::default(), &ParseOptions::default());
        let Ok(parsed) = parsed else {
            panic!("test text must parse")
        };
        let Some(value) = parsed.value else {
            panic!("test text must hold a value")
        };
        let mut problems = Vec::new();
        let node = Node::build(&value, &mut problems);
        (node, problems)
    }

    #[test]
    fn locates_values_keys_and_nearest_ancestors() {
        let text = "{\n  \"A\": [\n    {\"B\": 1}\n  ]\n}";
        let (node, problems) = index(text);
        assert!(problems.is_empty());
        let lines = Lines::new(text);
        let b = JsonPath::root().key("A").index(0).key("B");
        assert_eq!(lines.position(text, node.value_offset(&b)), (3, 11));
        assert_eq!(
            node.key_offset(&b).map(|o| lines.position(text, o)),
            Some((3, 6))
        );
        let missing = JsonPath::root().key("A").index(0).key("C");
        assert_eq!(lines.position(text, node.value_offset(&missing)), (3, 5));
        assert_eq!(node.key_offset(&missing), None);
        assert_eq!(
            lines.position(text, node.value_offset(&JsonPath::root())),
            (1, 1)
        );
    }

    #[test]
    fn reports_duplicate_keys_with_both_places() {
        let text = r#"{"A": 1, "B": {"C": 1, "C": 2}, "A": 3}"#;
        let (_, problems) = index(text);
        assert_eq!(
            problems,
            vec![
                Problem::DuplicateKey {
                    path: JsonPath::root().key("B").key("C"),
                    key: "C".into(),
                    at: 23,
                    first: 15
                },
                Problem::DuplicateKey {
                    path: JsonPath::root().key("A"),
                    key: "A".into(),
                    at: 32,
                    first: 1
                },
            ]
        );
    }

    #[test]
    fn stops_at_the_depth_limit() {
        let text = format!("{}{}", "[".repeat(MAX_DEPTH + 5), "]".repeat(MAX_DEPTH + 5));
        let (_, problems) = index(&text);
        assert!(matches!(problems.as_slice(), [Problem::TooDeep { at, .. }] if *at == MAX_DEPTH));
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let text = "{\"é\": \"ü\", \"x\": 1}";
        let lines = Lines::new(text);
        let (node, _) = index(text);
        let x = JsonPath::root().key("x");
        assert_eq!(lines.position(text, node.value_offset(&x)), (1, 17));
        // Offsets inside a character or past the end are clamped, never out of the text.
        assert_eq!(lines.position(text, 3), (1, 3));
        assert_eq!(lines.position(text, 10_000), (1, 19));
        assert_eq!(lines.offset_of(text, 1, 3), 2);
        assert_eq!(lines.offset_of(text, 9, 1), text.len());
    }
}
