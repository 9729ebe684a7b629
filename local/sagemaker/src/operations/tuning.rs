//! CreateHyperParameterTuningJob, DescribeHyperParameterTuningJob,
//! StopHyperParameterTuningJob, ListTrainingJobsForHyperParameterTuningJob,
//! ListHyperParameterTuningJobs.

use std::cmp::Ordering;
use std::sync::Arc;

use axum::response::Response;
use sagemaker_requests::CreateHyperParameterTuningJobRequest;
use serde::Deserialize;
use serde_json::json;

use super::{JobQuery, Listed, descending, page};
use crate::protocol::{self, ApiError, Timestamp, json_response};
use crate::service::Service;
use crate::shapes::{
    self, ConsumedResources, HyperParameterTrainingJobSummary, ObjectiveStatusCounters,
    TrainingJobStatusCounters, TuningJobState,
};
use crate::state::{TrainingJob, TrainingStatus, TuningJob, TuningStatus};
use crate::tuning::{self, ObjectiveStatus};
use crate::validate;

fn not_found(name: &str) -> ApiError {
    ApiError::not_found(format!(
        "Amazon SageMaker can't find a tuning job with name {name}"
    ))
}

pub fn create(service: &Arc<Service>, body: &[u8]) -> Result<Response, ApiError> {
    let request: CreateHyperParameterTuningJobRequest = protocol::parse(body)?;
    let name = validate::tuning_job(&request)?;
    let plan = tuning::plan(&name, &request).map_err(ApiError::validation)?;
    // The first training job stands for all: what it would refuse, the tuning job refuses.
    let definition = request
        .training_job_definition
        .as_ref()
        .ok_or_else(|| ApiError::validation("TrainingJobDefinition is required"))?;
    let first = tuning::training_request(
        definition,
        &tuning::training_job_name(&name, 0),
        &plan.combinations[0],
    )
    .map_err(ApiError::validation)?;
    validate::training_job(&first)
        .map_err(|e| ApiError::validation(format!("TrainingJobDefinition: {}", e.message)))?;

    let arn = service.settings.arn("hyper-parameter-tuning-job", &name);
    {
        let mut store = service.store();
        if store.tuning_job(&name).is_some() {
            return Err(ApiError::in_use(format!(
                "Hyperparameter tuning job names must be unique within an AWS account and \
                 region, and a hyperparameter tuning job with this name already exists ({arn})"
            )));
        }
        let mut request = request;
        request.hyper_parameter_tuning_job_name = Some(name.clone());
        let stop = service.shutdown.child_token();
        let record = tuning::record(name.clone(), arn.clone(), request, plan, stop);
        store.tuning.insert(name.to_ascii_lowercase(), record);
    }
    tracing::info!(tuning_job = name, "tuning job created");
    tuning::spawn(service, name);
    Ok(json_response(&json!({ "HyperParameterTuningJobArn": arn })))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct ByName {
    hyper_parameter_tuning_job_name: String,
}

fn jobs_of<'a>(store: &'a crate::state::Store, tuning: &TuningJob) -> Vec<&'a TrainingJob> {
    tuning
        .training_jobs
        .iter()
        .filter_map(|name| store.training_job(name))
        .collect()
}

/// What a tuning job's training jobs came to: by status, and by objective.
fn counters(
    jobs: &[&TrainingJob],
    tuning: &TuningJob,
) -> (TrainingJobStatusCounters, ObjectiveStatusCounters) {
    let mut status_counters = TrainingJobStatusCounters::default();
    let mut objective_counters = ObjectiveStatusCounters::default();
    for job in jobs {
        match job.status {
            TrainingStatus::Completed => status_counters.completed += 1,
            TrainingStatus::InProgress | TrainingStatus::Stopping => {
                status_counters.in_progress += 1;
            }
            TrainingStatus::Failed => status_counters.non_retryable_error += 1,
            TrainingStatus::Stopped => status_counters.stopped += 1,
        }
        match ObjectiveStatus::of(job, &tuning.objective) {
            ObjectiveStatus::Succeeded => objective_counters.succeeded += 1,
            ObjectiveStatus::Pending => objective_counters.pending += 1,
            ObjectiveStatus::Failed => objective_counters.failed += 1,
        }
    }
    (status_counters, objective_counters)
}

