//! train-and-tune against scripted SageMaker, S3 and CodePipeline: every status path ends in
//! exactly one job result, with at most one Describe and one Create call per invocation.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_sdk_codepipeline::types::FailureType;
use aws_sdk_sagemaker::Client as SageMaker;
use aws_sdk_sagemaker::operation::create_hyper_parameter_tuning_job::{
    CreateHyperParameterTuningJobError, CreateHyperParameterTuningJobInput,
    CreateHyperParameterTuningJobOutput,
};
use aws_sdk_sagemaker::operation::describe_hyper_parameter_tuning_job::DescribeHyperParameterTuningJobOutput;
use aws_sdk_sagemaker::operation::describe_training_job::DescribeTrainingJobOutput;
use aws_sdk_sagemaker::operation::stop_training_job::StopTrainingJobOutput;
use aws_sdk_sagemaker::types::error::ResourceInUse;
use aws_sdk_sagemaker::types::{
    FinalHyperParameterTuningJobObjectiveMetric, HyperParameterTrainingJobSummary,
    HyperParameterTuningJobStatus, ModelArtifacts, SecondaryStatus, TrainingJobStatus,
    TrainingJobStatusCounters,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use pipeline_core::ArtifactStore;
use serde_json::Value;
use test_support::job::{
    Results, scripted_artifacts, set_user_parameters, user_parameters, zip_of,
};
use train_and_tune::token::{Phase, State};

const TRAINING: &str = "sagemaker-cicd-churn-sklearn-9f2c1e4-3452f8ac";
const EXECUTION: &str = "3137f7cb-8b1f-4f2b-a6a5-2f1e9e6f0b5e";
const STARTED: u64 = 1_790_000_000;
const ARTIFACTS: &str = "s3://sagemaker-cicd-artifacts/models/job/output/model.tar.gz";

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(Path::parent)
        .unwrap()
}

fn event(name: &str) -> Value {
    let path = repo_root()
        .join("events/train-and-tune")
        .join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn with_token(mut event: Value, state: &State) -> Value {
    event["CodePipeline.job"]["data"]["continuationToken"] = Value::from(state.encode());
    event
}

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(STARTED + 3600)
}

fn training_config() -> String {
    std::fs::read_to_string(repo_root().join("examples/model-repo/configuration/trainingjob.json"))
        .unwrap()
}

pub const TUNING: &str = r#"{
  "HyperParameterTuningJobConfig": {
    "Strategy": "Bayesian",
    "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:accuracy"},
    "ResourceLimits": {"MaxNumberOfTrainingJobs": 6, "MaxParallelTrainingJobs": 2},
    "ParameterRanges": {
      "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2", "MaxValue": "8"}],
      "ContinuousParameterRanges": [{"Name": "learning_rate", "MinValue": "0.01", "MaxValue": "0.3", "ScalingType": "Logarithmic"}]
    }
  },
  "Tags": [{"Key": "team", "Value": "data-science"}]
}"#;

fn source(tuning: Option<&str>) -> Vec<u8> {
    let training = training_config();
    let mut files = vec![("configuration/trainingjob.json", training.as_str())];
    if let Some(tuning) = tuning {
        files.push(("configuration/tuning.json", tuning));
    }
    zip_of(&files)
}

fn describe_training(status: TrainingJobStatus) -> Rule {
    mock!(SageMaker::describe_training_job).then_output(move || {
        DescribeTrainingJobOutput::builder()
            .training_job_name(TRAINING)
            .training_job_status(status.clone())
            .secondary_status(SecondaryStatus::Completed)
            .failure_reason("AlgorithmError: exit code 1")
            .model_artifacts(
                ModelArtifacts::builder()
                    .s3_model_artifacts(ARTIFACTS)
                    .build(),
            )
            .build()
    })
}

