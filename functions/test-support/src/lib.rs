//! Helpers for integration tests that talk to AWS APIs over real HTTP.
//!
//! [`MotoServer::start`] runs the project's pinned moto server (from `.venv/`, created by
//! `make setup`) on a free loopback port, one per test, and stops it when dropped, also when the
//! test panics. [`local_sdk_config`] and [`s3_client`] point the AWS SDK at such a local endpoint.
//!
//! ```no_run
//! # async fn example() {
//! let moto = test_support::MotoServer::start();
//! let s3 = moto.s3_client();
//! s3.create_bucket().bucket("artifacts").send().await.unwrap();
//! let state = moto.api_data(); // moto's view of every service, as JSON
//! # }
//! ```

pub mod archive;
pub mod job;

use std::path::{Path, PathBuf};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;

/// Region of every local SDK config.
pub const REGION: &str = "us-east-1";

/// A moto server for one test ([`local_moto::MotoServer`] from the workspace's `.venv/`), with
/// SDK clients for it. Dropping it stops the server, also when the test panics.
#[derive(Debug)]
pub struct MotoServer(local_moto::MotoServer);

impl std::ops::Deref for MotoServer {
    type Target = local_moto::MotoServer;
    fn deref(&self) -> &local_moto::MotoServer {
        &self.0
    }
}

impl MotoServer {
    /// Starts the moto server of the workspace's `.venv/` and waits until it answers.
    ///
    /// # Panics
    ///
    /// When `.venv/` has no moto (run `make setup`), or the server does not answer within 60 s.
    pub fn start() -> MotoServer {
        Self::start_with_venv(workspace_root().join(".venv"))
    }

    /// Like [`MotoServer::start`], with the moto server of another Python virtual environment.
    pub fn start_with_venv(venv: impl AsRef<Path>) -> MotoServer {
        MotoServer(local_moto::MotoServer::start(venv.as_ref()).unwrap_or_else(|e| panic!("{e}")))
    }

    /// [`local_sdk_config`] for this server.
    pub fn sdk_config(&self) -> SdkConfig {
        local_sdk_config(&self.endpoint_url())
    }

    /// [`s3_client`] for this server (path-style addressing).
    pub fn s3_client(&self) -> aws_sdk_s3::Client {
        s3_client(&self.sdk_config())
    }

    /// [`moto_api_data`] of this server.
    pub fn api_data(&self) -> serde_json::Value {
        moto_api_data(&self.endpoint_url())
    }
}

/// The workspace root: the nearest directory above this crate's manifest that holds `Cargo.lock`.
pub fn workspace_root() -> PathBuf {
    let start = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    start
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| {
            panic!(
                "no Cargo.lock in {} or above it: cannot locate the workspace root",
                start.display()
            )
        })
}

/// An SDK config for a local endpoint: region `us-east-1`, static test credentials, and
/// `endpoint_url` for every service.
///
/// Built from scratch rather than loaded from the environment, so a developer's profile or an
/// `AWS_ENDPOINT_URL_*` variable cannot send a test to a real account.
pub fn local_sdk_config(endpoint_url: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "test-support",
        )))
        .endpoint_url(endpoint_url)
        .build()
}

/// An S3 client with path-style addressing (`http://127.0.0.1:port/bucket/key`): a local
/// endpoint has no DNS for `bucket.127.0.0.1`.
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let s3_config = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(s3_config)
}

/// moto's state of every service (`GET <endpoint>/moto-api/data.json`), e.g. published SNS
/// messages under `["sns"]`.
///
/// # Panics
///
/// When the endpoint does not answer with status 200 and a JSON body.
pub fn moto_api_data(endpoint_url: &str) -> serde_json::Value {
    local_moto::api_data(endpoint_url).unwrap_or_else(|e| panic!("{e}"))
}
