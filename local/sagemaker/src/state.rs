//! What the service knows about its jobs: one record per training and tuning job, kept in
//! memory for the life of the process.

use std::collections::BTreeMap;

use sagemaker_requests::{CreateHyperParameterTuningJobRequest, CreateTrainingJobRequest, Tag};
use tokio_util::sync::CancellationToken;

use crate::protocol::Timestamp;

/// `TrainingJobStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrainingStatus {
    InProgress,
    Completed,
    Failed,
    Stopping,
    Stopped,
}

impl TrainingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TrainingStatus::InProgress => "InProgress",
            TrainingStatus::Completed => "Completed",
            TrainingStatus::Failed => "Failed",
            TrainingStatus::Stopping => "Stopping",
            TrainingStatus::Stopped => "Stopped",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TrainingStatus::Completed | TrainingStatus::Failed | TrainingStatus::Stopped
        )
    }
}

/// `SecondaryStatus`: the steps of a job as SageMaker reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secondary {
    Starting,
    Downloading,
    Training,
    Uploading,
    Stopping,
    Stopped,
    MaxRuntimeExceeded,
    Completed,
    Failed,
}

impl Secondary {
    pub fn as_str(self) -> &'static str {
        match self {
            Secondary::Starting => "Starting",
            Secondary::Downloading => "Downloading",
            Secondary::Training => "Training",
            Secondary::Uploading => "Uploading",
            Secondary::Stopping => "Stopping",
            Secondary::Stopped => "Stopped",
            Secondary::MaxRuntimeExceeded => "MaxRuntimeExceeded",
            Secondary::Completed => "Completed",
            Secondary::Failed => "Failed",
        }
    }

    /// SageMaker's status message on entering this step.
    pub fn message(self) -> &'static str {
        match self {
            Secondary::Starting => "Preparing the instances for training",
            Secondary::Downloading => "Downloading input data",
            Secondary::Training => "Training image download completed. Training in progress.",
            Secondary::Uploading => "Uploading generated training model",
            Secondary::Stopping => "Stopping the training job",
            Secondary::Stopped => "Training job stopped",
            Secondary::MaxRuntimeExceeded => {
                "Training job runtime exceeded MaxRuntimeInSeconds provided"
            }
            Secondary::Completed => "Training job completed",
            Secondary::Failed => "Training job failed",
        }
    }
}

/// One entry of `SecondaryStatusTransitions`.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub status: Secondary,
    pub start: Timestamp,
    pub end: Option<Timestamp>,
    pub message: String,
}

/// The last value a metric definition matched.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricValue {
    pub name: String,
    pub value: f64,
    pub timestamp: Timestamp,
}

/// The tuning job a training job belongs to, and the values it tuned.
#[derive(Debug, Clone, PartialEq)]
pub struct TuningLink {
    pub name: String,
    pub arn: String,
    pub definition_name: Option<String>,
    pub tuned: BTreeMap<String, String>,
}

/// A training job.
#[derive(Debug)]
pub struct TrainingJob {
    pub name: String,
    pub arn: String,
    /// The request as accepted (with its name).
    pub request: CreateTrainingJobRequest,
    pub tuning: Option<TuningLink>,
    pub status: TrainingStatus,
    pub transitions: Vec<Transition>,
    pub failure_reason: Option<String>,
    pub model_artifacts: Option<String>,
    pub final_metrics: Vec<MetricValue>,
    pub creation_time: Timestamp,
    pub training_start_time: Option<Timestamp>,
    pub training_end_time: Option<Timestamp>,
    pub last_modified_time: Timestamp,
    pub tags: Vec<Tag>,
    /// Cancelled by StopTrainingJob, by the job's tuning job stopping, or by shutdown.
    pub stop: CancellationToken,
}

impl TrainingJob {
    pub fn new(
        name: String,
        arn: String,
        request: CreateTrainingJobRequest,
        tuning: Option<TuningLink>,
        stop: CancellationToken,
    ) -> Self {
        let now = Timestamp::now();
        let tags = request.tags.clone().unwrap_or_default();
        Self {
            name,
            arn,
            request,
            tuning,
            status: TrainingStatus::InProgress,
            transitions: vec![Transition {
                status: Secondary::Starting,
                start: now,
                end: None,
                message: Secondary::Starting.message().to_owned(),
            }],
            failure_reason: None,
            model_artifacts: None,
            final_metrics: Vec::new(),
            creation_time: now,
            training_start_time: None,
            training_end_time: None,
            last_modified_time: now,
            tags,
            stop,
        }
    }

    pub fn secondary(&self) -> Secondary {
        self.transitions
            .last()
            .map_or(Secondary::Starting, |t| t.status)
    }

    /// Moves to the next step; a job that reached a final status stays there.
    pub fn transition(&mut self, status: Secondary) {
        if self.status.is_terminal() || self.secondary() == status {
            return;
        }
        let now = Timestamp::now();
        if let Some(last) = self.transitions.last_mut() {
            last.end = Some(now);
        }
        self.transitions.push(Transition {
            status,
            start: now,
            end: None,
            message: status.message().to_owned(),
        });
        self.last_modified_time = now;
    }

