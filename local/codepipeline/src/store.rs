//! What the local CodePipeline knows: executions, their action executions, and the jobs it
//! handed to Lambda functions with the results they reported. The engine writes it, the API
//! serves it.

use std::collections::{BTreeMap, HashMap};
use std::time::SystemTime;

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
    Succeeded,
    Failed,
    Stopped,
}

impl ExecutionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::InProgress => "InProgress",
            ExecutionStatus::Succeeded => "Succeeded",
            ExecutionStatus::Failed => "Failed",
            ExecutionStatus::Stopped => "Stopped",
        }
    }

    /// The `state` of the EventBridge "Pipeline Execution State Change" event.
    pub fn event_state(self) -> &'static str {
        match self {
            ExecutionStatus::InProgress => "STARTED",
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
}

/// Everything, behind one mutex (the engine and the API server share it).
#[derive(Debug, Default)]
pub struct Store {
    pub executions: HashMap<String, Execution>,
    pub jobs: HashMap<String, Job>,
}
