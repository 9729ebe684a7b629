//! The API model's constraints, applied by the generated `check` methods.
//!
//! Each helper adds a [`Violation`] saying what SageMaker would reject and what to write instead.

use std::sync::OnceLock;

use config_file::{Diagnostic, Document, JsonPath};
use regex::Regex;

use crate::generated::PATTERNS;

/// Something SageMaker would reject, at a path of the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub path: JsonPath,
    pub message: String,
    pub hint: Option<String>,
}

impl Violation {
    pub fn new(path: JsonPath, message: impl Into<String>, hint: Option<String>) -> Self {
        Self {
            path,
            message: message.into(),
            hint,
        }
    }

    /// Located in the document's text.
    pub fn into_diagnostic(self, doc: &Document) -> Diagnostic {
        doc.diagnostic(&self.path, self.message, self.hint)
    }
}

/// Longest value quoted in a message; longer ones are cut.
const QUOTE_LIMIT: usize = 80;

fn quote(value: &str) -> String {
    if value.chars().count() <= QUOTE_LIMIT {
        format!("`{value}`")
    } else {
        let cut: String = value.chars().take(QUOTE_LIMIT).collect();
        format!("`{cut}...`")
    }
}

fn push(out: &mut Vec<Violation>, path: &JsonPath, message: String, hint: String) {
    out.push(Violation::new(path.clone(), message, Some(hint)));
}

/// String length in characters (the model counts characters, not bytes).
pub(crate) fn length(
    value: &str,
    min: Option<usize>,
    max: Option<usize>,
    path: &JsonPath,
    out: &mut Vec<Violation>,
) {
    let count = value.chars().count();
    match (min, max) {
        (Some(min), _) if count == 0 && min > 0 => push(
            out,
            path,
            "is empty".into(),
            "write a value, or leave the member out if it is optional".into(),
        ),
        (Some(min), _) if count < min => push(
            out,
            path,
            format!(
                "{} is {count} characters long; SageMaker accepts at least {min}",
                quote(value)
            ),
            format!("write at least {min} characters"),
        ),
        (_, Some(max)) if count > max => push(
            out,
            path,
            format!("the value is {count} characters long; SageMaker accepts at most {max}"),
            format!("shorten it to at most {max} characters"),
        ),
        _ => {}
    }
}

/// The compiled patterns, each built on first use; `None` where the regex crate cannot
/// compile one (a test asserts that none is).
static COMPILED: [OnceLock<Option<Regex>>; PATTERNS.len()] =
    [const { OnceLock::new() }; PATTERNS.len()];

pub(crate) fn compiled(index: usize) -> Option<&'static Regex> {
    let (_, anchored) = PATTERNS.get(index)?;
    COMPILED
        .get(index)?
        .get_or_init(|| Regex::new(anchored).ok())
        .as_ref()
}

/// The whole value must match the model's pattern, as SageMaker's own validation requires.
pub(crate) fn pattern(value: &str, index: usize, path: &JsonPath, out: &mut Vec<Violation>) {
    let (Some(regex), Some((written, _))) = (compiled(index), PATTERNS.get(index)) else {
        return;
    };
    if !regex.is_match(value) {
        push(
            out,
            path,
            format!(
                "{} does not match the pattern SageMaker requires",
                quote(value)
            ),
            format!("write a value that matches `{written}` as a whole"),
        );
    }
}

/// A value that differs from a known one only in case is a typo; any other unknown value is
/// passed on, as the API adds values (instance types) faster than the model here is updated.
pub(crate) fn enumeration(value: &str, known: &[&str], path: &JsonPath, out: &mut Vec<Violation>) {
    if known.contains(&value) {
        return;
    }
    if let Some(exact) = known.iter().find(|k| k.eq_ignore_ascii_case(value)) {
        push(
            out,
            path,
            format!("{} is not a value SageMaker knows", quote(value)),
            format!("write `{exact}` (values are case-sensitive)"),
        );
    }
}

fn bounds_hint<T: std::fmt::Display>(min: Option<T>, max: Option<T>) -> String {
    match (min, max) {
        (Some(min), Some(max)) => format!("write a number from {min} to {max}"),
        (Some(min), None) => format!("write {min} or more"),
        (None, Some(max)) => format!("write {max} or less"),
        (None, None) => "write another number".into(),
    }
}

/// Integer, long, float and double members alike.
pub(crate) fn range<T: PartialOrd + Copy + std::fmt::Display>(
    value: T,
    min: Option<T>,
    max: Option<T>,
    path: &JsonPath,
    out: &mut Vec<Violation>,
) {
    if let Some(low) = min.filter(|low| value < *low) {
        let message = format!("`{value}` is less than the minimum, {low}");
        push(out, path, message, bounds_hint(min, max));
    } else if let Some(high) = max.filter(|high| value > *high) {
        let message = format!("`{value}` is more than the maximum, {high}");
        push(out, path, message, bounds_hint(min, max));
    }
}

