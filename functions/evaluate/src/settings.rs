//! The Evaluate action's UserParameters: the candidate (the Tune action's output variables) and
//! how to register it.

use pipeline_core::JobError;
use pipeline_core::values::{self, Kind};
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Settings {
    pub execution_id: String,
    pub commit_id: String,
    #[serde(default)]
    pub repository: Option<String>,
    #[serde(default)]
    pub branch: Option<String>,
    /// Start of the model package group's name (the stack name), which IAM policies are scoped to.
    pub job_prefix: String,
    /// The pipeline's artifact bucket: the candidate's model data is promoted within it.
    pub artifact_bucket: String,
    /// `#{TuneVariables.CandidateTrainingJobName}`.
    pub candidate_training_job_name: String,
    /// `#{TuneVariables.ObjectiveMetricName}`, empty when tuning was skipped.
    #[serde(default)]
    pub objective_metric_name: String,
    #[serde(default)]
    pub objective_metric_value: String,
    #[serde(default)]
    pub tuning_job_name: String,
    /// `Approved`, or `PendingManualApproval` when the pipeline has a manual approval step.
    #[serde(default = "approved")]
    pub model_approval_status: String,
    /// Path of the gate inside the source artifact.
    #[serde(default)]
    pub config_path: Option<String>,
    #[serde(default)]
    pub input_artifact: Option<String>,
    /// The stack's `RequireGate`. `true` (also when absent, as in pipelines deployed before the
    /// setting existed): a source without the gate file fails the action. `false`: the
    /// candidate is registered anyway, never Approved: `PendingManualApproval`, verdict
    /// `Unchecked`. With a gate file it changes nothing.
    #[serde(default = "yes")]
    pub require_gate: bool,
}

impl Settings {
    /// The Tune action's variables, checked against what they stand for (see
    /// `pipeline_core::values`).
    pub fn checked(self) -> Result<Self, JobError> {
        let from = |name: &str| format!("{name} (#{{TuneVariables.{name}}})");
        values::checked(
            &from("CandidateTrainingJobName"),
            &self.candidate_training_job_name,
            Kind::JobName,
        )?;
        values::checked_or_empty(
            &from("ObjectiveMetricName"),
            &self.objective_metric_name,
            Kind::MetricName,
        )?;
        values::checked_or_empty(
            &from("ObjectiveMetricValue"),
            &self.objective_metric_value,
            Kind::Number,
        )?;
        values::checked_or_empty(&from("TuningJobName"), &self.tuning_job_name, Kind::JobName)?;
        Ok(self)
    }
}

fn approved() -> String {
    "Approved".to_owned()
}

fn yes() -> bool {
    true
}
