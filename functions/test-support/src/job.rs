//! A scripted world for a CodePipeline job handler: CodePipeline's result calls recorded through
//! aws-smithy-mocks, and an S3 that answers GetObject over a fake HTTP client, so the request's
//! signature shows which credentials read the artifact.

use std::collections::HashMap;
use std::future::Future;
use std::io::{Cursor, Write};
use std::sync::{Arc, Mutex};

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_codepipeline::operation::put_job_failure_result::PutJobFailureResultOutput;
use aws_sdk_codepipeline::operation::put_job_success_result::{
    PutJobSuccessResultError, PutJobSuccessResultOutput,
};
use aws_sdk_codepipeline::types::FailureType;
use aws_sdk_codepipeline::types::error::OutputVariablesSizeExceededException;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_types::body::SdkBody;
use lambda_runtime::{Context, LambdaEvent};
use pipeline_core::{ArtifactStore, Job, JobError, Outcome, run_job};
use serde_json::Value;

/// A zip archive holding `files` (path, text).
pub fn zip_of(files: &[(&str, &str)]) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, text) in files {
        let started = out.start_file(*name, zip::write::SimpleFileOptions::default());
        assert!(started.is_ok(), "zip entry {name}");
        assert!(out.write_all(text.as_bytes()).is_ok());
    }
    out.finish().map(Cursor::into_inner).unwrap_or_default()
}

/// An artifact store whose S3 answers every request with `status` and `body`, recording the
/// Authorization headers it saw. The function's own credentials are `Credentials::for_tests()`.
pub fn scripted_artifacts(status: u16, body: Vec<u8>) -> (ArtifactStore, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let http = aws_smithy_http_client::test_util::infallible_client_fn(move |req| {
        let auth = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        record
            .lock()
            .map(|mut seen| seen.push(auth))
            .unwrap_or_default();
        let mut response = http::Response::new(SdkBody::from(body.clone()));
        *response.status_mut() =
            http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        response
            .headers_mut()
            .insert("content-length", body.len().into());
        response
    });
    let base = aws_config::SdkConfig::builder()
        .region(aws_config::Region::new(crate::REGION))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .credentials_provider(SharedCredentialsProvider::new(Credentials::for_tests()))
        .http_client(http)
        .build();
    (ArtifactStore::new(&base), seen)
}

/// An S3 error document, as S3 sends it.
pub fn s3_error(code: &str) -> Vec<u8> {
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{code} message</Message></Error>")
        .into_bytes()
}

/// A job result CodePipeline received.
#[derive(Debug, Clone, PartialEq)]
pub enum Reported {
    Success {
        variables: HashMap<String, String>,
        summary: Option<String>,
        token: Option<String>,
        percent: Option<i32>,
    },
    Failure {
        kind: FailureType,
        message: String,
    },
}

/// CodePipeline's side of a job: records every result reported.
pub struct Results {
    success: Rule,
    failure: Rule,
    seen: Arc<Mutex<Vec<Reported>>>,
}

impl Default for Results {
    fn default() -> Self {
        Self::new()
    }
}

impl Results {
    pub fn new() -> Self {
        Self::answering(true)
    }

    /// CodePipeline refusing every success (OutputVariablesSizeExceededException, as for
    /// variables too large); the refused success is still recorded.
    pub fn refusing_success() -> Self {
        Self::answering(false)
    }