fn describe_tuning(status: HyperParameterTuningJobStatus, best: bool) -> Rule {
    mock!(SageMaker::describe_hyper_parameter_tuning_job).then_output(move || {
        let mut b = DescribeHyperParameterTuningJobOutput::builder()
            .hyper_parameter_tuning_job_name("sagemaker-cicd-9f2c1e4-5d41402a")
            .hyper_parameter_tuning_job_status(status.clone())
            .failure_reason("No training job succeeded")
            .training_job_status_counters(
                TrainingJobStatusCounters::builder()
                    .completed(4)
                    .in_progress(2)
                    .build(),
            );
        if best {
            b = b.best_training_job(
                HyperParameterTrainingJobSummary::builder()
                    .training_job_name("sagemaker-cicd-9f2c1e4-5d41402a-004-0f1e2d3c")
                    .final_hyper_parameter_tuning_job_objective_metric(
                        FinalHyperParameterTuningJobObjectiveMetric::builder()
                            .metric_name("validation:accuracy")
                            .value(0.953)
                            .build(),
                    )
                    .build(),
            );
        }
        b.build()
    })
}

type Created = Arc<Mutex<Vec<CreateHyperParameterTuningJobInput>>>;

fn create_tuning(created: Created) -> Rule {
    mock!(SageMaker::create_hyper_parameter_tuning_job)
        .match_requests(move |r| {
            created.lock().unwrap().push(r.clone());
            true
        })
        .then_output(|| {
            CreateHyperParameterTuningJobOutput::builder()
                .hyper_parameter_tuning_job_arn("arn")
                .build()
        })
}

/// One invocation in the scripted world; returns CodePipeline's view and the rules' call counts.
async fn invoke(event: Value, rules: &[&Rule], source: Vec<u8>) -> Results {
    let sagemaker = mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, rules);
    let (store, _) = scripted_artifacts(200, source);
    invoke_with(event, &sagemaker, &store).await
}

async fn invoke_with(event: Value, sagemaker: &SageMaker, store: &ArtifactStore) -> Results {
    test_support::job::run(event, |job| {
        train_and_tune::handle(job, sagemaker, store, now())
    })
    .await
}

fn decode(token: &str) -> State {
    State::decode(token, EXECUTION, TRAINING).unwrap()
}

#[tokio::test]
async fn a_running_training_job_is_followed_with_a_token() {
    let describe = describe_training(TrainingJobStatus::InProgress);
    let results = invoke(event("training-in-progress"), &[&describe], source(None)).await;
    let (token, summary, _) = results.only_in_progress();
    let state = decode(&token);
    assert_eq!(
        (state.phase, state.started),
        (Phase::Training, STARTED + 3600)
    );
    assert!(
        summary.starts_with(&format!("Training job {TRAINING}: InProgress")),
        "{summary}"
    );
    assert_eq!(describe.num_calls(), 1);
}

#[tokio::test]
async fn without_tuning_json_the_trained_job_is_the_candidate() {
    let describe = describe_training(TrainingJobStatus::Completed);
    let results = invoke(event("training-in-progress"), &[&describe], source(None)).await;
    let (variables, summary) = results.only_done();
    assert_eq!(variables["CandidateTrainingJobName"], TRAINING);
    assert_eq!(variables["ModelArtifactsUri"], ARTIFACTS);
    assert_eq!(variables["TuningJobName"], "");
    assert_eq!(variables["ObjectiveMetricName"], "");
    assert!(summary.contains("tuning was skipped"), "{summary}");
}

#[tokio::test]
async fn a_completed_training_job_launches_tuning_once() {
    let created = Created::default();
    let (describe, create) = (
        describe_training(TrainingJobStatus::Completed),
        create_tuning(Arc::clone(&created)),
    );
    // Training took the first hour of the action.
    let following = with_token(
        event("training-in-progress"),
        &State::new(EXECUTION, TRAINING, STARTED),
    );
    let results = invoke(following, &[&describe, &create], source(Some(TUNING))).await;
    let (token, summary, percent) = results.only_in_progress();
    let state = decode(&token);
    assert_eq!(state.phase, Phase::Tuning);
    assert_eq!((describe.num_calls(), create.num_calls()), (1, 1));
    assert_eq!(percent, Some(0));

    let input = created.lock().unwrap()[0].clone();
    let name = input.hyper_parameter_tuning_job_name().unwrap();
    assert_eq!(state.tuning.as_deref(), Some(name));
    assert!(
        name.len() <= 32 && name.starts_with("sagemaker-cicd-9f2c1e4-"),
        "{name}"
    );
    assert!(summary.contains(name), "{summary}");
    let definition = input.training_job_definition().unwrap();
    let statics = definition.static_hyper_parameters().unwrap();
    assert!(!statics.contains_key("max_depth"));
    assert_eq!(statics["n_estimators"], "100");
    assert_eq!(
        definition
            .algorithm_specification()
            .unwrap()
            .metric_definitions()
            .len(),
        3
    );
    let config = input.hyper_parameter_tuning_job_config().unwrap();
    let runtime = config
        .resource_limits()
        .unwrap()
        .max_runtime_in_seconds()
        .unwrap();
    assert_eq!(
        runtime,
        86_400 - 15 * 60 - 3600 - 15 * 60,
        "tuning ends, and is seen to have ended, within what is left of the window"
    );
    let tags: Vec<_> = input
        .tags()
        .iter()
        .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()))
        .collect();
    assert!(
        tags.contains(&("team", "data-science"))
            && tags.contains(&(
                "pipeline:commit",
                "9f2c1e4d0b7a5c3e1f2a4b6c8d0e1f2a3b4c5d6e"
            )),
        "{tags:?}"
    );
}

