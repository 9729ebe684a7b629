//! The sample model repository through the Train, Tune and Evaluate actions, each run as the
//! Lambda runtime would run it (one CodePipeline job event per invocation, continuation tokens
//! followed), against the local SageMaker (real training processes) and moto (S3, and the Model
//! Registry calls the local SageMaker forwards). Only CodePipeline's job-result API is scripted.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use local_sagemaker::{LocalSageMaker, Settings};
use pipeline_core::ArtifactStore;
use serde_json::Value;
use test_support::MotoServer;
use test_support::archive::tar_gz_dir;
use test_support::job::{Reported, set_user_parameters, user_parameters, zip_of};

const BUCKET: &str = "sagemaker-cicd-artifacts";
const SOURCE_KEY: &str = "source/model-repo.zip";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sample() -> PathBuf {
    root().join("examples/model-repo")
}

fn event(path: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(root().join("events").join(path)).unwrap())
        .unwrap()
}

/// Every file under `dir`, as (path relative to `dir`, text).
fn files(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if name != "__pycache__" {
                    stack.push(path);
                }
            } else if let Ok(text) = std::fs::read_to_string(&path) {
                out.push((
                    path.strip_prefix(dir)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                    text,
                ));
            }
        }
    }
    out.sort();
    out
}

/// What the Build action leaves behind: the source zip, sourcedir.tar.gz and the data.
async fn build(s3: &aws_sdk_s3::Client, commit: &str, source_dir_key: &str) {
    let put = |key: String, body: Vec<u8>| async move {
        s3.put_object()
            .bucket(BUCKET)
            .key(key)
            .body(body.into())
            .send()
            .await
            .unwrap();
    };
    let repo = files(&sample());
    let zipped: Vec<(&str, &str)> = repo.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    put(SOURCE_KEY.to_owned(), zip_of(&zipped)).await;
    put(source_dir_key.to_owned(), tar_gz_dir(&sample().join("src"))).await;
    for channel in ["train", "validation", "test"] {
        for (name, text) in files(&sample().join("data").join(channel)) {
            put(format!("data/{commit}/{channel}/{name}"), text.into_bytes()).await;
        }
    }
}

fn with_artifact(mut event: Value) -> Value {
    event["CodePipeline.job"]["data"]["inputArtifacts"][0]["location"]["s3Location"]["objectKey"] =
        SOURCE_KEY.into();
    event
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sample_model_trains_tunes_and_is_registered() {
    let moto = MotoServer::start();
    let s3 = moto.s3_client();
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    let work = std::env::temp_dir().join(format!("actions-e2e-{}", std::process::id()));
    let local = LocalSageMaker::start(
        Settings::new(work.join("sagemaker")).with_forward_endpoint(moto.endpoint_url()),
        s3.clone(),
    )
    .await
    .unwrap();

    let config = moto.sdk_config();
    let store = ArtifactStore::new(&config).with_path_style(true);
    let sagemaker = aws_sdk_sagemaker::Client::from_conf(
        aws_sdk_sagemaker::config::Builder::from(&config)
            .endpoint_url(local.endpoint_url())
            .build(),
    );

    // Train.
    let train_event = with_artifact(event("start-training/happy-path.json"));
    let params = user_parameters(&train_event);
    let commit = params["CommitId"].as_str().unwrap().to_owned();
    let source_dir = params["BuildVariables"]["SOURCE_DIR_URI"]
        .as_str()
        .unwrap()
        .to_owned();
    build(
        &s3,
        &commit,
        source_dir.trim_start_matches(&format!("s3://{BUCKET}/")),
    )
    .await;
    let (train_vars, _) = test_support::job::run(train_event, |job| {
        start_training::handle(job, &sagemaker, &store)
    })
    .await
    .only_done();
    let training_job = train_vars["TrainingJobName"].clone();

    // Tune: invoked again and again with its continuation token, as CodePipeline does.
    let mut tune_event = with_artifact(event("train-and-tune/training-in-progress.json"));
    let mut tune_params = user_parameters(&tune_event);
    tune_params["TrainingJobName"] = Value::from(training_job.as_str());
    set_user_parameters(&mut tune_event, &tune_params);
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut summaries = Vec::new();
    let candidate = loop {
        let results = test_support::job::run(tune_event.clone(), |job| {
            train_and_tune::handle(job, &sagemaker, &store, SystemTime::now())
        })
        .await;
        match results.only() {
            Reported::Success {
                token: Some(token),
                summary,
                ..
            } => {
                summaries.push(summary.unwrap_or_default());
                tune_event["CodePipeline.job"]["data"]["continuationToken"] = Value::from(token);
            }
            Reported::Success {
                variables,
                token: None,
                ..
            } => break variables,
            Reported::Failure { message, .. } => {
                panic!("Tune failed: {message}\nafter: {summaries:#?}")
            }
        }
        assert!(
            Instant::now() < deadline,
            "Tune did not finish in time: {summaries:#?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(
        summaries.iter().any(|s| s.contains("Started tuning job")),
        "{summaries:#?}"
    );
    assert!(
        summaries
            .iter()
            .any(|s| s.contains("completed") && s.contains("best validation:accuracy")),
        "{summaries:#?}"
    );
    let objective: f64 = candidate["ObjectiveMetricValue"].parse().unwrap();
    assert!(objective > 0.8, "{candidate:?}");
    assert!(
        candidate["ModelArtifactsUri"].ends_with("/output/model.tar.gz"),
        "{candidate:?}"
    );
    let artifacts_key = candidate["ModelArtifactsUri"]
        .trim_start_matches(&format!("s3://{BUCKET}/"))
        .to_owned();
    s3.head_object()
        .bucket(BUCKET)
        .key(&artifacts_key)
        .send()
        .await
        .expect("the best model was uploaded");

    // Evaluate.
    let mut evaluate_event = with_artifact(event("evaluate/tuned-candidate.json"));
    let mut evaluate_params = user_parameters(&evaluate_event);
    for key in [
        "CandidateTrainingJobName",
        "ObjectiveMetricName",
        "ObjectiveMetricValue",
        "TuningJobName",
    ] {
        evaluate_params[key] = Value::from(candidate[key].as_str());
    }
    evaluate_params["ArtifactBucket"] = Value::from(BUCKET);
    set_user_parameters(&mut evaluate_event, &evaluate_params);
    let (verdict, summary) = test_support::job::run(evaluate_event, |job| {
        evaluate::handle(job, &sagemaker, &s3, &store)
    })
    .await
    .only_done();
    assert_eq!(verdict["Verdict"], "Passed", "{summary}");
    assert!(
        verdict["ModelPackageArn"].contains(":model-package/"),
        "{verdict:?}"
    );
    assert!(summary.contains("test:accuracy"), "{summary}");
    // What is registered is the promoted copy, as S3 hashed it.
    let promoted = verdict["ModelDataUrl"]
        .strip_prefix(&format!("s3://{BUCKET}/"))
        .expect("in the artifact bucket");
    assert!(promoted.starts_with("promoted/"), "{verdict:?}");
    let head = s3
        .head_object()
        .bucket(BUCKET)
        .key(promoted)
        .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
        .send()
        .await
        .expect("the promoted model exists");
    assert!(head.checksum_sha256().is_some(), "{head:?}");

    drop(local);
    let _ = std::fs::remove_dir_all(work);
}
