//! What the local CodePipeline knows: executions, their action executions, and the jobs it
//! handed to Lambda functions with the results they reported. The engine writes it, the API
//! serves it.

use std::collections::{BTreeMap, HashMap};
use std::time::SystemTime;

use tokio::sync::watch;

/// An action's status as ListActionExecutions reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionStatus {
    InProgress,
    Succeeded,
    Failed,
    Abandoned,
}

impl ActionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionStatus::InProgress => "InProgress",
            ActionStatus::Succeeded => "Succeeded",
            ActionStatus::Failed => "Failed",
            ActionStatus::Abandoned => "Abandoned",
        }
    }
}

/// A pipeline execution's status as GetPipelineExecution reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionStatus {
    InProgress,
    /// StopPipelineExecution was called: in-progress actions finish or are abandoned.
    Stopping,
    Succeeded,
    Failed,
    Stopped,
}

impl ExecutionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::InProgress => "InProgress",
            ExecutionStatus::Stopping => "Stopping",
            ExecutionStatus::Succeeded => "Succeeded",
            ExecutionStatus::Failed => "Failed",
            ExecutionStatus::Stopped => "Stopped",
        }
    }

    /// The `state` of the EventBridge "Pipeline Execution State Change" event.
    pub fn event_state(self) -> &'static str {
        match self {
            ExecutionStatus::InProgress => "STARTED",
            ExecutionStatus::Stopping => "STOPPING",
            ExecutionStatus::Succeeded => "SUCCEEDED",
            ExecutionStatus::Failed => "FAILED",
            ExecutionStatus::Stopped => "STOPPED",
        }
    }
}

/// An artifact in the artifact store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactLocation {
    pub name: String,
    pub bucket: String,
    pub key: String,
}

/// The source revision of an execution.
#[derive(Debug, Clone, Default)]
pub struct Revision {
    pub artifact: String,
    pub revision_id: String,
    pub message: String,
    pub created: Option<SystemTime>,
}

/// One run of one action within an execution.
#[derive(Debug, Clone)]
pub struct ActionExecution {
    pub id: String,
    pub stage: String,
    pub action: String,
    pub category: String,
    pub owner: String,
    pub provider: String,
    pub version: String,
    pub namespace: Option<String>,
    pub configuration: BTreeMap<String, String>,
    pub resolved_configuration: BTreeMap<String, String>,
    pub input_artifacts: Vec<ArtifactLocation>,
    pub output_artifacts: Vec<ArtifactLocation>,
    pub started: SystemTime,
    pub updated: SystemTime,
    pub status: ActionStatus,
    pub summary: Option<String>,
    pub percent: Option<i32>,
    pub external_id: Option<String>,
    pub error: Option<ActionError>,
    pub output_variables: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionError {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct Execution {
    pub id: String,
    pub pipeline: String,
    pub region: String,
    pub status: ExecutionStatus,
    pub status_summary: Option<String>,
    pub started: SystemTime,
    pub updated: SystemTime,
    pub revision: Revision,
    pub actions: Vec<ActionExecution>,
}

/// What a function reported for a job (PutJobSuccessResult / PutJobFailureResult).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobResult {
    Success {
        continuation_token: Option<String>,
        summary: Option<String>,
        percent: Option<i32>,
        external_id: Option<String>,
        output_variables: BTreeMap<String, String>,
    },
    Failure {
        failure_type: String,
        message: String,
        external_id: Option<String>,
    },
}

#[derive(Debug, Clone, Default)]
pub struct Job {
    pub execution_id: String,
    pub result: Option<JobResult>,
    /// Results refused because one was already recorded (a duplicate delivery reporting again).
    pub refused: u32,
    /// Its action was abandoned (StopPipelineExecution with `abandon`): a result reported
    /// later is refused, as for a job no longer in progress.
    pub abandoned: bool,
}

/// A StopPipelineExecution request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopRequest {
    /// Abandon the in-progress actions rather than let them finish.
    pub abandon: bool,
    pub reason: Option<String>,
}

/// Everything, behind one mutex (the engine and the API server share it).
#[derive(Debug, Default)]
pub struct Store {
    pub executions: HashMap<String, Execution>,
    pub jobs: HashMap<String, Job>,
    /// The stop request of each execution, by id: the API sends it, the run watches it (so
    /// that an abandon interrupts the action's wait at once rather than at its next poll).
    pub stops: HashMap<String, watch::Sender<Option<StopRequest>>>,
}

impl Store {
    /// Records a stop request and wakes the execution's run.
    pub fn request_stop(&mut self, execution_id: &str, request: StopRequest) {
        if request.abandon {
            self.abandon_jobs(execution_id);
        }
        self.stops
            .entry(execution_id.to_owned())
            .or_default()
            .send_replace(Some(request));
    }

    /// The stop request of an execution, if any.
    pub fn stop_request(&self, execution_id: &str) -> Option<StopRequest> {
        self.stops.get(execution_id)?.borrow().clone()
    }

    /// Marks the execution's jobs still waiting for a result as abandoned.
    pub fn abandon_jobs(&mut self, execution_id: &str) {
        self.jobs
            .values_mut()
            .filter(|j| j.execution_id == execution_id && j.result.is_none())
            .for_each(|j| j.abandoned = true);
    }
}
