//! CreateTrainingJob, DescribeTrainingJob, StopTrainingJob, ListTrainingJobs.

use std::sync::Arc;

use axum::response::Response;
use sagemaker_requests::CreateTrainingJobRequest;
use serde::Deserialize;
use serde_json::json;

use super::{JobQuery, Listed, page};
use crate::protocol::{self, ApiError, Timestamp, json_response};
use crate::service::Service;
use crate::shapes::{self, TrainingJobSummary};
use crate::state::{Secondary, TrainingJob, TrainingStatus};
use crate::{training, validate};

/// What SageMaker answers for a training job it does not have (a ValidationException, not
/// the ResourceNotFound its model lists).
pub fn not_found() -> ApiError {
    ApiError::validation("Requested resource not found.")
}

pub fn create(service: &Arc<Service>, body: &[u8]) -> Result<Response, ApiError> {
    let request: CreateTrainingJobRequest = protocol::parse(body)?;
    let name = validate::training_job(&request)?;
    let arn = service.settings.arn("training-job", &name);
    {
        let mut store = service.store();
        if let Some(existing) = store.training_job(&name) {
            return Err(ApiError::in_use(format!(
                "Training job names must be unique within an AWS account and region, and a \
                 training job with this name already exists ({})",
                existing.arn
            )));
        }
        let stop = service.shutdown.child_token();
        let job = TrainingJob::new(name.clone(), arn.clone(), request, None, stop);
        store.training.insert(name.to_ascii_lowercase(), job);
    }
    tracing::info!(training_job = name, "training job created");
    training::spawn(service, name);
    Ok(json_response(&json!({ "TrainingJobArn": arn })))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct ByName {
    training_job_name: String,
}

pub fn describe(service: &Service, body: &[u8]) -> Result<Response, ApiError> {
    let request: ByName = protocol::parse(body)?;
    let store = service.store();
    let job = store
        .training_job(&request.training_job_name)
        .ok_or_else(not_found)?;
    Ok(json_response(&shapes::describe_training_job(job)?))
}

pub fn stop(service: &Service, body: &[u8]) -> Result<Response, ApiError> {
    let request: ByName = protocol::parse(body)?;
    let mut store = service.store();
    let job = store
        .training_job_mut(&request.training_job_name)
        .ok_or_else(not_found)?;
    match job.status {
        TrainingStatus::InProgress => {
            job.status = TrainingStatus::Stopping;
            job.transition(Secondary::Stopping);
            job.stop.cancel();
            tracing::info!(training_job = job.name, "stopping");
        }
        // Stopping twice is stopping once.
        TrainingStatus::Stopping => {}
        done => {
            return Err(ApiError::validation(format!(
                "The training job {} cannot be stopped: its status is {}",
                job.name,
                done.as_str()
            )));
        }
    }
    Ok(json_response(&json!({})))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct ListTrainingJobs {
    next_token: Option<String>,
    max_results: Option<i32>,
    creation_time_after: Option<Timestamp>,
    creation_time_before: Option<Timestamp>,
    last_modified_time_after: Option<Timestamp>,
    last_modified_time_before: Option<Timestamp>,
    name_contains: Option<String>,
    status_equals: Option<String>,
    sort_by: Option<String>,
    sort_order: Option<String>,
    #[allow(
        dead_code,
        reason = "no warm pools here: accepted, matches nothing special"
    )]
    warm_pool_status_equals: Option<String>,
    #[allow(dead_code, reason = "no training plans here")]
    training_plan_arn_equals: Option<String>,
}

impl Listed for TrainingJob {
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
    let request: ListTrainingJobs = protocol::parse(body)?;
    let store = service.store();
    let jobs = JobQuery {
        name_contains: request.name_contains.as_deref(),
        status_equals: request.status_equals.as_deref(),
        creation_time_after: request.creation_time_after,
        creation_time_before: request.creation_time_before,
        last_modified_time_after: request.last_modified_time_after,
        last_modified_time_before: request.last_modified_time_before,
        sort_by: request.sort_by.as_deref(),
        sort_order: request.sort_order.as_deref(),
    }
    .select(store.training.values())?;
    let (jobs, next_token) = page(jobs, request.next_token.as_deref(), request.max_results)?;
    let summaries: Vec<TrainingJobSummary> = jobs.into_iter().map(Into::into).collect();
    let mut answer = json!({ "TrainingJobSummaries": summaries });
    if let Some(token) = next_token {
        answer["NextToken"] = json!(token);
    }
    Ok(json_response(&answer))
}
