//! evaluate: the promotion gate. Reads the candidate's metrics, applies evaluation.json, explains
//! the verdict in a table, and registers the model when it passes. Without evaluation.json the
//! action fails, unless the stack's RequireGate is false: then the model is registered
//! PendingManualApproval with the verdict `Unchecked`.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_sagemaker::Client as SageMaker;
use aws_sdk_sagemaker::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_sagemaker::operation::describe_training_job::DescribeTrainingJobOutput;
use aws_sdk_sagemaker::types::ModelApprovalStatus;
use pipeline_core::limits::{FAILURE_MESSAGE_MAX, truncate};
use pipeline_core::run::record_execution_id;
use pipeline_core::values::{self, Kind};
use pipeline_core::{ArtifactStore, Job, JobError, Outcome, params};
use tracing::info;

use crate::gate::{self, Gate, Inference};
use crate::metadata::metric_key;
use crate::promote;
use crate::registry::{self, Registration};
use crate::serving;
use crate::settings::Settings;
use crate::verdict::{self, Candidate};

pub async fn handle(
    job: Job,
    sagemaker: &SageMaker,
    s3: &aws_sdk_s3::Client,
    artifacts: &ArtifactStore,
) -> Result<Outcome, JobError> {
    let settings = params::parse::<Settings>(job.user_parameters.as_deref())?.checked()?;
    record_execution_id(&settings.execution_id);
    let approval = match settings.model_approval_status.as_str() {
        "Approved" => ModelApprovalStatus::Approved,
        "PendingManualApproval" => ModelApprovalStatus::PendingManualApproval,
        other => {
            return Err(JobError::config(format!(
                "UserParameters ModelApprovalStatus is `{other}`; write Approved or PendingManualApproval"
            )));
        }
    };

    let path = settings
        .config_path
        .as_deref()
        .unwrap_or(gate::DEFAULT_PATH);
    let gate = read_gate(&job, &settings, path, artifacts).await?;
    let described = sagemaker
        .describe_training_job()
        .training_job_name(&settings.candidate_training_job_name)
        .send()
        .await
        .map_err(|e| {
            let detail = e
                .message()
                .map(str::to_owned)
                .unwrap_or_else(|| DisplayErrorContext(&e).to_string());
            JobError::system(format!(
                "DescribeTrainingJob {} failed: {detail}",
                settings.candidate_training_job_name
            ))
        })?;
    let candidate = Candidate {
        metrics: described
            .final_metric_data_list()
            .iter()
            .filter_map(|m| Some((m.metric_name()?.to_owned(), gate::reported(m.value()?))))
            .collect(),
        objective: (!settings.objective_metric_name.is_empty())
            .then(|| {
                settings
                    .objective_metric_value
                    .parse::<f64>()
                    .ok()
                    .map(|v| (settings.objective_metric_name.clone(), v))
            })
            .flatten(),
    };

    let group = registry::group_name(&settings.job_prefix, settings.repository.as_deref());
    let mut metadata = metadata(&settings, &candidate);
    let no_inference = Inference::default();
    let decision = match &gate {
        Some(gate) => {
            let approved = if gate.regression.is_empty() {
                None
            } else {
                registry::latest_approved(sagemaker, &group).await?
            };
            let verdict = verdict::evaluate(gate, &candidate, approved.as_ref());
            let table = verdict.table();
            let against = approved
                .as_ref()
                .map(|a| format!(" against {}", a.arn))
                .unwrap_or_default();
            if !verdict.passed() {
                let head = format!(
                    "The model of commit {} did not pass the gate{against}:\n\n",
                    short(&settings.commit_id)
                );
                return Err(JobError::failed(truncate(
                    &format!("{head}{table}"),
                    FAILURE_MESSAGE_MAX,
                )));
            }
            Decision {
                word: verdict.word(),
                line: verdict.summary_line(),
                summary: format!(
                    "{} ({}){against}:\n{table}",
                    verdict.word(),
                    approval.as_str()
                ),
                approval,
                inference: &gate.inference,
            }
        }
        // RequireGate=false (read_gate failed otherwise): registered, for a person to approve.
        None => {
            let why = format!("no gate applied: the source has no {path} and RequireGate is false");
            metadata.insert(GATE_KEY.to_owned(), model_repo::naming::tag_value(&why));
            let approval = ModelApprovalStatus::PendingManualApproval;
            Decision {
                word: UNCHECKED,
                line: format!("{why}; reported {}", reported_line(&candidate)),
                summary: format!(
                    "{UNCHECKED} ({}): {why}. A person must review the model package and set its \
                     status in the Model Registry; add {path} to gate the next runs.\n{}",
                    approval.as_str(),
                    reported_table(&candidate)
                ),
                approval,
                inference: &no_inference,
            }
        }
    };

    let image = decision
        .inference
        .image
        .clone()
        .or_else(|| {
            described
                .algorithm_specification()
                .and_then(|a| a.training_image())
                .map(str::to_owned)
        })
        .ok_or_else(|| {
            JobError::config(format!(
                "the candidate has no TrainingImage to serve with: set Inference.Image in {path}"
            ))
        })?;
    // The package is registered, and so served, in the region of the function's SageMaker client.
    let region = sagemaker.config().region().ok_or_else(|| {
        JobError::system("the function has no AWS region to register the model in")
    })?;
    let environment = serving::environment(
        &decision.inference.environment,
        described.hyper_parameters(),
        region.as_ref(),
    )
    .map_err(|e| e.to_job_error(&settings.candidate_training_job_name, path))?;
    let trained = model_data(&described, &settings.candidate_training_job_name)?;
    let promoted = promote::promote(
        s3,
        &settings.artifact_bucket,
        trained,
        &group,
        &settings.candidate_training_job_name,
    )
    .await?;
    metadata.insert(MODEL_SHA256_KEY.to_owned(), promoted.sha256.clone());
    metadata.insert(
        "pipeline:model-trained".to_owned(),
        model_repo::naming::tag_value(trained),
    );
    let arn = registry::register(
        sagemaker,
        Registration {
            group: &group,
            image: &image,
            model_data_url: &promoted.uri,
            environment: &environment,
            content_types: &decision.inference.content_types,
            response_types: &decision.inference.response_types,
            approval: decision.approval.clone(),
            description: format!(
                "Commit {} of {}: {}",
                short(&settings.commit_id),
                settings.repository.as_deref().unwrap_or("the repository"),
                decision.line
            ),
            metadata,
            idempotency: format!(
                "{}\n{}",
                settings.execution_id, settings.candidate_training_job_name
            ),
            tags: lineage(&settings),
        },
    )
    .await?;
    info!(model_package = %arn, verdict = decision.word, "registered");
    // Registered means promoted: if CodePipeline refuses this success, the package must not stay.
    let (client, registered) = (sagemaker.clone(), arn.clone());
    pipeline_core::run::on_failure(move |reason| async move {
        registry::reject(&client, &registered, &reason).await
    });
    Ok(Outcome::succeeded()
        .variable("Verdict", decision.word)
        .variable("MetricsSummary", decision.line)
        .variable("ModelPackageArn", &arn)
        .variable("ModelDataUrl", &promoted.uri)
        .summary(decision.summary))
}

