//! The action's UserParameters: what the pipeline knows that the model repository does not.

use std::collections::BTreeMap;

use pipeline_core::JobError;
use pipeline_core::values::{self, Kind};
use serde::Deserialize;

/// Where the training request lives in the model repository unless UserParameters says otherwise.
pub const DEFAULT_CONFIG_PATH: &str = "configuration/trainingjob.json";
/// Where the tuning request lives; when the file is absent, tuning is skipped.
pub const DEFAULT_TUNING_CONFIG_PATH: &str = "configuration/tuning.json";

/// A CodePipeline action waits at most this long in total; the Tune action follows the training
/// job within it, so no job may be allowed to run longer.
pub const ACTION_WINDOW_SECONDS: i64 = 24 * 60 * 60;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Settings {
    /// `#{codepipeline.PipelineExecutionId}`.
    pub execution_id: String,
    /// `#{SourceVariables.CommitId}`.
    pub commit_id: String,
    /// `#{SourceVariables.FullRepositoryName}`.
    #[serde(default)]
    pub repository: Option<String>,
    /// `#{SourceVariables.BranchName}`.
    #[serde(default)]
    pub branch: Option<String>,
    /// Start of every job name (the stack name), which IAM policies are scoped to.
    pub job_prefix: String,
    /// The SageMaker execution role, for `${RoleArn}`.
    pub role_arn: String,
    /// The pipeline's artifact bucket, for `${ArtifactBucket}`.
    pub artifact_bucket: String,
    #[serde(default = "defaults::instance_type")]
    pub instance_type: String,
    #[serde(default = "defaults::instance_count")]
    pub instance_count: i64,
    #[serde(rename = "VolumeSizeInGB", default = "defaults::volume_size")]
    pub volume_size_in_gb: i64,
    #[serde(default = "defaults::max_runtime")]
    pub max_runtime_in_seconds: i64,
    /// Variables the Build action exported, each a `${NAME}` placeholder.
    #[serde(default)]
    pub build_variables: BTreeMap<String, String>,
    /// Path of the training request inside the source artifact.
    #[serde(default)]
    pub config_path: Option<String>,
    /// Name of the input artifact holding the model repository, when the action has several.
    #[serde(default)]
    pub input_artifact: Option<String>,
    /// The Tune action: `#{TrainVariables.TrainingJobName}`, the job to follow.
    #[serde(default)]
    pub training_job_name: Option<String>,
    /// Path of the tuning request inside the source artifact.
    #[serde(default)]
    pub tuning_config_path: Option<String>,
    /// Stop a running job when the action window runs out (otherwise it is left running).
    #[serde(default = "defaults::stop_at_window_end")]
    pub stop_jobs_at_window_end: bool,
}

impl Settings {
    /// The values other actions passed in, checked against what they stand for (see
    /// `pipeline_core::values`): the build's `SOURCE_DIR_URI` an s3:// URI, its `IMAGE_URI` an
    /// image, its other variables JSON-safe and the followed training job a job name.
    pub fn checked(self) -> Result<Self, JobError> {
        for (name, value) in &self.build_variables {
            let what = format!("The build variable {name} (exported by the buildspec)");
            let kind = match name.as_str() {
                "SOURCE_DIR_URI" => Kind::S3Uri,
                "IMAGE_URI" => Kind::ImageUri,
                _ => Kind::Text,
            };
            values::checked(&what, value, kind)?;
        }
        if let Some(job) = &self.training_job_name {
            values::checked(
                "TrainingJobName (#{TrainVariables.TrainingJobName})",
                job,
                Kind::JobName,
            )?;
        }
        Ok(self)
    }

    pub fn config_path(&self) -> &str {
        self.config_path.as_deref().unwrap_or(DEFAULT_CONFIG_PATH)
    }

    pub fn tuning_config_path(&self) -> &str {
        self.tuning_config_path
            .as_deref()
            .unwrap_or(DEFAULT_TUNING_CONFIG_PATH)
    }
}

/// The original project's defaults.
mod defaults {
    pub fn instance_type() -> String {
        "ml.m4.xlarge".to_owned()
    }
    pub fn instance_count() -> i64 {
        1
    }
    pub fn volume_size() -> i64 {
        60
    }
    pub fn max_runtime() -> i64 {
        86_400
    }
    pub fn stop_at_window_end() -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply() {
        let s: Settings = pipeline_core::params::parse(Some(
            r#"{"ExecutionId":"e","CommitId":"c","JobPrefix":"p","RoleArn":"r","ArtifactBucket":"b"}"#,
        ))
        .unwrap();
        assert_eq!(
            (
                s.instance_type.as_str(),
                s.instance_count,
                s.volume_size_in_gb,
                s.max_runtime_in_seconds
            ),
            ("ml.m4.xlarge", 1, 60, 86_400)
        );
        assert_eq!(s.config_path(), DEFAULT_CONFIG_PATH);
    }

    #[test]
    fn volume_key_is_spelled_like_sagemaker() {
        let s: Settings = pipeline_core::params::parse(Some(
            r#"{"ExecutionId":"e","CommitId":"c","JobPrefix":"p","RoleArn":"r","ArtifactBucket":"b","VolumeSizeInGB":5}"#,
        ))
        .unwrap();
        assert_eq!(s.volume_size_in_gb, 5);
    }
}
