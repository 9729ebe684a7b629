//! What a Describe answer means for the action: wait, go on, or fail with SageMaker's reason.

use std::time::{Duration, SystemTime};

use aws_sdk_sagemaker::operation::describe_hyper_parameter_tuning_job::DescribeHyperParameterTuningJobOutput;
use aws_sdk_sagemaker::operation::describe_training_job::DescribeTrainingJobOutput;
use aws_sdk_sagemaker::types::{HyperParameterTuningJobStatus, TrainingJobStatus};
use pipeline_core::JobError;

use crate::token::Best;

/// How many secondary-status transitions a failure message quotes.
const TRANSITIONS_SHOWN: usize = 4;

#[derive(Debug, Clone, PartialEq)]
pub enum Step<T> {
    /// Still running: report progress and be called again.
    Wait {
        summary: String,
        percent: Option<u8>,
    },
    /// Finished well.
    Done(T),
    /// Finished badly, or cannot go on.
    Failed(JobError),
}

/// The next step for a training job.
pub fn training(job: &DescribeTrainingJobOutput, now: SystemTime) -> Step<()> {
    let name = job.training_job_name().unwrap_or("the training job");
    let Some(status) = job.training_job_status() else {
        return Step::Wait {
            summary: format!("Training job {name}: no status yet"),
            percent: None,
        };
    };
    match status {
        TrainingJobStatus::Completed => Step::Done(()),
        TrainingJobStatus::InProgress | TrainingJobStatus::Stopping => Step::Wait {
            summary: training_progress(name, status.as_str(), job, now),
            percent: None,
        },
        TrainingJobStatus::Failed | TrainingJobStatus::Stopped => {
            Step::Failed(training_failure(name, status.as_str(), job))
        }
        // Statuses newer than this SDK: keep following rather than fail a healthy job.
        other => {
            tracing::warn!(
                status = other.as_str(),
                "unknown training job status; following on"
            );
            Step::Wait {
                summary: training_progress(name, other.as_str(), job, now),
                percent: None,
            }
        }
    }
}

fn training_progress(
    name: &str,
    status: &str,
    job: &DescribeTrainingJobOutput,
    now: SystemTime,
) -> String {
    let secondary = job
        .secondary_status()
        .map(|s| format!(" / {}", s.as_str()))
        .unwrap_or_default();
    let message = job
        .secondary_status_transitions()
        .last()
        .and_then(|t| t.status_message())
        .map(|m| format!(": {m}"))
        .unwrap_or_default();
    let since = job.training_start_time().or(job.creation_time());
    let elapsed = since
        .map(|t| format!(", {} elapsed", duration(elapsed_since(t, now))))
        .unwrap_or_default();
    let resources = job.resource_config();
    let instance = resources
        .and_then(|r| {
            r.instance_type()
                .map(|t| format!(" on {} x {}", r.instance_count().unwrap_or(1), t.as_str()))
        })
        .unwrap_or_default();
    format!("Training job {name}: {status}{secondary}{message}{elapsed}{instance}")
}

fn training_failure(name: &str, status: &str, job: &DescribeTrainingJobOutput) -> JobError {
    let reason = job.failure_reason().unwrap_or("SageMaker gave no reason");
    let transitions = job.secondary_status_transitions();
    let last: Vec<String> = transitions
        .iter()
        .skip(transitions.len().saturating_sub(TRANSITIONS_SHOWN))
        .map(|t| {
            let status = t.status().map(|s| s.as_str()).unwrap_or("?");
            match t.status_message() {
                Some(message) => format!("{status} ({message})"),
                None => status.to_owned(),
            }
        })
        .collect();
    let history = if last.is_empty() {
        String::new()
    } else {
        format!(" Last status transitions: {}.", last.join(" -> "))
    };
    let hint = match job.secondary_status().map(|s| s.as_str()) {
        Some("MaxRuntimeExceeded") => {
            " Raise StoppingCondition.MaxRuntimeInSeconds in trainingjob.json or train faster."
        }
        Some("MaxWaitTimeExceeded") => {
            " Spot capacity did not come in time: raise MaxWaitTimeInSeconds or train on demand."
        }
        Some("Interrupted") => {
            " The spot instance was interrupted: retry, or add CheckpointConfig so training can resume."
        }
        _ => " The training log is in CloudWatch Logs under /aws/sagemaker/TrainingJobs.",
    };
    JobError::failed(format!(
        "Training job {name} {}: {reason}.{history}{hint}",
        status.to_lowercase()
    ))
}

