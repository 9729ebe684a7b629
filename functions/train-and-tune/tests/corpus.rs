//! A corpus of malformed tuning.json files: each ends in exactly one failure result naming the
//! problem, after the training job completed, and no tuning job is created.

use std::path::Path;

use aws_sdk_codepipeline::types::FailureType;
use aws_sdk_sagemaker::Client as SageMaker;
use aws_sdk_sagemaker::operation::create_hyper_parameter_tuning_job::CreateHyperParameterTuningJobOutput;
use aws_sdk_sagemaker::operation::describe_training_job::DescribeTrainingJobOutput;
use aws_sdk_sagemaker::types::{ModelArtifacts, TrainingJobStatus};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use serde_json::Value;
use test_support::job::{scripted_artifacts, zip_of};

/// Each file of tests/corpus/tuning and what its failure message must mention.
const CASES: &[(&str, &[&str])] = &[
    ("01-empty-file", &["empty"]),
    ("02-not-json", &[":1:"]),
    ("03-top-level-array", &["object"]),
    (
        "04-wrong-case-top-level",
        &[
            "HyperparameterTuningJobConfig",
            "HyperParameterTuningJobConfig",
        ],
    ),
    ("05-camel-case-key", &["strategy", "Strategy"]),
    ("06-missing-strategy", &["Strategy"]),
    ("07-strategy-wrong-case", &["bayesian", "Bayesian"]),
    (
        "08-objective-not-emitted",
        &["validation:auc", "`validation:accuracy`"],
    ),
    (
        "09-missing-objective",
        &["HyperParameterTuningJobObjective"],
    ),
    (
        "10-parallel-above-total",
        &["MaxParallelTrainingJobs", "MaxNumberOfTrainingJobs"],
    ),
    (
        "11-zero-parallel",
        &["ResourceLimits.MaxParallelTrainingJobs"],
    ),
    (
        "12-min-above-max",
        &["IntegerParameterRanges[0].MinValue", "above MaxValue"],
    ),
    (
        "13-integer-not-whole",
        &["IntegerParameterRanges[0].MinValue", "whole number"],
    ),
    (
        "14-continuous-not-a-number",
        &["ContinuousParameterRanges[0].MaxValue"],
    ),
    (
        "15-logarithmic-from-zero",
        &["ContinuousParameterRanges[0].ScalingType", "above 0"],
    ),
    (
        "16-reverse-log-on-integer",
        &["IntegerParameterRanges[0].ScalingType", "continuous"],
    ),
    (
        "17-duplicate-range-name",
        &["`max_depth` has more than one range"],
    ),
    (
        "18-categorical-no-values",
        &["CategoricalParameterRanges[0].Values"],
    ),
    ("19-categorical-twice", &["`kernel` lists a value twice"]),
    ("20-grid-with-total", &["Grid", "MaxNumberOfTrainingJobs"]),
    (
        "21-grid-with-integer-range",
        &["Grid", "IntegerParameterRanges"],
    ),
    (
        "22-hyperband-with-early-stopping",
        &["TrainingJobEarlyStoppingType", "Off"],
    ),
    (
        "23-hyperband-config-on-bayesian",
        &["StrategyConfig", "Bayesian"],
    ),
    ("24-no-ranges", &["nothing to tune"]),
    (
        "25-runtime-beyond-window",
        &["ResourceLimits.MaxRuntimeInSeconds", "24 hours"],
    ),
    ("26-unknown-placeholder", &["${Owner}"]),
    ("27-unknown-field-in-override", &["InstanceSize"]),
    ("28-ranges-not-a-list", &["IntegerParameterRanges"]),
    ("29-duplicate-key", &["duplicate"]),
    (
        "30-number-not-string",
        &["IntegerParameterRanges[0].MinValue", "\"2\""],
    ),
];

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(Path::parent)
        .unwrap()
}

#[tokio::test]
async fn every_malformed_tuning_file_fails_once_with_its_reason_and_no_tuning_job() {
    let dir = repo_root().join("functions/train-and-tune/tests/corpus/tuning");
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        CASES.len(),
        "every corpus file needs an expectation"
    );
    assert!(CASES.len() >= 20);
    let event: Value = serde_json::from_str(
        &std::fs::read_to_string(
            repo_root().join("events/train-and-tune/training-in-progress.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let training = std::fs::read_to_string(
        repo_root().join("examples/model-repo/configuration/trainingjob.json"),
    )
    .unwrap();

    let mut problems = Vec::new();
    for (file, expected) in CASES {
        let tuning = std::fs::read_to_string(dir.join(format!("{file}.json"))).unwrap();
        let describe = mock!(SageMaker::describe_training_job).then_output(|| {
            DescribeTrainingJobOutput::builder()
                .training_job_name("t")
                .training_job_status(TrainingJobStatus::Completed)
                .model_artifacts(
                    ModelArtifacts::builder()
                        .s3_model_artifacts("s3://b/m.tar.gz")
                        .build(),
                )
                .build()
        });
        let create = mock!(SageMaker::create_hyper_parameter_tuning_job).then_output(|| {
            CreateHyperParameterTuningJobOutput::builder()
                .hyper_parameter_tuning_job_arn("arn")
                .build()
        });
        let sagemaker = mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, [&describe, &create]);
        let source = zip_of(&[
            ("configuration/trainingjob.json", &training),
            ("configuration/tuning.json", &tuning),
        ]);
        let (store, _) = scripted_artifacts(200, source);
        let results = test_support::job::run(event.clone(), |job| {
            train_and_tune::handle(job, &sagemaker, &store, std::time::SystemTime::now())
        })
        .await;
        problems.extend(test_support::job::corpus_problems(
            &results,
            file,
            FailureType::ConfigurationError,
            "configuration/tuning.json",
            expected,
        ));
        if create.num_calls() != 0 {
            problems.push(format!("{file}: a tuning job was created"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
