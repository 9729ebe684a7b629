//! A run that ends without succeeding leaves no SageMaker job running. The training and tuning
//! jobs it started carry its execution id as a lineage tag (`pipeline:execution-id`); those
//! still in progress are stopped here, before the email, which says which. This covers what the
//! actions cannot: a run stopped or abandoned while Tune follows a job, a superseded run, an
//! action that failed by its Lambda timeout, a success CodePipeline refused.

use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::error::DisplayErrorContext;
use aws_sdk_sagemaker::types::{HyperParameterTuningJobStatus, Tag, TrainingJobStatus};
use tracing::{info, warn};

/// The lineage tag that names the execution (model-repo's `naming::tag::EXECUTION`).
pub const EXECUTION_TAG: &str = "pipeline:execution-id";
/// At most this many in-progress jobs of each kind are looked through.
const MAX_JOBS: usize = 1000;

/// A job in progress: its kind, name and ARN.
type Found = (JobKind, String, String);

/// Where the Notify function looks for leftovers.
#[derive(Debug, Clone)]
pub struct Sweeper {
    pub sagemaker: Client,
    /// The stack name, with which every job name the pipeline gives starts.
    pub job_prefix: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    Training,
    Tuning,
}

impl JobKind {
    pub fn label(self) -> &'static str {
        match self {
            JobKind::Training => "training job",
            JobKind::Tuning => "tuning job",
        }
    }
}

/// A job of the run that was still running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    pub kind: JobKind,
    pub name: String,
    /// `Err`: why it could not be stopped.
    pub stopped: Result<(), String>,
}

/// What the sweep found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sweep {
    pub jobs: Vec<Leftover>,
    /// Why the sweep could not look everywhere, if it could not.
    pub problem: Option<String>,
}

impl Sweeper {
    /// Stops every in-progress job of `execution_id`. Tuning jobs first: stopping one stops its
    /// training jobs, which are then not named on their own.
    pub async fn sweep(&self, execution_id: &str) -> Sweep {
        let mut sweep = Sweep::default();
        let prefix = self.job_prefix.to_ascii_lowercase();
        let tunings = match self.running_tuning_jobs(&prefix).await {
            Ok(jobs) => jobs,
            Err(e) => return problem(sweep, "ListHyperParameterTuningJobs", e),
        };
        let trainings = match self.running_training_jobs(&prefix).await {
            Ok(jobs) => jobs,
            Err(e) => return problem(sweep, "ListTrainingJobs", e),
        };
        let mut ours: Vec<(JobKind, String)> = Vec::new();
        for (kind, name, arn) in tunings.into_iter().chain(trainings) {
            let launched_by_ours = ours
                .iter()
                .any(|(k, t)| *k == JobKind::Tuning && name.starts_with(&format!("{t}-")));
            if launched_by_ours {
                continue;
            }
            match self.tags(&arn).await {
                Ok(tags) if of_execution(&tags, execution_id) => ours.push((kind, name)),
                Ok(_) => {}
                Err(e) => return problem(sweep, "ListTags", e),
            }
        }
        for (kind, name) in ours {
            let stopped = self.stop(kind, &name).await;
            match &stopped {
                Ok(()) => {
                    info!(job = %name, kind = kind.label(), "stopped a job the run left running")
                }
                Err(e) => {
                    warn!(job = %name, error = %e, "could not stop a job the run left running")
                }
            }
            sweep.jobs.push(Leftover {
                kind,
                name,
                stopped,
            });
        }
        sweep
    }

    async fn running_tuning_jobs(&self, prefix: &str) -> Result<Vec<Found>, String> {
        let mut pages = self
            .sagemaker
            .list_hyper_parameter_tuning_jobs()
            .status_equals(HyperParameterTuningJobStatus::InProgress)
            .name_contains(prefix)
            .max_results(100)
            .into_paginator()
            .items()
            .send();
        let mut out = Vec::new();
        while let Some(job) = pages.next().await {
            let job = job.map_err(|e| DisplayErrorContext(e).to_string())?;
            out.push((
                JobKind::Tuning,
                job.hyper_parameter_tuning_job_name()
                    .unwrap_or_default()
                    .to_owned(),
                job.hyper_parameter_tuning_job_arn()
                    .unwrap_or_default()
                    .to_owned(),
            ));
            if out.len() >= MAX_JOBS {
                break;
            }
        }
        Ok(out)
    }

    async fn running_training_jobs(&self, prefix: &str) -> Result<Vec<Found>, String> {
        let mut pages = self
            .sagemaker
            .list_training_jobs()
            .status_equals(TrainingJobStatus::InProgress)
            .name_contains(prefix)
            .max_results(100)
            .into_paginator()
            .items()
            .send();
        let mut out = Vec::new();
        while let Some(job) = pages.next().await {
            let job = job.map_err(|e| DisplayErrorContext(e).to_string())?;
            out.push((
                JobKind::Training,
                job.training_job_name().unwrap_or_default().to_owned(),
                job.training_job_arn().unwrap_or_default().to_owned(),
            ));
            if out.len() >= MAX_JOBS {
                break;
            }
        }
        Ok(out)
    }

    async fn tags(&self, arn: &str) -> Result<Vec<Tag>, String> {
        self.sagemaker
            .list_tags()
            .resource_arn(arn)
            .max_results(100)
            .send()
            .await
            .map(|t| t.tags().to_vec())
            .map_err(|e| DisplayErrorContext(e).to_string())
    }

    async fn stop(&self, kind: JobKind, name: &str) -> Result<(), String> {
        match kind {
            JobKind::Training => self
                .sagemaker
                .stop_training_job()
                .training_job_name(name)
                .send()
                .await
                .map(drop)
                .map_err(|e| DisplayErrorContext(e).to_string()),
            JobKind::Tuning => self
                .sagemaker
                .stop_hyper_parameter_tuning_job()
                .hyper_parameter_tuning_job_name(name)
                .send()
                .await
                .map(drop)
                .map_err(|e| DisplayErrorContext(e).to_string()),
        }
    }
}

fn of_execution(tags: &[Tag], execution_id: &str) -> bool {
    tags.iter()
        .any(|t| t.key() == Some(EXECUTION_TAG) && t.value() == Some(execution_id))
}

fn problem(mut sweep: Sweep, operation: &str, error: String) -> Sweep {
    warn!(operation, %error, "could not look for jobs the run left running");
    sweep.problem = Some(format!("{operation} failed: {error}"));
    sweep
}
