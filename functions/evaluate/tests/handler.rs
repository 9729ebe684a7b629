//! evaluate against scripted SageMaker, S3 and CodePipeline: every verdict ends in exactly one
//! job result, and a passing model is registered once.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use aws_sdk_codepipeline::types::FailureType;
use aws_sdk_sagemaker::Client as SageMaker;
use aws_sdk_sagemaker::config::Region;
use aws_sdk_sagemaker::error::ErrorMetadata;
use aws_sdk_sagemaker::operation::create_model_package::{
    CreateModelPackageInput, CreateModelPackageOutput,
};
use aws_sdk_sagemaker::operation::create_model_package_group::CreateModelPackageGroupOutput;
use aws_sdk_sagemaker::operation::describe_model_package::DescribeModelPackageOutput;
use aws_sdk_sagemaker::operation::describe_model_package_group::{
    DescribeModelPackageGroupError, DescribeModelPackageGroupOutput,
};
use aws_sdk_sagemaker::operation::describe_training_job::DescribeTrainingJobOutput;
use aws_sdk_sagemaker::operation::list_model_packages::ListModelPackagesOutput;
use aws_sdk_sagemaker::operation::update_model_package::UpdateModelPackageOutput;
use aws_sdk_sagemaker::types::{
    AlgorithmSpecification, MetricData, ModelApprovalStatus, ModelArtifacts, ModelPackageSummary,
    TrainingInputMode,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use serde_json::Value;
use test_support::job::{Reported, Results, scripted_artifacts, zip_of};

const PACKAGE: &str = "arn:aws:sagemaker:us-east-1:123456789012:model-package/sagemaker-cicd-example-org-churn-model/3";
const APPROVED: &str = "arn:aws:sagemaker:us-east-1:123456789012:model-package/sagemaker-cicd-example-org-churn-model/2";
const IMAGE: &str =
    "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3";
/// The candidate's model, as its training job reports it.
const ARTIFACTS: &str = "s3://sagemaker-cicd-artifacts/models/sagemaker-cicd-9f2c1e4-5d41402a-004-0f1e2d3c/output/model.tar.gz";
/// The commit's code, as the Build action uploaded it and the training job ran it.
const SOURCE_DIR: &str = "s3://sagemaker-cicd-artifacts/source/9f2c1e4d0b7a5c3e1f2a4b6c8d0e1f2a3b4c5d6e/sourcedir.tar.gz";

const GATE: &str = r#"{
  "Conditions": [
    {"Metric": "test:accuracy", "Operator": ">=", "Threshold": 0.9},
    {"Metric": "validation:accuracy", "Source": "Objective", "Operator": ">=", "Threshold": 0.9}
  ],
  "Regression": [{"Metric": "test:accuracy", "Direction": "HigherIsBetter", "Tolerance": 0.01}],
  "Inference": {"Environment": {"SAGEMAKER_PROGRAM": "inference.py"}}
}"#;

fn event(name: &str) -> Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(Path::parent)
        .unwrap();
    serde_json::from_str(
        &std::fs::read_to_string(root.join("events/evaluate").join(format!("{name}.json")))
            .unwrap(),
    )
    .unwrap()
}

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// `event` with one key of its UserParameters set, as the template's parameters would set it.
fn with_parameter(mut event: Value, key: &str, value: Value) -> Value {
    let configuration =
        &mut event["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"];
    let mut parameters: Value =
        serde_json::from_str(configuration["UserParameters"].as_str().unwrap()).unwrap();
    parameters[key] = value;
    configuration["UserParameters"] = Value::String(parameters.to_string());
    event
}

/// A script-mode candidate: its code in `sagemaker_submit_directory`, as trainingjob.json passes it.
fn candidate(test_accuracy: f32) -> Rule {
    candidate_with(
        test_accuracy,
        &[
            ("sagemaker_program", "train.py"),
            ("sagemaker_submit_directory", SOURCE_DIR),
            ("max_depth", "5"),
        ],
    )
}

