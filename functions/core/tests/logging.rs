//! What the logs of a job show: the job id and the execution id on every line, never the event
//! or its credentials.

use std::io::Write;
use std::sync::{Arc, Mutex};

use aws_sdk_codepipeline::Client;
use aws_sdk_codepipeline::operation::put_job_failure_result::PutJobFailureResultOutput;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use lambda_runtime::{Context, LambdaEvent};
use pipeline_core::run::record_execution_id;
use pipeline_core::{JobError, run_job};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn lines_carry_ids_and_never_credentials() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    // The JSON format the Lambda subscriber uses when AWS_LAMBDA_LOG_FORMAT=JSON.
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let failure = mock!(Client::put_job_failure_result)
        .then_output(|| PutJobFailureResultOutput::builder().build());
    let client = mock_client!(aws_sdk_codepipeline, RuleMode::MatchAny, [&failure]);
    let event: serde_json::Value = serde_json::from_str(include_str!(
        "fixtures/codepipeline-job-event.aws-sample.json"
    ))
    .unwrap();
    run_job(
        LambdaEvent::new(event, Context::default()),
        &client,
        |job| async move {
            record_execution_id("3137f7cb-8b1f-4f2b-a6a5-2f1e9e6f0b5e");
            tracing::info!(artifacts = job.input_artifacts.len(), "working");
            Err::<pipeline_core::Outcome, _>(JobError::config("bad config"))
        },
    )
    .await
    .unwrap();

    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() >= 2, "{text}");
    for line in &lines {
        let span = &line["span"];
        assert_eq!(
            span["job_id"], "11111111-abcd-1111-abcd-111111abcdef",
            "{line}"
        );
        assert_eq!(
            span["execution_id"], "3137f7cb-8b1f-4f2b-a6a5-2f1e9e6f0b5e",
            "{line}"
        );
    }
    for secret in [
        "wJalrXUtnFEMI",
        "AKIAIOSFODNN7EXAMPLE",
        "MIICiTCCAfICCQD6m7oRw0uXOjAN",
        "some-input-such-as-a-URL",
    ] {
        assert!(
            !text.contains(secret),
            "{secret} leaked into the logs:\n{text}"
        );
    }
}

/// Every function binary installs `pipeline_core::logging::init`, the subscriber that keeps
/// other crates' TRACE and DEBUG (the raw event, signed requests) out of the logs; the test
/// tests/function_process.rs shows what that subscriber prints.
#[test]
fn every_function_installs_the_pipeline_subscriber() {
    let functions = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(&functions).unwrap().flatten() {
        let main = entry.path().join("src/main.rs");
        let Ok(source) = std::fs::read_to_string(&main) else {
            continue;
        };
        if !source.contains("lambda_runtime::run(") {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(
            source.contains("pipeline_core::logging::init()")
                && !source.contains("init_default_subscriber"),
            "{name}/src/main.rs must call pipeline_core::logging::init(), not \
             lambda_runtime's init_default_subscriber (it logs raw events at TRACE)"
        );
        checked.push(name);
    }
    checked.sort();
    assert_eq!(
        checked,
        [
            "deploy",
            "evaluate",
            "notify",
            "start-training",
            "train-and-tune"
        ],
        "the functions with a Lambda main"
    );
}
