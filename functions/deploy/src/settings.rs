//! The Deploy actions' UserParameters: which stage, which endpoint, which model package.

use serde::Deserialize;

/// Which of the two Deploy actions this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Stage {
    /// A staging endpoint, then the smoke test through it.
    Staging,
    /// The production endpoint, updated blue/green with the DeploymentConfig and rollback alarms.
    Production,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Staging => "Staging",
            Stage::Production => "Production",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Settings {
    pub execution_id: String,
    pub commit_id: String,
    #[serde(default)]
    pub repository: Option<String>,
    /// The stack name: prefix of every name this action creates, which IAM is scoped to.
    pub job_prefix: String,
    pub stage: Stage,
    /// Fixed per stack and stage (`<stack>-staging`, `<stack>-production`).
    pub endpoint_name: String,
    /// `#{EvaluateVariables.ModelPackageArn}`.
    pub model_package_arn: String,
    /// The role SageMaker assumes to read the model data (the stack's execution role).
    pub role_arn: String,
    /// Production only, in a pipeline with a manual approval: reaching this action means a
    /// person approved the run, so a PendingManualApproval package is set Approved here (one
    /// approval, not one in the pipeline and another in the registry).
    #[serde(default)]
    pub approve_package: bool,
    /// CloudWatch alarms of the stack that roll a production update back.
    #[serde(default)]
    pub alarms: Vec<String>,
    /// Path of deployment.json inside the source artifact.
    #[serde(default)]
    pub config_path: Option<String>,
    #[serde(default)]
    pub input_artifact: Option<String>,
}
