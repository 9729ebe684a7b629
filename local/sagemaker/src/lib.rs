//! A local SageMaker: serves the training and tuning part of the SageMaker API (awsJson1_1,
//! as the AWS SDKs speak it) on loopback and runs each job as a local process under the
//! SageMaker training contract, so the pipeline's unchanged SDK clients work against it via
//! `AWS_ENDPOINT_URL_SAGEMAKER`. Operations it does not serve go on to a forward endpoint
//! (a moto server). See the crate's README for the contract and what differs from AWS.
//!
//! ```no_run
//! # async fn example(s3: aws_sdk_s3::Client) -> Result<(), local_sagemaker::StartError> {
//! use local_sagemaker::{LocalSageMaker, Settings};
//!
//! let work_dir = std::env::temp_dir().join("local-sagemaker");
//! let settings = Settings::new(work_dir).with_forward_endpoint("http://127.0.0.1:5000");
//! let sagemaker = LocalSageMaker::start(settings, s3).await?;
//! println!("AWS_ENDPOINT_URL_SAGEMAKER={}", sagemaker.endpoint_url());
//! sagemaker.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod archive;
pub mod cli;
mod forward;
mod hosting;
pub mod images;
mod operations;
mod protocol;
mod s3;
mod server;
mod service;
pub mod settings;
mod shapes;
mod state;
mod training;
mod tuning;
mod validate;

pub use forward::ForwardEndpointError;
pub use images::{ImageCommands, ImageRule, ImageRuleError};
pub use operations::SERVED as SERVED_OPERATIONS;
pub use server::{LocalSageMaker, StartError};
pub use settings::Settings;
