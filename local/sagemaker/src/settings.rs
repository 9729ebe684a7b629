//! How a local SageMaker is set up.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::images::ImageCommands;

/// The account id in ARNs: moto's default, so ARNs from both services look alike.
pub const DEFAULT_ACCOUNT_ID: &str = "123456789012";

/// The region in ARNs when none is given.
pub const DEFAULT_REGION: &str = "us-east-1";

/// How long a stopped job may take to exit after SIGTERM before it gets SIGKILL: SageMaker's
/// 120 seconds, which its algorithms use to save their model.
pub const DEFAULT_STOP_GRACE: Duration = Duration::from_secs(120);

/// How long a model server may take to answer its first ping when the variant does not say
/// (ContainerStartupHealthCheckTimeoutInSeconds).
pub const DEFAULT_HEALTH_TIMEOUT: Duration = Duration::from_secs(120);

/// How long an invocation may take: SageMaker's 60 seconds for real-time endpoints.
pub const DEFAULT_INVOCATION_TIMEOUT: Duration = Duration::from_secs(60);

/// How often an update's bake asks CloudWatch for its rollback alarms.
pub const DEFAULT_ALARM_POLL: Duration = Duration::from_secs(1);

/// Settings of one local SageMaker.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where each job gets its folder (`training-jobs/<name>/`).
    pub work_dir: PathBuf,
    /// Address to listen on; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Region and account of the ARNs this service hands out.
    pub region: String,
    pub account_id: String,
    /// Which local command stands for which training image.
    pub images: ImageCommands,
    /// SIGTERM-to-SIGKILL time of a stopped job.
    pub stop_grace: Duration,
    /// Where operations this service does not serve go (a moto server), if anywhere; also
    /// the CloudWatch of the endpoints' metrics and alarms.
    pub forward_endpoint: Option<String>,
    pub health_timeout: Duration,
    pub invocation_timeout: Duration,
    pub alarm_poll: Duration,
}

impl Settings {
    /// Loopback on a free port, `us-east-1`, moto's account, the default image commands,
    /// SageMaker's stop grace, and no forwarding.
    pub fn new(work_dir: impl Into<PathBuf>) -> Self {
        Self {
            work_dir: work_dir.into(),
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            region: DEFAULT_REGION.to_owned(),
            account_id: DEFAULT_ACCOUNT_ID.to_owned(),
            images: ImageCommands::default(),
            stop_grace: DEFAULT_STOP_GRACE,
            forward_endpoint: None,
            health_timeout: DEFAULT_HEALTH_TIMEOUT,
            invocation_timeout: DEFAULT_INVOCATION_TIMEOUT,
            alarm_poll: DEFAULT_ALARM_POLL,
        }
    }

    pub fn with_images(mut self, images: ImageCommands) -> Self {
        self.images = images;
        self
    }

    pub fn with_stop_grace(mut self, grace: Duration) -> Self {
        self.stop_grace = grace;
        self
    }

    pub fn with_forward_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.forward_endpoint = Some(endpoint.into());
        self
    }

    pub fn with_health_timeout(mut self, timeout: Duration) -> Self {
        self.health_timeout = timeout;
        self
    }

    pub fn with_invocation_timeout(mut self, timeout: Duration) -> Self {
        self.invocation_timeout = timeout;
        self
    }

    pub fn with_alarm_poll(mut self, poll: Duration) -> Self {
        self.alarm_poll = poll;
        self
    }

    pub fn with_listen(mut self, listen: SocketAddr) -> Self {
        self.listen = listen;
        self
    }

    /// `arn:aws:sagemaker:<region>:<account>:<kind>/<name>`, the name in lower case as
    /// SageMaker writes it.
    pub fn arn(&self, kind: &str, name: &str) -> String {
        format!(
            "arn:aws:sagemaker:{}:{}:{kind}/{}",
            self.region,
            self.account_id,
            name.to_ascii_lowercase()
        )
    }
}
