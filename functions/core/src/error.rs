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

/// An AWS API error as a person can act on it. `fix` says what to change when the service
/// refused the request itself (a ValidationException).
pub fn aws_error<E>(
    operation: &str,
    err: &aws_sdk_codepipeline::error::SdkError<E>,
    fix: &str,
) -> JobError
where
    E: aws_sdk_codepipeline::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_sdk_codepipeline::error::ProvideErrorMetadata;
    let detail = err
        .message()
        .map(str::to_owned)
        .unwrap_or_else(|| aws_sdk_codepipeline::error::DisplayErrorContext(err).to_string());
    match err.code() {
        // SageMaker answers a Describe of an unknown job with a ValidationException.
        Some("ValidationException") if detail.to_lowercase().contains("not found") => {
            JobError::failed(format!(
                "{operation}: {detail} It does not exist in this account and region (any more)."
            ))
        }
        Some("ValidationException") => {
            JobError::config(format!("{operation} was refused: {detail}. {fix}"))
        }
        Some("AccessDeniedException" | "AccessDenied") => JobError::permission(format!(
            "the function is not allowed to call {operation}: {detail}. Check the function's policy in template.yaml"
        )),
        Some("ResourceLimitExceeded") => JobError::failed(format!(
            "quota reached ({operation}): {detail}. Request a quota increase or wait for running jobs"
        )),
        Some("ResourceNotFound") => JobError::failed(format!("{operation}: {detail}")),
        _ => JobError::system(format!("{operation} failed: {detail}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_codepipeline::error::{ErrorMetadata, SdkError};
    use aws_sdk_codepipeline::operation::get_pipeline::GetPipelineError;

    fn err(code: &str) -> SdkError<GetPipelineError> {
        let meta = ErrorMetadata::builder()
            .code(code)
            .message("the detail")
            .build();
        SdkError::service_error(
            GetPipelineError::generic(meta),
            aws_smithy_runtime_api_response(),
        )
    }

    fn aws_smithy_runtime_api_response() -> aws_sdk_codepipeline::config::http::HttpResponse {
        aws_sdk_codepipeline::config::http::HttpResponse::new(
            400u16.try_into().unwrap(),
            aws_smithy_types::body::SdkBody::empty(),
        )
    }

    #[test]
    fn aws_errors_become_actionable_failures() {
        let e = aws_error(
            "CreateTrainingJob",
            &err("ValidationException"),
            "Fix configuration/trainingjob.json",
        );
        assert_eq!(e.kind, FailureKind::ConfigurationError);
        assert_eq!(
            e.message,
            "CreateTrainingJob was refused: the detail. Fix configuration/trainingjob.json"
        );
        assert_eq!(
            aws_error("X", &err("AccessDeniedException"), "").kind,
            FailureKind::PermissionError
        );
        assert_eq!(
            aws_error("X", &err("ResourceLimitExceeded"), "").kind,
            FailureKind::JobFailed
        );
        assert_eq!(
            aws_error("X", &err("InternalFailure"), "").kind,
            FailureKind::SystemUnavailable
        );
        let meta = ErrorMetadata::builder()
            .code("ValidationException")
            .message("Requested resource not found.")
            .build();
        let missing = SdkError::service_error(
            GetPipelineError::generic(meta),
            aws_smithy_runtime_api_response(),
        );
        let e = aws_error("DescribeTrainingJob", &missing, "Fix it");
        assert_eq!(e.kind, FailureKind::JobFailed);
        assert!(e.message.contains("does not exist"), "{e}");
    }
}
