//! A hyperparameter tuning job: its training jobs, at most MaxParallelTrainingJobs at a time,
//! each with one combination of the plan decided at creation; the best objective wins.

pub mod sampler;

use std::collections::BTreeMap;
use std::sync::Arc;

use sagemaker_requests::{
    CreateHyperParameterTuningJobRequest, CreateTrainingJobRequest,
    HyperParameterTrainingJobDefinition,
};
use serde_json::{Value, json};
use tokio::task::{JoinHandle, JoinSet};

use crate::protocol::{ApiError, Timestamp};
use crate::service::Service;
use crate::state::{Objective, TrainingJob, TrainingStatus, TuningJob, TuningLink, TuningStatus};
use crate::training;
use sampler::{Combination, SplitMix64};

/// What a tuning job will do, decided when it is created.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub objective: Objective,
    pub combinations: Vec<Combination>,
}

/// The objective, the ranges and the combinations to train; errors are the
/// ValidationException messages SageMaker gives (or would give) for the request.
pub fn plan(name: &str, request: &CreateHyperParameterTuningJobRequest) -> Result<Plan, String> {
    if request.training_job_definitions.is_some() {
        return Err(
            "TrainingJobDefinitions (several algorithms) are not supported by the local \
                    SageMaker: give one TrainingJobDefinition"
                .into(),
        );
    }
    if request.warm_start_config.is_some() {
        return Err("WarmStartConfig is not supported by the local SageMaker".into());
    }
    if request.autotune.is_some() {
        return Err(
            "Autotune is not supported by the local SageMaker: give explicit ranges".into(),
        );
    }
    let definition = request
        .training_job_definition
        .as_ref()
        .ok_or("TrainingJobDefinition is required")?;
    let config = &request.hyper_parameter_tuning_job_config;
    let objective = config
        .hyper_parameter_tuning_job_objective
        .as_ref()
        .or(definition.tuning_objective.as_ref())
        .ok_or("HyperParameterTuningJobObjective is required")?;
    let defined = definition
        .algorithm_specification
        .metric_definitions
        .iter()
        .flatten()
        .any(|m| m.name == objective.metric_name);
    if !defined {
        return Err(
            "A metric is required for this hyperparameter tuning job objective. \
                    Provide a metric in the metric definitions."
                .into(),
        );
    }
    let ranges = config
        .parameter_ranges
        .as_ref()
        .or(definition.hyper_parameter_ranges.as_ref())
        .ok_or("ParameterRanges is required")?;
    let ranges = sampler::ranges(ranges)?;
    if let Some(statics) = &definition.static_hyper_parameters
        && let Some(both) = ranges.iter().find(|r| statics.contains_key(r.name()))
    {
        return Err(format!(
            "hyperparameter `{}` is both static and tuned: remove it from StaticHyperParameters or from the ranges",
            both.name()
        ));
    }
    let limit = config.resource_limits.max_number_of_training_jobs;
    let limit = limit.map(|n| usize::try_from(n).unwrap_or(0));
    let combinations = if config.strategy == "Grid" {
        sampler::grid(&ranges, limit)?
    } else {
        let count = limit.ok_or_else(|| {
            format!(
                "ResourceLimits.MaxNumberOfTrainingJobs is required for the {} strategy",
                config.strategy
            )
        })?;
        let seed = config
            .random_seed
            .map_or_else(|| sampler::seed_from(name), |s| s as u64);
        sampler::random(&ranges, count, seed)
    };
    if combinations.is_empty() {
        return Err("the tuning job would run no training job".into());
    }
    Ok(Plan {
        objective: Objective {
            metric_name: objective.metric_name.clone(),
            maximize: objective.r#type == "Maximize",
        },
        combinations,
    })
}

/// `<tuning job>-<NNN>-<8 hex digits>`, as SageMaker names a tuning job's training jobs.
pub fn training_job_name(tuning_job: &str, index: usize) -> String {
    let mut rng = SplitMix64(sampler::seed_from(tuning_job) ^ index as u64);
    let suffix = rng.next_u64() as u32;
    format!("{tuning_job}-{:03}-{suffix:08x}", index + 1)
}

