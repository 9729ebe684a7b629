//! start-training against scripted S3, SageMaker and CodePipeline: every path ends in exactly
//! one job result.

mod support;

use std::sync::{Arc, Mutex};

use aws_sdk_codepipeline::types::FailureType;
use aws_sdk_sagemaker::Client as SageMaker;
use aws_sdk_sagemaker::error::ErrorMetadata;
use aws_sdk_sagemaker::operation::create_training_job::{
    CreateTrainingJobError, CreateTrainingJobOutput,
};
use aws_sdk_sagemaker::operation::describe_training_job::DescribeTrainingJobOutput;
use aws_sdk_sagemaker::operation::list_tags::ListTagsOutput;
use aws_sdk_sagemaker::types::error::{ResourceInUse, ResourceLimitExceeded};
use aws_sdk_sagemaker::types::{Tag, TrainingJobStatus};
use aws_smithy_mocks::{Rule, mock};
use serde_json::Value;
use support::*;

const ARN: &str =
    "arn:aws:sagemaker:us-east-1:123456789012:training-job/sagemaker-cicd-penguin-sex-9f2c1e4-x";

fn create_ok(
    seen: Arc<
        Mutex<Vec<aws_sdk_sagemaker::operation::create_training_job::CreateTrainingJobInput>>,
    >,
) -> Rule {
    mock!(SageMaker::create_training_job)
        .match_requests(move |r| {
            seen.lock().unwrap().push(r.clone());
            true
        })
        .then_output(|| {
            CreateTrainingJobOutput::builder()
                .training_job_arn(ARN)
                .build()
        })
}

fn create_err(err: fn() -> CreateTrainingJobError) -> Rule {
    mock!(SageMaker::create_training_job).then_error(err)
}

fn describe_ok() -> Rule {
    mock!(SageMaker::describe_training_job).then_output(|| {
        DescribeTrainingJobOutput::builder()
            .training_job_name("x")
            .training_job_arn(ARN)
            .training_job_status(TrainingJobStatus::InProgress)
            .build()
    })
}

fn tags_with_job(job_id: &'static str) -> Rule {
    mock!(SageMaker::list_tags)
        .match_requests(|r| r.resource_arn() == Some(ARN))
        .then_output(move || {
            ListTagsOutput::builder()
                .tags(Tag::builder().key("pipeline:job-id").value(job_id).build())
                .build()
        })
}

#[tokio::test]
async fn happy_path_starts_one_job_with_the_pipelines_name_and_lineage() {
    let created = Arc::default();
    let create = create_ok(Arc::clone(&created));
    let sagemaker = sagemaker(&[&create]);
    let (store, auth) = artifact_store(200, source_with(&sample_config()));
    let results = run(event("happy-path"), &sagemaker, &store).await;

    let (variables, summary) = results.only_done();
    let name = &variables["TrainingJobName"];
    assert!(
        name.starts_with("sagemaker-cicd-penguin-sex-9f2c1e4-"),
        "{name}"
    );
    assert_eq!(variables["TrainingJobArn"], ARN);
    assert_eq!(
        variables["CommitId"],
        "9f2c1e4d0b7a5c3e1f2a4b6c8d0e1f2a3b4c5d6e"
    );
    assert!(summary.contains(name.as_str()));

    let created = created.lock().unwrap();
    assert_eq!(created.len(), 1);
    let input = &created[0];
    assert_eq!(input.training_job_name(), Some(name.as_str()));
    assert_eq!(
        input.role_arn(),
        Some("arn:aws:iam::123456789012:role/sagemaker-cicd-SageMakerExecutionRole")
    );
    let resources = input.resource_config().unwrap();
    assert_eq!(
        (resources.instance_count(), resources.volume_size_in_gb()),
        (Some(1), Some(60))
    );
    assert_eq!(
        input.stopping_condition().unwrap().max_runtime_in_seconds(),
        Some(86400)
    );
    let hp = input.hyper_parameters().unwrap();
    assert_eq!(
        hp["sagemaker_submit_directory"],
        "s3://sagemaker-cicd-artifacts/source/9f2c1e4/sourcedir.tar.gz"
    );
    assert_eq!(
        input.output_data_config().unwrap().s3_output_path(),
        Some("s3://sagemaker-cicd-artifacts/models/")
    );
    let tags: Vec<(&str, &str)> = input
        .tags()
        .iter()
        .map(|t| (t.key().unwrap(), t.value().unwrap()))
        .collect();
    for expected in [
        ("team", "data-science"),
        ("pipeline:repository", "example-org/churn-model"),
        ("pipeline:branch", "main"),
        (
            "pipeline:commit",
            "9f2c1e4d0b7a5c3e1f2a4b6c8d0e1f2a3b4c5d6e",
        ),
        (
            "pipeline:execution-id",
            "3137f7cb-8b1f-4f2b-a6a5-2f1e9e6f0b5e",
        ),
        ("pipeline:job-id", JOB_ID),
    ] {
        assert!(tags.contains(&expected), "{expected:?} not in {tags:?}");
    }
    let metrics = input
        .algorithm_specification()
        .unwrap()
        .metric_definitions();
    assert_eq!(metrics.len(), 3);

    // The artifact was read with the job's credentials, not the function's.
    let auth = auth.lock().unwrap();
    assert_eq!(auth.len(), 1);
    assert!(
        auth[0].contains(&format!("Credential={JOB_ACCESS_KEY}/")),
        "{}",
        auth[0]
    );
}

