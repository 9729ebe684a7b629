//! What the Create operations refuse: the API model's constraints and SageMaker's own rules
//! (from `sagemaker-requests`), and what a local job cannot do.

use config_file::JsonPath;
use sagemaker_requests::training_job;
use sagemaker_requests::{
    CreateHyperParameterTuningJobRequest, CreateTrainingJobRequest, Violation,
};

use crate::protocol::ApiError;
use crate::s3::S3Uri;
use crate::training::contract;
use crate::training::metrics::MetricScraper;

/// SageMaker's ValidationException for the violations found.
pub fn refused(violations: &[Violation]) -> ApiError {
    let count = violations.len();
    let details: Vec<String> = violations
        .iter()
        .map(|v| format!("at {}: {}", v.path, v.message))
        .collect();
    let plural = if count == 1 { "" } else { "s" };
    ApiError::validation(format!(
        "{count} validation error{plural} detected: {}",
        details.join("; ")
    ))
}

/// Refuses a request whose generated `check` (the API model's constraints) finds violations.
pub fn checked<T>(
    request: &T,
    check: impl Fn(&T, &mut JsonPath, &mut Vec<Violation>),
) -> Result<(), ApiError> {
    let mut violations = Vec::new();
    check(request, &mut JsonPath::root(), &mut violations);
    if violations.is_empty() {
        Ok(())
    } else {
        Err(refused(&violations))
    }
}

/// Checks a CreateTrainingJob request; returns the job's name.
pub fn training_job(request: &CreateTrainingJobRequest) -> Result<String, ApiError> {
    let mut violations = Vec::new();
    request.check(&mut JsonPath::root(), &mut violations);
    violations.extend(training_job::rules(request));
    if !violations.is_empty() {
        return Err(refused(&violations));
    }
    let name = request.training_job_name.clone().ok_or_else(|| {
        ApiError::validation(
            "1 validation error detected: Value null at 'trainingJobName' failed to satisfy \
             constraint: Member must not be null",
        )
    })?;
    runs_locally(request)?;
    Ok(name)
}

/// What the local service needs beyond what SageMaker needs.
fn runs_locally(request: &CreateTrainingJobRequest) -> Result<(), ApiError> {
    let algorithm = request.algorithm_specification.as_ref().ok_or_else(|| {
        ApiError::validation("AlgorithmSpecification with a TrainingImage is required")
    })?;
    if algorithm.training_image.is_none() {
        return Err(ApiError::validation(
            "AlgorithmName (algorithm resources, AWS Marketplace) cannot run on the local \
             SageMaker: give a TrainingImage",
        ));
    }
    MetricScraper::new(algorithm.metric_definitions.as_deref().unwrap_or_default())
        .map_err(|e| ApiError::validation(e.to_string()))?;
    for channel in request.input_data_config.iter().flatten() {
        let name = &channel.channel_name;
        let Some(source) = &channel.data_source.s3_data_source else {
            return Err(ApiError::validation(format!(
                "channel `{name}`: only S3DataSource channels can be downloaded by the local \
                 SageMaker"
            )));
        };
        if source.s3_data_type != "S3Prefix" {
            return Err(ApiError::validation(format!(
                "channel `{name}`: S3DataType `{}` is not supported by the local SageMaker: use \
                 S3Prefix",
                source.s3_data_type
            )));
        }
        source
            .s3_uri
            .parse::<S3Uri>()
            .map_err(|e| ApiError::validation(format!("channel `{name}`: {e}")))?;
    }
    request
        .output_data_config
        .s3_output_path
        .parse::<S3Uri>()
        .map_err(|e| ApiError::validation(format!("OutputDataConfig.S3OutputPath: {e}")))?;
    let script = request
        .hyper_parameters
        .as_ref()
        .and_then(contract::script_mode);
    if let Some(submit) = script.and_then(|s| s.submit_directory) {
        submit.parse::<S3Uri>().map_err(|e| {
            ApiError::validation(format!("HyperParameters.sagemaker_submit_directory: {e}"))
        })?;
    }
    Ok(())
}