pub fn describe(service: &Service, body: &[u8]) -> Result<Response, ApiError> {
    let request: ByName = protocol::parse(body)?;
    let store = service.store();
    let name = &request.hyper_parameter_tuning_job_name;
    let tuning = store.tuning_job(name).ok_or_else(|| not_found(name))?;
    let jobs = jobs_of(&store, tuning);
    let (status_counters, objective_counters) = counters(&jobs, tuning);
    let best = tuning::best(jobs.iter().copied(), &tuning.objective)
        .and_then(|job| HyperParameterTrainingJobSummary::of(job, &tuning.objective));
    let runtime = tuning
        .creation_time
        .seconds_until(tuning.end_time.unwrap_or_else(Timestamp::now));
    let state = TuningJobState {
        hyper_parameter_tuning_job_name: &tuning.name,
        hyper_parameter_tuning_job_arn: &tuning.arn,
        hyper_parameter_tuning_job_status: tuning.status.as_str(),
        creation_time: tuning.creation_time,
        hyper_parameter_tuning_end_time: tuning.end_time,
        last_modified_time: tuning.last_modified_time,
        training_job_status_counters: status_counters,
        objective_status_counters: objective_counters,
        best_training_job: best,
        failure_reason: tuning.failure_reason.as_deref(),
        consumed_resources: ConsumedResources {
            runtime_in_seconds: runtime,
        },
    };
    let mut answer = shapes::object(&tuning.request)?;
    answer.remove("Tags");
    answer.extend(shapes::object(&state)?);
    Ok(json_response(&answer))
}

