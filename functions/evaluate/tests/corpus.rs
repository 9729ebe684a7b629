//! A corpus of malformed evaluation.json files: each ends in exactly one failure result that
//! names the problem, before any SageMaker call.

use std::path::Path;

use aws_sdk_codepipeline::types::FailureType;
use aws_sdk_sagemaker::Client as SageMaker;
use aws_sdk_sagemaker::operation::describe_training_job::DescribeTrainingJobOutput;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use serde_json::Value;
use test_support::job::{scripted_artifacts, zip_of};

const CASES: &[(&str, &[&str])] = &[
    ("01-empty-file", &["empty"]),
    ("02-not-json", &[":1:"]),
    ("03-top-level-array", &["object"]),
    ("04-no-conditions-field", &["Conditions"]),
    ("05-empty-conditions", &["no Conditions"]),
    ("06-unknown-operator", &["Conditions[0].Operator", "=>"]),
    ("07-threshold-as-string", &["Conditions[0].Threshold"]),
    ("08-camel-case-key", &["metric", "`Metric`"]),
    ("09-unknown-field", &["Approver"]),
    ("10-unknown-source", &["Conditions[0].Source", "Validation"]),
    ("11-negative-tolerance", &["Regression[0].Tolerance"]),
    ("12-unknown-direction", &["Regression[0].Direction", "Up"]),
    ("13-missing-threshold", &["Threshold"]),
    ("14-empty-metric-name", &["Conditions[0].Metric", "empty"]),
    ("15-conditions-not-a-list", &["Conditions"]),
    ("16-empty-content-types", &["Inference.ContentTypes"]),
    ("17-duplicate-key", &["duplicate"]),
    ("18-huge-threshold", &["1:67", "number out of range"]),
    ("19-environment-number", &["Inference.Environment.THREADS"]),
    ("20-regression-missing-direction", &["Direction"]),
];

#[tokio::test]
async fn every_malformed_gate_fails_once_with_its_reason() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(Path::parent)
        .unwrap();
    let dir = root.join("functions/evaluate/tests/corpus/evaluation");
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        CASES.len(),
        "every corpus file needs an expectation"
    );
    assert!(CASES.len() >= 15);
    let event: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("events/evaluate/tuned-candidate.json")).unwrap(),
    )
    .unwrap();

    let mut problems = Vec::new();
    for (file, expected) in CASES {
        let gate = std::fs::read_to_string(dir.join(format!("{file}.json"))).unwrap();
        let describe = mock!(SageMaker::describe_training_job).then_output(|| {
            DescribeTrainingJobOutput::builder()
                .training_job_name("c")
                .build()
        });
        let sagemaker = mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, [&describe]);
        let (store, _) =
            scripted_artifacts(200, zip_of(&[("configuration/evaluation.json", &gate)]));
        let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, []);
        let results = test_support::job::run(event.clone(), |job| {
            evaluate::handle(job, &sagemaker, &s3, &store)
        })
        .await;
        problems.extend(test_support::job::corpus_problems(
            &results,
            file,
            FailureType::ConfigurationError,
            "configuration/evaluation.json",
            expected,
        ));
        if describe.num_calls() != 0 {
            problems.push(format!("{file}: SageMaker was called"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