fn candidate_with(test_accuracy: f32, hyperparameters: &[(&str, &str)]) -> Rule {
    let hyperparameters: HashMap<String, String> = hyperparameters
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    mock!(SageMaker::describe_training_job).then_output(move || {
        DescribeTrainingJobOutput::builder()
            .training_job_name("candidate")
            .algorithm_specification(
                AlgorithmSpecification::builder()
                    .training_image(IMAGE)
                    .training_input_mode(TrainingInputMode::File)
                    .build(),
            )
            .set_hyper_parameters(Some(hyperparameters.clone()))
            .model_artifacts(
                ModelArtifacts::builder()
                    .s3_model_artifacts(ARTIFACTS)
                    .build(),
            )
            .final_metric_data_list(
                MetricData::builder()
                    .metric_name("test:accuracy")
                    .value(test_accuracy)
                    .build(),
            )
            .final_metric_data_list(
                MetricData::builder()
                    .metric_name("train:accuracy")
                    .value(0.99)
                    .build(),
            )
            .build()
    })
}

fn approved_with(test_accuracy: Option<&'static str>) -> (Rule, Rule) {
    let list = mock!(SageMaker::list_model_packages)
        .match_requests(|r| {
            r.model_approval_status() == Some(&ModelApprovalStatus::Approved)
                && r.max_results() == Some(1)
        })
        .then_output(move || {
            let mut out = ListModelPackagesOutput::builder();
            if test_accuracy.is_some() {
                out = out.model_package_summary_list(
                    ModelPackageSummary::builder()
                        .model_package_arn(APPROVED)
                        .build(),
                );
            }
            out.build()
        });
    let describe = mock!(SageMaker::describe_model_package).then_output(move || {
        DescribeModelPackageOutput::builder()
            .model_package_arn(APPROVED)
            .customer_metadata_properties("metric:test:accuracy", test_accuracy.unwrap_or("0"))
            .build()
    });
    (list, describe)
}

type Created = Arc<Mutex<Vec<CreateModelPackageInput>>>;

struct Registry {
    group: Rule,
    create_group: Rule,
    create: Rule,
    created: Created,
}

fn registry(group_exists: bool) -> Registry {
    let group = if group_exists {
        mock!(SageMaker::describe_model_package_group)
            .then_output(|| DescribeModelPackageGroupOutput::builder().build())
    } else {
        mock!(SageMaker::describe_model_package_group).then_error(|| {
            DescribeModelPackageGroupError::generic(
                ErrorMetadata::builder()
                    .code("ValidationException")
                    .message("ModelPackageGroup does not exist.")
                    .build(),
            )
        })
    };
    let create_group = mock!(SageMaker::create_model_package_group)
        .match_requests(|r| {
            r.model_package_group_name() == Some("sagemaker-cicd-example-org-churn-model")
        })
        .then_output(|| CreateModelPackageGroupOutput::builder().build());
    let created = Created::default();
    let seen = Arc::clone(&created);
    let create = mock!(SageMaker::create_model_package)
        .match_requests(move |r| {
            seen.lock().unwrap().push(r.clone());
            true
        })
        .then_output(|| {
            CreateModelPackageOutput::builder()
                .model_package_arn(PACKAGE)
                .build()
        });
    Registry {
        group,
        create_group,
        create,
        created,
    }
}

/// The SHA-256 S3 reports of the promoted copy (base64), and as the package records it (hex).
const COPY_SHA256: &str = "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=";
const COPY_SHA256_HEX: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const PROMOTED: &str = "s3://sagemaker-cicd-artifacts/promoted/sagemaker-cicd-example-org-churn-model/sagemaker-cicd-9f2c1e4-5d41402a-004-0f1e2d3c/model.tar.gz";

/// An S3 that copies the candidate's model from models/ to promoted/ and reports its SHA-256.
fn s3_promoting() -> (aws_sdk_s3::Client, Rule) {
    let copy = mock!(aws_sdk_s3::Client::copy_object)
        .match_requests(|r| {
            r.bucket() == Some("sagemaker-cicd-artifacts")
                && r.key().is_some_and(|k| {
                    k.starts_with("promoted/sagemaker-cicd-example-org-churn-model/")
                })
                && r.copy_source()
                    .is_some_and(|s| s.starts_with("sagemaker-cicd-artifacts/models/"))
                && r.checksum_algorithm() == Some(&aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
        })
        .then_output(|| {
            aws_sdk_s3::operation::copy_object::CopyObjectOutput::builder()
                .copy_object_result(
                    aws_sdk_s3::types::CopyObjectResult::builder()
                        .checksum_sha256(COPY_SHA256)
                        .build(),
                )
                .build()
        });
    let client = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&copy]);
    (client, copy)
}