/// Number of list elements or map entries.
pub(crate) fn size(
    count: usize,
    min: Option<usize>,
    max: Option<usize>,
    path: &JsonPath,
    out: &mut Vec<Violation>,
) {
    let entries = |n: usize| {
        if n == 1 {
            "1 entry".to_owned()
        } else {
            format!("{n} entries")
        }
    };
    match (min, max) {
        (Some(min), _) if count < min => {
            let hint = if count == 0 {
                format!(
                    "give at least {}, or leave the member out if it is optional",
                    entries(min)
                )
            } else {
                format!("give at least {}", entries(min))
            };
            push(
                out,
                path,
                format!(
                    "has {}; SageMaker requires at least {}",
                    entries(count),
                    entries(min)
                ),
                hint,
            );
        }
        (_, Some(max)) if count > max => push(
            out,
            path,
            format!(
                "has {}; SageMaker accepts at most {}",
                entries(count),
                entries(max)
            ),
            format!("remove entries down to {max}"),
        ),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generated::SKIPPED_PATTERNS;

    fn one(f: impl FnOnce(&JsonPath, &mut Vec<Violation>)) -> Option<(String, Option<String>)> {
        let path = JsonPath::root().key("X");
        let mut out = Vec::new();
        f(&path, &mut out);
        assert!(out.len() <= 1);
        out.pop().map(|v| {
            assert_eq!(v.path, path);
            (v.message, v.hint)
        })
    }

    #[test]
    fn every_generated_pattern_compiles() {
        for (index, (written, anchored)) in PATTERNS.iter().enumerate() {
            assert!(
                compiled(index).is_some(),
                "{written} ({anchored}) does not compile"
            );
        }
    }

    /// The generator skips only patterns the regex crate really cannot compile (lookaround).
    #[test]
    fn skipped_patterns_really_need_lookaround() {
        assert!(!SKIPPED_PATTERNS.is_empty());
        for (shape, written, reason) in SKIPPED_PATTERNS {
            assert!(reason.contains("lookaround"), "{shape}: {reason}");
            assert!(
                Regex::new(&format!("^(?:{written})$")).is_err(),
                "{shape}: {written}"
            );
        }
    }

    #[test]
    fn patterns_match_whole_values() {
        let name = PATTERNS
            .iter()
            .position(|(w, _)| *w == "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}");
        let Some(name) = name else {
            panic!("the job name pattern is generated")
        };
        assert_eq!(one(|p, o| pattern("my-job-1", name, p, o)), None);
        let (message, hint) = one(|p, o| pattern("my_job", name, p, o)).unwrap_or_default();
        assert_eq!(
            message,
            "`my_job` does not match the pattern SageMaker requires"
        );
        assert_eq!(
            hint.as_deref(),
            Some("write a value that matches `[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}` as a whole")
        );
        // Unanchored, `-job` would match somewhere inside.
        assert!(one(|p, o| pattern("-job", name, p, o)).is_some());
    }

    #[test]
    fn lengths_count_characters() {
        assert_eq!(one(|p, o| length("ééé", Some(1), Some(3), p, o)), None);
        assert_eq!(
            one(|p, o| length("éééé", Some(1), Some(3), p, o)),
            Some((
                "the value is 4 characters long; SageMaker accepts at most 3".into(),
                Some("shorten it to at most 3 characters".into())
            ))
        );
        assert_eq!(
            one(|p, o| length("", Some(1), None, p, o)).map(|m| m.0),
            Some("is empty".into())
        );
        assert_eq!(
            one(|p, o| length("ab", Some(20), None, p, o)).map(|m| m.0),
            Some("`ab` is 2 characters long; SageMaker accepts at least 20".into())
        );
    }

    #[test]
    fn enum_case_typos_are_errors_and_unknown_values_pass() {
        let known = &["File", "Pipe", "FastFile"];
        assert_eq!(one(|p, o| enumeration("Pipe", known, p, o)), None);
        assert_eq!(
            one(|p, o| enumeration("fastfile", known, p, o)),
            Some((
                "`fastfile` is not a value SageMaker knows".into(),
                Some("write `FastFile` (values are case-sensitive)".into())
            ))
        );
        assert_eq!(one(|p, o| enumeration("ml.p9.future", known, p, o)), None);
    }

    #[test]
    fn ranges_and_sizes() {
        assert_eq!(
            one(|p, o| range(0, Some(1), None, p, o)),
            Some((
                "`0` is less than the minimum, 1".into(),
                Some("write 1 or more".into())
            ))
        );
        assert_eq!(
            one(|p, o| range(31, Some(1), Some(30), p, o)),
            Some((
                "`31` is more than the maximum, 30".into(),
                Some("write a number from 1 to 30".into())
            ))
        );
        assert_eq!(one(|p, o| range(30, Some(1), Some(30), p, o)), None);
        assert_eq!(
            one(|p, o| range(1.5, None, Some(1.0), p, o)).map(|m| m.1),
            Some(Some("write 1 or less".into()))
        );
        assert_eq!(
            one(|p, o| size(0, Some(1), Some(20), p, o)),
            Some((
                "has 0 entries; SageMaker requires at least 1 entry".into(),
                Some("give at least 1 entry, or leave the member out if it is optional".into())
            ))
        );
        assert_eq!(
            one(|p, o| size(21, Some(1), Some(20), p, o)).map(|m| m.0),
            Some("has 21 entries; SageMaker accepts at most 20 entries".into())
        );
    }
}
