//! A test-only function for pipeline-core's tests (tests/function_process.rs), written as the
//! pipeline's functions are: the production subscriber, `lambda_runtime::run` and [`run_job`].
//! It reads `configuration/settings.json` from its input artifact with the job's credentials,
//! then succeeds, or panics when UserParameters is `panic`. A panic aborts the process, as the
//! release profile does (`panic = "abort"`).

use lambda_runtime::{Error, service_fn};
use pipeline_core::{ArtifactStore, Job, JobError, Outcome, run_job};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        std::process::abort();
    }));
    pipeline_core::logging::init();
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let codepipeline = aws_sdk_codepipeline::Client::new(&config);
    let artifacts = ArtifactStore::new(&config);
    lambda_runtime::run(service_fn(|event| {
        run_job(event, &codepipeline, |job| handle(job, &artifacts))
    }))
    .await
}

async fn handle(job: Job, artifacts: &ArtifactStore) -> Result<Outcome, JobError> {
    let artifact = job.input_artifact(None)?;
    let mut archive = artifacts.open(&job.credentials, artifact).await?;
    let settings = archive
        .read_text("configuration/settings.json")?
        .ok_or_else(|| JobError::config("no configuration/settings.json"))?;
    if job.user_parameters.as_deref() == Some("panic") {
        panic!("the test function was asked to panic");
    }
    Ok(Outcome::succeeded().summary(format!("read {} bytes", settings.len())))
}
