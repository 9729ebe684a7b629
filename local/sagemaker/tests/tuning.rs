//! Hyperparameter tuning jobs over HTTP with the real aws-sdk-sagemaker client, S3 on moto.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_sagemaker::error::ProvideErrorMetadata;
use aws_sdk_sagemaker::types::{
    HyperParameterTrainingJobSummary, HyperParameterTuningJobStatus, ObjectiveStatus,
    TrainingJobSortByOptions, TrainingJobStatus,
};
use serde_json::{Value, json};
use support::{BUCKET, Harness, IMAGE, ROLE, alive, pid_in, put_train_data};

const LIMIT: Duration = Duration::from_secs(120);

/// Prints `score: a*b`, except when `a` is 1: then it prints no objective at all.
const SCORE: &str = r#"
import argparse
parser = argparse.ArgumentParser()
parser.add_argument("--a", type=float)
parser.add_argument("--b", type=float)
parser.add_argument("--offset", type=float)
args = parser.parse_args()
if args.a != 1:
    print(f"score: {args.a * args.b + args.offset}")
"#;

fn tuning_request(name: &str, code: &str, config: Value) -> Value {
    json!({
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": config,
        "TrainingJobDefinition": {
            "AlgorithmSpecification": {
                "TrainingImage": IMAGE,
                "TrainingInputMode": "File",
                "MetricDefinitions": [{"Name": "score", "Regex": "score: ([0-9.]+)"}]
            },
            "StaticHyperParameters": {
                "sagemaker_program": "train.py",
                "sagemaker_submit_directory": code,
                "offset": "0.5"
            },
            "RoleArn": ROLE,
            "InputDataConfig": [{
                "ChannelName": "train",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": format!("s3://{BUCKET}/data/train/")}}
            }],
            "OutputDataConfig": {"S3OutputPath": format!("s3://{BUCKET}/tuning/")},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
            "StoppingCondition": {"MaxRuntimeInSeconds": 120}
        },
        "Tags": [{"Key": "team", "Value": "tests"}]
    })
}

fn grid(values_a: &[&str], values_b: &[&str], parallel: i32) -> Value {
    json!({
        "Strategy": "Grid",
        "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "score"},
        "ResourceLimits": {"MaxParallelTrainingJobs": parallel},
        "ParameterRanges": {"CategoricalParameterRanges": [
            {"Name": "a", "Values": values_a},
            {"Name": "b", "Values": values_b}
        ]}
    })
}

async fn create_tuning(
    client: &aws_sdk_sagemaker::Client,
    request: Value,
) -> Result<String, aws_sdk_sagemaker::error::SdkError<aws_sdk_sagemaker::operation::create_hyper_parameter_tuning_job::CreateHyperParameterTuningJobError>>{
    let request: sagemaker_requests::CreateHyperParameterTuningJobRequest =
        serde_json::from_value(request).unwrap();
    let output = request
        .apply(client.create_hyper_parameter_tuning_job())
        .unwrap()
        .send()
        .await?;
    Ok(output
        .hyper_parameter_tuning_job_arn()
        .unwrap_or_default()
        .to_owned())
}

/// Every training job of a tuning job, page by page.
async fn all_training_jobs(
    h: &Harness,
    tuning_job: &str,
    sort_by: TrainingJobSortByOptions,
) -> Vec<HyperParameterTrainingJobSummary> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = h
            .client
            .list_training_jobs_for_hyper_parameter_tuning_job()
            .hyper_parameter_tuning_job_name(tuning_job)
            .sort_by(sort_by.clone())
            .max_results(4)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        out.extend(page.training_job_summaries().iter().cloned());
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return out;
        }
    }
}

fn objective(summary: &HyperParameterTrainingJobSummary) -> Option<f32> {
    summary
        .final_hyper_parameter_tuning_job_objective_metric()
        .and_then(|m| m.value())
}

