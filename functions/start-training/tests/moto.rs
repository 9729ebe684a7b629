//! start-training over real HTTP: the sample events against moto server's S3 and SageMaker,
//! with the artifacts uploaded as zips the way CodePipeline stores them. Only CodePipeline's
//! job-result API is scripted (moto has none).

mod support;

use aws_sdk_codepipeline::types::FailureType;
use pipeline_core::ArtifactStore;
use support::*;
use test_support::MotoServer;

const BUCKET: &str = "sagemaker-cicd-artifacts";

async fn upload(moto: &MotoServer, key: &str, body: Vec<u8>) {
    moto.s3_client()
        .put_object()
        .bucket(BUCKET)
        .key(key)
        .body(body.into())
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn the_sample_events_against_moto() {
    let moto = MotoServer::start();
    let s3 = moto.s3_client();
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    upload(
        &moto,
        "source/model-repo.zip",
        source_with(&sample_config()),
    )
    .await;
    upload(
        &moto,
        "source/model-repo-without-config.zip",
        zip_of(&[("README.md", "no config here")]),
    )
    .await;
    let broken = sample_config().replace(
        "\"TrainingInputMode\": \"File\",",
        "\"TrainingInputMode\": \"File\", \"trainingInputMode\": 1,",
    );
    upload(
        &moto,
        "source/model-repo-malformed-config.zip",
        source_with(&broken),
    )
    .await;

    let config = moto.sdk_config();
    let store = ArtifactStore::new(&config).with_path_style(true);
    let sagemaker = aws_sdk_sagemaker::Client::new(&config);

    // Happy path: the job exists in SageMaker under the name reported to CodePipeline.
    let (variables, _) = run(event("happy-path"), &sagemaker, &store)
        .await
        .only_done();
    let name = &variables["TrainingJobName"];
    let described = sagemaker
        .describe_training_job()
        .training_job_name(name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.training_job_arn(),
        Some(variables["TrainingJobArn"].as_str())
    );
    assert_eq!(described.hyper_parameters().unwrap()["max_depth"], "5");
    let tags = sagemaker
        .list_tags()
        .resource_arn(&variables["TrainingJobArn"])
        .send()
        .await
        .unwrap();
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.key() == Some("pipeline:job-id") && t.value() == Some(JOB_ID))
    );

    // Missing configuration.
    let (kind, message) = run(event("missing-config"), &sagemaker, &store)
        .await
        .only_failure();
    assert_eq!(kind, FailureType::ConfigurationError);
    assert!(
        message.contains("has no configuration/trainingjob.json"),
        "{message}"
    );

    // Malformed configuration: the camelCase duplicate of a key is named with its fix.
    let (kind, message) = run(event("malformed-config"), &sagemaker, &store)
        .await
        .only_failure();
    assert_eq!(kind, FailureType::ConfigurationError);
    assert!(
        message.contains("trainingInputMode") && message.contains("TrainingInputMode"),
        "{message}"
    );

    // An artifact key that does not exist.
    let mut gone = event("happy-path");
    gone["CodePipeline.job"]["data"]["inputArtifacts"][0]["location"]["s3Location"]["objectKey"] =
        "source/expired.zip".into();
    let (kind, _) = run(gone, &sagemaker, &store).await.only_failure();
    assert_eq!(kind, FailureType::RevisionUnavailable);

    let jobs = sagemaker.list_training_jobs().send().await.unwrap();
    assert_eq!(
        jobs.training_job_summaries().len(),
        1,
        "only the happy path may start a job"
    );
}
