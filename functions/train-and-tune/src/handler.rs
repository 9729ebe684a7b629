//! train-and-tune: follow the training job, then tune, then name the best model of the commit.
//! Every invocation answers quickly, with at most one Describe and one Create call, and comes
//! back through a continuation token.

use std::time::{Duration, SystemTime};

use aws_sdk_sagemaker::Client as SageMaker;
use aws_sdk_sagemaker::error::{DisplayErrorContext, ProvideErrorMetadata};
use model_repo::settings::ACTION_WINDOW_SECONDS;
use model_repo::{Placeholders, Settings, naming, training, tuning};
use pipeline_core::run::record_execution_id;
use pipeline_core::{ArtifactStore, Job, JobError, Outcome, aws_error, params};
use tracing::{info, warn};

use crate::status::{self, Step};
use crate::token::{Best, Phase, State};

/// What to change when SageMaker refuses a request of this action.
const FIX: &str = "Fix configuration/tuning.json (or trainingjob.json, from which tuning derives)";
/// Kept back from the 24-hour window: the last poll may come this late.
const WINDOW_MARGIN_SECONDS: u64 = 15 * 60;
/// Kept back from the tuning job's own limit: at its limit SageMaker stops the running training
/// jobs, which takes minutes, and the last poll must still come within the window to accept it.
const TUNING_STOP_MARGIN_SECONDS: u64 = 15 * 60;
/// SageMaker's minimum for a tuning job's ResourceLimits.MaxRuntimeInSeconds.
const MIN_TUNING_RUNTIME_SECONDS: u64 = 120;

pub async fn handle(
    job: Job,
    sagemaker: &SageMaker,
    artifacts: &ArtifactStore,
    now: SystemTime,
) -> Result<Outcome, JobError> {
    let settings = params::parse::<Settings>(job.user_parameters.as_deref())?.checked()?;
    record_execution_id(&settings.execution_id);
    let training_job = settings.training_job_name.clone().ok_or_else(|| {
        JobError::config(
            "UserParameters has no TrainingJobName: pass \"TrainingJobName\": \"#{TrainVariables.TrainingJobName}\" \
             in the Tune action of template.yaml",
        )
    })?;
    let now_secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let state = match &job.continuation_token {
        None => State::new(&settings.execution_id, &training_job, now_secs),
        Some(token) => State::decode(token, &settings.execution_id, &training_job)?,
    };

    let left = window_left(&state, now_secs);
    match state.phase {
        Phase::Training => {
            let described = match sagemaker
                .describe_training_job()
                .training_job_name(&state.training)
                .send()
                .await
            {
                Ok(described) => described,
                Err(e) => {
                    let err = aws_error("DescribeTrainingJob", &e, FIX);
                    return Err(stopped_after(sagemaker, &state, err).await);
                }
            };
            match status::training(&described, now) {
                Step::Wait { .. } if left == 0 => {
                    Err(out_of_time(sagemaker, &settings, &state).await)
                }
                Step::Wait { summary, percent } => Ok(wait(&state, summary, percent)),
                Step::Failed(err) => Err(err),
                Step::Done(()) => {
                    after_training(
                        &job, &settings, state, &described, artifacts, sagemaker, left,
                    )
                    .await
                }
            }
        }
        Phase::Tuning => {
            let name = state.tuning.clone().unwrap_or_default();
            let described = match sagemaker
                .describe_hyper_parameter_tuning_job()
                .hyper_parameter_tuning_job_name(&name)
                .send()
                .await
            {
                Ok(described) => described,
                Err(e) => {
                    let err = aws_error("DescribeHyperParameterTuningJob", &e, FIX);
                    return Err(stopped_after(sagemaker, &state, err).await);
                }
            };
            match status::tuning(&described) {
                Step::Wait { .. } if left == 0 => {
                    Err(out_of_time(sagemaker, &settings, &state).await)
                }
                Step::Wait { summary, percent } => Ok(wait(&state, summary, percent)),
                Step::Failed(err) => Err(err),
                Step::Done(best) => {
                    let summary = format!(
                        "Tuning job {name} completed; best {} {} ({}). Reading its model artifacts",
                        best.metric, best.value, best.job
                    );
                    let next = State {
                        phase: Phase::Best,
                        best: Some(best),
                        ..state
                    };
                    Ok(wait(&next, summary, Some(100)))
                }
            }
        }
        Phase::Best => {
            let best = state.best.clone().unwrap_or(Best {
                job: String::new(),
                metric: String::new(),
                value: 0.0,
            });
            let described = sagemaker
                .describe_training_job()
                .training_job_name(&best.job)
                .send()
                .await
                .map_err(|e| aws_error("DescribeTrainingJob", &e, FIX))?;
            let artifacts_uri = model_artifacts(&described)?;
            Ok(candidate(
                &best.job,
                &best.metric,
                &best.value.to_string(),
                &artifacts_uri,
                state.tuning.as_deref().unwrap_or_default(),
            )?
            .summary(format!(
                "Best model of tuning job {}: {} with {} = {}",
                state.tuning.as_deref().unwrap_or_default(),
                best.job,
                best.metric,
                best.value
            )))
        }
    }
}

