//! The HTTP side: one route, `POST /`, dispatched on `X-Amz-Target`.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::forward::{ForwardEndpointError, Forwarder};
use crate::hosting::runtime;
use crate::operations;
use crate::protocol::{ApiError, ErrorCode, TARGET_PREFIX};
use crate::service::Service;
use crate::settings::Settings;

/// How long shutdown waits for the stopped jobs to end before it kills them.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(15);

/// The service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: io::Error },
    #[error("cannot create the work directory {path}: {source}")]
    WorkDir { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Forward(#[from] ForwardEndpointError),
}

/// A running local SageMaker. Dropping it kills every job's process; [`LocalSageMaker::shutdown`]
/// stops them the way StopTrainingJob does and waits for them.
pub struct LocalSageMaker {
    addr: SocketAddr,
    service: Arc<Service>,
    server: JoinHandle<()>,
}

impl LocalSageMaker {
    /// Listens on `settings.listen` and serves until shut down; S3 goes through `s3`.
    pub async fn start(settings: Settings, s3: aws_sdk_s3::Client) -> Result<Self, StartError> {
        std::fs::create_dir_all(&settings.work_dir).map_err(|source| StartError::WorkDir {
            path: settings.work_dir.clone(),
            source,
        })?;
        let forwarder = settings
            .forward_endpoint
            .as_deref()
            .map(Forwarder::new)
            .transpose()?;
        let listener =
            TcpListener::bind(settings.listen)
                .await
                .map_err(|source| StartError::Listen {
                    addr: settings.listen,
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| StartError::Listen {
            addr: settings.listen,
            source,
        })?;
        let cloudwatch = settings
            .forward_endpoint
            .as_deref()
            .map(|endpoint| cloudwatch_client(&s3, endpoint));
        let service = Arc::new(Service::new(settings, s3, forwarder, cloudwatch));
        // The SageMaker API on `/`, the runtime API on `/endpoints/...`: one address serves
        // AWS_ENDPOINT_URL_SAGEMAKER and AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME.
        let app = Router::new()
            .route("/", post(handle))
            .route(
                "/endpoints/{name}/invocations",
                post(runtime::invoke_endpoint),
            )
            // Bodies over the runtime's limit still arrive, to be refused with its error.
            .layer(DefaultBodyLimit::max(2 * runtime::MAX_PAYLOAD))
            .with_state(Arc::clone(&service));
        let shutdown = service.shutdown.clone();
        let server = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move { shutdown.cancelled().await })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "the local SageMaker stopped serving");
            }
        });
        match &service.forwarder {
            Some(forwarder) => {
                tracing::info!(%addr, forward = %forwarder.endpoint(), "local SageMaker listening");
            }
            None => tracing::info!(%addr, "local SageMaker listening"),
        }
        Ok(Self {
            addr,
            service,
            server,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`, for `AWS_ENDPOINT_URL_SAGEMAKER` and
    /// `AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`, or an SDK's `endpoint_url`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn settings(&self) -> &Settings {
        &self.service.settings
    }

    /// The folder of a training job (its `/opt/ml` is `opt/ml/` inside).
    pub fn training_job_dir(&self, name: &str) -> PathBuf {
        self.service.job_dirs(name).root().to_owned()
    }

    /// Everything a training job printed.
    pub fn training_job_log(&self, name: &str) -> PathBuf {
        self.service.job_dirs(name).log()
    }

    /// The address and log of the model server that plays `variant` of `endpoint` (the
    /// fleet in service), to call a model directly.
    pub fn model_server(&self, endpoint: &str, variant: &str) -> Option<(String, PathBuf)> {
        let hosting = self.service.hosting();
        let fleet = hosting.endpoint(endpoint)?.fleet.clone()?;
        let server = &fleet.variant(variant)?.server;
        Some((server.base_url().to_owned(), server.log().to_owned()))
    }

    /// Stops serving, stops every job that still runs (SIGTERM, as StopTrainingJob does),
    /// waits up to 15 s for them, then kills what is left.
    pub async fn shutdown(self) {
        self.service.shutdown.cancel();
        self.service.tasks.close();
        let stopped = tokio::time::timeout(SHUTDOWN_WAIT, self.service.tasks.wait()).await;
        if stopped.is_err() {
            tracing::warn!("jobs still running at shutdown were killed");
        }
        // Drop kills whatever is left.
    }
}

impl Drop for LocalSageMaker {
    fn drop(&mut self) {
        self.service.shutdown.cancel();
        self.service.groups.kill_all();
        self.server.abort();
    }
}

/// CloudWatch at the forward endpoint (moto serves every service on one port), in the S3
/// client's region. The forward endpoint is local and checks no signature: moto's test
/// credentials, never the user's.
fn cloudwatch_client(s3: &aws_sdk_s3::Client, endpoint: &str) -> aws_sdk_cloudwatch::Client {
    let credentials =
        aws_credential_types::Credentials::new("testing", "testing", None, None, "local-sagemaker");
    let config = aws_sdk_cloudwatch::Config::builder()
        .behavior_version(aws_sdk_cloudwatch::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(s3.config().region().cloned())
        .credentials_provider(credentials)
        .build();
    aws_sdk_cloudwatch::Client::from_conf(config)
}

async fn handle(State(service): State<Arc<Service>>, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Some(operation) = target.strip_prefix(TARGET_PREFIX) else {
        return ApiError::new(
            ErrorCode::UnknownOperation,
            format!("X-Amz-Target `{target}` is not a SageMaker operation (SageMaker.<Operation>)"),
        )
        .into_response();
    };
    let operation = operation.to_owned();
    let response = operations::dispatch(&service, &operation, &headers, body).await;
    tracing::debug!(operation, status = response.status().as_u16(), "answered");
    response
}
