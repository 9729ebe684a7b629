//! A function process as Lambda runs it: `pipeline-core-test-function` (the production logging,
//! `lambda_runtime::run` and `run_job`) behind lambda-host's Runtime API, its S3 and CodePipeline
//! a local endpoint over real HTTP. Every wait is bounded.

mod support;

use std::io::{Cursor, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use lambda_host::{FunctionSpec, HostError, LambdaHost};
use serde_json::{Value, json};
use support::FakeAws;

const STEP: Duration = Duration::from_secs(60);
const BUCKET: &str = "codepipeline-artifacts";
const KEY: &str = "sagemaker-cicd/SourceOutp/source.zip";

// Recognisable fake secrets: the job's artifact credentials and the function's own.
const ACCESS_KEY_ID: &str = "ASIAJOBARTIFACTKEY01";
const SECRET_ACCESS_KEY: &str = "job-secret-3f9c2a7e-never-logged";
const SESSION_TOKEN: &str = "job-session-token-5b1d8e4c-never-logged";
const OWN_SECRET_ACCESS_KEY: &str = "function-secret-8e2b6f1a-never-logged";
const OWN_SESSION_TOKEN: &str = "function-session-token-c7d3a9e0-never-logged";

fn source_zip() -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    zip.start_file(
        "configuration/settings.json",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    zip.write_all(b"{\"threshold\": 0.9}").unwrap();
    zip.finish().unwrap().into_inner()
}

fn job_event(job_id: &str, user_parameters: &str) -> Value {
    json!({
        "CodePipeline.job": {
            "id": job_id,
            "accountId": "111111111111",
            "data": {
                "actionConfiguration": {"configuration": {
                    "FunctionName": "TestFunction",
                    "UserParameters": user_parameters
                }},
                "inputArtifacts": [{
                    "name": "SourceOutput",
                    "revision": null,
                    "location": {"type": "S3", "s3Location": {"bucketName": BUCKET, "objectKey": KEY}}
                }],
                "outputArtifacts": [],
                "artifactCredentials": {
                    "accessKeyId": ACCESS_KEY_ID,
                    "secretAccessKey": SECRET_ACCESS_KEY,
                    "sessionToken": SESSION_TOKEN
                }
            }
        }
    })
}

async fn start(aws: &FakeAws, logging: &[(&str, &str)]) -> LambdaHost {
    let mut env: Vec<(String, String)> = [
        ("AWS_ENDPOINT_URL", aws.endpoint_url().as_str()),
        ("AWS_ACCESS_KEY_ID", "ASIAFUNCTIONROLEKEY1"),
        ("AWS_SECRET_ACCESS_KEY", OWN_SECRET_ACCESS_KEY),
        ("AWS_SESSION_TOKEN", OWN_SESSION_TOKEN),
    ]
    .iter()
    .chain(logging)
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    env.sort();
    let spec = FunctionSpec {
        binary: PathBuf::from(env!("CARGO_BIN_EXE_pipeline-core-test-function")),
        name: "TestFunction".into(),
        env,
        timeout: Duration::from_secs(30),
        memory_mb: 256,
    };
    tokio::time::timeout(STEP, LambdaHost::start(spec))
        .await
        .expect("the host starts in time")
        .expect("the host starts")
}

/// TRACE asked for every way there is: `RUST_LOG`, per crate, and `AWS_LAMBDA_LOG_LEVEL` with
/// Lambda's JSON format.
#[tokio::test]
async fn no_log_level_prints_the_credentials() {
    for logging in [
        &[("RUST_LOG", "trace")][..],
        &[(
            "RUST_LOG",
            "lambda_runtime=trace,aws_smithy_runtime=trace,aws_sigv4=trace,pipeline_core=trace",
        )][..],
        &[
            ("AWS_LAMBDA_LOG_LEVEL", "TRACE"),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ][..],
    ] {
        let aws = FakeAws::start();
        aws.put_object(BUCKET, KEY, source_zip());
        let host = start(&aws, logging).await;
        let job_id = "a1b2c3d4-0000-4000-8000-000000000001";
        let invocation = tokio::time::timeout(STEP, host.invoke(job_event(job_id, "{}")))
            .await
            .expect("the invocation ends in time")
            .expect("the invocation completes");
        let logs = host.logs();
        assert!(invocation.response.is_ok(), "{invocation:?}\n{logs}");
        let (operation, _) = aws
            .result_of(job_id, Duration::from_secs(5))
            .unwrap_or_else(|| panic!("no result for the job\n{logs}"));
        assert_eq!(operation, "PutJobSuccessResult", "{logs}");

        // The secrets did go over the wire: the artifact was read with the job's token, the
        // result sent with the function's.
        let requests = aws.requests();
        let tokens: Vec<&str> = requests
            .iter()
            .filter_map(|r| r.headers.get("x-amz-security-token").map(String::as_str))
            .collect();
        assert!(tokens.contains(&SESSION_TOKEN), "{tokens:?}");
        assert!(tokens.contains(&OWN_SESSION_TOKEN), "{tokens:?}");

        // TRACE is on (pipeline-core's own trace lines show) ...
        assert!(
            logs.contains("TRACE") && logs.contains("read the job from its event"),
            "{logging:?}: no trace line, the test would prove nothing:\n{logs}"
        );
        // ... and no line shows a secret.
        for secret in [
            ACCESS_KEY_ID,
            SECRET_ACCESS_KEY,
            SESSION_TOKEN,
            OWN_SECRET_ACCESS_KEY,
            OWN_SESSION_TOKEN,
        ] {
            let leaks: Vec<String> = logs
                .lines()
                .filter_map(|line| {
                    let at = line.find(secret)?;
                    let from = line.floor_char_boundary(at.saturating_sub(300));
                    Some(format!("...{}", &line[from..at + secret.len()]))
                })
                .collect();
            assert!(
                leaks.is_empty(),
                "{logging:?}: {secret} is in the logs:\n{}",
                leaks.join("\n")
            );
        }
    }
}

/// The first invocation leaves a pooled connection to CodePipeline in the process; the second
/// panics, and the process aborts as the release build does. The failure must be reported
/// before it ends.
#[tokio::test]
async fn a_panic_in_a_warm_function_is_reported_before_the_process_aborts() {
    let aws = FakeAws::start();
    aws.put_object(BUCKET, KEY, source_zip());
    let host = start(&aws, &[("RUST_LOG", "info")]).await;

    let warm = "a1b2c3d4-0000-4000-8000-000000000002";
    let first = tokio::time::timeout(STEP, host.invoke(job_event(warm, "{}")))
        .await
        .expect("the invocation ends in time")
        .expect("the invocation completes");
    assert!(first.response.is_ok(), "{first:?}\n{}", host.logs());
    assert_eq!(
        aws.result_of(warm, Duration::from_secs(5)).map(|r| r.0),
        Some("PutJobSuccessResult".to_owned())
    );

    let panicking = "a1b2c3d4-0000-4000-8000-000000000003";
    let started = Instant::now();
    let second = tokio::time::timeout(STEP, host.invoke(job_event(panicking, "panic")))
        .await
        .expect("the invocation ends in time");
    let took = started.elapsed();
    let logs = host.logs();
    assert!(
        matches!(second, Err(HostError::Exited { .. })),
        "the process aborts: {second:?}"
    );
    let (operation, body) = aws
        .result_of(panicking, Duration::from_secs(1))
        .unwrap_or_else(|| panic!("the panic was not reported (after {took:?}):\n{logs}"));
    assert_eq!(operation, "PutJobFailureResult");
    let message = body["failureDetails"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        message.starts_with("the function panicked at ") && message.contains("test_function.rs"),
        "{message}"
    );
    assert!(took < Duration::from_secs(4), "the report took {took:?}");
}