async fn invoke(event: Value, gate: Option<&str>, rules: &[&Rule]) -> Results {
    invoke_in("us-east-1", event, gate, rules).await
}

/// `invoke` with the function's SDK configuration in `region`.
async fn invoke_in(
    region: &'static str,
    event: Value,
    gate: Option<&str>,
    rules: &[&Rule],
) -> Results {
    let sagemaker = mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, rules, |conf| conf
        .region(Region::new(region)));
    let mut files = vec![("configuration/trainingjob.json", "{}")];
    if let Some(gate) = gate {
        files.push(("configuration/evaluation.json", gate));
    }
    let (store, _) = scripted_artifacts(200, zip_of(&files));
    let (s3, _) = s3_promoting();
    test_support::job::run(event, |job| evaluate::handle(job, &sagemaker, &s3, &store)).await
}

#[tokio::test]
async fn a_passing_model_is_registered_with_its_metrics_and_lineage() {
    let c = candidate(0.945);
    let (list, describe) = approved_with(Some("0.95"));
    let r = registry(true);
    let results = invoke(
        event("tuned-candidate"),
        Some(GATE),
        &[&c, &list, &describe, &r.group, &r.create_group, &r.create],
    )
    .await;
    let (variables, summary) = results.only_done();
    assert_eq!(variables["Verdict"], "Passed");
    assert_eq!(variables["ModelPackageArn"], PACKAGE);
    assert!(
        variables["MetricsSummary"]
            .starts_with("test:accuracy=0.9450 >= 0.9000 pass; validation:accuracy=0.9530"),
        "{}",
        variables["MetricsSummary"]
    );
    assert!(
        summary.contains("Passed (Approved) against") && summary.contains("Metric "),
        "{summary}"
    );
    assert_eq!(r.create_group.num_calls(), 0);

    let created = r.created.lock().unwrap();
    assert_eq!(created.len(), 1);
    let input = &created[0];
    assert_eq!(
        input.model_approval_status(),
        Some(&ModelApprovalStatus::Approved)
    );
    let container = &input.inference_specification().unwrap().containers()[0];
    assert_eq!(container.image(), Some(IMAGE));
    // The promoted copy, which training jobs cannot write, not what the training job wrote.
    assert_eq!(container.model_data_url(), Some(PROMOTED));
    assert_eq!(variables["ModelDataUrl"], PROMOTED);
    // Script mode: the framework container gets the commit's code, which model.tar.gz lacks.
    assert_eq!(
        container.environment(),
        Some(&env(&[
            ("SAGEMAKER_PROGRAM", "inference.py"),
            ("SAGEMAKER_SUBMIT_DIRECTORY", SOURCE_DIR),
            ("SAGEMAKER_REGION", "us-east-1"),
            ("SAGEMAKER_CONTAINER_LOG_LEVEL", "20"),
        ]))
    );
    let meta = input.customer_metadata_properties().unwrap();
    // Recorded as it reads (SageMaker's 32-bit 0.945), not widened to 0.9449999928474426.
    assert_eq!(meta["metric:test:accuracy"], "0.945");
    assert_eq!(meta["metric:validation:accuracy"], "0.953");
    assert_eq!(
        meta["pipeline:commit"],
        "9f2c1e4d0b7a5c3e1f2a4b6c8d0e1f2a3b4c5d6e"
    );
    assert_eq!(
        meta["pipeline:training-job"],
        "sagemaker-cicd-9f2c1e4-5d41402a-004-0f1e2d3c"
    );
    assert_eq!(meta["pipeline:model-sha256"], COPY_SHA256_HEX);
    assert_eq!(meta["pipeline:model-trained"], ARTIFACTS);
}

