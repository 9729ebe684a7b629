//! examples/model-repo through the local SageMaker, its configuration read by the pipeline's
//! own loaders (placeholders filled, the tuning definition derived from trainingjob.json).

mod support;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_sagemaker::types::{
    HyperParameterTrainingJobSummary, HyperParameterTuningJobStatus, TrainingJobSortByOptions,
    TrainingJobStatus,
};
use model_repo::{Placeholders, Settings};
use serde_json::json;
use support::{BUCKET, Harness, ROLE, WorkDir, tar_gz_dir, untar};

const COMMIT: &str = "9f2c1e4d0b7a5c3e1f2a4b6c8d0e1f2a3b4c5d6e";
const LIMIT: Duration = Duration::from_secs(120);

fn repo() -> PathBuf {
    test_support::workspace_root().join("examples/model-repo")
}

fn settings() -> Settings {
    serde_json::from_value(json!({
        "ExecutionId": "3137f7cb-8b1f-4f2b-a6a5-2f1e9e6f0b5e",
        "CommitId": COMMIT,
        "JobPrefix": "local",
        "RoleArn": ROLE,
        "ArtifactBucket": BUCKET,
        "BuildVariables": {"SOURCE_DIR_URI": format!("s3://{BUCKET}/source/{COMMIT}/sourcedir.tar.gz")}
    }))
    .unwrap()
}

/// What the sample's buildspec.yml uploads: the channels and sourcedir.tar.gz.
async fn upload_the_sample(h: &Harness) {
    for channel in ["train", "validation", "test"] {
        let file = repo()
            .join("data")
            .join(channel)
            .join(format!("{channel}.csv"));
        let key = format!("data/{COMMIT}/{channel}/{channel}.csv");
        h.put(&key, std::fs::read(file).unwrap()).await;
    }
    let code = tar_gz_dir(&repo().join("src"));
    h.put(&format!("source/{COMMIT}/sourcedir.tar.gz"), code)
        .await;
}

fn training_request(name: &str) -> sagemaker_requests::CreateTrainingJobRequest {
    let text = std::fs::read_to_string(repo().join("configuration/trainingjob.json")).unwrap();
    let placeholders = Placeholders::from_settings(&settings(), name);
    let request =
        model_repo::training::load("configuration/trainingjob.json", &text, &placeholders)
            .unwrap_or_else(|e| panic!("{e}"));
    model_repo::training::complete(request, name, &settings(), "job-1")
}

async fn train(h: &Harness, name: &str) {
    training_request(name)
        .apply(h.client.create_training_job())
        .unwrap()
        .send()
        .await
        .unwrap();
}

fn metric(
    job: &aws_sdk_sagemaker::operation::describe_training_job::DescribeTrainingJobOutput,
    name: &str,
) -> f32 {
    job.final_metric_data_list()
        .iter()
        .find(|m| m.metric_name() == Some(name))
        .and_then(|m| m.value())
        .unwrap_or_else(|| panic!("no {name} in {job:?}"))
}

