//! The YAML document as a small tree with line numbers, built from `saphyr-parser` events.
//!
//! CloudFormation's short-form tags become their long form while the tree is built
//! (`!Sub x` is `{"Fn::Sub": x}`, `!Ref x` is `{"Ref": x}`, `!Condition x` is
//! `{"Condition": x}`), so the resolver sees one shape only. Scalars keep their source text
//! and whether they were quoted: CloudFormation turns every scalar into a string, and only
//! JSON-typed places (an EventPattern) need the YAML type of a plain scalar.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span, Tag};

/// Deepest nesting of collections accepted (CloudFormation templates are shallow; the limit
/// keeps every recursive walk of the tree far from the stack's end).
pub(crate) const MAX_DEPTH: usize = 100;
/// Most nodes that aliases (`*anchor`) may copy in one document (a "billion laughs" guard).
const ALIAS_BUDGET: usize = 100_000;

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Node {
    /// 1-based line of the node's start.
    pub line: usize,
    pub kind: Kind,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Kind {
    /// A scalar's text; `quoted` for any non-plain style (and `!!str`): always a string.
    Scalar {
        text: String,
        quoted: bool,
    },
    Seq(Vec<Node>),
    /// Keys in document order, unique.
    Map(Vec<(String, Node)>),
    /// A tag this crate does not know (any handle but `!` and `!!`), kept to be reported
    /// only if the node is ever needed.
    Tagged(String, Box<Node>),
}

impl Node {
    #[cfg(test)]
    pub(crate) fn scalar(line: usize, text: &str, quoted: bool) -> Node {
        Node {
            line,
            kind: Kind::Scalar {
                text: text.to_string(),
                quoted,
            },
        }
    }

    pub(crate) fn as_map(&self) -> Option<&[(String, Node)]> {
        match &self.kind {
            Kind::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub(crate) fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            Kind::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The text of a scalar (quoted or not).
    pub(crate) fn as_scalar(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The value of `key` in a mapping.
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, value)| value)
    }

    /// A plain scalar that YAML reads as null (`~`, `null`, or nothing at all).
    pub(crate) fn is_null(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { text, quoted: false } if is_null_text(text))
    }

    /// `Some((function name, argument))` when the node is a CloudFormation intrinsic function:
    /// a mapping of exactly one key that is `Ref` or starts with `Fn::`.
    pub(crate) fn intrinsic(&self) -> Option<(&str, &Node)> {
        match self.as_map()? {
            [(key, value)] if key == "Ref" || key.starts_with("Fn::") => Some((key, value)),
            _ => None,
        }
    }

    /// What the node is, for messages ("a list", "a mapping", "Fn::Sub", ...).
    pub(crate) fn describe(&self) -> String {
        if let Some((name, _)) = self.intrinsic() {
            return name.to_string();
        }
        match &self.kind {
            Kind::Scalar { text, .. } => format!("the scalar {text:?}"),
            Kind::Seq(_) => "a list".to_string(),
            Kind::Map(_) => "a mapping".to_string(),
            Kind::Tagged(tag, _) => format!("a node tagged {tag}"),
        }
    }

    /// Number of nodes in the tree (an alias copies that many).
    fn size(&self) -> usize {
        match &self.kind {
            Kind::Scalar { .. } => 1,
            Kind::Seq(items) => 1 + items.iter().map(Node::size).sum::<usize>(),
            Kind::Map(entries) => 1 + entries.iter().map(|(_, v)| 1 + v.size()).sum::<usize>(),
            Kind::Tagged(_, inner) => 1 + inner.size(),
        }
    }
}

pub(crate) fn is_null_text(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

/// Why a YAML text is not a document this crate reads: 1-based line and column.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct YamlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl YamlError {
    fn at(span: Span, message: impl Into<String>) -> YamlError {
        YamlError {
            line: span.start.line(),
            column: span.start.col() + 1,
            message: message.into(),
        }
    }
}

impl From<ScanError> for YamlError {
    fn from(e: ScanError) -> YamlError {
        YamlError {
            line: e.marker().line(),
            column: e.marker().col() + 1,
            message: e.info().to_string(),
        }
    }
}

enum Frame {
    Seq {
        line: usize,
        anchor: usize,
        tag: Option<Tag>,
        items: Vec<Node>,
    },
    Map {
        line: usize,
        anchor: usize,
        tag: Option<Tag>,
        entries: Vec<(String, Node)>,
        keys: HashSet<String>,
        key: Option<(String, Span)>,
    },
}

/// Parses a single-document YAML text.
pub(crate) fn parse(text: &str) -> Result<Node, YamlError> {
    // saphyr-parser is fuzzed upstream, but it still carries internal `unreachable!`s: a bug
    // there becomes an error naming the template, not a crash of the local run.
    match std::panic::catch_unwind(|| parse_events(text)) {
        Ok(result) => result,
        Err(_) => Err(YamlError {
            line: 1,
            column: 1,
            message: "the YAML parser failed on this text (a parser bug); simplify the \
                      YAML around recent edits"
                .to_string(),
        }),
    }
}

