//! A scripted world for start-training: S3 answers over a fake HTTP client (so the request's
//! signature shows which credentials were used), SageMaker and CodePipeline through
//! aws-smithy-mocks rules.

#![allow(dead_code)]

use std::io::{Cursor, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_codepipeline::operation::put_job_failure_result::PutJobFailureResultOutput;
use aws_sdk_codepipeline::operation::put_job_success_result::PutJobSuccessResultOutput;
use aws_sdk_codepipeline::types::FailureType;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_types::body::SdkBody;
use lambda_runtime::{Context, LambdaEvent};
use pipeline_core::{ArtifactStore, run_job};
use serde_json::Value;

pub const JOB_ID: &str = "a1b2c3d4-0000-4000-8000-000000000001";
pub const JOB_ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";

pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(Path::parent)
        .unwrap()
}

pub fn event(name: &str) -> Value {
    let path = repo_root()
        .join("events/start-training")
        .join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub fn user_parameters(event: &Value) -> Value {
    let raw =
        event["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]["UserParameters"]
            .as_str()
            .unwrap();
    serde_json::from_str(raw).unwrap()
}

pub fn set_user_parameters(event: &mut Value, params: &Value) {
    event["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]["UserParameters"] =
        Value::from(params.to_string());
}

pub fn zip_of(files: &[(&str, &str)]) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, text) in files {
        out.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(text.as_bytes()).unwrap();
    }
    out.finish().unwrap().into_inner()
}

pub fn sample_config() -> String {
    std::fs::read_to_string(repo_root().join("examples/model-repo/configuration/trainingjob.json"))
        .unwrap()
}

/// The model repository with `config` as its trainingjob.json.
pub fn source_with(config: &str) -> Vec<u8> {
    zip_of(&[
        ("configuration/trainingjob.json", config),
        ("src/train.py", "print('hi')\n"),
    ])
}

/// An artifact store whose S3 answers every GetObject with `status` and `body`, recording the
/// Authorization headers it saw. The function's own credentials are a different key.
pub fn artifact_store(status: u16, body: Vec<u8>) -> (ArtifactStore, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let http = aws_smithy_http_client::test_util::infallible_client_fn(move |req| {
        let auth = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        record.lock().unwrap().push(auth);
        http::Response::builder()
            .status(status)
            .header("content-length", body.len().to_string())
            .body(SdkBody::from(body.clone()))
            .unwrap()
    });
    let base = aws_config::SdkConfig::builder()
        .region(aws_config::Region::new("us-east-1"))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .credentials_provider(SharedCredentialsProvider::new(Credentials::for_tests()))
        .http_client(http)
        .build();
    (ArtifactStore::new(&base), seen)
}

pub fn s3_error(code: &str) -> Vec<u8> {
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{code} message</Message></Error>")
        .into_bytes()
}

/// The CodePipeline side: records every result reported.
pub struct Results {
    pub success: Rule,
    pub failure: Rule,
    pub seen: Arc<Mutex<Vec<Reported>>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Reported {
    Success {
        variables: std::collections::HashMap<String, String>,
        summary: Option<String>,
    },
    Failure {
        kind: FailureType,
        message: String,
    },
}

impl Results {
    pub fn new() -> Self {
        let seen: Arc<Mutex<Vec<Reported>>> = Default::default();
        let s = Arc::clone(&seen);
        let success = mock!(aws_sdk_codepipeline::Client::put_job_success_result)
            .match_requests(move |r| {
                assert_eq!(r.job_id(), Some(JOB_ID));
                s.lock().unwrap().push(Reported::Success {
                    variables: r.output_variables().cloned().unwrap_or_default(),
                    summary: r
                        .execution_details()
                        .and_then(|d| d.summary().map(str::to_owned)),
                });
                true
            })
            .then_output(|| PutJobSuccessResultOutput::builder().build());
        let f = Arc::clone(&seen);
        let failure = mock!(aws_sdk_codepipeline::Client::put_job_failure_result)
            .match_requests(move |r| {
                assert_eq!(r.job_id(), Some(JOB_ID));
                let d = r.failure_details().unwrap();
                f.lock().unwrap().push(Reported::Failure {
                    kind: d.r#type().clone(),
                    message: d.message().to_owned(),
                });
                true
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

    /// The one result reported; fails the test unless there was exactly one.
    pub fn only(&self) -> Reported {
        let seen = self.seen.lock().unwrap();
        assert_eq!(
            seen.len(),
            1,
            "expected exactly one job result, got {seen:#?}"
        );
        seen[0].clone()
    }

    pub fn only_failure(&self) -> (FailureType, String) {
        match self.only() {
            Reported::Failure { kind, message } => (kind, message),
            other => panic!("expected a failure, got {other:#?}"),
        }
    }
}

/// Runs start-training for `event` in the scripted world.
pub async fn run(
    event: Value,
    sagemaker: &aws_sdk_sagemaker::Client,
    store: &ArtifactStore,
) -> Results {
    let results = Results::new();
    let codepipeline = results.client();
    run_job(
        LambdaEvent::new(event, Context::default()),
        &codepipeline,
        |job| start_training::handle(job, sagemaker, store),
    )
    .await
    .unwrap();
    results
}

pub fn sagemaker(rules: &[&Rule]) -> aws_sdk_sagemaker::Client {
    mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, rules)
}