/// Model data written outside the bucket's models/ is not promoted (nor registered).
#[tokio::test]
async fn model_data_outside_the_trained_models_is_not_promoted() {
    let c = mock!(SageMaker::describe_training_job).then_output(|| {
        DescribeTrainingJobOutput::builder()
            .algorithm_specification(
                AlgorithmSpecification::builder()
                    .training_image(IMAGE)
                    .training_input_mode(TrainingInputMode::File)
                    .build(),
            )
            .final_metric_data_list(MetricData::builder().metric_name("test:accuracy").value(0.95).build())
            .model_artifacts(
                ModelArtifacts::builder()
                    .s3_model_artifacts("s3://sagemaker-cicd-artifacts/promoted/sagemaker-cicd-example-org-churn-model/old/model.tar.gz")
                    .build(),
            )
            .build()
    });
    let r = registry(true);
    let gate =
        r#"{"Conditions": [{"Metric": "test:accuracy", "Operator": ">=", "Threshold": 0.9}]}"#;
    let (kind, message) = invoke(
        event("untuned-candidate"),
        Some(gate),
        &[&c, &r.group, &r.create_group, &r.create],
    )
    .await
    .only_failure();
    assert_eq!(kind, FailureType::ConfigurationError);
    assert!(
        message.contains("are not under s3://sagemaker-cicd-artifacts/models/")
            && message.contains("OutputDataConfig.S3OutputPath"),
        "{message}"
    );
    assert_eq!(r.create.num_calls(), 0);
}

#[tokio::test]
async fn a_package_whose_success_is_refused_is_rejected_not_left_approved() {
    let c = candidate(0.945);
    let (list, describe) = approved_with(Some("0.95"));
    let r = registry(true);
    let reject = mock!(SageMaker::update_model_package)
        .match_requests(|u| {
            u.model_package_arn() == Some(PACKAGE)
                && u.model_approval_status() == Some(&ModelApprovalStatus::Rejected)
                && u.approval_description()
                    .is_some_and(|d| d.contains("refused by the test"))
        })
        .then_output(|| UpdateModelPackageOutput::builder().build());
    let sagemaker = mock_client!(
        aws_sdk_sagemaker,
        RuleMode::MatchAny,
        [
            &c,
            &list,
            &describe,
            &r.group,
            &r.create_group,
            &r.create,
            &reject
        ],
        |conf| conf.region(Region::new("us-east-1"))
    );
    let (store, _) = scripted_artifacts(
        200,
        zip_of(&[
            ("configuration/trainingjob.json", "{}"),
            ("configuration/evaluation.json", GATE),
        ]),
    );
    let (s3, _) = s3_promoting();
    let results = test_support::job::run_against(
        Results::refusing_success(),
        event("tuned-candidate"),
        |job| evaluate::handle(job, &sagemaker, &s3, &store),
    )
    .await;
    let all = results.all();
    assert_eq!(
        all.len(),
        2,
        "the refused success, then the failure: {all:#?}"
    );
    let Reported::Failure { message, .. } = &all[1] else {
        panic!("{all:#?}")
    };
    assert!(
        message.contains("refused its result")
            && message.contains(&format!("{PACKAGE} it had registered was set to Rejected")),
        "{message}"
    );
    assert_eq!((r.create.num_calls(), reject.num_calls()), (1, 1));
}

#[tokio::test]
async fn the_serving_environment_comes_from_the_job_and_the_functions_region() {
    let gate = r#"{"Conditions": [{"Metric": "test:accuracy", "Operator": ">=", "Threshold": 0.9}],
                   "Inference": {"Environment": {"SAGEMAKER_PROGRAM": "inference.py",
                                                 "SAGEMAKER_CONTAINER_LOG_LEVEL": "10"}}}"#;
    // The SageMaker Python SDK JSON-encodes hyperparameter values.
    let encoded = format!("\"{SOURCE_DIR}\"");
    let c = candidate_with(0.95, &[("sagemaker_submit_directory", &encoded)]);
    let r = registry(true);
    invoke_in(
        "eu-west-1",
        event("untuned-candidate"),
        Some(gate),
        &[&c, &r.group, &r.create],
    )
    .await
    .only_done();
    let created = r.created.lock().unwrap();
    let container = &created[0].inference_specification().unwrap().containers()[0];
    assert_eq!(
        container.environment(),
        Some(&env(&[
            ("SAGEMAKER_PROGRAM", "inference.py"),
            ("SAGEMAKER_SUBMIT_DIRECTORY", SOURCE_DIR),
            ("SAGEMAKER_REGION", "eu-west-1"),
            ("SAGEMAKER_CONTAINER_LOG_LEVEL", "10"),
        ]))
    );
}

