//! The environment of the registered model's container.
//!
//! SageMaker's framework images (scikit-learn, PyTorch, XGBoost, ...) serve in script mode: they
//! run `SAGEMAKER_PROGRAM` from the code archive `SAGEMAKER_SUBMIT_DIRECTORY` names. The model
//! package's ModelDataUrl is the training job's model.tar.gz, which holds the model, not the code,
//! so the pipeline points the container at the commit's code: the `sourcedir.tar.gz` the training
//! job ran (its `sagemaker_submit_directory` hyperparameter). It also sets what the SageMaker
//! Python SDK sets for a framework model. A value the user wrote always wins.

use std::collections::HashMap;
use std::fmt;

use pipeline_core::JobError;
use pipeline_core::limits::truncate;

/// The inference script; its presence means script mode.
pub const PROGRAM: &str = "SAGEMAKER_PROGRAM";
/// Where the framework container downloads the inference code from.
pub const SUBMIT_DIRECTORY: &str = "SAGEMAKER_SUBMIT_DIRECTORY";
pub const REGION: &str = "SAGEMAKER_REGION";
pub const LOG_LEVEL: &str = "SAGEMAKER_CONTAINER_LOG_LEVEL";

/// The training job's hyperparameter holding its code archive, as script mode sets it.
pub const SUBMIT_DIRECTORY_HYPERPARAMETER: &str = "sagemaker_submit_directory";

/// Python's `logging.INFO`, the SDK's default for a framework model.
const DEFAULT_LOG_LEVEL: &str = "20";

/// Why the package's container cannot be given its inference code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServingError {
    /// The training job has no `sagemaker_submit_directory` hyperparameter.
    NoSubmitDirectory,
    /// It has one, but not an `s3://bucket/key.tar.gz` URI.
    BadSubmitDirectory(String),
}

impl fmt::Display for ServingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServingError::NoSubmitDirectory => write!(
                f,
                "the training job has no `{SUBMIT_DIRECTORY_HYPERPARAMETER}` hyperparameter"
            ),
            ServingError::BadSubmitDirectory(value) => write!(
                f,
                "the training job's `{SUBMIT_DIRECTORY_HYPERPARAMETER}` hyperparameter `{}` is \
                 not the s3://bucket/key URI of a .tar.gz archive",
                truncate(value, 200)
            ),
        }
    }
}

impl std::error::Error for ServingError {}

impl ServingError {
    /// The action's configuration error: what is wrong with `job`, and the two ways to fix it.
    /// `gate` is the path of evaluation.json in the source.
    pub fn to_job_error(&self, job: &str, gate: &str) -> JobError {
        JobError::config(format!(
            "cannot register the model of {job} for serving: Inference.Environment of {gate} sets \
             {PROGRAM}, so the serving container needs the inference code, which model.tar.gz \
             does not hold, and {self}. Set {SUBMIT_DIRECTORY} (the s3:// URI of the code's \
             .tar.gz) in Inference.Environment of {gate}, or pass \
             `\"{SUBMIT_DIRECTORY_HYPERPARAMETER}\": \"${{SourceDir}}\"` in the HyperParameters \
             of configuration/trainingjob.json"
        ))
    }
}

/// The package container's environment: the user's `Inference.Environment`, completed from the
/// candidate training job's hyperparameters and the region the package is registered in.
///
/// In script mode (`SAGEMAKER_PROGRAM` set) it adds `SAGEMAKER_SUBMIT_DIRECTORY`,
/// `SAGEMAKER_REGION` and `SAGEMAKER_CONTAINER_LOG_LEVEL` when absent; otherwise (an image that
/// serves itself) only `SAGEMAKER_REGION`.
pub fn environment(
    user: &HashMap<String, String>,
    hyperparameters: Option<&HashMap<String, String>>,
    region: &str,
) -> Result<HashMap<String, String>, ServingError> {
    let mut env = user.clone();
    add(&mut env, REGION, region);
    if !env.contains_key(PROGRAM) {
        return Ok(env);
    }
    add(&mut env, LOG_LEVEL, DEFAULT_LOG_LEVEL);
    if !env.contains_key(SUBMIT_DIRECTORY) {
        let code = submit_directory(hyperparameters)?;
        env.insert(SUBMIT_DIRECTORY.to_owned(), code);
    }
    Ok(env)
}

/// Sets `key` unless the user did.
fn add(env: &mut HashMap<String, String>, key: &str, value: &str) {
    env.entry(key.to_owned())
        .or_insert_with(|| value.to_owned());
}

/// The training job's code archive, checked.
fn submit_directory(
    hyperparameters: Option<&HashMap<String, String>>,
) -> Result<String, ServingError> {
    let raw = hyperparameters
        .and_then(|h| h.get(SUBMIT_DIRECTORY_HYPERPARAMETER))
        .ok_or(ServingError::NoSubmitDirectory)?;
    let uri = unquote(raw);
    if is_tar_gz_in_s3(&uri) {
        Ok(uri)
    } else {
        Err(ServingError::BadSubmitDirectory(raw.clone()))
    }
}