/// The value the script printed on the line `<label>: <value>`.
fn printed(log: &str, label: &str) -> f32 {
    log.lines()
        .find_map(|line| line.strip_prefix(&format!("{label}: ")))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no `{label}:` line in the log:\n{log}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sample_model_trains_in_seconds_and_reports_what_it_printed() {
    let h = Harness::start().await;
    upload_the_sample(&h).await;
    let name = "sample-default";
    let started = Instant::now();
    train(&h, name).await;
    let job = h.wait_for_training(name, LIMIT).await;
    let elapsed = started.elapsed();
    let log = h.log(name);
    assert_eq!(
        job.training_job_status(),
        Some(&TrainingJobStatus::Completed),
        "{log}"
    );
    eprintln!("the sample trained in {elapsed:.1?}");
    assert!(
        elapsed < Duration::from_secs(30),
        "the sample should train in seconds: {elapsed:?}"
    );

    for (metric_name, label) in [
        ("test:accuracy", "test accuracy"),
        ("validation:accuracy", "validation accuracy"),
        ("train:accuracy", "train accuracy"),
    ] {
        assert_eq!(
            metric(&job, metric_name),
            printed(&log, label),
            "{metric_name}"
        );
    }
    assert!(metric(&job, "test:accuracy") > 0.75, "{job:?}");
    let arn = job.training_job_arn().unwrap();
    let tags = h.client.list_tags().resource_arn(arn).send().await.unwrap();
    let tags: BTreeSet<_> = tags
        .tags()
        .iter()
        .map(|t| (t.key().unwrap(), t.value().unwrap()))
        .collect();
    assert!(tags.contains(&("team", "data-science")), "{tags:?}");
    assert!(tags.contains(&("pipeline:commit", COMMIT)), "{tags:?}");

    // The artifact is what the inference entrypoint loads.
    let model = untar(&h.get(&format!("models/{name}/output/model.tar.gz")).await);
    assert_eq!(model.len(), 1);
    assert_eq!(model[0].0, "model.json");
    let dir = WorkDir::new();
    std::fs::write(dir.0.join("model.json"), &model[0].1).unwrap();
    let predict = "import sys, inference\n\
        model = inference.model_fn(sys.argv[1])\n\
        rows = inference.input_fn('Gentoo,Biscoe,50.0,16.3,230,5700\\n', 'text/csv')\n\
        print(inference.output_fn(inference.predict_fn(rows, model), 'application/json'))\n";
    let output = Command::new("python3")
        .args(["-c", predict])
        .arg(&dir.0)
        .current_dir(repo().join("src"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(answer[0]["sex"], "male", "a large Gentoo: {answer}");
}

#[test]
fn the_sample_models_own_unit_tests_pass() {
    // What the sample's buildspec.yml runs first.
    let output = Command::new("python3")
        .args(["-m", "unittest", "discover", "-s", "tests", "-t", "."])
        .current_dir(repo())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{report}");
    let ran: usize = report
        .lines()
        .find_map(|l| {
            l.strip_prefix("Ran ")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0);
    assert!(ran >= 15, "{report}");
}

fn objective(summary: &HyperParameterTrainingJobSummary) -> f32 {
    summary
        .final_hyper_parameter_tuning_job_objective_metric()
        .and_then(|m| m.value())
        .unwrap_or(f32::NAN)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tuning_the_sample_beats_its_default_hyperparameters() {
    let h = Harness::start().await;
    upload_the_sample(&h).await;
    train(&h, "sample-baseline").await;

    let text = std::fs::read_to_string(repo().join("configuration/tuning.json")).unwrap();
    let placeholders = Placeholders::from_settings(&settings(), "sample-tuning");
    let training = training_request("sample-baseline");
    let tuning =
        model_repo::tuning::load("configuration/tuning.json", &text, &placeholders, &training)
            .unwrap_or_else(|e| panic!("{e}"));
    let mut request = tuning.request;
    request.hyper_parameter_tuning_job_name = Some("sample-tuning".into());
    let started = Instant::now();
    request
        .apply(h.client.create_hyper_parameter_tuning_job())
        .unwrap()
        .send()
        .await
        .unwrap();

    let baseline = h.wait_for_training("sample-baseline", LIMIT).await;
    let default_objective = metric(&baseline, "validation:accuracy");
    let tuned = h
        .wait_for_tuning("sample-tuning", Duration::from_secs(300))
        .await;
    let elapsed = started.elapsed();
    assert_eq!(
        tuned.hyper_parameter_tuning_job_status(),
        Some(&HyperParameterTuningJobStatus::Completed)
    );
    let counters = tuned.training_job_status_counters().unwrap();
    assert_eq!(counters.completed(), Some(10), "{tuned:?}");
    assert_eq!(
        tuned.objective_status_counters().unwrap().succeeded(),
        Some(10)
    );

    let mut jobs = Vec::new();
    let mut token = None;
    loop {
        let page = h
            .client
            .list_training_jobs_for_hyper_parameter_tuning_job()
            .hyper_parameter_tuning_job_name("sample-tuning")
            .sort_by(TrainingJobSortByOptions::CreationTime)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        jobs.extend(page.training_job_summaries().iter().cloned());
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(jobs.len(), 10);
    let best = tuned.best_training_job().unwrap();
    let best_of_all = jobs.iter().map(objective).fold(f32::MIN, f32::max);
    assert_eq!(
        objective(best),
        best_of_all,
        "BestTrainingJob has the best objective"
    );
    eprintln!(
        "tuning: 10 jobs in {elapsed:.1?}; validation accuracy {default_objective} with the defaults, \
         {} with {:?}",
        objective(best),
        best.tuned_hyper_parameters()
    );
    assert!(
        objective(best) > default_objective,
        "tuning should beat the defaults ({default_objective}): {jobs:#?}"
    );
    let tuned_names: BTreeSet<&str> = best
        .tuned_hyper_parameters()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        tuned_names,
        BTreeSet::from([
            "max_depth",
            "max_features",
            "min_samples_leaf",
            "n_estimators"
        ])
    );

    // At most MaxParallelTrainingJobs (2) trained at once.
    let mut events = Vec::new();
    for job in &jobs {
        let described = h.describe_training(job.training_job_name().unwrap()).await;
        events.push((described.training_start_time().unwrap().as_secs_f64(), 1));
        events.push((described.training_end_time().unwrap().as_secs_f64(), -1));
    }
    events.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let mut running: i32 = 0;
    let mut most = 0;
    for (_, change) in events {
        running += change;
        most = most.max(running);
    }
    assert!(most <= 2, "{most} training jobs ran at once");
}