#[tokio::test]
async fn duplicate_delivery_adopts_the_job_the_first_delivery_started() {
    let create = create_err(|| {
        CreateTrainingJobError::ResourceInUse(ResourceInUse::builder().message("exists").build())
    });
    let (describe, tags) = (describe_ok(), tags_with_job(JOB_ID));
    let sagemaker = sagemaker(&[&create, &describe, &tags]);
    let (store, _) = artifact_store(200, source_with(&sample_config()));
    let results = run(event("happy-path"), &sagemaker, &store).await;
    let (variables, summary) = results.only_done();
    assert_eq!(variables["TrainingJobArn"], ARN);
    assert!(summary.starts_with("Adopted"));
    assert_eq!(
        (create.num_calls(), describe.num_calls(), tags.num_calls()),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn a_name_taken_by_another_job_is_a_clear_failure() {
    let create = create_err(|| {
        CreateTrainingJobError::ResourceInUse(ResourceInUse::builder().message("exists").build())
    });
    let (describe, tags) = (
        describe_ok(),
        tags_with_job("99999999-0000-4000-8000-000000000009"),
    );
    let sagemaker = sagemaker(&[&create, &describe, &tags]);
    let (store, _) = artifact_store(200, source_with(&sample_config()));
    let (kind, message) = run(event("happy-path"), &sagemaker, &store)
        .await
        .only_failure();
    assert_eq!(kind, FailureType::JobFailed);
    assert!(
        message.contains("already exists and was not started by this pipeline job"),
        "{message}"
    );
}

#[tokio::test]
async fn sagemaker_validation_error_is_a_configuration_error() {
    let create = create_err(|| {
        CreateTrainingJobError::generic(
            ErrorMetadata::builder()
                .code("ValidationException")
                .message("Instance type ml.x is not supported")
                .build(),
        )
    });
    let sagemaker = sagemaker(&[&create]);
    let (store, _) = artifact_store(200, source_with(&sample_config()));
    let (kind, message) = run(event("happy-path"), &sagemaker, &store)
        .await
        .only_failure();
    assert_eq!(kind, FailureType::ConfigurationError);
    assert!(
        message.contains("Instance type ml.x is not supported")
            && message.contains("trainingjob.json"),
        "{message}"
    );
}

#[tokio::test]
async fn quota_errors_say_so() {
    let create = create_err(|| {
        CreateTrainingJobError::ResourceLimitExceeded(
            ResourceLimitExceeded::builder().message("limit 0").build(),
        )
    });
    let sagemaker = sagemaker(&[&create]);
    let (store, _) = artifact_store(200, source_with(&sample_config()));
    let (kind, message) = run(event("happy-path"), &sagemaker, &store)
        .await
        .only_failure();
    assert_eq!(kind, FailureType::JobFailed);
    assert!(message.contains("quota"), "{message}");
}

async fn fails_before_sagemaker(event: Value, status: u16, body: Vec<u8>) -> (FailureType, String) {
    let create = create_ok(Arc::default());
    let sagemaker = sagemaker(&[&create]);
    let (store, _) = artifact_store(status, body);
    let failure = run(event, &sagemaker, &store).await.only_failure();
    assert_eq!(create.num_calls(), 0, "SageMaker must not be called");
    failure
}

#[tokio::test]
async fn missing_config_lists_what_the_repository_has() {
    let body = zip_of(&[("configuration/tuning.json", "{}"), ("README.md", "hi")]);
    let (kind, message) = fails_before_sagemaker(event("missing-config"), 200, body).await;
    assert_eq!(kind, FailureType::ConfigurationError);
    assert!(
        message.contains("configuration/trainingjob.json")
            && message.contains("configuration/tuning.json"),
        "{message}"
    );
}

#[tokio::test]
async fn config_path_is_overridable() {
    let mut e = event("happy-path");
    let mut params = user_parameters(&e);
    params["ConfigPath"] = Value::from("ml/train.json");
    set_user_parameters(&mut e, &params);
    let created = Arc::default();
    let create = create_ok(Arc::clone(&created));
    let sagemaker = sagemaker(&[&create]);
    let (store, _) = artifact_store(200, zip_of(&[("ml/train.json", &sample_config())]));
    assert!(matches!(
        run(e, &sagemaker, &store).await.only(),
        Reported::Success { .. }
    ));
    assert_eq!(create.num_calls(), 1);
}

#[tokio::test]
async fn malformed_config_names_file_line_and_path() {
    let config = sample_config().replace(
        "\"InstanceCount\": \"${InstanceCount}\"",
        "\"InstanceCount\": \"two\"",
    );
    let (kind, message) =
        fails_before_sagemaker(event("malformed-config"), 200, source_with(&config)).await;
    assert_eq!(kind, FailureType::ConfigurationError);
    assert!(
        message.contains("configuration/trainingjob.json:"),
        "{message}"
    );
    assert!(
        message.contains("ResourceConfig.InstanceCount"),
        "{message}"
    );
}

#[tokio::test]
async fn missing_artifact_is_revision_unavailable() {
    let (kind, message) =
        fails_before_sagemaker(event("happy-path"), 404, s3_error("NoSuchKey")).await;
    assert_eq!(kind, FailureType::RevisionUnavailable);
    assert!(
        message.contains("s3://sagemaker-cicd-artifacts/source/model-repo.zip"),
        "{message}"
    );
}

#[tokio::test]
async fn denied_artifact_is_a_permission_error() {
    let (kind, _) =
        fails_before_sagemaker(event("happy-path"), 403, s3_error("AccessDenied")).await;
    assert_eq!(kind, FailureType::PermissionError);
}

#[tokio::test]
async fn an_artifact_that_is_not_a_zip() {
    let (kind, message) =
        fails_before_sagemaker(event("happy-path"), 200, b"<html>hello</html>".to_vec()).await;
    assert_eq!(kind, FailureType::ConfigurationError);
    assert!(message.contains("not a zip"), "{message}");
}

#[tokio::test]
async fn missing_or_broken_user_parameters() {
    for raw in [
        Value::Null,
        Value::from("not json"),
        Value::from(r#"{"CommitId":"c"}"#),
        Value::from("x".repeat(1200)),
    ] {
        let mut e = event("happy-path");
        e["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]["UserParameters"] =
            raw.clone();
        let (kind, message) = fails_before_sagemaker(e, 200, source_with(&sample_config())).await;
        assert_eq!(kind, FailureType::ConfigurationError, "{raw}");
        assert!(message.contains("UserParameters"), "{message}");
    }
}

#[tokio::test]
async fn the_action_window_is_enforced() {
    let mut e = event("happy-path");
    let mut params = user_parameters(&e);
    params["MaxRuntimeInSeconds"] = Value::from(2 * 86400);
    set_user_parameters(&mut e, &params);
    let (kind, message) = fails_before_sagemaker(e, 200, source_with(&sample_config())).await;
    assert_eq!(kind, FailureType::ConfigurationError);
    assert!(
        message.contains("24 hours") && message.contains("StoppingCondition.MaxRuntimeInSeconds"),
        "{message}"
    );
}

#[tokio::test]
async fn build_variables_are_placeholders() {
    let mut e = event("happy-path");
    let mut params = user_parameters(&e);
    params["BuildVariables"]["IMAGE_URI"] =
        Value::from("123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:9f2c1e4");
    set_user_parameters(&mut e, &params);
    let config = sample_config().replace(
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
        "${IMAGE_URI}",
    );
    let created = Arc::default();
    let create = create_ok(Arc::clone(&created));
    let sagemaker = sagemaker(&[&create]);
    let (store, _) = artifact_store(200, source_with(&config));
    assert!(matches!(
        run(e, &sagemaker, &store).await.only(),
        Reported::Success { .. }
    ));
    let created = created.lock().unwrap();
    assert_eq!(
        created[0]
            .algorithm_specification()
            .unwrap()
            .training_image(),
        Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:9f2c1e4")
    );
}

/// A build that exports something other than what a build variable stands for is refused
/// before SageMaker is called, naming the variable; a quote cannot reach a job definition.
#[tokio::test]
async fn build_variables_are_checked_against_what_they_stand_for() {
    for (name, value, needle) in [
        (
            "SOURCE_DIR_URI",
            "s3://b/src.tar.gz\",\"X\":\"y",
            "not an s3:// URI",
        ),
        (
            "SOURCE_DIR_URI",
            "https://example.com/src.tar.gz",
            "not an s3:// URI",
        ),
        (
            "IMAGE_URI",
            "img:latest\",\"Y\":1",
            "not a container image URI",
        ),
        ("OTHER", "a\\b", "not text without quotes"),
    ] {
        let mut e = event("happy-path");
        let mut params = test_support::job::user_parameters(&e);
        params["BuildVariables"][name] = Value::from(value);
        test_support::job::set_user_parameters(&mut e, &params);
        let (kind, message) = fails_before_sagemaker(e, 200, source_with(&sample_config())).await;
        assert_eq!(kind, FailureType::ConfigurationError, "{name}");
        assert!(
            message.starts_with(&format!(
                "The build variable {name} (exported by the buildspec)"
            )) && message.contains(needle),
            "{message}"
        );
    }
}
