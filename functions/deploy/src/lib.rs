//! deploy: the DeployStaging and DeployProduction actions of the pipeline.

pub mod config;
pub mod handler;
pub mod names;
pub mod settings;
pub mod smoke;
pub mod status;
pub mod token;

pub use handler::{Clients, artifact_limits, handle};
