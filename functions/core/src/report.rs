//! Sends a job's one result to CodePipeline.

use aws_sdk_codepipeline::Client;
use aws_sdk_codepipeline::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_codepipeline::types::{ExecutionDetails, FailureDetails, FailureType};

use crate::limits::{FAILURE_MESSAGE_MAX, truncate};
use crate::{FailureKind, JobError, Outcome};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// CodePipeline refused or could not be reached; the message says why.
    #[error("could not report the job result to CodePipeline: {0}")]
    Api(String),
    /// The job already has a result (e.g. a duplicate delivery of an event that was reported).
    #[error("the job already has a result: {0}")]
    AlreadyReported(String),
}

fn api_error<E>(
    err: aws_sdk_codepipeline::error::SdkError<E>,
    invalid_state: impl Fn(&E) -> bool,
) -> ReportError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    if err.as_service_error().is_some_and(invalid_state) {
        ReportError::AlreadyReported(err.message().unwrap_or("invalid job state").to_owned())
    } else {
        ReportError::Api(DisplayErrorContext(&err).to_string())
    }
}

/// Reports success or progress. `outcome` must come from [`Outcome::checked`].
pub async fn put_outcome(
    client: &Client,
    job_id: &str,
    outcome: Outcome,
) -> Result<(), ReportError> {
    let request = client.put_job_success_result().job_id(job_id);
    let request = match outcome {
        Outcome::Succeeded { variables, summary } => request
            .set_output_variables((!variables.is_empty()).then(|| variables.into_iter().collect()))
            .set_execution_details(summary.map(|s| ExecutionDetails::builder().summary(s).build())),
        Outcome::InProgress {
            token,
            summary,
            percent,
            ..
        } => request.continuation_token(token).set_execution_details(
            (summary.is_some() || percent.is_some()).then(|| {
                ExecutionDetails::builder()
                    .set_summary(summary)
                    .set_percent_complete(percent.map(i32::from))
                    .build()
            }),
        ),
    };
    request
        .send()
        .await
        .map(drop)
        .map_err(|e| api_error(e, |e| e.is_invalid_job_state_exception()))
}

/// Reports a failure, its message cut to CodePipeline's 5000-character limit.
pub async fn put_failure(
    client: &Client,
    job_id: &str,
    error: &JobError,
) -> Result<(), ReportError> {
    let message = if error.message.trim().is_empty() {
        "the action failed without a message"
    } else {
        &error.message
    };
    let details = FailureDetails::builder()
        .r#type(failure_type(error.kind))
        .message(truncate(message, FAILURE_MESSAGE_MAX))
        .build()
        .map_err(|e| ReportError::Api(e.to_string()))?;
    client
        .put_job_failure_result()
        .job_id(job_id)
        .failure_details(details)
        .send()
        .await
        .map(drop)
        .map_err(|e| api_error(e, |e| e.is_invalid_job_state_exception()))
}

fn failure_type(kind: FailureKind) -> FailureType {
    match kind {
        FailureKind::JobFailed => FailureType::JobFailed,
        FailureKind::ConfigurationError => FailureType::ConfigurationError,
        FailureKind::PermissionError => FailureType::PermissionError,
        FailureKind::RevisionUnavailable => FailureType::RevisionUnavailable,
        FailureKind::SystemUnavailable => FailureType::SystemUnavailable,
    }
}