#[tokio::test]
async fn script_mode_without_the_code_of_the_job_is_not_registered() {
    let gate = r#"{"Conditions": [{"Metric": "test:accuracy", "Operator": ">=", "Threshold": 0.9}],
                   "Inference": {"Environment": {"SAGEMAKER_PROGRAM": "inference.py"}}}"#;
    // A training image that needs no code, or a trainingjob.json that forgot it.
    let c = candidate_with(0.95, &[("max_depth", "5")]);
    let r = registry(true);
    let (kind, message) = invoke(
        event("untuned-candidate"),
        Some(gate),
        &[&c, &r.group, &r.create_group, &r.create],
    )
    .await
    .only_failure();
    assert_eq!(kind, FailureType::ConfigurationError);
    assert_eq!(
        message,
        "cannot register the model of sagemaker-cicd-churn-sklearn-9f2c1e4-3452f8ac for serving: \
         Inference.Environment of configuration/evaluation.json sets SAGEMAKER_PROGRAM, so the \
         serving container needs the inference code, which model.tar.gz does not hold, and the \
         training job has no `sagemaker_submit_directory` hyperparameter. Set \
         SAGEMAKER_SUBMIT_DIRECTORY (the s3:// URI of the code's .tar.gz) in \
         Inference.Environment of configuration/evaluation.json, or pass \
         `\"sagemaker_submit_directory\": \"${SourceDir}\"` in the HyperParameters of \
         configuration/trainingjob.json"
    );
    assert_eq!(
        (
            r.group.num_calls(),
            r.create_group.num_calls(),
            r.create.num_calls()
        ),
        (0, 0, 0)
    );

    // Naming the code in evaluation.json serves it without the hyperparameter.
    let gate = r#"{"Conditions": [{"Metric": "test:accuracy", "Operator": ">=", "Threshold": 0.9}],
                   "Inference": {"Environment": {"SAGEMAKER_PROGRAM": "inference.py",
                                                 "SAGEMAKER_SUBMIT_DIRECTORY": "s3://models/code.tar.gz"}}}"#;
    let r = registry(true);
    invoke(
        event("untuned-candidate"),
        Some(gate),
        &[&c, &r.group, &r.create],
    )
    .await
    .only_done();
    let created = r.created.lock().unwrap();
    let container = &created[0].inference_specification().unwrap().containers()[0];
    assert_eq!(
        container.environment().unwrap()["SAGEMAKER_SUBMIT_DIRECTORY"],
        "s3://models/code.tar.gz"
    );
}

#[tokio::test]
async fn a_failing_model_fails_with_the_table_and_is_not_registered() {
    let c = candidate(0.80);
    let (list, describe) = approved_with(Some("0.95"));
    let r = registry(true);
    let (kind, message) = invoke(
        event("tuned-candidate"),
        Some(GATE),
        &[&c, &list, &describe, &r.group, &r.create],
    )
    .await
    .only_failure();
    assert_eq!(kind, FailureType::JobFailed);
    assert!(
        message.starts_with("The model of commit 9f2c1e4 did not pass the gate against"),
        "{message}"
    );
    assert!(
        message.contains("test:accuracy        0.8000  >=         0.9000     0.9500    FAIL"),
        "{message}"
    );
    assert!(
        message.contains("0.1500 behind the approved model"),
        "{message}"
    );
    assert_eq!(r.create.num_calls(), 0);
}

#[tokio::test]
async fn regression_against_the_approved_model_fails_alone() {
    let c = candidate(0.92);
    let (list, describe) = approved_with(Some("0.95"));
    let r = registry(true);
    let (_, message) = invoke(
        event("tuned-candidate"),
        Some(GATE),
        &[&c, &list, &describe, &r.group, &r.create],
    )
    .await
    .only_failure();
    assert!(
        message.contains("drop <=") && message.contains("0.0300 behind"),
        "{message}"
    );
}

#[tokio::test]
async fn the_first_model_ever_creates_the_group() {
    let c = candidate(0.93);
    let (list, describe) = approved_with(None);
    let r = registry(false);
    let results = invoke(
        event("tuned-candidate"),
        Some(GATE),
        &[&c, &list, &describe, &r.group, &r.create_group, &r.create],
    )
    .await;
    let (variables, summary) = results.only_done();
    assert_eq!(variables["Verdict"], "Passed");
    assert!(summary.contains("no approved model yet"), "{summary}");
    assert_eq!(
        (
            describe.num_calls(),
            r.create_group.num_calls(),
            r.create.num_calls()
        ),
        (0, 1, 1)
    );
}