/// The training job completed: tune when the repository has tuning.json, else it is the candidate.
async fn after_training(
    job: &Job,
    settings: &Settings,
    state: State,
    described: &aws_sdk_sagemaker::operation::describe_training_job::DescribeTrainingJobOutput,
    artifacts: &ArtifactStore,
    sagemaker: &SageMaker,
    left: u64,
) -> Result<Outcome, JobError> {
    let artifact = job.input_artifact(settings.input_artifact.as_deref())?;
    let mut source = artifacts.open(&job.credentials, artifact).await?;
    let tuning_path = settings.tuning_config_path();
    let Some(tuning_text) = source.read_text(tuning_path)? else {
        let uri = model_artifacts(described)?;
        return Ok(
            candidate(&state.training, "", "", &uri, "")?.summary(format!(
                "Training job {} completed; no {tuning_path}, so tuning was skipped",
                state.training
            )),
        );
    };

    let training_path = settings.config_path();
    let training_text = source.read_text(training_path)?.ok_or_else(|| {
        JobError::config(format!("the source has {tuning_path} but no {training_path}, from which tuning derives its training job definition"))
    })?;
    let placeholders = Placeholders::from_settings(settings, &state.training);
    let training = training::load(training_path, &training_text, &placeholders)
        .map_err(|d| JobError::config(d.to_string()))?;
    let tuned = tuning::load(tuning_path, &tuning_text, &placeholders, &training)
        .map_err(|d| JobError::config(d.to_string()))?;

    let name = naming::tuning_job_name(
        &settings.job_prefix,
        &settings.commit_id,
        &settings.execution_id,
        &job.id,
    );
    let mut request = tuned.request;
    request.hyper_parameter_tuning_job_name = Some(name.clone());
    request.tags = Some(naming::with_lineage(request.tags.take(), settings, &job.id));
    // Tuning must end within what is left of the action window.
    let limits = &mut request.hyper_parameter_tuning_job_config.resource_limits;
    if limits.max_runtime_in_seconds.is_none() {
        let runtime = left.saturating_sub(TUNING_STOP_MARGIN_SECONDS);
        if runtime < MIN_TUNING_RUNTIME_SECONDS {
            return Err(JobError::failed(format!(
                "Training took so long that less than {MIN_TUNING_RUNTIME_SECONDS} s of the 24-hour action window is left for tuning"
            )));
        }
        limits.max_runtime_in_seconds = Some(i32::try_from(runtime).unwrap_or(i32::MAX));
    }

    let call = request
        .apply(sagemaker.create_hyper_parameter_tuning_job())
        .map_err(|e| {
            JobError::config(format!(
                "{tuning_path} cannot be turned into a SageMaker request: {e}"
            ))
        })?;
    let verb = match call.send().await {
        Ok(_) => {
            info!(tuning_job = %name, "tuning job created");
            "Started"
        }
        // A duplicate delivery: the name is derived from this very job, so the tuning job is ours.
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_in_use()) =>
        {
            warn!(tuning_job = %name, "tuning job exists already; following it");
            "Following the already started"
        }
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_limit_exceeded()) =>
        {
            return Err(JobError::failed(format!(
                "SageMaker quota reached (CreateHyperParameterTuningJob): {}. Request a quota increase or lower MaxParallelTrainingJobs",
                err.message().unwrap_or("resource limit exceeded")
            )));
        }
        Err(err) => return Err(aws_error("CreateHyperParameterTuningJob", &err, FIX)),
    };
    let not_carried = if tuned.not_carried.is_empty() {
        String::new()
    } else {
        format!(
            " (not carried into tuning, which cannot express them: {})",
            tuned.not_carried.join(", ")
        )
    };
    let summary = format!(
        "Training job {} completed. {verb} tuning job {name}{not_carried}",
        state.training
    );
    let next = State {
        phase: Phase::Tuning,
        tuning: Some(name),
        ..state
    };
    Ok(wait(&next, summary, Some(0)))
}