/// The `Verdict` of a candidate registered without a gate (RequireGate=false).
pub const UNCHECKED: &str = "Unchecked";

/// Metadata key saying that no gate was applied to the package.
pub const GATE_KEY: &str = "pipeline:gate";

/// Metadata key of the SHA-256 (hex) of the registered model data (the promoted copy).
pub const MODEL_SHA256_KEY: &str = "pipeline:model-sha256";

/// What is registered, and how it is reported.
struct Decision<'a> {
    /// `Verdict`: Passed or Unchecked.
    word: &'static str,
    /// `MetricsSummary`, and the end of the package's description.
    line: String,
    /// The action's execution summary.
    summary: String,
    approval: ModelApprovalStatus,
    inference: &'a Inference,
}

/// The gate, `None` when the source has none and RequireGate is false.
async fn read_gate(
    job: &Job,
    settings: &Settings,
    path: &str,
    artifacts: &ArtifactStore,
) -> Result<Option<Gate>, JobError> {
    let artifact = job.input_artifact(settings.input_artifact.as_deref())?;
    let mut source = artifacts.open(&job.credentials, artifact).await?;
    let Some(text) = source.read_text(path)? else {
        if !settings.require_gate {
            return Ok(None);
        }
        return Err(JobError::config(format!(
            "the source has no {path}: the pipeline promotes no model without a gate. Add the gate file \
             (see examples/model-repo and the README), or set the stack's RequireGate parameter to \
             false to register such models as PendingManualApproval for a person to review"
        )));
    };
    gate::load(path, &text)
        .map(Some)
        .map_err(|d| JobError::config(d.to_string()))
}

