//! Response shapes, member for member as the SageMaker API reference names them. Members
//! that echo the request are serialized from the request's own (generated) types.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::protocol::{ApiError, Timestamp};
use crate::state::{MetricValue, Objective, TrainingJob, Transition};
use crate::tuning::ObjectiveStatus;

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModelArtifacts<'a> {
    pub s3_model_artifacts: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecondaryStatusTransition<'a> {
    pub status: &'static str,
    pub start_time: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<Timestamp>,
    pub status_message: &'a str,
}

impl<'a> From<&'a Transition> for SecondaryStatusTransition<'a> {
    fn from(t: &'a Transition) -> Self {
        Self {
            status: t.status.as_str(),
            start_time: t.start,
            end_time: t.end,
            status_message: &t.message,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricData<'a> {
    pub metric_name: &'a str,
    pub value: f64,
    pub timestamp: Timestamp,
}

impl<'a> From<&'a MetricValue> for MetricData<'a> {
    fn from(m: &'a MetricValue) -> Self {
        Self {
            metric_name: &m.name,
            value: m.value,
            timestamp: m.timestamp,
        }
    }
}

/// The members of DescribeTrainingJob's answer that are not in the request.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TrainingJobState<'a> {
    pub training_job_name: &'a str,
    pub training_job_arn: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tuning_job_arn: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_artifacts: Option<ModelArtifacts<'a>>,
    pub training_job_status: &'static str,
    pub secondary_status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<&'a str>,
    pub creation_time: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training_start_time: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training_end_time: Option<Timestamp>,
    pub last_modified_time: Timestamp,
    pub secondary_status_transitions: Vec<SecondaryStatusTransition<'a>>,
    pub final_metric_data_list: Vec<MetricData<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training_time_in_seconds: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billable_time_in_seconds: Option<i32>,
}

/// DescribeTrainingJob's answer: the request as accepted (less what Describe does not
/// return), SageMaker's defaults, and the job's state.
pub fn describe_training_job(job: &TrainingJob) -> Result<Map<String, Value>, ApiError> {
    let mut out = object(&job.request)?;
    for not_described in ["Tags", "SessionChainingConfig"] {
        out.remove(not_described);
    }
    let defaults = [
        (
            "StoppingCondition",
            serde_json::json!({ "MaxRuntimeInSeconds": 86400 }),
        ),
        ("EnableNetworkIsolation", Value::Bool(false)),
        ("EnableInterContainerTrafficEncryption", Value::Bool(false)),
        ("EnableManagedSpotTraining", Value::Bool(false)),
    ];
    for (member, value) in defaults {
        out.entry(member).or_insert(value);
    }
    let seconds = match (job.training_start_time, job.training_end_time) {
        (Some(start), Some(end)) => Some(start.seconds_until(end)),
        _ => None,
    };
    let state = TrainingJobState {
        training_job_name: &job.name,
        training_job_arn: &job.arn,
        tuning_job_arn: job.tuning.as_ref().map(|t| t.arn.as_str()),
        model_artifacts: job.model_artifacts.as_deref().map(|uri| ModelArtifacts {
            s3_model_artifacts: uri,
        }),
        training_job_status: job.status.as_str(),
        secondary_status: job.secondary().as_str(),
        failure_reason: job.failure_reason.as_deref(),
        creation_time: job.creation_time,
        training_start_time: job.training_start_time,
        training_end_time: job.training_end_time,
        last_modified_time: job.last_modified_time,
        secondary_status_transitions: job.transitions.iter().map(Into::into).collect(),
        final_metric_data_list: job.final_metrics.iter().map(Into::into).collect(),
        training_time_in_seconds: seconds,
        billable_time_in_seconds: seconds,
    };
    out.extend(object(&state)?);
    Ok(out)
}

/// A value serialized as a JSON object.
pub fn object<T: Serialize>(value: &T) -> Result<Map<String, Value>, ApiError> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(ApiError::internal(format!("not an object: {other}"))),
        Err(e) => Err(ApiError::internal(format!("cannot encode: {e}"))),
    }
}

