use deploy::Clients;
use lambda_runtime::{Error, service_fn};
use pipeline_core::{ArtifactStore, run_job};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    pipeline_core::logging::init();
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let codepipeline = aws_sdk_codepipeline::Client::new(&config);
    let clients = Clients::new(&config);
    let artifacts = ArtifactStore::new(&config).with_limits(deploy::artifact_limits());
    lambda_runtime::run(service_fn(|event| {
        run_job(event, &codepipeline, |job| {
            deploy::handle(job, &clients, &artifacts, std::time::SystemTime::now())
        })
    }))
    .await
}
