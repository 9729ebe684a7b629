use lambda_runtime::{Error, service_fn};
use pipeline_core::{ArtifactStore, run_job};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    pipeline_core::logging::init();
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let codepipeline = aws_sdk_codepipeline::Client::new(&config);
    let sagemaker = aws_sdk_sagemaker::Client::new(&config);
    let artifacts = ArtifactStore::new(&config);
    let s3 = artifacts.own_client();
    lambda_runtime::run(service_fn(|event| {
        run_job(event, &codepipeline, |job| {
            evaluate::handle(job, &sagemaker, &s3, &artifacts)
        })
    }))
    .await
}