/// The SageMaker Python SDK JSON-encodes hyperparameter values (`"\"s3://...\""`);
/// trainingjob.json writes them plain. Either way, the string itself.
fn unquote(raw: &str) -> String {
    // A plain URI is not JSON, so it stays as it is.
    let raw = raw.trim();
    serde_json::from_str::<String>(raw).unwrap_or_else(|_| raw.to_owned())
}

/// `s3://<bucket>/<key>.tar.gz`, with no whitespace.
fn is_tar_gz_in_s3(uri: &str) -> bool {
    let Some((bucket, key)) = uri
        .strip_prefix("s3://")
        .and_then(|rest| rest.split_once('/'))
    else {
        return false;
    };
    !bucket.is_empty()
        && key.len() > ".tar.gz".len()
        && key.ends_with(".tar.gz")
        && !uri.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODE: &str = "s3://sagemaker-cicd-artifacts/source/9f2c1e4/sourcedir.tar.gz";

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn script_mode() -> HashMap<String, String> {
        map(&[(PROGRAM, "inference.py")])
    }

    #[test]
    fn script_mode_gets_the_code_of_the_training_job() {
        let env = environment(
            &script_mode(),
            Some(&map(&[
                (SUBMIT_DIRECTORY_HYPERPARAMETER, CODE),
                ("max_depth", "5"),
            ])),
            "eu-west-1",
        );
        assert_eq!(
            env,
            Ok(map(&[
                (PROGRAM, "inference.py"),
                (SUBMIT_DIRECTORY, CODE),
                (REGION, "eu-west-1"),
                (LOG_LEVEL, "20"),
            ]))
        );
    }

    #[test]
    fn json_encoded_hyperparameters_are_decoded() {
        let encoded = format!("\"{CODE}\"");
        let env = environment(
            &script_mode(),
            Some(&map(&[(SUBMIT_DIRECTORY_HYPERPARAMETER, &encoded)])),
            "us-east-1",
        )
        .unwrap();
        assert_eq!(env[SUBMIT_DIRECTORY], CODE);
    }

    #[test]
    fn the_users_values_win() {
        let user = map(&[
            (PROGRAM, "serve.py"),
            (SUBMIT_DIRECTORY, "/opt/ml/model/code"),
            (REGION, "us-west-2"),
            (LOG_LEVEL, "10"),
        ]);
        // Nothing is taken from the job, so a job without the hyperparameter is fine.
        assert_eq!(environment(&user, None, "eu-west-1"), Ok(user));
    }

    #[test]
    fn an_image_that_serves_itself_only_gets_the_region() {
        let user = map(&[("MODEL_NAME", "churn")]);
        let hyperparameters = map(&[(SUBMIT_DIRECTORY_HYPERPARAMETER, CODE)]);
        assert_eq!(
            environment(&user, Some(&hyperparameters), "eu-west-1"),
            Ok(map(&[("MODEL_NAME", "churn"), (REGION, "eu-west-1")]))
        );
        assert_eq!(
            environment(&HashMap::new(), None, "eu-west-1"),
            Ok(map(&[(REGION, "eu-west-1")]))
        );
    }

    #[test]
    fn script_mode_without_the_hyperparameter_fails() {
        for hyperparameters in [None, Some(map(&[("max_depth", "5")]))] {
            assert_eq!(
                environment(&script_mode(), hyperparameters.as_ref(), "us-east-1"),
                Err(ServingError::NoSubmitDirectory)
            );
        }
    }

    #[test]
    fn script_mode_with_a_malformed_hyperparameter_fails() {
        for bad in [
            "",
            "sourcedir.tar.gz",
            "file:///opt/ml/code/sourcedir.tar.gz",
            "s3://bucket-only",
            "s3:///key/sourcedir.tar.gz",
            "s3://b/.tar.gz",
            "s3://b/source/code.zip",
            "s3://b/source dir/sourcedir.tar.gz",
            "\"s3://b/unterminated.tar.gz",
            "\"\\\"s3://b/k.tar.gz\\\"\"",
        ] {
            let hyperparameters = map(&[(SUBMIT_DIRECTORY_HYPERPARAMETER, bad)]);
            assert_eq!(
                environment(&script_mode(), Some(&hyperparameters), "us-east-1"),
                Err(ServingError::BadSubmitDirectory(bad.to_owned())),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_failure_says_what_to_do() {
        let err = ServingError::BadSubmitDirectory("s3://b/code.zip".into())
            .to_job_error("job-1", "configuration/evaluation.json");
        assert_eq!(err.kind, pipeline_core::FailureKind::ConfigurationError);
        let message = err.message;
        for part in [
            "cannot register the model of job-1 for serving",
            "`sagemaker_submit_directory` hyperparameter `s3://b/code.zip` is not the s3://bucket/key URI",
            "Set SAGEMAKER_SUBMIT_DIRECTORY",
            "in Inference.Environment of configuration/evaluation.json",
            "`\"sagemaker_submit_directory\": \"${SourceDir}\"` in the HyperParameters of configuration/trainingjob.json",
        ] {
            assert!(message.contains(part), "{part}\n{message}");
        }
    }
}