/// The next step for a tuning job; `Done` carries its best training job.
pub fn tuning(job: &DescribeHyperParameterTuningJobOutput) -> Step<Best> {
    let name = job
        .hyper_parameter_tuning_job_name()
        .unwrap_or("the tuning job");
    let Some(status) = job.hyper_parameter_tuning_job_status() else {
        return Step::Wait {
            summary: format!("Tuning job {name}: no status yet"),
            percent: None,
        };
    };
    match status {
        HyperParameterTuningJobStatus::Completed => match best(job) {
            Some(best) => Step::Done(best),
            None => Step::Failed(JobError::failed(format!(
                "Tuning job {name} completed without a best training job: {}. Check that the objective metric's \
                 MetricDefinitions regex matches what the training script prints",
                counts(job)
            ))),
        },
        // A tuning job stopped by its own MaxRuntimeInSeconds ended as planned: its best job stands.
        HyperParameterTuningJobStatus::Stopped if reached_own_limit(job) => match best(job) {
            Some(best) => Step::Done(best),
            None => Step::Failed(tuning_failure(name, status, job)),
        },
        HyperParameterTuningJobStatus::Failed | HyperParameterTuningJobStatus::Stopped => {
            Step::Failed(tuning_failure(name, status, job))
        }
        other => {
            if !matches!(
                other,
                HyperParameterTuningJobStatus::InProgress | HyperParameterTuningJobStatus::Stopping
            ) {
                tracing::warn!(
                    status = other.as_str(),
                    "unknown tuning job status; following on"
                );
            }
            Step::Wait {
                summary: tuning_progress(name, other.as_str(), job),
                percent: tuning_percent(job),
            }
        }
    }
}

fn best(job: &DescribeHyperParameterTuningJobOutput) -> Option<Best> {
    let best = job.best_training_job()?;
    let objective = best.final_hyper_parameter_tuning_job_objective_metric()?;
    Some(Best {
        job: best.training_job_name()?.to_owned(),
        metric: objective.metric_name()?.to_owned(),
        value: objective.value()?,
    })
}

fn tuning_failure(
    name: &str,
    status: &HyperParameterTuningJobStatus,
    job: &DescribeHyperParameterTuningJobOutput,
) -> JobError {
    JobError::failed(format!(
        "Tuning job {name} {}: {}. {}",
        status.as_str().to_lowercase(),
        job.failure_reason().unwrap_or("SageMaker gave no reason"),
        counts(job)
    ))
}

/// Whether the tuning job ran to its ResourceLimits.MaxRuntimeInSeconds (a minute's slack for
/// SageMaker's own bookkeeping), rather than being stopped by someone.
fn reached_own_limit(job: &DescribeHyperParameterTuningJobOutput) -> bool {
    let limit = job
        .hyper_parameter_tuning_job_config()
        .and_then(|c| c.resource_limits())
        .and_then(|l| l.max_runtime_in_seconds());
    match (
        limit,
        job.creation_time(),
        job.hyper_parameter_tuning_end_time(),
    ) {
        (Some(limit), Some(start), Some(end)) => end.secs() - start.secs() >= i64::from(limit) - 60,
        _ => false,
    }
}

fn counts(job: &DescribeHyperParameterTuningJobOutput) -> String {
    let c = job.training_job_status_counters();
    let n = |v: Option<i32>| v.unwrap_or(0);
    let (completed, running) = (
        n(c.and_then(|c| c.completed())),
        n(c.and_then(|c| c.in_progress())),
    );
    let failed =
        n(c.and_then(|c| c.retryable_error())) + n(c.and_then(|c| c.non_retryable_error()));
    let stopped = n(c.and_then(|c| c.stopped()));
    let of = max_jobs(job)
        .map(|m| format!(" of {m}"))
        .unwrap_or_default();
    format!(
        "{completed} completed, {running} running, {failed} failed, {stopped} stopped{of} training jobs"
    )
}

fn max_jobs(job: &DescribeHyperParameterTuningJobOutput) -> Option<i32> {
    job.hyper_parameter_tuning_job_config()?
        .resource_limits()?
        .max_number_of_training_jobs()
}

fn tuning_progress(
    name: &str,
    status: &str,
    job: &DescribeHyperParameterTuningJobOutput,
) -> String {
    let best = best(job)
        .map(|b| format!("; best {} {} ({})", b.metric, b.value, b.job))
        .unwrap_or_default();
    format!("Tuning job {name}: {status}, {}{best}", counts(job))
}