pub fn stop(service: &Service, body: &[u8]) -> Result<Response, ApiError> {
    let request: ByName = protocol::parse(body)?;
    let mut store = service.store();
    let name = &request.hyper_parameter_tuning_job_name;
    let tuning = store.tuning_job_mut(name).ok_or_else(|| not_found(name))?;
    match tuning.status {
        TuningStatus::InProgress => {
            tuning.status = TuningStatus::Stopping;
            tuning.last_modified_time = Timestamp::now();
            tuning.stop.cancel();
            tracing::info!(tuning_job = tuning.name, "stopping");
        }
        TuningStatus::Stopping => {}
        done => {
            return Err(ApiError::validation(format!(
                "The hyperparameter tuning job {} cannot be stopped: its status is {}",
                tuning.name,
                done.as_str()
            )));
        }
    }
    Ok(json_response(&json!({})))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct ListTrainingJobsFor {
    hyper_parameter_tuning_job_name: String,
    next_token: Option<String>,
    max_results: Option<i32>,
    status_equals: Option<String>,
    sort_by: Option<String>,
    sort_order: Option<String>,
}

pub fn list_training_jobs(service: &Service, body: &[u8]) -> Result<Response, ApiError> {
    let request: ListTrainingJobsFor = protocol::parse(body)?;
    let descending = descending(request.sort_order.as_deref())?;
    let store = service.store();
    let name = &request.hyper_parameter_tuning_job_name;
    let tuning = store.tuning_job(name).ok_or_else(|| not_found(name))?;
    let objective = &tuning.objective;
    let mut jobs: Vec<&TrainingJob> = jobs_of(&store, tuning)
        .into_iter()
        .filter(|job| {
            request
                .status_equals
                .as_deref()
                .is_none_or(|s| s == job.status.as_str())
        })
        .collect();
    match request.sort_by.as_deref().unwrap_or("Name") {
        "Name" => jobs.sort_by(|a, b| a.name.cmp(&b.name)),
        "CreationTime" => jobs.sort_by_key(|j| (j.creation_time, j.name.clone())),
        "Status" => jobs.sort_by_key(|j| (j.status.as_str(), j.name.clone())),
        "FinalObjectiveMetricValue" => {
            // Jobs without an objective value are not listed, as on SageMaker.
            jobs.retain(|j| ObjectiveStatus::of(j, objective) == ObjectiveStatus::Succeeded);
            jobs.sort_by(|a, b| {
                let (a, b) = (
                    a.metric(&objective.metric_name),
                    b.metric(&objective.metric_name),
                );
                a.partial_cmp(&b).unwrap_or(Ordering::Equal)
            });
        }
        other => {
            return Err(ApiError::validation(format!(
                "SortBy `{other}` is not Name, CreationTime, Status or FinalObjectiveMetricValue"
            )));
        }
    }
    if descending {
        jobs.reverse();
    }
    let (jobs, next_token) = page(jobs, request.next_token.as_deref(), request.max_results)?;
    let summaries: Vec<HyperParameterTrainingJobSummary> = jobs
        .into_iter()
        .filter_map(|job| HyperParameterTrainingJobSummary::of(job, objective))
        .collect();
    let mut answer = json!({ "TrainingJobSummaries": summaries });
    if let Some(token) = next_token {
        answer["NextToken"] = json!(token);
    }
    Ok(json_response(&answer))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct ListTuningJobs {
    next_token: Option<String>,
    max_results: Option<i32>,
    sort_by: Option<String>,
    sort_order: Option<String>,
    name_contains: Option<String>,
    creation_time_after: Option<Timestamp>,
    creation_time_before: Option<Timestamp>,
    last_modified_time_after: Option<Timestamp>,
    last_modified_time_before: Option<Timestamp>,
    status_equals: Option<String>,
}

/// ListHyperParameterTuningJobs: what the Notify function sweeps (the InProgress jobs of a
/// stack) and what `aws sagemaker list-hyper-parameter-tuning-jobs` shows.
impl Listed for TuningJob {
    fn name(&self) -> &str {
        &self.name
    }
    fn status(&self) -> &'static str {
        self.status.as_str()
    }
    fn created(&self) -> Timestamp {
        self.creation_time
    }
    fn modified(&self) -> Timestamp {
        self.last_modified_time
    }
}

pub fn list(service: &Service, body: &[u8]) -> Result<Response, ApiError> {
    let request: ListTuningJobs = protocol::parse(body)?;
    let store = service.store();
    let tunings = JobQuery {
        name_contains: request.name_contains.as_deref(),
        status_equals: request.status_equals.as_deref(),
        creation_time_after: request.creation_time_after,
        creation_time_before: request.creation_time_before,
        last_modified_time_after: request.last_modified_time_after,
        last_modified_time_before: request.last_modified_time_before,
        sort_by: request.sort_by.as_deref(),
        sort_order: request.sort_order.as_deref(),
    }
    .select(store.tuning.values())?;
    let (tunings, next_token) = page(tunings, request.next_token.as_deref(), request.max_results)?;
    let summaries: Vec<serde_json::Value> = tunings
        .into_iter()
        .map(|t| {
            let (status_counters, objective_counters) = counters(&jobs_of(&store, t), t);
            let config = &t.request.hyper_parameter_tuning_job_config;
            json!({
                "HyperParameterTuningJobName": t.name,
                "HyperParameterTuningJobArn": t.arn,
                "HyperParameterTuningJobStatus": t.status.as_str(),
                "Strategy": config.strategy,
                "CreationTime": t.creation_time,
                "HyperParameterTuningEndTime": t.end_time,
                "LastModifiedTime": t.last_modified_time,
                "TrainingJobStatusCounters": status_counters,
                "ObjectiveStatusCounters": objective_counters,
                "ResourceLimits": config.resource_limits,
            })
        })
        .collect();
    let mut answer = json!({ "HyperParameterTuningJobSummaries": summaries });
    if let Some(token) = next_token {
        answer["NextToken"] = json!(token);
    }
    Ok(json_response(&answer))
}