/// The CreateTrainingJob request a tuning job makes for one combination: the definition's
/// members that a training job has, its static and tuned hyperparameters, and its name.
pub fn training_request(
    definition: &HyperParameterTrainingJobDefinition,
    name: &str,
    tuned: &Combination,
) -> Result<CreateTrainingJobRequest, String> {
    let mut value = serde_json::to_value(definition).map_err(|e| e.to_string())?;
    let Value::Object(members) = &mut value else {
        return Err("TrainingJobDefinition is not an object".into());
    };
    for tuning_only in [
        "DefinitionName",
        "TuningObjective",
        "HyperParameterRanges",
        "StaticHyperParameters",
        "HyperParameterTuningResourceConfig",
    ] {
        members.remove(tuning_only);
    }
    let mut hyperparameters: BTreeMap<String, String> = definition
        .static_hyper_parameters
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    hyperparameters.extend(tuned.clone());
    members.insert("TrainingJobName".into(), json!(name));
    members.insert("HyperParameters".into(), json!(hyperparameters));
    if !members.contains_key("ResourceConfig")
        && let Some(resources) = &definition.hyper_parameter_tuning_resource_config
    {
        members.insert(
            "ResourceConfig".into(),
            json!({
                "InstanceType": resources.instance_type,
                "InstanceCount": resources.instance_count,
                "VolumeSizeInGB": resources.volume_size_in_gb.unwrap_or(1),
            }),
        );
    }
    serde_json::from_value(value).map_err(|e| format!("TrainingJobDefinition: {e}"))
}

/// Whether a finished training job gave the tuning job its objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectiveStatus {
    Succeeded,
    Pending,
    Failed,
}

impl ObjectiveStatus {
    pub fn of(job: &TrainingJob, objective: &Objective) -> Self {
        match job.status {
            TrainingStatus::InProgress | TrainingStatus::Stopping => ObjectiveStatus::Pending,
            TrainingStatus::Failed => ObjectiveStatus::Failed,
            TrainingStatus::Completed | TrainingStatus::Stopped => {
                if job.metric(&objective.metric_name).is_some() {
                    ObjectiveStatus::Succeeded
                } else {
                    ObjectiveStatus::Failed
                }
            }
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ObjectiveStatus::Succeeded => "Succeeded",
            ObjectiveStatus::Pending => "Pending",
            ObjectiveStatus::Failed => "Failed",
        }
    }
}

/// The job with the best objective value; the earlier one on a tie.
pub fn best<'a>(
    jobs: impl IntoIterator<Item = &'a TrainingJob>,
    objective: &Objective,
) -> Option<&'a TrainingJob> {
    let mut best: Option<(&TrainingJob, f64)> = None;
    for job in jobs {
        if ObjectiveStatus::of(job, objective) != ObjectiveStatus::Succeeded {
            continue;
        }
        let Some(value) = job.metric(&objective.metric_name) else {
            continue;
        };
        if best.is_none_or(|(_, incumbent)| objective.better(value, incumbent)) {
            best = Some((job, value));
        }
    }
    best.map(|(job, _)| job)
}

/// Runs the tuning job (already in the store) in the background.
pub fn spawn(service: &Arc<Service>, name: String) -> JoinHandle<()> {
    let service = Arc::clone(service);
    let tasks = service.tasks.clone();
    tasks.spawn(async move { run(&service, &name).await })
}

async fn run(service: &Arc<Service>, name: &str) {
    let found = service.store().tuning_job(name).map(|job| {
        let config = &job.request.hyper_parameter_tuning_job_config;
        let parallel = usize::try_from(config.resource_limits.max_parallel_training_jobs)
            .unwrap_or(1)
            .max(1);
        let target = config
            .tuning_job_completion_criteria
            .as_ref()
            .and_then(|c| c.target_objective_metric_value)
            .map(f64::from);
        (
            job.plan.len(),
            parallel,
            target,
            job.stop.clone(),
            job.objective.clone(),
        )
    });
    let Some((planned, parallel, target, stop, objective)) = found else {
        return;
    };
    let mut running = JoinSet::new();
    let mut next = 0;
    let mut stopping = false;
    let mut target_reached = false;
    loop {
        while !stopping && !target_reached && running.len() < parallel && next < planned {
            match launch(service, name, next) {
                Ok(handle) => {
                    running.spawn(handle);
                }
                Err(e) => {
                    tracing::error!(tuning_job = name, error = %e, "training job not launched")
                }
            }
            next += 1;
        }
        if running.is_empty() {
            break;
        }
        tokio::select! {
            _ = running.join_next() => {
                if let Some(target) = target {
                    target_reached = reached(service, name, &objective, target);
                }
            }
            () = stop.cancelled(), if !stopping => {
                // The training jobs' stop tokens descend from this one: they stop too.
                stopping = true;
                service.update_tuning(name, |job| {
                    job.status = TuningStatus::Stopping;
                    job.last_modified_time = Timestamp::now();
                });
            }
        }
    }
    finish(service, name, stopping, &objective);
}