fn tuning_percent(job: &DescribeHyperParameterTuningJobOutput) -> Option<u8> {
    let max = max_jobs(job).filter(|m| *m > 0)?;
    let c = job.training_job_status_counters()?;
    let finished = [
        c.completed(),
        c.retryable_error(),
        c.non_retryable_error(),
        c.stopped(),
    ]
    .iter()
    .map(|v| v.unwrap_or(0))
    .sum::<i32>();
    u8::try_from((finished.clamp(0, max) * 100) / max).ok()
}

fn elapsed_since(t: &aws_smithy_types::DateTime, now: SystemTime) -> Duration {
    let start = SystemTime::try_from(*t).unwrap_or(now);
    now.duration_since(start).unwrap_or_default()
}

/// `1h 05m`, `12m 03s`, `45s`.
pub fn duration(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, min, sec) => format!("{min}m {sec:02}s"),
        (h, min, _) => format!("{h}h {min:02}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sagemaker::types::{
        FinalHyperParameterTuningJobObjectiveMetric, HyperParameterTrainingJobSummary,
        HyperParameterTuningJobConfig, HyperParameterTuningJobStrategyType, ResourceLimits,
        SecondaryStatus, SecondaryStatusTransition, TrainingJobStatusCounters,
    };
    use aws_smithy_types::DateTime;

    const NOW: u64 = 1_790_000_000;

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(NOW)
    }

    fn transition(status: SecondaryStatus, message: &str) -> SecondaryStatusTransition {
        SecondaryStatusTransition::builder()
            .status(status)
            .start_time(DateTime::from_secs(0))
            .status_message(message)
            .build()
    }

    fn training_job(status: TrainingJobStatus) -> aws_sdk_sagemaker::operation::describe_training_job::builders::DescribeTrainingJobOutputBuilder{
        DescribeTrainingJobOutput::builder()
            .training_job_name("job-1")
            .training_job_status(status)
            .training_start_time(DateTime::from_secs(NOW as i64 - 725))
    }

    #[test]
    fn in_progress_shows_secondary_status_message_and_elapsed_time() {
        let job = training_job(TrainingJobStatus::InProgress)
            .secondary_status(SecondaryStatus::Training)
            .secondary_status_transitions(transition(
                SecondaryStatus::Training,
                "Training image download completed.",
            ))
            .build();
        let Step::Wait { summary, .. } = training(&job, now()) else {
            panic!()
        };
        assert_eq!(
            summary,
            "Training job job-1: InProgress / Training: Training image download completed., 12m 05s elapsed"
        );
    }

    #[test]
    fn failure_quotes_reason_and_last_transitions() {
        let mut builder = training_job(TrainingJobStatus::Failed)
            .failure_reason("AlgorithmError: ValueError: bad input");
        for (s, m) in [
            (SecondaryStatus::Starting, "Starting"),
            (SecondaryStatus::Downloading, "Downloading input data"),
            (SecondaryStatus::Training, "Training in progress"),
            (SecondaryStatus::Uploading, "Uploading"),
            (SecondaryStatus::Failed, "Training job failed"),
        ] {
            builder = builder.secondary_status_transitions(transition(s, m));
        }
        let Step::Failed(err) = training(&builder.build(), now()) else {
            panic!()
        };
        assert!(
            err.message
                .starts_with("Training job job-1 failed: AlgorithmError: ValueError: bad input."),
            "{err}"
        );
        assert!(err.message.contains("Downloading (Downloading input data) -> Training (Training in progress) -> Uploading (Uploading) -> Failed (Training job failed)"), "{err}");
        assert!(
            !err.message.contains("Starting (Starting)"),
            "only the last four: {err}"
        );
    }

    #[test]
    fn max_runtime_exceeded_says_what_to_raise() {
        let job = training_job(TrainingJobStatus::Stopped)
            .secondary_status(SecondaryStatus::MaxRuntimeExceeded)
            .build();
        let Step::Failed(err) = training(&job, now()) else {
            panic!()
        };
        assert!(err.message.contains("MaxRuntimeInSeconds"), "{err}");
    }

    #[test]
    fn an_unknown_status_keeps_following() {
        let job = training_job(TrainingJobStatus::from("Hibernating")).build();
        assert!(matches!(training(&job, now()), Step::Wait { .. }));
        let job = DescribeHyperParameterTuningJobOutput::builder()
            .hyper_parameter_tuning_job_status(HyperParameterTuningJobStatus::from("Pondering"))
            .build();
        assert!(matches!(tuning(&job), Step::Wait { .. }));
    }

    fn tuning_job(
        status: HyperParameterTuningJobStatus,
        with_best: bool,
    ) -> DescribeHyperParameterTuningJobOutput {
        let mut b = DescribeHyperParameterTuningJobOutput::builder()
            .hyper_parameter_tuning_job_name("tune-1")
            .hyper_parameter_tuning_job_status(status)
            .hyper_parameter_tuning_job_config(
                HyperParameterTuningJobConfig::builder()
                    .strategy(HyperParameterTuningJobStrategyType::Bayesian)
                    .resource_limits(
                        ResourceLimits::builder()
                            .max_number_of_training_jobs(10)
                            .max_parallel_training_jobs(2)
                            .build(),
                    )
                    .build(),
            )
            .training_job_status_counters(
                TrainingJobStatusCounters::builder()
                    .completed(3)
                    .in_progress(2)
                    .non_retryable_error(1)
                    .stopped(0)
                    .build(),
            );
        if with_best {
            b = b.best_training_job(
                HyperParameterTrainingJobSummary::builder()
                    .training_job_name("tune-1-003-abcdef01")
                    .final_hyper_parameter_tuning_job_objective_metric(
                        FinalHyperParameterTuningJobObjectiveMetric::builder()
                            .metric_name("validation:accuracy")
                            .value(0.95)
                            .build(),
                    )
                    .build(),
            );
        }
        b.build()
    }

    #[test]
    fn tuning_progress_counts_and_best_so_far() {
        let Step::Wait { summary, percent } =
            tuning(&tuning_job(HyperParameterTuningJobStatus::InProgress, true))
        else {
            panic!()
        };
        assert_eq!(
            summary,
            "Tuning job tune-1: InProgress, 3 completed, 2 running, 1 failed, 0 stopped of 10 training jobs; best validation:accuracy 0.95 (tune-1-003-abcdef01)"
        );
        assert_eq!(percent, Some(40));
    }

    #[test]
    fn tuning_done_names_the_best_job() {
        let Step::Done(best) = tuning(&tuning_job(HyperParameterTuningJobStatus::Completed, true))
        else {
            panic!()
        };
        assert_eq!(
            best,
            Best {
                job: "tune-1-003-abcdef01".into(),
                metric: "validation:accuracy".into(),
                value: 0.95
            }
        );
    }

    #[test]
    fn a_tuning_job_stopped_at_its_own_limit_keeps_its_best_job() {
        let limited = |ran: i64, with_best: bool| {
            let mut job = tuning_job(HyperParameterTuningJobStatus::Stopped, with_best);
            let config = job.hyper_parameter_tuning_job_config.as_mut().unwrap();
            config.resource_limits = Some(
                ResourceLimits::builder()
                    .max_parallel_training_jobs(2)
                    .max_runtime_in_seconds(7200)
                    .build(),
            );
            job.creation_time = Some(DateTime::from_secs(NOW as i64));
            job.hyper_parameter_tuning_end_time = Some(DateTime::from_secs(NOW as i64 + ran));
            tuning(&job)
        };
        assert!(matches!(limited(7200, true), Step::Done(b) if b.job == "tune-1-003-abcdef01"));
        assert!(
            matches!(limited(7170, true), Step::Done(_)),
            "SageMaker's bookkeeping slack"
        );
        // Stopped by someone before its limit, or at its limit with nothing to show: a failure.
        assert!(matches!(limited(3600, true), Step::Failed(e) if e.message.contains("stopped")));
        assert!(matches!(limited(7200, false), Step::Failed(_)));
    }

    #[test]
    fn tuning_without_a_best_job_explains() {
        let Step::Failed(err) =
            tuning(&tuning_job(HyperParameterTuningJobStatus::Completed, false))
        else {
            panic!()
        };
        assert!(
            err.message.contains("without a best training job")
                && err.message.contains("MetricDefinitions"),
            "{err}"
        );
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(Duration::from_secs(45)), "45s");
        assert_eq!(duration(Duration::from_secs(725)), "12m 05s");
        assert_eq!(duration(Duration::from_secs(3900)), "1h 05m");
    }
}
