//! start-training: read the commit's training request, start the job (or adopt the one a previous
//! delivery of this CodePipeline job started), and pass its name on to the Tune action.

use aws_sdk_sagemaker::error::ProvideErrorMetadata;
use pipeline_core::run::record_execution_id;
use pipeline_core::{ArtifactStore, Job, JobError, Outcome, aws_error, params};

const FIX_TRAINING: &str = "Fix configuration/trainingjob.json";
use tracing::{info, warn};

use model_repo::naming::{self, tag};
use model_repo::{Placeholders, Settings, training};

pub async fn handle(
    job: Job,
    sagemaker: &aws_sdk_sagemaker::Client,
    artifacts: &ArtifactStore,
) -> Result<Outcome, JobError> {
    let settings = params::parse::<Settings>(job.user_parameters.as_deref())?.checked()?;
    record_execution_id(&settings.execution_id);

    let artifact = job.input_artifact(settings.input_artifact.as_deref())?;
    let mut source = artifacts.open(&job.credentials, artifact).await?;
    let path = settings.config_path();
    let text = source
        .read_text(path)?
        .ok_or_else(|| missing_config(path, &source.file_names()))?;

    let user_name = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| {
            v.get("TrainingJobName")
                .and_then(|n| n.as_str())
                .map(str::to_owned)
        });
    let name = naming::training_job_name(
        &settings.job_prefix,
        user_name.as_deref(),
        &settings.commit_id,
        &settings.execution_id,
        &job.id,
    );

    let placeholders = Placeholders::from_settings(&settings, &name);
    let request =
        training::load(path, &text, &placeholders).map_err(|d| JobError::config(d.to_string()))?;
    let request = training::complete(request, &name, &settings, &job.id);

    let instance = request
        .resource_config
        .as_ref()
        .and_then(|r| r.instance_type.clone())
        .unwrap_or_default();
    let (arn, adopted) = start_or_adopt(sagemaker, request, &name, &job.id).await?;
    let commit = settings.commit_id.as_str();
    let short = &commit[..commit.len().min(7)];
    let verb = if adopted {
        "Adopted the already started"
    } else {
        "Started"
    };
    Ok(Outcome::succeeded()
        .variable("TrainingJobName", &name)
        .variable("TrainingJobArn", arn)
        .variable("CommitId", commit)
        .summary(format!(
            "{verb} training job {name} ({instance}) for commit {short}"
        )))
}

fn missing_config(path: &str, files: &[String]) -> JobError {
    let mut config_files: Vec<&str> = files
        .iter()
        .map(String::as_str)
        .filter(|f| f.starts_with("configuration/"))
        .collect();
    config_files.sort_unstable();
    let found = if config_files.is_empty() {
        "it has no configuration/ folder".to_owned()
    } else {
        format!("it has {}", config_files.join(", "))
    };
    JobError::config(format!(
        "the source has no {path} ({found}). Add the CreateTrainingJob request there (see examples/model-repo), \
         or set ConfigPath in the action's UserParameters"
    ))
}

/// Starts the job; when the name is taken, adopts the job if this CodePipeline job started it.
async fn start_or_adopt(
    sagemaker: &aws_sdk_sagemaker::Client,
    request: sagemaker_requests::CreateTrainingJobRequest,
    name: &str,
    job_id: &str,
) -> Result<(String, bool), JobError> {
    let call = request
        .apply(sagemaker.create_training_job())
        .map_err(|e| {
            JobError::config(format!(
                "trainingjob.json cannot be turned into a SageMaker request: {e}"
            ))
        })?;
    match call.send().await {
        Ok(out) => {
            let arn = out.training_job_arn().unwrap_or_default().to_owned();
            info!(training_job = name, "training job created");
            Ok((arn, false))
        }
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_in_use()) =>
        {
            warn!(
                training_job = name,
                "training job name taken; checking whether it is ours"
            );
            adopt(sagemaker, name, job_id).await.map(|arn| (arn, true))
        }
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_limit_exceeded()) =>
        {
            Err(JobError::failed(format!(
                "SageMaker quota reached (CreateTrainingJob): {}. Request a quota increase or wait for running jobs",
                err.message().unwrap_or("resource limit exceeded")
            )))
        }
        Err(err) => Err(aws_error("CreateTrainingJob", &err, FIX_TRAINING)),
    }
}

async fn adopt(
    sagemaker: &aws_sdk_sagemaker::Client,
    name: &str,
    job_id: &str,
) -> Result<String, JobError> {
    let described = sagemaker
        .describe_training_job()
        .training_job_name(name)
        .send()
        .await
        .map_err(|e| aws_error("DescribeTrainingJob", &e, FIX_TRAINING))?;
    let arn = described.training_job_arn().unwrap_or_default().to_owned();
    let tags = sagemaker
        .list_tags()
        .resource_arn(&arn)
        .send()
        .await
        .map_err(|e| aws_error("ListTags", &e, FIX_TRAINING))?;
    let owner = tags
        .tags()
        .iter()
        .find(|t| t.key() == Some(tag::JOB))
        .and_then(|t| t.value());
    if owner == Some(job_id) {
        info!(
            training_job = name,
            "adopting the training job a previous delivery started"
        );
        Ok(arn)
    } else {
        Err(JobError::failed(format!(
            "a training job named {name} already exists and was not started by this pipeline job (its {} tag is {}). \
             Retry the stage, or delete the clash by choosing another JobPrefix",
            tag::JOB,
            owner.unwrap_or("missing")
        )))
    }
}