fn parse_events(text: &str) -> Result<Node, YamlError> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut alias_budget = ALIAS_BUDGET;
    let mut root: Option<Node> = None;
    let mut documents = 0usize;

    while let Some(event) = parser.next_event() {
        let (event, span) = event?;
        let line = span.start.line();
        match event {
            Event::StreamStart | Event::Nothing | Event::DocumentEnd => {}
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(YamlError::at(
                        span,
                        "a second YAML document (`---`): a template is one document",
                    ));
                }
            }
            Event::Scalar(value, style, anchor, tag) => {
                let quoted = style != ScalarStyle::Plain
                    || tag
                        .as_deref()
                        .is_some_and(|t| t.is_yaml_core_schema() && t.suffix == "str");
                let node = Node {
                    line,
                    kind: Kind::Scalar {
                        text: value.into_owned(),
                        quoted,
                    },
                };
                let node = apply_tag(node, tag.map(Cow::into_owned));
                if anchor > 0 {
                    anchors.insert(anchor, node.clone());
                }
                push(&mut stack, &mut root, node, span)?;
            }
            Event::SequenceStart(anchor, tag) => {
                check_depth(&stack, span)?;
                stack.push(Frame::Seq {
                    line,
                    anchor,
                    tag: tag.map(Cow::into_owned),
                    items: Vec::new(),
                });
            }
            Event::MappingStart(anchor, tag) => {
                check_depth(&stack, span)?;
                stack.push(Frame::Map {
                    line,
                    anchor,
                    tag: tag.map(Cow::into_owned),
                    entries: Vec::new(),
                    keys: HashSet::new(),
                    key: None,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = stack.pop() else {
                    return Err(YamlError::at(span, "unbalanced collection end"));
                };
                let (node, anchor, tag) = match frame {
                    Frame::Seq {
                        line,
                        anchor,
                        tag,
                        items,
                    } => (
                        Node {
                            line,
                            kind: Kind::Seq(items),
                        },
                        anchor,
                        tag,
                    ),
                    Frame::Map {
                        line,
                        anchor,
                        tag,
                        entries,
                        key,
                        ..
                    } => {
                        if let Some((key, key_span)) = key {
                            return Err(YamlError::at(
                                key_span,
                                format!("the key {key:?} has no value"),
                            ));
                        }
                        (
                            Node {
                                line,
                                kind: Kind::Map(entries),
                            },
                            anchor,
                            tag,
                        )
                    }
                };
                let node = apply_tag(node, tag);
                if anchor > 0 {
                    anchors.insert(anchor, node.clone());
                }
                push(&mut stack, &mut root, node, span)?;
            }
            Event::Alias(id) => {
                let Some(target) = anchors.get(&id) else {
                    return Err(YamlError::at(span, "an alias (*name) of an unknown anchor"));
                };
                let size = target.size();
                if size > alias_budget {
                    return Err(YamlError::at(
                        span,
                        format!(
                            "aliases copy more than {ALIAS_BUDGET} nodes (a \"billion laughs\" \
                             document?)"
                        ),
                    ));
                }
                alias_budget -= size;
                let node = target.clone();
                push(&mut stack, &mut root, node, span)?;
            }
        }
    }
    root.ok_or(YamlError {
        line: 1,
        column: 1,
        message: "the document is empty".to_string(),
    })
}

fn check_depth(stack: &[Frame], span: Span) -> Result<(), YamlError> {
    if stack.len() >= MAX_DEPTH {
        return Err(YamlError::at(
            span,
            format!("nested more than {MAX_DEPTH} levels deep"),
        ));
    }
    Ok(())
}

/// Adds a finished node to the collection being built (or makes it the document).
fn push(
    stack: &mut [Frame],
    root: &mut Option<Node>,
    node: Node,
    span: Span,
) -> Result<(), YamlError> {
    match stack.last_mut() {
        None => {
            *root = Some(node);
            Ok(())
        }
        Some(Frame::Seq { items, .. }) => {
            items.push(node);
            Ok(())
        }
        Some(Frame::Map {
            entries, keys, key, ..
        }) => match key.take() {
            None => {
                let Kind::Scalar { text, .. } = node.kind else {
                    return Err(YamlError::at(
                        span,
                        "a mapping key that is not a plain string (a list, a mapping or a \
                         tagged value): CloudFormation keys are strings",
                    ));
                };
                if !keys.insert(text.clone()) {
                    return Err(YamlError::at(
                        span,
                        format!("the key {text:?} appears twice in this mapping"),
                    ));
                }
                *key = Some((text, span));
                Ok(())
            }
            Some((k, key_span)) => {
                // Messages point at the key: a block mapping or list starts on the next line.
                let mut node = node;
                node.line = key_span.start.line();
                entries.push((k, node));
                Ok(())
            }
        },
    }
}

