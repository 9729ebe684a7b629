//! The one error type a handler returns: what a person reads in the CodePipeline console.

use std::fmt;

/// CodePipeline's `FailureType`, which the console shows beside the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The work itself failed (a training job failed, a gate was not met).
    JobFailed,
    /// The model repository or the pipeline is configured wrongly: the user must change a file.
    ConfigurationError,
    /// A credential or a policy does not allow what was needed.
    PermissionError,
    /// The source revision cannot be read.
    RevisionUnavailable,
    /// An AWS service did not answer or answered with an error of its own.
    SystemUnavailable,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::JobFailed => "JobFailed",
            FailureKind::ConfigurationError => "ConfigurationError",
            FailureKind::PermissionError => "PermissionError",
            FailureKind::RevisionUnavailable => "RevisionUnavailable",
            FailureKind::SystemUnavailable => "SystemUnavailable",
        }
    }
}

/// A failure of the job, with a message written for the person who reads the pipeline console.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct JobError {
    pub kind: FailureKind,
    pub message: String,
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl JobError {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        JobError {
            kind,
            message: message.into(),
        }
    }
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(FailureKind::ConfigurationError, message)
    }
    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(FailureKind::JobFailed, message)
    }
    pub fn permission(message: impl Into<String>) -> Self {
        Self::new(FailureKind::PermissionError, message)
    }
    pub fn system(message: impl Into<String>) -> Self {
        Self::new(FailureKind::SystemUnavailable, message)
    }
    pub fn revision(message: impl Into<String>) -> Self {
        Self::new(FailureKind::RevisionUnavailable, message)
    }
}