/// Creates and starts training job number `index` of the plan.
fn launch(
    service: &Arc<Service>,
    tuning_job: &str,
    index: usize,
) -> Result<JoinHandle<()>, ApiError> {
    let mut store = service.store();
    let tuning = store
        .tuning_job(tuning_job)
        .ok_or_else(|| ApiError::internal(format!("tuning job {tuning_job} vanished")))?;
    let definition = tuning
        .request
        .training_job_definition
        .as_ref()
        .ok_or_else(|| ApiError::internal("no TrainingJobDefinition"))?;
    let tuned = tuning.plan[index].clone();
    let name = training_job_name(&tuning.name, index);
    let request = training_request(definition, &name, &tuned).map_err(ApiError::validation)?;
    let link = TuningLink {
        name: tuning.name.clone(),
        arn: tuning.arn.clone(),
        definition_name: definition.definition_name.clone(),
        tuned,
    };
    let stop = tuning.stop.child_token();
    let arn = service.settings.arn("training-job", &name);
    let job = TrainingJob::new(name.clone(), arn, request, Some(link), stop);
    store.training.insert(name.to_ascii_lowercase(), job);
    if let Some(tuning) = store.tuning_job_mut(tuning_job) {
        tuning.training_jobs.push(name.clone());
        tuning.last_modified_time = Timestamp::now();
    }
    drop(store);
    tracing::info!(tuning_job, training_job = name, "training job launched");
    Ok(training::spawn(service, name))
}

fn reached(service: &Service, name: &str, objective: &Objective, target: f64) -> bool {
    let store = service.store();
    let Some(tuning) = store.tuning_job(name) else {
        return false;
    };
    let jobs = tuning
        .training_jobs
        .iter()
        .filter_map(|n| store.training_job(n));
    best(jobs, objective)
        .and_then(|job| job.metric(&objective.metric_name))
        .is_some_and(|value| value == target || objective.better(value, target))
}

fn finish(service: &Service, name: &str, stopped: bool, objective: &Objective) {
    let mut store = service.store();
    let (launched, succeeded) = match store.tuning_job(name) {
        Some(tuning) => {
            let jobs: Vec<_> = tuning
                .training_jobs
                .iter()
                .filter_map(|n| store.training_job(n))
                .collect();
            let succeeded = jobs
                .iter()
                .any(|j| ObjectiveStatus::of(j, objective) == ObjectiveStatus::Succeeded);
            (jobs.len(), succeeded)
        }
        None => return,
    };
    let Some(tuning) = store.tuning_job_mut(name) else {
        return;
    };
    let now = Timestamp::now();
    tuning.status = if stopped {
        TuningStatus::Stopped
    } else if succeeded {
        TuningStatus::Completed
    } else {
        tuning.failure_reason = Some(format!(
            "No training job succeeded after {launched} attempts. Please take a look at the \
             training job failures to get more details."
        ));
        TuningStatus::Failed
    };
    tuning.end_time = Some(now);
    tuning.last_modified_time = now;
    tracing::info!(
        tuning_job = name,
        status = tuning.status.as_str(),
        "tuning job ended"
    );
}

/// A new tuning job record.
pub fn record(
    name: String,
    arn: String,
    request: CreateHyperParameterTuningJobRequest,
    plan: Plan,
    stop: tokio_util::sync::CancellationToken,
) -> TuningJob {
    let now = Timestamp::now();
    let tags = request.tags.clone().unwrap_or_default();
    TuningJob {
        name,
        arn,
        request,
        objective: plan.objective,
        plan: plan.combinations,
        status: TuningStatus::InProgress,
        failure_reason: None,
        creation_time: now,
        end_time: None,
        last_modified_time: now,
        training_jobs: Vec::new(),
        tags,
        stop,
    }
}

#[cfg(test)]
mod tests {
    use tokio_util::sync::CancellationToken;

    use super::*;

    fn request(config: Value) -> CreateHyperParameterTuningJobRequest {
        serde_json::from_value(json!({
            "HyperParameterTuningJobName": "tune",
            "HyperParameterTuningJobConfig": config,
            "TrainingJobDefinition": {
                "AlgorithmSpecification": {
                    "TrainingImage": "img",
                    "TrainingInputMode": "File",
                    "MetricDefinitions": [{"Name": "validation:accuracy", "Regex": "acc: ([0-9.]+)"}]
                },
                "RoleArn": "arn:aws:iam::123456789012:role/R",
                "OutputDataConfig": {"S3OutputPath": "s3://b/out"},
                "HyperParameterTuningResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
                "StaticHyperParameters": {"sagemaker_program": "train.py", "seed": "1"},
                "StoppingCondition": {"MaxRuntimeInSeconds": 60}
            }
        }))
        .unwrap()
    }