    /// Ends the job: the final step, closed at once as SageMaker does.
    pub fn finish(&mut self, status: TrainingStatus, secondary: Secondary) {
        if self.status.is_terminal() {
            return;
        }
        self.transition(secondary);
        let now = Timestamp::now();
        if let Some(last) = self.transitions.last_mut() {
            last.end = Some(now);
        }
        self.status = status;
        self.training_end_time = Some(now);
        self.last_modified_time = now;
    }

    /// The value of the objective metric, once the job reported it.
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.final_metrics
            .iter()
            .find(|m| m.name == name)
            .map(|m| m.value)
    }
}

/// `HyperParameterTuningJobStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TuningStatus {
    InProgress,
    Completed,
    Failed,
    Stopping,
    Stopped,
}

impl TuningStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TuningStatus::InProgress => "InProgress",
            TuningStatus::Completed => "Completed",
            TuningStatus::Failed => "Failed",
            TuningStatus::Stopping => "Stopping",
            TuningStatus::Stopped => "Stopped",
        }
    }
}

/// What a tuning job optimises.
#[derive(Debug, Clone, PartialEq)]
pub struct Objective {
    pub metric_name: String,
    pub maximize: bool,
}

impl Objective {
    pub fn kind(&self) -> &'static str {
        if self.maximize {
            "Maximize"
        } else {
            "Minimize"
        }
    }

    /// Whether `candidate` is strictly better than `incumbent`.
    pub fn better(&self, candidate: f64, incumbent: f64) -> bool {
        if self.maximize {
            candidate > incumbent
        } else {
            candidate < incumbent
        }
    }
}

/// A hyperparameter tuning job.
#[derive(Debug)]
pub struct TuningJob {
    pub name: String,
    pub arn: String,
    pub request: CreateHyperParameterTuningJobRequest,
    pub objective: Objective,
    /// Every hyperparameter set to train, in order; decided at creation.
    pub plan: Vec<BTreeMap<String, String>>,
    pub status: TuningStatus,
    pub failure_reason: Option<String>,
    pub creation_time: Timestamp,
    pub end_time: Option<Timestamp>,
    pub last_modified_time: Timestamp,
    /// Names of the training jobs it launched, in launch order.
    pub training_jobs: Vec<String>,
    pub tags: Vec<Tag>,
    pub stop: CancellationToken,
}

/// Every job, by lower-case name (SageMaker names are unique regardless of case).
#[derive(Debug, Default)]
pub struct Store {
    pub training: BTreeMap<String, TrainingJob>,
    pub tuning: BTreeMap<String, TuningJob>,
}

impl Store {
    pub fn training_job(&self, name: &str) -> Option<&TrainingJob> {
        self.training.get(&name.to_ascii_lowercase())
    }

    pub fn training_job_mut(&mut self, name: &str) -> Option<&mut TrainingJob> {
        self.training.get_mut(&name.to_ascii_lowercase())
    }

    pub fn tuning_job(&self, name: &str) -> Option<&TuningJob> {
        self.tuning.get(&name.to_ascii_lowercase())
    }

    pub fn tuning_job_mut(&mut self, name: &str) -> Option<&mut TuningJob> {
        self.tuning.get_mut(&name.to_ascii_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> TrainingJob {
        let request: CreateTrainingJobRequest = serde_json::from_value(serde_json::json!({
            "TrainingJobName": "j",
            "RoleArn": "arn:aws:iam::123456789012:role/R",
            "OutputDataConfig": {"S3OutputPath": "s3://b/out"},
        }))
        .unwrap();
        TrainingJob::new(
            "j".into(),
            "arn".into(),
            request,
            None,
            CancellationToken::new(),
        )
    }

    #[test]
    fn transitions_close_the_previous_step() {
        let mut job = job();
        job.transition(Secondary::Downloading);
        job.transition(Secondary::Downloading);
        job.transition(Secondary::Training);
        let steps: Vec<_> = job.transitions.iter().map(|t| t.status).collect();
        assert_eq!(
            steps,
            [
                Secondary::Starting,
                Secondary::Downloading,
                Secondary::Training
            ]
        );
        assert!(job.transitions[..2].iter().all(|t| t.end.is_some()));
        assert_eq!(job.transitions[2].end, None);
    }

    #[test]
    fn a_finished_job_stays_finished() {
        let mut job = job();
        job.finish(TrainingStatus::Completed, Secondary::Completed);
        job.finish(TrainingStatus::Stopped, Secondary::Stopped);
        job.transition(Secondary::Training);
        assert_eq!(job.status, TrainingStatus::Completed);
        assert_eq!(job.secondary(), Secondary::Completed);
        assert!(job.transitions.last().unwrap().end.is_some());
        assert!(job.training_end_time.is_some());
    }

    #[test]
    fn objectives_compare_in_their_direction() {
        let max = Objective {
            metric_name: "m".into(),
            maximize: true,
        };
        assert!(max.better(0.9, 0.8) && !max.better(0.8, 0.8));
        let min = Objective {
            maximize: false,
            ..max
        };
        assert!(min.better(0.1, 0.2) && !min.better(0.3, 0.2));
    }
}