/// Every metric the candidate reported (and the tuning objective), by name.
fn reported(candidate: &Candidate) -> BTreeMap<String, f64> {
    let mut metrics = candidate.metrics.clone();
    if let Some((name, value)) = &candidate.objective {
        metrics.entry(name.clone()).or_insert(*value);
    }
    metrics
}

/// `test:accuracy=0.9450, train:accuracy=0.9900`, or `no metrics`.
fn reported_line(candidate: &Candidate) -> String {
    let metrics = reported(candidate);
    if metrics.is_empty() {
        return "no metrics".to_owned();
    }
    metrics
        .iter()
        .map(|(k, v)| format!("{k}={}", verdict::number(Some(*v))))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The reported metrics as an aligned table, or a line saying there are none.
fn reported_table(candidate: &Candidate) -> String {
    let metrics = reported(candidate);
    if metrics.is_empty() {
        return "The training job reported no metrics (see its MetricDefinitions).".to_owned();
    }
    let width = metrics
        .keys()
        .map(|k| k.chars().count())
        .chain(["Metric".len()])
        .max()
        .unwrap_or(0);
    let mut out = vec![format!("{:<width$}  Value", "Metric")];
    out.extend(
        metrics
            .iter()
            .map(|(k, v)| format!("{k:<width$}  {}", verdict::number(Some(*v)))),
    );
    out.join("\n")
}

/// Metrics and lineage recorded on the package (keys and values within SageMaker's limits).
fn metadata(settings: &Settings, candidate: &Candidate) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = reported(candidate)
        .into_iter()
        .filter(|(_, v)| v.is_finite())
        .map(|(k, v)| (metric_key(&k), v.to_string()))
        .collect();
    for (key, value) in lineage(settings) {
        out.insert(key, value);
    }
    out.insert(
        "pipeline:training-job".into(),
        settings.candidate_training_job_name.clone(),
    );
    if !settings.tuning_job_name.is_empty() {
        out.insert(
            "pipeline:tuning-job".into(),
            settings.tuning_job_name.clone(),
        );
    }
    out.into_iter()
        .map(|(k, v)| (k, model_repo::naming::tag_value(&v)))
        .collect()
}

/// The candidate's `model.tar.gz`, as its training job reports it.
fn model_data<'a>(
    described: &'a DescribeTrainingJobOutput,
    job: &str,
) -> Result<&'a str, JobError> {
    let uri = described
        .model_artifacts()
        .and_then(|a| a.s3_model_artifacts())
        .filter(|uri| !uri.is_empty())
        .ok_or_else(|| {
            JobError::failed(format!(
                "the candidate training job {job} reports no model artifacts: its script must write \
                 the model to SM_MODEL_DIR"
            ))
        })?;
    values::checked("The candidate's model artifacts", uri, Kind::S3Uri)
}

fn lineage(settings: &Settings) -> Vec<(String, String)> {
    model_repo::naming::Lineage {
        repository: settings.repository.as_deref(),
        branch: settings.branch.as_deref(),
        commit: &settings.commit_id,
        execution: &settings.execution_id,
        job: None,
    }
    .pairs()
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(7)]
}
