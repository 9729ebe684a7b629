//! What the service knows about models, endpoint configs and endpoints, kept in memory for
//! the life of the process, like the jobs.

use std::collections::BTreeMap;
use std::sync::Arc;

use sagemaker_requests::{
    CreateEndpointConfigInput, CreateModelInput, DeploymentConfig, ProductionVariant, Tag,
};
use tokio_util::sync::CancellationToken;

use super::fleet::Fleet;
use crate::protocol::Timestamp;

/// The one container of a model, with a model package resolved to what it registered.
#[derive(Debug, Clone, PartialEq)]
pub struct Container {
    pub image: String,
    pub model_data_url: Option<String>,
    pub environment: BTreeMap<String, String>,
    /// The package it came from, when CreateModel named one.
    pub model_package: Option<String>,
}

impl Container {
    /// Framework images serve the user's inference code in script mode.
    pub fn script_mode(&self) -> Option<&str> {
        self.environment
            .get("SAGEMAKER_PROGRAM")
            .map(String::as_str)
    }
}

#[derive(Debug)]
pub struct Model {
    pub arn: String,
    /// The request as accepted (echoed by DescribeModel).
    pub request: CreateModelInput,
    pub container: Container,
    pub creation_time: Timestamp,
}

#[derive(Debug)]
pub struct EndpointConfig {
    pub arn: String,
    pub request: CreateEndpointConfigInput,
    pub creation_time: Timestamp,
}

/// `EndpointStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointStatus {
    Creating,
    InService,
    Updating,
    RollingBack,
    Failed,
}

impl EndpointStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointStatus::Creating => "Creating",
            EndpointStatus::InService => "InService",
            EndpointStatus::Updating => "Updating",
            EndpointStatus::RollingBack => "RollingBack",
            EndpointStatus::Failed => "Failed",
        }
    }
}

/// The new fleet of an update while traffic moves to it (blue/green).
#[derive(Debug)]
pub struct Pending {
    pub config_name: String,
    pub variants: Vec<ProductionVariant>,
    /// Started once its model servers answer their health check.
    pub fleet: Option<Arc<Fleet>>,
    /// The share of invocations the new fleet gets, 0 to 1.
    pub share: f64,
    pub start_time: Timestamp,
}

#[derive(Debug)]
pub struct Endpoint {
    pub name: String,
    pub arn: String,
    /// The config the endpoint serves (the old one until an update completes), and its
    /// variants as they were when it was deployed (the config may be deleted since).
    pub config_name: String,
    pub variants: Vec<ProductionVariant>,
    pub status: EndpointStatus,
    pub failure_reason: Option<String>,
    pub creation_time: Timestamp,
    pub last_modified_time: Timestamp,
    pub tags: Vec<Tag>,
    pub fleet: Option<Arc<Fleet>>,
    pub pending: Option<Pending>,
    pub last_deployment_config: Option<DeploymentConfig>,
    /// Invocations routed so far, for the canary's share.
    pub routed: u64,
    /// Cancelled when the endpoint is deleted (its deployment stops).
    pub stop: CancellationToken,
}

impl Endpoint {
    pub fn set_status(&mut self, status: EndpointStatus) {
        self.status = status;
        self.last_modified_time = Timestamp::now();
    }

    /// The fleet that serves the next invocation: the new one for its share of them
    /// (spread evenly: after n invocations the new fleet had `floor(n * share)`).
    pub fn route(&mut self) -> Option<Arc<Fleet>> {
        let n = self.routed;
        self.routed += 1;
        if let Some(Pending {
            fleet: Some(green),
            share,
            ..
        }) = &self.pending
        {
            let before = (n as f64 * share).floor();
            let after = ((n + 1) as f64 * share).floor();
            if after > before {
                return Some(Arc::clone(green));
            }
        }
        self.fleet.clone()
    }
}

/// Hosting's part of the store, by lower-case name as SageMaker's names are unique
/// regardless of case.
#[derive(Debug, Default)]
pub struct Hosting {
    pub models: BTreeMap<String, Model>,
    pub endpoint_configs: BTreeMap<String, EndpointConfig>,
    pub endpoints: BTreeMap<String, Endpoint>,
}

impl Hosting {
    pub fn model(&self, name: &str) -> Option<&Model> {
        self.models.get(&name.to_ascii_lowercase())
    }

    pub fn endpoint_config(&self, name: &str) -> Option<&EndpointConfig> {
        self.endpoint_configs.get(&name.to_ascii_lowercase())
    }

    pub fn endpoint(&self, name: &str) -> Option<&Endpoint> {
        self.endpoints.get(&name.to_ascii_lowercase())
    }

    pub fn endpoint_mut(&mut self, name: &str) -> Option<&mut Endpoint> {
        self.endpoints.get_mut(&name.to_ascii_lowercase())
    }
}