/// One entry of ListTrainingJobs.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TrainingJobSummary<'a> {
    pub training_job_name: &'a str,
    pub training_job_arn: &'a str,
    pub creation_time: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training_end_time: Option<Timestamp>,
    pub last_modified_time: Timestamp,
    pub training_job_status: &'static str,
    pub secondary_status: &'static str,
}

impl<'a> From<&'a TrainingJob> for TrainingJobSummary<'a> {
    fn from(job: &'a TrainingJob) -> Self {
        Self {
            training_job_name: &job.name,
            training_job_arn: &job.arn,
            creation_time: job.creation_time,
            training_end_time: job.training_end_time,
            last_modified_time: job.last_modified_time,
            training_job_status: job.status.as_str(),
            secondary_status: job.secondary().as_str(),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FinalObjectiveMetric<'a> {
    #[serde(rename = "Type")]
    pub kind: &'static str,
    pub metric_name: &'a str,
    pub value: f64,
}

/// A training job as its tuning job reports it (BestTrainingJob, and each entry of
/// ListTrainingJobsForHyperParameterTuningJob).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HyperParameterTrainingJobSummary<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training_job_definition_name: Option<&'a str>,
    pub training_job_name: &'a str,
    pub training_job_arn: &'a str,
    pub tuning_job_name: &'a str,
    pub creation_time: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training_start_time: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training_end_time: Option<Timestamp>,
    pub training_job_status: &'static str,
    pub tuned_hyper_parameters: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub final_hyper_parameter_tuning_job_objective_metric: Option<FinalObjectiveMetric<'a>>,
    pub objective_status: &'static str,
}

impl<'a> HyperParameterTrainingJobSummary<'a> {
    /// `None` for a job that no tuning job launched.
    pub fn of(job: &'a TrainingJob, objective: &'a Objective) -> Option<Self> {
        let tuning = job.tuning.as_ref()?;
        let status = ObjectiveStatus::of(job, objective);
        let metric = (status == ObjectiveStatus::Succeeded)
            .then(|| job.metric(&objective.metric_name))
            .flatten()
            .map(|value| FinalObjectiveMetric {
                kind: objective.kind(),
                metric_name: &objective.metric_name,
                value,
            });
        let failure_reason = match (&job.failure_reason, status) {
            (Some(reason), _) => Some(reason.as_str()),
            (None, ObjectiveStatus::Failed) => Some(
                "No objective metrics found after running training job. Please ensure that \
                 your algorithm emits the objective metric as defined by the regex in the \
                 metric definitions.",
            ),
            (None, _) => None,
        };
        Some(Self {
            training_job_definition_name: tuning.definition_name.as_deref(),
            training_job_name: &job.name,
            training_job_arn: &job.arn,
            tuning_job_name: &tuning.name,
            creation_time: job.creation_time,
            training_start_time: job.training_start_time,
            training_end_time: job.training_end_time,
            training_job_status: job.status.as_str(),
            tuned_hyper_parameters: &tuning.tuned,
            failure_reason,
            final_hyper_parameter_tuning_job_objective_metric: metric,
            objective_status: status.as_str(),
        })
    }
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TrainingJobStatusCounters {
    pub completed: i32,
    pub in_progress: i32,
    pub retryable_error: i32,
    pub non_retryable_error: i32,
    pub stopped: i32,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ObjectiveStatusCounters {
    pub succeeded: i32,
    pub pending: i32,
    pub failed: i32,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConsumedResources {
    pub runtime_in_seconds: i32,
}

/// The members of DescribeHyperParameterTuningJob's answer that are not in the request.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TuningJobState<'a> {
    pub hyper_parameter_tuning_job_name: &'a str,
    pub hyper_parameter_tuning_job_arn: &'a str,
    pub hyper_parameter_tuning_job_status: &'static str,
    pub creation_time: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hyper_parameter_tuning_end_time: Option<Timestamp>,
    pub last_modified_time: Timestamp,
    pub training_job_status_counters: TrainingJobStatusCounters,
    pub objective_status_counters: ObjectiveStatusCounters,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best_training_job: Option<HyperParameterTrainingJobSummary<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<&'a str>,
    pub consumed_resources: ConsumedResources,
}