/// The long form of a CloudFormation short-form tag; other tags are kept as they are.
fn apply_tag(node: Node, tag: Option<Tag>) -> Node {
    let Some(tag) = tag else { return node };
    if tag.is_yaml_core_schema() {
        // `!!str` was handled with the scalar; `!!map`, `!!int`, ... change nothing here.
        return node;
    }
    if tag.handle != "!" || tag.suffix.is_empty() {
        return Node {
            line: node.line,
            kind: Kind::Tagged(tag.to_string(), Box::new(node)),
        };
    }
    let key = match tag.suffix.as_str() {
        "Ref" | "Condition" => tag.suffix.clone(),
        other => format!("Fn::{other}"),
    };
    Node {
        line: node.line,
        kind: Kind::Map(vec![(key, node)]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: Vec<(&str, Node)>) -> Kind {
        Kind::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    #[test]
    fn short_tags_become_long_form_with_lines() {
        let doc = parse("a: !Sub x-${AWS::Region}\nb: !Ref P\nc: !GetAtt R.Arn\nd: !If [C, 1, 2]\ne: !Condition C\n")
            .unwrap();
        let a = doc.get("a").unwrap();
        assert_eq!(a.line, 1);
        assert_eq!(a.intrinsic().unwrap().0, "Fn::Sub");
        assert_eq!(
            a.intrinsic().unwrap().1.as_scalar(),
            Some("x-${AWS::Region}")
        );
        assert_eq!(doc.get("b").unwrap().intrinsic().unwrap().0, "Ref");
        assert_eq!(doc.get("b").unwrap().line, 2);
        assert_eq!(doc.get("c").unwrap().intrinsic().unwrap().0, "Fn::GetAtt");
        let (name, args) = doc.get("d").unwrap().intrinsic().unwrap();
        assert_eq!(name, "Fn::If");
        assert_eq!(args.as_seq().unwrap().len(), 3);
        assert_eq!(doc.get("e").unwrap().as_map().unwrap()[0].0, "Condition");
    }

    #[test]
    fn scalars_keep_text_and_quoting() {
        let doc = parse("a: 1.0\nb: \"1\"\nc: !!str true\nd:\ne: >-\n  x\n  y\n").unwrap();
        assert_eq!(
            doc.get("a").unwrap().kind,
            Kind::Scalar {
                text: "1.0".into(),
                quoted: false
            }
        );
        assert_eq!(
            doc.get("b").unwrap().kind,
            Kind::Scalar {
                text: "1".into(),
                quoted: true
            }
        );
        assert_eq!(
            doc.get("c").unwrap().kind,
            Kind::Scalar {
                text: "true".into(),
                quoted: true
            }
        );
        assert!(doc.get("d").unwrap().is_null());
        assert_eq!(doc.get("e").unwrap().as_scalar(), Some("x y"));
    }

    #[test]
    fn tagged_collections_and_unknown_tags() {
        let doc = parse("a: !Join\n  - \"-\"\n  - [x, y]\nb: !<tag:x> 3\nc: !e!x 4\n");
        // `!e!x` names an undeclared handle: a YAML error.
        assert!(doc.is_err());
        let doc = parse("a: !Join\n  - \"-\"\n  - [x, y]\nb: !<tag:x> 3\n").unwrap();
        assert_eq!(
            doc.get("a").unwrap().kind,
            map(vec![(
                "Fn::Join",
                Node {
                    line: 1,
                    kind: Kind::Seq(vec![
                        Node::scalar(2, "-", true),
                        Node {
                            line: 3,
                            kind: Kind::Seq(vec![
                                Node::scalar(3, "x", false),
                                Node::scalar(3, "y", false)
                            ])
                        }
                    ])
                }
            )])
        );
        assert!(matches!(doc.get("b").unwrap().kind, Kind::Tagged(_, _)));
    }

    #[test]
    fn anchors_and_aliases_copy() {
        let doc = parse("a: &x [1, 2]\nb: *x\n").unwrap();
        assert_eq!(doc.get("a").unwrap().kind, doc.get("b").unwrap().kind);
    }

    #[test]
    fn errors_have_positions() {
        let e = parse("a: 1\na: 2\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("twice"), "{e:?}");
        let e = parse("a: [1, 2\n").unwrap_err();
        assert!(e.line >= 1);
        let e = parse("").unwrap_err();
        assert!(e.message.contains("empty"));
        let e = parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert!(e.message.contains("second"), "{e:?}");
        let e = parse("? [a]\n: 1\n").unwrap_err();
        assert!(e.message.contains("key"), "{e:?}");
    }

    #[test]
    fn billion_laughs_and_deep_nesting_are_refused() {
        let mut doc = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..8 {
            let prev = if i == 0 {
                "a".to_string()
            } else {
                format!("l{}", i - 1)
            };
            doc.push_str(&format!(
                "l{i}: &l{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        let e = parse(&doc).unwrap_err();
        assert!(e.message.contains("billion"), "{e:?}");

        let deep = "[".repeat(5000) + &"]".repeat(5000);
        let e = parse(&deep).unwrap_err();
        // The parser's own limit or ours, whichever comes first.
        assert!(
            e.message.contains("nested") || e.message.contains("recursion"),
            "{e:?}"
        );
        let deep = "a:\n".to_string()
            + &(1..150)
                .map(|i| format!("{}b:\n", "  ".repeat(i)))
                .collect::<String>();
        let e = parse(&deep).unwrap_err();
        assert!(e.message.contains("nested"), "{e:?}");
    }
}