#[tokio::test]
async fn missing_and_nan_metrics_fail_with_their_own_message() {
    let gate = r#"{"Conditions": [{"Metric": "test:f1", "Operator": ">=", "Threshold": 0.5}]}"#;
    let (c, r) = (candidate(0.93), registry(true));
    let (_, message) = invoke(
        event("untuned-candidate"),
        Some(gate),
        &[&c, &r.group, &r.create],
    )
    .await
    .only_failure();
    assert!(message.contains("reported no `test:f1`"), "{message}");

    let gate =
        r#"{"Conditions": [{"Metric": "test:accuracy", "Operator": "<=", "Threshold": 0.5}]}"#;
    let (c, r) = (candidate(f32::NAN), registry(true));
    let (_, message) = invoke(
        event("untuned-candidate"),
        Some(gate),
        &[&c, &r.group, &r.create],
    )
    .await
    .only_failure();
    assert!(message.contains("NaN is not a usable number"), "{message}");
    assert_eq!(r.create.num_calls(), 0);
}

#[tokio::test]
async fn without_tuning_the_objective_source_is_missing() {
    let (c, r) = (candidate(0.95), registry(true));
    let gate = r#"{"Conditions": [{"Metric": "validation:accuracy", "Source": "Objective", "Operator": ">=", "Threshold": 0.5}]}"#;
    let (_, message) = invoke(
        event("untuned-candidate"),
        Some(gate),
        &[&c, &r.group, &r.create],
    )
    .await
    .only_failure();
    assert!(message.contains("not the tuning objective"), "{message}");
}

#[tokio::test]
async fn a_duplicate_delivery_registers_with_the_same_client_token() {
    let gate =
        r#"{"Conditions": [{"Metric": "test:accuracy", "Operator": ">=", "Threshold": 0.9}]}"#;
    let (c, r) = (candidate(0.95), registry(true));
    for _ in 0..2 {
        let results = invoke(
            event("untuned-candidate"),
            Some(gate),
            &[&c, &r.group, &r.create],
        )
        .await;
        assert_eq!(results.only_done().0["ModelPackageArn"], PACKAGE);
    }
    let created = r.created.lock().unwrap();
    let tokens: Vec<_> = created
        .iter()
        .map(|i| i.client_token().unwrap().to_owned())
        .collect();
    assert_eq!(tokens.len(), 2);
    assert_eq!(
        tokens[0], tokens[1],
        "SageMaker deduplicates on the ClientToken"
    );
}

#[tokio::test]
async fn manual_approval_registers_pending() {
    let gate =
        r#"{"Conditions": [{"Metric": "test:accuracy", "Operator": ">=", "Threshold": 0.9}]}"#;
    let (c, r) = (candidate(0.95), registry(true));
    let (_, summary) = invoke(
        event("manual-approval"),
        Some(gate),
        &[&c, &r.group, &r.create],
    )
    .await
    .only_done();
    assert!(summary.contains("PendingManualApproval"), "{summary}");
    assert_eq!(
        r.created.lock().unwrap()[0].model_approval_status(),
        Some(&ModelApprovalStatus::PendingManualApproval)
    );
}

#[tokio::test]
async fn no_gate_file_no_promotion() {
    // RequireGate absent (a pipeline deployed before the setting) and RequireGate=true alike.
    for event in [
        event("tuned-candidate"),
        with_parameter(event("tuned-candidate"), "RequireGate", Value::Bool(true)),
    ] {
        let (c, r) = (candidate(0.95), registry(true));
        let (kind, message) = invoke(event, None, &[&c, &r.group, &r.create])
            .await
            .only_failure();
        assert_eq!(kind, FailureType::ConfigurationError);
        assert!(
            message.contains("the source has no configuration/evaluation.json")
                && message.contains("promotes no model without a gate")
                && message.contains("Add the gate file")
                && message.contains("RequireGate"),
            "{message}"
        );
        assert_eq!((c.num_calls(), r.create.num_calls()), (0, 0));
    }
}