#[tokio::test]
async fn a_duplicate_delivery_follows_the_existing_tuning_job() {
    let describe = describe_training(TrainingJobStatus::Completed);
    let create = mock!(SageMaker::create_hyper_parameter_tuning_job).then_error(|| {
        CreateHyperParameterTuningJobError::ResourceInUse(
            ResourceInUse::builder().message("exists").build(),
        )
    });
    let results = invoke(
        event("training-in-progress"),
        &[&describe, &create],
        source(Some(TUNING)),
    )
    .await;
    let (token, summary, _) = results.only_in_progress();
    assert_eq!(decode(&token).phase, Phase::Tuning);
    assert!(
        summary.contains("Following the already started tuning job"),
        "{summary}"
    );
}

#[tokio::test]
async fn failed_and_stopped_training_jobs_fail_with_the_reason() {
    for status in [TrainingJobStatus::Failed, TrainingJobStatus::Stopped] {
        let describe = describe_training(status.clone());
        let (kind, message) = invoke(
            event("training-in-progress"),
            &[&describe],
            source(Some(TUNING)),
        )
        .await
        .only_failure();
        assert_eq!(kind, FailureType::JobFailed);
        assert!(
            message.contains("AlgorithmError: exit code 1"),
            "{status:?}: {message}"
        );
    }
}

#[tokio::test]
async fn an_unknown_training_status_keeps_following() {
    let describe = describe_training(TrainingJobStatus::from("Hibernating"));
    let results = invoke(event("training-in-progress"), &[&describe], source(None)).await;
    let (_, summary, _) = results.only_in_progress();
    assert!(summary.contains("Hibernating"), "{summary}");
}

#[tokio::test]
async fn tuning_in_progress_reports_counts() {
    let describe = describe_tuning(HyperParameterTuningJobStatus::InProgress, true);
    let results = invoke(event("tuning-in-progress"), &[&describe], Vec::new()).await;
    let (token, summary, _) = results.only_in_progress();
    assert_eq!(decode(&token).phase, Phase::Tuning);
    assert!(
        summary.contains("4 completed, 2 running")
            && summary.contains("best validation:accuracy 0.953"),
        "{summary}"
    );
}

#[tokio::test]
async fn a_completed_tuning_job_leads_to_its_best_model() {
    let describe = describe_tuning(HyperParameterTuningJobStatus::Completed, true);
    let results = invoke(event("tuning-in-progress"), &[&describe], Vec::new()).await;
    let (token, _, percent) = results.only_in_progress();
    let state = decode(&token);
    assert_eq!(state.phase, Phase::Best);
    assert_eq!(percent, Some(100));

    let best = describe_training(TrainingJobStatus::Completed);
    let results = invoke(with_token(event("best"), &state), &[&best], Vec::new()).await;
    let (variables, _) = results.only_done();
    assert_eq!(
        variables["CandidateTrainingJobName"],
        "sagemaker-cicd-9f2c1e4-5d41402a-004-0f1e2d3c"
    );
    assert_eq!(variables["ObjectiveMetricName"], "validation:accuracy");
    assert_eq!(variables["ObjectiveMetricValue"], "0.953");
    assert_eq!(variables["ModelArtifactsUri"], ARTIFACTS);
    assert_eq!(
        variables["TuningJobName"],
        "sagemaker-cicd-9f2c1e4-5d41402a"
    );
}