    fn answering(accept_success: bool) -> Self {
        let seen: Arc<Mutex<Vec<Reported>>> = Arc::default();
        let s = Arc::clone(&seen);
        let answered =
            mock!(aws_sdk_codepipeline::Client::put_job_success_result).match_requests(move |r| {
                let details = r.execution_details();
                let reported = Reported::Success {
                    variables: r.output_variables().cloned().unwrap_or_default(),
                    summary: details.and_then(|d| d.summary().map(str::to_owned)),
                    token: r.continuation_token().map(str::to_owned),
                    percent: details.and_then(|d| d.percent_complete()),
                };
                s.lock().map(|mut seen| seen.push(reported)).is_ok()
            });
        let success = if accept_success {
            answered.then_output(|| PutJobSuccessResultOutput::builder().build())
        } else {
            answered.then_error(|| {
                PutJobSuccessResultError::OutputVariablesSizeExceededException(
                    OutputVariablesSizeExceededException::builder()
                        .message("refused by the test")
                        .build(),
                )
            })
        };
        let f = Arc::clone(&seen);
        let failure = mock!(aws_sdk_codepipeline::Client::put_job_failure_result)
            .match_requests(move |r| {
                let (kind, message) = r
                    .failure_details()
                    .map(|d| (d.r#type().clone(), d.message().to_owned()))
                    .unwrap_or((FailureType::JobFailed, String::new()));
                f.lock()
                    .map(|mut seen| seen.push(Reported::Failure { kind, message }))
                    .is_ok()
            })
            .then_output(|| PutJobFailureResultOutput::builder().build());
        Results {
            success,
            failure,
            seen,
        }
    }

    pub fn client(&self) -> aws_sdk_codepipeline::Client {
        mock_client!(
            aws_sdk_codepipeline,
            RuleMode::MatchAny,
            [&self.success, &self.failure]
        )
    }

    /// Every result reported, in order.
    pub fn all(&self) -> Vec<Reported> {
        self.seen
            .lock()
            .map(|seen| seen.clone())
            .unwrap_or_default()
    }

    /// The one result reported; fails the test unless there was exactly one.
    pub fn only(&self) -> Reported {
        let all = self.all();
        assert_eq!(
            all.len(),
            1,
            "expected exactly one job result, got {all:#?}"
        );
        all[0].clone()
    }

    pub fn only_failure(&self) -> (FailureType, String) {
        match self.only() {
            Reported::Failure { kind, message } => (kind, message),
            other => panic!("expected a failure, got {other:#?}"),
        }
    }

    /// The variables and summary of the one success reported without a token.
    pub fn only_done(&self) -> (HashMap<String, String>, String) {
        match self.only() {
            Reported::Success {
                variables,
                summary,
                token: None,
                ..
            } => (variables, summary.unwrap_or_default()),
            other => panic!("expected a finished action, got {other:#?}"),
        }
    }

    /// The token, summary and percent of the one in-progress result reported.
    pub fn only_in_progress(&self) -> (String, String, Option<i32>) {
        match self.only() {
            Reported::Success {
                token: Some(token),
                summary,
                percent,
                variables,
            } => {
                assert!(variables.is_empty(), "no variables with a token");
                (token, summary.unwrap_or_default(), percent)
            }
            other => panic!("expected an in-progress result, got {other:#?}"),
        }
    }
}

/// Runs `handler` for `event` through the job protocol and returns what CodePipeline received.
pub async fn run<F, Fut>(event: Value, handler: F) -> Results
where
    F: FnOnce(Job) -> Fut,
    Fut: Future<Output = Result<Outcome, JobError>>,
{
    run_against(Results::new(), event, handler).await
}

/// [`run`] against the CodePipeline of `results` (e.g. [`Results::refusing_success`]).
pub async fn run_against<F, Fut>(results: Results, event: Value, handler: F) -> Results
where
    F: FnOnce(Job) -> Fut,
    Fut: Future<Output = Result<Outcome, JobError>>,
{
    let codepipeline = results.client();
    let ran = run_job(
        LambdaEvent::new(event, Context::default()),
        &codepipeline,
        handler,
    )
    .await;
    assert!(ran.is_ok(), "the invocation itself failed: {ran:?}");
    results
}

/// The UserParameters of a job event, parsed.
pub fn user_parameters(event: &Value) -> Value {
    let raw =
        event["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]["UserParameters"]
            .as_str()
            .unwrap_or("{}");
    serde_json::from_str(raw).unwrap_or_default()
}

pub fn set_user_parameters(event: &mut Value, params: &Value) {
    event["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]["UserParameters"] =
        Value::from(params.to_string());
}

/// For corpus tests: what is wrong with `results` for the corpus file `case`, which must have
/// ended in exactly one failure of `kind` whose message names `file` and contains every needle.
pub fn corpus_problems(
    results: &Results,
    case: &str,
    kind: FailureType,
    file: &str,
    needles: &[&str],
) -> Vec<String> {
    let all = results.all();
    let [Reported::Failure { kind: got, message }] = all.as_slice() else {
        return vec![format!("{case}: expected one failure, got {all:?}")];
    };
    let mut problems = Vec::new();
    if *got != kind {
        problems.push(format!("{case}: kind {got:?}: {message}"));
    }
    if !message.contains(file) {
        problems.push(format!("{case}: message does not name {file}: {message}"));
    }
    problems.extend(
        needles
            .iter()
            .filter(|n| !message.contains(*n))
            .map(|n| format!("{case}: message lacks {n:?}: {message}")),
    );
    problems
}