#[tokio::test]
async fn without_require_gate_a_model_without_gate_is_registered_pending_and_unchecked() {
    // A test accuracy no gate above would pass, and an approved model it falls far behind:
    // neither matters, nothing is compared.
    let c = candidate(0.50);
    let (list, describe) = approved_with(Some("0.95"));
    let r = registry(true);
    let results = invoke(
        with_parameter(event("tuned-candidate"), "RequireGate", Value::Bool(false)),
        None,
        &[&c, &list, &describe, &r.group, &r.create_group, &r.create],
    )
    .await;
    let (variables, summary) = results.only_done();
    assert_eq!(variables["Verdict"], "Unchecked");
    assert_eq!(variables["ModelPackageArn"], PACKAGE);
    assert_eq!(
        variables["MetricsSummary"],
        "no gate applied: the source has no configuration/evaluation.json and RequireGate is \
         false; reported test:accuracy=0.5000, train:accuracy=0.9900, validation:accuracy=0.9530"
    );
    assert!(
        summary.starts_with("Unchecked (PendingManualApproval): no gate applied")
            && summary.contains("set its status in the Model Registry")
            && summary.contains("validation:accuracy  0.9530"),
        "{summary}"
    );
    assert_eq!((list.num_calls(), describe.num_calls()), (0, 0));

    let created = r.created.lock().unwrap();
    assert_eq!(created.len(), 1);
    let input = &created[0];
    // The event asks for Approved (no manual approval step): an unchecked model never is.
    assert_eq!(
        input.model_approval_status(),
        Some(&ModelApprovalStatus::PendingManualApproval)
    );
    assert!(
        input
            .model_package_description()
            .unwrap()
            .starts_with("Commit 9f2c1e4 of example-org/churn-model: no gate applied"),
        "{:?}",
        input.model_package_description()
    );
    let container = &input.inference_specification().unwrap().containers()[0];
    assert_eq!(container.image(), Some(IMAGE));
    // No Inference, so no SAGEMAKER_PROGRAM: served as the image serves itself.
    assert_eq!(
        container.environment(),
        Some(&env(&[("SAGEMAKER_REGION", "us-east-1")]))
    );
    let meta = input.customer_metadata_properties().unwrap();
    assert!(
        meta["pipeline:gate"].starts_with("no gate applied"),
        "{meta:?}"
    );
    assert_eq!(meta["metric:test:accuracy"], "0.5");
    assert_eq!(meta["metric:train:accuracy"], "0.99");
    assert_eq!(meta["metric:validation:accuracy"], "0.953");
    assert_eq!(
        meta["pipeline:commit"],
        "9f2c1e4d0b7a5c3e1f2a4b6c8d0e1f2a3b4c5d6e"
    );
}

#[tokio::test]
async fn without_require_gate_a_job_with_no_metrics_is_still_registered_pending() {
    let c = mock!(SageMaker::describe_training_job).then_output(|| {
        DescribeTrainingJobOutput::builder()
            .algorithm_specification(
                AlgorithmSpecification::builder()
                    .training_image(IMAGE)
                    .training_input_mode(TrainingInputMode::File)
                    .build(),
            )
            .model_artifacts(
                ModelArtifacts::builder()
                    .s3_model_artifacts(ARTIFACTS)
                    .build(),
            )
            .build()
    });
    let r = registry(true);
    let (variables, summary) = invoke(
        with_parameter(
            event("untuned-candidate"),
            "RequireGate",
            Value::Bool(false),
        ),
        None,
        &[&c, &r.group, &r.create],
    )
    .await
    .only_done();
    assert_eq!(variables["Verdict"], "Unchecked");
    assert!(
        variables["MetricsSummary"].ends_with("; reported no metrics"),
        "{}",
        variables["MetricsSummary"]
    );
    assert!(summary.contains("reported no metrics"), "{summary}");
    assert_eq!(
        r.created.lock().unwrap()[0].model_approval_status(),
        Some(&ModelApprovalStatus::PendingManualApproval)
    );
}