#[tokio::test]
async fn the_sample_best_event_reads_its_token() {
    let best = describe_training(TrainingJobStatus::Completed);
    let (variables, _) = invoke(event("best"), &[&best], Vec::new())
        .await
        .only_done();
    assert_eq!(variables["ObjectiveMetricValue"], "0.953");
}

#[tokio::test]
async fn tuning_without_a_best_job_and_failed_tuning_fail() {
    let describe = describe_tuning(HyperParameterTuningJobStatus::Completed, false);
    let (_, message) = invoke(event("tuning-in-progress"), &[&describe], Vec::new())
        .await
        .only_failure();
    assert!(message.contains("without a best training job"), "{message}");
    let describe = describe_tuning(HyperParameterTuningJobStatus::Failed, false);
    let (_, message) = invoke(event("tuning-in-progress"), &[&describe], Vec::new())
        .await
        .only_failure();
    assert!(message.contains("No training job succeeded"), "{message}");
}

#[tokio::test]
async fn garbled_and_foreign_tokens_fail_clearly() {
    let describe = describe_training(TrainingJobStatus::InProgress);
    let (_, message) = invoke(event("garbled-token"), &[&describe], Vec::new())
        .await
        .only_failure();
    assert!(message.contains("garbled"), "{message}");
    let mut foreign = State::new("another-execution", TRAINING, STARTED);
    foreign.phase = Phase::Training;
    let (_, message) = invoke(
        with_token(event("training-in-progress"), &foreign),
        &[&describe],
        Vec::new(),
    )
    .await
    .only_failure();
    assert!(message.contains("another execution"), "{message}");
    assert_eq!(describe.num_calls(), 0);
}

#[tokio::test]
async fn the_window_running_out_stops_the_job_and_says_so() {
    let describe = describe_training(TrainingJobStatus::InProgress);
    let stop = mock!(SageMaker::stop_training_job)
        .match_requests(|r| r.training_job_name() == Some(TRAINING))
        .then_output(|| StopTrainingJobOutput::builder().build());
    let old = State::new(EXECUTION, TRAINING, STARTED - 86_400);
    let (kind, message) = invoke(
        with_token(event("training-in-progress"), &old),
        &[&describe, &stop],
        Vec::new(),
    )
    .await
    .only_failure();
    assert_eq!(kind, FailureType::JobFailed);
    assert!(
        message.contains("24 hours") && message.contains(&format!("{TRAINING} was stopped")),
        "{message}"
    );
    assert_eq!((stop.num_calls(), describe.num_calls()), (1, 1));
}

#[tokio::test]
async fn a_job_that_ended_as_the_window_ran_out_is_still_accepted() {
    let old = State::new(EXECUTION, TRAINING, STARTED - 86_400);
    let describe = describe_training(TrainingJobStatus::Completed);
    let (variables, _) = invoke(
        with_token(event("training-in-progress"), &old),
        &[&describe],
        source(None),
    )
    .await
    .only_done();
    assert_eq!(variables["ModelArtifactsUri"], ARTIFACTS);
}

#[tokio::test]
async fn a_describe_that_fails_through_the_retries_stops_the_followed_job() {
    let unavailable = || {
        aws_sdk_sagemaker::error::ErrorMetadata::builder()
            .code("ServiceUnavailable")
            .message("try later")
            .build()
    };
    let describe = mock!(SageMaker::describe_training_job).then_error(move || {
        aws_sdk_sagemaker::operation::describe_training_job::DescribeTrainingJobError::generic(
            unavailable(),
        )
    });
    let stop = mock!(SageMaker::stop_training_job)
        .match_requests(|r| r.training_job_name() == Some(TRAINING))
        .then_output(|| StopTrainingJobOutput::builder().build());
    let (_, message) = invoke(
        event("training-in-progress"),
        &[&describe, &stop],
        Vec::new(),
    )
    .await
    .only_failure();
    assert!(
        message.contains("DescribeTrainingJob failed: try later")
            && message.contains(&format!("The training job {TRAINING} was stopped")),
        "{message}"
    );
    assert_eq!(stop.num_calls(), 1);

    let describe = mock!(SageMaker::describe_hyper_parameter_tuning_job).then_error(move || {
        aws_sdk_sagemaker::operation::describe_hyper_parameter_tuning_job::DescribeHyperParameterTuningJobError::generic(
            unavailable(),
        )
    });
    let stop = mock!(SageMaker::stop_hyper_parameter_tuning_job)
        .match_requests(|r| r.hyper_parameter_tuning_job_name() == Some("sagemaker-cicd-9f2c1e4-5d41402a"))
        .then_output(|| {
            aws_sdk_sagemaker::operation::stop_hyper_parameter_tuning_job::StopHyperParameterTuningJobOutput::builder().build()
        });
    let (_, message) = invoke(event("tuning-in-progress"), &[&describe, &stop], Vec::new())
        .await
        .only_failure();
    assert!(
        message.contains("tuning job sagemaker-cicd-9f2c1e4-5d41402a was stopped"),
        "{message}"
    );
    assert_eq!(stop.num_calls(), 1);
}

