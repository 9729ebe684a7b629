//! What can go wrong reading or resolving a template, said so that a person can fix it.

use std::fmt;
use std::path::PathBuf;

/// Where in the template: the file, the path inside it
/// (`Resources.Pipeline.Properties.Stages[2].Actions[0].Configuration.UserParameters`) and
/// the line when it is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    pub path: String,
    pub line: Option<usize>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        Ok(())
    }
}

/// Every error of this crate. The `Display` text is the whole message: where, what, and what
/// to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StackError {
    /// The template file cannot be read.
    #[error("cannot read the template {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The text is not YAML this crate reads (syntax, duplicate keys, several documents, ...).
    #[error("{}:{line}:{column}: not a valid YAML template: {message}", file.display())]
    Yaml {
        file: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },

    /// The template's structure, or something in it that cannot be resolved.
    #[error("{location}: {message}")]
    Template {
        location: Box<Location>,
        message: String,
    },

    /// An override names no parameter of the template.
    #[error(
        "{}: the template has no parameter {name:?}{}; its parameters are: {}",
        file.display(),
        suggestion.as_ref().map(|s| format!(" (did you mean {s}?)")).unwrap_or_default(),
        known.join(", ")
    )]
    UnknownParameter {
        file: PathBuf,
        name: String,
        suggestion: Option<String>,
        known: Vec<String>,
    },

    /// Parameters without a default that were given no value.
    #[error(
        "{}: {} no default value and no value was given: pass {}",
        file.display(),
        match names.as_slice() {
            [one] => format!("the parameter {one} has"),
            many => format!("the parameters {} have", many.join(", ")),
        },
        names.iter().map(|n| format!("{n}=<value>")).collect::<Vec<_>>().join(" ")
    )]
    MissingParameters { file: PathBuf, names: Vec<String> },

    /// A parameter's value (given or default) breaks the parameter's constraints.
    #[error("{location}: parameter {name} = {value:?}: {reason}")]
    InvalidParameter {
        location: Box<Location>,
        name: String,
        value: String,
        reason: String,
    },

    /// The stack name, region or account id given to [`crate::Template::resolve`].
    #[error("invalid stack input: {0}")]
    Inputs(String),

    /// The machine could not run the resolution (no thread), or a bug in this crate.
    #[error("{0}")]
    Internal(String),
}

impl StackError {
    pub(crate) fn template(
        file: &std::path::Path,
        path: impl Into<String>,
        line: Option<usize>,
        message: impl Into<String>,
    ) -> StackError {
        StackError::Template {
            location: Box::new(Location {
                file: file.to_path_buf(),
                path: path.into(),
                line,
            }),
            message: message.into(),
        }
    }
}