    fn config(strategy: &str, metric: &str) -> Value {
        json!({
            "Strategy": strategy,
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": metric},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {
                "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "1", "MaxValue": "9"}],
                "CategoricalParameterRanges": [{"Name": "criterion", "Values": ["gini", "entropy"]}]
            }
        })
    }

    #[test]
    fn random_plans_as_many_jobs_as_allowed() {
        let plan = plan("tune", &request(config("Random", "validation:accuracy"))).unwrap();
        assert_eq!(plan.combinations.len(), 4);
        assert!(plan.objective.maximize);
        let bayesian = super::plan("tune", &request(config("Bayesian", "validation:accuracy")));
        assert_eq!(bayesian.unwrap().combinations, plan.combinations);
    }

    #[test]
    fn the_objective_must_be_a_defined_metric() {
        let err = plan("tune", &request(config("Random", "test:auc"))).unwrap_err();
        assert!(err.starts_with("A metric is required"), "{err}");
    }

    #[test]
    fn grid_refuses_numeric_ranges() {
        let err = plan("tune", &request(config("Grid", "validation:accuracy"))).unwrap_err();
        assert!(err.contains("only categorical"), "{err}");
    }

    #[test]
    fn a_training_request_merges_static_and_tuned_values() {
        let request = request(config("Random", "validation:accuracy"));
        let definition = request.training_job_definition.as_ref().unwrap();
        let tuned = Combination::from([("max_depth".to_owned(), "3".to_owned())]);
        let training = training_request(definition, "tune-001-abcdef12", &tuned).unwrap();
        assert_eq!(
            training.training_job_name.as_deref(),
            Some("tune-001-abcdef12")
        );
        let hps = training.hyper_parameters.unwrap();
        assert_eq!(
            (hps["max_depth"].as_str(), hps["seed"].as_str()),
            ("3", "1")
        );
        let resources = training.resource_config.unwrap();
        assert_eq!(resources.instance_type.as_deref(), Some("ml.m5.large"));
        assert_eq!(
            training
                .algorithm_specification
                .unwrap()
                .metric_definitions
                .unwrap()[0]
                .name,
            "validation:accuracy"
        );
    }

    #[test]
    fn training_job_names_follow_sagemaker() {
        let name = training_job_name("tune", 0);
        let pattern = regex::Regex::new("^tune-001-[0-9a-f]{8}$").unwrap();
        assert!(pattern.is_match(&name), "{name}");
        assert_eq!(name, training_job_name("tune", 0));
        assert_ne!(name[9..], training_job_name("tune", 1)[9..]);
        assert_eq!(
            &training_job_name("a-32-character-tuning-job-name-x", 99)[33..36],
            "100"
        );
    }

    #[test]
    fn the_best_job_has_the_best_objective_and_the_earlier_wins_a_tie() {
        let objective = Objective {
            metric_name: "acc".into(),
            maximize: true,
        };
        let job = |name: &str, value: Option<f64>, status: TrainingStatus| {
            let request: CreateTrainingJobRequest = serde_json::from_value(json!({
                "TrainingJobName": name,
                "RoleArn": "arn:aws:iam::123456789012:role/R",
                "OutputDataConfig": {"S3OutputPath": "s3://b/out"},
            }))
            .unwrap();
            let mut job = TrainingJob::new(
                name.into(),
                name.into(),
                request,
                None,
                CancellationToken::new(),
            );
            job.status = status;
            if let Some(value) = value {
                job.final_metrics.push(crate::state::MetricValue {
                    name: "acc".into(),
                    value,
                    timestamp: Timestamp::now(),
                });
            }
            job
        };
        let jobs = [
            job("a", Some(0.8), TrainingStatus::Completed),
            job("b", Some(0.9), TrainingStatus::Completed),
            job("c", Some(0.9), TrainingStatus::Completed),
            job("d", Some(0.99), TrainingStatus::Failed),
            job("e", None, TrainingStatus::Completed),
            job("f", Some(1.0), TrainingStatus::InProgress),
        ];
        assert_eq!(best(&jobs, &objective).unwrap().name, "b");
        let statuses: Vec<_> = jobs
            .iter()
            .map(|j| ObjectiveStatus::of(j, &objective))
            .collect();
        use ObjectiveStatus::*;
        assert_eq!(
            statuses,
            [Succeeded, Succeeded, Succeeded, Failed, Failed, Pending]
        );
        let minimize = Objective {
            maximize: false,
            ..objective
        };
        assert_eq!(best(&jobs, &minimize).unwrap().name, "a");
    }
}
