//! The local AWS the pipeline runs against: moto (S3, SNS, the Model Registry), the local
//! SageMaker (training and tuning jobs as processes) and this crate's CodePipeline API, on free
//! loopback ports. Dropping [`Services`] stops them all.

use std::path::PathBuf;
use std::sync::Arc;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use local_moto::MotoServer;
use local_sagemaker::LocalSageMaker;

use crate::api::{ApiServer, SharedStore};

/// The account in every local ARN: moto's default, which the local SageMaker uses too.
pub const ACCOUNT_ID: &str = "123456789012";
/// How long a training job stopped by Ctrl-C may take to exit before it is killed.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(5);
/// Static credentials of the local services (they check none).
const ACCESS_KEY_ID: &str = "local";
const SECRET_ACCESS_KEY: &str = "local-secret";

#[derive(Debug, thiserror::Error)]
pub enum ServicesError {
    #[error(transparent)]
    Moto(#[from] local_moto::MotoError),
    #[error("cannot start the local SageMaker: {0}")]
    SageMaker(#[from] local_sagemaker::StartError),
    #[error("cannot serve the local CodePipeline API: {0}")]
    Api(#[source] std::io::Error),
    #[error("the moto server's start was interrupted: {0}")]
    Join(#[from] tokio::task::JoinError),
}

pub struct ServicesSettings {
    /// The Python venv with the pinned moto (`.venv` of the project).
    pub venv: PathBuf,
    /// Where the local SageMaker keeps its job folders.
    pub work_dir: PathBuf,
    pub region: String,
}

pub struct Services {
    pub region: String,
    pub store: SharedStore,
    // Field order is drop order: the API and SageMaker stop before moto, which SageMaker uses.
    api: ApiServer,
    sagemaker: LocalSageMaker,
    moto: MotoServer,
}

impl Services {
    pub async fn start(settings: ServicesSettings) -> Result<Services, ServicesError> {
        let venv = settings.venv.clone();
        let moto = tokio::task::spawn_blocking(move || MotoServer::start(&venv)).await??;
        let s3 = s3_client(&sdk_config(&settings.region, &moto.endpoint_url()));
        let sagemaker = LocalSageMaker::start(
            local_sagemaker::Settings::new(&settings.work_dir)
                .with_forward_endpoint(moto.endpoint_url())
                .with_stop_grace(STOP_GRACE),
            s3,
        )
        .await?;
        let store = SharedStore::default();
        let api = ApiServer::start(Arc::clone(&store))
            .await
            .map_err(ServicesError::Api)?;
        Ok(Services {
            region: settings.region,
            store,
            api,
            sagemaker,
            moto,
        })
    }

    pub fn moto_endpoint(&self) -> String {
        self.moto.endpoint_url()
    }

    pub fn sagemaker_endpoint(&self) -> String {
        self.sagemaker.endpoint_url()
    }

    pub fn codepipeline_endpoint(&self) -> String {
        self.api.endpoint_url()
    }

    pub fn moto(&self) -> &MotoServer {
        &self.moto
    }

    /// An SDK config for moto (region, static credentials, moto's endpoint).
    pub fn sdk_config(&self) -> SdkConfig {
        sdk_config(&self.region, &self.moto_endpoint())
    }

    /// The environment that points an unchanged AWS SDK at these services: region, static
    /// credentials and the standard `AWS_ENDPOINT_URL_<SERVICE>` variables.
    pub fn env(&self) -> Vec<(String, String)> {
        let moto = self.moto_endpoint();
        [
            ("AWS_REGION", self.region.clone()),
            ("AWS_DEFAULT_REGION", self.region.clone()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY.to_owned()),
            ("AWS_ENDPOINT_URL_S3", moto.clone()),
            ("AWS_ENDPOINT_URL_SNS", moto.clone()),
            ("AWS_ENDPOINT_URL_SQS", moto.clone()),
            ("AWS_ENDPOINT_URL_CLOUDWATCH", moto),
            ("AWS_ENDPOINT_URL_SAGEMAKER", self.sagemaker_endpoint()),
            // One address serves the SageMaker API and its runtime API.
            (
                "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME",
                self.sagemaker_endpoint(),
            ),
            (
                "AWS_ENDPOINT_URL_CODEPIPELINE",
                self.codepipeline_endpoint(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// Stops the local SageMaker's jobs gracefully (the rest stops on drop).
    pub async fn shutdown(self) {
        let Services {
            api,
            sagemaker,
            moto,
            ..
        } = self;
        drop(api);
        sagemaker.shutdown().await;
        drop(moto);
    }
}

pub fn sdk_config(region: &str, endpoint: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            ACCESS_KEY_ID,
            SECRET_ACCESS_KEY,
            None,
            None,
            "local-run",
        )))
        .endpoint_url(endpoint)
        .build()
}

/// Path-style: a loopback endpoint has no DNS for `bucket.127.0.0.1`.
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(true)
            .build(),
    )
}
