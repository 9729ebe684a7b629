//! The template language of `Fn::Sub`: `${Name}`, `${Resource.Attribute}`, `${AWS::Region}`,
//! and `${!Literal}`, which stays the literal text `${Literal}`.
//!
//! Only `${` starts a variable: CodePipeline's `#{Namespace.Variable}` and a lone `$` are
//! plain text.

/// One piece of a `Fn::Sub` string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part<'a> {
    Text(String),
    Var(&'a str),
}

/// Why a `Fn::Sub` string cannot be read: `offset` is the byte offset of the `${`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SubError {
    pub offset: usize,
    pub message: String,
}

/// Splits a `Fn::Sub` string into text and variables.
pub(crate) fn parse(s: &str) -> Result<Vec<Part<'_>>, SubError> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut rest = s;
    let mut offset = 0;
    while let Some(at) = rest.find("${") {
        text.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        if let Some(literal) = after.strip_prefix('!') {
            // `${!Literal}` is the text `${Literal}`: keep `${`, drop the `!`.
            text.push_str("${");
            offset += at + 3;
            rest = literal;
            continue;
        }
        let Some(end) = after.find('}') else {
            return Err(SubError {
                offset: offset + at,
                message: format!(
                    "`${{` without its closing `}}` in {:?}; write `${{!` for a literal `${{`",
                    excerpt(&rest[at..])
                ),
            });
        };
        let name = &after[..end];
        if name.trim().is_empty() {
            return Err(SubError {
                offset: offset + at,
                message: "an empty variable `${}`".to_string(),
            });
        }
        if !text.is_empty() {
            parts.push(Part::Text(std::mem::take(&mut text)));
        }
        parts.push(Part::Var(name));
        let consumed = at + 2 + end + 1;
        offset += consumed;
        rest = &rest[consumed..];
    }
    text.push_str(rest);
    if !text.is_empty() {
        parts.push(Part::Text(text));
    }
    Ok(parts)
}

/// The first characters of `s`, cut at a char boundary.
fn excerpt(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text(s: &str) -> Part<'_> {
        Part::Text(s.to_string())
    }

    #[test]
    fn variables_text_and_escapes() {
        assert_eq!(
            parse("arn:${AWS::Partition}:s3:::${Bucket}/*").unwrap(),
            vec![
                text("arn:"),
                Part::Var("AWS::Partition"),
                text(":s3:::"),
                Part::Var("Bucket"),
                text("/*"),
            ]
        );
        assert_eq!(parse("${Role.Arn}").unwrap(), vec![Part::Var("Role.Arn")]);
        assert_eq!(
            parse("a ${!Literal} b").unwrap(),
            vec![text("a ${Literal} b")]
        );
        assert_eq!(parse("${!x").unwrap(), vec![text("${x")]);
        assert_eq!(
            parse("#{SourceVariables.CommitId}-${X}").unwrap(),
            vec![text("#{SourceVariables.CommitId}-"), Part::Var("X")]
        );
        assert_eq!(
            parse("$ and $x and {y}").unwrap(),
            vec![text("$ and $x and {y}")]
        );
        assert_eq!(parse("").unwrap(), vec![]);
    }

    #[test]
    fn unclosed_and_empty_variables_are_errors() {
        let e = parse("ok ${Open").unwrap_err();
        assert_eq!(e.offset, 3);
        assert!(e.message.contains("closing"), "{e:?}");
        let e = parse("${!a} ${}").unwrap_err();
        assert_eq!(e.offset, 6);
        assert!(e.message.contains("empty"), "{e:?}");
    }

    /// Joins the parts back, writing each variable as `<name>`.
    fn render(parts: &[Part<'_>]) -> String {
        parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.clone(),
                Part::Var(v) => format!("<{v}>"),
            })
            .collect()
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = parse(&s);
        }

        #[test]
        fn never_panics_on_dollar_soup(s in "[$!{}#a.:é]{0,40}") {
            if let Ok(parts) = parse(&s) {
                // Text never holds a variable's start except as an escape's result.
                for p in &parts {
                    if let Part::Var(v) = p {
                        prop_assert!(!v.contains('}'), "variable {:?}", v);
                        prop_assert!(!v.trim().is_empty());
                    }
                }
            }
        }

        #[test]
        fn escape_stays_literal(x in "[^}$]{0,20}", before in "[a-z#{} .]{0,10}") {
            let s = format!("{before}${{!{x}}}");
            let parts = parse(&s);
            // `before` has no `$`, so the only `${` is the escape.
            prop_assert_eq!(render(&parts.unwrap()), format!("{before}${{{x}}}"));
        }

        #[test]
        fn text_without_dollar_brace_is_itself(s in "[^$]*") {
            prop_assert_eq!(render(&parse(&s).unwrap()), s);
        }
    }
}