/// Checks a CreateHyperParameterTuningJob request against the API model; returns its name.
pub fn tuning_job(request: &CreateHyperParameterTuningJobRequest) -> Result<String, ApiError> {
    let mut violations = Vec::new();
    request.check(&mut JsonPath::root(), &mut violations);
    if !violations.is_empty() {
        return Err(refused(&violations));
    }
    request.hyper_parameter_tuning_job_name.clone().ok_or_else(|| {
        ApiError::validation(
            "1 validation error detected: Value null at 'hyperParameterTuningJobName' failed to \
             satisfy constraint: Member must not be null",
        )
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn request(patch: Value) -> CreateTrainingJobRequest {
        let mut value = json!({
            "TrainingJobName": "job-1",
            "RoleArn": "arn:aws:iam::123456789012:role/R",
            "AlgorithmSpecification": {
                "TrainingImage": "img",
                "TrainingInputMode": "File",
                "MetricDefinitions": [{"Name": "m", "Regex": "m=([0-9.]+)"}]
            },
            "HyperParameters": {"sagemaker_program": "train.py", "sagemaker_submit_directory": "s3://b/code.tar.gz"},
            "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/t/"}}}],
            "OutputDataConfig": {"S3OutputPath": "s3://b/out"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
            "StoppingCondition": {"MaxRuntimeInSeconds": 60}
        });
        json_patch(&mut value, patch);
        serde_json::from_value(value).unwrap()
    }

    fn json_patch(target: &mut Value, patch: Value) {
        if let (Value::Object(target), Value::Object(patch)) = (target, patch) {
            for (key, value) in patch {
                if value.is_null() {
                    target.remove(&key);
                } else if value.is_object() && target.get(&key).is_some_and(Value::is_object) {
                    json_patch(target.get_mut(&key).unwrap(), value);
                } else {
                    target.insert(key, value);
                }
            }
        }
    }

    #[test]
    fn a_complete_request_passes_and_names_its_job() {
        assert_eq!(training_job(&request(json!({}))).unwrap(), "job-1");
    }

    #[test]
    fn model_constraints_come_back_with_their_path() {
        let err = training_job(&request(json!({"TrainingJobName": "bad_name!"}))).unwrap_err();
        assert!(
            err.message
                .starts_with("1 validation error detected: at TrainingJobName: "),
            "{err}"
        );
        let err = training_job(&request(
            json!({"StoppingCondition": {"MaxRuntimeInSeconds": 99999999}}),
        ))
        .unwrap_err();
        assert!(
            err.message
                .contains("StoppingCondition.MaxRuntimeInSeconds"),
            "{err}"
        );
    }

    #[test]
    fn what_cannot_run_locally_is_refused_with_a_reason() {
        let cases = [
            (json!({"TrainingJobName": null}), "Member must not be null"),
            (
                json!({"AlgorithmSpecification": {"TrainingImage": null, "AlgorithmName": "a"}}),
                "give a TrainingImage",
            ),
            (
                json!({"AlgorithmSpecification": {"MetricDefinitions": [{"Name": "m", "Regex": "(x"}]}}),
                "Regex of metric `m`",
            ),
            (
                json!({"InputDataConfig": [{"ChannelName": "t", "DataSource": {"S3DataSource": {"S3DataType": "ManifestFile", "S3Uri": "s3://b/m"}}}]}),
                "use S3Prefix",
            ),
            (
                json!({"HyperParameters": {"sagemaker_program": "train.py", "sagemaker_submit_directory": "file:///tmp/code"}}),
                "sagemaker_submit_directory",
            ),
        ];
        for (patch, expected) in cases {
            let err = training_job(&request(patch.clone())).unwrap_err();
            assert!(err.message.contains(expected), "{patch}: {err}");
        }
    }
}
