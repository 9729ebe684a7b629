//! What every request handler and job runner shares.

use std::sync::{Mutex, MutexGuard};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::forward::Forwarder;
use crate::hosting::cloudwatch::CloudWatch;
use crate::hosting::model_server::{self, ModelClient};
use crate::hosting::records::{Endpoint, Hosting};
use crate::settings::Settings;
use crate::state::{Store, TrainingJob, TuningJob};
use crate::training::layout::JobDirs;
use crate::training::process::ProcessGroups;

pub struct Service {
    pub settings: Settings,
    pub s3: aws_sdk_s3::Client,
    pub forwarder: Option<Forwarder>,
    store: Mutex<Store>,
    hosting: Mutex<Hosting>,
    /// Calls the model servers (pooled, keep-alive).
    pub model_client: ModelClient,
    /// Metrics and alarms, when there is a CloudWatch (the forward endpoint's).
    pub cloudwatch: Option<CloudWatch>,
    /// Cancelled when the service shuts down; every job's stop token descends from it.
    pub shutdown: CancellationToken,
    /// Job runners, awaited on shutdown.
    pub tasks: TaskTracker,
    pub groups: ProcessGroups,
}

impl Service {
    pub fn new(
        settings: Settings,
        s3: aws_sdk_s3::Client,
        forwarder: Option<Forwarder>,
        cloudwatch: Option<aws_sdk_cloudwatch::Client>,
    ) -> Self {
        let shutdown = CancellationToken::new();
        let tasks = TaskTracker::new();
        let cloudwatch =
            cloudwatch.map(|client| CloudWatch::start(client, &tasks, shutdown.clone()));
        Self {
            settings,
            s3,
            forwarder,
            store: Mutex::default(),
            hosting: Mutex::default(),
            model_client: model_server::client(),
            cloudwatch,
            shutdown,
            tasks,
            groups: ProcessGroups::default(),
        }
    }

    /// The jobs. Held only briefly, never across an await.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        // A panic elsewhere leaves the records consistent enough to keep serving them.
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Models, endpoint configs and endpoints. Held only briefly, never across an await.
    pub fn hosting(&self) -> MutexGuard<'_, Hosting> {
        self.hosting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Applies `change` to an endpoint, if it still exists.
    pub fn with_endpoint<T>(
        &self,
        name: &str,
        change: impl FnOnce(&mut Endpoint) -> T,
    ) -> Option<T> {
        self.hosting().endpoint_mut(name).map(change)
    }

    pub fn job_dirs(&self, training_job: &str) -> JobDirs {
        JobDirs::new(&self.settings.work_dir, training_job)
    }

    /// Applies `change` to a training job, if it exists.
    pub fn update_training(&self, name: &str, change: impl FnOnce(&mut TrainingJob)) {
        if let Some(job) = self.store().training_job_mut(name) {
            change(job);
        }
    }

    /// Applies `change` to a tuning job, if it exists.
    pub fn update_tuning(&self, name: &str, change: impl FnOnce(&mut TuningJob)) {
        if let Some(job) = self.store().tuning_job_mut(name) {
            change(job);
        }
    }
}