fn tuned(summary: &HyperParameterTrainingJobSummary) -> BTreeMap<String, String> {
    summary
        .tuned_hyper_parameters()
        .map(|hps| hps.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grid_trains_every_combination_and_the_best_job_has_the_best_objective() {
    let h = Harness::start().await;
    put_train_data(&h).await;
    let code = h
        .put_code("code/score.tar.gz", &[("train.py", SCORE)])
        .await;
    let arn = create_tuning(
        &h.client,
        tuning_request("grid", &code, grid(&["1", "2", "3"], &["1", "2"], 3)),
    )
    .await
    .unwrap();
    assert_eq!(
        arn,
        "arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/grid"
    );
    let tuning = h.wait_for_tuning("grid", LIMIT).await;
    assert_eq!(
        tuning.hyper_parameter_tuning_job_status(),
        Some(&HyperParameterTuningJobStatus::Completed)
    );
    let counters = tuning.training_job_status_counters().unwrap();
    assert_eq!(
        (
            counters.completed(),
            counters.in_progress(),
            counters.non_retryable_error(),
            counters.stopped()
        ),
        (Some(6), Some(0), Some(0), Some(0))
    );
    let objectives = tuning.objective_status_counters().unwrap();
    assert_eq!(
        (
            objectives.succeeded(),
            objectives.pending(),
            objectives.failed()
        ),
        (Some(4), Some(0), Some(2))
    );
    assert!(tuning.hyper_parameter_tuning_end_time().is_some());

    let jobs = all_training_jobs(&h, "grid", TrainingJobSortByOptions::Name).await;
    let combinations: Vec<_> = jobs
        .iter()
        .map(|j| (tuned(j)["a"].clone(), tuned(j)["b"].clone()))
        .collect();
    let expected: Vec<_> = [
        ("1", "1"),
        ("1", "2"),
        ("2", "1"),
        ("2", "2"),
        ("3", "1"),
        ("3", "2"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(
        combinations, expected,
        "Grid runs every combination, the first range slowest"
    );
    let name = regex::Regex::new("^grid-00[1-6]-[0-9a-f]{8}$").unwrap();
    assert!(
        jobs.iter()
            .all(|j| name.is_match(j.training_job_name().unwrap())),
        "{jobs:?}"
    );
    let without_objective: Vec<_> = jobs
        .iter()
        .filter(|j| j.objective_status() == Some(&ObjectiveStatus::Failed))
        .map(|j| tuned(j)["a"].clone())
        .collect();
    assert_eq!(without_objective, ["1", "1"]);

    let best = tuning.best_training_job().unwrap();
    let best_of_all = jobs.iter().filter_map(objective).fold(f32::MIN, f32::max);
    assert_eq!(objective(best), Some(best_of_all));
    assert_eq!(objective(best), Some(6.5));
    assert_eq!(
        tuned(best),
        BTreeMap::from([("a".into(), "3".into()), ("b".into(), "2".into())])
    );
    let by_objective = h
        .client
        .list_training_jobs_for_hyper_parameter_tuning_job()
        .hyper_parameter_tuning_job_name("grid")
        .sort_by(TrainingJobSortByOptions::FinalObjectiveMetricValue)
        .sort_order(aws_sdk_sagemaker::types::SortOrder::Descending)
        .send()
        .await
        .unwrap();
    let ranked = by_objective.training_job_summaries();
    assert_eq!(ranked.len(), 4, "jobs without an objective are not ranked");
    assert_eq!(ranked[0].training_job_name(), best.training_job_name());

    let described = h.describe_training(best.training_job_name().unwrap()).await;
    assert_eq!(described.tuning_job_arn(), Some(arn.as_str()));
    let hps = described.hyper_parameters().unwrap();
    assert_eq!((hps["offset"].as_str(), hps["a"].as_str()), ("0.5", "3"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tuning_job_whose_training_jobs_all_fail_fails() {
    let h = Harness::start().await;
    put_train_data(&h).await;
    let code = h
        .put_code("code/fail.tar.gz", &[("train.py", "raise SystemExit(1)\n")])
        .await;
    let config = json!({
        "Strategy": "Random",
        "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "score"},
        "ResourceLimits": {"MaxNumberOfTrainingJobs": 3, "MaxParallelTrainingJobs": 2},
        "ParameterRanges": {"ContinuousParameterRanges": [{"Name": "a", "MinValue": "0.1", "MaxValue": "1"}]}
    });
    create_tuning(&h.client, tuning_request("all-fail", &code, config))
        .await
        .unwrap();
    let tuning = h.wait_for_tuning("all-fail", LIMIT).await;
    assert_eq!(
        tuning.hyper_parameter_tuning_job_status(),
        Some(&HyperParameterTuningJobStatus::Failed)
    );
    assert_eq!(
        tuning.failure_reason(),
        Some(
            "No training job succeeded after 3 attempts. Please take a look at the training job failures to get more details."
        )
    );
    let counters = tuning.training_job_status_counters().unwrap();
    assert_eq!(counters.non_retryable_error(), Some(3));
    assert_eq!(
        tuning.objective_status_counters().unwrap().failed(),
        Some(3)
    );
    assert!(tuning.best_training_job().is_none());
    let jobs = all_training_jobs(&h, "all-fail", TrainingJobSortByOptions::CreationTime).await;
    assert!(
        jobs.iter()
            .all(|j| j.failure_reason().unwrap().contains("ExitCode 1")),
        "{jobs:?}"
    );
    let values: Vec<f64> = jobs
        .iter()
        .map(|j| tuned(j)["a"].parse().unwrap())
        .collect();
    assert!(values.iter().all(|v| (0.1..=1.0).contains(v)), "{values:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_a_tuning_job_stops_its_training_jobs() {
    let h = Harness::start().await;
    put_train_data(&h).await;
    let script = "import os, time\nprint(f'pid={os.getpid()}', flush=True)\ntime.sleep(600)\n";
    let code = h
        .put_code("code/sleep.tar.gz", &[("train.py", script)])
        .await;
    create_tuning(
        &h.client,
        tuning_request("to-stop", &code, grid(&["2", "3"], &["1", "2"], 2)),
    )
    .await
    .unwrap();
    // Both parallel slots taken, neither job done: the other two wait.
    let mut pids = Vec::new();
    let deadline = std::time::Instant::now() + LIMIT;
    while pids.len() < 2 {
        let jobs = all_training_jobs(&h, "to-stop", TrainingJobSortByOptions::Name).await;
        assert!(
            jobs.len() <= 2,
            "at most MaxParallelTrainingJobs at a time: {jobs:?}"
        );
        pids = jobs
            .iter()
            .filter_map(|j| pid_in(&h.log(j.training_job_name().unwrap())))
            .collect();
        assert!(
            std::time::Instant::now() < deadline,
            "the training jobs never started"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Listed as running (what Notify's sweep looks for), by status and name.
    let running = |status: HyperParameterTuningJobStatus| {
        let client = h.client.clone();
        async move {
            client
                .list_hyper_parameter_tuning_jobs()
                .status_equals(status)
                .name_contains("TO-STOP")
                .send()
                .await
                .unwrap()
                .hyper_parameter_tuning_job_summaries()
                .iter()
                .map(|t| t.hyper_parameter_tuning_job_name().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        running(HyperParameterTuningJobStatus::InProgress).await,
        ["to-stop"]
    );
    h.client
        .stop_hyper_parameter_tuning_job()
        .hyper_parameter_tuning_job_name("to-stop")
        .send()
        .await
        .unwrap();
    let tuning = h.wait_for_tuning("to-stop", LIMIT).await;
    assert!(
        running(HyperParameterTuningJobStatus::InProgress)
            .await
            .is_empty()
    );
    assert_eq!(
        running(HyperParameterTuningJobStatus::Stopped).await,
        ["to-stop"]
    );
    assert_eq!(
        tuning.hyper_parameter_tuning_job_status(),
        Some(&HyperParameterTuningJobStatus::Stopped)
    );
    let counters = tuning.training_job_status_counters().unwrap();
    assert_eq!(
        (counters.stopped(), counters.completed()),
        (Some(2), Some(0))
    );
    let jobs = all_training_jobs(&h, "to-stop", TrainingJobSortByOptions::Name).await;
    assert_eq!(jobs.len(), 2, "no training job starts after the stop");
    assert!(
        jobs.iter()
            .all(|j| j.training_job_status() == Some(&TrainingJobStatus::Stopped))
    );
    for pid in pids {
        assert!(!alive(pid), "process {pid} outlived its stopped tuning job");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_tuning_requests_are_refused_as_sagemaker_refuses_them() {
    let h = Harness::start().await;
    let code = format!("s3://{BUCKET}/code.tar.gz");
    let mut config = grid(&["1"], &["2"], 1);
    config["HyperParameterTuningJobObjective"]["MetricName"] = json!("validation:auc");
    let err = create_tuning(&h.client, tuning_request("no-metric", &code, config))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    assert_eq!(
        err.message(),
        Some(
            "A metric is required for this hyperparameter tuning job objective. Provide a metric in the metric definitions."
        )
    );

    let mut request = tuning_request("static-and-tuned", &code, grid(&["1"], &["2"], 1));
    request["TrainingJobDefinition"]["StaticHyperParameters"]["a"] = json!("1");
    let err = create_tuning(&h.client, request).await.unwrap_err();
    assert!(
        err.message().unwrap().contains("both static and tuned"),
        "{err:?}"
    );

    let random_without_limit = json!({
        "Strategy": "Random",
        "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "score"},
        "ResourceLimits": {"MaxParallelTrainingJobs": 1},
        "ParameterRanges": {"IntegerParameterRanges": [{"Name": "a", "MinValue": "1", "MaxValue": "3"}]}
    });
    let err = create_tuning(
        &h.client,
        tuning_request("no-limit", &code, random_without_limit),
    )
    .await
    .unwrap_err();
    assert!(
        err.message().unwrap().contains("MaxNumberOfTrainingJobs"),
        "{err:?}"
    );

    // Only the definition's training jobs would fail on this; the tuning job is refused.
    let mut request = tuning_request("bad-regex", &code, grid(&["1"], &["2"], 1));
    request["TrainingJobDefinition"]["AlgorithmSpecification"]["MetricDefinitions"] =
        json!([{"Name": "score", "Regex": "(score"}]);
    let err = create_tuning(&h.client, request).await.unwrap_err();
    assert!(
        err.message()
            .unwrap()
            .starts_with("TrainingJobDefinition: "),
        "{err:?}"
    );

    let err = h
        .client
        .describe_hyper_parameter_tuning_job()
        .hyper_parameter_tuning_job_name("nope")
        .send()
        .await
        .unwrap_err();
    assert!(
        err.as_service_error().unwrap().is_resource_not_found(),
        "{err:?}"
    );

    put_train_data(&h).await;
    let code = h
        .put_code("code/score.tar.gz", &[("train.py", SCORE)])
        .await;
    create_tuning(
        &h.client,
        tuning_request("twice", &code, grid(&["2"], &["2"], 1)),
    )
    .await
    .unwrap();
    let err = create_tuning(
        &h.client,
        tuning_request("twice", &code, grid(&["2"], &["2"], 1)),
    )
    .await
    .unwrap_err();
    assert!(
        err.as_service_error().unwrap().is_resource_in_use(),
        "{err:?}"
    );
    h.wait_for_tuning("twice", LIMIT).await;
}
