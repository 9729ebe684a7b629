//! A corpus of malformed and hostile trainingjob.json files: each ends in exactly one failure
//! result that names the problem, and SageMaker is never called.

mod support;

use aws_sdk_codepipeline::types::FailureType;
use aws_sdk_sagemaker::operation::create_training_job::CreateTrainingJobOutput;
use aws_smithy_mocks::mock;
use support::*;

/// Each file of tests/corpus/trainingjob and what its failure message must mention.
const CASES: &[(&str, &[&str])] = &[
    ("01-empty-file", &["empty"]),
    ("02-not-json", &[":1:"]),
    ("03-trailing-comma", &["trailing comma"]),
    ("04-top-level-array", &["object"]),
    (
        "05-misspelled-field",
        &["TrainingJobNmae", "TrainingJobName"],
    ),
    ("06-camel-case-key", &["roleArn", "write `RoleArn`"]),
    (
        "07-snake-case-key",
        &["hyper_parameters", "HyperParameters"],
    ),
    (
        "08-unknown-nested-field",
        &["ResourceConfig", "InstanceSize"],
    ),
    ("09-wrong-type-count", &["ResourceConfig.InstanceCount"]),
    (
        "10-hyperparameter-number",
        &["HyperParameters.max_depth", "\"5\""],
    ),
    (
        "11-hyperparameter-bool",
        &["HyperParameters.early_stopping", "\"true\""],
    ),
    ("12-missing-algorithm", &["AlgorithmSpecification"]),
    ("13-missing-role", &["RoleArn"]),
    ("14-no-channels", &["InputDataConfig"]),
    (
        "15-duplicate-channel",
        &["InputDataConfig[1].ChannelName", "train"],
    ),
    ("16-s3-uri-not-s3", &["S3Uri", "s3://"]),
    ("17-spot-without-max-wait", &["MaxWaitTimeInSeconds"]),
    ("18-spot-max-wait-too-short", &["MaxWaitTimeInSeconds"]),
    (
        "19-runtime-beyond-28-days",
        &["StoppingCondition.MaxRuntimeInSeconds"],
    ),
    (
        "20-runtime-beyond-action-window",
        &["StoppingCondition.MaxRuntimeInSeconds", "24 hours"],
    ),
    (
        "21-unknown-placeholder",
        &["OutputDataConfig.S3OutputPath", "${ModelBucket}"],
    ),
    ("22-unclosed-placeholder", &["RoleArn", "never closed"]),
    ("23-duplicate-key", &["RoleArn", "duplicate"]),
    ("24-zero-instances", &["ResourceConfig.InstanceCount"]),
    ("25-negative-volume", &["ResourceConfig.VolumeSizeInGB"]),
    ("26-enum-wrong-case", &["TrainingInputMode", "File"]),
    ("27-deep-nesting", &["nest"]),
    (
        "28-image-and-algorithm",
        &["AlgorithmName", "TrainingImage"],
    ),
    (
        "29-neither-image-nor-algorithm",
        &["AlgorithmName", "TrainingImage"],
    ),
    ("30-too-many-tags", &["Tags", "50"]),
    ("31-huge-string", &["RoleArn"]),
    ("32-number-overflow", &["ResourceConfig.InstanceCount"]),
    ("33-null-required", &["RoleArn"]),
    ("34-environment-number", &["Environment.THREADS"]),
    ("35-channels-not-a-list", &["InputDataConfig"]),
];

#[tokio::test]
async fn every_hostile_file_fails_once_with_its_reason_and_no_sagemaker_call() {
    let dir = repo_root().join("functions/start-training/tests/corpus/trainingjob");
    let on_disk = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(
        on_disk,
        CASES.len(),
        "every corpus file needs an expectation"
    );
    assert!(CASES.len() >= 25);

    let mut problems = Vec::new();
    for (file, expected) in CASES {
        let config = std::fs::read_to_string(dir.join(format!("{file}.json"))).unwrap();
        let create = mock!(aws_sdk_sagemaker::Client::create_training_job).then_output(|| {
            CreateTrainingJobOutput::builder()
                .training_job_arn("arn")
                .build()
        });
        let sagemaker = sagemaker(&[&create]);
        let (store, _) = artifact_store(200, source_with(&config));
        let results = run(event("malformed-config"), &sagemaker, &store).await;
        problems.extend(test_support::job::corpus_problems(
            &results,
            file,
            FailureType::ConfigurationError,
            "configuration/trainingjob.json",
            expected,
        ));
        if create.num_calls() != 0 {
            problems.push(format!("{file}: SageMaker was called"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