fn wait(state: &State, summary: String, percent: Option<u8>) -> Outcome {
    let outcome = Outcome::in_progress(state.encode()).summary(summary);
    match percent {
        Some(p) => outcome.percent(p),
        None => outcome,
    }
}

/// The candidate's output variables, each checked against what Evaluate takes it for (they are
/// pasted into its UserParameters as they are; see `pipeline_core::values`).
fn candidate(
    job: &str,
    metric: &str,
    value: &str,
    artifacts: &str,
    tuning_job: &str,
) -> Result<Outcome, JobError> {
    use pipeline_core::values::{Kind, checked, checked_or_empty};
    Ok(Outcome::succeeded()
        .variable("CandidateTrainingJobName", checked("The candidate training job", job, Kind::JobName)?)
        .variable(
            "ObjectiveMetricName",
            checked_or_empty("The tuning objective (MetricName in tuning.json)", metric, Kind::MetricName)?,
        )
        .variable("ObjectiveMetricValue", checked_or_empty("The objective value", value, Kind::Number)?)
        .variable(
            "ModelArtifactsUri",
            checked(
                "The candidate's model artifacts (under OutputDataConfig.S3OutputPath of trainingjob.json)",
                artifacts,
                Kind::S3Uri,
            )?,
        )
        .variable("TuningJobName", checked_or_empty("The tuning job", tuning_job, Kind::JobName)?))
}

fn model_artifacts(
    job: &aws_sdk_sagemaker::operation::describe_training_job::DescribeTrainingJobOutput,
) -> Result<String, JobError> {
    job.model_artifacts().and_then(|a| a.s3_model_artifacts()).filter(|uri| !uri.is_empty()).map(str::to_owned).ok_or_else(|| {
        JobError::failed(format!(
            "Training job {} completed without model artifacts: the training script must write its model to SM_MODEL_DIR",
            job.training_job_name().unwrap_or_default()
        ))
    })
}

fn window_left(state: &State, now_secs: u64) -> u64 {
    let used = now_secs.saturating_sub(state.started);
    (ACTION_WINDOW_SECONDS as u64)
        .saturating_sub(WINDOW_MARGIN_SECONDS)
        .saturating_sub(used)
}

/// The job this action follows and would leave running if it failed now.
fn running(state: &State) -> Option<(&'static str, &str)> {
    match (&state.phase, &state.tuning) {
        (Phase::Training, _) => Some(("training", &state.training)),
        (Phase::Tuning, Some(tuning)) => Some(("tuning", tuning)),
        _ => None,
    }
}

/// Stops the job this action follows; the sentence says what happened to it.
async fn stop(sagemaker: &SageMaker, kind: &str, name: &str) -> String {
    let result = if kind == "training" {
        sagemaker
            .stop_training_job()
            .training_job_name(name)
            .send()
            .await
            .map(drop)
            .map_err(|e| DisplayErrorContext(e).to_string())
    } else {
        sagemaker
            .stop_hyper_parameter_tuning_job()
            .hyper_parameter_tuning_job_name(name)
            .send()
            .await
            .map(drop)
            .map_err(|e| DisplayErrorContext(e).to_string())
    };
    match result {
        Ok(()) => {
            info!(
                kind,
                job = name,
                "stopped the job this failing action followed"
            );
            format!("The {kind} job {name} was stopped, so that it does not run on unattended.")
        }
        Err(reason) => format!(
            "Stopping the {kind} job {name} failed ({reason}); stop it in the SageMaker console."
        ),
    }
}

/// `err` ends the action while its job may still run: stop the job and say so in the failure.
async fn stopped_after(sagemaker: &SageMaker, state: &State, mut err: JobError) -> JobError {
    if let Some((kind, name)) = running(state) {
        let stopped = stop(sagemaker, kind, name).await;
        err.message = format!("{} {stopped}", err.message.trim_end());
    }
    err
}

/// The action window is over: stop what runs (when configured to) and say so.
async fn out_of_time(sagemaker: &SageMaker, settings: &Settings, state: &State) -> JobError {
    let (kind, name) = running(state).unwrap_or(("training", &state.training));
    let stopped = if settings.stop_jobs_at_window_end {
        stop(sagemaker, kind, name).await
    } else {
        format!("The {kind} job {name} was left running.")
    };
    JobError::failed(format!(
        "The {kind} job {name} would not finish within the 24 hours CodePipeline gives an action \
         ({} margin kept). {stopped} Lower MaxRuntimeInSeconds or the tuning ResourceLimits.",
        status::duration(Duration::from_secs(WINDOW_MARGIN_SECONDS))
    ))
}