#[tokio::test]
async fn every_strategy_is_launched() {
    let grid = r#"{"HyperParameterTuningJobConfig": {"Strategy": "Grid",
        "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:accuracy"},
        "ResourceLimits": {"MaxParallelTrainingJobs": 2},
        "ParameterRanges": {"CategoricalParameterRanges": [{"Name": "max_depth", "Values": ["3", "5", "8"]}]}}}"#;
    let hyperband = TUNING.replace("\"Bayesian\"", r#""Hyperband", "StrategyConfig": {"HyperbandStrategyConfig": {"MinResource": 1, "MaxResource": 10}}"#);
    let random = TUNING.replace("\"Bayesian\"", r#""Random", "RandomSeed": 7"#);
    for (strategy, tuning) in [
        ("Bayesian", TUNING.to_owned()),
        ("Random", random),
        ("Hyperband", hyperband),
        ("Grid", grid.to_owned()),
    ] {
        let created = Created::default();
        let (describe, create) = (
            describe_training(TrainingJobStatus::Completed),
            create_tuning(Arc::clone(&created)),
        );
        let results = invoke(
            event("training-in-progress"),
            &[&describe, &create],
            source(Some(&tuning)),
        )
        .await;
        let _ = results.only_in_progress();
        let input = created.lock().unwrap()[0].clone();
        assert_eq!(
            input
                .hyper_parameter_tuning_job_config()
                .unwrap()
                .strategy()
                .unwrap()
                .as_str(),
            strategy
        );
    }
}

#[tokio::test]
async fn missing_training_job_name_is_a_configuration_error() {
    let mut e = event("training-in-progress");
    let mut params = user_parameters(&e);
    params.as_object_mut().unwrap().remove("TrainingJobName");
    set_user_parameters(&mut e, &params);
    let (kind, message) = invoke(e, &[], Vec::new()).await.only_failure();
    assert_eq!(kind, FailureType::ConfigurationError);
    assert!(
        message.contains("#{TrainVariables.TrainingJobName}"),
        "{message}"
    );
}

/// A tuning objective whose name would break out of the JSON string CodePipeline pastes it into
/// (Evaluate's UserParameters) is not exported: the action fails naming it.
#[tokio::test]
async fn an_objective_name_that_would_add_settings_downstream_is_not_exported() {
    let injected = r#"acc","ConfigPath":"configuration/lenient.json"#;
    let best = State {
        phase: Phase::Best,
        tuning: Some("sagemaker-cicd-9f2c1e4-5d41402a".into()),
        best: Some(train_and_tune::token::Best {
            job: "sagemaker-cicd-9f2c1e4-5d41402a-004-0f1e2d3c".into(),
            metric: injected.into(),
            value: 0.953,
        }),
        ..State::new(EXECUTION, TRAINING, STARTED)
    };
    let describe = describe_training(TrainingJobStatus::Completed);
    let (kind, message) = invoke(with_token(event("best"), &best), &[&describe], Vec::new())
        .await
        .only_failure();
    assert_eq!(kind, FailureType::ConfigurationError);
    assert!(
        message.starts_with("The tuning objective (MetricName in tuning.json) is")
            && message.contains("which is not a metric name"),
        "{message}"
    );
}