#[tokio::test]
async fn with_a_gate_require_gate_false_changes_nothing() {
    let relaxed = || with_parameter(event("tuned-candidate"), "RequireGate", Value::Bool(false));

    // Passes: registered Approved, as without the setting.
    let c = candidate(0.945);
    let (list, describe) = approved_with(Some("0.95"));
    let r = registry(true);
    let (variables, summary) = invoke(
        relaxed(),
        Some(GATE),
        &[&c, &list, &describe, &r.group, &r.create_group, &r.create],
    )
    .await
    .only_done();
    assert_eq!(variables["Verdict"], "Passed");
    assert!(
        summary.starts_with("Passed (Approved) against"),
        "{summary}"
    );
    {
        let created = r.created.lock().unwrap();
        assert_eq!(
            created[0].model_approval_status(),
            Some(&ModelApprovalStatus::Approved)
        );
        assert!(
            !created[0]
                .customer_metadata_properties()
                .unwrap()
                .contains_key("pipeline:gate")
        );
    }

    // Fails: not registered at all.
    let c = candidate(0.80);
    let (list, describe) = approved_with(Some("0.95"));
    let r = registry(true);
    let (kind, message) = invoke(
        relaxed(),
        Some(GATE),
        &[&c, &list, &describe, &r.group, &r.create],
    )
    .await
    .only_failure();
    assert_eq!(kind, FailureType::JobFailed);
    assert!(message.contains("did not pass the gate"), "{message}");
    assert_eq!(r.create.num_calls(), 0);

    // A broken gate is still a configuration error, not a missing one.
    let c = candidate(0.945);
    let r = registry(true);
    let (kind, message) = invoke(
        relaxed(),
        Some(r#"{"Conditions": []}"#),
        &[&c, &r.group, &r.create],
    )
    .await
    .only_failure();
    assert_eq!(kind, FailureType::ConfigurationError);
    assert!(message.contains("Conditions"), "{message}");
    assert_eq!((c.num_calls(), r.create.num_calls()), (0, 0));
}

#[test]
fn require_gate_defaults_to_true_and_is_a_boolean() {
    let base = r#""ExecutionId":"e","CommitId":"c","JobPrefix":"p","ArtifactBucket":"b","CandidateTrainingJobName":"j""#;
    let parse = |extra: &str| {
        serde_json::from_str::<evaluate::settings::Settings>(&format!("{{{base}{extra}}}"))
    };
    assert!(parse("").unwrap().require_gate);
    assert!(parse(r#","RequireGate":true"#).unwrap().require_gate);
    assert!(!parse(r#","RequireGate":false"#).unwrap().require_gate);
    assert!(parse(r#","RequireGate":"false""#).is_err());
}

#[tokio::test]
async fn a_metric_equal_to_its_threshold_meets_at_least() {
    // 0.9 as a 32-bit float is 0.899999976158...; the gate compares the 0.9 SageMaker reports.
    let c = candidate(0.9);
    let (list, describe) = approved_with(Some("0.9"));
    let r = registry(true);
    let results = invoke(
        event("tuned-candidate"),
        Some(GATE),
        &[&c, &list, &describe, &r.group, &r.create_group, &r.create],
    )
    .await;
    let (variables, _) = results.only_done();
    assert_eq!(variables["Verdict"], "Passed");
    assert!(
        variables["MetricsSummary"].starts_with("test:accuracy=0.9000 >= 0.9000 pass"),
        "{}",
        variables["MetricsSummary"]
    );
}

/// What the Tune action passed in is checked against what it stands for before any call.
#[tokio::test]
async fn tune_variables_that_are_not_what_they_stand_for_are_refused() {
    for (key, value, needle) in [
        (
            "CandidateTrainingJobName",
            "job\",\"ConfigPath\":\"x",
            "not a SageMaker job name",
        ),
        (
            "ObjectiveMetricName",
            "acc\",\"ConfigPath\":\"configuration/lenient.json",
            "not a metric name",
        ),
        ("ObjectiveMetricValue", "high", "not a number"),
    ] {
        let c = candidate(0.945);
        let e = with_parameter(event("tuned-candidate"), key, Value::from(value));
        let (kind, message) = invoke(e, Some(GATE), &[&c]).await.only_failure();
        assert_eq!(kind, FailureType::ConfigurationError, "{key}");
        assert!(
            message.starts_with(&format!("{key} (#{{TuneVariables.{key}}}) is"))
                && message.contains(needle),
            "{message}"
        );
        assert_eq!(c.num_calls(), 0, "{key}");
    }
}
