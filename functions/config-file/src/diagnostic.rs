//! What went wrong, where, and what to write instead.

use std::fmt;

use crate::path::JsonPath;

/// One problem in a file, located by JSON path and by 1-based line and column (in characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Diagnostic {
    pub file: String,
    pub path: JsonPath,
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub hint: Option<String>,
}

/// Prints like rustc, one paragraph:
/// `configuration/trainingjob.json:12:9: at InputDataConfig[0].channelName: unknown field
/// `channelName`. Hint: write `ChannelName` (keys are case-sensitive).`
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sentence = |text: &str| text.trim().trim_end_matches('.').to_owned();
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        // Messages about the top level or the text itself say so; no path to print there.
        if !self.path.is_root() {
            write!(f, "at {}: ", self.path)?;
        }
        write!(f, "{}.", sentence(&self.message))?;
        if let Some(hint) = &self.hint {
            write!(f, " Hint: {}.", sentence(hint))?;
        }
        Ok(())
    }
}

/// Every problem found in a file; never empty when returned as an error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Orders by position in the file, the order a person fixes them in.
    pub fn sort(&mut self) {
        self.0.sort_by_key(|d| (d.line, d.column));
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(diagnostic: Diagnostic) -> Self {
        Self(vec![diagnostic])
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, diagnostic) in self.0.iter().enumerate() {
            if position > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{diagnostic}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diagnostic(path: JsonPath, hint: Option<&str>) -> Diagnostic {
        Diagnostic {
            file: "configuration/trainingjob.json".into(),
            path,
            line: 12,
            column: 9,
            message: "unknown field `channelName`".into(),
            hint: hint.map(str::to_owned),
        }
    }

    #[test]
    fn prints_like_rustc_with_path_and_hint() {
        let path = JsonPath::root()
            .key("InputDataConfig")
            .index(0)
            .key("channelName");
        let d = diagnostic(path, Some("write `ChannelName` (keys are case-sensitive)"));
        assert_eq!(
            d.to_string(),
            "configuration/trainingjob.json:12:9: at InputDataConfig[0].channelName: unknown \
             field `channelName`. Hint: write `ChannelName` (keys are case-sensitive)."
        );
    }

    #[test]
    fn prints_no_path_for_the_root_and_no_double_periods() {
        let mut d = diagnostic(JsonPath::root(), Some("remove it."));
        d.message = "the file is empty.".into();
        assert_eq!(
            d.to_string(),
            "configuration/trainingjob.json:12:9: the file is empty. Hint: remove it."
        );
        d.hint = None;
        assert!(d.to_string().ends_with("the file is empty."));
    }

    #[test]
    fn joins_several_and_sorts_by_position() {
        let mut first = diagnostic(JsonPath::root(), None);
        first.line = 3;
        let second = diagnostic(JsonPath::root(), None);
        let mut all = Diagnostics(vec![second.clone(), first.clone()]);
        all.sort();
        assert_eq!(all.0, vec![first.clone(), second.clone()]);
        assert_eq!(all.to_string(), format!("{first}\n{second}"));
    }
}
